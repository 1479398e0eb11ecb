#!/usr/bin/env bash
# Stage "integrations": the drop-in speedups (wscodec.integrations).
#
# 1. A venv of its own with wscodec installed from the clone (compiled; a module that fails
#    to compile fails the stage) and the pinned peers: pip install ".[test,integrations]".
# 2. tests/integrations from a copy outside the source tree, with WSCODEC_REQUIRE_PEERS=1 (a
#    missing peer fails instead of skipping).
# 3. Each peer's own test suite, from its released sdist (downloaded once with
#    `pip download --no-deps --no-binary :all:` into $WSCODEC_CI_CACHE/sdists, outside the
#    clone), with wscodec installed before collection: pytest suites through
#    tests/integrations/wscodec_pytest_plugin.py (which also checks before every test that the
#    patched names are still wscodec's), tornado's unittest runner through
#    tests/integrations/run_with_wscodec.py.  Tests left out are deselected below by id, each
#    with its reason.  aiohttp has nothing replaced (wscodec/integrations/aiohttp.py), so its
#    suite is not run here.
#
#   WSCODEC_INTEGRATIONS_BASELINE=1    also run every peer suite without wscodec first
#   WSCODEC_INTEGRATIONS_REUSE_VENV=1  keep the venv of a previous run (local iterations)
set -euo pipefail
shopt -s inherit_errexit
STAGE_NAME=integrations
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

PY=${PYTHON:-python3}
SDISTS=$WSCODEC_CI_CACHE/sdists
# Outside the clone: pytest must find each sdist's own configuration (or none), never ours.
SRC=$(mktemp -d "${TMPDIR:-/tmp}/wscodec-integrations.XXXXXX")
trap 'rm -rf "$SRC"' EXIT
VENV=$CI_WORK/integrations-venv
TESTS=$CI_WORK/integrations-tests
PLUGIN_DIR=$TESTS/tests/integrations
BASELINE=${WSCODEC_INTEGRATIONS_BASELINE:-0}

# The versions in pyproject.toml's `integrations` extra.
PEERS=(wsproto==1.3.2 websocket-client==1.9.2 tornado==6.6.1 autobahn==26.10.2)

if [ "${WSCODEC_INTEGRATIONS_REUSE_VENV:-0}" = 1 ] && [ -x "$VENV/bin/python" ]; then
    log "reusing $VENV (WSCODEC_INTEGRATIONS_REUSE_VENV=1)"
    # shellcheck disable=SC1091
    . "$VENV/bin/activate"
else
    log "venv with wscodec (compiled) and the pinned peers"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    # shellcheck disable=SC1091
    . "$VENV/bin/activate"
    python -m pip install -q --upgrade pip
    WSCODEC_REQUIRE_EXTENSIONS=1 python -m pip install -q ".[test,integrations]"
fi
copy_tests "$TESTS"
assert_twin python c

log "sdists"
mkdir -p "$SDISTS"
for peer in "${PEERS[@]}"; do
    name=${peer%%==*}
    version=${peer##*==}
    archive=$(ls "$SDISTS"/"${name//-/_}"-"$version".tar.gz "$SDISTS"/"$name"-"$version".tar.gz 2>/dev/null | head -n1 || true)
    if [ -z "$archive" ]; then
        python -m pip download -q --no-deps --no-binary :all: -d "$SDISTS" "$peer"
        archive=$(ls "$SDISTS"/"${name//-/_}"-"$version".tar.gz "$SDISTS"/"$name"-"$version".tar.gz 2>/dev/null | head -n1)
    fi
    tar -xzf "$archive" -C "$SRC"
done

failures=()
# suite NAME DIR [pytest args...]: the library's pytest suite, with wscodec, in DIR.
suite() {
    local name=$1 dir=$2
    shift 2
    if [ "$BASELINE" = 1 ]; then
        log "$name: own suite WITHOUT wscodec (baseline)"
        (cd "$dir" && PYTHONPATH="$PLUGIN_DIR${EXTRA_PATH:+:$EXTRA_PATH}" \
            python -m pytest -p no:cacheprovider --rootdir="$dir" -p wscodec_pytest_plugin \
            --wscodec-install=none "$@") || true
    fi
    log "$name: own suite with wscodec installed"
    if ! (cd "$dir" && PYTHONPATH="$PLUGIN_DIR${EXTRA_PATH:+:$EXTRA_PATH}" \
            python -m pytest -p no:cacheprovider --rootdir="$dir" -p wscodec_pytest_plugin \
            --wscodec-install="$name" "$@"); then
        failures+=("$name")
    fi
}

log "tests/integrations (peers required)"
if ! (cd "$TESTS" && WSCODEC_REQUIRE_PEERS=1 python -m pytest -q -p no:cacheprovider tests/integrations); then
    failures+=("tests/integrations")
fi

# wsproto: tests/ beside the package; the installed wsproto 1.3.2 is the one under test.
EXTRA_PATH="" suite wsproto "$SRC/wsproto-1.3.2" -q tests

# websocket-client: tests live inside the package, so the sdist's package is the one imported.
# Deselected: two tests that re-import websocket._abnf / websocket._utils with wsaccel hidden
# to test the library's own import-time fallback; re-importing re-binds the very names
# wscodec patched (the plugin would report them lost), so they cannot run with any patch.
EXTRA_PATH="$SRC/websocket_client-1.9.2" suite websocket_client "$SRC/websocket_client-1.9.2" \
    -q websocket/tests \
    --deselect websocket/tests/test_abnf.py::AbnfPureUnitTests::test_mask_without_wsaccel \
    --deselect websocket/tests/test_utils.py::UtilsTest::test_utf8_validation_fallback

# autobahn: the WebSocket protocol, frame, compression and size-limit tests (and the NVX
# validator tests), under asyncio as autobahn's own asyncio run does (USE_ASYNCIO=1); the
# Twisted and WAMP parts do not touch what wscodec replaces.  (Its pytest.ini adds -q.)
USE_ASYNCIO=1 EXTRA_PATH="$SRC/autobahn-26.10.2/src" suite autobahn "$SRC/autobahn-26.10.2" \
    src/autobahn/websocket/test src/autobahn/nvx/test

# tornado: its own unittest runner (it counts logged warnings, which pytest would not), on
# the WebSocket tests and the util tests (which test _websocket_mask).
TORNADO=$SRC/tornado-6.6.1
if [ "$BASELINE" = 1 ]; then
    log "tornado: own suite WITHOUT wscodec (baseline)"
    (cd "$TORNADO" && PYTHONPATH="$TORNADO" python "$PLUGIN_DIR/run_with_wscodec.py" none \
        tornado.test.runtests tornado.test.websocket_test tornado.test.util_test) || true
fi
log "tornado: own suite with wscodec installed"
if ! (cd "$TORNADO" && PYTHONPATH="$TORNADO" python "$PLUGIN_DIR/run_with_wscodec.py" tornado \
        tornado.test.runtests tornado.test.websocket_test tornado.test.util_test); then
    failures+=("tornado")
fi

if [ ${#failures[@]} -ne 0 ]; then
    die "failed: ${failures[*]}"
fi
log "all integration suites passed"
