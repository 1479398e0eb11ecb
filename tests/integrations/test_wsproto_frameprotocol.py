"""wscodec's compiled FrameProtocol against wsproto's own, differentially.

The same byte streams (valid and hostile, split anywhere) go into both; the frames they
return and the errors they raise (type, message, close code) must be identical.  Outbound
frames must be byte-identical for a server and decode identically for a client.
"""

import os

import pytest
from _peers import require
from _raw_frames import raw_frame, split
from hypothesis import given, settings
from hypothesis import strategies as st

wsproto = require("wsproto", module_level=True)

from wsproto import frame_protocol as fp  # noqa: E402
from wsproto.extensions import PerMessageDeflate  # noqa: E402

from wscodec import _select  # noqa: E402

pytestmark = pytest.mark.skipif(_select.NO_EXTENSIONS, reason="compiled twins are off")


@pytest.fixture(scope="module")
def Fast():
    from wscodec.integrations._wsproto_c import FrameProtocol

    return FrameProtocol


def run(proto, chunks):
    """Feed chunks one by one; collect frames, or the error that ended the stream."""
    out = []
    for chunk in chunks:
        proto.receive_bytes(chunk)
        try:
            for frame in proto.received_frames():
                out.append(("frame", type(frame), tuple(frame)))
        except fp.ParseFailed as exc:
            out.append(("error", str(exc), exc.code))
            # The stream is over: later bytes produce nothing.
            proto.receive_bytes(b"\x81\x00")
            out.append(("after", [tuple(f) for f in proto.received_frames()]))
            break
    return out


text_payloads = st.one_of(
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
)

frame_specs = st.tuples(
    st.sampled_from(list(range(16))),           # every opcode, reserved ones too
    st.one_of(text_payloads, st.binary(min_size=120, max_size=300)),
    st.booleans(),                               # fin
    st.sampled_from([0, 0, 0, 0, 1, 2, 4]),      # rsv bits
    st.sampled_from([None, None, None, 1, 2]),   # non-minimal length forms now and then
    st.booleans(),                               # masked correctly for the role
)


@settings(max_examples=300, deadline=None)
@given(
    client=st.booleans(),
    specs=st.lists(frame_specs, max_size=6),
    close=st.one_of(st.none(), st.binary(max_size=20)),
    cuts=st.lists(st.integers(0, 2000), max_size=5),
)
def test_receive_matches_wsproto(Fast, client, specs, close, cuts):
    stream = b""
    for opcode, payload, fin, rsv, form, right_mask in specs:
        masked = (not client) == right_mask
        stream += raw_frame(
            opcode, payload, fin=fin, rsv=rsv, mask=os.urandom(4) if masked else None,
            length_form=form,
        )
    if close is not None:
        stream += raw_frame(8, close, mask=None if client else os.urandom(4))
    chunks = split(stream, cuts)
    assert run(Fast(client, []), chunks) == run(fp.FrameProtocol(client, []), chunks)


@settings(max_examples=100, deadline=None)
@given(
    client=st.booleans(),
    messages=st.lists(
        st.tuples(st.one_of(st.text(max_size=300), st.binary(max_size=300)), st.booleans()),
        min_size=1,
        max_size=5,
    ),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
    no_context=st.booleans(),
)
def test_receive_compressed_matches_wsproto(Fast, client, messages, cuts, no_context):
    # Frames written by a wsproto peer with permessage-deflate (RFC 7692), read back by a
    # fresh extension object on each side.
    def deflate():
        ext = PerMessageDeflate(
            client_no_context_takeover=no_context, server_no_context_takeover=no_context
        )
        ext._enabled = True
        return ext

    sender = fp.FrameProtocol(not client, [deflate()])
    stream = b""
    for data, split_it in messages:
        if split_it and len(data) > 1:
            half = len(data) // 2
            stream += sender.send_data(data[:half], fin=False)
            stream += sender.send_data(data[half:], fin=True)
        else:
            stream += sender.send_data(data)
    stream += sender.ping(b"p") + sender.close(1000, "done")
    chunks = split(bytes(stream), cuts)
    ours = run(Fast(client, [deflate()]), chunks)
    theirs = run(fp.FrameProtocol(client, [deflate()]), chunks)
    assert ours == theirs
    assert ours[-1][0] == "frame" and ours[-1][2][1] == (fp.CloseReason.NORMAL_CLOSURE, "done")


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x03", b"\x03\xe8", b"\x03\xe8ok", b"\x03\xe8\xff", b"\x03\xed", b"\x00\x10",
     b"\x13\x88", b"\x0b\xb8x", b"\x03\xf3", b"\x03\xee", b"\x0f\xa0\xe4\xb8"],
)
def test_close_payloads(Fast, payload):
    stream = raw_frame(8, payload, mask=b"abcd")
    assert run(Fast(False, []), [stream]) == run(fp.FrameProtocol(False, []), [stream])


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("data"), st.one_of(st.text(max_size=200), st.binary(max_size=70000)),
                      st.booleans()),
            st.tuples(st.just("ping"), st.binary(max_size=125), st.just(True)),
            st.tuples(st.just("pong"), st.binary(max_size=125), st.just(True)),
            st.tuples(st.just("close"), st.sampled_from([None, 1000, 1001, 1005, 3000, 4999]),
                      st.one_of(st.none(), st.text(max_size=150))),
        ),
        max_size=5,
    )
)
def test_send_matches_wsproto(Fast, ops):
    ours_server, theirs_server = Fast(False, []), fp.FrameProtocol(False, [])
    ours_client = Fast(True, [])
    reader = fp.FrameDecoder(client=False)
    for op in ops:
        results = []
        for proto in (ours_server, theirs_server, ours_client):
            try:
                if op[0] == "data":
                    results.append(proto.send_data(op[1], op[2]))
                elif op[0] == "close":
                    results.append(proto.close(op[1], op[2]))
                else:
                    results.append(getattr(proto, op[0])(op[1]))
            except (TypeError, ValueError) as exc:
                results.append((type(exc), str(exc)))
        assert results[0] == results[1]
        if isinstance(results[0], bytearray):
            assert type(results[0]) is type(results[1]) is type(results[2]) is bytearray
            # A client's frame is masked with a fresh key; unmasked it is the server's frame.
            assert results[2][1] & 0x80
            reader.receive_bytes(bytes(results[2]))
            plain = fp.FrameDecoder(client=True)
            plain.receive_bytes(bytes(results[0]))
            assert reader.process_buffer() == plain.process_buffer()
        elif op[0] != "close":
            assert results[2] == results[0]
