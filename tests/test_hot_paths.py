"""The fused per-message paths and the per-connection memory layout.

``Handle.data_received`` emits 'data' through ``_read_flowing`` and ``Socket.write`` sends a bytes chunk
without the general Writable machinery when nothing stands in the way.  These tests pin down that the
fused paths give way whenever the general path must run (a subclass's or an instance's ``_write``, a
timeout to refresh, a paused or encoded stream), and that what they skip leaves the same observable
state.  The memory tests keep a connection's Python objects compact: CPython shares the keys of an
instance ``__dict__`` between the instances of a class only while it has few enough keys (at most 30)
that were known when the instance was created; past that every socket pays ~1.2 KiB for a full hash
table, which is how uvnet's idle connection once cost twice Node's (bench/README.md, idle RSS).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from _loops import LoopRecorder, port_of, run

import uvnet as net

pytestmark = pytest.mark.timeout(60)

# A key-sharing instance dict with up to ~20 values is ~300 bytes here; a full table of 32 keys is 1,584.
COMPACT_DICT_BYTES = 700


def exchange(
    loops: LoopRecorder,
    make_client: Callable[[int], net.Socket],
    on_server_socket: Callable[[net.Socket], None] | None = None,
    rounds: int = 3,
) -> dict[str, Any]:
    """Echo ``rounds`` messages one at a time; return what both sides saw."""
    out: dict[str, Any] = {"received": [], "returns": []}

    def main() -> None:
        def on_connection(sock: net.Socket) -> None:
            out["server_socket"] = sock
            if on_server_socket is not None:
                on_server_socket(sock)
            sock.on("data", lambda data: out["returns"].append(sock.write(data)))
            sock.on("end", lambda: sock.end())

        srv = net.createServer(on_connection)

        def listening() -> None:
            cli = make_client(port_of(srv))
            out["client"] = cli
            left = [rounds]

            def on_data(data: bytes) -> None:
                out["received"].append(data)
                left[0] -= 1
                if left[0]:
                    cli.write(b"m%d" % left[0])
                else:
                    out["dicts"] = {
                        "server": sys.getsizeof(out["server_socket"].__dict__),
                        "server handle": sys.getsizeof(out["server_socket"]._handle.__dict__),
                        "client": sys.getsizeof(cli.__dict__),
                        "client handle": sys.getsizeof(cli._handle.__dict__),
                    }
                    out["server_buffer_type"] = type(out["server_socket"]._readableState.buffer)
                    cli.end()

            cli.on("data", on_data)
            cli.on("close", lambda *_: srv.close())
            cli.write(b"m%d" % rounds)

        srv.listen(0, "127.0.0.1", listening)

    run(main, loops)
    return out


def test_fast_paths_echo_and_count_like_the_general_path(loops: LoopRecorder) -> None:
    out = exchange(loops, lambda port: net.connect(port, "127.0.0.1"))
    assert out["received"] == [b"m3", b"m2", b"m1"]
    assert out["returns"] == [True, True, True]
    srv_sock = out["server_socket"]
    assert srv_sock.bytesRead == 6 and srv_sock.bytesWritten == 6
    assert out["client"].bytesRead == 6 and out["client"].bytesWritten == 6
    assert srv_sock.writableLength == 0 and srv_sock._writableState.pendingcb == 0


def test_a_subclass_write_hook_is_called(loops: LoopRecorder) -> None:
    calls: list[bytes] = []

    class Counting(net.Socket):
        def _write(self, chunk: Any, encoding: str, callback: Any) -> None:
            calls.append(bytes(chunk))
            super()._write(chunk, encoding, callback)

    def make_client(port: int) -> net.Socket:
        return Counting().connect(port, "127.0.0.1")

    out = exchange(loops, make_client)
    assert out["received"] == [b"m3", b"m2", b"m1"]
    assert calls == [b"m3", b"m2", b"m1"]


def test_an_instance_write_hook_is_called(loops: LoopRecorder) -> None:
    calls: list[bytes] = []

    def hook(sock: net.Socket) -> None:
        original = sock._write

        def counting(chunk: Any, encoding: str, callback: Any) -> None:
            calls.append(bytes(chunk))
            original(chunk, encoding, callback)

        sock._write = counting  # type: ignore[method-assign]

    out = exchange(loops, lambda port: net.connect(port, "127.0.0.1"), hook)
    assert out["received"] == [b"m3", b"m2", b"m1"]
    assert calls == [b"m3", b"m2", b"m1"]


def test_a_timeout_is_refreshed_by_reads_and_writes(loops: LoopRecorder) -> None:
    refreshed: list[str] = []

    def hook(sock: net.Socket) -> None:
        sock.setTimeout(60_000)
        original = sock._unrefTimer

        def unref_timer() -> None:
            refreshed.append("refresh")
            original()

        sock._unrefTimer = unref_timer  # type: ignore[method-assign]

    out = exchange(loops, lambda port: net.connect(port, "127.0.0.1"), hook)
    assert out["received"] == [b"m3", b"m2", b"m1"]
    # Node's _unrefTimer runs on every read (onStreamRead) and every write (_writeGeneric), and once more
    # for each write's completion when it went asynchronous
    assert len(refreshed) >= 6


def test_encoding_and_pause_take_the_general_path(loops: LoopRecorder) -> None:
    got: list[object] = []

    def hook(sock: net.Socket) -> None:
        sock.setEncoding("utf8")
        sock.on("data", got.append)

    out = exchange(loops, lambda port: net.connect(port, "127.0.0.1"), hook)
    assert got == ["m3", "m2", "m1"]
    assert out["received"] == [b"m3", b"m2", b"m1"]


def test_a_connection_keeps_compact_instance_dicts(loops: LoopRecorder) -> None:
    out = exchange(loops, lambda port: net.connect(port, "127.0.0.1"))
    for name, size in out["dicts"].items():
        assert size < COMPACT_DICT_BYTES, f"{name} __dict__ is {size} bytes"


def test_a_flowing_socket_never_allocates_a_read_buffer(loops: LoopRecorder) -> None:
    out = exchange(loops, lambda port: net.connect(port, "127.0.0.1"))
    assert out["server_buffer_type"] is tuple  # the shared empty placeholder, not a deque


def test_a_paused_socket_buffers_and_reads_in_order(loops: LoopRecorder) -> None:
    got: list[bytes] = []

    def main() -> None:
        def on_connection(sock: net.Socket) -> None:
            sock.pause()

            def drain() -> None:
                while (chunk := sock.read()) is not None:
                    got.append(chunk)

            sock.on("readable", drain)
            sock.on("end", lambda: (sock.end(), srv.close()))

        srv = net.createServer(on_connection)

        def listening() -> None:
            cli = net.connect(port_of(srv), "127.0.0.1")
            cli.write(b"one")
            cli.write(b"two")
            cli.end(b"three")

        srv.listen(0, "127.0.0.1", listening)

    run(main, loops)
    assert b"".join(got) == b"onetwothree"
