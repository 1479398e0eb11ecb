"""install() at any point of an application's start-up: no names imports no library, a library
imported afterwards is patched when it is imported, uninstall() removes the import hook.

Each test runs in a fresh interpreter: which libraries are in ``sys.modules`` is the point.
"""

import json
import subprocess
import sys
import textwrap

import pytest
from _peers import require

from wscodec import _select, integrations

HOSTS = ("wsproto", "websockets", "websocket", "tornado", "autobahn", "aiohttp", "wsaccel")


def run(code, **env_extra):
    import os

    env = dict(os.environ)
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_install_without_names_imports_no_library():
    got = run("""
        import json, sys
        import wscodec.integrations as integrations
        done = integrations.install()
        print(json.dumps({"done": done,
                          "imported": [m for m in %r if m in sys.modules]}))
    """ % (HOSTS,))
    assert got == {"done": [], "imported": []}


def test_install_without_names_patches_only_what_is_already_imported():
    require("tornado", "websockets")
    got = run("""
        import json, sys
        import tornado.websocket
        import wscodec.integrations as integrations
        done = integrations.install()
        print(json.dumps({"done": done, "verify": integrations.verify("tornado"),
                          "imported": [m for m in %r if m in sys.modules]}))
    """ % (HOSTS,))
    # Only tornado was imported by the application, so only tornado is patched or imported.
    assert got["imported"] == ["tornado"]
    if _select.NO_EXTENSIONS:
        return  # tornado's compiled speedup is kept from the pure twins (failsafe tests)
    assert got["done"] == ["tornado"] and got["verify"] == []


@pytest.mark.parametrize("name,imports", [
    ("tornado", "import tornado.websocket"),
    ("websockets", "import websockets.frames"),
    ("websocket_client", "import websocket"),
    ("autobahn", "import autobahn.websocket.protocol"),
    ("aiohttp", "import aiohttp.web_ws"),
    ("wsproto", "import wsproto.connection"),
])
def test_a_library_imported_after_install_is_patched(name, imports):
    require({"websocket_client": "websocket"}.get(name, name))
    got = run("""
        import json, sys, warnings
        warnings.simplefilter("ignore")   # a version not tested, the pure-twin policy
        import wscodec.integrations as integrations
        integrations.install()
        before = integrations.installed()
        %s
        patches = integrations.patches(%r)
        in_place = [
            (owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr))
            is replacement
            for owner, attr, replacement in patches]
        print(json.dumps({"before": before, "after": integrations.installed(),
                          "in_place": in_place, "verify": integrations.verify(%r)}))
    """ % (imports, name, name))
    assert got["before"] == []
    if not _expected_patched(name):
        # On the pure twins install() leaves some libraries alone (see the failsafe tests);
        # then nothing of it is patched after the import either.
        assert name not in got["after"]
        assert not any(got["in_place"])
        return
    assert got["after"] == [name]
    assert got["in_place"] and all(got["in_place"])
    assert got["verify"] == []


def _expected_patched(name):
    # What install(name) does in this process (the libraries are imported here).
    integrations.uninstall()
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return name in integrations.install(name)
    finally:
        integrations.uninstall()


def test_the_hook_leaves_the_module_its_own_loader():
    require("tornado")
    got = run("""
        import json
        import wscodec.integrations as integrations
        integrations.install()
        import tornado
        print(json.dumps({"loader": type(tornado.__loader__).__name__,
                          "spec_loader": type(tornado.__spec__.loader).__name__}))
    """)
    assert got == {"loader": "SourceFileLoader", "spec_loader": "SourceFileLoader"}


def test_uninstall_removes_the_hook():
    require("tornado")
    got = run("""
        import json, sys
        import wscodec.integrations as integrations
        integrations.install()
        hooked = [type(f).__name__ for f in sys.meta_path if type(f).__module__ == integrations.__name__]
        integrations.uninstall()
        after = [f for f in sys.meta_path if type(f).__module__ == integrations.__name__]
        import tornado.websocket
        print(json.dumps({"hooked": hooked, "after": len(after),
                          "installed": integrations.installed(),
                          "verify": integrations.verify("tornado")}))
    """)
    assert got["hooked"] == ["_ImportHook"]
    assert got["after"] == 0
    assert got["installed"] == []
    assert got["verify"] == ["tornado is not installed"]


def test_the_hook_goes_when_nothing_is_pending():
    require(*[m for m in HOSTS if m != "wsaccel"], "gunicorn")
    got = run("""
        import json, sys, warnings
        warnings.simplefilter("ignore")
        import wscodec.integrations as integrations
        integrations.install()
        import wsproto.connection, websockets.frames, websocket, tornado, autobahn, aiohttp, gunicorn
        print(json.dumps(len([f for f in sys.meta_path
                              if type(f).__module__ == integrations.__name__])))
    """)
    assert got == 0


def test_a_failing_patch_never_fails_the_applications_import():
    require("tornado")
    got = run("""
        import json, warnings
        import wscodec.integrations as integrations
        from wscodec.integrations import tornado as ours
        def broken():
            raise RuntimeError("boom")
        ours.patches = broken
        integrations.install()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import tornado.websocket
        print(json.dumps({"warnings": [(w.category.__name__, str(w.message)) for w in caught],
                          "installed": integrations.installed(),
                          "verify": integrations.verify("tornado")}))
    """)
    assert got["installed"] == []
    assert [c for c, _ in got["warnings"]] == ["IntegrationWarning"]
    assert "boom" in got["warnings"][0][1]
    assert "boom" in got["verify"][0]
