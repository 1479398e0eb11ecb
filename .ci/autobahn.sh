#!/usr/bin/env bash
# Stage "autobahn": Autobahn|Testsuite's fuzzing client runs sections 1-10 against
# examples/echo_server.py on 127.0.0.1, once on the compiled twin and once on the pure twin
# (WSCODEC_NO_EXTENSIONS=1), then the same against examples/starlette_echo.py served by uvicorn
# with wscodec's protocol class (--ws wscodec.integrations.uvicorn:WSCodecProtocol, uvicorn's
# defaults otherwise: permessage-deflate on); the stage fails unless every case ends OK, NON-STRICT or
# INFORMATIONAL (tests/e2e/autobahn_run.py reads the suite's JSON report).
#
# wscodec is installed (the compiled wheel the wheel stage built) into a venv
# of its own.  The fuzzing client is autobahntestsuite's wstest under Python 2.7 (pyenv's), in
# a virtualenv cached outside the clone under ${XDG_CACHE_HOME:-$HOME/.cache}/wscodec-ci and
# reused when present; when it is absent it is built (never skipped).  Without any Python 2.7
# the kosoku runner (Python 3, the same case files) is used instead.
# Then the compression sections once per deflate backend (isal, zlib-ng, the standard library's
# zlib: wscodec installed with its fast-deflate extra, each forced with WSCODEC_DEFLATE_BACKEND),
# compiled twin: the cases of sections 12 and 13 at two message sizes, 16 B and 8 KiB (12.M.1,
# 12.M.6, 13.M.1, 13.M.6: every payload kind of section 12 and every parameter variant of
# section 13, 24 cases of 1000 messages each).
#   WSCODEC_AUTOBAHN_RUNNER=wstest|kosoku   force a client
#   WSCODEC_AUTOBAHN_CASES=12-13            the compression sections instead (a longer run)
#   WSCODEC_AUTOBAHN_BACKEND_CASES=12-13    all of sections 12-13 per backend (default 12-13-small)
set -euo pipefail
shopt -s inherit_errexit   # a failing step inside $(...) fails the stage too
STAGE_NAME=autobahn
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

CACHE=$WSCODEC_CI_CACHE
AUTOBAHN_VERSION=25.10.1
VIRTUALENV_VERSION=20.15.1   # the last virtualenv that runs on and creates Python 2.7
KOSOKU_VERSION=0.1.0
# examples/starlette_echo.py on uvicorn with wscodec's protocol class (--server uvicorn).
UVICORN_VERSION=0.54.0
STARLETTE_VERSION=1.10.0
CASES=${WSCODEC_AUTOBAHN_CASES:-1-10}
PY3=${PYTHON:-python3}

find_python27() {
    local candidate
    if command -v pyenv >/dev/null 2>&1; then
        for candidate in $(pyenv root 2>/dev/null)/versions/2.7*/bin/python2.7; do
            [ -x "$candidate" ] && { echo "$candidate"; return 0; }
        done
    fi
    for candidate in "$HOME"/.pyenv/versions/2.7*/bin/python2.7 "$(command -v python2.7 || true)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return 0; }
    done
    return 1
}

# wstest in $CACHE/autobahntestsuite-py27-$AUTOBAHN_VERSION.  A .complete marker is written
# only once the build works, so an interrupted build is rebuilt rather than reused.
setup_wstest() {
    local py27=$1 venv=$CACHE/autobahntestsuite-py27-$AUTOBAHN_VERSION
    if [ -f "$venv/.complete" ] && "$venv/bin/wstest" --autobahnversion >/dev/null 2>&1; then
        echo "reusing $venv" >&2
        echo "$venv/bin/wstest"
        return 0
    fi
    echo "building $venv with $py27" >&2
    rm -rf "$venv" "$CACHE/py27-bootstrap" "$CACHE/sdist"
    "$py27" -m pip install -q --disable-pip-version-check --target "$CACHE/py27-bootstrap" \
        "virtualenv==$VIRTUALENV_VERSION" >&2
    PYTHONPATH=$CACHE/py27-bootstrap "$py27" -m virtualenv -q "$venv" >&2
    local pip=("$venv/bin/python" -m pip -q --disable-pip-version-check --no-python-version-warning)
    # autobahntestsuite's own pins: setuptools 44 (the last for Python 2) first, then the
    # requirements listed in its sdist's requires.txt, then the suite itself.
    "${pip[@]}" install "setuptools==44.0.0" >&2
    # Python 2's pip cannot download an sdist alone; the CI's Python 3 pip fetches it.
    "$PY3" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$CACHE/sdist" "autobahntestsuite==$AUTOBAHN_VERSION" >&2
    tar -xzf "$CACHE/sdist/autobahntestsuite-$AUTOBAHN_VERSION.tar.gz" -C "$CACHE/sdist" \
        "autobahntestsuite-$AUTOBAHN_VERSION/autobahntestsuite.egg-info/requires.txt"
    grep -v '^setuptools' "$CACHE/sdist/autobahntestsuite-$AUTOBAHN_VERSION/autobahntestsuite.egg-info/requires.txt" \
        > "$CACHE/sdist/requirements.txt"
    "${pip[@]}" install -r "$CACHE/sdist/requirements.txt" >&2
    "${pip[@]}" install --no-deps "autobahntestsuite==$AUTOBAHN_VERSION" >&2
    "$venv/bin/wstest" --autobahnversion >&2
    touch "$venv/.complete"
    echo "$venv/bin/wstest"
}

setup_kosoku() {
    local venv=$CACHE/kosoku-$KOSOKU_VERSION
    if [ ! -f "$venv/.complete" ]; then
        rm -rf "$venv"
        "$PY3" -m venv "$venv" >&2
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "kosoku==$KOSOKU_VERSION" >&2
        "$venv/bin/kosoku" --help >/dev/null
        touch "$venv/.complete"
    fi
    echo "$venv/bin/kosoku"
}

RUNNER=${WSCODEC_AUTOBAHN_RUNNER:-}
if [ -z "$RUNNER" ]; then
    if find_python27 >/dev/null; then RUNNER=wstest; else RUNNER=kosoku; fi
fi
case $RUNNER in
    wstest)
        PY27=$(find_python27) || die "no Python 2.7 for wstest"
        WSTEST=$(setup_wstest "$PY27")
        CLIENT=(--wstest "$WSTEST") ;;
    kosoku)
        KOSOKU=$(setup_kosoku)
        CLIENT=(--kosoku "$KOSOKU") ;;
    *)
        die "WSCODEC_AUTOBAHN_RUNNER must be wstest or kosoku, not $RUNNER" ;;
esac
log "fuzzing client: ${CLIENT[*]}"

# wscodec itself, its wheel installed (not the checkout, which other stages running at the
# same time must not see rebuilt) so the server imports the built extension.
VENV=$CI_WORK/autobahn-venv
rm -rf "$VENV"
"$PY3" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "$(wheel_path)[fast-deflate]" "uvicorn==$UVICORN_VERSION" "starlette==$STARLETTE_VERSION"

OUT=$CI_WORK/autobahn
rc=0
log "sections $CASES, compiled twin"
(cd / && "$VENV/bin/python" "$ROOT/tests/e2e/autobahn_run.py" "${CLIENT[@]}" --cases "$CASES" \
    --twin c --outdir "$OUT/$CASES-c") || rc=1
log "sections $CASES, pure twin"
(cd / && WSCODEC_NO_EXTENSIONS=1 "$VENV/bin/python" "$ROOT/tests/e2e/autobahn_run.py" "${CLIENT[@]}" \
    --cases "$CASES" --twin python --outdir "$OUT/$CASES-python") || rc=1
log "sections $CASES, uvicorn --ws wscodec.integrations.uvicorn:WSCodecProtocol, compiled twin"
(cd / && "$VENV/bin/python" "$ROOT/tests/e2e/autobahn_run.py" "${CLIENT[@]}" --cases "$CASES" \
    --server uvicorn --twin c --outdir "$OUT/uvicorn-$CASES-c") || rc=1
log "sections $CASES, uvicorn --ws wscodec.integrations.uvicorn:WSCodecProtocol, pure twin"
(cd / && WSCODEC_NO_EXTENSIONS=1 "$VENV/bin/python" "$ROOT/tests/e2e/autobahn_run.py" "${CLIENT[@]}" \
    --cases "$CASES" --server uvicorn --twin python --outdir "$OUT/uvicorn-$CASES-python") || rc=1
log "sections 12-13-small, uvicorn --ws wscodec.integrations.uvicorn:WSCodecProtocol, compiled twin"
(cd / && "$VENV/bin/python" "$ROOT/tests/e2e/autobahn_run.py" "${CLIENT[@]}" --cases 12-13-small \
    --server uvicorn --twin c --outdir "$OUT/uvicorn-12-13-small-c") || rc=1

BACKEND_CASES=${WSCODEC_AUTOBAHN_BACKEND_CASES:-12-13-small}
for backend in isal zlib-ng zlib; do
    log "sections $BACKEND_CASES, compiled twin, deflate backend $backend"
    (cd / && WSCODEC_DEFLATE_BACKEND=$backend "$VENV/bin/python" "$ROOT/tests/e2e/autobahn_run.py" "${CLIENT[@]}" \
        --cases "$BACKEND_CASES" --twin c --deflate-backend "$backend" \
        --outdir "$OUT/$BACKEND_CASES-$backend") || rc=1
done
exit $rc
