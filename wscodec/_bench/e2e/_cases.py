"""The end-to-end cases: which message the client sends, how many at once, compressed or not.

Payloads come from ``.._data`` (plain Python, no wscodec), the same for every run.
"""

from .. import _data

TEXT, BINARY = 1, 2


class Case:
    """One kind of traffic: ``payload`` sent ``inflight`` at a time on one connection."""

    def __init__(self, id, title, opcode, payload, *, inflight=16, deflate=False, latency=False):
        self.id = id
        self.title = title
        self.opcode = opcode
        self.payload = payload
        self.inflight = inflight
        self.deflate = deflate          # the client offers permessage-deflate and compresses
        self.latency = latency          # report the round trip time, not only messages/s

    @property
    def size(self):
        return len(self.payload)

    def as_dict(self):
        return {"id": self.id, "title": self.title, "opcode": self.opcode, "size": self.size,
                "inflight": self.inflight, "deflate": self.deflate, "latency": self.latency}


def _json(size):
    return _data.json_texts(1, size)[0]


def all_cases():
    """Every case, in report order (built on call: the 1 MiB payload is not kept around)."""
    return [
        Case("text-125B", "125 B text", TEXT, _data.utf8_text("ascii", 125)),
        Case("text-4KiB-zh", "4 KiB Chinese text", TEXT, _data.utf8_text("chinese", 4096)),
        Case("binary-64KiB", "64 KiB binary", BINARY, _data.payload(64 * 1024)),
        Case("binary-1MiB", "1 MiB binary", BINARY, _data.payload(1024 * 1024)),
        Case("latency-125B", "ping-pong 125 B text, 1 in flight", TEXT,
             _data.utf8_text("ascii", 125), inflight=1, latency=True),
        Case("deflate-json-200B", "deflate, 200 B JSON", TEXT, _json(200), deflate=True),
        Case("deflate-json-4KiB", "deflate, 4 KiB JSON", TEXT, _json(4096), deflate=True),
        Case("deflate-json-64KiB", "deflate, 64 KiB JSON", TEXT, _json(64 * 1024), deflate=True),
        Case("deflate-random-64KiB", "deflate, 64 KiB random binary", BINARY,
             _data.payload(64 * 1024, seed=1), deflate=True),
    ]


#: The cases a plain run measures when none are named.
DEFAULT = ("text-125B", "text-4KiB-zh", "binary-64KiB", "binary-1MiB", "latency-125B",
           "deflate-json-200B", "deflate-json-4KiB", "deflate-json-64KiB", "deflate-random-64KiB")
