"""Command line: ``python -m wscodec bench [options]`` compares wscodec with its peers.

Installed as the ``wscodec`` console script too (``wscodec bench``): a console script puts its
own directory first on ``sys.path``, not the current one, so in a source checkout it runs the
installed wscodec rather than the checkout's uncompiled package.

``python -m wscodec bench --help`` lists the options.
"""

import sys
from typing import Optional, Sequence

USAGE = """usage: python -m wscodec COMMAND [options]
   or: wscodec COMMAND [options]   (the same; it never imports the current directory's wscodec)

commands:
  bench   compare wscodec with the installed WebSocket libraries (--help for options)
  bench e2e  echo servers end to end, with and without wscodec (bench e2e --help)
"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "bench" and rest[:1] == ["e2e"]:
        from ._bench.e2e import main as e2e

        return e2e(rest[1:])
    if command == "bench":
        from ._bench import main as bench

        return bench(rest)
    sys.stderr.write("unknown command %r\n\n%s" % (command, USAGE))
    return 2


def _run():
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``... | head``): stop quietly, as other command line tools
        # do.  stdout is pointed at devnull so the interpreter's own flush at exit is quiet.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(_run())
