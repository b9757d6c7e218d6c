"""net.BoundSocket and adoption: listen(bound), listen(server), listen({fd}), Socket({handle}), Socket({fd}).

What the conformance scenarios cannot see: descriptors really released (counted in /proc/self/fd), socket
files really unlinked, data really crossing sockets adopted by descriptor (including what is written
before asyncio has made the transport), descriptors refused while another handle owns them.  Every test
runs on uvloop and on asyncio's own loop, ends on events (no sleeps), and fails if the loop's exception
handler fired or ``run()`` left its loop open.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import stat
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import uvloop
from _loops import LoopRecorder

import uvnet as net
from uvnet import _runtime as rt
from uvnet.errors import NULL

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module", autouse=True)
def warm_loops() -> None:
    """uvloop's first loop in a process opens a pipe pair that it keeps for the process: open it
    before any test counts descriptors."""
    for factory in (uvloop.new_event_loop, asyncio.new_event_loop):
        rt.run(lambda: None, loop_factory=factory)


@pytest.fixture
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="uvnet-handles-") as name:
        yield Path(name)


def run(main: Callable[[], object], loops: LoopRecorder) -> Any:
    return rt.run(main, loop_factory=loops)


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def port_of(obj: net.Server | net.BoundSocket) -> int:
    address = obj.address()
    assert isinstance(address, dict)
    return int(address["port"])


def code_of(fn: Callable[[], object]) -> str | None:
    try:
        fn()
    except Exception as exc:
        return getattr(exc, "code", type(exc).__name__)
    return None


def tcp_pair(buffer: int = 0) -> tuple[int, int]:
    """Two connected TCP descriptors (client end, server end), detached from their Python objects;
    with ``buffer``, the kernel's send buffers are that small."""
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen()
        client = socket.create_connection(lsock.getsockname())
        server, _ = lsock.accept()
    return _small(client, buffer).detach(), _small(server, buffer).detach()


def unix_pair(buffer: int = 0) -> tuple[int, int]:
    a, b = socket.socketpair()
    return _small(a, buffer).detach(), _small(b, buffer).detach()


def _small(sock: socket.socket, buffer: int) -> socket.socket:
    if buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer)
    return sock


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------
# BoundSocket on its own (no loop needed: binding is synchronous)


def test_bound_tcp_address_fd_and_close_release_the_descriptor() -> None:
    before = fd_count()
    bound = net.BoundSocket({"host": "127.0.0.1"})
    address = bound.address()
    assert isinstance(address, dict)
    assert address["address"] == "127.0.0.1" and address["family"] == "IPv4" and address["port"] > 0
    assert bound.isPipe is False
    fd = bound.fd()
    with socket.socket(fileno=os.dup(fd)) as view:  # the descriptor really is bound there
        assert view.getsockname() == ("127.0.0.1", address["port"])
        assert view.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
    assert fd_count() == before + 1
    bound.close()
    assert fd_count() == before
    for call in (bound.address, bound.fd, bound.close):
        assert code_of(call) == "ERR_SOCKET_HANDLE_ADOPTED"


def test_bound_keyword_options_and_defaults() -> None:
    with net.BoundSocket() as any4:
        assert any4.address() == {"address": "0.0.0.0", "family": "IPv4", "port": port_of(any4)}
    with net.BoundSocket(host="127.0.0.1", port=NULL, ipv6Only=None) as bound:
        assert bound.address() == {"address": "127.0.0.1", "family": "IPv4", "port": port_of(bound)}
    with net.BoundSocket({"host": "127.0.0.1", "port": "0"}) as bound:  # a numeric string is a port
        assert port_of(bound) > 0


def test_bound_validation_is_synchronous_and_leaks_nothing() -> None:
    before = fd_count()
    cases: list[tuple[Any, str]] = [
        (5, "ERR_INVALID_ARG_TYPE"),
        (NULL, "ERR_INVALID_ARG_TYPE"),
        ([], "ERR_INVALID_ARG_TYPE"),
        ({"host": "localhost"}, "ERR_INVALID_ARG_VALUE"),
        ({"host": ""}, "ERR_INVALID_ARG_VALUE"),
        ({"host": 127}, "ERR_INVALID_ARG_TYPE"),
        ({"port": -1}, "ERR_SOCKET_BAD_PORT"),
        ({"port": 1.5}, "ERR_SOCKET_BAD_PORT"),
        ({"port": True}, "ERR_SOCKET_BAD_PORT"),
        ({"ipv6Only": "yes"}, "ERR_INVALID_ARG_TYPE"),
        ({"reusePort": 1}, "ERR_INVALID_ARG_TYPE"),
        ({"path": 5}, "ERR_INVALID_ARG_TYPE"),
        ({"path": NULL}, "ERR_INVALID_ARG_TYPE"),
        ({"path": "x.sock", "port": 0}, "ERR_INVALID_ARG_VALUE"),
        ({"path": "x.sock", "reusePort": False}, "ERR_INVALID_ARG_VALUE"),
        ({"host": "10.255.255.1"}, "EADDRNOTAVAIL"),
    ]
    for options, code in cases:
        assert code_of(partial(net.BoundSocket, options)) == code, options
    assert fd_count() == before


def test_bound_port_in_use_throws_eaddrinuse_with_bind_syscall() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = fd_count()
        with pytest.raises(OSError) as info:
            net.BoundSocket({"host": "127.0.0.1", "port": port})
        err: Any = info.value
        assert (err.code, err.syscall, err.address, err.port) == ("EADDRINUSE", "bind", "127.0.0.1", port)
        assert str(err) == f"bind EADDRINUSE 127.0.0.1:{port}"
        assert fd_count() == before


def test_bound_same_port_twice_and_reuse_port() -> None:
    with net.BoundSocket({"host": "127.0.0.1"}) as first:
        with net.BoundSocket({"host": "127.0.0.1", "port": port_of(first)}) as second:  # SO_REUSEADDR
            assert port_of(second) == port_of(first)
    with net.BoundSocket({"host": "127.0.0.1", "reusePort": True}) as first:
        with socket.socket(fileno=os.dup(first.fd())) as view:
            assert view.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1


def test_bound_ipv6_only_binds_v6_only() -> None:
    try:
        bound = net.BoundSocket({"ipv6Only": True})
    except OSError:
        pytest.skip("no IPv6")
    with bound, socket.socket(fileno=os.dup(bound.fd())) as view:
        assert bound.address()["address"] == "::"  # type: ignore[index]
        assert view.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1


def test_bound_pipe_owns_its_path(tmp: Path) -> None:
    path = str(tmp / "bound.sock")
    bound = net.BoundSocket({"path": path})
    assert bound.address() == path and bound.isPipe is True
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert code_of(lambda: net.BoundSocket({"path": path})) == "EADDRINUSE"  # Node never unlinks first
    bound.close()
    assert not os.path.exists(path)  # uv_close unlinks what uv_pipe_bind created
    assert code_of(lambda: net.BoundSocket({"path": str(tmp / "no" / "dir.sock")})) == "EACCES"
    assert code_of(lambda: net.BoundSocket({"path": str(tmp / ("x" * 200))})) == "EINVAL"
    with net.BoundSocket({"path": "\0uvnet-test-abstract"}) as abstract:
        assert abstract.address() == "\0uvnet-test-abstract"


def test_bound_with_block_closes_once_and_is_a_no_op_after_close() -> None:
    before = fd_count()
    with net.BoundSocket({"host": "127.0.0.1"}) as bound:
        assert fd_count() == before + 1
    assert fd_count() == before
    assert code_of(bound.address) == "ERR_SOCKET_HANDLE_ADOPTED"
    bound.__exit__(None, None, None)  # Symbol.dispose again: nothing happens
    closed = net.BoundSocket({"host": "127.0.0.1"})
    closed.close()
    with closed:  # disposing a closed one does not throw
        pass


# ---------------------------------------------------------------------------------------------------
# Adoption by a server


def test_listen_on_bound_tcp_serves_and_takes_ownership(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}
    before = fd_count()

    def main() -> None:
        bound = net.BoundSocket({"host": "127.0.0.1"})
        port = port_of(bound)
        srv = net.createServer(lambda peer: peer.end(b"hello"))
        srv.listen(bound, lambda: seen.setdefault("listening", port_of(srv)))
        seen["codes"] = [code_of(bound.address), code_of(bound.fd), code_of(bound.close)]
        seen["again"] = code_of(lambda: net.createServer().listen(bound))
        seen["as-socket"] = code_of(lambda: net.Socket({"handle": bound}))
        with bound:  # disposing an adopted one is a no-op
            pass
        cli = net.connect(port, "127.0.0.1")
        chunks: list[bytes] = []
        cli.on("data", chunks.append)
        cli.on("close", lambda _e: (seen.setdefault("data", b"".join(chunks)), srv.close()))
        seen["port"] = port

    run(main, loops)
    assert seen["listening"] == seen["port"]
    assert seen["codes"] == ["ERR_SOCKET_HANDLE_ADOPTED"] * 3
    assert seen["again"] == seen["as-socket"] == "ERR_SOCKET_HANDLE_ADOPTED"
    assert seen["data"] == b"hello"
    assert fd_count() <= before


def test_listen_on_bound_pipe_and_close_unlinks(loops: LoopRecorder, tmp: Path) -> None:
    path = str(tmp / "srv.sock")
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer(lambda peer: peer.end(b"pipe"))
        srv.listen({"handle": net.BoundSocket({"path": path}), "backlog": 8})
        seen["address"] = srv.address()
        cli = net.connect(path)
        chunks: list[bytes] = []
        cli.on("data", chunks.append)

        def closed(_had_error: bool) -> None:
            seen["data"] = b"".join(chunks)
            srv.close(lambda *_: seen.setdefault("exists-after-close", os.path.exists(path)))

        cli.on("close", closed)

    run(main, loops)
    assert seen == {"address": path, "data": b"pipe", "exists-after-close": False}


def test_two_bound_sockets_same_port_second_listen_fails(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        first = net.BoundSocket({"host": "127.0.0.1"})
        second = net.BoundSocket({"host": "127.0.0.1", "port": port_of(first)})
        a, b = net.createServer(), net.createServer()
        a.listen(first)

        def failed(err: Any) -> None:
            seen["error"] = (err.code, err.syscall, err.port)
            seen["listening"] = b.listening
            a.close()

        b.on("error", failed)
        b.listen(second)

    before = fd_count()
    run(main, loops)
    assert seen == {"error": ("EADDRINUSE", "listen", -1), "listening": False}
    assert fd_count() <= before


def test_listen_on_another_server_shares_the_socket(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        a = net.createServer(lambda peer: seen.setdefault("a-got-one", True))
        b = net.createServer(lambda peer: peer.end(b"from b"))

        def a_listening() -> None:
            b.listen(a, b_listening)

        def b_listening() -> None:
            seen["same"] = b.address() == a.address()
            cli = net.connect(port_of(a), "127.0.0.1")
            chunks: list[bytes] = []
            cli.on("data", chunks.append)

            def closed(_had_error: bool) -> None:
                seen["data"] = b"".join(chunks)
                a.close()  # closes the shared socket
                seen["b-address"] = code_of(b.address)
                b.close()

            cli.on("close", closed)

        a.listen(0, "127.0.0.1", a_listening)

    before = fd_count()
    run(main, loops)
    assert seen == {"same": True, "data": b"from b", "b-address": "EBADF"}
    assert fd_count() <= before


def test_listen_on_pipe_server_is_eexist_and_the_first_keeps_serving(loops: LoopRecorder, tmp: Path) -> None:
    path = str(tmp / "s.sock")
    seen: dict[str, Any] = {}

    def main() -> None:
        a = net.createServer(lambda peer: peer.end(b"still a"))

        def a_listening() -> None:
            b = net.createServer()

            def b_error(err: Any) -> None:
                seen["error"] = (err.code, err.syscall, err.address)
                seen["a-listening"] = a.listening
                cli = net.connect(path)
                chunks: list[bytes] = []
                cli.on("data", chunks.append)
                cli.on("close", lambda _e: (seen.setdefault("data", b"".join(chunks)), a.close()))

            b.on("error", b_error)
            b.listen({"handle": a._handle})

        a.listen(path, a_listening)

    run(main, loops)
    assert seen == {"error": ("EEXIST", "listen", NULL), "a-listening": True, "data": b"still a"}


def test_listen_on_a_connection_reports_einval_and_leaves_it_alone(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer(lambda peer: peer.on("data", lambda d: peer.end(d)))

        def connected() -> None:
            other = net.createServer()

            def failed(err: Any) -> None:
                seen["error"] = (err.code, err.syscall, err.address, err.port, str(err))
                seen["listening"] = other.listening
                clients[0].end(b"echo")  # the connection still works (DIVERGENCE listen-connection-handle)

            other.on("error", failed)
            other.listen(clients[0])

        def listening() -> None:
            cli = net.connect(port_of(srv), "127.0.0.1", connected)
            clients.append(cli)
            chunks: list[bytes] = []
            cli.on("data", chunks.append)
            cli.on("close", lambda _e: (seen.setdefault("data", b"".join(chunks)), srv.close()))

        clients: list[net.Socket] = []
        srv.listen(0, "127.0.0.1", listening)

    run(main, loops)
    assert seen["error"] == ("EINVAL", "listen", NULL, -1, "listen EINVAL: invalid argument")
    assert seen["listening"] is False
    assert seen["data"] == b"echo"


def test_listen_on_objects_without_a_handle_throws() -> None:
    async def main() -> dict[str, Any]:
        return {
            "server": code_of(lambda: net.createServer().listen(net.createServer())),
            "handle-none": code_of(lambda: net.createServer().listen({"handle": None})),
        }

    codes = asyncio.run(main())
    assert codes["server"] == "ERR_INVALID_ARG_VALUE"
    assert codes["handle-none"] == "ERR_INVALID_ARG_VALUE"


# ---------------------------------------------------------------------------------------------------
# listen({fd})


def test_listen_on_a_listening_descriptor(loops: LoopRecorder) -> None:
    raw = socket.socket()
    raw.bind(("127.0.0.1", 0))
    raw.listen()
    port = raw.getsockname()[1]
    fd = raw.detach()  # handed over: the server owns and closes it, as in Node
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer(lambda peer: peer.end(b"fd server"))

        def listening() -> None:
            seen["address"] = srv.address()
            seen["handle-fd"] = srv._handle.fd if srv._handle is not None else None
            cli = net.connect(port, "127.0.0.1")
            chunks: list[bytes] = []
            cli.on("data", chunks.append)
            cli.on("close", lambda _e: (seen.setdefault("data", b"".join(chunks)), srv.close()))

        srv.listen({"fd": fd}, listening)

    run(main, loops)
    assert seen["address"] == {"address": "127.0.0.1", "family": "IPv4", "port": port}
    assert seen["handle-fd"] == fd
    assert seen["data"] == b"fd server"
    assert not is_open(fd)


def test_listen_fd_errors(loops: LoopRecorder) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    read_end, write_end = os.pipe()
    seen: list[Any] = []

    def main() -> None:
        def attempt(options: dict[str, Any], then: Callable[[], None]) -> None:
            srv = net.createServer()

            def failed(err: Any) -> None:
                seen.append((err.code, err.syscall, err.address, srv.listening))
                then()

            srv.on("error", failed)
            srv.listen(options)

        a = net.createServer()

        def in_use() -> None:
            attempt({"fd": a._handle.fd if a._handle else -1}, closed_then_bad_number)

        def closed_then_bad_number() -> None:
            a.close()
            bad_number()

        def bad_number() -> None:
            attempt({"fd": 2147483647}, lambda: attempt({"fd": udp.fileno()}, fifo))

        def fifo() -> None:
            attempt({"fd": read_end}, lambda: None)

        a.listen(0, "127.0.0.1", in_use)

    try:
        run(main, loops)
        assert seen == [
            ("EEXIST", "listen", NULL, False),
            ("EINVAL", "listen", NULL, False),
            ("EINVAL", "listen", NULL, False),  # a UDP socket is no listening type
            ("ENOTSOCK", "listen", NULL, False),  # a pipe opens, listen(2) refuses it
        ]
        assert is_open(udp.fileno())
        assert not is_open(read_end)  # as Node, which closes the pipe handle it opened on it
    finally:
        udp.close()
        os.close(write_end)


# ---------------------------------------------------------------------------------------------------
# Adoption by a socket


def test_socket_adopting_bound_tcp_connects_from_the_bound_port(loops: LoopRecorder) -> None:
    seen: dict[str, Any] = {}

    def main() -> None:
        def on_connection(peer: net.Socket) -> None:
            seen["peer-remote-port"] = peer.remotePort
            peer.end(b"hi")

        srv = net.createServer(on_connection)

        def listening() -> None:
            bound = net.BoundSocket({"host": "127.0.0.1"})
            seen["bound-port"] = port_of(bound)
            cli = net.Socket({"handle": bound})
            seen["before"] = (cli.pending, cli.connecting, cli.readyState, cli.localPort)
            seen["local-port-option"] = code_of(
                lambda: net.Socket({"handle": net.BoundSocket()}).connect(
                    {"port": port_of(srv), "localPort": 5}
                )
            )
            cli.connect(port_of(srv), "127.0.0.1")
            chunks: list[bytes] = []
            cli.on("data", chunks.append)
            cli.on("close", lambda _e: (seen.setdefault("data", b"".join(chunks)), srv.close()))

        srv.listen(0, "127.0.0.1", listening)

    before = fd_count()
    run(main, loops)
    assert seen["before"] == (False, False, "open", seen["bound-port"])
    assert seen["peer-remote-port"] == seen["bound-port"]
    assert seen["local-port-option"] == "ERR_INVALID_ARG_VALUE"
    assert seen["data"] == b"hi"
    assert fd_count() <= before


def test_socket_adopting_bound_pipe_unlinks_its_path(loops: LoopRecorder, tmp: Path) -> None:
    server_path, client_path, unused_path = (str(tmp / n) for n in ("s.sock", "c.sock", "u.sock"))
    seen: dict[str, Any] = {}

    def main() -> None:
        srv = net.createServer(lambda peer: peer.end(b"to pipe client"))

        def listening() -> None:
            cli = net.Socket({"handle": net.BoundSocket({"path": client_path})})
            seen["local-before"] = cli.localAddress
            cli.connect(server_path)
            cli.on("connect", lambda: seen.setdefault("local", (cli.localAddress, cli.address())))
            chunks: list[bytes] = []
            cli.on("data", chunks.append)

            def closed(_had_error: bool) -> None:
                seen["data"] = b"".join(chunks)
                seen["client-file"] = os.path.exists(client_path)
                unused = net.Socket({"handle": net.BoundSocket({"path": unused_path})})
                unused.on(
                    "close",
                    lambda _e: (seen.setdefault("unused-file", os.path.exists(unused_path)), srv.close()),
                )
                unused.destroy()  # never connected: closing still unlinks

            cli.on("close", closed)

        srv.listen(server_path, listening)

    run(main, loops)
    assert seen == {
        "local-before": client_path,
        "local": (client_path, {"address": client_path}),
        "data": b"to pipe client",
        "client-file": False,
        "unused-file": False,
    }


def test_socket_adopting_bound_with_onread_reads_into_the_buffer(loops: LoopRecorder) -> None:
    buf = bytearray(16)
    got: list[bytes] = []

    def main() -> None:
        srv = net.createServer(lambda peer: peer.end(b"x" * 40))

        def on_read(n: int, view: Any) -> None:
            assert view is buf
            got.append(bytes(view[:n]))

        def listening() -> None:
            cli = net.Socket(
                {
                    "handle": net.BoundSocket({"host": "127.0.0.1"}),
                    "onread": {"buffer": buf, "callback": on_read},
                }
            )
            cli.connect(port_of(srv), "127.0.0.1")
            cli.on("close", lambda _e: srv.close())

        srv.listen(0, "127.0.0.1", listening)

    run(main, loops)
    assert b"".join(got) == b"x" * 40
    assert max(len(g) for g in got) <= 16


# ---------------------------------------------------------------------------------------------------
# new net.Socket({fd})


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_on_connected_descriptors_exchanges_data(loops: LoopRecorder, kind: str) -> None:
    # Small kernel buffers: most of the first write waits for the transport (AdoptedHandle's early data).
    left, right = tcp_pair(8192) if kind == "tcp" else unix_pair(8192)
    payload = bytes(i % 251 for i in range(1024 * 1024))
    seen: dict[str, Any] = {}

    def main() -> None:
        a = net.Socket({"fd": left, "readable": True, "writable": True})
        b = net.Socket(right)  # the legacy form
        seen["state"] = (a.readyState, a.pending, a.connecting)
        seen["remote"] = a.remoteAddress
        seen["write-returned"] = a.write(payload, lambda err=None: seen.setdefault("write-cb", err))
        a.end()  # before the transport exists: the shutdown waits for the early data
        received = hashlib.sha256()
        size = [0]

        def on_data(chunk: bytes) -> None:
            received.update(chunk)
            size[0] += len(chunk)

        b.on("data", on_data)
        b.on("end", lambda: (seen.setdefault("received", (size[0], received.hexdigest())), b.end(b"bye")))
        back: list[bytes] = []
        a.on("data", back.append)
        a.on("close", lambda had_error: seen.setdefault("a-close", (had_error, b"".join(back))))
        b.on("close", lambda had_error: seen.setdefault("b-close", had_error))

    before = fd_count()
    run(main, loops)
    assert seen["state"] == ("open", False, False)
    assert seen["remote"] == ("127.0.0.1" if kind == "tcp" else None)
    assert seen["write-returned"] is False
    assert seen["write-cb"] is None
    assert seen["received"] == (len(payload), hashlib.sha256(payload).hexdigest())
    assert seen["a-close"] == (False, b"bye")
    assert seen["b-close"] is False
    assert not is_open(left) and not is_open(right)  # the sockets owned their descriptors
    assert fd_count() <= before


def test_socket_on_descriptor_write_only_and_destroy_before_the_transport(loops: LoopRecorder) -> None:
    left, right = unix_pair()
    other_left, other_right = unix_pair()
    seen: dict[str, Any] = {}

    def main() -> None:
        a = net.Socket({"fd": left, "readable": False})
        seen["a"] = (a.readyState, a.readable, a.writable)
        b = net.Socket({"fd": right, "writable": False})
        seen["b"] = (b.readyState, b.readable, b.writable)
        a.end(b"one way")
        chunks: list[bytes] = []
        b.on("data", chunks.append)
        b.on("end", lambda: seen.setdefault("data", b"".join(chunks)))
        b.on("close", lambda _e: b.destroy())
        gone = net.Socket({"fd": other_left})
        gone.on("close", lambda had_error: seen.setdefault("gone", had_error))
        gone.destroy()  # in the same tick: the transport was never made

    before = fd_count()
    try:
        run(main, loops)
    finally:
        os.close(other_right)
    assert seen == {
        "a": ("writeOnly", False, True),
        "b": ("readOnly", True, False),
        "data": b"one way",
        "gone": False,
    }
    assert not is_open(other_left)
    assert fd_count() <= before - 1


def test_socket_fd_refusals() -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as file, tempfile.TemporaryDirectory() as folder:
        directory = os.open(folder, os.O_RDONLY)

        async def main() -> dict[str, Any]:
            bound = net.BoundSocket({"host": "127.0.0.1"})
            srv = net.createServer().listen(0)  # no host: listening synchronously
            assert srv._handle is not None
            try:
                return {
                    "file": code_of(lambda: net.Socket({"fd": file.fileno()})),
                    "directory": code_of(lambda: net.Socket({"fd": directory})),
                    "udp": code_of(lambda: net.Socket({"fd": udp.fileno()})),
                    "pipe": code_of(lambda: net.Socket({"fd": read_end})),  # DIVERGENCE(fd-pipe)
                    "bound": code_of(lambda: net.Socket({"fd": bound.fd()})),  # DIVERGENCE(fd-in-use)
                    "listening": code_of(lambda: net.Socket({"fd": srv._handle.fd})),  # type: ignore[union-attr]
                    "closed": code_of(lambda: net.Socket({"fd": 2147483647})),
                    "negative": code_of(lambda: net.Socket({"fd": -1})),
                    "string": code_of(lambda: net.Socket({"fd": "3"})),
                    "foreign-handle": code_of(lambda: net.Socket({"handle": object()})),
                }
            finally:
                bound.close()
                srv.close()

        try:
            codes = asyncio.run(main())
            assert all(is_open(fd) for fd in (udp.fileno(), read_end, directory, file.fileno()))
        finally:
            os.close(directory)
            os.close(read_end)
            os.close(write_end)
            udp.close()
    assert codes == {
        "file": "ERR_INVALID_FD_TYPE",
        "directory": "ERR_INVALID_FD_TYPE",
        "udp": "ERR_INVALID_FD_TYPE",
        "pipe": "ERR_INVALID_FD_TYPE",
        "bound": "EEXIST",
        "listening": "EEXIST",
        "closed": "ERR_INVALID_FD_TYPE",
        "negative": "ERR_OUT_OF_RANGE",
        "string": "ERR_INVALID_ARG_TYPE",
        "foreign-handle": "ERR_INVALID_ARG_TYPE",
    }


def test_socket_fd_type_names() -> None:
    from uvnet._handles import guess_handle_type

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket()
    unix = socket.socket(socket.AF_UNIX)
    read_end, write_end = os.pipe()
    try:
        assert guess_handle_type(udp.fileno()) == "UDP"
        assert guess_handle_type(tcp.fileno()) == "TCP"
        assert guess_handle_type(unix.fileno()) == "PIPE"
        assert guess_handle_type(read_end) == "PIPE"
        assert guess_handle_type(2147483647) == "UNKNOWN"
        with open(os.devnull, "rb") as null:
            assert guess_handle_type(null.fileno()) == "FILE"
        assert [udp.fileno() >= 0, tcp.fileno() >= 0, unix.fileno() >= 0] == [True] * 3  # probes detached
    finally:
        for s in (udp, tcp, unix):
            s.close()
        os.close(read_end)
        os.close(write_end)


# ---------------------------------------------------------------------------------------------------
# Leaks


def test_no_fd_leak_after_many_adoptions(loops: LoopRecorder, tmp: Path) -> None:
    cycles = 200
    state = {"done": 0}

    def main() -> None:
        srv = net.createServer(lambda peer: peer.end())

        def one() -> None:
            if state["done"] % 2:
                cli = net.Socket({"handle": net.BoundSocket({"host": "127.0.0.1"})})
                cli.connect(port_of(srv), "127.0.0.1")
            else:
                left, right = unix_pair()
                cli = net.Socket({"fd": left})
                net.Socket({"fd": right}).destroy()
            cli.resume()

            def closed(_had_error: bool) -> None:
                state["done"] += 1
                if state["done"] == cycles:
                    srv.close()
                else:
                    one()

            cli.on("close", closed)
            cli.on("error", lambda _err: None)

        srv.listen(0, "127.0.0.1", one)

    before = fd_count()
    run(main, loops)
    assert state["done"] == cycles
    assert fd_count() <= before
    assert os.listdir(tmp) == []
