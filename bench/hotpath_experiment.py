"""A measured prototype of the hot-path changes proposed in bench/README.md ("Profile").

bench/ may not edit impl/, so this applies the proposals to uvnet *at run time* (monkeypatching) when
``BENCH_HOTPATH=1`` is set for bench/echo_server.py or bench/echo_client.py, to measure what they would
gain before anyone changes the library:

    BENCH_HOTPATH=1 bench/run --impls uvnet,node ...   (or: bench/run profile, with the variable set)

Each patch keeps Node's semantics (the conformance suite is the judge once they move into impl/):

1. ``_runtime.current()`` caches the Runtime.  CPython 3.11's ``asyncio.get_running_loop()`` makes a
   ``getpid()`` system call on every call (its fork check), and ``_runtime.next_tick`` (used by stream.py
   for ``maybeReadMore`` on every chunk) calls it once per message.
2. ``EventEmitter.emit`` skips the ``isinstance(result, Coroutine)`` ABC check for ``None``/``True``/
   ``False`` results (a ``'data'`` listener like ``lambda d: sock.write(d)`` returns a bool: the ABC
   check runs ``ABCMeta.__instancecheck__`` per message).
3. ``maybeReadMore_`` in the common case of a flowing socket with an empty buffer does what
   ``Readable.read(0)`` does there (set ``reading``/``needReadable``, call ``_read``) without running
   ``read()``'s general body (about 25 attribute tests and two helper calls per message).

With ``BENCH_HOTPATH=2`` also the frame-collapsing changes (fewer Python calls per message):

4. ``Handle.data_received`` runs the macrotask itself (``invoke`` and ``_on_read`` inlined) and skips
   ``_maybe_exit`` while ref'd handles exist (the loop is alive by definition then).
5. ``Socket._on_stream_read`` tests the idle-timer fields before calling ``_unrefTimer`` and reads
   ``_readableState.destroyed`` instead of the ``destroyed`` property.
6. ``Socket._write`` takes a bytes chunk of a connected socket straight to ``writeBuffer``
   (``_write_generic``'s connecting/str/writev branches and its ``_unrefTimer`` call skipped when idle).
7. Internal ``next_tick`` calls append to the tick queue directly inside a macrotask (no ``callable``
   validation, no lookup of the runtime).
"""

from __future__ import annotations

from typing import Any


def apply(level: int | None = None) -> list[str]:
    import os
    from collections.abc import Coroutine

    if level is None:
        level = int(os.environ.get("BENCH_HOTPATH") or 1)

    from uvnet import _runtime, events, stream

    applied = []

    # 1. cached runtime ------------------------------------------------------------------------------
    orig_current = _runtime.current
    cache: list[Any] = [None]

    def current() -> Any:
        rt = cache[0]
        if rt is None or rt.loop.is_closed():
            rt = cache[0] = orig_current()
        return rt

    _runtime.current = current  # type: ignore[assignment]
    applied.append("runtime cache")

    # 2. emit without the ABC check for plain results ------------------------------------------------
    def emit(self: Any, name: object, *args: Any) -> bool:
        evs = self._events
        if name == "error":
            return orig_emit(self, name, *args)
        listeners = evs.get(name)
        if listeners is None:
            return False
        for listener in listeners:
            result = listener(*args)
            if result is not None and result is not True and result is not False and isinstance(
                result, Coroutine
            ):
                self._run_async_listener(result)
        return True

    orig_emit = events.EventEmitter.emit
    events.EventEmitter.emit = emit  # type: ignore[method-assign]
    applied.append("emit fast path")

    # 3. maybeReadMore_ fast path --------------------------------------------------------------------
    readable_read = stream.Readable.read
    error_or_destroy = stream._error_or_destroy

    def maybe_read_more_nt(s: Any, state: Any) -> None:
        while (
            not state.reading
            and not state.ended
            and (state.length < state.highWaterMark or (state.flowing and state.length == 0))
        ):
            length = state.length
            if (
                length == 0
                and state.highWaterMark > 0
                and not state.destroyed
                and state.errored is None
                and state.constructed
                and type(s).read is readable_read
                and "read" not in s.__dict__
            ):
                # Readable.read(0) with nothing buffered, not ended, not reading
                state.reading = True
                state.sync = True
                state.needReadable = True
                try:
                    s._read(state.highWaterMark)
                except Exception as err:
                    error_or_destroy(s, err)
                state.sync = False
                if state.length <= state.highWaterMark:
                    state.needReadable = True
            else:
                s.read(0)
            if length == state.length:
                break
        state.readingMore = False

    stream._maybe_read_more_nt = maybe_read_more_nt
    applied.append("maybeReadMore fast path")
    if level >= 2:
        applied += _collapse(current)
    return applied


def _collapse(current: Any) -> list[str]:
    from uvnet import _runtime, socket, stream

    Handle = socket.Handle
    Socket = socket.Socket

    # 4. data_received runs the macrotask itself --------------------------------------------------------
    orig_data_received = Handle.data_received

    def data_received(self: Any, data: bytes) -> None:
        rt = self.rt
        onread = self.onread
        if (
            self.closed
            or not self.reading
            or self._pending
            or rt._depth
            or rt._fatal is not None
            or self.owner is None
            or onread is None
        ):
            orig_data_received(self, data)
            return
        self.bytesRead += len(data)
        rt._depth = 1
        try:
            try:
                onread(data)
            except Exception as exc:
                rt.report_uncaught(exc)
            rt._drain()
        finally:
            rt._depth = 0
        if not rt._handles or rt._fatal is not None:
            rt._maybe_exit()

    Handle.data_received = data_received  # type: ignore[method-assign]

    # 5. _on_stream_read ------------------------------------------------------------------------------
    orig_on_stream_read = Socket._on_stream_read

    def on_stream_read(self: Any, data: bytes | None) -> None:
        if data is None:
            orig_on_stream_read(self, data)
            return
        if self._timeout_timer is not None or self._parent is not None:
            self._unrefTimer()
        if self._readableState.destroyed:
            return
        if not self.push(data):
            handle = self._handle
            if handle is not None:
                handle.reading = False
                handle.readStop()

    Socket._on_stream_read = on_stream_read  # type: ignore[method-assign]

    # 6. _write ---------------------------------------------------------------------------------------
    orig_write = Socket._write

    def _write(self: Any, chunk: Any, encoding: str, callback: Any) -> None:
        handle = self._handle
        if type(chunk) is not bytes or self.connecting or handle is None:
            orig_write(self, chunk, encoding, callback)
            return
        self._pendingData = None
        self._pendingEncoding = ""
        if self._timeout_timer is not None or self._parent is not None:
            self._unrefTimer()
        status = handle.writeBuffer(chunk, callback)
        if status == 0:
            callback(None)
        elif status > 0:
            self._last_write_queue_size = len(chunk)
        else:
            callback(socket.errno_exception(status, "write"))

    Socket._write = _write  # type: ignore[method-assign]

    # 7. internal next_tick ---------------------------------------------------------------------------
    def next_tick(fn: Any, *args: object) -> None:
        rt = current()
        if rt._depth and rt._fatal is None:
            rt._ticks.append((fn, args))
        else:
            rt.next_tick(fn, *args)

    stream.next_tick = next_tick
    _runtime.next_tick = next_tick  # type: ignore[assignment]
    return ["data_received inlined", "_on_stream_read", "_write fast path", "internal next_tick"]
