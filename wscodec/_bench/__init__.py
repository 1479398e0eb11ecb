"""``python -m wscodec bench``: wscodec against every installed peer library, case by case.

The cases, their inputs and their contenders live in ``_cases`` (shared with the
pytest-benchmark files in the repository's ``bench/`` directory); ``_runner`` times them;
``_report`` renders the results.
"""

import argparse
import sys

from . import _cases, _report, _runner
from ._cases import Api, Unavailable, WrongResult, all_cases, prepare, select

__all__ = ["main", "all_cases", "select", "prepare", "Api", "Unavailable", "WrongResult"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m wscodec bench",
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
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also draw a bar chart (needs matplotlib)")
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

    command = " ".join(["python -m wscodec bench"] + argv)
    info = _report.machine_info()
    print("\n".join(_report.header_lines(info, settings, command)))
    case_results = []
    for case in cases:
        print()
        cr = _runner.run_case(case, settings, apis)
        case.release()
        case_results.append(cr)
        print(_report.case_text(cr), flush=True)
    print()
    print(_report.summary_text(case_results))

    if args.json:
        with open(args.json, "w") as f:
            f.write(_report.as_json(info, settings, command, case_results))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(_report.markdown(info, settings, command, case_results))
    if args.plot:
        _report.plot(args.plot, info, case_results)
    return 0
