"""``python -m wscodec bench``: wscodec against every installed peer library, case by case.

The cases, their inputs and their contenders live in ``_cases`` (shared with the
pytest-benchmark files in the repository's ``bench/`` directory); ``_runner`` times them;
``_report`` renders the results.
"""

import argparse
import os
import sys
import time

from . import _cases, _report, _runner
from ._cases import Api, Unavailable, WrongResult, all_cases, prepare, select

__all__ = ["main", "all_cases", "select", "prepare", "Api", "Unavailable", "WrongResult"]

#: The chart's file name when --plot is not given.
DEFAULT_CHART = "wscodec-bench.png"


def _prog():
    """How this command was started: ``wscodec`` (the console script) or ``python -m wscodec``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "wscodec" if name in ("wscodec", "wscodec.exe") else "python -m wscodec"


def _parser():
    parser = argparse.ArgumentParser(
        prog=_prog() + " bench",
        description="Compare wscodec with the installed WebSocket libraries: median time per "
                    "operation (and throughput) from interleaved rounds, as ratios measured in "
                    "the same run.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="few rounds, small sizes only (a smoke test, well under a minute)")
    parser.add_argument("--filter", action="append", default=[], metavar="SUBSTRING",
                        help="only cases whose id contains SUBSTRING (case-insensitive; "
                             "repeat for several)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    parser.add_argument("--plot", metavar="FILE.png", default=DEFAULT_CHART,
                        help="where to draw the bar chart (needs matplotlib; default: %s in "
                             "the current directory)" % DEFAULT_CHART)
    parser.add_argument("--no-plot", action="store_true", help="draw no chart")
    parser.add_argument("--twins", action="store_true",
                        help="time both wscodec twins (compiled and pure Python) instead of "
                             "the facade's choice")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help="seconds of sampling per case (default: 0.2 quick, 3 full)")
    parser.add_argument("--clock", choices=sorted(_runner.CLOCKS), default="cpu",
                        help="cpu: the thread's CPU time (default; robust on a shared machine); "
                             "wall: elapsed time")
    parser.add_argument("--list", action="store_true", help="list the case ids and exit")
    return parser


def main(argv=None):
    """Run the comparison; ``argv`` are the arguments after ``bench``.  Returns the exit code."""
    argv = sys.argv[2:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    cases = select(all_cases(), quick=args.quick, filters=args.filter)
    if args.list:
        for case in cases:
            print("%-40s %s" % (case.id, case.title))
        return 0
    if not cases:
        print("no case matches %s; see --list" % " ".join(repr(f) for f in args.filter),
              file=sys.stderr)
        return 2
    base = _runner.QUICK if args.quick else _runner.FULL
    settings = _runner.Settings(**base.as_dict())
    settings.clock = args.clock
    if args.budget is not None:
        settings.budget = args.budget
    apis = [Api("c"), Api("python")] if args.twins else [Api()]

    command = " ".join([_prog() + " bench"] + argv)
    info = _report.machine_info()
    warning = _report.pure_warning(info)
    if warning:
        # Said at once too (the report comes at the end of a run of minutes).
        sys.stderr.write("\n".join(warning) + "\n")
    case_results = []
    started = time.monotonic()
    for number, case in enumerate(cases, 1):
        sys.stderr.write("[%*d/%d] %s ..." % (len(str(len(cases))), number, len(cases), case.id))
        sys.stderr.flush()
        t0 = time.monotonic()
        cr = _runner.run_case(case, settings, apis)
        case.release()
        case_results.append(cr)
        sys.stderr.write(" %.1f s\n" % (time.monotonic() - t0))
        sys.stderr.flush()
    sys.stderr.write("%d cases in %.0f s\n" % (len(cases), time.monotonic() - started))

    chart = chart_note = None
    if not args.no_plot:
        try:
            _report.plot(args.plot, info, case_results)
        except _report.NoMatplotlib:
            if args.plot != DEFAULT_CHART:
                raise SystemExit("--plot needs matplotlib: pip install 'wscodec[bench]'")
            chart_note = "not drawn: matplotlib is not installed (pip install 'wscodec[bench]')"
        else:
            chart = os.path.abspath(args.plot)
    files = []
    if args.json:
        with open(args.json, "w") as f:
            f.write(_report.as_json(info, settings, command, case_results))
        files.append("JSON: %s" % os.path.abspath(args.json))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(_report.markdown(info, settings, command, case_results))
        files.append("Markdown: %s" % os.path.abspath(args.markdown))

    out = []
    if warning:
        out += warning + [""]
    out += _report.header_lines(info, settings, command) + [""]
    out += _report.gains_lines(case_results, info) + [""]
    for cr in case_results:
        out += [_report.case_text(cr), ""]
    out += [_report.summary_text(case_results), ""]
    out += _report.method_lines(settings) + [""]
    out += _report.closing_lines(info, chart, chart_note, files)
    if warning:
        out += [""] + warning
    print("\n".join(out), flush=True)
    return 0
