"""Building and running the stand-alone C checks of the SIMD kernels (tests/simd_*_check.c).

Shared by test_simd.py (UTF-8) and test_mask_simd.py (masking): each compiles its harness
against the package's simd/ headers, natively and, for NEON, with an aarch64 cross compiler
run under qemu-user.
"""

import os
import pathlib
import shutil
import subprocess
import sysconfig

import pytest

import wscodec

SIMD_HEADERS = pathlib.Path(wscodec.__file__).parent / "simd"
CROSS_CC = ["aarch64-linux-gnu-gcc"]
CROSS_RUN = ["qemu-aarch64"]


def native_cc():
    """The interpreter's C compiler as an argv prefix, or None when it is not installed."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    return cc if shutil.which(cc[0]) else None


def require_cross_tools():
    """Skip unless the aarch64 cross compiler and qemu-user are present.

    CI's test stage installs both and sets WSCODEC_REQUIRE_NEON_CHECK: a missing tool there
    is a broken set-up, so the test fails instead of skipping.
    """
    if shutil.which(CROSS_CC[0]) and shutil.which(CROSS_RUN[0]):
        return
    why = ("needs aarch64-linux-gnu-gcc and qemu-aarch64 (Debian: gcc-aarch64-linux-gnu, "
           "qemu-user) to run the NEON kernel on this machine")
    if os.environ.get("WSCODEC_REQUIRE_NEON_CHECK"):
        pytest.fail(why)
    pytest.skip(why)


def build_and_run(harness, cc, tmp_path, *, run_prefix=(), cflags=(), args=()):
    """Compile ``harness`` with ``cc`` (warnings are errors), run it, return its stdout."""
    exe = tmp_path / pathlib.Path(harness).stem
    subprocess.run(
        [*cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *cflags,
         "-I", str(SIMD_HEADERS), str(harness), "-o", str(exe)],
        check=True, capture_output=True, text=True,
    )
    done = subprocess.run([*run_prefix, str(exe), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
