"""The C-level API (docs/capi.md): a small Cython module, compiled here at test time against
the installed (or in-tree) package's ``.pxd`` files, cimports the masking, UTF-8 and
frame-header kernels, calls them with no Python call in between, and its results are checked
against the Python API.

It needs Cython, setuptools and a C compiler (the ``test`` extra brings the first two).
Where no C compiler exists the test is skipped; under ``CI=true`` nothing is skipped: a
missing tool or a failed build fails.  With the pure twins (``WSCODEC_NO_EXTENSIONS=1``,
PyPy) there is no C API to compile against, so the test does not apply.
"""

import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wscodec
from wscodec import _select

CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
COMPILED = not _select.NO_EXTENSIONS and all(
    _select.IMPLEMENTATIONS.get(c) == "c" for c in ("mask", "utf8", "frames"))

pytestmark = pytest.mark.skipif(
    not COMPILED, reason="the C API exists only where the compiled twins are loaded")

PROBE = textwrap.dedent('''
    # A client of wscodec's C API, as another Cython project would write it.
    from libc.stdint cimport uint64_t
    from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE

    from wscodec._mask_c cimport mask_copy, mask_simd
    from wscodec._utf8_c cimport (
        UTF8_ACCEPT, UTF8_INCOMPLETE, UTF8_REJECT, Utf8State, utf8_check, utf8_feed,
        utf8_finish, utf8_init, utf8_status,
    )
    from wscodec._frames_c cimport (
        HEADER_ALLOW_RSV1, HEADER_CLIENT, frame_header, header_size, parse_header, write_header,
    )

    RESULTS = (UTF8_ACCEPT, UTF8_REJECT, UTF8_INCOMPLETE)

    def mask(bytes data, bytes key, Py_ssize_t offset, bint through_simd):
        cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
        cdef unsigned char *dst = <unsigned char *>PyBytes_AS_STRING(out)
        cdef const unsigned char *src = <const unsigned char *>PyBytes_AS_STRING(data)
        cdef const unsigned char *k = <const unsigned char *>PyBytes_AS_STRING(key)
        with nogil:
            if through_simd:
                mask_simd(dst, src, n, k, offset)
            else:
                mask_copy(dst, src, n, k, offset)
        return out

    def mask_in_place(bytearray buf, bytes key, Py_ssize_t offset):
        cdef unsigned char *p = <unsigned char *>(<char *>buf)
        mask_copy(p, p, len(buf), <const unsigned char *>PyBytes_AS_STRING(key), offset)

    def utf8_whole(bytes data):
        return utf8_check(<const unsigned char *>PyBytes_AS_STRING(data),
                          PyBytes_GET_SIZE(data))

    def utf8_chunks(list chunks):
        """The status after each chunk, then the verdict."""
        cdef Utf8State st
        cdef bytes c
        utf8_init(&st)
        out = []
        for c in chunks:
            out.append(utf8_feed(&st, <const unsigned char *>PyBytes_AS_STRING(c),
                                 PyBytes_GET_SIZE(c)))
            assert utf8_status(&st) == out[-1]
        return out, utf8_finish(&st)

    def parse(bytes data, bint client, bint allow_rsv1, uint64_t max_size):
        cdef frame_header h
        cdef int flags = (HEADER_CLIENT if client else 0) | (HEADER_ALLOW_RSV1 if allow_rsv1 else 0)
        cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(data)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
        cdef Py_ssize_t r
        with nogil:
            r = parse_header(p, n, &h, flags, max_size)
        if r <= 0:
            return r, None
        return r, (h.opcode, h.fin, h.rsv1, h.masked,
                   PyBytes_FromStringAndSize(<char *>h.key, 4) if h.masked else None, h.length)

    def header(unsigned char first_byte, uint64_t n, key):
        cdef unsigned char buf[14]
        cdef Py_ssize_t size = write_header(
            buf, first_byte, n,
            NULL if key is None else <const unsigned char *>PyBytes_AS_STRING(key))
        assert size == header_size(n, key is not None)
        return PyBytes_FromStringAndSize(<char *>buf, size)
''')

SETUP = textwrap.dedent('''
    import sys
    from Cython.Build import cythonize
    from setuptools import Extension, setup

    setup(
        name="wscodec_capi_probe",
        ext_modules=cythonize(
            [Extension("wscodec_capi_probe", ["wscodec_capi_probe.pyx"])],
            include_path=[sys.argv.pop(1)],
            # No shared mutable state: safe without the GIL (free-threaded builds would
            # otherwise turn the GIL back on at import, with a warning).
            compiler_directives={"language_level": 3, "freethreading_compatible": True},
        ),
        script_args=["build_ext", "--inplace"],
    )
''')


def _no_compiler():
    """True when no C compiler can be found (the one case the test may be skipped)."""
    if sys.platform == "win32":
        try:
            from setuptools import msvc  # noqa: F401
            from setuptools._distutils import _msvccompiler
        except ImportError:
            return False  # let the build tell
        finder = getattr(_msvccompiler, "_find_vcvarsall", None)
        try:
            return finder is not None and finder("x64")[0] is None
        except Exception:
            return False
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    return not cc or shutil.which(cc[0]) is None


def _unavailable(why):
    if CI:
        pytest.fail("CI=true: the C API test must run, but %s" % why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    for module in ("Cython", "setuptools"):
        try:
            importlib.import_module(module)
        except ImportError:
            _unavailable("%s is not installed (pip install 'wscodec[test]')" % module)
    if _no_compiler():
        _unavailable("no C compiler found")
    # The directory holding the wscodec package: its .pxd files are what a user cimports.
    include = str(pathlib.Path(wscodec.__path__[0]).resolve().parent)
    assert (pathlib.Path(include) / "wscodec" / "_mask_c.pxd").is_file(), include
    work = tmp_path_factory.mktemp("capi")
    (work / "wscodec_capi_probe.pyx").write_text(PROBE)
    (work / "setup_probe.py").write_text(SETUP)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the build must see the package through include_path alone
    done = subprocess.run([sys.executable, "setup_probe.py", include], cwd=work, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail("building a module against the C API failed:\n%s\n%s"
                    % (done.stdout[-4000:], done.stderr[-4000:]))
    sys.path.insert(0, str(work))
    try:
        return importlib.import_module("wscodec_capi_probe")
    finally:
        sys.path.remove(str(work))


# ---- masking -------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300), key=st.binary(min_size=4, max_size=4),
       offset=st.integers(0, 2**40))
def test_mask_matches_the_python_api(probe, data, key, offset):
    expected = bytearray(data)
    wscodec.mask_inplace(expected, key, offset)
    assert probe.mask(data, key, offset, False) == expected
    assert probe.mask(data, key, offset, True) == expected
    buf = bytearray(data)
    probe.mask_in_place(buf, key, offset)
    assert buf == expected
    if offset == 0:
        assert probe.mask(data, key, 0, False) == wscodec.apply_mask(data, key)


def test_mask_rfc6455_example(probe):
    # RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
    assert probe.mask(b"Hello", b"\x37\xfa\x21\x3d", 0, False) == bytes.fromhex("7f9f4d5158")
    big = os.urandom(100_000)
    assert probe.mask(big, b"abcd", 0, False) == wscodec.apply_mask(big, b"abcd")


# ---- UTF-8 ---------------------------------------------------------------------------------

TEXTS = [b"", b"hello", "h\u00e9llo \u4e2d\u6587 \U0001f600".encode(), b"\xed\xa0\x80",
         b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe4\xb8", b"a" * 100 + b"\xff", b"\xf0\x9f\x98"]


@settings(max_examples=150, deadline=None)
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=80).map(str.encode)),
       cut=st.integers(0, 200))
def test_utf8_matches_the_python_api(probe, data, cut):
    valid = wscodec.validate_utf8(data)
    assert (probe.utf8_whole(data) == 0) == valid  # UTF8_ACCEPT
    cut = min(cut, len(data))
    statuses, verdict = probe.utf8_chunks([data[:cut], data[cut:]])
    assert (verdict == 0) == valid
    # Fail fast like the incremental Python validator.
    validator = wscodec.Utf8Validator()
    assert (statuses[0] != 1) == validator.validate(data[:cut])


def test_utf8_examples(probe):
    for text in TEXTS:
        assert (probe.utf8_whole(text) == 0) == wscodec.validate_utf8(text), text
    # Result codes as documented: ACCEPT 0, REJECT 1, INCOMPLETE 2.
    assert probe.RESULTS == (0, 1, 2)
    assert probe.utf8_chunks([b"\xe4\xb8"]) == ([2], 1)
    assert probe.utf8_chunks([b"\xe4\xb8", b"\xad"]) == ([2, 0], 0)
    assert probe.utf8_chunks([b"\xed\xa0", b"\x80"]) == ([1, 1], 1)


# ---- frame headers -------------------------------------------------------------------------

U64_MAX = 2**64 - 1


@pytest.mark.parametrize("n", [0, 1, 125, 126, 65535, 65536, 2**20])
@pytest.mark.parametrize("mask", [None, b"\x01\x02\x03\x04"])
def test_header_matches_encode_frame(probe, n, mask):
    payload = bytes(n)
    frame = wscodec.encode_frame(wscodec.Opcode.BINARY, payload, mask=mask or False)
    head = frame[: len(frame) - n]
    assert probe.header(0x82, n, mask) == head
    size, fields = probe.parse(head, mask is None, False, U64_MAX)
    assert size == len(head)
    assert fields == (2, 1, 0, 1 if mask else 0, mask, n)
    # Every proper prefix: more bytes needed (0), never an error.
    for k in range(len(head)):
        assert probe.parse(head[:k], mask is None, False, U64_MAX) == (0, None)
    # The frame decoder of the same role reads the same frame.
    (got,) = wscodec.FrameDecoder(client=mask is None, max_frame_size=None).feed(frame)
    assert (got.opcode, got.fin, len(got.payload)) == (wscodec.Opcode.BINARY, True, n)


BAD_HEADERS = [
    (b"\x83\x80abcd", False, False, U64_MAX),           # reserved opcode 3
    (b"\xa2\x80abcd", False, False, U64_MAX),           # RSV2
    (b"\xc2\x80abcd", False, False, U64_MAX),           # RSV1 not negotiated
    (b"\xc9\x80abcd", False, True, U64_MAX),            # RSV1 on a control frame
    (b"\x09\x80abcd", False, False, U64_MAX),           # fragmented ping
    (b"\x82\x05hello", False, False, U64_MAX),          # unmasked client frame at a server
    (b"\x82\x85abcd", True, False, U64_MAX),            # masked server frame at a client
    (b"\x89\xfe\x00\x7e", False, False, U64_MAX),       # control payload > 125
    (b"\x82\xfe\x00\x05", False, False, U64_MAX),       # non-minimal 16-bit length
    (b"\x82\xff\x80" + bytes(7), False, False, U64_MAX),  # 64-bit length, top bit set
    (b"\x82\x8a", False, False, 9),                     # over the limit
]


@pytest.mark.parametrize("data, client, rsv1, limit", BAD_HEADERS)
def test_bad_headers_match_the_frame_decoder(probe, data, client, rsv1, limit):
    code, fields = probe.parse(data, client, rsv1, limit)
    assert code < 0 and fields is None
    decoder = wscodec.FrameDecoder(client=client, allow_rsv1=rsv1,
                                   max_frame_size=None if limit == U64_MAX else limit)
    with pytest.raises(wscodec.ProtocolError) as info:
        decoder.feed(data)
    assert info.value.close_code == (1009 if limit == 9 else 1002)
