"""`bench/run micro`: the user-space CPU of one data event plus its echo write, without the kernel.

The socket benchmarks mix Python's cost with system calls and scheduling, and on a busy machine they are
noisy.  This isolates the library's own cost, deterministically: an accepted connection's transport is
swapped for a fake one whose ``write`` does nothing, and the protocol's ``data_received`` is called N
times in a loop with a 1 KiB chunk; the socket's ``'data'`` listener echoes it with ``write``, the path a
Node-style echo server runs per message (push, ``'data'``, write, the write callback, maybeReadMore, the
nextTick queue, the exit check).  The same loop against a raw ``asyncio.Protocol`` gives the floor.
Best of several repetitions (noise only adds).

    python bench/microbench.py [--impl uvnet|protocol] [-n 20000] [-r 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any


class FakeTransport:
    """Stands in for the connection's transport: writes go nowhere, the rest goes to the real one."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.written = 0

    def write(self, data: Any) -> None:
        self.written += 1

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _time(fn: Any, data: bytes, n: int, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(data)
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def bench_uvnet(n: int, reps: int) -> dict[str, Any]:
    import uvnet as net

    out: dict[str, Any] = {}

    def main() -> None:
        def on_connection(sock: Any) -> None:
            sock.on("data", lambda data: sock.write(data))
            sock.on("error", lambda err: None)
            asyncio.get_running_loop().call_later(0.05, measure, sock)

        server = net.createServer(on_connection)
        client: list[Any] = []

        def measure(sock: Any) -> None:
            h = sock._handle
            real = h.transport
            real.pause_reading()
            fake = FakeTransport(real)
            h.transport = fake
            # the handle may write to the fd itself (uv_try_write style): make it use the transport
            fd = getattr(h, "_fd", None)
            if fd is not None:
                h._fd = -1
            data = b"x" * 1024
            out["us_per_msg"] = _time(h.data_received, data, n, reps)
            out["writes"] = fake.written
            if fd is not None:
                h._fd = fd
            h.transport = real
            sock.destroy()
            client[0].destroy()
            server.close()

        def listening() -> None:
            c = net.connect(server.address()["port"], "127.0.0.1")
            c.on("error", lambda err: None)
            client.append(c)

        server.listen(0, "127.0.0.1", listening)

    net.run(main)
    return out


def bench_protocol(n: int, reps: int) -> dict[str, Any]:
    import uvloop

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    out: dict[str, Any] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        made: asyncio.Future[Echo] = loop.create_future()

        def factory() -> Echo:
            p = Echo()
            if not made.done():
                made.set_result(p)
            return p

        server = await loop.create_server(factory, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        tr, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        proto = await made
        real = proto.transport
        real.pause_reading()
        fake = FakeTransport(real)
        proto.transport = fake  # type: ignore[assignment]
        out["us_per_msg"] = _time(proto.data_received, b"x" * 1024, n, reps)
        proto.transport = real
        tr.close()
        real.close()
        server.close()
        await server.wait_closed()

    uvloop.run(main())
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=20000)
    p.add_argument("-r", type=int, default=7)
    p.add_argument("--impl", choices=["uvnet", "protocol"], default="uvnet")
    args = p.parse_args()
    res = bench_uvnet(args.n, args.r) if args.impl == "uvnet" else bench_protocol(args.n, args.r)
    res.update(impl=args.impl, n=args.n)
    sys.stdout.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
