"""The end-to-end report: one dict (the JSON output), its tables and its chart."""

import platform
import statistics
import sys

VARIANT = {False: "without", True: "with"}


def new(servers, cases, **settings):
    import wscodec

    return {
        "settings": settings,
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu": _cpu_name(),
            "wscodec": wscodec.__version__,
            "implementation": wscodec.IMPLEMENTATION,
        },
        "cases": [c.as_dict() for c in cases],
        "servers": {s.name: {"title": s.title, "wscodec": s.wscodec, "info": {}}
                    for s in servers},
        "results": {s.name: {c.id: {"status": "not run", "rounds": {"without": [], "with": []}}
                             for c in cases} for s in servers},
    }


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(report):
    """Add medians, spreads and the paired ratios to every measured cell."""
    for row in report["results"].values():
        for cell in row.values():
            if cell["status"] != "ok":
                continue
            for key, ms in cell["rounds"].items():
                if not ms:
                    continue
                cell[key] = {"rate": _spread([m["rate"] for m in ms])}
                cpu = [m["server_cpu_s"] / m["messages"] * 1e6 for m in ms
                       if m["server_cpu_s"] is not None and m["messages"]]
                if cpu:
                    cell[key]["server_cpu_us_per_msg"] = _spread(cpu)
                cell[key]["client_load"] = max(m["client_cpu_s"] / m["seconds"] for m in ms)
                cell[key]["server_load"] = statistics.median(
                    m["server_cpu_s"] / m["seconds"] for m in ms
                    if m["server_cpu_s"] is not None) if cpu else None
            pairs = list(zip(cell["rounds"]["without"], cell["rounds"]["with"]))
            if pairs:
                # Paired: round r's ratio uses round r's two measurements only.
                cell["ratio"] = _spread([w["rate"] / wo["rate"] for wo, w in pairs])
                cpu_pairs = [(wo, w) for wo, w in pairs if wo["server_cpu_s"] and w["server_cpu_s"]]
                if cpu_pairs:
                    cell["cpu_ratio"] = _spread([
                        (wo["server_cpu_s"] / wo["messages"]) / (w["server_cpu_s"] / w["messages"])
                        for wo, w in cpu_pairs])


def _rate(x):
    if x >= 100_000:
        return "%.0fk" % (x / 1000)
    if x >= 1000:
        return "%.1fk" % (x / 1000)
    return "%.0f" % x


def _ratio(sp):
    return "%.2fx (%.2f-%.2f)" % (sp["median"], sp["min"], sp["max"])


def _cell_summary(cell, key="ratio"):
    if cell["status"] != "ok":
        return cell["status"]
    if key == "rate":
        text = _rate(cell["without"]["rate"]["median"])
        if "with" in cell:
            text += " -> " + _rate(cell["with"]["rate"]["median"])
        return text
    return _ratio(cell[key]) if key in cell else "-"


def _header(report):
    s, m = report["settings"], report["machine"]
    pin = ("client on CPU %s, servers on CPU %s" % (s["client_cpu"], s["server_cpu"])
           if s["client_cpu"] is not None else "not pinned")
    return [
        "wscodec %s (%s), Python %s, %s" % (m["wscodec"], m["implementation"], m["python"],
                                            m["platform"]),
        "CPU: %s; %s" % (m["cpu"], pin),
        "client loop: %s; server loop: %s; %d round(s) of %.1f s (+%.1f s warm-up) per case "
        "and variant" % (s["client_loop"], s["server_loop"], s["rounds"], s["duration"],
                         s["warmup"]),
        "ratio = with/without wscodec, messages/s, paired per round: median (min-max); "
        "cpu = server CPU time per message without/with",
    ]


def _rows(report):
    """(server title, case, cell) for every measured pair."""
    cases = {c["id"]: c for c in report["cases"]}
    for name, row in report["results"].items():
        for cid, cell in row.items():
            yield report["servers"][name], name, cases[cid], cell


def _detail_lines(report, md=False):
    head = ["server", "case", "without msg/s", "with msg/s", "ratio (min-max)",
            "server us/msg without", "with", "cpu ratio", "client load"]
    rows = []
    for srv, name, case, cell in _rows(report):
        if cell["status"] != "ok":
            rows.append([name, case["id"], cell["status"], "", "", "", "", "",
                         cell.get("error", "")[:60]])
            continue
        wo, w = cell.get("without"), cell.get("with")

        def cpu(v):
            c = v and v.get("server_cpu_us_per_msg")
            return "%.1f" % c["median"] if c else "-"

        lat = ""
        if case["latency"] and wo:
            lat = " (%.0f us rtt)" % (1e6 / wo["rate"]["median"])
        rows.append([
            name, case["id"],
            _rate(wo["rate"]["median"]) + lat if wo else "-",
            _rate(w["rate"]["median"]) if w else "-",
            _ratio(cell["ratio"]) if "ratio" in cell else "-",
            cpu(wo), cpu(w),
            _ratio(cell["cpu_ratio"]) if "cpu_ratio" in cell else "-",
            "%.0f%%" % (100 * max(v["client_load"] for v in (wo, w) if v)),
        ])
    return _table(head, rows, md)


def _matrix_lines(report, key, md=False):
    ids = [c["id"] for c in report["cases"]]
    head = ["server"] + ids
    rows = []
    for name, row in report["results"].items():
        if not report["servers"][name]["wscodec"] and key != "rate":
            continue
        rows.append([name] + [_cell_summary(row[i], key) for i in ids])
    return _table(head, rows, md)


def _table(head, rows, md):
    if md:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return out
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    lines = [fmt % tuple(head), fmt % tuple("-" * w for w in widths)]
    return lines + [fmt % tuple(r) for r in rows]


def text(report):
    lines = _header(report) + [""]
    lines += ["Messages/s, without -> with wscodec (medians):"]
    lines += _matrix_lines(report, "rate") + [""]
    lines += ["Throughput ratio, with/without wscodec (median of paired rounds, min-max):"]
    lines += _matrix_lines(report, "ratio") + [""]
    lines += ["Server CPU time per message, without/with wscodec (>1: wscodec saves CPU):"]
    lines += _matrix_lines(report, "cpu_ratio") + [""]
    lines += ["Details (medians; client load > 90% means the client, not the server, "
              "was the limit):"]
    lines += _detail_lines(report)
    errors = [(n, c, cell["error"]) for n, row in report["results"].items()
              for c, cell in row.items() if cell.get("error")]
    for n, c, e in errors:
        lines.append("%s %s: %s" % (n, c, e))
    return "\n".join(lines)


def markdown(report):
    lines = ["<!-- " + report.get("command", "") + " -->", ""]
    lines += ["- " + h for h in _header(report)] + [""]
    lines += ["Messages/s, without -> with wscodec (medians):", ""]
    lines += _matrix_lines(report, "rate", True)
    lines += ["", "Throughput ratio, with/without wscodec:", ""]
    lines += _matrix_lines(report, "ratio", True)
    lines += ["", "Server CPU per message, without/with:", ""]
    lines += _matrix_lines(report, "cpu_ratio", True)
    lines += ["", "Details:", ""] + _detail_lines(report, True)
    return "\n".join(lines) + "\n"


def plot(report, path):
    """Three panels: the throughput ratio, the server-CPU ratio, and messages/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = [c["id"] for c in report["cases"]]
    allnames = list(report["results"])
    colors = {n: plt.cm.tab10(i % 10) for i, n in enumerate(allnames)}
    names = [n for n in allnames if report["servers"][n]["wscodec"]]
    fig, axes = plt.subplots(3, 1, figsize=(max(8, 1.3 * len(ids) + 2), 13))
    for ax, key, label in (
            (axes[0], "ratio", "messages/s, with / without wscodec"),
            (axes[1], "cpu_ratio", "server CPU per message, without / with")):
        width = 0.8 / max(1, len(names))
        top = 1.0
        for k, name in enumerate(names):
            xs, ys, lo, hi = [], [], [], []
            for i, cid in enumerate(ids):
                cell = report["results"][name][cid]
                if cell["status"] == "ok" and key in cell:
                    r = cell[key]
                    xs.append(i + (k - (len(names) - 1) / 2) * width)
                    ys.append(r["median"])
                    lo.append(r["median"] - r["min"])
                    hi.append(r["max"] - r["median"])
                    top = max(top, r["median"])
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=name, color=colors[name],
                   error_kw={"elinewidth": 0.8})
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylim(0, top * 1.35)               # a wild whisker is clipped, not the bars
        ax.set_xticks(range(len(ids)))
        ax.set_xticklabels(ids, rotation=15, ha="right", fontsize=8)
        ax.set_ylabel(label, fontsize=9)
        ax.legend(fontsize=7, ncol=3)
    axes[0].set_title("End-to-end echo with wscodec.integrations.install(): median of paired "
                      "rounds, whiskers min-max", fontsize=10)

    ax = axes[2]
    width = 0.8 / max(1, len(allnames))
    for k, name in enumerate(allnames):
        variants = ("without", "with") if report["servers"][name]["wscodec"] else ("without",)
        for j, variant in enumerate(variants):
            xs, ys = [], []
            for i, cid in enumerate(ids):
                cell = report["results"][name][cid]
                if cell["status"] == "ok" and variant in cell:
                    x = i + (k - (len(allnames) - 1) / 2) * width
                    if len(variants) == 2:
                        x += (j - 0.5) * width / 2
                    xs.append(x)
                    ys.append(cell[variant]["rate"]["median"])
            if xs:
                ax.bar(xs, ys, width / len(variants), color=colors[name],
                       alpha=1.0 if variant == "without" else 0.55,
                       hatch="" if variant == "without" else "///",
                       label=name if variant == "without" else None)
    ax.set_yscale("log")
    ax.set_xticks(range(len(ids)))
    ax.set_xticklabels(ids, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("messages/s (left: without, hatched: with)", fontsize=9)
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
