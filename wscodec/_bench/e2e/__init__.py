"""``python -m wscodec bench e2e``: echo servers driven end to end, with and without wscodec.

Each server of the registry (``_servers``) runs in its own process, once as is and once after
``wscodec.integrations.install()``, pinned to one CPU while the load client (``_client``) runs
on another.  For every case, each round measures both processes one after the other (the
order alternates from round to round) on a fresh connection: a warm-up, then a timed window
in which the messages echoed are counted and every echo is checked.  The figures are the
medians over rounds of messages per second, of the server's CPU time per message, and of the
per-round ratio with/without (paired: both halves of a ratio ran seconds apart, so a slow
drift of a shared machine falls on both).
"""

import argparse
import asyncio
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time

from . import _cases, _client, _report, _servers

__all__ = ["main", "run", "SERVERS", "server", "all_cases"]

SERVERS = _servers.SERVERS
server = _servers.server
all_cases = _cases.all_cases

DEFAULT_SERVERS = ("raw-tcp", "picows", "aiohttp", "websockets", "tornado", "wsproto",
                   "uvicorn-sansio", "uvicorn-wsproto")


def _cpus(pin):
    """(client CPU, server CPU), or (None, None) when pinning is off or impossible."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]


class ServerProcess:
    """One server process: started, asked for its port, stopped by closing its stdin."""

    def __init__(self, entry, with_wscodec, *, cpu, loop, prefix=(), extra_env=None,
                 start_timeout=60):
        self.entry = entry
        self.with_wscodec = with_wscodec
        self.stderr = tempfile.TemporaryFile()
        env = dict(os.environ)
        # The child imports the wscodec this process runs (a checkout or an install).
        import wscodec

        root = os.path.dirname(os.path.dirname(os.path.abspath(wscodec.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env.update(extra_env or {})
        self.info = {}
        if entry.command is not None:
            self.port = _free_port()
            argv = entry.command(self.port, with_wscodec)
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self.stderr, env=env)
            if cpu is not None:
                os.sched_setaffinity(self.proc.pid, {cpu})
            self.pid = self.proc.pid
            try:
                _wait_for_port(self.port, self.proc)
            except BaseException:
                self.stop()
                raise
            return
        argv = list(prefix) + [sys.executable, "-m", "wscodec._bench.e2e._serve", entry.name,
                               "--loop", loop]
        if with_wscodec:
            argv.append("--wscodec")
        if cpu is not None:
            argv += ["--cpu", str(cpu)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env)
        line = _readline(self.proc, start_timeout)
        if not line.startswith(b"READY "):
            errors = self.errors()
            self.stop()
            raise RuntimeError("server %s did not start: %s" % (entry.name, errors))
        _, port, info = line.decode().split(" ", 2)
        self.port, self.info = int(port), json.loads(info)
        self.pid = self.info["pid"]

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace").strip()[-2000:]

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.stderr):
            if f is not None:
                f.close()


def _readline(proc, timeout):
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        line += chunk
    sel.close()
    return line


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port, proc, timeout=30):
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on port %d" % port)


def _client_loop():
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(servers, cases, *, rounds, warmup, duration, pin=True, server_loop="asyncio",
        progress=None):
    """Measure; returns the report dict (see ``_report``)."""
    client_cpu, server_cpu = _cpus(pin)
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    loop = _client_loop()
    report = _report.new(servers, cases, rounds=rounds, warmup=warmup, duration=duration,
                         client_cpu=client_cpu, server_cpu=server_cpu,
                         client_loop=type(loop).__module__, server_loop=server_loop)
    try:
        for entry in servers:
            procs = {}
            try:
                for variant in entry.variants():
                    procs[variant] = ServerProcess(entry, variant, cpu=server_cpu,
                                                   loop=server_loop)
                    report["servers"][entry.name]["info"][_report.VARIANT[variant]] = \
                        procs[variant].info
                for case in cases:
                    _run_case(loop, report, entry, procs, case, rounds=rounds, warmup=warmup,
                              duration=duration, progress=progress)
            finally:
                for p in procs.values():
                    p.stop()
    finally:
        loop.close()
    _report.summarize(report)
    return report


def _run_case(loop, report, entry, procs, case, *, rounds, warmup, duration, progress):
    cell = report["results"][entry.name][case.id]
    if case.deflate and not entry.deflate:
        cell["status"] = "n/a"
        return
    variants = entry.variants()
    for r in range(rounds):
        order = variants if r % 2 == 0 else variants[::-1]
        for variant in order:
            proc = procs[variant]
            key = _report.VARIANT[variant]
            try:
                m = loop.run_until_complete(_client.measure(
                    proc.port, proc.pid, case, websocket=entry.websocket, warmup=warmup,
                    duration=duration, seed=r))
            except _client.WrongEcho as exc:
                cell["status"] = "wrong echo"
                cell["error"] = "%s: %s" % (key, exc)
                return
            except (_client.HandshakeFailed, OSError, asyncio.TimeoutError) as exc:
                cell["status"] = "failed"
                cell["error"] = "%s: %s: %s%s" % (key, type(exc).__name__, exc,
                                                  ("\n" + proc.errors()) if proc.errors() else "")
                return
            cell["rounds"][key].append(m)
            if progress:
                progress(entry, case, r, key, m)
    cell["status"] = "ok"


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m wscodec bench e2e",
        description="Echo servers end to end over loopback, each with and without "
                    "wscodec.integrations.install(): messages/s, server CPU per message and "
                    "paired per-round ratios.")
    p.add_argument("--servers", help="comma-separated server names (default: every installed "
                                     "one of %s)" % ",".join(DEFAULT_SERVERS))
    p.add_argument("--cases", help="comma-separated case ids (default: all)")
    p.add_argument("--rounds", type=int, default=5, help="rounds per case (default 5)")
    p.add_argument("--duration", type=float, default=2.0,
                   help="seconds timed per measurement (default 2)")
    p.add_argument("--warmup", type=float, default=0.5,
                   help="seconds echoed before the timed window (default 0.5)")
    p.add_argument("--quick", action="store_true",
                   help="2 rounds of 0.3 s: a smoke run, not a measurement")
    p.add_argument("--no-pin", action="store_true", help="do not pin client and server CPUs")
    p.add_argument("--server-loop", choices=("asyncio", "uvloop"), default="asyncio",
                   help="event loop of the servers (default asyncio, as the libraries' "
                        "documentation runs them)")
    p.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the ratios (needs matplotlib)")
    p.add_argument("--list", action="store_true", help="list servers and cases and exit")
    p.add_argument("--callgrind", metavar="N1,N2",
                   help="instead of timing: instructions per echoed message under valgrind's "
                        "callgrind, from two runs echoing N1 and N2 messages (e.g. 200,1200)")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    cases_by_id = {c.id: c for c in _cases.all_cases()}
    if args.list:
        for name, entry in SERVERS.items():
            missing = entry.missing()
            print("server %-18s %s%s" % (name, entry.title,
                                         " (missing: %s)" % ", ".join(missing) if missing else ""))
        for case in cases_by_id.values():
            print("case   %-22s %s" % (case.id, case.title))
        return 0
    if args.servers:
        names = [n.strip() for n in args.servers.split(",") if n.strip()]
        unknown = [n for n in names if n not in SERVERS]
        if unknown:
            print("unknown server(s): %s; see --list" % ", ".join(unknown), file=sys.stderr)
            return 2
        servers = [SERVERS[n] for n in names]
        missing = ["%s (needs %s)" % (s.name, ", ".join(s.missing())) for s in servers
                   if s.missing()]
        if missing:
            print("cannot run: %s" % "; ".join(missing), file=sys.stderr)
            return 2
    else:
        servers = [SERVERS[n] for n in DEFAULT_SERVERS if not SERVERS[n].missing()]
    ids = ([c.strip() for c in args.cases.split(",") if c.strip()] if args.cases
           else list(_cases.DEFAULT))
    unknown = [c for c in ids if c not in cases_by_id]
    if unknown:
        print("unknown case(s): %s; see --list" % ", ".join(unknown), file=sys.stderr)
        return 2
    cases = [cases_by_id[c] for c in ids]
    if args.callgrind:
        from . import _profile

        counts = tuple(int(x) for x in args.callgrind.split(","))
        if len(counts) != 2 or not 0 < counts[0] < counts[1]:
            print("--callgrind takes N1,N2 with 0 < N1 < N2", file=sys.stderr)
            return 2
        return _profile.main(servers, cases, counts)
    if args.quick:
        args.rounds, args.duration, args.warmup = 2, 0.3, 0.1
    if args.rounds < 1 or args.duration <= 0 or args.warmup < 0:
        print("--rounds must be >= 1, --duration > 0, --warmup >= 0", file=sys.stderr)
        return 2

    command = " ".join(["python -m wscodec bench e2e"] + list(argv or []))

    def progress(entry, case, r, key, m):
        print("  %-16s %-22s round %d %-8s %10.0f msg/s" % (entry.name, case.id, r + 1, key,
                                                          m["rate"]), file=sys.stderr,
              flush=True)

    report = run(servers, cases, rounds=args.rounds, warmup=args.warmup,
                 duration=args.duration, pin=not args.no_pin, server_loop=args.server_loop,
                 progress=progress)
    report["command"] = command
    print(_report.text(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(_report.markdown(report))
    if args.plot:
        _report.plot(report, args.plot)
    bad = [(s, c) for s, row in report["results"].items() for c, cell in row.items()
           if cell["status"] in ("wrong echo", "failed")]
    return 1 if bad else 0
