"""_select.fallback_reason(): why the codec runs its pure-Python twins, told apart case by case
(``python -m wscodec bench`` prints it at the top and the bottom of a run of the pure twins).

Each case runs a copy of the package without its compiled modules in a fresh interpreter
started with ``-S`` (no site-packages: only the directories a test puts on ``sys.path``).
"""

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import wscodec
from wscodec import _select

# The directory holding the wscodec under test (the checkout, or site-packages when the suite
# runs against an installed wheel): the cases copy that package and put this on sys.path.
ROOT = Path(wscodec.__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(platform.python_implementation() != "CPython",
                                reason="elsewhere the pure twins are the only ones")


def _copy(tmp_path, *, checkout):
    """A copy of the package without compiled modules; ``checkout``: with a setup.py beside."""
    top = tmp_path / "copy"
    shutil.copytree(ROOT / "wscodec", top / "wscodec", ignore=shutil.ignore_patterns(
        "*.so", "*.pyd", "*.c", "*.html", "__pycache__"))
    if checkout:
        (top / "setup.py").write_text("")
    return top


def _reason(cwd, *paths, **env):
    code = ("import wscodec; from wscodec import _select;"
            "print(wscodec.__file__); print(_select.fallback_reason())")
    environ = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "WSCODEC_NO_EXTENSIONS")}
    environ.update(env)
    if paths:
        environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=cwd, env=environ,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    where, reason = out.stdout.strip().splitlines()
    return Path(where).parent, reason


def _compiled_root():
    if _select.NO_EXTENSIONS or _select.IMPLEMENTATION != "c":
        pytest.skip("needs the compiled twins built in the checkout under test")


def test_compiled_twins_have_no_reason():
    _compiled_root()
    assert _select.fallback_reason() is None


def test_a_checkout_hiding_a_compiled_install(tmp_path):
    # `python -m`/`-c` in a source checkout: the current directory comes first on sys.path.
    _compiled_root()
    checkout = _copy(tmp_path, checkout=True)
    where, reason = _reason(checkout, ROOT)
    assert where == checkout / "wscodec"
    assert "hides the compiled wscodec installed at %s" % (ROOT / "wscodec") in reason
    assert "current directory first on sys.path" in reason


def test_a_checkout_never_built(tmp_path):
    checkout = _copy(tmp_path, checkout=True)
    _, reason = _reason(checkout)
    assert "source checkout at %s whose compiled modules" % (checkout / "wscodec") in reason
    assert "never built" in reason and "pip install -e ." in reason


def test_an_install_made_without_a_compiler(tmp_path):
    site = _copy(tmp_path, checkout=False)
    _, reason = _reason(tmp_path, site)
    assert "installed without its compiled modules" in reason
    assert "could not compile" in reason


def test_modules_built_for_another_python(tmp_path):
    site = _copy(tmp_path, checkout=False)
    # A tag that is not this interpreter's (on CPython 3.9, cpython-39 would be its own).
    tag = "cpython-38" if sys.version_info[:2] == (3, 9) else "cpython-39"
    name = "_mask_c.%s-x86_64-linux-gnu.so" % tag
    (site / "wscodec" / name).write_bytes(b"")
    _, reason = _reason(tmp_path, site)
    assert "built for another Python (%s)" % name in reason


def test_the_switch(tmp_path):
    _, reason = _reason(tmp_path, ROOT, WSCODEC_NO_EXTENSIONS="1")
    assert reason.startswith("WSCODEC_NO_EXTENSIONS=1 is set in the environment")
