#!/usr/bin/env bash
# Stage "sanitize": the compiled twins built with AddressSanitizer and UndefinedBehaviorSanitizer
# (WSCODEC_SANITIZE=1), then the codec's test suite (both twins) run against that build.  Any
# ASan or UBSan report fails the stage, even one that did not fail a test.
#
# The build is made in a copy of the tracked files under $CI_WORK/sanitize, so the checkout's
# own in-place build is never replaced by the instrumented one.  CPython itself is not
# instrumented, so gcc's ASan runtime is preloaded (it must come first), and PYTHONMALLOC=malloc
# sends every Python allocation through ASan's malloc.  Leak detection is off: the
# interpreter keeps objects alive at exit by design; leaks are the job of tests/isolated/.
set -euo pipefail
STAGE_NAME=sanitize
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

SAN=$CI_WORK/sanitize
rm -rf "$SAN"
mkdir -p "$SAN/src"
copy_tracked "$SAN/src"

log "venv and build (WSCODEC_SANITIZE=1, gcc)"
"${PYTHON:-python3}" -m venv "$SAN/venv"
PY=$SAN/venv/bin/python
"$PY" -m pip install -q "setuptools>=77" "Cython>=3.1" "pytest>=7" "hypothesis>=6" "websockets>=13" wsproto
(cd "$SAN/src" && CC=gcc WSCODEC_SANITIZE=1 WSCODEC_REQUIRE_EXTENSIONS=1 \
    "$PY" setup.py -q build_ext --inplace --build-temp "$SAN/build")
nm -D "$SAN"/src/wscodec/_frames_c*.so | grep -q __asan_ || die "the extension is not instrumented"

LIBASAN=$(gcc -print-file-name=libasan.so)
[ -e "$LIBASAN" ] || die "gcc's libasan.so not found (apt-get install libasan8 or gcc)"

# The suites that run compiled code, both twins (the conftest's impl fixture).  Left out:
# test_handshake and test_select (pure Python: nothing for the sanitizers to see),
# tests/e2e and tests/integrations (network peers; their own stages), test_bench_cli
# (benchmarks).
SUITES=(tests/test_mask.py tests/test_utf8.py tests/test_simd.py tests/test_frames.py
        tests/test_messages.py tests/test_deflate.py tests/test_threads.py tests/test_concurrency.py)
log "pytest under ASan+UBSan: ${SUITES[*]}"
# allocator_may_return_null=1: an allocation that cannot be satisfied returns NULL (Python's
# MemoryError), as without ASan; tests/test_frames.py checks exactly that under RLIMIT_AS.
# Both streams are kept: a report from a subprocess a test starts lands in pytest's output.
rc=0
(cd "$SAN/src" && \
    LD_PRELOAD=$LIBASAN PYTHONMALLOC=malloc \
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:print_summary=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$PY" -m pytest -q -p no:cacheprovider "${SUITES[@]}") \
    > >(tee "$SAN/stdout.log") 2> >(tee "$SAN/stderr.log" >&2) || rc=$?
sleep 1   # let tee finish writing
if grep -E -n "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$SAN/stdout.log" "$SAN/stderr.log"; then
    die "sanitizer report (above; full output in $SAN/stdout.log and $SAN/stderr.log)"
fi
[ $rc -eq 0 ] || die "pytest failed under the sanitizers (exit $rc)"
log "no sanitizer report"
