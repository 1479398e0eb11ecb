"""UTF-8 oracles independent of the code under test, for test_utf8.py, test_simd.py and
test_threads.py: ``bytes.decode("utf-8")`` for whole texts, and for the incremental
validator's fail-fast answers the set of proper prefixes of every valid encoding, taken
from ``str.encode`` over all code points.
"""

import functools


def decodes(data):
    """Whether ``data`` is valid UTF-8, by ``bytes.decode``."""
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def proper_prefixes():
    """Every proper prefix (1..3 bytes) of the UTF-8 encoding of a scalar value.

    A proper prefix of a character's encoding depends only on the code point without its
    last six bits, so one code point per block of 64 covers them all (surrogates,
    U+D800..U+DFFF, are whole blocks and are skipped: they have no encoding).
    """
    out = set()
    for cp in range(0x80, 0x110000, 64):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        enc = chr(cp).encode("utf-8")
        for k in range(1, len(enc)):
            out.add(enc[:k])
    return frozenset(out)


def viable(data):
    """True if some continuation makes ``data`` valid UTF-8 (``data`` can begin a text).

    ``data`` is viable exactly when it is complete characters followed by a proper prefix
    of one more character (0 to 3 bytes).
    """
    data = bytes(data)
    prefixes = proper_prefixes()
    for k in range(0, min(3, len(data)) + 1):
        head, tail = data[: len(data) - k], data[len(data) - k :]
        if (k == 0 or tail in prefixes) and decodes(head):
            return True
    return False
