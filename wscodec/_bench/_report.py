"""Rendering: the machine header, the text table, Markdown, JSON and the bar chart."""

import datetime
import importlib
import json
import os
import platform
import sys

from . import _cases

RATIO_NOTE = (
    "wscodec/this = median time of wscodec's fastest row in the case / this row's median "
    "time (below 1.00: wscodec is faster; above 1.00: this row is faster)."
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


def machine_info():
    """What the numbers were measured on and with."""
    try:
        import wscodec

        implementation = wscodec.IMPLEMENTATION
        wscodec_version = wscodec.__version__
        simd = getattr(wscodec, "SIMD", None)  # the kernel level chosen at import, if any
    except Exception as exc:
        implementation = "unavailable (%s)" % exc
        wscodec_version = simd = None
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


def header_lines(info, settings, command):
    peers = ", ".join("%s %s" % (k, v) for k, v in info["peers"].items() if v)
    missing = ", ".join(k for k, v in info["peers"].items() if not v) or "none"
    return [
        "wscodec benchmark comparison: %s" % command,
        "wscodec %s, wscodec.IMPLEMENTATION = %s%s"
        % (info["wscodec_version"], info["implementation"],
           ", wscodec.SIMD = %s" % info["simd"] if info["simd"] is not None else ""),
        "Python: %s (%s) on %s" % (info["python"], info["python_build"], info["platform"]),
        "CPU: %s, %s logical CPUs, features: %s"
        % (info["cpu"], info["cpus"], " ".join(info["cpu_features"]) or "-"),
        "Peers: %s; not installed: %s" % (peers, missing),
        "Method: " + method_text(settings),
        NOISE_NOTE,
        "Ratio: " + RATIO_NOTE,
        "Units: time per operation (per frame for the decoding cases); "
        "1 MB/s = 10^6 bytes/s, 1 GB/s = 10^9 bytes/s of payload.",
    ]


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


def _row(cr, r):
    case = cr.case
    if not r.ok:
        return [r.name, r.status, "", "", ""]
    per_item = r.median / case.items
    rate = case.nbytes / r.median if case.nbytes else None
    spread = r.spread
    return [
        r.name,
        fmt_time(per_item),
        fmt_rate(rate),
        "-" if spread is None else "±%.0f%%" % (spread * 100),
        fmt_ratio(cr.ratio(r)),
    ]


def case_text(cr):
    case = cr.case
    title = "%s: %s (time per %s; %d rounds)" % (case.id, case.title, case.item_label, cr.rounds)
    head = ["contender", "time/" + case.item_label, "throughput", "spread", "wscodec/this"]
    rows = [_row(cr, r) for r in cr.results]
    widths = [max([len(head[i])] + [len(row[i]) for row in rows if row[2] or i == 0])
              for i in range(len(head))]
    lines = [title]

    def fmt(row):
        if not row[2] and row[1] and row[1] not in ("-",) and not row[4]:
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
            fmt_ratio(ref.median / peer.median) if ref and peer else "-",
        ])
    return rows


SUMMARY_HEAD = ["case", "wscodec row", "time", "fastest peer", "peer time", "wscodec/peer"]
_SUMMARY_RIGHT = (False, False, True, False, True, True)


def summary_text(case_results):
    rows = summary_rows(case_results)
    n = len(SUMMARY_HEAD)
    widths = [max([len(SUMMARY_HEAD[i])] + [len(r[i]) for r in rows]) for i in range(n)]
    lines = ["Summary: wscodec's fastest row vs the fastest peer in each case (time per op or "
             "frame; wscodec/peer below 1.00 means wscodec is faster)"]
    for row in [SUMMARY_HEAD] + rows:
        lines.append("  " + "  ".join(row[i].rjust(widths[i]) if _SUMMARY_RIGHT[i]
                                      else row[i].ljust(widths[i]) for i in range(n)))
    return "\n".join(lines)


def _md_escape(text):
    return text.replace("|", "\\|")


def markdown(info, settings, command, case_results):
    out = []
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
            out.append("| case | contender | time | throughput | wscodec/this |")
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
    out.append("#### Summary: wscodec vs the fastest peer")
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


_WSCODEC_SHADES = ["#d62728", "#ff9896", "#8c1515", "#f4a582"]


def plot(path, info, case_results):
    """Grouped bar chart: one panel per case group, one bar per measured contender
    (matplotlib).  Throughput where payload size is the point (masking, UTF-8, large frames),
    time per operation where per-call cost is (small frames); log scale when the bars span
    more than 30x."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'wscodec[bench]'") from None
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
    fig.suptitle("wscodec %s (IMPLEMENTATION=%s) vs peers - %s, %s - %s; compare bars within "
                 "one run only" % (info["wscodec_version"], info["implementation"],
                                   info["python"], info["cpu"], info["date"]), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=110)
    plt.close(fig)
