"""The end-to-end benchmark (``python -m wscodec bench e2e``): its echo checker catches a wrong
echo, and one tiny run against real servers completes with every echo checked.

No timing is asserted (speed is judged from the benchmark's own output); these check that a
server answering wrongly cannot be counted as fast, and that the command's outputs hold.
"""

import asyncio
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from wscodec._bench import _data
from wscodec._bench.e2e import _cases, _client

ROOT = Path(__file__).resolve().parent.parent
CASES = {c.id: c for c in _cases.all_cases()}


class FakeTransport:
    def __init__(self):
        self.sent = []
        self.aborted = False

    def write(self, data):
        self.sent.append(bytes(data))

    def writelines(self, chunks):
        self.sent.extend(bytes(c) for c in chunks)

    def abort(self):
        self.aborted = True

    def get_extra_info(self, name):
        return None


def _feed(case, chunks, *, websocket=True, window_bits=None):
    """Run an EchoClient on ``chunks`` as the server's bytes; -> (client, transport)."""
    async def go():
        # Made as a raw TCP client (no handshake is written), then told what it talks to.
        proto = _client.EchoClient(websocket=False, offer_deflate=False)
        transport = FakeTransport()
        proto.connection_made(transport)
        proto.websocket = websocket
        proto.head = None                          # the handshake is done
        proto.start(_client.Plan(case, websocket=websocket, client_window_bits=window_bits))
        for chunk in chunks:
            proto.data_received(chunk)
        return proto, transport
    return asyncio.run(go())


def _server_frame(opcode, payload, rsv1=False):
    frame = _data.build_frame(opcode, payload)
    return bytes([frame[0] | (0x40 if rsv1 else 0)]) + frame[1:]


@pytest.mark.parametrize("case_id", ["text-125B", "binary-64KiB", "binary-1MiB"])
def test_uncompressed_echoes_are_counted_in_any_split(case_id):
    case = CASES[case_id]
    stream = _server_frame(case.opcode, case.payload) * 3
    # Odd split points, and one chunk far longer than the checker's window.
    chunks = [stream[:1], stream[1:7], stream[7:1000], stream[1000:]]
    proto, transport = _feed(case, chunks)
    assert proto.error is None and not transport.aborted
    assert proto.count == 3
    # 16 in flight first, then one new message per echo.
    frames = b"".join(transport.sent)
    assert len(frames) == (case.inflight + 3) * len(proto.plan.frame)


@pytest.mark.parametrize("case_id", ["text-125B", "binary-64KiB", "binary-1MiB"])
@pytest.mark.parametrize("where", ["header", "first", "last"])
def test_a_wrong_byte_in_an_uncompressed_echo_fails_the_measurement(case_id, where):
    case = CASES[case_id]
    frame = _server_frame(case.opcode, case.payload)
    stream = bytearray(frame * 2)
    at = {"header": len(frame), "first": len(frame) + 12, "last": len(stream) - 1}[where]
    stream[at] ^= 0x20
    proto, transport = _feed(case, [bytes(stream[:5]), bytes(stream[5:])])
    assert isinstance(proto.error, _client.WrongEcho)
    assert transport.aborted
    assert proto.count <= 1             # the first echo was right; the second is not counted


def test_a_text_echo_sent_as_binary_fails():
    case = CASES["text-125B"]
    proto, _ = _feed(case, [_server_frame(_cases.BINARY, case.payload)])
    assert isinstance(proto.error, _client.WrongEcho)
    assert proto.count == 0


def _deflate(payload):
    c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    body = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    return body[:-4]


def test_compressed_echoes_are_inflated_and_checked():
    case = CASES["deflate-json-4KiB"]
    good = _server_frame(case.opcode, _deflate(case.payload), rsv1=True)
    plain = _server_frame(case.opcode, case.payload)      # a server may send one uncompressed
    stream = good + plain + good
    proto, transport = _feed(case, [stream[:3], stream[3:50], stream[50:]], window_bits=15)
    assert proto.error is None and not transport.aborted
    assert proto.count == 3
    # What the client sent is compressed (RSV1) and inflates to the payload.
    sent = b"".join(transport.sent)
    fin, opcode, masked, body = _data.parse_one_frame(proto.plan.frame)
    assert proto.plan.frame[0] & 0x40 and masked and opcode == case.opcode
    assert zlib.decompressobj(-15).decompress(body + b"\x00\x00\xff\xff") == case.payload
    assert sent == proto.plan.frame * (case.inflight + 3)


@pytest.mark.parametrize("wrong", ["payload", "opcode"])
def test_a_wrong_compressed_echo_fails_the_measurement(wrong):
    case = CASES["deflate-json-200B"]
    payload = case.payload[:-1] + b"!" if wrong == "payload" else case.payload
    opcode = _cases.BINARY if wrong == "opcode" else case.opcode
    bad = _server_frame(opcode, _deflate(payload), rsv1=True)
    proto, transport = _feed(case, [bad], window_bits=15)
    assert isinstance(proto.error, _client.WrongEcho)
    assert transport.aborted and proto.count == 0


def test_measure_against_a_corrupting_server_raises():
    """The whole client path, over a real socket: a server that flips one byte is caught."""
    case = CASES["text-125B"]

    class Corrupt(asyncio.Protocol):
        seen = 0

        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            Corrupt.seen += len(data)
            if Corrupt.seen > 50 * 131:          # after ~50 good echoes, one bad byte
                data = bytes([data[0] ^ 1]) + data[1:]
            self.transport.write(data)

    class Echo(Corrupt):
        def data_received(self, data):
            self.transport.write(data)

    async def go(protocol):
        server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await _client.measure(port, os.getpid(), case, websocket=False,
                                         warmup=0.05, duration=0.1)
        finally:
            server.close()

    result = asyncio.run(go(Echo))
    assert result["checked"] > 0 and result["messages"] > 0
    assert result["server_cpu_s"] is None or result["server_cpu_s"] >= 0
    with pytest.raises(_client.WrongEcho):
        asyncio.run(go(Corrupt))


def test_tiny_run_against_real_servers(tmp_path):
    """One round against the raw TCP ceiling and websockets, uncompressed and compressed."""
    out = tmp_path / "e2e.json"
    proc = subprocess.run(
        [sys.executable, "-m", "wscodec", "bench", "e2e", "--rounds", "1", "--duration", "0.2",
         "--warmup", "0.05", "--servers", "raw-tcp,websockets",
         "--cases", "text-125B,deflate-json-200B", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Throughput ratio, with/without wscodec" in proc.stdout
    report = json.loads(out.read_text())
    ws = report["results"]["websockets"]
    for case_id in ("text-125B", "deflate-json-200B"):
        cell = ws[case_id]
        assert cell["status"] == "ok", cell
        for variant in ("without", "with"):
            (m,) = cell["rounds"][variant]
            assert m["messages"] > 0 and m["checked"] >= m["messages"]
        assert cell["ratio"]["median"] > 0
    assert report["results"]["raw-tcp"]["text-125B"]["status"] == "ok"
    # The deflate case reaches raw TCP as frames echoed verbatim; it is still checked.
    assert report["results"]["raw-tcp"]["deflate-json-200B"]["status"] == "ok"
    info = report["servers"]["websockets"]["info"]
    assert info["without"]["installed"] == []
    import wscodec

    if wscodec.IMPLEMENTATION == "c":
        assert "websockets" in info["with"]["installed"]


def test_exchange_echoes_exactly_the_count_asked():
    """The profiles' client (``exchange``) sends exactly N messages, however many in flight."""
    case = CASES["text-125B"]
    frame_len = len(_client.Plan(case, websocket=False).frame)
    received = []

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            received.append(len(data))
            self.transport.write(data)

    async def go():
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        try:
            return await _client.exchange(server.sockets[0].getsockname()[1], case, 37,
                                          websocket=False)
        finally:
            server.close()

    assert asyncio.run(go()) == 37
    assert sum(received) == 37 * frame_len


ECHO_COMMAND = """
import asyncio, sys

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

async def main():
    await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", int(sys.argv[1]))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def test_a_server_with_its_own_command_line_runs():
    """The registry's ``command=`` form (gunicorn, daphne): the bench picks the port."""
    from wscodec._bench import e2e
    from wscodec._bench.e2e import _servers

    entry = _servers.Server(
        "test-command", None, requires=(), title="echo command", wscodec=False,
        deflate=True, websocket=False,
        command=lambda port, with_wscodec: [sys.executable, "-c", ECHO_COMMAND, str(port)])
    report = e2e.run([entry], [CASES["binary-64KiB"]], rounds=1, warmup=0.05, duration=0.2)
    cell = report["results"]["test-command"]["binary-64KiB"]
    assert cell["status"] == "ok", cell
    (m,) = cell["rounds"]["without"]
    assert m["messages"] > 0 and m["checked"] >= m["messages"]
