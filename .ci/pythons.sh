#!/usr/bin/env bash
# Stage "pythons": the compiled twin on every CPython this machine has (pyenv's 3.9-3.13).
# For each: a fresh venv, wscodec built from the sdist (isolated build, the extension must
# compile), the suite run against the installed package.  Two interpreters at a time (the
# builds are single-threaded compiles); each one's log is printed whole when it ends.
set -euo pipefail
STAGE_NAME=pythons
. "$(dirname "$0")/lib.sh"
SDIST=$(sdist_path)
# 3.11 is the wheel-tests stage's interpreter and 3.13's wheel is built and tested by the
# cibuildwheel stage (the whole suite, in its container), so by default this stage runs the
# other three.
VERSIONS=${CI_PYTHONS:-3.9 3.10 3.12}
JOBS=${CI_PYTHON_JOBS:-2}
# The wheel-tests stage already tested this interpreter's wheel.
COVERED=$("${PYTHON:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

one() {
    local v=$1 py venv tests
    py=$(find_python "$v") || { echo "no CPython $v found (pyenv root $(pyenv_root))"; return 1; }
    venv=$CI_WORK/venv-py$v
    tests=$CI_WORK/tests-py$v
    echo "CPython $v: $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    WSCODEC_REQUIRE_EXTENSIONS=1 "$venv/bin/python" -m pip install -q "$SDIST[test]"
    assert_twin "$venv/bin/python" c
    copy_tests "$tests"
    # tests/test_annotation.py reads Cython's annotated output, which does not depend on the
    # interpreter: the wheel-tests and README stages run it.
    (cd "$tests" && "$venv/bin/python" -m pytest -q -p no:cacheprovider --ignore=tests/test_annotation.py tests)
}

declare -A PIDS=()
status=0
run_versions=()
for v in $VERSIONS; do
    if [ "$v" = "$COVERED" ] && [ -z "${CI_PYTHONS:-}" ]; then
        log "CPython $v: tested by the wheel-tests stage (installed wheel, compiled twin)"
        continue
    fi
    run_versions+=("$v")
done

finish() {
    local v=$1 rc=0
    wait "${PIDS[$v]}" || rc=$?
    echo "----- CPython $v (exit $rc) -----"
    cat "$CI_WORK/pythons-$v.log"
    [ $rc -eq 0 ] || { log "CPython $v FAILED"; status=1; }
    unset "PIDS[$v]"
}

queue=()
for v in "${run_versions[@]}"; do
    one "$v" >"$CI_WORK/pythons-$v.log" 2>&1 &
    PIDS[$v]=$!
    queue+=("$v")
    if [ ${#queue[@]} -ge "$JOBS" ]; then
        finish "${queue[0]}"
        queue=("${queue[@]:1}")
    fi
done
for v in "${queue[@]}"; do finish "$v"; done
exit $status
