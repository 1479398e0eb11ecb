#!/usr/bin/env bash
# Stage "uvicorn": uvicorn's own WebSocket protocol tests with wscodec's protocol class.
#
# 1. A venv of its own with wscodec's compiled wheel (built by the wheel stage), uvicorn[standard] at the version below and what its WebSocket
#    tests import (the versions of uvicorn's dev dependency group).
# 2. uvicorn's sdist (downloaded once with `pip download --no-deps --no-binary :all:` into
#    $WSCODEC_CI_CACHE/sdists, outside the clone); its tests/ and pyproject.toml are copied to
#    a scratch directory, so the installed uvicorn is the one imported, and patched there,
#    mechanically (nothing of uvicorn's is committed here):
#    - tests/conftest.py: the ws_protocol_cls fixture's parameters get
#      "wscodec.integrations.uvicorn:WSCodecProtocol" (id "wscodec") after uvicorn's own;
#    - tests/protocols/test_websocket.py: the two keepalive tests assert
#      isinstance(protocol, (_WSProtocol, WebSocketsSansIOProtocol)) on the server's
#      connection; wscodec's class is added to that tuple (it is neither of uvicorn's).
#    Each patch must apply exactly where expected, or the stage fails.
# 3. tests/protocols/test_websocket.py runs whole (uvicorn's classes and wscodec's, every HTTP
#    protocol: h11, httptools, zttp) on the compiled twin, then the wscodec half again on the
#    pure twin (WSCODEC_NO_EXTENSIONS=1).  No test is deselected.  The only tests uvicorn's
#    file skips are its own three "WebSocketsSansIOProtocol sends both start and body
#    messages in one message" skips, for websockets-sansio alone; a wscodec test that skips
#    fails the stage.
# 4. Headless Chromium and examples/fastapi_app.py (tests/e2e/test_browser.py -k fastapi).
# wscodec's own tests of the class (tests/integrations/test_uvicorn.py, both twins) run in the
# "integrations" stage, where uvicorn is one of the pinned peers.
set -euo pipefail
shopt -s inherit_errexit
STAGE_NAME=uvicorn
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

PY=${PYTHON:-python3}
UVICORN_VERSION=0.54.0
# What uvicorn 0.54.0's tests/protocols/test_websocket.py and tests/conftest.py import, beyond
# uvicorn[standard] (which brings websockets, httptools, uvloop): the versions of its dev group.
TEST_DEPS=(httpx2==2.16.2 wsproto==1.3.2 websockets==17.4 zttp==0.0.35 trustme==1.2.1
           pytest-mock==3.15.1 anyio==4.16.0)
# examples/fastapi_app.py, which headless Chromium talks to (tests/e2e/test_browser.py).
EXAMPLE_DEPS=(fastapi==0.165.0 starlette==1.10.0)
SDISTS=$WSCODEC_CI_CACHE/sdists
VENV=$CI_WORK/uvicorn-venv
SRC=$(mktemp -d "${TMPDIR:-/tmp}/wscodec-uvicorn.XXXXXX")
trap 'rm -rf "$SRC"' EXIT

log "venv with wscodec (compiled), uvicorn[standard]==$UVICORN_VERSION and its test dependencies"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
# The wheel stage's wheel, not the checkout: other stages run at the same time (.ci/run).
python -m pip install -q "$(wheel_path)[test]" "uvicorn[standard]==$UVICORN_VERSION" "${TEST_DEPS[@]}" \
    "${EXAMPLE_DEPS[@]}"
(cd / && python -c "import wscodec.integrations.uvicorn as u; assert u.implementation() == 'c', u.implementation()")

sdist=$SDISTS/uvicorn-$UVICORN_VERSION.tar.gz
if [ ! -f "$sdist" ]; then
    log "downloading uvicorn $UVICORN_VERSION's sdist"
    mkdir -p "$SDISTS"
    python -m pip download -q --no-deps --no-binary :all: -d "$SDISTS" "uvicorn==$UVICORN_VERSION"
fi
tar -xzf "$sdist" -C "$SRC"
mkdir -p "$SRC/run"
cp -r "$SRC/uvicorn-$UVICORN_VERSION/tests" "$SRC/uvicorn-$UVICORN_VERSION/pyproject.toml" "$SRC/run/"

python - "$SRC/run" <<'EOF'
import pathlib
import sys

root = pathlib.Path(sys.argv[1])


def patch(path, old, new, count):
    text = (root / path).read_text()
    found = text.count(old)
    if found != count:
        sys.exit("%s: expected %d occurrence(s) of %r, found %d" % (path, count, old, found))
    (root / path).write_text(text.replace(old, new))


patch(
    "tests/conftest.py",
    'id="websockets-sansio"\n        ),\n',
    'id="websockets-sansio"\n        ),\n'
    '        pytest.param("wscodec.integrations.uvicorn:WSCodecProtocol", id="wscodec"),\n',
    1,
)
patch(
    "tests/protocols/test_websocket.py",
    "isinstance(protocol, (_WSProtocol, WebSocketsSansIOProtocol))",
    "isinstance(protocol, (_WSProtocol, WebSocketsSansIOProtocol, "
    "__import__('wscodec.integrations.uvicorn').integrations.uvicorn.WSCodecProtocol))",
    2,
)
EOF

# uvicorn's pytest options minus "-n 8" (pytest-xdist; the tests bind free ports and run
# serially here).  -rs lists every skip with its reason.
PYTEST=(python -m pytest -q -p no:cacheprovider -o "addopts=-rs --strict-config --strict-markers")
status=0
cd "$SRC/run"
log "uvicorn $UVICORN_VERSION tests/protocols/test_websocket.py, every ws_protocol_cls, compiled twin"
"${PYTEST[@]}" tests/protocols/test_websocket.py | tee "$SRC/c.log" || status=1
log "the wscodec half again, pure twin"
WSCODEC_NO_EXTENSIONS=1 "${PYTEST[@]}" tests/protocols/test_websocket.py -k wscodec | tee "$SRC/py.log" || status=1
# Every skip is uvicorn's own sansio-only one; none may be wscodec's.
for f in "$SRC/c.log" "$SRC/py.log"; do
    if grep -E "^SKIPPED" "$f" | grep -v "WebSocketsSansIOProtocol sends both start and body"; then
        log "unexpected skips above"; status=1
    fi
done
tail -n1 "$SRC/py.log" | grep -qE "^[0-9]+ passed" || status=1

# Headless Chromium (installed by the "browser" stage) against examples/fastapi_app.py run by
# the one-flag uvicorn command, permessage-deflate on.  From a copy of tests/ and examples/
# (no wscodec/ beside them), so the installed, compiled wscodec is the one imported.
log "headless Chromium -> FastAPI on uvicorn --ws wscodec.integrations.uvicorn:WSCodecProtocol"
mkdir -p "$SRC/own"
cp -r "$ROOT/tests" "$ROOT/examples" "$ROOT/pyproject.toml" "$SRC/own/"
(cd "$SRC/own" && CI=true WSCODEC_REQUIRE_PEERS=1 python -m pytest -q -p no:cacheprovider \
    tests/e2e/test_browser.py -k fastapi) || status=1

exit $status
