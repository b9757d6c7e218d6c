"""net.Server over TCP (and Unix paths): what the conformance scenarios cannot see.

The listening socket as the kernel reports it (backlog 511 in ``ss``, ``SO_REUSEADDR``, dual-stack
``::``), error paths that need a second listener, ``close()`` waiting for connections, ``'drop'``,
``pauseOnConnect`` reading nothing, ``async with``, and Unix socket files (never unlinked if they were
there, unlinked on close if ours).  Every test runs on uvloop and asyncio's loop and ends on events.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from _loops import LoopRecorder, port_of, run

import uvnet as net

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def tmpdir_short() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="uvn")  # short: sun_path holds 107 bytes
    yield path
    shutil.rmtree(path, ignore_errors=True)


def listen_sock(srv: net.Server) -> socket.socket:
    handle = srv._handle
    assert handle is not None and handle.sock is not None
    return handle.sock


def ss_backlog(port: int) -> int | None:
    if shutil.which("ss") is None:
        return None
    out = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == "LISTEN":
            return int(fields[2])  # Send-Q of a listening socket: its backlog
    return None


# ---------------------------------------------------------------------------------------------------


def test_default_backlog_is_511_and_explicit_backlog_is_used(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        a = net.createServer()
        b = net.createServer()
        a.listen(0, "127.0.0.1")
        b.listen({"port": 0, "host": "127.0.0.1", "backlog": 37})

        def check() -> None:
            if not (a.listening and b.listening and "a" not in seen):
                return
            seen["a"] = ss_backlog(port_of(a))
            seen["b"] = ss_backlog(port_of(b))
            a.close()
            b.close()

        a.on("listening", check)
        b.on("listening", check)

    run(main, loops)
    if seen["a"] is None:
        pytest.skip("ss cannot see the listening sockets here")
    assert seen == {"a": 511, "b": 37}


def test_default_host_is_dual_stack_with_reuseaddr(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer(lambda peer: (seen.__setitem__("peer", peer.remoteFamily), peer.destroy()))
        srv.listen(0)
        seen["address"] = dict(srv.address())  # type: ignore[arg-type]
        sock = listen_sock(srv)
        seen["reuseaddr"] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        if sock.family == socket.AF_INET6:
            seen["v6only"] = sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        cli = net.connect(port_of(srv), "127.0.0.1")
        cli.on("close", lambda _e: srv.close())

    run(main, loops)
    assert seen["reuseaddr"] == 1
    if seen["address"]["family"] == "IPv6":
        assert seen["address"]["address"] == "::"
        assert seen["v6only"] == 0
        assert seen["peer"] == "IPv6"  # an IPv4 client, seen as ::ffff:127.0.0.1
    else:
        assert seen["address"]["address"] == "0.0.0.0"


def test_ipv6_only_flag(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer()
        srv.listen({"port": 0, "ipv6Only": True})
        sock = listen_sock(srv)
        if sock.family == socket.AF_INET6:
            seen["v6only"] = sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        srv.close()

    run(main, loops)
    if "v6only" not in seen:
        pytest.skip("no IPv6")
    assert seen["v6only"] == 1


def test_eaddrinuse_is_emitted_then_listen_again(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        first = net.createServer()
        first.listen(0, "127.0.0.1")

        def listening() -> None:
            port = port_of(first)
            second = net.createServer()

            def on_error(err: Any) -> None:
                seen["error"] = (err.code, err.errno, err.syscall, err.address, err.port == port, str(err))
                seen["after error"] = (second.listening, second.address())
                first.close()
                second.listen(0, "127.0.0.1", lambda: (seen.__setitem__("relisten", True), second.close()))

            second.on("error", on_error)
            second.listen(port, "127.0.0.1")
            seen["sync"] = (second.listening, second.address())

        first.on("listening", listening)

    run(main, loops)
    code, errno, syscall, address, same_port, message = seen["error"]
    assert (code, errno, syscall, address, same_port) == ("EADDRINUSE", -98, "listen", "127.0.0.1", True)
    assert message.startswith("listen EADDRINUSE: address already in use 127.0.0.1:")
    assert seen["sync"] == (False, None)  # a host name: bound after the lookup
    assert seen["after error"] == (False, None)
    assert seen["relisten"] is True


def test_listen_twice_throws_and_close_when_not_running(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer()
        srv.listen(0)
        try:
            srv.listen(0)
        except Exception as exc:
            seen["twice"] = getattr(exc, "code", None)
        srv.close(lambda err=None: seen.__setitem__("first close", err))
        srv.close(lambda err=None: seen.__setitem__("second close", getattr(err, "code", None)))
        seen["address after close"] = srv.address()

    run(main, loops)
    assert seen["twice"] == "ERR_SERVER_ALREADY_LISTEN"
    assert seen["first close"] is None
    assert seen["second close"] == "ERR_SERVER_NOT_RUNNING"
    assert seen["address after close"] is None


def test_close_waits_for_every_connection(loops: LoopRecorder) -> None:
    order: list[str] = []

    def main() -> None:
        peers: list[net.Socket] = []
        srv = net.createServer()

        def on_connection(peer: net.Socket) -> None:
            peers.append(peer)
            if len(peers) == 2:

                def counted(err: Any, n: int) -> None:
                    order.append(f"connections {n}")
                    srv.close(lambda err=None: order.append("close callback"))
                    order.append(f"listening {srv.listening}")
                    peers[0].end()
                    peers[0].on("close", lambda _e: (order.append("first gone"), peers[1].end()))
                    peers[1].on("close", lambda _e: order.append("second gone"))

                srv.getConnections(counted)

        srv.on("connection", on_connection)
        srv.on("close", lambda: order.append("close"))

        def listening() -> None:
            for _ in range(2):
                cli = net.connect(port_of(srv), "127.0.0.1")
                cli.resume()

        srv.listen(0, "127.0.0.1", listening)

    run(main, loops)
    assert order == [
        "connections 2",
        "listening False",
        "first gone",
        # The server counts a connection gone when it is destroyed; the socket's own 'close' waits
        # for its handle to close, a loop turn later: so the server closes first (as in Node).
        "close",  # registered first
        "close callback",
        "second gone",
    ]


def test_max_connections_drops_with_details(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {"drops": [], "closes": 0}

    def main() -> None:
        srv = net.createServer()
        srv.maxConnections = 1
        srv.on("drop", lambda info: seen["drops"].append(info))

        def listening() -> None:
            port = port_of(srv)

            def closed(_e: bool) -> None:
                seen["closes"] += 1
                if seen["closes"] == 2:
                    srv.close()

            def first_accepted(peer: net.Socket) -> None:
                second = net.connect(port, "127.0.0.1")
                second.resume()

                def second_closed(_e: bool) -> None:
                    peer.destroy()
                    first.destroy()

                second.on("close", second_closed)
                second.on("close", closed)

            srv.once("connection", first_accepted)
            first = net.connect(port, "127.0.0.1")
            first.resume()
            first.on("close", closed)

        srv.listen(0, "127.0.0.1", listening)

    run(main, loops)
    assert len(seen["drops"]) == 1
    info = seen["drops"][0]
    assert info["localAddress"] == "127.0.0.1" and info["remoteAddress"] == "127.0.0.1"
    assert info["localFamily"] == info["remoteFamily"] == "IPv4"


def test_pause_on_connect_reads_nothing_until_resumed(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer({"pauseOnConnect": True})
        peers: list[net.Socket] = []

        def check() -> None:
            # Both have happened: the server accepted, and the client's data and FIN were sent (on
            # loopback the kernel has them at the server's socket once the client's shutdown is done).
            if not peers or "cli finished" not in seen:
                return
            peer = peers[0]
            seen["paused bytesRead"] = peer.bytesRead
            seen["flowing"] = peer.readableFlowing
            peer.on("data", lambda d: seen.__setitem__("data", d))
            peer.on("end", lambda: (seen.__setitem__("bytesRead", peer.bytesRead), srv.close()))
            peer.resume()  # readableFlowing is false: a 'data' listener alone does not resume

        srv.on("connection", lambda peer: (peers.append(peer), check()))

        def listening() -> None:
            cli = net.connect(port_of(srv), "127.0.0.1")
            cli.on("finish", lambda: (seen.__setitem__("cli finished", True), check()))
            cli.end(b"ping")

        srv.listen(0, "127.0.0.1", listening)

    run(main, loops)
    assert seen["paused bytesRead"] == 0
    assert seen["flowing"] is False
    assert seen["data"] == b"ping" and seen["bytesRead"] == 4


def test_async_with_closes_the_server(loops: LoopRecorder) -> None:
    seen: list[str] = []

    async def main() -> None:
        srv = net.createServer()
        async with srv:
            srv.listen(0)
            seen.append(f"listening {srv.listening}")
        seen.append(f"after {srv.listening}")
        await srv.asyncDispose()  # not running: resolves at once
        seen.append("disposed twice")

    run(main, loops)
    assert seen == ["listening True", "after False", "disposed twice"]


def test_unix_path_in_use_is_not_unlinked_and_ours_is(loops: LoopRecorder, tmpdir_short: str) -> None:
    stale = os.path.join(tmpdir_short, "stale.sock")
    with open(stale, "w"):
        pass
    ours = os.path.join(tmpdir_short, "ours.sock")
    seen: dict[str, Any] = {}

    def main() -> None:
        a = net.createServer()
        a.on("error", lambda err: seen.__setitem__("stale error", (err.code, err.syscall, err.address)))
        a.listen(stale)
        b = net.createServer(lambda peer: peer.end(b"hi"))

        def listening() -> None:
            seen["address"] = b.address()
            seen["exists while listening"] = os.path.exists(ours)
            cli = net.connect(ours)
            got: list[bytes] = []
            cli.on("data", got.append)
            cli.on("close", lambda _e: (seen.__setitem__("got", b"".join(got)), b.close()))

        b.listen(ours, listening)

    run(main, loops)
    assert seen["stale error"] == ("EADDRINUSE", "listen", stale)
    assert os.path.exists(stale)  # Node never deletes a file it did not create
    assert seen["address"] == ours and seen["exists while listening"] is True
    assert seen["got"] == b"hi"
    assert not os.path.exists(ours)  # unlinked on close, as libuv does


def test_keep_alive_and_no_delay_on_accepted_sockets(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer({"noDelay": True, "keepAlive": True, "keepAliveInitialDelay": 2000})

        def on_connection(peer: net.Socket) -> None:
            handle = peer._handle
            assert handle is not None
            with socket.socket(fileno=os.dup(handle.fd)) as s:
                seen["nodelay"] = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                seen["keepalive"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
                seen["idle"] = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
            peer.destroy()
            srv.close()

        srv.on("connection", on_connection)
        srv.listen(0, "127.0.0.1", lambda: net.connect(port_of(srv), "127.0.0.1").resume())

    run(main, loops)
    assert seen["nodelay"] != 0 and seen["keepalive"] == 1 and seen["idle"] == 2
