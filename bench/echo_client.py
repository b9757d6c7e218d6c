"""The Python clients of the benchmark: uvnet, raw uvloop ``asyncio.Protocol``, asyncio streams.

    python bench/echo_client.py IMPL MODE (--tcp HOST:PORT | --unix PATH) [-c N] [-s SIZE] [-d SECS]
        [-w SECS] [--window BYTES] [--nodelay]

The same workloads as the C load generator (``loadgen.c``) and with the same logic as ``echo_client.mjs``
(Node), run against one echo server (loadgen's ``serve`` mode):

* ``pingpong``: N connections, each writes SIZE bytes and waits for SIZE bytes back, again and again;
* ``bulk``: writes SIZE-byte chunks while fewer than ``--window`` bytes are unechoed, counts echoed bytes;
* ``connrate``: N slots, each: connect, write 1 byte, wait for the echo, ``end()``, wait for ``'close'``;
* ``hold``: opens N connections one by one (each pinged once), prints ``{"ready": N}`` and holds them
  until killed or ``-d`` seconds pass.

Counting starts after ``-w`` seconds of warm-up and stops ``-d`` seconds later; the result is one JSON
object on stdout in loadgen's shape (``count``/``rate``/``lat_us`` or ``bytes``/``mb_per_s``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

now_ns = time.perf_counter_ns

# bench/run profile: cProfile of the measured window only
PROFILE: Any = None
if os.environ.get("BENCH_CPROFILE"):
    import cProfile

    PROFILE = cProfile.Profile()


class Stats:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.measuring = args.w <= 0
        self.count = 0
        self.total = 0
        self.bytes = 0
        self.lat: list[int] = []
        self.t_meas = time.monotonic()
        self.t_end = 0.0
        self.errors = 0
        self.ru0 = resource.getrusage(resource.RUSAGE_SELF)

    def start_measuring(self) -> None:
        self.ru0 = resource.getrusage(resource.RUSAGE_SELF)
        self.measuring = True
        if PROFILE is not None:
            PROFILE.enable()
        self.t_meas = time.monotonic()
        self.count = 0
        self.bytes = 0
        self.lat.clear()

    def result(self) -> dict[str, Any]:
        if PROFILE is not None:
            PROFILE.disable()
            PROFILE.dump_stats(os.environ["BENCH_CPROFILE"])
        a = self.args
        secs = max(1e-9, self.t_end - self.t_meas) if self.measuring else 0.0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        out: dict[str, Any] = {"mode": a.mode, "impl": a.impl, "conns": a.c, "size": a.s, "secs": secs,
                               "errors": self.errors}
        if a.mode == "bulk":
            out.update(bytes=self.bytes, mb_per_s=self.bytes / secs / 1e6 if secs else 0.0)
        else:
            lat = sorted(self.lat)
            n = len(lat)

            def pct(p: float) -> float:
                return lat[min(n - 1, max(0, int(-(-p * n // 100)) - 1))] / 1000 if n else 0.0

            out.update(count=self.count, total=self.total, rate=self.count / secs if secs else 0.0,
                       lat_us={"n": n, "mean": (sum(lat) / n / 1000) if n else 0.0, "p50": pct(50),
                               "p90": pct(90), "p99": pct(99), "p999": pct(99.9),
                               "max": lat[-1] / 1000 if n else 0.0})
        out["self_cpu"] = {"user": ru.ru_utime, "sys": ru.ru_stime}
        # CPU of the measured window only (no start-up, imports or warm-up)
        out["cpu_meas"] = {"user": ru.ru_utime - self.ru0.ru_utime, "sys": ru.ru_stime - self.ru0.ru_stime}
        return out


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


_rr = [0]


def _split(spec: str) -> tuple[str, int]:
    """HOST:PORT[,PORT...]: the host and the next port, round robin (the C echo server listens on several
    ports so that connection-rate runs do not exhaust the ephemeral ports of one destination)."""
    host, _, ports = spec.rpartition(":")
    choices = ports.split(",")
    _rr[0] += 1
    return host.strip("[]"), int(choices[_rr[0] % len(choices)])


# ---------------------------------------------------------------------------------------------------
# uvnet (the logic is line for line echo_client.mjs)


def run_uvnet(args: argparse.Namespace) -> None:
    import uvnet as net

    st = Stats(args)
    size = args.s
    msg = b"x" * size
    sockets: set[Any] = set()
    stopped = False

    def connect() -> Any:
        opts: dict[str, Any] = {"path": args.unix} if args.unix else dict(
            zip(("host", "port"), _split(args.tcp), strict=True))
        if args.nodelay:
            opts["noDelay"] = True
        s = net.connect(opts)
        sockets.add(s)
        s.on("close", lambda *_: sockets.discard(s))
        s.on("error", lambda err: setattr(st, "errors", st.errors + 1))
        return s

    def pingpong_conn() -> None:
        s = connect()
        got = 0
        t0 = 0

        def on_connect() -> None:
            nonlocal t0
            t0 = now_ns()
            s.write(msg)

        def on_data(data: bytes) -> None:
            nonlocal got, t0
            got += len(data)
            if got >= size:
                got -= size
                t = now_ns()
                if st.measuring:
                    st.lat.append(t - t0)
                    st.count += 1
                st.total += 1
                t0 = t
                s.write(msg)

        s.on("connect", on_connect)
        s.on("data", on_data)

    def bulk_conn() -> None:
        s = connect()
        sent = 0
        recvd = 0
        window = args.window

        def fill() -> None:
            nonlocal sent
            while sent - recvd + size <= window:
                s.write(msg)
                sent += size

        def on_data(data: bytes) -> None:
            nonlocal recvd
            recvd += len(data)
            if st.measuring:
                st.bytes += len(data)
            fill()

        s.on("connect", fill)
        s.on("data", on_data)

    def connrate_slot() -> None:
        if stopped:
            return
        s = connect()
        t0 = now_ns()
        s.on("connect", lambda: s.write(b"x"))
        echoed = False

        def on_data(data: bytes) -> None:
            nonlocal echoed
            echoed = True
            s.end()

        def on_close(*_: Any) -> None:
            t = now_ns()
            if echoed:
                if st.measuring:
                    st.lat.append(t - t0)
                    st.count += 1
                st.total += 1
            connrate_slot()

        s.on("data", on_data)

        s.on("close", on_close)

    def hold(i: int) -> None:
        if i >= args.c:
            _emit({"ready": i})
            return
        s = connect()
        s.on("connect", lambda: s.write(b"x"))
        s.on("data", lambda data: hold(i + 1))
        s.on("error", lambda err: _emit({"ready": i, "error": f"connection {i}: {err!r}"}))

    def finish() -> None:
        nonlocal stopped
        stopped = True
        st.t_end = time.monotonic()
        _emit(st.result())
        for s in list(sockets):
            s.destroy()

    def main() -> None:
        from uvnet import _runtime  # Node's setTimeout (uvnet keeps it private: net has none)

        def setTimeout(fn: Callable[[], object], secs: float) -> None:
            _runtime.set_timeout(fn, secs * 1000)

        if args.mode == "hold":
            hold(0)
            setTimeout(lambda: [s.destroy() for s in list(sockets)], args.d)
            return
        start = {"pingpong": pingpong_conn, "bulk": bulk_conn, "connrate": connrate_slot}[args.mode]
        for _ in range(args.c):
            start()
        if args.w > 0:
            setTimeout(st.start_measuring, args.w)
        setTimeout(finish, args.w + args.d)

    net.run(main)


# ---------------------------------------------------------------------------------------------------
# raw uvloop Protocol


def run_uvloop(args: argparse.Namespace) -> None:
    import uvloop

    st = Stats(args)
    size = args.s
    msg = b"x" * size
    transports: set[Any] = set()

    async def open_conn(factory: Callable[[], asyncio.Protocol]) -> Any:
        loop = asyncio.get_running_loop()
        if args.unix:
            tr, pr = await loop.create_unix_connection(factory, args.unix)
        else:
            host, port = _split(args.tcp)
            tr, pr = await loop.create_connection(factory, host, port)
        return tr, pr

    class Base(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            transports.add(transport)
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if args.nodelay else 0)
            self.made()

        def made(self) -> None:
            pass

        def connection_lost(self, exc: BaseException | None) -> None:
            transports.discard(self.transport)
            if exc is not None:
                st.errors += 1

    class PingPong(Base):
        def made(self) -> None:
            self.got = 0
            self.t0 = now_ns()
            self.transport.write(msg)

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= size:
                self.got -= size
                t = now_ns()
                if st.measuring:
                    st.lat.append(t - self.t0)
                    st.count += 1
                st.total += 1
                self.t0 = t
                self.transport.write(msg)

    class Bulk(Base):
        def made(self) -> None:
            self.sent = 0
            self.recvd = 0
            self.fill()

        def fill(self) -> None:
            while self.sent - self.recvd + size <= args.window:
                self.transport.write(msg)
                self.sent += size

        def data_received(self, data: bytes) -> None:
            self.recvd += len(data)
            if st.measuring:
                st.bytes += len(data)
            self.fill()

    class ConnRate(Base):
        def made(self) -> None:
            self.transport.write(b"x")

        def data_received(self, data: bytes) -> None:
            self.transport.write_eof()

        def connection_lost(self, exc: BaseException | None) -> None:
            super().connection_lost(exc)
            if not self.done.done():
                self.done.set_result(None)

    async def connrate_slot(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t0 = now_ns()
            done = loop.create_future()

            def make(done: asyncio.Future[None] = done) -> ConnRate:
                p = ConnRate()
                p.done = done
                return p

            try:
                await open_conn(make)
                await done
            except OSError:
                st.errors += 1
                continue
            t = now_ns()
            if st.measuring:
                st.lat.append(t - t0)
                st.count += 1
            st.total += 1

    class Ping(Base):
        def made(self) -> None:
            self.transport.write(b"x")
            self.got = asyncio.get_running_loop().create_future()

        def data_received(self, data: bytes) -> None:
            if not self.got.done():
                self.got.set_result(None)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if args.mode == "hold":
            for _ in range(args.c):
                _, pr = await open_conn(Ping)
                await pr.got
            _emit({"ready": args.c})
            await asyncio.sleep(args.d)
            for t in list(transports):
                t.close()
            return
        stop = asyncio.Event()
        tasks = []
        if args.mode == "connrate":
            tasks = [asyncio.ensure_future(connrate_slot(stop)) for _ in range(args.c)]
        else:
            cls = PingPong if args.mode == "pingpong" else Bulk
            for _ in range(args.c):
                await open_conn(cls)
        if args.w > 0:
            loop.call_later(args.w, st.start_measuring)
        await asyncio.sleep(args.w + args.d)
        stop.set()
        st.t_end = time.monotonic()
        _emit(st.result())
        for t in list(transports):
            t.abort()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    uvloop.run(main())


# ---------------------------------------------------------------------------------------------------
# asyncio streams on uvloop


def run_streams(args: argparse.Namespace) -> None:
    import uvloop

    st = Stats(args)
    size = args.s
    msg = b"x" * size

    async def open_conn() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if args.unix:
            r, w = await asyncio.open_unix_connection(args.unix)
        else:
            host, port = _split(args.tcp)
            r, w = await asyncio.open_connection(host, port)
            w.transport.get_extra_info("socket").setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if args.nodelay else 0)
        return r, w

    async def pingpong() -> None:
        r, w = await open_conn()
        try:
            while True:
                t0 = now_ns()
                w.write(msg)
                await w.drain()
                await r.readexactly(size)
                t = now_ns()
                if st.measuring:
                    st.lat.append(t - t0)
                    st.count += 1
                st.total += 1
        finally:
            w.transport.abort()

    async def bulk() -> None:
        r, w = await open_conn()
        sent = recvd = 0
        try:
            while True:
                while sent - recvd + size <= args.window:
                    w.write(msg)
                    sent += size
                # no drain(): the window bounds the write buffer, and waiting for it to drain while the
                # echo server waits for us to read would deadlock once both socket buffers are full
                data = await r.read(262144)
                if not data:
                    break
                recvd += len(data)
                if st.measuring:
                    st.bytes += len(data)
        finally:
            w.transport.abort()

    async def connrate() -> None:
        while True:
            t0 = now_ns()
            try:
                r, w = await open_conn()
                w.write(b"x")
                await r.readexactly(1)
                w.write_eof()
                await r.read()
                w.close()
                await w.wait_closed()
            except OSError:
                st.errors += 1
                continue
            t = now_ns()
            if st.measuring:
                st.lat.append(t - t0)
                st.count += 1
            st.total += 1

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if args.mode == "hold":
            held = []
            for _ in range(args.c):
                r, w = await open_conn()
                w.write(b"x")
                await r.readexactly(1)
                held.append(w)
            _emit({"ready": args.c})
            await asyncio.sleep(args.d)
            for w in held:
                w.transport.abort()
            return
        fn = {"pingpong": pingpong, "bulk": bulk, "connrate": connrate}[args.mode]
        tasks = [asyncio.ensure_future(fn()) for _ in range(args.c)]
        if args.w > 0:
            loop.call_later(args.w, st.start_measuring)
        await asyncio.sleep(args.w + args.d)
        st.t_end = time.monotonic()
        _emit(st.result())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    uvloop.run(main())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("impl", choices=["uvnet", "uvloop", "streams"])
    p.add_argument("mode", choices=["pingpong", "bulk", "connrate", "hold"])
    p.add_argument("--tcp")
    p.add_argument("--unix")
    p.add_argument("-c", type=int, default=1)
    p.add_argument("-s", type=int, default=1024)
    p.add_argument("-d", type=float, default=2.0)
    p.add_argument("-w", type=float, default=0.5)
    p.add_argument("--window", type=int, default=2 * 1024 * 1024)
    p.add_argument("--nodelay", action="store_true")
    args = p.parse_args()
    if not (args.tcp or args.unix):
        p.error("--tcp or --unix")
    {"uvnet": run_uvnet, "uvloop": run_uvloop, "streams": run_streams}[args.impl](args)


if __name__ == "__main__":
    main()
