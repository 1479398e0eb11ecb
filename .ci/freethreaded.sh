#!/usr/bin/env bash
# Stage "free-threaded": a free-threaded CPython 3.13 (no such build is packaged for
# Debian 12; scripts/build-freethreaded-python.sh builds one from Debian trixie's source
# package, or reuses the cached build), wscodec built from the sdist with it, and the suite
# run with the GIL off (PYTHON_GIL=0): once as usual, and the thread hammer test again with
# pytest-run-parallel running each of its tests in several threads at once.
set -euo pipefail
STAGE_NAME=free-threaded
. "$(dirname "$0")/lib.sh"
SDIST=$(sdist_path)

FTPY=$(bash "$ROOT/scripts/build-freethreaded-python.sh" | tail -n1)
"$FTPY" -VV
VENV=$CI_WORK/venv-ft
rm -rf "$VENV"
"$FTPY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# Recent hypothesis releases carry a native part without free-threaded wheels (built from
# source it needs crates from the network): take the newest release that has a wheel.
WSCODEC_REQUIRE_EXTENSIONS=1 "$VENV/bin/python" -m pip install -q --only-binary hypothesis \
    "$SDIST[test]" pytest-run-parallel

export PYTHON_GIL=0
assert_twin "$VENV/bin/python" c
# The GIL stays off once every compiled module is imported (each declares
# freethreading_compatible; one that did not would re-enable the GIL with a warning).
(cd / && env -u PYTHON_GIL "$VENV/bin/python" -W error - <<'PY'
import importlib, pathlib, sys, sysconfig
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1, "not a free-threaded build"
import wscodec
# Every compiled module of the package: the codec's and the host libraries' (in subpackages).
top = pathlib.Path(wscodec.__file__).parent
compiled = sorted(".".join(p.relative_to(top).with_name(p.name.split(".")[0]).parts)
                  for p in top.rglob("_*_c.*.so"))
loaded, needs_peer = [], []
for name in compiled:
    try:
        importlib.import_module("wscodec." + name)
    except ModuleNotFoundError as exc:
        # An integration module imports the library it speeds up (aiohttp...), which this
        # venv does not have; any wscodec module that is missing is still an error.
        if (exc.name or "").split(".")[0] == "wscodec":
            raise
        needs_peer.append("%s (needs %s)" % (name, exc.name))
    else:
        loaded.append(name)
assert {"_mask_c", "_utf8_c", "_frames_c", "_messages_c", "compat._compat_c"} <= set(loaded), loaded
assert not sys._is_gil_enabled(), "importing wscodec enabled the GIL"
print("GIL disabled after importing", ", ".join(loaded))
if needs_peer:
    print("not imported here (peer library not installed):", ", ".join(needs_peer))
PY
)
copy_tests "$CI_WORK/tests-ft"
cd "$CI_WORK/tests-ft"
status=0
log "test suite, GIL off"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests || status=1
log "thread hammer under pytest-run-parallel (each test in 4 threads at once), GIL off"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider --parallel-threads=4 tests/test_threads.py || status=1
exit $status
