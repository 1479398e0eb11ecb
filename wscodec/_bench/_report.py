"""Rendering: the machine header, the text table, Markdown, JSON and the bar chart."""

import collections
import datetime
import importlib
import json
import os
import platform
import sys

from . import _cases

RATIO_NOTE = (
    "\"wscodec is N.N× faster\" = this row's median time / the median time of wscodec's "
    "fastest row in the case (\"N.N× slower\": wscodec's row takes N.N times as long); "
    "\"baseline\" marks that wscodec row."
)
NOISE_NOTE = (
    "The machine may be shared and noisy: only ratios measured in the same run mean "
    "anything; absolute times do not carry over to other runs or machines."
)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _cpu_features():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = set(line.split(":", 1)[1].split())
                    wanted = ["sse2", "avx2", "avx512bw", "neon", "asimd"]
                    return [w for w in wanted if w in flags]
    except OSError:
        pass
    return []


def _version(distribution):
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def pinned_peers():
    """Display name -> the version the ``bench`` extra pins (the versions the README's figures
    were measured with), read from wscodec's installed metadata; empty when it has none."""
    try:
        from importlib.metadata import PackageNotFoundError, requires
    except ImportError:  # pragma: no cover - Python < 3.8
        return {}
    try:
        lines = requires("wscodec") or []
    except PackageNotFoundError:
        return {}
    by_dist = {dist.lower(): name for name, (dist, _) in _cases.LIBRARIES.items()}
    out = {}
    for line in lines:
        spec, _, marker = line.partition(";")
        if "bench" not in marker or "==" not in spec:
            continue
        dist, _, version = spec.partition("==")
        name = by_dist.get(dist.strip().lower().replace("_", "-"))
        if name is not None:
            out[name] = version.strip()
    return out


def machine_info():
    """What the numbers were measured on and with."""
    try:
        import wscodec

        from wscodec import _select

        implementation = wscodec.IMPLEMENTATION
        wscodec_version = wscodec.__version__
        simd = getattr(wscodec, "SIMD", None)  # the kernel level chosen at import, if any
        fallback = _select.fallback_reason()
        location = os.path.dirname(os.path.abspath(wscodec.__file__))
    except Exception as exc:
        implementation = "unavailable (%s)" % exc
        wscodec_version = simd = location = None
        fallback = "wscodec does not import: %s" % exc
    peers = {}
    for name, (dist, module) in _cases.LIBRARIES.items():
        try:
            importlib.import_module(module)
        except Exception:
            peers[name] = None  # not importable: "not installed" for the benchmark
        else:
            peers[name] = _version(dist) or "?"
    return {
        "wscodec_version": wscodec_version,
        "implementation": implementation,
        "simd": simd,
        "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "python_build": " ".join(platform.python_build()),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_features": _cpu_features(),
        "cpus": os.cpu_count(),
        "peers": peers,
        "pinned": pinned_peers(),
        "fallback_reason": fallback,
        "wscodec_location": location,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def method_text(settings):
    clock = ("CPU time of the benchmark thread (time.thread_time: time the scheduler gives "
             "other processes is not counted)" if settings.clock == "cpu" else
             "wall-clock time (time.perf_counter)")
    return (
        "interleaved rounds (each round times every contender once, in a fresh random order); "
        + clock + "; "
        "inner loop counts calibrated to ~%.1f ms per sample; %d-%d rounds per case within "
        "~%.1f s; garbage collector paused while timing (as timeit does); reported: median "
        "time per statement over rounds; spread = half the interquartile range / median."
        % (settings.target_sample * 1e3, settings.min_rounds, settings.max_rounds,
           settings.budget)
    )


def _peer_text(name, version, pinned):
    text = "%s %s" % (name, version)
    pin = pinned.get(name)
    if pin is not None and pin != version:
        text += " (the README's figures: %s)" % pin
    return text


def peers_line(info):
    pinned = info.get("pinned") or {}
    peers = ", ".join(_peer_text(k, v, pinned) for k, v in info["peers"].items() if v)
    missing = ", ".join(k for k, v in info["peers"].items() if not v) or "none"
    return "Peers: %s; not installed: %s" % (peers or "none", missing)


def pure_warning(info):
    """The box printed at the top and the bottom when the pure-Python twins are measured on
    CPython (elsewhere they are all there is); empty when the compiled twins are."""
    if info["implementation"] == "c" or not info["python"].startswith("CPython"):
        return []
    import textwrap

    bar = "!" * 78
    text = ("NOT WHAT `pip install wscodec` GIVES ON CPYTHON: this run measures wscodec's "
            "pure-Python twins (wscodec.IMPLEMENTATION = %s), many times slower than the "
            "compiled twins that wheels carry; its figures say nothing about the compiled "
            "wscodec." % info["implementation"])
    why = "Why: %s." % (info.get("fallback_reason") or "unknown")
    lines = [bar]
    for paragraph in (text, why):
        lines += ["!! " + line for line in textwrap.wrap(paragraph, 75)]
    return lines + [bar]


def header_lines(info, settings, command):
    return [
        "wscodec benchmark comparison: %s" % command,
        "wscodec %s, wscodec.IMPLEMENTATION = %s%s, from %s"
        % (info["wscodec_version"], info["implementation"],
           ", wscodec.SIMD = %s" % info["simd"] if info["simd"] is not None else "",
           info.get("wscodec_location") or "?"),
        "Python: %s (%s) on %s" % (info["python"], info["python_build"], info["platform"]),
        "CPU: %s, %s logical CPUs, features: %s"
        % (info["cpu"], info["cpus"], " ".join(info["cpu_features"]) or "-"),
        peers_line(info),
    ]


def method_lines(settings):
    return [
        "Method: " + method_text(settings),
        NOISE_NOTE,
        "Ratio: " + RATIO_NOTE,
        "Units: time per operation (per frame for the decoding cases); "
        "1 MB/s = 10^6 bytes/s, 1 GB/s = 10^9 bytes/s of payload.",
    ]


def closing_lines(info, chart=None, chart_note=None, files=()):
    if info["implementation"] == "c":
        what = ("Measured: wscodec %s compiled (IMPLEMENTATION = c, SIMD = %s) on %s."
                % (info["wscodec_version"], info["simd"], info["python"]))
    else:
        what = ("Measured: wscodec %s pure-Python twins (IMPLEMENTATION = %s) on %s."
                % (info["wscodec_version"], info["implementation"], info["python"]))
    lines = [what, peers_line(info)]
    if chart:
        lines.append("Chart: %s" % chart)
    elif chart_note:
        lines.append("Chart: %s" % chart_note)
    lines.extend(files)
    return lines
def _sig3(v):
    if v < 10:
        return "%.2f" % v
    if v < 100:
        return "%.1f" % v
    return "%.0f" % v


def fmt_time(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3)):
        if seconds < scale * 1000:
            return "%s %s" % (_sig3(seconds / scale), unit)
    return "%s s" % _sig3(seconds)


def fmt_rate(bytes_per_second):
    if bytes_per_second is None:
        return "-"
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if bytes_per_second >= scale:
            return "%s %s" % (_sig3(bytes_per_second / scale), unit)
    return "%s B/s" % _sig3(bytes_per_second)


def fmt_ratio(ratio):
    return "-" if ratio is None else "%.2f" % ratio


def _factor(x):
    if x < 1.095:
        return "%.2f" % x
    if x < 99.5:
        return "%.1f" % x
    return "%.0f" % x


def fmt_speed(times):
    """``times`` = the other's time / wscodec's: "2.1× faster" (wscodec), "1.3× slower"."""
    if times is None:
        return "-"
    if times >= 1:
        return "%s× faster" % _factor(times)
    return "%s× slower" % _factor(1 / times)


def _row(cr, r):
    case = cr.case
    if not r.ok:
        return [r.name, r.status, "", "", ""]
    per_item = r.median / case.items
    rate = case.nbytes / r.median if case.nbytes else None
    spread = r.spread
    ratio = cr.ratio(r)
    if r is cr.reference:
        speed = "baseline"
    else:
        speed = fmt_speed(None if not ratio else 1 / ratio)
    return [
        r.name,
        fmt_time(per_item),
        fmt_rate(rate),
        "-" if spread is None else "±%.0f%%" % (spread * 100),
        speed,
    ]


def case_text(cr):
    case = cr.case
    title = "%s: %s (time per %s; %d rounds)" % (case.id, case.title, case.item_label, cr.rounds)
    head = ["contender", "time/" + case.item_label, "throughput", "spread", "wscodec is"]
    rows = [_row(cr, r) for r in cr.results]
    widths = [max([len(head[i])] + [len(row[i]) for row in rows if row[2] or i == 0])
              for i in range(len(head))]
    lines = [title]

    def fmt(row):
        if not row[2] and row[1] and row[1] not in ("-",) and row[4] in ("", "-"):
            # Not timed: the reason spans the numeric columns.
            return "  %s  %s" % (row[0].ljust(widths[0]), row[1])
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 5)]
        return "  " + "  ".join(cells)

    lines.append("  " + "  ".join([head[0].ljust(widths[0])] +
                                  [head[i].rjust(widths[i]) for i in range(1, 5)]))
    lines.extend(fmt(row) for row in rows)
    return "\n".join(lines)


def summary_rows(case_results):
    rows = []
    for cr in case_results:
        ref, peer = cr.reference, cr.fastest_peer
        rows.append([
            cr.case.id,
            ref.name if ref else "missing",
            fmt_time(ref.median / cr.case.items) if ref else "-",
            peer.name if peer else "-",
            fmt_time(peer.median / cr.case.items) if peer else "-",
            fmt_speed(peer.median / ref.median) if ref and peer else "-",
        ])
    return rows


SUMMARY_HEAD = ["case", "wscodec row", "time", "fastest peer", "peer time", "wscodec is"]
_SUMMARY_RIGHT = (False, False, True, False, True, True)


def summary_text(case_results):
    rows = summary_rows(case_results)
    n = len(SUMMARY_HEAD)
    widths = [max([len(SUMMARY_HEAD[i])] + [len(r[i]) for r in rows]) for i in range(n)]
    lines = ["Per case: wscodec's fastest row against the fastest peer (time per op or frame)"]
    for row in [SUMMARY_HEAD] + rows:
        lines.append("  " + "  ".join(row[i].rjust(widths[i]) if _SUMMARY_RIGHT[i]
                                      else row[i].ljust(widths[i]) for i in range(n)))
    return "\n".join(lines)


def _md_escape(text):
    return text.replace("|", "\\|")


def markdown(info, settings, command, case_results):
    out = []
    if pure_warning(info):
        out.append("> **Not what `pip install wscodec` gives on CPython**: these figures are "
                   "wscodec's pure-Python twins (`IMPLEMENTATION = \"%s\"`). Why: %s."
                   % (info["implementation"], info.get("fallback_reason") or "unknown"))
        out.append("")
    out.append("Command: `%s`  " % command)
    out.append("wscodec %s (`IMPLEMENTATION = \"%s\"`), %s, %s (%s logical CPUs), %s.  "
               % (info["wscodec_version"], info["implementation"], info["python"],
                  info["cpu"], info["cpus"], info["platform"]))
    out.append("Peers: %s.  " % ", ".join(
        "%s %s" % (k, v if v else "(not installed)") for k, v in info["peers"].items()))
    out.append("Method: %s  " % method_text(settings))
    out.append("%s %s" % (NOISE_NOTE, RATIO_NOTE))
    out.append("")
    group = None
    for cr in case_results:
        if cr.case.group != group:
            group = cr.case.group
            out.append("")
            out.append("#### %s" % group)
            out.append("")
            out.append("| case | contender | time | throughput | wscodec is |")
            out.append("|---|---|--:|--:|--:|")
        first = True
        for r in cr.results:
            row = _row(cr, r)
            case_cell = ("%s (per %s)" % (cr.case.id, cr.case.item_label)) if first else ""
            first = False
            if r.ok:
                cells = [case_cell, row[0], row[1], row[2], row[4]]
            else:
                cells = [case_cell, row[0], row[1], "", ""]
            out.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    out.append("")
    out.append("#### Per case: wscodec against the fastest peer")
    out.append("")
    out.append("| " + " | ".join(SUMMARY_HEAD) + " |")
    out.append("|" + "|".join("--:" if right else "---" for right in _SUMMARY_RIGHT) + "|")
    for row in summary_rows(case_results):
        out.append("| " + " | ".join(_md_escape(c) for c in row) + " |")
    return "\n".join(out) + "\n"


def as_json(info, settings, command, case_results):
    cases = []
    for cr in case_results:
        case = cr.case
        results = []
        for r in cr.results:
            entry = {"name": r.name, "library": r.library, "status": r.status}
            if r.ok:
                entry.update({
                    "median_s": r.median,
                    "per_item_s": r.median / case.items,
                    "throughput_Bps": case.nbytes / r.median if case.nbytes else None,
                    "spread": r.spread,
                    "ratio_wscodec_over_this": cr.ratio(r),
                    "wscodec_times_faster": (1 / cr.ratio(r)) if cr.ratio(r) else None,
                    "loops": r.loops,
                    "samples_s": r.samples,
                })
            results.append(entry)
        cases.append({"id": case.id, "group": case.group, "title": case.title,
                      "nbytes": case.nbytes, "items": case.items,
                      "item_label": case.item_label, "rounds": cr.rounds,
                      "results": results})
    return json.dumps({"command": command, "machine": info, "settings": settings.as_dict(),
                       "ratio": RATIO_NOTE, "note": NOISE_NOTE, "cases": cases}, indent=1)


_COLORS = {
    "wscodec": "#d62728", "websockets": "#1f77b4", "aiohttp": "#2ca02c", "picows": "#9467bd",
    "wsaccel": "#8c564b", "tornado": "#e377c2", "websocket-client": "#7f7f7f",
    "wsproto": "#bcbd22", "autobahn": "#17becf", "python": "#ff7f0e",
}


class NoMatplotlib(ImportError):
    """The chart needs matplotlib, which does not import."""


_WSCODEC_SHADES = ["#d62728", "#ff9896", "#8c1515", "#f4a582"]


def plot(path, info, case_results):
    """Grouped bar chart: one panel per case group, one bar per measured contender
    (matplotlib).  Throughput where payload size is the point (masking, UTF-8, large frames),
    time per operation where per-call cost is (small frames); log scale when the bars span
    more than 30x."""
    try:
        import matplotlib
    except ImportError:
        raise NoMatplotlib() from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = []
    for cr in case_results:
        if not groups or groups[-1][0] != cr.case.group:
            groups.append((cr.case.group, []))
        groups[-1][1].append(cr)
    def color(cr, r):
        # wscodec's rows in shades of red by their rank in the case; peers by library.
        if r.is_wscodec:
            rank = [x.name for x in cr.results if x.is_wscodec].index(r.name)
            return _WSCODEC_SHADES[rank % len(_WSCODEC_SHADES)]
        return _COLORS.get(r.library, "#333333")

    fig, axes = plt.subplots(len(groups), 1, figsize=(15, 4.4 * len(groups)), squeeze=False)
    for ax, (group, crs) in zip(axes[:, 0], groups):
        use_rate = all(cr.case.plot_rate for cr in crs)
        values, seen = [], set()
        for i, cr in enumerate(crs):
            measured = [r for r in cr.results if r.ok]
            width = 0.84 / max(len(measured), 1)
            for j, r in enumerate(measured):
                y = (cr.case.nbytes / r.median / 1e9) if use_rate else \
                    (r.median / cr.case.items * 1e9)
                values.append(y)
                ax.bar(i - 0.42 + width * (j + 0.5), y, width * 0.95,
                       label=None if r.name in seen else r.name, color=color(cr, r),
                       edgecolor="black" if r.is_wscodec else "none", linewidth=0.6,
                       hatch="//" if r.is_wscodec and "[python]" in r.name else None)
                seen.add(r.name)
        labels = [cr.case.id.split("/", 1)[1] for cr in crs]
        crowded = len(labels) > 6 or max(len(x) for x in labels) > 24
        ax.set_xticks(range(len(crs)))
        ax.set_xticklabels(labels, fontsize=7 if crowded else 8,
                           rotation=25 if crowded else 0, ha="right" if crowded else "center")
        ax.set_title(group)
        items = {cr.case.item_label for cr in crs}
        ax.set_ylabel("GB/s of payload (higher is better)" if use_rate else
                      "ns per %s (lower is better)" % (items.pop() if len(items) == 1
                                                       else "op or frame"))
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 30:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle("%swscodec %s (IMPLEMENTATION=%s) vs peers - %s, %s - %s; compare bars within "
                 "one run only" % ("PURE-PYTHON TWINS, NOT THE COMPILED WSCODEC: "
                                   if pure_warning(info) else "",
                                   info["wscodec_version"], info["implementation"],
                                   info["python"], info["cpu"], info["date"]), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _range_text(values):
    lo, hi = min(values), max(values)
    if fmt_speed(lo) == fmt_speed(hi):
        return fmt_speed(lo)
    if lo >= 1:
        return "%s× to %s× faster" % (_factor(lo), _factor(hi))
    if hi < 1:
        return "%s× to %s× slower" % (_factor(1 / hi), _factor(1 / lo))
    return "%s to %s" % (fmt_speed(lo), fmt_speed(hi))


def gains_lines(case_results, info):
    """The short summary printed first: per library, what installing wscodec gains you.

    Drop-in: each library's own job as installed against the same job once
    ``wscodec.integrations.install()`` has run.  Direct use: wscodec's API against each
    library's own code for the same job (its fastest row in each case).
    """
    versions = {k: v for k, v in info["peers"].items() if v}
    dropin = collections.OrderedDict()
    direct = collections.OrderedDict()
    for cr in case_results:
        ref = cr.reference
        if cr.case.group == "integrations":
            peer = next((r for r in cr.results if not r.is_wscodec), None)
            ours = next((r for r in cr.results if r.is_wscodec), None)
            if peer is None or ours is None:
                continue
            label = cr.case.title.split(": ", 1)[-1]
            if peer.ok and ours.ok:
                dropin.setdefault(peer.library, []).append((label, peer.median / ours.median))
            elif peer.status == _cases.NOT_INSTALLED:
                dropin.setdefault(peer.library, [])
            else:
                status = ours.status if peer.ok else peer.status
                status = status.replace("not timed: ", "", 1).replace(" (the row above)", "")
                dropin.setdefault(peer.library, []).append((label, status))
            continue
        if ref is None:
            continue
        best = {}
        for r in cr.results:
            if r.is_wscodec or not r.ok:
                continue
            if r.library not in best or r.median < best[r.library].median:
                best[r.library] = r
        for library, r in best.items():
            direct.setdefault(library, []).append((cr.case.id, r.median / ref.median))

    def name(library):
        if library == "python":
            return "the standard library"
        return "%s %s" % (library, versions.get(library, "")) if versions.get(library) else library

    lines = ["What installing wscodec gains you (medians of this run; \"N.N× faster\": wscodec "
             "takes 1/N.N of the time):"]
    if dropin:
        lines.append("  Your library with wscodec.integrations.install(), against the library "
                     "alone:")
        for library, rows in dropin.items():
            timed = [t for _, t in rows if isinstance(t, float)]
            if not rows:
                lines.append("    %s: not installed" % library)
                continue
            if not timed:
                reason = next((t for _, t in rows if isinstance(t, str)), None)
                lines.append("    %s: no gain measured here%s" % (
                    name(library), ": " + reason if reason else ""))
                continue
            lines.append("    %s: %s" % (name(library), _range_text(timed)))
            width = max(len(label) for label, _ in rows)
            for label, t in rows:
                lines.append("      %s  %s" % (label.ljust(width), fmt_speed(t)
                                               if isinstance(t, float) else "not timed"))
    if direct:
        lines.append("  wscodec's own API, against each library's fastest way to do the same "
                     "job:")
        width = max(len(name(library)) for library in direct)
        for library, rows in direct.items():
            values = [t for _, t in rows]
            best = max(rows, key=lambda row: row[1])
            worst = min(rows, key=lambda row: row[1])
            detail = ("%d cases; most: %s, least: %s" % (len(rows), best[0], worst[0])
                      if len(rows) > 1 else rows[0][0])
            lines.append("    %s  %s  (%s)" % (name(library).ljust(width), _range_text(values),
                                               detail))
    return lines
