"""Instruction counts per echoed message, under ``valgrind --tool=callgrind``.

Instruction counts do not depend on what else the machine runs, so unlike messages/s they
repeat exactly on a shared machine.  Each server runs twice under callgrind (hash seed fixed),
echoing ``n1`` then ``n2`` messages on one connection; everything else (start-up, imports, the
handshake, shutdown) is the same in both runs, so ``(Ir(n2) - Ir(n1)) / (n2 - n1)`` is the cost
of one echoed message, and the same difference per function and per shared object is where
that cost goes.  Only user-space instructions are counted: the kernel's share of a
``send``/``recv`` is not.
"""

import asyncio
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

from . import _client

_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([\s\d.%]+\)\s+)?(\S.*?)\s*$")


def _functions(path):
    """{(object, function): self Ir} of one callgrind output file."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100",
                          "--show-percs=no", "--auto=no", path],
                         capture_output=True, text=True, check=True).stdout
    costs, total = collections.Counter(), None
    started = False
    for line in out.splitlines():
        if total is None and "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        if "file:function" in line:
            started = True
            continue
        if not started:
            continue
        m = _LINE.match(line)
        if not m:
            continue
        name = m.group(2)
        obj = ""
        bm = re.search(r"\[(.+)\]$", name)
        if bm:
            obj, name = bm.group(1), name[:bm.start()].strip()
        name = name.split(":", 1)[-1] if ":" in name else name
        name = re.sub(r"'\d+$", "", name)           # recursion levels: one function
        costs[(obj, name)] += int(m.group(1).replace(",", ""))
    # A function is listed once per source file its code came from (inlined headers), and
    # only some of those lines name its object: merge them under the object one line names.
    objects = {fn: obj for (obj, fn) in costs if obj}
    merged = collections.Counter()
    for (obj, fn), v in costs.items():
        merged[(obj or objects.get(fn, ""), fn)] += v
    return total, merged


def _group(obj, function):
    """A coarse owner for a function: where its instructions belong in the breakdown."""
    o = os.path.basename(obj).lower()
    if "wscodec" in obj.lower() or function.startswith("__pyx_pw_7wscodec"):
        return "wscodec (compiled)"
    if "libz" in o or "zlib" in o:
        return "zlib (deflate)"
    if o.startswith("libc") or o.startswith("ld-linux"):
        return "libc (memcpy, malloc, syscalls wrappers)"
    if "libpython" in o or o.startswith("python") or o == "":
        return "CPython interpreter and objects"
    if "uvloop" in o:
        return "uvloop"
    return "other compiled modules (%s)" % os.path.basename(obj)


def callgrind(entry, case, with_wscodec, counts, workdir):
    """Ir per message of ``entry`` echoing ``case``; returns (per_msg, per_function, per_group)."""
    from . import ServerProcess

    runs = []
    for n in counts:
        out = os.path.join(workdir, "%s-%s-%s-%d.callgrind" % (
            entry.name, "with" if with_wscodec else "without", case.id, n))
        prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
        proc = ServerProcess(entry, with_wscodec, cpu=None, loop="asyncio", prefix=prefix,
                             extra_env={"PYTHONHASHSEED": "0"}, start_timeout=900)
        try:
            loop = asyncio.new_event_loop()
            try:
                got = loop.run_until_complete(
                    _client.exchange(proc.port, case, n, websocket=entry.websocket))
            finally:
                loop.close()
            if got != n:
                raise RuntimeError("%d echoes of %d" % (got, n))
        finally:
            proc.stop(timeout=600)
        runs.append(_functions(out))
    (t1, f1), (t2, f2) = runs
    dn = counts[1] - counts[0]
    per_function = {k: (f2[k] - f1[k]) / dn for k in set(f1) | set(f2)}
    groups = collections.Counter()
    for (obj, fn), v in per_function.items():
        groups[_group(obj, fn)] += v
    return (t2 - t1) / dn, per_function, dict(groups)


def main(servers, cases, counts, top=25, workdir=None):
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    workdir = workdir or tempfile.mkdtemp(prefix="wscodec-callgrind-")
    print("callgrind: Ir per echoed message = (Ir(%d) - Ir(%d)) / %d; files in %s" % (
        counts[1], counts[0], counts[1] - counts[0], workdir))
    for entry in servers:
        for case in cases:
            if case.deflate and not entry.deflate:
                continue
            figures = {}
            for variant in entry.variants():
                figures[variant] = callgrind(entry, case, variant, counts, workdir)
            print()
            line = "%s, %s: Ir per message" % (entry.name, case.id)
            for variant, (per_msg, _, _) in figures.items():
                line += "  %s wscodec %.0f" % ("with" if variant else "without", per_msg)
            if len(figures) == 2:
                line += "  (without/with %.2fx)" % (figures[False][0] / figures[True][0])
            print(line)
            for variant, (per_msg, per_function, groups) in figures.items():
                print("  %s wscodec, by owner:" % ("with" if variant else "without"))
                for g, v in sorted(groups.items(), key=lambda kv: -kv[1]):
                    if abs(v) >= per_msg * 0.005:
                        print("    %10.0f  %5.1f%%  %s" % (v, 100 * v / per_msg, g))
                print("  %s wscodec, top functions (self Ir per message):" % (
                    "with" if variant else "without"))
                for (obj, fn), v in sorted(per_function.items(), key=lambda kv: -kv[1])[:top]:
                    print("    %10.0f  %5.1f%%  %s  [%s]" % (v, 100 * v / per_msg, fn[:70],
                                                        os.path.basename(obj)))
            sys.stdout.flush()
    return 0
