"""Timing: calibrated inner loops, interleaved rounds, medians.

Each contender's statement is compiled into its own loop function (as ``timeit`` does, so
no extra Python call is added per operation).  Its inner loop count is calibrated so one
sample lasts about ``target_sample`` seconds.  Then every round times every contender once,
in a fresh random order each round, so slow drifts of a shared machine (another
process waking up, frequency changes) fall on all contenders alike.  The reported figure is
the median over rounds.

Time is the benchmark thread's CPU time (``time.thread_time``) by default: on a shared
machine, the time the scheduler gives to other processes in the middle of a sample is then
not counted against whichever contender was running.  ``clock="wall"`` uses
``time.perf_counter`` instead (right on a quiet machine; it also counts blocking).

The cyclic garbage collector is paused while a case is timed (as ``timeit`` does) and run
between cases.  Left on, a full collection triggered by one contender's allocations walks
every object of this process (all peer libraries are imported) and lands on whichever
contender happens to be running: noise of several microseconds per frame, not a property of
the library.  Reference counting still frees everything the contenders allocate.
"""

import gc
import random
import statistics
import time

from . import _cases


class Settings:
    """How long to measure: per sample, per case, and the bounds on the number of rounds."""

    def __init__(self, *, target_sample, min_rounds, max_rounds, budget, max_op, clock="cpu"):
        if clock not in CLOCKS:
            raise ValueError("clock must be one of %s, not %r" % (", ".join(CLOCKS), clock))
        self.clock = clock                  # "cpu" (thread CPU time) or "wall"
        self.target_sample = target_sample  # seconds one sample (inner loop) should last
        self.min_rounds = min_rounds
        self.max_rounds = max_rounds
        self.budget = budget                # seconds of sampling per case, after calibration
        self.max_op = max_op                # an operation slower than this is not timed

    def as_dict(self):
        return dict(vars(self))


CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}

QUICK = Settings(target_sample=0.0005, min_rounds=5, max_rounds=15, budget=0.2, max_op=0.5)
FULL = Settings(target_sample=0.002, min_rounds=9, max_rounds=101, budget=3.0, max_op=2.0)

_LOOP = """\
def _loop(_n, _clock):
    _t0 = _clock()
    for _ in range(_n):
        {stmt}
    return _clock() - _t0
"""


def compile_loop(prepared, name="contender"):
    """The timing loop for one prepared contender: ``loop(n, clock) -> seconds``."""
    ns = dict(prepared.ns)
    exec(compile(_LOOP.format(stmt=prepared.stmt), "<bench %s>" % name, "exec"), ns)
    return ns["_loop"]


def compile_call(prepared, name="contender"):
    """A zero-argument function running the statement once (for pytest-benchmark)."""
    ns = dict(prepared.ns)
    exec(compile("def _call():\n    %s\n" % prepared.stmt, "<bench %s>" % name, "exec"), ns)
    return ns["_call"]


class Result:
    """One contender's outcome in one case."""

    def __init__(self, name, library, status="ok", reference=True):
        self.name = name
        self.library = library
        self.reference = reference  # may be the base of the case's ratios (wscodec rows)
        self.status = status      # "ok", or why it was not timed
        self.samples = []         # seconds per statement, one per round
        self.loops = 0            # inner loop count per sample

    @property
    def ok(self):
        return self.status == "ok" and bool(self.samples)

    @property
    def median(self):
        return statistics.median(self.samples) if self.samples else None

    @property
    def spread(self):
        """Half the interquartile range, relative to the median."""
        if len(self.samples) < 4:
            return None
        q1, _, q3 = statistics.quantiles(self.samples, n=4)
        return (q3 - q1) / 2 / self.median

    @property
    def is_wscodec(self):
        return self.library == "wscodec"


class CaseResult:
    def __init__(self, case, results, rounds):
        self.case = case
        self.results = results
        self.rounds = rounds

    @property
    def reference(self):
        """wscodec's fastest row doing the whole job: the numerator of every ratio."""
        ours = [r for r in self.results if r.is_wscodec and r.ok and r.reference]
        return min(ours, key=lambda r: r.median) if ours else None

    def ratio(self, result):
        """wscodec's median time / this contender's (below 1: wscodec is faster)."""
        ref = self.reference
        if ref is None or not result.ok:
            return None
        return ref.median / result.median

    @property
    def fastest_peer(self):
        peers = [r for r in self.results if not r.is_wscodec and r.ok]
        return min(peers, key=lambda r: r.median) if peers else None


def _calibrate(loop, settings, clock):
    # The first call is a warm-up (first-call costs: caches, lazy imports) and, for a
    # contender far too slow to time in rounds, the only one.
    first = loop(1, clock)
    if first > settings.max_op:
        return 1, first, False
    n = 1
    while True:
        t = loop(n, clock)
        if n == 1 and t > settings.max_op:
            return n, t, False
        if t >= settings.target_sample:
            return n, t / n, True
        guess = int(n * settings.target_sample * 1.2 / max(t, 1e-9)) + 1
        n = max(n * 2, min(guess, n * 1000))


def run_case(case, settings, apis=None):
    """Prepare, check and time every contender of ``case``; returns a :class:`CaseResult`."""
    clock = CLOCKS[settings.clock]
    apis = apis or [_cases.Api()]
    results, timed = [], []
    for contender in case.contenders:
        for api in (apis if contender.is_wscodec else [None]):
            result = Result(contender.label(api), contender.library,
                            reference=getattr(contender, "reference", True))
            results.append(result)
            try:
                prepared = _cases.prepare(case, contender, api)
            except (_cases.Unavailable, _cases.WrongResult) as exc:
                result.status = str(exc)
                continue
            except Exception as exc:  # a peer whose API changed must not stop the run
                result.status = "error: %s: %s" % (type(exc).__name__, exc)
                continue
            timed.append((result, compile_loop(prepared, result.name)))

    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        rounds = _time(timed, settings, clock)
    finally:
        if gc_was_enabled:
            gc.enable()
    gc.collect()
    return CaseResult(case, results, rounds)


def _time(timed, settings, clock):
    estimates = {}
    for result, loop in list(timed):
        n, per_op, fits = _calibrate(loop, settings, clock)
        if not fits:
            result.status = "too slow to time (%.2f s per operation)" % per_op
            timed.remove((result, loop))
            continue
        result.loops = n
        estimates[result.name] = n * per_op

    rounds = 0
    if timed:
        per_round = sum(estimates.values())
        rounds = int(settings.budget / max(per_round, 1e-9))
        rounds = max(settings.min_rounds, min(settings.max_rounds, rounds))
        # A fresh random order every round: with a fixed rotation each contender always runs
        # right after the same neighbour and inherits its side effects (for large payloads:
        # the page faults of memory that neighbour just returned to the OS).  Seeded, so a
        # run is repeatable.
        order = list(timed)
        rng = random.Random(0x5753)
        for _ in range(rounds):
            rng.shuffle(order)
            for result, loop in order:
                result.samples.append(loop(result.loops, clock) / result.loops)
    return rounds
