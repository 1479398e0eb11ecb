"""Smoke tests of ``python -m wscodec bench``: it runs, exits 0 and prints the comparison.

No timing is asserted (speed is judged from the benchmark's own output, not from tests);
these check the command's shape: the header, the wscodec row, the ratio column, the
machine-readable outputs, and that a missing peer is reported rather than crashing the run.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The smallest case: 16 bytes, a handful of peers, a fraction of a second per round.
SMALL = "mask/apply_mask/16B"


def _bench(*args, env=None, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "wscodec", "bench", "--quick", "--filter", SMALL, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_quick_run_prints_table_with_wscodec_row_and_ratio(tmp_path):
    proc = _bench()
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # Header: what the numbers were measured with, and how to read them.
    assert "wscodec.IMPLEMENTATION = " in out
    assert "Python: " in out and "CPU: " in out
    assert "only ratios measured in the same run mean anything" in out
    # The case table: a ratio column, wscodec's row with the identity ratio.
    lines = out.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith(SMALL + ":"))
    assert "wscodec/this" in lines[title + 1]
    wscodec_row = lines[title + 2].split()
    assert wscodec_row[:2] == ["wscodec", "apply_mask"]
    assert wscodec_row[-1] == "1.00"
    assert "Summary" in out


def test_json_and_markdown_outputs(tmp_path):
    json_path, md_path = tmp_path / "bench.json", tmp_path / "bench.md"
    proc = _bench("--json", str(json_path), "--markdown", str(md_path))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(json_path.read_text())
    (case,) = report["cases"]
    assert case["id"] == SMALL and case["nbytes"] == 16
    (ours,) = [r for r in case["results"] if r["library"] == "wscodec"]
    assert ours["status"] == "ok"
    assert ours["ratio_wscodec_over_this"] == 1.0
    assert len(ours["samples_s"]) >= 3
    assert report["machine"]["implementation"] in ("c", "python")
    markdown = md_path.read_text()
    assert "| case | contender | time | throughput | wscodec/this |" in markdown
    assert "| wscodec apply_mask |" in markdown


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
