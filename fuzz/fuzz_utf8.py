"""Fuzz validate_utf8 and Utf8Validator: both twins against ``bytes.decode("utf-8")``.

The incremental validator is fed the same bytes split at fuzzer-chosen points; its answer with
``final=True`` must equal the one-shot answer, and a ``False`` before the end must be sticky
and never come while the bytes so far are still a valid prefix.

    python fuzz/fuzz_utf8.py fuzz/corpus/utf8 -max_total_time=60
"""

from _common import BUFFER_TYPES, Reader, run, same, split, twins

compiled, pure = twins("utf8")


def decodes(data):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def valid_prefix(data):
    """True when ``data`` can still be continued into valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data" and exc.end == len(data)
    return True


def incremental(module, chunks, buffer_type):
    validator = module.Utf8Validator()
    answers, seen = [], b""
    for chunk in chunks[:-1]:
        seen += chunk
        ok = validator.validate(buffer_type(chunk))
        if answers and not answers[-1] and ok:
            raise AssertionError("Utf8Validator: False was not sticky on %r" % seen)
        if not ok and valid_prefix(seen):
            raise AssertionError("Utf8Validator: False on a valid prefix %r" % seen)
        answers.append(ok)
    answers.append(validator.validate(buffer_type(chunks[-1]), final=True))
    # final=True resets the validator (DESIGN): it must take a fresh message at once.
    answers.append(validator.validate(b"\xce\xba", final=True))
    return answers


def test_one(raw):
    # Layout: buffer type, cuts, text.
    reader = Reader(raw)
    buffer_type = reader.pick(BUFFER_TYPES)
    cuts = reader.cuts(most=16)
    data = reader.rest()
    expected = decodes(data)
    chunks = split(data, cuts)
    for module in (pure, compiled):
        if module is None:
            continue
        label = module.__name__
        same(label + ".validate_utf8", module.validate_utf8(buffer_type(data)), expected, data)
        answers = incremental(module, chunks, buffer_type)
        same(label + ".Utf8Validator(final)", answers[-2], expected, data)
        same(label + ".Utf8Validator(after reset)", answers[-1], True, data)
    if compiled is not None:
        same("Utf8Validator", incremental(compiled, chunks, bytes), incremental(pure, chunks, bytes), data)


if __name__ == "__main__":
    run(test_one)
