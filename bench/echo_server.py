"""The Python echo servers of the benchmark: uvnet, raw uvloop ``asyncio.Protocol``, asyncio streams.

    python bench/echo_server.py IMPL (--tcp HOST:PORT | --unix PATH) [--nodelay]

Each has the same logic as ``echo_server.mjs`` (Node): every chunk read is written straight back, errors
are ignored, the connection closes when the peer ends it.  Nagle is left on unless ``--nodelay`` (Node's
default; uvloop turns it off on every transport, so the raw servers clear ``TCP_NODELAY`` explicitly to
compare like with like).  The backlog is Node's 511 everywhere.  Prints ``{"listening": PORT}`` when
ready and serves until it is killed (SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
from typing import Any

BACKLOG = 511


CPROFILE: str | None = None
TRACEMALLOC: str | None = None


def _ready(port: int) -> None:
    if CPROFILE:
        install_cprofile(CPROFILE)
    if TRACEMALLOC:
        install_tracemalloc(TRACEMALLOC)
    sys.stdout.write(json.dumps({"listening": port, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()


def _split(spec: str) -> tuple[str, int]:
    host, _, port = spec.rpartition(":")
    return host.strip("[]"), int(port)


def _set_nodelay(transport: Any, on: bool) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if on else 0)


def run_uvnet(args: argparse.Namespace) -> None:
    import uvnet as net

    def main() -> None:
        def on_connection(sock: Any) -> None:
            sock.on("data", lambda data: sock.write(data))
            sock.on("error", lambda err: None)

        server = net.createServer({"noDelay": True} if args.nodelay else {}, on_connection)
        if args.unix:
            server.listen(args.unix, lambda: _ready(0))
        else:
            host, port = _split(args.tcp)
            server.listen(port, host, lambda: _ready(server.address()["port"]))

    net.run(main)


class EchoProtocol(asyncio.Protocol):
    nodelay = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        _set_nodelay(transport, self.nodelay)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def _serve(make: Any) -> None:
    import uvloop

    async def main() -> None:
        server = await make()
        sockets = server.sockets or []
        port = sockets[0].getsockname()[1] if sockets and sockets[0].family != socket.AF_UNIX else 0
        _ready(port)
        await server.serve_forever()

    uvloop.run(main())


def run_uvloop(args: argparse.Namespace) -> None:
    EchoProtocol.nodelay = args.nodelay

    async def make() -> Any:
        loop = asyncio.get_running_loop()
        if args.unix:
            return await loop.create_unix_server(EchoProtocol, args.unix, backlog=BACKLOG)
        host, port = _split(args.tcp)
        return await loop.create_server(EchoProtocol, host, port, backlog=BACKLOG)

    _serve(make)


def run_streams(args: argparse.Namespace) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _set_nodelay(writer.transport, args.nodelay)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def make() -> Any:
        if args.unix:
            return await asyncio.start_unix_server(handle, args.unix, backlog=BACKLOG)
        host, port = _split(args.tcp)
        return await asyncio.start_server(handle, host, port, backlog=BACKLOG)

    _serve(make)


def install_cprofile(path: str) -> None:
    """Profile between SIGUSR1 (start) and SIGUSR2 (stop and write ``path``): bench/run profile."""
    import cProfile

    prof = cProfile.Profile()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, prof.enable)

    def stop() -> None:
        prof.disable()
        prof.dump_stats(path)

    loop.add_signal_handler(signal.SIGUSR2, stop)


def install_tracemalloc(path: str) -> None:
    """SIGUSR1 takes the baseline snapshot, SIGUSR2 writes the top allocation sites since: bench/run profile
    --memory (what an idle connection costs, by source line)."""
    import tracemalloc

    tracemalloc.start(1)
    loop = asyncio.get_running_loop()
    base: list[Any] = []
    loop.add_signal_handler(signal.SIGUSR1, lambda: base.append(tracemalloc.take_snapshot()))

    def stop() -> None:
        snap = tracemalloc.take_snapshot()
        stats = snap.compare_to(base[-1], "lineno")
        with open(path, "w") as f:
            for st in stats[:40]:
                frame = st.traceback[0]
                f.write(f"{st.size_diff}\t{st.count_diff}\t{frame.filename}:{frame.lineno}\n")

    loop.add_signal_handler(signal.SIGUSR2, stop)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("impl", choices=["uvnet", "uvloop", "streams"])
    p.add_argument("--tcp")
    p.add_argument("--unix")
    p.add_argument("--nodelay", action="store_true")
    p.add_argument("--cprofile", help="profile between SIGUSR1 and SIGUSR2 into this file")
    p.add_argument("--tracemalloc", help="allocation sites between SIGUSR1 and SIGUSR2 into this file")
    args = p.parse_args()
    if not (args.tcp or args.unix):
        p.error("--tcp or --unix")
    global CPROFILE, TRACEMALLOC
    CPROFILE = args.cprofile
    TRACEMALLOC = args.tracemalloc
    {"uvnet": run_uvnet, "uvloop": run_uvloop, "streams": run_streams}[args.impl](args)


if __name__ == "__main__":
    main()
