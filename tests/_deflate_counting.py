"""A deflate backend that counts the work handed to it, for the resource bounds of SECURITY.md
("Compressed messages"): the tests (tests/test_resources_deflate.py) and the fuzz harnesses'
resource oracle (fuzz/_common.py) both install it with ``wscodec._deflate.set_backend``.

Kept apart from conftest.py so both can import it by a name no other file shares.
"""

import zlib

#: The documented allowances (SECURITY.md): input handed over again per byte of output, the
#: memory on top of the payload and the message, and a frame object per frame.
REFEED_PER_OUTPUT = 1 / 16
MEMORY_SLACK = 1 << 20
MEMORY_PER_FRAME = 256
#: No test or fuzz input needs more calls per run: 64 MiB of output in 1 MiB pieces is 64.
MAX_CALLS = 100_000


class _CountingInflater:
    """A zlib decompressor that counts the bytes handed to it and the bytes it returns, and
    fails (rather than spin) past ``MAX_CALLS`` calls since the counts were last reset."""

    __slots__ = ("_counts", "_z")

    def __init__(self, counts, wbits):
        self._counts = counts
        self._z = counts.module.decompressobj(wbits)

    def decompress(self, data, max_length=0):
        counts = self._counts
        counts.calls += 1
        if counts.calls > MAX_CALLS:
            raise AssertionError("more than %d calls to the inflater: a loop that does not end" % MAX_CALLS)
        counts.fed += memoryview(data).nbytes
        out = self._z.decompress(data, max_length)
        counts.produced += len(out)
        return out

    def flush(self, *args):
        return self._z.flush(*args)

    @property
    def eof(self):
        return self._z.eof

    @property
    def unused_data(self):
        return self._z.unused_data

    @property
    def unconsumed_tail(self):
        return self._z.unconsumed_tail


class CountingZlib:
    """A deflate backend: ``module`` (stdlib zlib, or another backend with its API), with every
    decompressor counting into this object."""

    def __init__(self, module=zlib):
        self.module = module
        self.error = module.error
        self.calls = self.fed = self.produced = 0

    def reset(self):
        self.calls = self.fed = self.produced = 0

    def compressobj(self, *args):
        return self.module.compressobj(*args)

    def decompressobj(self, wbits):
        return _CountingInflater(self, wbits)
