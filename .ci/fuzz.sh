#!/usr/bin/env bash
# Stage "fuzz": every atheris harness in fuzz/ for a short, fixed time (FUZZ_SECONDS each,
# default 15), starting from the checked-in seed corpus.  A finding (an undocumented
# exception, a disagreement between the twins, a crash or a hang) fails the stage and the
# input is kept in $CI_WORK/fuzz/artifacts.  The long run is described in
# docs/contributing.md ("Hardening checks").
#
# Then the same harnesses with native coverage (fuzz/native.sh: a clang build with
# AddressSanitizer and libFuzzer's coverage of the C code, atheris' runtime preloaded),
# NATIVE_FUZZ_SECONDS each (default 10), and its self-test: a read planted past a buffer in
# the compiled UTF-8 validator must be reported by AddressSanitizer.  clang is installed from
# Debian's archive when it is missing; it is never a reason to skip.
set -euo pipefail
STAGE_NAME=fuzz
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

FUZZ=$CI_WORK/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-15}
rm -rf "$FUZZ"
mkdir -p "$FUZZ/artifacts" "$FUZZ/src"

# The harnesses run against a build of the tracked files in their own directory, so a
# rebuild of the checkout meanwhile cannot swap a module under a running fuzzer.
copy_tracked "$FUZZ/src"
"${PYTHON:-python3}" -m venv "$FUZZ/venv"
PY=$FUZZ/venv/bin/python
"$PY" -m pip install -q "setuptools>=77" "Cython>=3.1" atheris
(cd "$FUZZ/src" && WSCODEC_REQUIRE_EXTENSIONS=1 "$PY" setup.py -q build_ext --inplace --build-temp "$FUZZ/build")

failed=()
for harness in "$FUZZ"/src/fuzz/fuzz_*.py; do
    name=$(basename "$harness" .py)
    name=${name#fuzz_}
    work=$FUZZ/corpus/$name
    mkdir -p "$work"
    cp "$FUZZ/src/fuzz/corpus/$name"/* "$work"/
    log "$name: ${SECONDS_EACH} s"
    if "$PY" "$harness" "$work" "$FUZZ/src/fuzz/corpus/$name" -max_total_time="$SECONDS_EACH" \
            -print_final_stats=1 -max_len=4096 -timeout=30 -rss_limit_mb=2048 \
            -artifact_prefix="$FUZZ/artifacts/$name-" > "$FUZZ/$name.log" 2>&1; then
        log "$name: $(grep -E '^stat::number_of_executed_units' "$FUZZ/$name.log" | awk '{print $2}') inputs, no finding"
    else
        grep -v -E '^(INFO|WARNING):' "$FUZZ/$name.log" | tail -n 40 >&2
        failed+=("$name")
    fi
done

# Native coverage.  Another apt/dpkg run on the machine may hold the lock for a while: wait.
apt_install() {
    apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@"
}
if ! command -v clang >/dev/null 2>&1; then
    log "installing clang"
    apt_install clang
fi
# Debian ships the sanitizer runtimes and their default ignore lists in libclang-rt-N-dev,
# only recommended by clang: without it, -fsanitize=address does not compile.
if [ ! -e "$(clang -print-resource-dir)/share/asan_ignorelist.txt" ]; then
    apt_install "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
fi
NATIVE_SECONDS=${NATIVE_FUZZ_SECONDS:-10}
log "native coverage: ${NATIVE_SECONDS} s per harness, then the self-test"
if ! FUZZ_SECONDS=$NATIVE_SECONDS FUZZ_WORK=$FUZZ/native FUZZ_SELFTEST=1 CC=clang \
        PYTHON="${PYTHON:-python3}" bash "$ROOT/fuzz/native.sh"; then
    failed+=("native")
fi
[ ${#failed[@]} -eq 0 ] || die "findings in: ${failed[*]} (inputs in $FUZZ/artifacts and $FUZZ/native/artifacts)"
