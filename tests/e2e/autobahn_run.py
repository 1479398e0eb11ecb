"""Run the Autobahn|Testsuite fuzzing client against examples/echo_server.py and judge it.

    python tests/e2e/autobahn_run.py --wstest PATH/TO/wstest [--cases 1-10] [--outdir DIR]
    python tests/e2e/autobahn_run.py --kosoku PATH/TO/kosoku [--cases 12-13]
    python tests/e2e/autobahn_run.py --wstest PATH/TO/wstest --server uvicorn

``--server uvicorn`` runs examples/starlette_echo.py on uvicorn with wscodec's WebSocket
protocol class instead (uvicorn and starlette must be installed).

Starts the echo server on 127.0.0.1 (a free port) under this interpreter, points the fuzzing
client at it, then reads the suite's JSON report (``index.json``) and prints a summary table
per section.  Exits 1 unless every case's behaviour is OK, NON-STRICT or INFORMATIONAL, its
closing behaviour is one of those too, the expected number of cases ran, and the server
neither crashed nor logged an exception.  ``.ci/autobahn.sh`` sets up a fuzzing client and
calls this.

Two fuzzing clients drive the same case files: ``wstest`` (PyPI ``autobahntestsuite``, Python
2.7) and ``kosoku`` (PyPI ``kosoku``, a Python 3 runner of Autobahn's case files).
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ECHO_SERVER = os.path.join(ROOT, "examples", "echo_server.py")

PASSING = ("OK", "NON-STRICT", "INFORMATIONAL")
COLUMNS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
#: Autobahn has no section 8.  How many cases each selection holds in the suite's case files.
SELECTIONS = {
    "1-10": (["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"], 301),
    "12-13": (["12.*", "13.*"], 216),
    # The compression sections one at a time, to run them side by side.
    "12": (["12.*"], 90),
    "13": (["13.*"], 126),
    # Sections 12 and 13 at two message sizes, 16 B and 8 KiB (cases 12.M.1, 12.M.6, 13.M.1 and
    # 13.M.6: every payload kind of section 12, every parameter variant of section 13, 1000
    # messages each): the compression cases quick enough to run once per deflate backend.
    # (Named one by one: wstest's case patterns know "*" only.)
    "12-13-small": (
        ["12.%d.%d" % (m, n) for m in range(1, 6) for n in (1, 6)]
        + ["13.%d.%d" % (m, n) for m in range(1, 8) for n in (1, 6)],
        24,
    ),
}
SECTION_TITLES = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 handling",
    "7": "Close handling",
    "9": "Limits/performance",
    "10": "Misc",
    "12": "permessage-deflate (payloads)",
    "13": "permessage-deflate (parameters)",
}


#: The servers the suite can run against: the command and how its output names the port.
SERVERS = {
    "echo": (
        [ECHO_SERVER, "--host", "127.0.0.1", "--port", "0"],
        rb"listening on ws://127\.0\.0\.1:(\d+)/",
        "examples/echo_server.py",
    ),
    # uvicorn with wscodec's protocol class (its defaults otherwise: permessage-deflate on,
    # 16 MiB messages, keepalive pings every 20 s) serving examples/starlette_echo.py.
    "uvicorn": (
        ["-m", "uvicorn", "starlette_echo:app", "--app-dir", os.path.join(ROOT, "examples"),
         "--ws", "wscodec.integrations.uvicorn:WSCodecProtocol", "--host", "127.0.0.1", "--port", "0"],
        rb"Uvicorn running on http://127\.0\.0\.1:(\d+)",
        "examples/starlette_echo.py on uvicorn --ws wscodec.integrations.uvicorn:WSCodecProtocol",
    ),
}


def start_server(log, server="echo"):
    # The server imports whichever wscodec this interpreter finds (an installed one in CI; set
    # PYTHONPATH to run the checkout's in-place build).
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    argv, port_pattern, _ = SERVERS[server]
    proc = subprocess.Popen(
        [sys.executable, "-X", "faulthandler"] + argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log.seek(0)
        match = re.search(port_pattern, log.read())
        if match:
            return proc, int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    log.seek(0)
    sys.exit("echo server did not start:\n" + log.read().decode(errors="replace"))


def run_client(args, patterns, port, outdir):
    if args.wstest:
        spec = {
            "outdir": outdir,
            "servers": [{"agent": "wscodec", "url": "ws://127.0.0.1:%d" % port}],
            "cases": patterns,
            "exclude-cases": [],
            "exclude-agent-cases": {},
        }
        spec_path = os.path.join(outdir, "fuzzingclient.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f, indent=2)
        cmd = [args.wstest, "-m", "fuzzingclient", "-s", spec_path]
    else:
        cmd = [args.kosoku, "-m", "fuzzingclient", "-o", outdir]
        for pattern in patterns:
            cmd += ["-i", pattern]
        cmd.append("127.0.0.1:%d" % port)
    with open(os.path.join(outdir, "client.log"), "wb") as log:
        # The client's verdicts come from the report, not its exit status (kosoku exits 1 when a
        # case fails; wstest exits 0 either way).
        try:
            subprocess.run(cmd, cwd=outdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return "the fuzzing client did not finish within %d s" % args.timeout
    return None


def section_of(case_id):
    return case_id.split(".", 1)[0]


def case_key(case_id):
    return tuple(int(part) for part in case_id.split("."))


def summarize(index):
    """``(rows, problems)``: per-section counts of behaviours, and the cases that did not pass."""
    if len(index) != 1:
        raise ValueError("expected one agent in the report, got %r" % list(index))
    (cases,) = index.values()
    per_section = collections.OrderedDict()
    problems = []
    for case_id in sorted(cases, key=case_key):
        result = cases[case_id]
        behavior, close = result["behavior"], result["behaviorClose"]
        counts = per_section.setdefault(section_of(case_id), collections.Counter())
        counts["cases"] += 1
        counts[behavior if behavior in COLUMNS else "FAILED"] += 1
        if behavior not in PASSING or close not in PASSING:
            problems.append((case_id, behavior, close, result.get("reportfile")))
    return per_section, problems


def table(per_section):
    lines = [
        "| section | cases | " + " | ".join(COLUMNS) + " |",
        "|---|--:|" + "--:|" * len(COLUMNS),
    ]
    total = collections.Counter()
    for section, counts in per_section.items():
        total.update(counts)
        title = "%s %s" % (section, SECTION_TITLES.get(section, ""))
        lines.append("| %s | %d | " % (title.strip(), counts["cases"]) + " | ".join(str(counts[c]) for c in COLUMNS) + " |")
    lines.append("| **all** | **%d** | " % total["cases"] + " | ".join("**%d**" % total[c] for c in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    client = parser.add_mutually_exclusive_group(required=True)
    client.add_argument("--wstest", help="autobahntestsuite's wstest (Python 2.7)")
    client.add_argument("--kosoku", help="the kosoku runner (Python 3)")
    parser.add_argument("--cases", choices=sorted(SELECTIONS), default="1-10")
    parser.add_argument("--outdir", help="report directory (default: a fresh temporary one)")
    parser.add_argument(
        "--timeout", type=float, help="seconds before the client is stopped (default: 1800 for 1-10, 7200 for 12-13)"
    )
    parser.add_argument("--markdown", help="also write the summary table to this file")
    parser.add_argument("--twin", choices=["c", "python"], help="fail unless the server runs this twin")
    parser.add_argument("--server", choices=sorted(SERVERS), default="echo",
                        help="examples/echo_server.py (echo) or examples/starlette_echo.py on uvicorn "
                        "with wscodec's protocol class (uvicorn)")
    parser.add_argument("--deflate-backend", help="fail unless the server uses this deflate backend "
                        "(set WSCODEC_DEFLATE_BACKEND for the server)")
    args = parser.parse_args(argv)

    patterns, expected_count = SELECTIONS[args.cases]
    if args.timeout is None:
        args.timeout = 1800 if args.cases == "1-10" else 7200
    outdir = os.path.abspath(args.outdir or tempfile.mkdtemp(prefix="autobahn-"))
    os.makedirs(outdir, exist_ok=True)
    index_path = os.path.join(outdir, "index.json")
    for name in os.listdir(outdir):  # never judge a stale report
        if name.endswith((".json", ".html")):
            os.remove(os.path.join(outdir, name))

    with open(os.path.join(outdir, "server.log"), "w+b") as server_log:
        server, port = start_server(server_log, args.server)
        started = time.monotonic()
        try:
            timed_out = run_client(args, patterns, port, outdir)
        finally:
            elapsed = time.monotonic() - started
            crashed = server.poll()
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server_log.seek(0)
            server_output = server_log.read().decode(errors="replace")

    runner = "wstest" if args.wstest else "kosoku"
    banner = re.search(r"\(wscodec (\S+), (\w+) twin(?:, deflate ([^)\s]+))?\)", server_output)
    twin = banner.group(2) if banner else "?"
    backend = (banner.group(3) or "?") if banner else "?"
    print(
        "Autobahn|Testsuite (%s), sections %s, against %s (%s twin, deflate %s): %.1f s"
        % (runner, args.cases, SERVERS[args.server][2], twin, backend, elapsed)
    )
    print("report: %s" % index_path)
    failures = [timed_out] if timed_out else []
    if args.twin and twin != args.twin:
        failures.append("the server ran the %s twin, expected %s" % (twin, args.twin))
    if args.deflate_backend and backend != args.deflate_backend:
        failures.append("the server used the %s deflate backend, expected %s" % (backend, args.deflate_backend))
    if crashed is not None:
        failures.append("the echo server exited during the run (status %d)" % crashed)
    if "Traceback" in server_output or "Exception in callback" in server_output:
        failures.append("the echo server logged an exception:\n" + server_output[-4000:])
    if not os.path.exists(index_path):
        with open(os.path.join(outdir, "client.log"), "rb") as f:
            client_tail = f.read()[-4000:].decode(errors="replace")
        failures.append("the fuzzing client wrote no report; its output ends:\n" + client_tail)
        per_section, problems = {}, []
    else:
        with open(index_path) as f:
            per_section, problems = summarize(json.load(f))
        print()
        print(table(per_section))
        print()
        count = sum(c["cases"] for c in per_section.values())
        if count != expected_count:
            failures.append("%d cases ran, expected %d" % (count, expected_count))
        for case_id, behavior, close, reportfile in problems:
            failures.append("case %s: behavior %s, close behavior %s (%s)" % (case_id, behavior, close, reportfile))
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(table(per_section) + "\n")
    for failure in failures:
        print("FAIL:", failure)
    if failures:
        return 1
    print("every case is %s" % " / ".join(PASSING))
    return 0


if __name__ == "__main__":
    sys.exit(main())
