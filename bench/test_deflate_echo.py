"""permessage-deflate echo (RFC 7692): a server decodes 200 compressed 4 KiB (or 20 x 64 KiB) JSON
text messages and echoes each back compressed, context takeover, 12-bit windows; wscodec's
MessageDecoder + MessageEncoder at each compression preset against websockets' sans-IO
ServerProtocol with its server defaults.  One timed call is one connection.  The contender
names carry the bytes each sends (``python -m wscodec bench --filter deflate-echo`` too)."""

CASE_PREFIX = "deflate-echo/"


def test_deflate_echo(run_benchmark, case, contender, api):
    run_benchmark(case, contender, api)
