"""Fuzz apply_mask / mask_inplace: both twins against a plain XOR (RFC 6455 §5.3).

Chunks cut at fuzzer-chosen points are masked in place with the running offset; the result
must equal masking the whole payload at once.  Wrong key lengths must raise ``ValueError``.

    python fuzz/fuzz_mask.py fuzz/corpus/mask -max_total_time=60
"""

from _common import BUFFER_TYPES, Reader, run, same, split, twins

compiled, pure = twins("mask")


def xor(data, key, offset=0):
    return bytes(b ^ key[(offset + i) & 3] for i, b in enumerate(data))


def test_one(raw):
    # Layout: key length index, key, buffer type, 5-byte starting offset, cuts, payload.
    reader = Reader(raw)
    key_len = reader.pick([4, 4, 4, 4, 0, 3, 5])
    key = bytes(reader.byte() for _ in range(key_len))
    buffer_type = reader.pick(BUFFER_TYPES)
    start = int.from_bytes(bytes(reader.byte() for _ in range(5)), "big")
    cuts = reader.cuts(most=12)
    data = reader.rest()
    for module in (pure, compiled):
        if module is None:
            continue
        label = module.__name__
        if len(key) != 4:
            for call in (lambda: module.apply_mask(buffer_type(data), key),
                         lambda: module.mask_inplace(bytearray(data), key)):
                try:
                    call()
                except ValueError:
                    pass
                else:
                    raise AssertionError("%s accepted a %d-byte key" % (label, len(key)))
            continue
        expected = xor(data, key)
        same(label + ".apply_mask", module.apply_mask(buffer_type(data), key), expected, data)
        # Chunks masked in place, each with the offset of its first byte in the payload.
        out, offset = bytearray(), start
        for chunk in split(data, cuts):
            buf = bytearray(chunk)
            module.mask_inplace(memoryview(buf) if buffer_type is memoryview else buf, key, offset)
            out += buf
            offset += len(chunk)
        same(label + ".mask_inplace", bytes(out), xor(data, key, start), data)


if __name__ == "__main__":
    run(test_one)
