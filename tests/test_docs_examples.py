"""The code in README.md and in the documentation pages (docs/*.md, docs/hosts/*.md) runs as
written.

Every fenced block is classified by its info string:

* ``pycon``: a doctest (``>>>`` prompts and the output expected), run with the standard
  ``doctest`` module; the output must match.
* ``python``: executed.  Blocks of one file share one namespace, in order, so a later block
  may use what an earlier one defined; ``NAMES`` below are defined first, for the few things
  an example uses without building (a transport).
* ``sh``: in the README, only the two set-up commands and the install line; the test command
  must be the one CI runs (``.ci/tests.sh``).  Shell recipes in the docs (fuzzing, CI stages)
  are not run here: each is what a CI stage runs.
* anything else (``cython``, ``text``, tables of output) is not Python and is not run.

A block right after an HTML comment ``<!-- not run: REASON -->`` is skipped (a setup.py
calling ``setup()``); ``<!-- requires: MODULE -->`` marks a block that needs a host library:
without it the block is skipped, except under ``WSCODEC_REQUIRE_PEERS=1`` (the docs CI stage,
which installs the ``integrations`` extra), where a missing library fails.

The README test command runs this for the compiled twin and again for the pure twin
(``WSCODEC_NO_EXTENSIONS=1``), so every example runs on both.
"""

import doctest
import importlib
import os
import re
import warnings
from pathlib import Path

import pytest

import wscodec
import wscodec.integrations

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
if not (DOCS / "conf.py").is_file() or not (ROOT / "README.md").is_file():
    # A copy of tests/ run against an installed wheel (the wheel, pythons, PyPy and
    # cibuildwheel stages) has no pages beside it; the README test command (both twins) and
    # the docs stage run these.
    pytest.skip("README.md and docs/ are not beside this copy of tests/", allow_module_level=True)

REQUIRE_PEERS = os.environ.get("WSCODEC_REQUIRE_PEERS", "").strip() not in ("", "0")

FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
MARKER = re.compile(r"^<!--\s*(not run|requires):\s*(.*?)\s*-->$")


class Block:
    def __init__(self, path, line, lang, text, marker):
        self.path, self.line, self.lang, self.text, self.marker = path, line, lang, text, marker

    def __repr__(self):
        name = self.path.relative_to(ROOT) if ROOT in self.path.parents else self.path.name
        return "%s:%d (%s)" % (name, self.line, self.lang)


def blocks(path):
    """The fenced blocks of a Markdown file, each with the marker comment just before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, i, previous = [], 0, ""
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        # start: the opening fence's line number (1-based), which is also the 0-based index
        # of the block's first line, as doctest wants it.
        fence, lang, start = m.group(1), m.group(2).lower(), i + 1
        body = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        marker = MARKER.match(previous)
        out.append(Block(path, start, lang, "\n".join(body) + "\n", marker.groups() if marker else None))
        i += 1
        previous = ""
    return out


class _Transport:
    """What the README's examples call a transport: records what is written."""

    def __init__(self):
        self.written = []

    def write(self, data):
        self.written.append(bytes(data))

    def writelines(self, chunks):
        self.written.extend(bytes(c) for c in chunks)


def NAMES():
    return {"transport": _Transport()}


PAGES = [ROOT / "README.md"] + sorted(DOCS.rglob("*.md"))


def _run(path):
    """Run every Python block of ``path``; return how many ran and the reasons of skips."""
    namespace = {"__name__": "__docs__"}
    namespace.update(NAMES())
    ran, skipped = 0, []
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    try:
        for block in blocks(path):
            if block.lang not in ("python", "pycon"):
                continue
            if block.marker is not None:
                kind, arg = block.marker
                if kind == "not run":
                    assert arg, "%r: a block that is not run says why" % block
                    skipped.append("%r: %s" % (block, arg))
                    continue
                missing = []
                for module in arg.split():
                    try:
                        importlib.import_module(module)
                    except ImportError:
                        missing.append(module)
                if missing:
                    assert not REQUIRE_PEERS, "%r needs %s (WSCODEC_REQUIRE_PEERS=1)" % (block, missing)
                    skipped.append("%r: %s not installed" % (block, " ".join(missing)))
                    continue
            with warnings.catch_warnings():
                # install() on the pure twins skips a library with an IntegrationWarning
                # (documented); the example still runs as written.
                warnings.simplefilter("ignore", wscodec.integrations.IntegrationWarning)
                if block.lang == "pycon":
                    assert ">>> " in block.text, "%r: a pycon block without a prompt" % block
                    test = parser.get_doctest(block.text, namespace, repr(block), str(path), block.line)
                    result = runner.run(test, clear_globs=False)
                    namespace.update(test.globs)  # DocTest works on a copy
                    assert result.failed == 0, "%r: %d doctest example(s) failed (output above)" % (
                        block, result.failed)
                else:
                    assert ">>> " not in block.text, "%r: prompts belong in a pycon block" % block
                    code = compile(block.text, repr(block), "exec")
                    exec(code, namespace)
            ran += 1
    finally:
        wscodec.integrations.uninstall()
    return ran, skipped


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_examples_run(path):
    ran, skipped = _run(path)
    if skipped and not ran:
        pytest.skip("; ".join(skipped))


def test_pages_have_examples():
    """The pages that teach the API carry runnable examples (so this test cannot pass on an
    empty set because the parser stopped seeing them)."""
    for name in ("README.md", "docs/getting-started.md", "docs/sans-io.md"):
        python = [b for b in blocks(ROOT / name) if b.lang in ("python", "pycon") and b.marker is None]
        assert len(python) >= 2, (name, python)


def test_parser_sees_blocks_and_markers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```pycon\n>>> 1 + 1\n2\n```\n\n<!-- not run: calls setup() -->\n"
        "```python\nsetup()\n```\n\n<!-- requires: tornado -->\n\n````python\nx = 1\n````\n",
        encoding="utf-8",
    )
    got = [(b.line, b.lang, b.text, b.marker) for b in blocks(page)]
    assert got == [
        (3, "pycon", ">>> 1 + 1\n2\n", None),
        (9, "python", "setup()\n", ("not run", "calls setup()")),
        (15, "python", "x = 1\n", ("requires", "tornado")),
    ]


def test_a_failing_example_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```pycon\n>>> 1 + 1\n3\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="1 doctest example"):
        _run(page)
    page.write_text("```python\nundefined_name\n```\n", encoding="utf-8")
    with pytest.raises(NameError):
        _run(page)


# The README's shell blocks: exactly the two set-up commands (benchmark comparison, tests) and
# the install line.  The test command is what CI's last stage runs.
README_SHELL = {
    "pip install wscodec",
    'pip install "wscodec[fast-deflate]"     # isal (ISA-L) and zlib-ng; otherwise stdlib zlib',
}


def _readme_shell():
    return [b.text.strip() for b in blocks(ROOT / "README.md") if b.lang in ("sh", "bash", "console")]


def test_readme_set_up_commands():
    shell = _readme_shell()
    setup = [cmd for cmd in shell if cmd not in README_SHELL]
    assert len(setup) == 2, setup
    bench, tests = setup
    # The console script, not `python -m`: run from the checkout's root, `python -m` would import
    # the checkout's uncompiled wscodec/ instead of the one just installed.
    assert bench.endswith("&& wscodec bench"), bench
    assert tests.endswith("python -m pytest"), tests
    # .ci/tests.sh runs the README test command (its header quotes it) for both twins.
    ci = (ROOT / ".ci" / "tests.sh").read_text(encoding="utf-8")
    assert "#   " + tests + "\n" in ci, "README test command differs from .ci/tests.sh"
    assert 'pip install -q -e ".[test]"' in ci and "python -m pytest" in ci
    for cmd in README_SHELL:
        assert cmd in shell, cmd


def test_version_in_one_place():
    """``wscodec.__version__`` is the one place the version is written: the package metadata
    (pyproject's dynamic version) and the documentation site read it, and the changelog's
    newest release is that version, under an Unreleased section."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "wscodec.__version__" }' in pyproject
    assert re.search(r"(?m)^version\s*=\s*[\"']", pyproject) is None
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert "release = version = wscodec.__version__" in conf
    headings = re.findall(r"(?m)^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))
    assert headings[:2] == ["Unreleased", wscodec.__version__], headings
