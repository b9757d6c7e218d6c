"""uvnet.promises: the async/await surface, over real sockets on 127.0.0.1.

Every test runs in both contexts (``uvnet.run(main)`` and a plain ``asyncio`` runner, where the
runtime is created lazily) and on both loops (uvloop, asyncio's own).  Every test ends on events (no
sleeps as synchronisation), fails if the loop's exception handler fired, if a descriptor is left open,
or if anything is left behind: under ``uvnet.run`` the run must return (nothing ref'd is left), under
asyncio no task but the main one and no runtime handle may be left.  The expected Node behaviour
quoted in comments was measured on Node 24.21.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop
from _loops import LoopRecorder

import uvnet as net
from uvnet import _runtime as rt
from uvnet import events, promises
from uvnet.errors import AbortError, NodeError, NodeSystemError

pytestmark = pytest.mark.timeout(30)

Main = Callable[[], Coroutine[Any, Any, Any]]


@pytest.fixture(params=["uvnet.run", "asyncio.run"])
def context(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fd_count() -> int:
    gc.collect()  # sockets other tests dropped close now, not in the middle of this count
    return len(os.listdir("/proc/self/fd"))


# libuv opens a process-wide pipe with its first loop (its signal pipe): open it before counting.
uvloop.new_event_loop().close()


def execute(main: Main, context: str, loops: LoopRecorder) -> Any:
    """Run ``main`` in ``context``; check that nothing is left behind."""
    before = fd_count()
    if context == "uvnet.run":
        # run() returns only when nothing ref'd is left: a leaked socket or server would hang here.
        result = rt.run(main, loop_factory=loops)
    else:

        async def checked() -> Any:
            value = await main()
            await turn()  # close callbacks the loop has queued (call_soon) run before an immediate
            left = asyncio.all_tasks() - {asyncio.current_task()}
            assert not left, f"tasks left: {left}"
            assert rt.current()._handles == {}, f"handles left: {rt.current()._handles}"
            return value

        with asyncio.Runner(loop_factory=loops) as runner:
            result = runner.run(checked())
    assert fd_count() == before, "a file descriptor was left open"
    return result


# -- helpers (all event-driven) ----------------------------------------------------------------------


def turn() -> rt.Promise:
    """A promise of the next immediate: the loop has run what it had queued."""
    return rt.Promise(lambda resolve, _reject: rt.set_immediate(resolve))


def when(emitter: events.EventEmitter, name: str) -> rt.Promise:
    """The next ``name`` event (no rejection on 'error': tests listen for errors themselves)."""
    return rt.Promise(lambda resolve, _reject: emitter.once(name, lambda *args: resolve(list(args))))


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()  # nobody listens there now
    return port


def port_of(server: net.Server) -> int:
    address = server.address()
    assert isinstance(address, dict)
    return int(address["port"])


async def close_server(server: net.Server) -> None:
    closed = when(server, "close")
    server.close()
    await closed


def as_bytes(chunk: bytes | str) -> bytes:
    assert isinstance(chunk, bytes)
    return chunk


def payload(size: int) -> bytes:
    block = hashlib.sha256(b"uvnet").digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


# ---------------------------------------------------------------------------------------------------
# connect


def test_connect_resolves_with_the_connected_socket(context: str, loops: LoopRecorder) -> None:
    async def main() -> list[Any]:
        server = net.createServer(lambda s: s.end(b"hi"))
        assert await promises.listen(server, 0, "127.0.0.1") is server
        port = port_of(server)
        out: list[Any] = []
        for args, kwargs in (
            ((port, "127.0.0.1"), {}),
            (({"port": port, "host": "127.0.0.1"},), {}),
            ((), {"port": port, "host": "127.0.0.1"}),
        ):
            sock = await promises.connect(*args, **kwargs)
            out.append((sock.connecting, sock.readyState, sock.remotePort == port))
            # promises.connect took its listeners back off the socket
            out.append([sock.listenerCount(n) for n in ("connect", "error")])
            assert [as_bytes(c) async for c in promises.iterator(sock)] == [b"hi"]
        await close_server(server)
        assert promises.createConnection is promises.connect
        return out

    assert execute(main, context, loops) == [(False, "open", True), [0, 0]] * 3


def test_connect_refused_rejects_with_nodes_error(context: str, loops: LoopRecorder) -> None:
    async def main() -> None:
        port = free_port()
        with pytest.raises(NodeSystemError) as info:
            await promises.connect(port, "127.0.0.1")
        err = info.value
        assert isinstance(err, OSError)
        assert (err.code, err.errno, err.syscall, err.address, err.port) == (
            "ECONNREFUSED",
            -111,
            "connect",
            "127.0.0.1",
            port,
        )
        assert str(err) == f"connect ECONNREFUSED 127.0.0.1:{port}"

    execute(main, context, loops)


def test_connect_refuses_a_connect_listener(context: str, loops: LoopRecorder) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="connectListener"):
            await promises.connect(free_port(), "127.0.0.1", lambda: None)
        server = net.createServer()
        with pytest.raises(TypeError, match="callback"):
            await promises.listen(server, 0, "127.0.0.1", lambda: None)
        assert not server.listening

    execute(main, context, loops)


def test_connect_cancelled_while_the_handshake_is_pending(context: str, loops: LoopRecorder) -> None:
    """A listener whose accept queue is full drops SYNs: the connect stays pending until cancelled."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.socket()
    filler.connect(("127.0.0.1", port))  # the one connection a backlog of 0 admits

    async def main() -> None:
        before = fd_count()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(promises.connect(port, "127.0.0.1"), 0.2)
        assert fd_count() == before, "the cancelled connect left its socket open"
        task = asyncio.ensure_future(promises.connect(port, "127.0.0.1"))
        while fd_count() == before:  # the task starts, the connect follows on a tick
            await turn()
        assert fd_count() == before + 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert fd_count() == before

    try:
        execute(main, context, loops)
    finally:
        filler.close()
        listener.close()


def test_connect_cancelled_during_lookup(context: str, loops: LoopRecorder) -> None:
    asked: list[str] = []

    def lookup(hostname: str, options: Any, callback: Callable[..., object]) -> None:
        asked.append(hostname)  # and never answers

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                promises.connect({"port": 80, "host": "example.test", "lookup": lookup}), 0.1
            )

    execute(main, context, loops)
    assert asked == ["example.test"]


def test_connect_aborted_by_signal_rejects_with_abort_error(context: str, loops: LoopRecorder) -> None:
    def lookup(hostname: str, options: Any, callback: Callable[..., object]) -> None:
        pass

    async def main() -> None:
        controller = net.AbortController()
        pending = promises.connect(
            {"port": 80, "host": "example.test", "lookup": lookup, "signal": controller.signal}
        )
        rt.set_immediate(controller.abort)
        with pytest.raises(AbortError) as info:
            await pending
        assert info.value.code == "ABORT_ERR"

    execute(main, context, loops)


# ---------------------------------------------------------------------------------------------------
# listen


def test_listen_eaddrinuse_rejects(context: str, loops: LoopRecorder) -> None:
    async def main() -> None:
        first = await promises.listen(net.createServer(), 0, "127.0.0.1")
        port = port_of(first)
        second = net.createServer()
        with pytest.raises(NodeSystemError) as info:
            await promises.listen(second, port, "127.0.0.1")
        err = info.value
        assert (err.code, err.errno, err.syscall, err.address, err.port) == (
            "EADDRINUSE",
            -98,
            "listen",
            "127.0.0.1",
            port,
        )
        assert str(err) == f"listen EADDRINUSE: address already in use 127.0.0.1:{port}"
        assert not second.listening
        assert [second.listenerCount(n) for n in ("listening", "error", "close")] == [0, 0, 0]
        await close_server(first)

    execute(main, context, loops)


def test_listen_options_object_and_kwargs(context: str, loops: LoopRecorder) -> None:
    async def main() -> None:
        a = await promises.listen(net.createServer(), {"port": 0, "host": "127.0.0.1"})
        b = await promises.listen(net.createServer(), port=0, host="127.0.0.1")
        assert a.listening and b.listening and port_of(a) != port_of(b)
        await close_server(a)
        await close_server(b)

    execute(main, context, loops)


def test_listen_cancelled_closes_the_server(context: str, loops: LoopRecorder) -> None:
    async def main() -> list[str]:
        log: list[str] = []
        # Cancelled once started (no host: the bind is synchronous, 'listening' follows on a tick).
        server = net.createServer()
        server.on("close", lambda: log.append("close"))
        task = asyncio.ensure_future(promises.listen(server, 0))
        await turn()  # the task ran up to its await
        assert server.listening
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not server.listening
        await turn()
        # Cancelled after 'listening' fired but before the awaiting task resumed.
        other = net.createServer()
        other.on("close", lambda: log.append("other close"))
        task = asyncio.ensure_future(promises.listen(other, 0, "127.0.0.1"))
        other.once("listening", lambda: (log.append("other listening"), task.cancel()))
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not other.listening
        await turn()
        return log

    assert execute(main, context, loops) == ["close", "other listening", "other close"]


def test_listen_rejects_when_closed_before_listening(context: str, loops: LoopRecorder) -> None:
    async def main() -> None:
        server = net.createServer()
        pending = promises.listen(server, 0)  # no host: bound at once, 'listening' on a tick
        rt.next_tick(server.close)  # queued before that tick: 'listening' never comes
        with pytest.raises(NodeError) as info:
            await pending
        assert info.value.code == "ERR_SERVER_NOT_RUNNING"
        assert not server.listening

    execute(main, context, loops)


def test_await_resumes_as_a_microtask_under_run_and_as_a_task_under_asyncio(
    context: str, loops: LoopRecorder
) -> None:
    """Under uvnet.run the continuation runs in the macrotask of the event, before an immediate the
    event's listener queued (a JS `await`); an asyncio task resumes on a later loop iteration."""
    log: list[str] = []

    async def main() -> None:
        server = net.createServer()
        server.on("listening", lambda: rt.set_immediate(log.append, "immediate"))
        await promises.listen(server, 0, "127.0.0.1")
        log.append("resumed")
        await turn()
        await close_server(server)

    execute(main, context, loops)
    if context == "uvnet.run":
        assert log == ["resumed", "immediate"]
    else:
        assert log == ["immediate", "resumed"]


# ---------------------------------------------------------------------------------------------------
# async for sock in server


def test_async_for_over_a_server_yields_three_queued_clients_in_order(
    context: str, loops: LoopRecorder
) -> None:
    async def main() -> list[bytes]:
        server = net.createServer()
        accepted: list[net.Socket] = []
        server.on("connection", accepted.append)
        await promises.listen(server, 0, "127.0.0.1")
        port = port_of(server)
        iterator = promises.connections(server)  # subscribed from now on
        all_in = rt.Promise()
        server.on("connection", lambda _s: all_in.resolve(None) if len(accepted) == 3 else None)
        clients = []
        for i in range(3):
            client = await promises.connect(port, "127.0.0.1")
            client.on("error", lambda err: None)
            client.end(f"client {i}".encode())
            clients.append(client)
        await all_in  # all three wait in the iterator's queue: none was lost
        received: list[bytes] = []
        yielded: list[net.Socket] = []
        async with server:
            async for sock in iterator:
                yielded.append(sock)
                received.append(b"".join([as_bytes(c) async for c in promises.iterator(sock)]))
                if len(yielded) == 3:
                    break
        # `async with server` closed it and awaited 'close': every accepted socket is gone
        assert not server.listening
        assert yielded == accepted
        for client in clients:
            if not client.closed:
                await when(client, "close")
        return received

    assert execute(main, context, loops) == [b"client 0", b"client 1", b"client 2"]


def test_async_for_sock_in_server_queues_while_the_consumer_is_busy(
    context: str, loops: LoopRecorder
) -> None:
    async def main() -> list[bytes]:
        server = await promises.listen(net.createServer(), 0, "127.0.0.1")
        accepted: list[net.Socket] = []
        server.on("connection", accepted.append)
        all_in = rt.Promise()
        server.on("connection", lambda _s: all_in.resolve(None) if len(accepted) == 3 else None)
        clients = [net.connect(port_of(server), "127.0.0.1") for _ in range(3)]
        for i, client in enumerate(clients):
            client.on("error", lambda err: None)
            client.end(f"client {i}".encode())
        received: list[bytes] = []
        yielded: list[net.Socket] = []
        async with server:
            async for sock in server:  # subscribed here, before any connection was accepted
                if not yielded:
                    await all_in  # busy: the other two are accepted meanwhile, and queued
                yielded.append(sock)
                async with sock:
                    received.append(b"".join([as_bytes(c) async for c in sock]))
                if len(yielded) == 3:
                    server.close()  # the loop then ends at 'close'
        assert yielded == accepted
        for client in clients:
            if not client.closed:
                await when(client, "close")
        return sorted(received)

    assert execute(main, context, loops) == [b"client 0", b"client 1", b"client 2"]


def test_server_iteration_ends_at_close_after_the_queue(context: str, loops: LoopRecorder) -> None:
    async def main() -> int:
        server = await promises.listen(net.createServer(), 0, "127.0.0.1")
        port = port_of(server)
        iterator = promises.connections(server)
        seen = 0
        client = await promises.connect(port, "127.0.0.1")
        client.on("error", lambda err: None)
        async for sock in iterator:
            seen += 1
            server.close()  # no more connections; 'close' waits for this one (Node's rule)
            sock.destroy()
        assert seen == 1
        await when(client, "close")
        return seen

    assert execute(main, context, loops) == 1


def test_leaving_the_server_loop_destroys_sockets_still_queued(context: str, loops: LoopRecorder) -> None:
    async def main() -> list[str]:
        server = await promises.listen(net.createServer(), 0, "127.0.0.1")
        port = port_of(server)
        accepted = rt.Promise()
        count = [0]

        def on_connection(_sock: net.Socket) -> None:
            count[0] += 1
            if count[0] == 2:
                accepted.resolve(None)

        server.on("connection", on_connection)
        iterator = promises.connections(server)
        clients = [await promises.connect(port, "127.0.0.1") for _ in range(2)]
        events: list[str] = []
        for i, client in enumerate(clients):
            client.on("end", lambda i=i: events.append(f"end {i}"))
            client.on("error", lambda err: None)
            client.resume()
        await accepted
        async for sock in iterator:
            sock.destroy()
            break  # the second socket is still queued: the iterator owned it, it destroys it
        del iterator  # nobody holds it now: closed as Node's return() is
        await close_server(server)  # 'close' comes: nothing queued holds the server open
        for client in clients:
            if not client.closed:
                await when(client, "close")
        return sorted(events)

    assert execute(main, context, loops) == ["end 0", "end 1"]


def test_server_iteration_raises_the_server_error(context: str, loops: LoopRecorder) -> None:
    async def main() -> None:
        first = await promises.listen(net.createServer(), 0, "127.0.0.1")
        second = net.createServer()
        iterator = promises.connections(second)
        second.listen(port_of(first), "127.0.0.1")
        with pytest.raises(NodeSystemError) as info:
            async for _sock in iterator:
                pass
        assert info.value.code == "EADDRINUSE"
        assert second.listenerCount("error") == 0
        await close_server(first)

    execute(main, context, loops)


def test_server_iterator_survives_a_cancelled_wait(context: str, loops: LoopRecorder) -> None:
    async def main() -> None:
        server = await promises.listen(net.createServer(), 0, "127.0.0.1")
        iterator = promises.connections(server)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(iterator), 0.05)
        client = await promises.connect(port_of(server), "127.0.0.1")
        client.on("error", lambda err: None)
        sock = await anext(iterator)  # the same iterator, nothing lost
        assert sock.remotePort == client.localPort
        sock.destroy()
        await iterator.aclose()
        assert server.listenerCount("connection") == 0
        await when(client, "close")
        await close_server(server)

    execute(main, context, loops)


def test_a_socket_failing_while_queued_is_yielded_destroyed(context: str, loops: LoopRecorder) -> None:
    async def main() -> str:
        server = await promises.listen(net.createServer(), 0, "127.0.0.1")
        iterator = promises.connections(server)
        arrived = when(server, "connection")
        client = await promises.connect(port_of(server), "127.0.0.1")
        [queued] = await arrived
        closed = when(queued, "close")
        client.on("error", lambda err: None)
        client.write(b"x")
        client.resetAndDestroy()  # the queued socket fails: no uncaught error
        await closed
        sock = await anext(iterator)
        assert sock is queued and sock.destroyed
        with pytest.raises(NodeSystemError) as info:
            async for _chunk in sock:
                pass
        await iterator.aclose()
        await close_server(server)
        return str(info.value.code)

    assert execute(main, context, loops) == "ECONNRESET"


# ---------------------------------------------------------------------------------------------------
# async for chunk in socket


def test_async_for_over_a_socket_reads_1mib_with_backpressure(context: str, loops: LoopRecorder) -> None:
    size = 1024 * 1024
    data = payload(size)

    async def main() -> None:
        server = await promises.listen(net.createServer(lambda s: s.end(data)), 0, "127.0.0.1")
        sock = await promises.connect(port_of(server), "127.0.0.1")
        handle = sock._handle
        assert handle is not None
        stops: list[int] = []
        read_stop = handle.readStop

        def counting_read_stop() -> int:
            stops.append(sock.readableLength)
            return read_stop()

        handle.readStop = counting_read_stop  # type: ignore[method-assign]
        digest = hashlib.sha256()
        total = 0
        biggest = 0
        flowing: set[object] = set()
        async for chunk in promises.iterator(sock):
            assert isinstance(chunk, bytes)
            digest.update(chunk)
            total += len(chunk)
            biggest = max(biggest, len(chunk))
            flowing.add(sock.readableFlowing)
            for _ in range(3):  # a slow consumer: three loop turns per chunk
                await turn()
        assert total == size
        assert digest.digest() == hashlib.sha256(data).digest()
        assert flowing == {False}  # paused mode: the iterator reads, nothing flows
        # The socket stopped reading whenever its buffer reached the high-water mark, so what it
        # held (and any chunk) stays below the mark plus one transport read (256 KiB at most).
        hwm = sock.readableHighWaterMark
        assert stops and all(hwm <= held <= hwm + 262144 for held in stops)
        assert biggest <= hwm + 262144
        assert sock.destroyed  # the iteration ended at 'end': Node destroys on return
        await close_server(server)

    execute(main, context, loops)


def test_async_for_yields_str_after_set_encoding(context: str, loops: LoopRecorder) -> None:
    text = "h\u00e9llo w\u00f6rld \U0001f600" * 1000

    async def main() -> str:
        server = await promises.listen(
            net.createServer(lambda s: s.end(text.encode("utf-8"))), 0, "127.0.0.1"
        )
        sock = await promises.connect(port_of(server), "127.0.0.1")
        sock.setEncoding("utf8")
        chunks = [chunk async for chunk in promises.iterator(sock)]
        assert all(isinstance(c, str) for c in chunks)
        await close_server(server)
        return "".join(str(c) for c in chunks)

    assert execute(main, context, loops) == text


def test_socket_iteration_raises_a_read_error(context: str, loops: LoopRecorder) -> None:
    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda err: None)
        sock.write(b"a")
        sock.once("data", lambda _data: sock.resetAndDestroy())

    async def main() -> None:
        server = await promises.listen(net.createServer(on_connection), 0, "127.0.0.1")
        sock = await promises.connect(port_of(server), "127.0.0.1")
        got: list[bytes] = []
        with pytest.raises(NodeSystemError) as info:
            async for chunk in promises.iterator(sock):
                got.append(as_bytes(chunk))
                sock.write(b"go")
        assert got == [b"a"]
        assert (info.value.code, info.value.syscall) == ("ECONNRESET", "read")
        await close_server(server)

    execute(main, context, loops)


def test_socket_iteration_raises_the_destroy_error_and_premature_close(
    context: str, loops: LoopRecorder
) -> None:
    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda err: None)
        sock.write(b"a")

    async def main() -> None:
        server = await promises.listen(net.createServer(on_connection), 0, "127.0.0.1")
        boom = NodeError("boom", "EBOOM")
        sock = await promises.connect(port_of(server), "127.0.0.1")
        with pytest.raises(NodeError) as info:
            async for _chunk in promises.iterator(sock):
                sock.destroy(boom)
        assert info.value is boom
        sock = await promises.connect(port_of(server), "127.0.0.1")
        with pytest.raises(NodeError) as info:
            async for _chunk in promises.iterator(sock):
                sock.destroy()  # a 'close' without 'end'
        assert info.value.code == "ERR_STREAM_PREMATURE_CLOSE"
        await close_server(server)

    execute(main, context, loops)


def test_leaving_the_socket_loop_destroys_it_as_node_does(context: str, loops: LoopRecorder) -> None:
    """Node 24: `for await (...) { break }` destroys the socket with an AbortError, which the
    iterator's own 'error' listener absorbs: [after break destroyed=true, error:ABORT_ERR, close]."""

    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda err: None)
        sock.write(b"a")

    async def main() -> list[str]:
        server = await promises.listen(net.createServer(on_connection), 0, "127.0.0.1")
        sock = await promises.connect(port_of(server), "127.0.0.1")
        log: list[str] = []
        sock.on("error", lambda err: log.append(f"error:{err.code}"))
        closed = when(sock, "close")
        async for _chunk in sock:
            break
        log.append(f"after break destroyed={sock.destroyed}")
        await closed
        log.append("close")
        await close_server(server)
        return log

    assert execute(main, context, loops) == ["after break destroyed=True", "error:ABORT_ERR", "close"]


def test_destroy_on_return_false_leaves_the_socket_usable(context: str, loops: LoopRecorder) -> None:
    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda err: None)
        sock.write(b"first")
        sock.once("data", lambda _data: sock.end(b"second"))

    async def main() -> bytes:
        server = await promises.listen(net.createServer(on_connection), 0, "127.0.0.1")
        sock = await promises.connect(port_of(server), "127.0.0.1")
        names = ("readable", "end", "finish", "error", "close")
        before = [sock.listenerCount(n) for n in names]
        async for chunk in promises.iterator(sock, destroyOnReturn=False):
            assert chunk == b"first"
            break
        assert not sock.destroyed
        assert [sock.listenerCount(n) for n in names] == before  # the iterator's listeners are gone
        rest: list[bytes] = []
        sock.on("data", rest.append)  # flows again: the iterator's 'readable' listener is gone
        closed = when(sock, "close")
        sock.write(b"go")
        await closed
        await close_server(server)
        return b"".join(rest)

    assert execute(main, context, loops) == b"second"


def test_an_iterator_never_stepped_changes_nothing(context: str, loops: LoopRecorder) -> None:
    """Node's iterator is an async generator: nothing happens before the first next()."""

    async def main() -> bytes:
        server = await promises.listen(net.createServer(lambda s: s.end(b"data")), 0, "127.0.0.1")
        sock = await promises.connect(port_of(server), "127.0.0.1")
        iterator = promises.iterator(sock)
        assert sock.listenerCount("readable") == 0
        del iterator
        assert not sock.destroyed and sock.readableFlowing is None
        received: list[bytes] = []
        sock.on("data", received.append)
        await when(sock, "close")
        await close_server(server)
        return b"".join(received)

    assert execute(main, context, loops) == b"data"


def test_a_cancelled_next_loses_no_data(context: str, loops: LoopRecorder) -> None:
    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda err: None)
        sock.once("data", lambda _data: sock.end(b"late"))

    async def main() -> bytes:
        server = await promises.listen(net.createServer(on_connection), 0, "127.0.0.1")
        sock = await promises.connect(port_of(server), "127.0.0.1")
        iterator = promises.iterator(sock)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(iterator), 0.05)  # nothing was sent yet
        assert not sock.destroyed
        sock.write(b"go")
        chunks = [as_bytes(c) async for c in iterator]  # the same iterator, still usable
        await close_server(server)
        return b"".join(chunks)

    assert execute(main, context, loops) == b"late"


# ---------------------------------------------------------------------------------------------------
# async with


def test_async_with_server_closes_and_awaits_close(context: str, loops: LoopRecorder) -> None:
    async def main() -> list[str]:
        log: list[str] = []
        server = net.createServer(lambda s: s.end())
        server.on("close", lambda: log.append("close"))
        async with await promises.listen(server, 0, "127.0.0.1") as entered:
            assert entered is server
            client = await promises.connect(port_of(server), "127.0.0.1")
            async for _chunk in client:
                pass
        log.append(f"exited listening={server.listening}")
        async with net.createServer():  # never listened: nothing to do
            pass
        return log

    assert execute(main, context, loops) == ["close", "exited listening=False"]


def test_async_with_socket_disposes_it_as_node_does(context: str, loops: LoopRecorder) -> None:
    """Node 24's Socket has Symbol.asyncDispose (from Readable): destroy with an AbortError unless the
    readable side ended, then await `finished`: [error:ABORT_ERR, dispose ok, close]."""

    def on_connection(sock: net.Socket) -> None:
        sock.on("error", lambda err: None)

    async def main() -> list[str]:
        server = await promises.listen(net.createServer(on_connection), 0, "127.0.0.1")
        log: list[str] = []
        async with await promises.connect(port_of(server), "127.0.0.1") as sock:
            sock.on("error", lambda err: log.append(f"error:{err.code}"))
            closed = when(sock, "close")
        log.append(f"dispose ok destroyed={sock.destroyed}")
        await closed
        log.append("close")
        # an exception in the body propagates; the socket is destroyed all the same
        with pytest.raises(KeyError):
            async with await promises.connect(port_of(server), "127.0.0.1") as sock2:
                raise KeyError("body")
        assert sock2.destroyed
        # a socket that failed earlier: disposal rethrows that error, as `await using` does
        with pytest.raises(NodeSystemError) as info:
            async with net.connect(free_port(), "127.0.0.1") as sock3:
                await when(sock3, "error")
        assert info.value.code == "ECONNREFUSED"
        if not sock2.closed:
            await when(sock2, "close")
        await close_server(server)
        return log

    assert execute(main, context, loops) == ["error:ABORT_ERR", "dispose ok destroyed=True", "close"]


# ---------------------------------------------------------------------------------------------------
# literally asyncio.run() and uvloop.run(), no uvnet.run


@pytest.mark.parametrize("runner", ["asyncio.run", "uvloop.run"])
def test_echo_under_plain_asyncio_run(runner: str) -> None:
    async def main() -> list[bytes]:
        async def serve(server: net.Server) -> None:
            async for sock in server:
                async with sock:
                    async for chunk in sock:
                        sock.write(chunk)  # after 'end' the socket ends itself (allowHalfOpen false)
                break

        server = await promises.listen(net.createServer(), 0, "127.0.0.1")
        async with server:
            serving = asyncio.ensure_future(serve(server))
            client = await promises.connect(port_of(server), "127.0.0.1")
            client.end(b"ping")
            echoed = [as_bytes(c) async for c in client]
            await serving
        left = asyncio.all_tasks() - {asyncio.current_task()}
        assert not left
        return echoed

    before = fd_count()
    result = asyncio.run(main()) if runner == "asyncio.run" else uvloop.run(main())
    assert b"".join(result) == b"ping"
    assert fd_count() == before
