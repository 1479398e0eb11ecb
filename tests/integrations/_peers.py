"""Peers for the integration tests: ``from _peers import require``.

The integration tests need the peer libraries (``pip install ".[test,integrations]"``).
Where they are not installed (the README's plain ``.[test]`` run) a test that needs one is
skipped with the reason; ``WSCODEC_REQUIRE_PEERS=1`` (set by ``.ci/integrations.sh``) makes a
missing peer a failure instead, so the CI stage cannot pass by skipping.
"""

import importlib
import os

import pytest

REQUIRE_PEERS = os.environ.get("WSCODEC_REQUIRE_PEERS", "").strip() not in ("", "0")


def require(*modules, module_level=False):
    """Import and return ``modules`` (one module: it alone); skip without them, or fail under
    WSCODEC_REQUIRE_PEERS=1."""
    out = []
    for module in modules:
        try:
            out.append(importlib.import_module(module))
        except ImportError as exc:
            if REQUIRE_PEERS:
                pytest.fail(
                    "peer %s is required here (WSCODEC_REQUIRE_PEERS=1): %s" % (module, exc),
                    pytrace=False,
                )
            pytest.skip(
                "peer library %s is not installed (pip install '.[integrations]')" % module,
                allow_module_level=module_level,
            )
    return out[0] if len(out) == 1 else out


def have(module):
    """Whether ``module`` imports (for parametrization); under WSCODEC_REQUIRE_PEERS=1 a
    missing module is reported by ``require`` where it is used."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def host_compiled(name):
    """Whether the installed library ``name`` (an ``integrations.SUPPORTED`` name) runs its
    own compiled code for what wscodec's patches replace, read from the library's own flags
    and bindings (not from wscodec)."""
    if name == "websockets":
        import websockets.frames
        import websockets.utils

        return websockets.frames.apply_mask is not websockets.utils.apply_mask
    if name == "tornado":
        import tornado.util

        return tornado.util._websocket_mask is not tornado.util._websocket_mask_python
    if name == "websocket_client":
        import sys

        import websocket  # noqa: F401  (imports wsaccel when it is installed)

        return "wsaccel.xormask" in sys.modules or "wsaccel.utf8validator" in sys.modules
    if name == "autobahn":
        import autobahn.websocket

        return bool(autobahn.websocket.USES_NVX)
    raise ValueError(name)


def allow_pure_twin(monkeypatch, *names):
    """On the pure twins, let ``install()`` put them in place of the libraries' own code even
    where it would not (a compiled speedup it would slow down, or no measured gain), so that
    tests of what the patches do run on both twins.  The policy itself is tested in
    test_integrations_failsafe.py.  No-op on the compiled twins."""
    from wscodec import _select, integrations

    if not _select.NO_EXTENSIONS:
        return
    for name in names or integrations.SUPPORTED:
        module = importlib.import_module("wscodec.integrations." + name)
        monkeypatch.setattr(module, "speedups", lambda: [])
        monkeypatch.setattr(module, "PURE_TWIN_FASTER", True)
