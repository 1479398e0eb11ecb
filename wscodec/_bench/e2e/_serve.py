"""One echo server in its own process: ``python -m wscodec._bench.e2e._serve NAME [options]``.

It pins itself to ``--cpu``, installs wscodec when told (``--wscodec``), listens on an
ephemeral port of 127.0.0.1, prints ``READY <port> <json>`` on stdout and serves until its
stdin closes (so it never outlives the benchmark that started it, even one that was killed).
"""

import argparse
import asyncio
import json
import os
import socket
import sys
import threading


def _exit_when_stdin_closes():
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m wscodec._bench.e2e._serve")
    parser.add_argument("server")
    parser.add_argument("--wscodec", action="store_true", help="wscodec.integrations.install()")
    parser.add_argument("--cpu", type=int, help="pin this process to this CPU")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args(argv)

    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    if args.wscodec:
        # Before the host library builds anything: install() patches the libraries already
        # imported and, through its import hook, each one the server imports later; only
        # connections created afterwards use the replacements.
        import wscodec.integrations

        wscodec.integrations.install()
    import wscodec
    import wscodec.integrations

    from ._servers import SERVERS

    entry = SERVERS[args.server]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    port = sock.getsockname()[1]

    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(entry.start(sock))
    # What is patched now that the server has imported its library.
    installed = wscodec.integrations.installed() if args.wscodec else []
    info = {"pid": os.getpid(), "installed": installed, "implementation": wscodec.IMPLEMENTATION,
            "loop": type(loop).__module__}
    sys.stdout.write("READY %d %s\n" % (port, json.dumps(info)))
    sys.stdout.flush()
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    loop.run_forever()


if __name__ == "__main__":
    main()
