"""The hot loops of the compiled twins are white in Cython's annotation (``cython -a``).

Cython scores every source line by the Python C-API calls and macros in the C code it
generates for it (``score-N`` in the HTML; 0 is pure C, drawn white, anything else yellow).
The project's rule: a yellow line in a hot loop is a bug.  The hot regions are marked in the
sources (``.pyx`` and the ``.pxd`` files whose ``cdef inline`` helpers are compiled into
every module that cimports them)::

    # hot: begin <name>
    ...
    # hot: end

Every line between the markers must score 0, unless it carries ``# hot: allow (<reason>)``
for a rare path that stays inside the loop (raising an error, growing a buffer, releasing the
GIL for a large payload, the one object a frame or message produces).  An allowance covers the
whole statement it is written on, continuation lines included.

The modules are cythonized here, into a temporary directory, with the compiler directives of
``setup.py`` (read from it, not copied) and its include path.  Cython writes the annotation of
the ``.pyx`` only; the ``.pxd`` files' inline code is annotated from the same run: the driver
below asks Cython's annotation writer to also save the lines it recorded for each of
wscodec's ``.pxd`` files, so a ``.pxd`` line gets the highest score it has in any module.
Nothing is compiled to machine code and the compiled twins are not needed, so this runs in the
pure-twin run too.
"""

import ast
import json
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("Cython", reason="Cython is needed to annotate the modules")

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wscodec"

if not (ROOT / "setup.py").is_file() or not list(PACKAGE.glob("_*_c.pyx")):
    pytest.skip("the source tree (setup.py, wscodec/*.pyx) is not beside the tests",
                allow_module_level=True)

# The regions that must exist: deleting a marker pair fails the test.  (file, name)
EXPECTED = {
    ("_mask_c.pxd", "mask_copy"),
    ("_mask_c.pyx", "mask_simd"),
    ("_mask_c.pyx", "mask run"),
    ("_utf8_c.pyx", "utf8 skip ascii"),
    ("_utf8_c.pyx", "utf8 quad dfa"),
    ("_utf8_c.pyx", "utf8 scalar dfa"),
    ("_utf8_c.pyx", "utf8 simd driver"),
    ("_utf8_c.pyx", "utf8 feed"),
    ("_frames_c.pxd", "parse_header"),
    ("_frames_c.pxd", "write_header"),
    ("_frames_c.pyx", "unmask payload"),
    ("_frames_c.pyx", "frame parse loop"),
    ("_frames_c.pyx", "split header"),
    ("_frames_c.pyx", "append payload"),
    ("_frames_c.pyx", "continue payload"),
    ("_frames_c.pyx", "build frame"),
    ("_messages_c.pyx", "header scan"),
    ("_messages_c.pyx", "message frame loop"),
    ("_messages_c.pyx", "direct frame"),
    ("_messages_c.pyx", "fragment encode"),
    ("compat/_compat_c.pyx", "autobahn utf8 locate"),
    ("integrations/_websockets_c.pyx", "websockets take payload"),
    ("integrations/_wsproto_c.pyx", "wsproto header"),
    ("integrations/_wsproto_c.pyx", "wsproto opcode"),
    ("integrations/_wsproto_c.pyx", "wsproto length"),
    ("integrations/_uvicorn_c.pyx", "uvicorn close scan"),
    ("integrations/_wsproto_c.pyx", "wsproto header bits"),
    ("integrations/_wsproto_c.pyx", "wsproto payload"),
    ("integrations/_wsproto_c.pyx", "wsproto serialize"),
    ("integrations/_aiohttp_c.pyx", "aiohttp frame loop"),
    ("integrations/_aiohttp_c.pyx", "aiohttp header"),
    ("integrations/_aiohttp_c.pyx", "aiohttp header checks"),
    ("integrations/_aiohttp_c.pyx", "aiohttp length"),
    ("integrations/_aiohttp_c.pyx", "aiohttp size check"),
    ("integrations/_aiohttp_c.pyx", "aiohttp mask key"),
    ("integrations/_aiohttp_c.pyx", "aiohttp payload"),
    ("integrations/_aiohttp_c.pyx", "aiohttp unmask"),
    ("integrations/_aiohttp_c.pyx", "aiohttp gather"),
}

BEGIN = re.compile(r"#\s*hot:\s*begin\s+(\S.*?)\s*$")
END = re.compile(r"#\s*hot:\s*end\s*$")
ALLOW = re.compile(r"#\s*hot:\s*allow\s*\(([^)]*\S[^)]*)\)")
ANY_MARK = re.compile(r"#\s*hot:")

# Cythonizes every module with setup.py's directives and include path, writing the HTML
# annotation of each .pyx and, for each of wscodec's .pxd files a module compiles code from,
# one more HTML file: <out>/pxd/<module>/<file>.html.
DRIVER = textwrap.dedent(r"""
    import glob, json, os, sys
    from Cython.Build import cythonize
    from Cython.Compiler.Annotate import AnnotationCCodeWriter
    from setuptools import Extension

    out, directives = sys.argv[1], json.loads(sys.argv[2])
    package = os.path.abspath("wscodec")
    save = AnnotationCCodeWriter.save_annotation

    def save_with_pxd(self, source_filename, target_filename, *args, **kwargs):
        save(self, source_filename, target_filename, *args, **kwargs)
        if not source_filename.endswith(".pyx"):
            return
        module = os.path.splitext(os.path.basename(source_filename))[0]
        for filename in list(self.code):
            if (filename and filename.endswith(".pxd")
                    and os.path.dirname(os.path.abspath(filename)) == package):
                base = os.path.splitext(os.path.basename(filename))[0]
                target = os.path.join(out, "pxd", module, base + ".c")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                save(self, filename, target)

    AnnotationCCodeWriter.save_annotation = save_with_pxd
    for pyx in sorted(glob.glob(os.path.join("wscodec", "**", "_*_c.pyx"), recursive=True)):
        name = os.path.splitext(pyx)[0].replace(os.sep, ".")
        ext = Extension(name, [pyx], include_dirs=["wscodec", os.path.join("wscodec", "simd")])
        cythonize([ext], compiler_directives=directives, annotate=True, build_dir=out,
                  force=True, quiet=True)
""")

# One source line of Cython's HTML: its score, "+" when C code was generated for it, its number.
LINE = re.compile(
    r'<pre class="cython line score-(\d+)"[^>]*>(\+|&#xA0;)<span class="[^"]*">(\d+)</span>:')


def compiled_sources():
    """Every compiled twin's source, the codec's and the host libraries' (as setup.py finds them)."""
    return sorted(PACKAGE.rglob("_*_c.pyx"))


def key_of(path):
    """A source's name in EXPECTED and in the scores: its path below ``wscodec/``."""
    return path.relative_to(PACKAGE).as_posix()


def setup_directives():
    """The ``DIRECTIVES`` dict of setup.py (the one place the compiler directives live)."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "DIRECTIVES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no DIRECTIVES assignment")


def read_scores(path, into):
    """Merge ``{line: (score, has_code)}`` of one annotation HTML file into ``into``."""
    count = 0
    for m in LINE.finditer(path.read_text(encoding="utf-8")):
        score, has_code, number = int(m.group(1)), m.group(2) == "+", int(m.group(3))
        old = into.get(number, (0, False))
        into[number] = (max(old[0], score), old[1] or has_code)
        count += 1
    assert count, "no annotated lines found in %s: has Cython's HTML format changed?" % path


@pytest.fixture(scope="module")
def annotation(tmp_path_factory):
    """``{file name: {line: (score, has_code)}}`` for every .pyx and annotated .pxd."""
    out = tmp_path_factory.mktemp("annotation")
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), json.dumps(setup_directives())],
        cwd=str(ROOT), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, "cythonize failed:\n%s\n%s" % (proc.stdout, proc.stderr)
    scores = {}
    for pyx in compiled_sources():
        html_file = out / pyx.relative_to(ROOT).with_suffix(".html")
        assert html_file.is_file(), "Cython wrote no annotation for %s" % pyx.name
        read_scores(html_file, scores.setdefault(key_of(pyx), {}))
    for html_file in sorted((out / "pxd").glob("*/*.html")):
        read_scores(html_file, scores.setdefault(html_file.stem + ".pxd", {}))
    return scores


def statement_lines(lines, start):
    """The 0-based line numbers of the statement beginning on line ``start``: it goes on
    while a bracket is open or a line ends with a backslash (strings and comments skipped)."""
    depth = 0
    quote = None
    k = start
    while k < len(lines):
        line = lines[k]
        i = 0
        while i < len(line):
            c = line[i]
            if quote:
                if c == "\\":
                    i += 1
                elif line.startswith(quote, i):
                    i += len(quote) - 1
                    quote = None
            elif c == "#":
                break
            elif c in "\"'":
                quote = line[i:i + 3] if line[i:i + 3] in ('"""', "'''") else c
                i += len(quote) - 1
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            i += 1
        if quote in ('"', "'"):
            quote = None        # an unterminated one-line string: not ours to judge
        if depth <= 0 and not quote and not line.rstrip().endswith("\\"):
            return range(start, k + 1)
        k += 1
    return range(start, len(lines))


def regions(path):
    """``[(name, first, last, allowances)]`` of a source file: ``first``..``last`` are the
    1-based lines strictly between the markers; ``allowances`` maps the line of each
    ``# hot: allow`` to the lines of the statement it covers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    current = None
    for k, line in enumerate(lines):
        where = "%s:%d" % (path.name, k + 1)
        begin, end = BEGIN.search(line), END.search(line)
        if begin:
            assert current is None, "%s: 'hot: begin' inside region %r" % (where, current[0])
            current = (begin.group(1), k + 2)
        elif end:
            assert current is not None, "%s: 'hot: end' without 'hot: begin'" % where
            found.append((current[0], current[1], k, allowances(lines, current[1], k)))
            current = None
        elif ANY_MARK.search(line) and not ALLOW.search(line):
            raise AssertionError("%s: malformed hot marker: %s" % (where, line.strip()))
        elif ALLOW.search(line) and current is None:
            raise AssertionError("%s: 'hot: allow' outside a hot region" % where)
    assert current is None, "%s: region %r has no 'hot: end'" % (path.name, current[0])
    return found


def allowances(lines, first, last):
    """``{allow line: statement lines}`` for the 1-based lines ``first``..``last``."""
    out = {}
    k = first - 1
    while k < last:
        statement = statement_lines(lines, k)
        numbers = [n + 1 for n in statement if n < last]
        for n in numbers:
            if ALLOW.search(lines[n - 1]):
                out[n] = set(numbers)
        k = statement.stop
    return out


def all_regions():
    out = {}
    for path in sorted(PACKAGE.rglob("*.pyx")) + sorted(PACKAGE.glob("*.pxd")):
        for name, first, last, allows in regions(path):
            key = (key_of(path), name)
            assert key not in out, "%s: two hot regions named %r" % (key[0], name)
            out[key] = (path, first, last, allows)
    return out


def test_expected_regions_are_marked():
    found = all_regions()
    missing = sorted(EXPECTED - set(found))
    assert not missing, "hot regions missing their '# hot: begin/end' markers: %s" % missing
    # A region is checked only if listed here: a new one must be added to EXPECTED.
    unlisted = sorted(set(found) - EXPECTED)
    assert not unlisted, "hot regions marked in the sources but not in EXPECTED: %s" % unlisted
    for (filename, name), (path, first, last, _) in found.items():
        assert last >= first, "%s: hot region %r is empty" % (filename, name)


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: "%s:%s" % k)
def test_hot_region_is_white(annotation, key):
    found = all_regions()
    if key not in found:
        pytest.fail("hot region %s:%r is not marked (see test_expected_regions_are_marked)" % key)
    path, first, last, allows = found[key]
    allowed = set().union(*allows.values())
    scores = annotation.get(key[0])
    assert scores, "%s was not annotated (no module compiled code from it)" % key[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    # The annotation must really cover the region: some line of it produced C code.
    assert any(scores.get(n, (0, False))[1] for n in range(first, last + 1)), (
        "%s: no C code was generated for hot region %r (lines %d-%d)"
        % (path.name, key[1], first, last))
    yellow = [
        "%s:%d: score %d in hot region %r: %s"
        % (path.relative_to(ROOT), n, scores[n][0], key[1], lines[n - 1].strip())
        for n in range(first, last + 1)
        if scores.get(n, (0, False))[0] > 0 and n not in allowed
    ]
    assert not yellow, (
        "Python interaction (yellow in `cython -a`) in a hot loop; make it C, move the rare "
        "path out of the region, or mark it '# hot: allow (<reason>)':\n" + "\n".join(yellow))


def test_allowances_are_needed(annotation):
    """An allowance on a statement that is white anyway is stale: it would hide a future
    yellow line."""
    stale = []
    for (filename, name), (path, first, last, allows) in sorted(all_regions().items()):
        scores = annotation.get(filename, {})
        for line, statement in sorted(allows.items()):
            if all(scores.get(n, (0, False))[0] == 0 for n in statement):
                stale.append("%s:%d in hot region %r" % (path.relative_to(ROOT), line, name))
    assert not stale, "'# hot: allow' on statements that are white:\n" + "\n".join(stale)
