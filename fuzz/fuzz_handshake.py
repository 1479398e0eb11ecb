"""Fuzz the handshake parsers: validate_request, validate_response, PerMessageDeflate.from_header.

The handshake is pure Python (one implementation), so there is no twin to compare with; the
harness accepts only the documented exceptions (``HandshakeError`` from the validators,
``ValueError`` from ``from_header``) and checks that whatever is accepted round-trips:
an accepted extension offer renders with ``to_header()`` and parses back equal.

The input is an HTTP header block (``Name: value`` lines), as a server would have parsed it.

    python fuzz/fuzz_handshake.py fuzz/corpus/handshake -max_total_time=60
"""

from _common import Reader, run

from wscodec import HandshakeError, PerMessageDeflate, handshake

KEY = "dGhlIHNhbXBsZSBub25jZQ=="   # RFC 6455 §1.3


def headers_of(text):
    pairs = []
    for line in text.split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            pairs.append((name.strip(), value.strip(" \t\r")))
    return pairs


def test_one(raw):
    # Layout: which parser, then the text as UTF-8 (invalid bytes kept as lone surrogates,
    # which a header value from a careless server could also carry).
    reader = Reader(raw)
    which = reader.byte() % 3
    text = reader.rest().decode("utf-8", "surrogateescape")
    if which == 0:
        try:
            request = handshake.validate_request(headers_of(text))
        except HandshakeError as exc:
            if exc.status not in (400, 426):
                raise AssertionError("validate_request failed with status %r" % exc.status)
            return
        for offer in request.extensions:
            assert PerMessageDeflate.from_header(offer.to_header()) == offer, offer
        # A valid request must be answerable.
        response = handshake.build_response(request.key, extensions=None)
        assert response.startswith(b"HTTP/1.1 101 "), response
    elif which == 1:
        offers = [PerMessageDeflate(), PerMessageDeflate(client_max_window_bits=None)]
        try:
            handshake.validate_response(101, headers_of(text), KEY, subprotocols=("chat", "superchat"),
                                        extensions=offers)
        except HandshakeError as exc:
            if exc.status != 101:
                raise AssertionError("validate_response failed with status %r" % exc.status)
    else:
        try:
            agreement = PerMessageDeflate.from_header(text)
        except ValueError:
            return
        assert PerMessageDeflate.from_header(agreement.to_header()) == agreement, agreement


if __name__ == "__main__":
    run(test_one)
