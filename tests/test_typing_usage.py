"""tests/typing/usage.py (the file .ci/types.sh type-checks) runs on each twin, and the types
it asserts for the checkers are the types the values have at run time."""

import os
import pathlib
import subprocess
import sys

import pytest

import wscodec
from _twins import KINDS

HERE = pathlib.Path(__file__).resolve().parent / "typing"


@pytest.mark.parametrize(
    "kind", [pytest.param(k, marks=[pytest.mark.c_extension] if k == "c" else []) for k in KINDS]
)
def test_usage_types_hold_at_run_time(kind, tmp_path):
    env = dict(os.environ)
    env["WSCODEC_NO_EXTENSIONS"] = "0" if kind == "c" else "1"
    # The same wscodec as this test run's (the checkout or the installed wheel).
    package_root = str(pathlib.Path(wscodec.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, str(HERE / "runtime_check.py"), str(HERE / "usage.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("(%s twin)" % kind), out.stdout
    assert int(out.stdout.split()[0]) >= 80, out.stdout
