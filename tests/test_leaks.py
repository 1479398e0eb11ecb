"""Leak tests: every public API, success and error paths, called in a loop in a fresh process
(tests/isolated/leak_check.py), with allocated blocks, resident memory and reference counts
required to stay flat.

Iterations.  The issue asks for 10^6 calls per API.  The default run makes them for the
cheap calls of the compiled twin (the success paths of masking, UTF-8 checks, framing and
frame decoding, about 3 us or less per call: some 15 s in all on the project's 2-core CI
machine).  Everything else runs fewer times, because 10^6 calls take minutes per concern
there (an error path raises an exception: 5-15 us compiled; a pure-twin message decoder
error path costs about 0.1 ms): 10,000 calls for the other compiled cases, 5,000 / 3,000
for the pure twin's cheap / other cases.  What the reduced counts still prove: a Python
object or a reference leaked per call shows as one block or one count per iteration
(thresholds: 50 blocks, 10 counts), so it is caught at any iteration count; a C-level
``malloc`` leaked per call is caught when it is larger than the 4 MiB resident-size slack
divided by the iteration count (about 400 bytes per call at 10,000 calls, 4 bytes at 10^6).
The compiled stand-ins for the host libraries (wsproto, aiohttp, websockets, compat concerns)
are covered the same way; the wsproto and aiohttp cases need those libraries and are skipped
without them (a failure under ``WSCODEC_REQUIRE_PEERS=1``).  The full run sets every count:

    WSCODEC_LEAK_ITERATIONS=1000000 python -m pytest tests/test_leaks.py

CI's "leaks" stage (.ci/leaks.sh) makes that run for the compiled twin on every change (about
3 minutes); the pure twin's full run takes some 10 minutes more and is made by hand.

Skipped on interpreters other than CPython (no ``sys.getallocatedblocks`` meaning, no
reference counts) and on free-threaded builds (block counts are per-thread heaps there).
"""

import os
import platform
import subprocess
import sys
import sysconfig

import pytest

from _twins import KINDS

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "isolated", "leak_check.py")
CONCERNS = ["mask", "utf8", "frames", "messages", "handshake",
            "wsproto", "aiohttp", "websockets", "compat"]
# The host library a concern's cases need.  The pure twin of these two is the library's own
# code (wsproto's FrameProtocol, aiohttp's reader): only the compiled twin is ours to check.
PEERS = {"wsproto": "wsproto", "aiohttp": "aiohttp"}

pytestmark = [
    pytest.mark.skipif(platform.python_implementation() != "CPython", reason="CPython memory accounting"),
    pytest.mark.skipif(bool(sysconfig.get_config_var("Py_GIL_DISABLED")), reason="free-threaded build"),
]

DEFAULTS = {"c": (10_000, 1_000_000), "python": (3_000, 5_000)}


def _iterations(kind):
    full = os.environ.get("WSCODEC_LEAK_ITERATIONS")
    if full:
        return int(full), int(full)
    return DEFAULTS[kind]


def _params():
    out = []
    for kind in KINDS:
        for concern in CONCERNS:
            if concern == "handshake" and kind == "c":
                continue   # one implementation; run once
            if concern in PEERS and kind != "c":
                continue
            marks = [pytest.mark.c_extension] if kind == "c" else []
            out.append(pytest.param(kind, concern, id="%s-%s" % (kind, concern), marks=marks))
    return out


@pytest.mark.parametrize("kind, concern", _params())
def test_flat(kind, concern):
    if concern in PEERS and not os.environ.get("WSCODEC_REQUIRE_PEERS"):
        pytest.importorskip(PEERS[concern], reason="peer library %s is not installed" % PEERS[concern])
    iterations, cheap = _iterations(kind)
    proc = subprocess.run(
        [sys.executable, SCRIPT, kind, concern, str(iterations), str(cheap)],
        capture_output=True, text=True, timeout=24 * 3600,
        env=dict(os.environ, PYTHONHASHSEED="0"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    # Every case ran and reported flat.
    assert lines and all(line.startswith("ok ") for line in lines), proc.stdout
