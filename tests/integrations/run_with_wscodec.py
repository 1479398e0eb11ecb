"""Run a library's own (non-pytest) test runner with wscodec installed.

    python run_with_wscodec.py NAME MODULE [ARGS...]

installs wscodec's integration for ``NAME`` (``none``: a baseline run without it), runs
``MODULE`` as ``__main__`` with ``ARGS`` (for example ``tornado.test.runtests
tornado.test.websocket_test``), then checks that every patched name was still wscodec's at
the end.  Exits with the runner's status, or 1 when the patches were lost.
"""

import runpy
import sys


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    name, module, args = argv[0], argv[1], argv[2:]
    if name != "none":
        from wscodec import integrations

        patched = integrations.install(name)
        if patched != [name]:
            sys.stderr.write("wscodec could not patch %s (got %r)\n" % (name, patched))
            return 1
        targets = ["%s.%s" % (getattr(o, "__name__", o), a) for o, a, _ in integrations.patches(name)]
        print("wscodec: %s patched: %s" % (name, ", ".join(targets)), flush=True)
    sys.argv = [module] + list(args)
    status = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
    if name != "none":
        problems = integrations.verify(name)
        if problems:
            print("wscodec: patches LOST: %s" % "; ".join(problems), flush=True)
            return 1
        print("wscodec: every patched name of %s was wscodec's at the end" % name, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
