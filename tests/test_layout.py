"""The package's rooms keep to their imports (docs/architecture.md, "Who may import whom").

The codec knows no host library; compat knows no integration; nothing but the benchmark
imports the benchmark.  Read from the sources (Python and Cython), so it holds for both twins.
"""

import pathlib
import re

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "wscodec"
if not PACKAGE.is_dir():
    pytest.skip("the source tree is not beside the tests", allow_module_level=True)

HOSTS = ("aiohttp", "websockets", "wsproto", "tornado", "autobahn", "websocket", "wsaccel",
         "picows", "uvicorn", "gunicorn")
# The names after "import" stay on their line unless parenthesized: a bare list that ran
# on past the newline would swallow the next line's import.
IMPORT = re.compile(
    r"^[ \t]*(?:from\s+(\.*[\w.]*)\s+c?import[ \t]+(\([\w\s,*]*\)|[\w \t,*]+)|c?import\s+([\w.]+))", re.M)


def imports(path):
    """Absolute module names a source file imports (relative ones resolved)."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    out = set()
    for m in IMPORT.finditer(path.read_text(encoding="utf-8")):
        if m.group(3):
            out.add(m.group(3))
            continue
        base = m.group(1)
        if base.startswith("."):
            dots = len(base) - len(base.lstrip("."))
            parent = package[: len(package) - dots + 1]
            base = ".".join(parent + tuple(p for p in base.lstrip(".").split(".") if p))
            # "from . import x" / "from .. import x": the names are modules too.
            if not m.group(1).lstrip("."):
                for name in re.split(r"[\s,()]+", m.group(2)):
                    if name and name != "*":
                        out.add(base + "." + name)
        out.add(base)
    return out


def sources(room):
    top = PACKAGE if room is None else PACKAGE / room
    files = sorted(top.glob("*.py")) + sorted(top.glob("*.pyx")) + sorted(top.glob("*.pxd"))
    assert files, "no sources in %s" % top
    return files


def offenders(files, forbidden):
    found = []
    for path in files:
        for name in sorted(imports(path)):
            if forbidden(name):
                found.append("%s imports %s" % (path.relative_to(PACKAGE.parent), name))
    return found


def is_host(name):
    return name.split(".")[0] in HOSTS


def test_codec_imports_no_host_library_nor_outer_room():
    # __main__ is the command line (``python -m wscodec bench``): the one codec-level file
    # that reaches the benchmark room.
    files = [p for p in sources(None) if p.name != "__main__.py"]
    bad = offenders(files, lambda n: is_host(n) or n.startswith(
        ("wscodec.integrations", "wscodec.compat", "wscodec._bench")))
    assert not bad, "\n".join(bad)


def test_compat_imports_no_integration_nor_benchmark():
    files = sources("compat") + sources("compat/wsaccel")
    bad = offenders(files, lambda n: is_host(n) or n.startswith(("wscodec.integrations", "wscodec._bench")))
    assert not bad, "\n".join(bad)


def test_integrations_import_only_their_own_host_library():
    bad = []
    for path in sources("integrations"):
        own = re.sub(r"_(c|py)$", "", path.stem.lstrip("_"))
        # The import name of the host library an integration module is named after.
        own = {"websocket_client": "websocket"}.get(own, own)
        for name in sorted(imports(path)):
            if name.startswith("wscodec._bench"):
                bad.append("%s imports %s" % (path.name, name))
            elif is_host(name) and name.split(".")[0] != own:
                bad.append("%s imports %s" % (path.name, name))
    assert not bad, "\n".join(bad)


def test_import_reader_sees_relative_imports():
    # The checks above are only as good as the import reader: it must see every form.
    sample = PACKAGE / "integrations" / "_websockets_py.py"
    assert "wscodec._mask_py" in imports(sample)
    assert "wscodec._select" in imports(PACKAGE / "integrations" / "aiohttp.py")
    assert any(n.startswith("aiohttp") for n in imports(PACKAGE / "integrations" / "_aiohttp_c.pyx"))
