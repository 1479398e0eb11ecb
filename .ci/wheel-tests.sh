#!/usr/bin/env bash
# Stage "wheel-tests": the repaired wheel the wheel stage built, installed into a fresh venv
# (no Cython on the path at import, no source tree), loads its compiled twin and passes the
# test suite, with the optional deflate backends (the fast-deflate extra: isal and zlib-ng)
# installed and required, so every backend's tests run (the readme-tests stage runs the suite
# without them).
set -euo pipefail
STAGE_NAME=wheel-tests
. "$(dirname "$0")/lib.sh"
REPAIRED=$(ls "$CI_WORK"/wheelhouse/wscodec-*.whl 2>/dev/null | head -n1 || true)
[ -n "$REPAIRED" ] || die "no repaired wheel in $CI_WORK/wheelhouse (the wheel stage builds it)"
log "$(basename "$REPAIRED")"
VENV=$CI_WORK/venv-wheel
rm -rf "$VENV"
"${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "$REPAIRED[test,fast-deflate]"
# The test extra brings Cython (tests/test_capi.py compiles a module against the installed
# C API); the wheel itself must not need it: its compiled twin loads with Cython blocked.
# (Run from /, so that the checkout's wscodec/ is not what gets imported.)
(cd / && "$VENV/bin/python" -c "import sys; sys.modules['Cython'] = None; import wscodec; assert wscodec.IMPLEMENTATION == 'c'") ||
    die "the installed wheel needs Cython at run time"
assert_twin "$VENV/bin/python" c
copy_tests "$CI_WORK/tests-wheel"
(cd "$CI_WORK/tests-wheel" && WSCODEC_REQUIRE_DEFLATE_BACKENDS=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests)

