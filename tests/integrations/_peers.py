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
