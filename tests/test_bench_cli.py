"""Smoke tests of ``python -m wscodec bench``: it runs, exits 0 and prints the comparison.

No timing is asserted (speed is judged from the benchmark's own output, not from tests);
these check the command's shape: the header, the wscodec row, the ratio column, the
machine-readable outputs, and that a missing peer is reported rather than crashing the run.
"""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from wscodec._bench import _data

ROOT = Path(__file__).resolve().parent.parent

# The smallest case: 16 bytes, a handful of peers, a fraction of a second per round.
SMALL = "mask/apply_mask/16B"


def _bench(*args, env=None, cwd=ROOT, filters=(SMALL,), plot=False):
    command = [sys.executable, "-m", "wscodec", "bench", "--quick"]
    for f in filters:
        command += ["--filter", f]
    if not plot:
        command.append("--no-plot")
    return subprocess.run(command + list(args), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _env(**extra):
    # The worktree's wscodec first, from any directory.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    env.update(extra)
    return env


def test_quick_run_prints_table_and_writes_json_and_markdown(tmp_path):
    json_path, md_path = tmp_path / "bench.json", tmp_path / "bench.md"
    proc = _bench("--json", str(json_path), "--markdown", str(md_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # Header: what the numbers were measured with, and how to read them.
    assert "wscodec.IMPLEMENTATION = " in out
    assert "Python: " in out and "CPU: " in out
    assert "only ratios measured in the same run mean anything" in out
    # The case table: a ratio column, wscodec's row with the identity ratio.
    lines = out.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith(SMALL + ":"))
    assert lines[title + 1].split()[-2:] == ["wscodec", "is"]
    wscodec_row = lines[title + 2].split()
    assert wscodec_row[:2] == ["wscodec", "apply_mask"]
    assert wscodec_row[-1] == "baseline"
    # Every timed peer row says how many times faster (or slower) wscodec is.
    websockets_row = next(line for line in lines[title:]
                          if line.strip().startswith("websockets speedups.apply_mask"))
    timed = "n/a: websockets installed without its C speedups" not in websockets_row
    if timed:
        # (websockets has no C speedups on some interpreters: free-threaded CPython 3.13.)
        assert websockets_row.split()[-1] in ("faster", "slower")
        assert websockets_row.split()[-2].endswith("×")
    # The short summary comes first, per library; the per-case table after the cases.
    gains = lines.index(next(line for line in lines if line.startswith("What installing wscodec")))
    assert gains < title
    if timed:
        assert any(line.strip().startswith("websockets ") for line in lines[gains:title])
    assert "Per case: " in out
    # Progress goes to stderr, one line per case.
    assert "[1/1] %s ..." % SMALL in proc.stderr

    report = json.loads(json_path.read_text())
    (case,) = report["cases"]
    assert case["id"] == SMALL and case["nbytes"] == 16
    (ours,) = [r for r in case["results"] if r["library"] == "wscodec"]
    assert ours["status"] == "ok"
    assert ours["ratio_wscodec_over_this"] == 1.0
    assert ours["wscodec_times_faster"] == 1.0
    assert len(ours["samples_s"]) >= 3
    assert report["machine"]["implementation"] in ("c", "python")
    markdown = md_path.read_text()
    assert "| case | contender | time | throughput | wscodec is |" in markdown
    assert "| wscodec apply_mask |" in markdown


def test_the_chart_is_drawn_by_default_to_a_named_file(tmp_path):
    pytest.importorskip("matplotlib")  # without it the run says so: the next test
    proc = _bench(cwd=tmp_path, env=_env(), plot=True)
    assert proc.returncode == 0, proc.stderr
    chart = tmp_path / "wscodec-bench.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Chart: %s" % chart in proc.stdout.splitlines()


def test_without_matplotlib_the_default_chart_is_skipped_with_a_word(tmp_path):
    blocked = tmp_path / "blocked" / "matplotlib"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('blocked for this test')\n")
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(blocked.parent)])
    proc = _bench(cwd=tmp_path, env=env, plot=True)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "wscodec-bench.png").exists()
    assert "Chart: not drawn: matplotlib is not installed" in proc.stdout
    # Asked for by name, a chart that cannot be drawn is an error.
    proc = _bench("--plot", str(tmp_path / "x.png"), cwd=tmp_path, env=env, plot=True)
    assert proc.returncode != 0 and "needs matplotlib" in proc.stderr


def _warning_at_top_and_bottom(out):
    lines = out.splitlines()
    assert lines[0] == lines[-1] == "!" * 78, (lines[:3], lines[-3:])
    size = lines.index("!" * 78, 1) + 1
    top, bottom = " ".join(lines[:size]), " ".join(lines[-size:])
    assert top == bottom
    assert "pure-Python twins" in top
    return top


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="elsewhere the pure "
                    "twins are all there is, and the bench does not warn about them")
def test_pure_twins_on_cpython_are_said_loudly_at_top_and_bottom_with_why():
    proc = _bench(env=_env(WSCODEC_NO_EXTENSIONS="1"))
    assert proc.returncode == 0, proc.stderr
    box = _warning_at_top_and_bottom(proc.stdout)
    assert "Why: WSCODEC_NO_EXTENSIONS=1 is set" in box
    # Said at once on stderr too: the report comes after minutes of measuring.
    assert "WSCODEC_NO_EXTENSIONS=1" in proc.stderr


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="the compiled twins "
                    "are CPython's (elsewhere the pure twins are all there is: no warning)")
def test_the_compiled_twins_get_no_warning():
    from wscodec import _select

    if _select.NO_EXTENSIONS or _select.IMPLEMENTATION != "c":
        pytest.skip("the compiled twins are not built here (tests/test_select.py fails then)")
    proc = _bench(env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "!!" not in proc.stdout
    assert "Measured: wscodec %s compiled (IMPLEMENTATION = c" % __import__("wscodec").__version__ \
        in proc.stdout


def test_integration_cases_on_the_pure_twins_say_what_install_does():
    # wsproto's and aiohttp's pure twins are their own classes: install() replaces nothing,
    # and the row says so (it used to print KeyError: 'FrameProtocol' and "no compiled
    # reader"); the library alone is still timed.
    pytest.importorskip("wsproto")
    pytest.importorskip("aiohttp")
    proc = _bench(env=_env(WSCODEC_NO_EXTENSIONS="1"),
                  filters=("integrations/wsproto/send", "integrations/aiohttp/decode-text-125B"))
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stdout.lower()
    for library in ("wsproto", "aiohttp"):
        title = next(line for line in proc.stdout.splitlines()
                     if line.startswith("integrations/%s/" % library))
        lines = proc.stdout.split(title, 1)[1].splitlines()
        alone, ours = lines[2], lines[3]
        assert alone.split()[0] == library and alone.split()[-1] in ("faster", "slower",
                                                                      "baseline", "-")
        assert ours.strip().startswith("%s + wscodec  not timed: install() leaves %s "
                                       % (library, library)), ours
        assert "nothing to replace" in ours


def test_missing_peer_is_reported_not_installed(tmp_path):
    # A package that fails to import stands in for a peer that is not installed.
    blocked = tmp_path / "tornado"
    blocked.mkdir()
    (blocked / "__init__.py").write_text("raise ImportError('blocked for this test')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    proc = _bench(env=env)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines()
               if line.strip().startswith("tornado speedups.websocket_mask"))
    assert row.split("websocket_mask", 1)[1].strip() == "not installed"


def test_unknown_filter_is_an_error():
    proc = subprocess.run(
        [sys.executable, "-m", "wscodec", "bench", "--filter", "no-such-case"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "no case matches" in proc.stderr


@pytest.mark.parametrize("args", [[], ["frobnicate"]])
def test_main_without_a_known_command_prints_usage(args):
    proc = subprocess.run([sys.executable, "-m", "wscodec", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "python -m wscodec COMMAND" in proc.stdout + proc.stderr


def test_a_closed_pipe_ends_the_listing_quietly():
    # `python -m wscodec bench --list | head -1`: the reader is gone.  Its end of the pipe is
    # closed before the command starts, so the first write fails, whatever the timing.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "wscodec", "bench", "--list"], cwd=ROOT,
                              stdout=write_end, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err


# -- the benchmark's own reference code: every contender is checked against it ------------


@pytest.mark.parametrize("offset", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 31, 64, 1000])
def test_reference_mask_matches_rfc_definition(size, offset):
    data = _data.payload(size)
    key = _data.MASK_KEY
    # RFC 6455 §5.3: octet i of the result is octet i of the data XOR octet (i mod 4) of the key.
    expected = bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))
    assert _data.xor_mask(data, key, offset) == expected


def test_reference_frames_rfc_examples():
    # RFC 6455 §5.7: "Hello", unmasked and masked with 37 fa 21 3d; 256 and 65536 byte lengths.
    assert _data.build_frame(1, b"Hello") == bytes.fromhex("810548656c6c6f")
    assert _data.build_frame(1, b"Hello", b"\x37\xfa\x21\x3d") == \
        bytes.fromhex("818537fa213d7f9f4d5158")
    assert _data.build_frame(2, b"\x00" * 256)[:4] == bytes.fromhex("827e0100")
    assert _data.build_frame(2, b"\x00" * 65536)[:10] == bytes.fromhex("827f0000000000010000")
    assert _data.parse_one_frame(bytes.fromhex("818537fa213d7f9f4d5158")) == \
        (True, 1, True, b"Hello")
    with pytest.raises(ValueError):
        _data.parse_one_frame(bytes.fromhex("818537fa213d7f9f4d51"))  # one byte short


@pytest.mark.parametrize("kind", ["ascii", "chinese", "mixed"])
@pytest.mark.parametrize("size", [125, 4096])
def test_reference_texts_are_valid_utf8_of_exact_size(kind, size):
    text = _data.utf8_text(kind, size)
    assert len(text) == size
    decoded = text.decode("utf-8")
    if kind == "ascii":
        assert decoded.isascii()
    else:
        assert not decoded.isascii()


def test_reference_stream_splits_back_together():
    payloads = _data.json_texts(50, 125)
    assert all(len(p) == 125 for p in payloads) and len(set(payloads)) == 50
    stream = _data.masked_stream(1, payloads)
    chunks = _data.split(stream, 4096)
    assert b"".join(chunks) == stream and all(len(c) <= 4096 for c in chunks[:-1])
    pos, seen = 0, []
    while pos < len(stream):
        size = 2 + 4 + 125  # 125 fits the 7-bit length; every frame is masked
        seen.append(_data.parse_one_frame(stream[pos:pos + size]))
        pos += size
    assert seen == [(True, 1, True, p) for p in payloads]
