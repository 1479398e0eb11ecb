"""The plugin that runs peers' own suites with wscodec installed, on a small suite of our own:
it patches before collection, reports what it patched, and fails a run whose patched names
were re-bound."""

import os
import subprocess
import sys
import textwrap

from _peers import require

from wscodec import _select

HERE = os.path.dirname(os.path.abspath(__file__))


def run_suite(tmp_path, source, *args):
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(source))
    env = dict(os.environ)
    # Only this plugin: other installed plugins would just slow each run down.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if _select.NO_EXTENSIONS:
        # install() keeps tornado's compiled speedup from the pure twins; tornado's own switch
        # turns it off, and the pure twin then replaces tornado's pure Python.
        env["TORNADO_NO_EXTENSION"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [HERE, os.path.dirname(os.path.dirname(HERE))] + env.get("PYTHONPATH", "").split(os.pathsep)
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "wscodec_pytest_plugin", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py"), *args],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120,
    )


def test_patches_before_collection_and_reports(tmp_path):
    require("tornado")
    # The module-level check runs at collection: the name is already wscodec's then.
    result = run_suite(tmp_path, """
        import tornado.websocket
        PATCHED_AT_IMPORT = tornado.websocket._websocket_mask.__module__

        def test_patched():
            assert PATCHED_AT_IMPORT.startswith("wscodec")
    """, "--wscodec-install=tornado")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wscodec: tornado patched: tornado.util._websocket_mask" in result.stdout
    assert "wscodec: 3 names of tornado were wscodec's for the whole run" in result.stdout


def test_baseline_run_patches_nothing(tmp_path):
    require("tornado")
    result = run_suite(tmp_path, """
        import tornado.websocket

        def test_not_patched():
            assert not tornado.websocket._websocket_mask.__module__.startswith("wscodec")
    """, "--wscodec-install=none")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wscodec: not installed (baseline run)" in result.stdout


def test_a_rebinding_test_fails_the_run(tmp_path):
    require("tornado")
    result = run_suite(tmp_path, """
        import tornado.util
        import tornado.websocket

        def test_rebinds():
            tornado.websocket._websocket_mask = tornado.util._websocket_mask_python

        def test_next():
            pass
    """, "--wscodec-install=tornado")
    assert result.returncode != 0
    assert "wscodec patches lost before" in result.stdout
    assert "patches LOST at the end" in result.stdout


def test_the_plugin_needs_a_choice(tmp_path):
    result = run_suite(tmp_path, "def test_x():\n    pass\n")
    assert result.returncode != 0
    assert "--wscodec-install" in result.stderr


def test_unknown_library_is_a_usage_error(tmp_path):
    result = run_suite(tmp_path, "def test_x():\n    pass\n", "--wscodec-install=flask")
    assert result.returncode != 0
    assert "unknown library" in result.stderr
