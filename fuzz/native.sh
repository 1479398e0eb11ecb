#!/usr/bin/env bash
# Fuzz the compiled twins with native coverage: the atheris harnesses of this directory run
# against a clang build of wscodec's extension modules made with
# -fsanitize=address,fuzzer-no-link (WSCODEC_SANITIZE=fuzzer in setup.py), so libFuzzer sees
# the edges of the C code as well as the Python ones, and AddressSanitizer stops at the first
# out-of-bounds access in it.
#
#   bash fuzz/native.sh                  # every harness, FUZZ_SECONDS (default 5) each
#   bash fuzz/native.sh frames deflate   # some harnesses
#   FUZZ_SECONDS=600 FUZZ_WORK=$HOME/wscodec-native bash fuzz/native.sh frames
#
# Needs clang (with its ASan and libFuzzer runtimes: Debian's clang package has both) and
# network access for pip the first time.  Everything is made under FUZZ_WORK (default: a
# fresh temporary directory; an existing one is reused, its venv and grown corpus included):
# a copy of the source tree, a venv with Cython and atheris, the build and the corpora.  The
# checkout's own in-place modules are never touched.
#
# Why preload: the instrumented modules call into the ASan and libFuzzer runtimes, which must
# be in the process before the interpreter starts.  atheris ships both in one library,
# asan_with_fuzzer.so (in the directory atheris.path() names), and uses the libFuzzer it finds
# there.  gcc's ASan runtime cannot stand in for it: atheris' libFuzzer is clang's.
# PYTHONMALLOC=malloc sends Python's own allocations (the bytes objects the decoders read)
# through ASan's malloc, so a read past the end of a small bytes object is seen too.
#
# FUZZ_SELFTEST=1 adds a last step that proves the whole chain can see a memory error in the
# C code: the private copy's utf8_feed (the compiled UTF-8 validator's entry point) is given a
# read two bytes past the chunk it is handed whenever that chunk ends with a four-byte lead
# byte (F0-F4), and the utf8 harness must then stop with an AddressSanitizer
# heap-buffer-overflow report in _utf8_c.  The byte read is never used, so the twins still
# agree: only AddressSanitizer can see this bug.  (Two bytes, not one: a bytes object keeps a
# NUL after its last byte, inside its allocation.)  The copy is restored afterwards.
#
# Exit status: 0 when no harness found anything (and, with FUZZ_SELFTEST=1, the planted read
# was reported); 1 otherwise (the log tail is printed and the input is kept as
# FUZZ_WORK/artifacts/<harness>-crash-*).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SECONDS_EACH=${FUZZ_SECONDS:-5}
WORK=${FUZZ_WORK:-$(mktemp -d -t wscodec-native.XXXXXX)}
PYTHON=${PYTHON:-python3}
CC=${CC:-clang}

log() { printf '[native-fuzz] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v "$CC" >/dev/null || die "$CC not found (Debian: apt-get install clang)"
# (Output captured first: under pipefail, `cmd | grep -q` fails when grep exits early.)
[[ "$("$CC" --version 2>/dev/null)" == *clang* ]] || die "CC=$CC is not clang (gcc's ASan cannot be mixed with atheris)"

if [ $# -gt 0 ]; then
    HARNESSES=("$@")
else
    HARNESSES=()
    for f in "$HERE"/fuzz_*.py; do
        n=$(basename "$f" .py)
        HARNESSES+=("${n#fuzz_}")
    done
fi
for h in "${HARNESSES[@]}"; do
    [ -f "$HERE/fuzz_$h.py" ] || die "no harness fuzz/fuzz_$h.py"
done

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log "work directory: $WORK"

# 1. A private copy of the source tree: the tracked files of a git checkout, else the whole
#    directory less build products.
rm -rf "$WORK/src" "$WORK/build"
mkdir -p "$WORK/src" "$WORK/artifacts"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$WORK/src"
else
    (cd "$ROOT" && tar --exclude=./build --exclude='*.so' --exclude='_*_c.c' --exclude='*.html' \
        --exclude=./.git -cf - .) | tar -xf - -C "$WORK/src"
fi

# 2. A venv of its own (reused when FUZZ_WORK already has one with atheris in it).
PY=$WORK/venv/bin/python
if ! "$PY" -c "import atheris, Cython, setuptools" >/dev/null 2>&1; then
    log "venv: setuptools, Cython, atheris"
    "$PYTHON" -m venv "$WORK/venv"
    "$PY" -m pip install -q "setuptools>=77" "Cython>=3.1" atheris
fi
ATHERIS_LIB=$("$PY" -c "import atheris; print(atheris.path())")
PRELOAD=$ATHERIS_LIB/asan_with_fuzzer.so
[ -f "$PRELOAD" ] || die "atheris has no asan_with_fuzzer.so in $ATHERIS_LIB"

# 3. The clang build.  LDSHARED too: otherwise the link line is the interpreter's own compiler.
log "build: CC=$CC WSCODEC_SANITIZE=fuzzer (-fsanitize=address,fuzzer-no-link)"
(cd "$WORK/src" && CC="$CC" LDSHARED="$CC -shared" WSCODEC_SANITIZE=fuzzer WSCODEC_REQUIRE_EXTENSIONS=1 \
    nice -n 10 "$PY" setup.py -q build_ext --inplace --build-temp "$WORK/build" > "$WORK/build.log" 2>&1) \
    || { tail -n 30 "$WORK/build.log" >&2; die "build failed (full log: $WORK/build.log)"; }
while IFS= read -r so; do
    syms=$(nm -D "$so")
    [[ "$syms" == *__asan_* ]] || die "$(basename "$so") has no ASan instrumentation"
    [[ "$syms" == *__sanitizer_cov_* ]] || die "$(basename "$so") has no coverage instrumentation"
done < <(find "$WORK/src/wscodec" -name '_*_c*.so')

# 4. The harnesses.  detect_leaks=0: the interpreter keeps objects alive at exit by design.
#    allocator_may_return_null=1: an impossible allocation is Python's MemoryError, as without
#    ASan.  -max_len=4096 and -timeout as in the CI stage.
failed=()
printf '%-10s %10s %8s %10s %8s %8s\n' harness execs exec/s cov-start cov-end ft >&2
for h in "${HARNESSES[@]}"; do
    corpus=$WORK/corpus/$h
    mkdir -p "$corpus"
    cp -n "$WORK/src/fuzz/corpus/$h"/* "$corpus"/ 2>/dev/null || true
    logf=$WORK/$h.log
    rc=0
    (cd "$WORK/src" && \
        LD_PRELOAD=$PRELOAD PYTHONMALLOC=malloc \
        ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:halt_on_error=1 \
        "$PY" "fuzz/fuzz_$h.py" "$corpus" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
            -max_len=4096 -timeout=30 -rss_limit_mb=4096 \
            -artifact_prefix="$WORK/artifacts/$h-") > "$logf" 2>&1 || rc=$?
    # libFuzzer's status lines: "#N  INITED cov: C ft: F ...", then "#N  NEW/REDUCE/pulse ...".
    cov_start=$(grep -E -m1 'INITED .*cov: ' "$logf" | sed -E 's/.* cov: ([0-9]+).*/\1/' || true)
    last=$(grep -E '^#[0-9]+.* cov: ' "$logf" | tail -n 1 || true)
    cov_end=$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<<"$last")
    ft=$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<<"$last")
    execs=$(grep -E '^stat::number_of_executed_units' "$logf" | awk '{print $2}' || true)
    rate=$(grep -E '^stat::average_exec_per_sec' "$logf" | awk '{print $2}' || true)
    printf '%-10s %10s %8s %10s %8s %8s\n' "$h" "${execs:--}" "${rate:--}" "${cov_start:--}" "${cov_end:--}" "${ft:--}" >&2
    if [ $rc -ne 0 ] || grep -q -E 'ERROR: AddressSanitizer|==ERROR: libFuzzer' "$logf"; then
        grep -v -E '^(INFO|WARNING):' "$logf" | tail -n 40 >&2
        failed+=("$h")
    fi
done
[ ${#failed[@]} -eq 0 ] || die "findings in: ${failed[*]} (logs in $WORK/<harness>.log, inputs in $WORK/artifacts)"
log "no finding (logs in $WORK)"

# 5. The self-test (FUZZ_SELFTEST=1, see the header): plant the read, rebuild (only _utf8_c
#    changes), fuzz from the utf8 seeds, require the report, restore and rebuild.
[ "${FUZZ_SELFTEST:-0}" = 1 ] || exit 0
build_copy() {
    (cd "$WORK/src" && CC="$CC" LDSHARED="$CC -shared" WSCODEC_SANITIZE=fuzzer WSCODEC_REQUIRE_EXTENSIONS=1 \
        nice -n 10 "$PY" setup.py -q build_ext --inplace --build-temp "$WORK/build" > "$WORK/$1.log" 2>&1) \
        || { tail -n 30 "$WORK/$1.log" >&2; die "$1 failed (full log: $WORK/$1.log)"; }
}
pyx=$WORK/src/wscodec/_utf8_c.pyx
cp "$pyx" "$WORK/selftest-orig.pyx"
"$PY" - "$pyx" <<'PY' || die "self-test: could not plant the read in utf8_feed"
import sys

path = sys.argv[1]
src = open(path).read()
anchor = "cdef int utf8_feed(Utf8State *st, const unsigned char *s, Py_ssize_t n) noexcept nogil:\n"
if src.count(anchor) != 1:
    sys.exit("utf8_feed's definition (the C API of _utf8_c.pxd) not found")
# A volatile load: the compiler must perform it although nothing uses the value.
touch = """cdef extern from *:
    '''
    static void wsc_selftest_touch(const unsigned char *p) { volatile unsigned char c = *p; (void)c; }
    '''
    void wsc_selftest_touch(const unsigned char *p) noexcept nogil


"""
bug = "    if n > 0 and s[n - 1] >= 0xF0:\n        wsc_selftest_touch(s + n + 1)\n"
open(path, "w").write(src.replace(anchor, touch + anchor + bug))
PY
log "self-test: utf8_feed reads two bytes past a chunk that ends with F0-F4"
build_copy selftest-build
st=$WORK/selftest
rm -rf "$st"
mkdir -p "$st/corpus"
cp "$WORK/src/fuzz/corpus/utf8"/* "$st/corpus"/
rc=0
start=$(date +%s)
(cd "$WORK/src" && \
    LD_PRELOAD=$PRELOAD PYTHONMALLOC=malloc \
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:halt_on_error=1 \
    "$PY" fuzz/fuzz_utf8.py "$st/corpus" -max_total_time=60 -max_len=4096 -timeout=30 \
        -artifact_prefix="$st/") > "$st/log" 2>&1 || rc=$?
secs=$(( $(date +%s) - start ))
cp "$WORK/selftest-orig.pyx" "$pyx"
build_copy selftest-restore
report=$(grep -E -m1 'ERROR: AddressSanitizer: ' "$st/log" || true)
if [ $rc -eq 0 ] || [[ "$report" != *heap-buffer-overflow* ]] || ! grep -q '_utf8_c' "$st/log"; then
    grep -v -E '^INFO:' "$st/log" | tail -n 40 >&2
    die "self-test: the planted read was not reported as a heap-buffer-overflow in _utf8_c (exit $rc)"
fi
# Inputs run before the report: libFuzzer's last status line (none when a seed triggers it).
n=$(grep -E -o '^#[0-9]+' "$st/log" | tail -n 1 || true)
log "self-test: AddressSanitizer reported the planted read after ${secs} s (${n:-a seed input}): ${report#*ERROR: }"
