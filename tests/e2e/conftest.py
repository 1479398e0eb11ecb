"""End-to-end fixtures: the example echo server, started as a real process on 127.0.0.1.

The server runs under the same interpreter and environment as the tests, so
``WSCODEC_NO_EXTENSIONS=1`` puts it on the pure twin too.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ECHO_SERVER = os.path.join(ROOT, "examples", "echo_server.py")


@pytest.fixture(scope="session", autouse=True)
def _example_present():
    # The wheel, PyPy and multi-Python CI stages run a copy of tests/ against an installed
    # wheel, without the examples; the checkout's own test run (the README command) is where
    # the end-to-end tests run, and there the example is always present.
    if not os.path.exists(ECHO_SERVER):
        pytest.skip("examples/echo_server.py is not beside this copy of the tests")


def in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(what):
    if in_ci():
        pytest.fail(
            "CI=true but %s (.ci/browser.sh installs Chromium and its driver; the test extra "
            "brings selenium and websockets)" % what
        )
    pytest.skip(what)


@pytest.fixture
def missing():
    """``missing(what)`` for an absent end-to-end prerequisite: a failure in CI (so a broken
    CI setup cannot hide the test), a skip on a developer's machine."""
    return _missing


class ServerProcess:
    """A server command run on a free port of 127.0.0.1; its output goes to a file (a pipe
    nobody reads could fill up and stall the server).  Subclasses name the command, the line
    that announces the port, and the WebSocket path."""

    #: What the server prints once it listens; group 1 is the port.
    ready = None
    path = "/"
    what = "server"
    start_timeout = 20

    def command(self, *args):
        raise NotImplementedError

    def __init__(self, *args):
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.command(*args),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.host = "127.0.0.1"
        self.port = self._read_port(timeout=self.start_timeout)
        self.http_url = "http://127.0.0.1:%d/" % self.port
        self.ws_url = "ws://127.0.0.1:%d%s" % (self.port, self.path)

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def _read_port(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(self.ready, self.output())
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        output = self.stop()
        raise RuntimeError("%s did not start: %r" % (self.what, output.decode(errors="replace")))

    def stop(self):
        """Stop the server (SIGTERM, as a user's Ctrl-C would) and return what it printed."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        output = self.output()
        self.log.close()
        return output


class EchoServerProcess(ServerProcess):
    """``examples/echo_server.py --port 0`` with extra command-line arguments."""

    ready = rb"listening on ws://127\.0\.0\.1:(\d+)/"
    what = "echo server"

    def command(self, *args):
        return [sys.executable, ECHO_SERVER, "--host", "127.0.0.1", "--port", "0", *args]


@pytest.fixture
def start_echo_server():
    """``start_echo_server(*args)`` starts another server with extra command-line arguments."""
    return EchoServerProcess


@pytest.fixture(scope="module")
def echo_server():
    server = EchoServerProcess()
    try:
        yield server
    finally:
        output = server.stop()
        # The server prints one line when it starts and nothing else unless it crashed.
        assert b"Traceback" not in output, output.decode(errors="replace")


class UvicornFastAPIProcess(ServerProcess):
    """``uvicorn fastapi_app:app --app-dir examples --ws
    wscodec.integrations.uvicorn:WSCodecProtocol`` (examples/fastapi_app.py), the one-flag
    command of the example's docstring, on a free port."""

    ready = rb"Uvicorn running on http://127\.0\.0\.1:(\d+)"
    path = "/echo"
    what = "uvicorn"
    start_timeout = 30

    def command(self):
        return [
            sys.executable, "-m", "uvicorn", "fastapi_app:app",
            "--app-dir", os.path.join(ROOT, "examples"),
            "--ws", "wscodec.integrations.uvicorn:WSCodecProtocol",
            "--host", "127.0.0.1", "--port", "0",
        ]


@pytest.fixture(scope="module")
def fastapi_server():
    # uvicorn and FastAPI are not in the test extra: where they are absent the test skips,
    # except under WSCODEC_REQUIRE_PEERS=1 (CI's "uvicorn" stage installs them and sets it).
    for module in ("uvicorn", "fastapi"):
        try:
            __import__(module)
        except ImportError as exc:
            if os.environ.get("WSCODEC_REQUIRE_PEERS", "").strip() not in ("", "0"):
                pytest.fail("%s is required here (WSCODEC_REQUIRE_PEERS=1): %s" % (module, exc))
            pytest.skip("%s is not installed" % module)
    server = UvicornFastAPIProcess()
    try:
        yield server
    finally:
        output = server.stop()
        assert b"Traceback" not in output, output.decode(errors="replace")
