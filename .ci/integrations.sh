#!/usr/bin/env bash
# Stage "integrations": the drop-in speedups (wscodec.integrations).
#
# 1. A venv of its own with wscodec's wheel from the wheel stage (compiled) and the pinned
#    peers: pip install "<wheel>[test,integrations]".
# 2. tests/integrations from a copy outside the source tree, with WSCODEC_REQUIRE_PEERS=1 (a
#    missing peer fails instead of skipping); then its websockets tests again on websockets
#    13.1, the oldest version the test extra allows.
# 3. Each peer's own test suite, from its released sdist (downloaded once with
#    `pip download --no-deps --no-binary :all:` into $WSCODEC_CI_CACHE/sdists, outside the
#    clone), with wscodec installed before collection: pytest suites through
#    tests/integrations/wscodec_pytest_plugin.py (which also checks before every test that the
#    patched names are still wscodec's), tornado's unittest runner through
#    tests/integrations/run_with_wscodec.py.  Tests left out are deselected below by id, each
#    with its reason.
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

# The versions in pyproject.toml's `integrations` extra (websockets: its pin, and the oldest
# release series wscodec.integrations.TESTED lists for it).
WEBSOCKETS_PINNED=17.4
WEBSOCKETS_OLDEST=13.1
PEERS=(wsproto==1.3.2 websocket-client==1.9.2 tornado==6.6.1 autobahn==26.10.2 aiohttp==3.14.5
       gunicorn==27.0.1 hypercorn==0.18.0 daphne==4.2.3)
# What aiohttp's WebSocket tests need beyond pytest (the versions of its requirements/test.txt):
# pytest-mock and freezegun are imported by its tests, pytest-timeout reads its `timeout`
# option and coverage is named by one of its warning filters; isal and zlib-ng are its
# alternative zlib backends, whose tests (compressed messages through the reader) are skipped
# without them.
AIOHTTP_TEST_DEPS=(pytest-mock==3.15.1 freezegun==1.5.5 pytest-timeout==2.4.0 coverage==7.14.1
                   isal==1.8.0 zlib-ng==1.0.0)
# What the servers' WebSocket tests need (gunicorn, hypercorn, daphne), installed after the
# libraries' suites ran (pytest-asyncio is a plugin every later pytest run loads): their
# asyncio tests run under pytest-asyncio, hypercorn's also under trio (pytest-trio) with
# httpx, hypothesis and mock.  h2 4.3.0: hypercorn's HTTP/2 WebSocket tests drive an
# extended CONNECT through h2's client, which h2 4.4 refuses ("Ordinary CONNECT MUST NOT
# include :scheme or :path"), without wscodec as with it; 4.3.0 is the oldest hypercorn
# 0.18.0 allows.
SERVER_TEST_DEPS=(pytest-asyncio==1.5.0 pytest-trio==0.8.0 trio==0.35.0 httpx==0.29.0
                  mock==5.2.0 h2==4.3.0)

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
    # The wheel, not the checkout: other stages run at the same time (.ci/run).
    python -m pip install -q "$(wheel_path)[test,integrations]"
    python -m pip install -q "${AIOHTTP_TEST_DEPS[@]}"
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
# [LABEL=...] suite NAME DIR [pytest args...]: a pytest suite in DIR with install(NAME)
# (LABEL names it in the log when it is not NAME's own, such as a server built on NAME).
suite() {
    local name=$1 dir=$2 label=${LABEL:-$1}
    shift 2
    if [ "$BASELINE" = 1 ]; then
        log "$label: own suite WITHOUT wscodec (baseline)"
        (cd "$dir" && PYTHONPATH="$PLUGIN_DIR${EXTRA_PATH:+:$EXTRA_PATH}" \
            python -m pytest -p no:cacheprovider --rootdir="$dir" -p wscodec_pytest_plugin \
            --wscodec-install=none "$@") || true
    fi
    log "$label: own suite with wscodec installed"
    if ! (cd "$dir" && PYTHONPATH="$PLUGIN_DIR${EXTRA_PATH:+:$EXTRA_PATH}" \
            python -m pytest -p no:cacheprovider --rootdir="$dir" -p wscodec_pytest_plugin \
            --wscodec-install="$name" "$@"); then
        failures+=("$label")
    fi
}

log "tests/integrations (peers required)"
if ! (cd "$TESTS" && WSCODEC_REQUIRE_PEERS=1 python -m pytest -q -p no:cacheprovider tests/integrations); then
    failures+=("tests/integrations")
fi

# websockets 13: the oldest the test extra allows (websockets>=13), and one whose API differs
# from the pinned version's (PayloadTooBig's arguments changed in 14.0).  websockets ships no
# tests in its sdist, so wscodec's own websockets tests run on it (a few seconds), then the
# pinned version is put back.
log "tests/integrations on websockets $WEBSOCKETS_OLDEST"
python -m pip install -q "websockets==$WEBSOCKETS_OLDEST"
if ! (cd "$TESTS" && WSCODEC_REQUIRE_PEERS=1 python -m pytest -q -p no:cacheprovider \
        tests/integrations/test_websockets_e2e.py \
        tests/integrations/test_integrations_install.py \
        tests/integrations/test_integrations_failsafe.py -k websockets); then
    failures+=("tests/integrations (websockets $WEBSOCKETS_OLDEST)")
fi
python -m pip install -q "websockets==$WEBSOCKETS_PINNED"

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

# aiohttp: the WebSocket tests (reader, queue, handshake, writer, server and client, unit and
# functional).  They run from a copy of the sdist's tests/ and pytest.ini alone, so that the
# installed (compiled) aiohttp 3.14.5 is the one imported, not the sdist's uncompiled source.
# Its addopts need pytest-xdist and pytest-cov: they are replaced by the two options of them
# that select tests (strict markers, and its default marker filter).  The parser and queue
# unit tests import aiohttp._websocket.reader directly and so test aiohttp's own classes
# (wscodec leaves that module alone); the server and client tests run on wscodec's, including
# the ones that inspect the queue's stall slot (_stalled_reader).  One test re-binds
# aiohttp.web_ws/aiohttp.client.WebSocketDataQueue to a subclass of aiohttp's queue while
# wscodec's reader stays bound: wscodec's reader hands such a queue to aiohttp's reader.
# Nothing is deselected.
AIOHTTP_TESTS=$SRC/aiohttp-tests
mkdir -p "$AIOHTTP_TESTS"
cp -R "$SRC/aiohttp-3.14.5/tests" "$SRC/aiohttp-3.14.5/pytest.ini" "$AIOHTTP_TESTS/"
EXTRA_PATH="" suite aiohttp "$AIOHTTP_TESTS" -q -o addopts="" --strict-markers \
    -m "not dev_mode and not autobahn and not internal" \
    tests/test_websocket_parser.py tests/test_websocket_data_queue.py \
    tests/test_websocket_handshake.py tests/test_websocket_writer.py \
    tests/test_web_websocket.py tests/test_web_websocket_functional.py \
    tests/test_client_ws.py tests/test_client_ws_functional.py

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

# The servers (ASGI): their WebSocket test suites with wscodec installed.
log "server test dependencies"
python -m pip install -q "${SERVER_TEST_DEPS[@]}"

# gunicorn: the ASGI worker's WebSocket tests (protocol, frames, handshake, close codes,
# back-pressure) and the ASGI protocol, scope and worker tests that create WebSocket
# connections, with install("gunicorn").  Its addopts need pytest-cov and only add coverage:
# they are dropped.  Eight handshake tests skip without gunicorn's optional gunicorn_h1c
# parser (an HTTP parser, not WebSocket code), with wscodec as without.  Nothing is
# deselected.
GUNICORN=$SRC/gunicorn-27.0.1
EXTRA_PATH="" suite gunicorn "$GUNICORN" -q -o addopts="" \
    tests/test_asgi_websocket_enhanced.py tests/test_asgi_websocket_handshake.py \
    tests/test_asgi_websocket_protocol.py tests/test_asgi_protocol_compat.py \
    tests/test_asgi_http_scope.py tests/test_asgi_request_build.py \
    tests/test_asgi_response_headers.py tests/test_asgi_worker.py

# hypercorn: it runs wsproto's Connection, whose FrameProtocol install("wsproto") replaces;
# its whole suite (WebSocket stream, HTTP/1 and HTTP/2 WebSocket sanity tests under asyncio
# and trio, the rest of the server), from a copy of tests/ and pyproject.toml so that the
# installed hypercorn is the one imported.  Its addopts need pytest-cov for one option:
# replaced by the one that selects tests (strict markers).  Nothing is deselected.
HYPERCORN_TESTS=$SRC/hypercorn-tests
mkdir -p "$HYPERCORN_TESTS"
cp -R "$SRC/hypercorn-0.18.0/tests" "$SRC/hypercorn-0.18.0/pyproject.toml" "$HYPERCORN_TESTS/"
LABEL=hypercorn EXTRA_PATH="" suite wsproto "$HYPERCORN_TESTS" -q -o addopts="" --strict-markers tests

# daphne: it runs autobahn's WebSocket protocol under Twisted, whose maskers and UTF-8
# validator install("autobahn") replaces; its WebSocket tests (a daphne server process per
# test, real frames over TCP), from a copy of tests/ so that the installed daphne is the one
# imported.  tests/integrations/daphne_startup.py gives its test servers 30 s instead of 2 s
# to start (a loaded machine can take longer to import Twisted).  Deselected: the two
# hypothesis tests of the handshake's HTTP bits (path, query string, headers into the
# scope), whose 2-second deadline per example covers starting a server process and fails
# on a loaded machine without wscodec as with it; they test no frame.
DAPHNE_TESTS=$SRC/daphne-tests
mkdir -p "$DAPHNE_TESTS"
cp -R "$SRC/daphne-4.2.3/tests" "$DAPHNE_TESTS/"
LABEL=daphne EXTRA_PATH="$DAPHNE_TESTS/tests" suite autobahn "$DAPHNE_TESTS" -q \
    -p daphne_startup tests/test_websocket.py \
    --deselect tests/test_websocket.py::TestWebsocket::test_http_bits \
    --deselect tests/test_websocket.py::TestWebsocket::test_root_path

if [ ${#failures[@]} -ne 0 ]; then
    die "failed: ${failures[*]}"
fi
log "all integration suites passed"
