"""The async/await surface: ``await connect()``, ``await listen()``, ``async for``, ``async with``.

Theory of operation
-------------------
Node has no ``node:net/promises`` (``require('node:net/promises')`` is ``ERR_UNKNOWN_BUILTIN_MODULE``).
Node programs get these effects from the callback API plus ``events.once``/``events.on`` and the
streams' async protocols; this module is exactly those idioms, spelled for Python, over the same
core (nothing here touches a transport, a handle or a queue)::

    sock = await promises.connect(*a)       const sock = net.connect(...a); await once(sock, 'connect')
    await promises.listen(server, *a)       server.listen(...a); await once(server, 'listening')
    async for sock in server                for await (const [sock] of on(server, 'connection',
                                                                          {close: ['close']}))
    async for chunk in sock                 for await (const chunk of sock)
    promises.iterator(sock, destroyOnReturn=False)   sock.iterator({destroyOnReturn: false})
    async with server:                      await using server = ...   (Server[Symbol.asyncDispose])
    async with sock:                        await using sock = ...     (Readable[Symbol.asyncDispose])

The rules:

* **Awaiting.**  Everything here waits on :class:`_runtime.Promise`, never on an asyncio future of
  its own, so one code path serves both contexts.  Under ``uvnet.run()`` the caller is an async
  function driven by ``spawn``: it resumes from a microtask in the same macrotask as the event, as
  ``await`` on a JS promise does (a listener attached right after ``await promises.connect()`` is in
  place before any further I/O callback).  In an asyncio task (plain ``asyncio.run()`` on uvloop, and
  also the inner task of ``asyncio.wait_for`` even under ``uvnet.run()``) ``Promise.__await__`` parks
  the task on a loop future that the promise's reaction completes: it resumes one loop iteration
  later.  The per-loop runtime is created lazily in that case (``_runtime.current()``).
* **connect / listen** listen for the outcome before it can happen (``listen`` registers before
  acting; ``net.connect`` emits nothing synchronously, so ``connect`` registers right after it),
  remove every listener they added when settled, and reject with Node's own
  error object (``ECONNREFUSED`` with ``errno``/``code``/``syscall``/``address``/``port``).  A
  ``'close'`` before the awaited event rejects too (``ERR_SOCKET_CLOSED_BEFORE_CONNECTION``,
  ``ERR_SERVER_NOT_RUNNING``), where ``once()`` would wait forever.  Both are coroutines: the
  action starts when the coroutine first runs (at the ``await``, or when its task starts).
* **Cancellation** (a ``CancelledError`` at the await; only asyncio tasks can be cancelled, a
  ``spawn``-driven coroutine has no cancel) undoes what the call started: ``connect`` destroys its
  socket (the fd is closed at once when the connect is pending), ``listen`` closes the server.  Then
  it re-raises.  Nothing is left listening.
* **Iterators** are a facade (what ``__aiter__`` returns) over a state object that the emitter's
  listeners reference.  The state never points back at the facade, so only the ``async for`` holds
  it: leaving the loop (``break``, ``return``, an exception) frees it at once on CPython and its
  ``__del__`` closes the iteration -- Node's ``iterator.return()``, which ``for await`` calls on the
  same occasions.  ``aclose()`` does the same explicitly.  A socket iterator does nothing before
  its first step (Node's is an async generator); a server iterator subscribes when it is created
  (``events.on`` does), so connections queue from then on.  Cancelling a *pending* ``__anext__`` (e.g.
  ``asyncio.wait_for(anext(it), t)``) closes nothing and loses nothing: data stays in the stream's
  buffer, accepted sockets stay queued, and the iterator can be awaited again.
* **Socket iteration** is Node's ``createAsyncIterator`` (``lib/internal/streams/readable.js``): a
  ``'readable'`` listener puts the socket in paused mode (``readableFlowing`` is ``False``) and each
  step is ``read()``, which returns *everything buffered* (so a chunk is what arrived since the last
  step; chunk boundaries are not behaviour).  Backpressure is the stream's own: once the buffer
  holds ``readableHighWaterMark`` bytes, ``push`` returns false and the socket stops reading
  (``readStop``, the transport is paused) until the consumer reads; the buffer is bounded by the
  mark plus one transport read.  It ends at ``'end'``, raises the socket's error, and raises
  ``ERR_STREAM_PREMATURE_CLOSE`` on a ``'close'`` without ``'end'``.  When the iteration is over,
  the socket is destroyed (``AbortError`` if it had not finished), unless ``destroyOnReturn=False``
  and it ended without an error -- Node's ``finally`` block, condition for condition.
* **Server iteration** is ``events.on(server, 'connection', {close: ['close']})`` plus ownership:
  accepted sockets are queued while the consumer is busy (never dropped; each queued socket reads at
  most its high-water mark, and the kernel's backlog and ``maxConnections`` are the real limits); a
  socket that fails while queued is not an uncaught error (a listener absorbs it) and is yielded
  destroyed, its ``errored`` set.  The iteration ends at the server's ``'close'`` (after ``close()``,
  once every connection has ended: Node's rule), raises the server's ``'error'``, and when it is
  over destroys the sockets still queued: nobody else will ever see them.
* **Disposal** is Node 24's: ``Server[Symbol.asyncDispose]`` (``Server.__aexit__``) closes and awaits
  ``'close'``; ``Readable[Symbol.asyncDispose]`` (:func:`asyncDispose`, ``Socket.__aexit__``)
  destroys the socket with an ``AbortError`` unless it already ended, then awaits ``finished``: it
  raises an error other than that one (the socket's earlier error, or ``ERR_STREAM_PREMATURE_CLOSE``
  for a half-open socket whose writable side never finished), as ``await using`` throws.

Traps: ``eos`` listeners stay on a socket the iterator destroyed, as in Node: they absorb the
``AbortError`` that ``destroy`` emits.  ``asyncio.timeout()`` does not work inside ``spawn``-driven
coroutines (no current task); ``asyncio.wait_for`` does.

References: Node v24 ``lib/internal/streams/{readable,end-of-stream,destroy,utils}.js`` (async
iterator, ``eos``, ``destroyer``, the ``is*`` predicates), ``lib/events.js`` (``once``, ``on``),
``lib/net.js`` (``Server.prototype[SymbolAsyncDispose]``), ``lib/internal/errors.js``
(``aggregateTwoErrors``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from . import _runtime
from .errors import AbortError, NodeAggregateError, make_error
from .events import EventEmitter
from .server import Server
from .socket import Socket
from .socket import connect as _net_connect
from .stream import Chunk, Readable, ReadableState, WritableState

__all__ = [
    "ConnectionIterator",
    "ReadableIterator",
    "asyncDispose",
    "connect",
    "connections",
    "createConnection",
    "iterator",
    "listen",
]


def _reject_callback(fn_name: str, args: tuple[Any, ...], name: str) -> None:
    if args and callable(args[-1]) and not isinstance(args[-1], Mapping):
        raise TypeError(f"uvnet.promises.{fn_name}() takes no {name}: await it instead")


async def _settle(  # node: events.once, plus a 'close' guard and undo on cancellation
    emitter: EventEmitter,
    event: str,
    closed_code: str,
    act: Callable[[], object],
    undo: Callable[[], object],
) -> None:
    """Run ``act()`` and wait for ``event``; reject on ``'error'`` (or on ``'close'`` first)."""
    settled = _runtime.Promise()

    def on_event(*_: object) -> None:
        cleanup()
        settled.resolve(None)

    def on_error(err: BaseException) -> None:
        cleanup()
        settled.reject(err)

    def on_close(*_: object) -> None:
        cleanup()
        settled.reject(make_error(closed_code))

    def cleanup() -> None:
        emitter.removeListener(event, on_event)
        emitter.removeListener("error", on_error)
        emitter.removeListener("close", on_close)

    emitter.once(event, on_event)
    emitter.once("error", on_error)
    emitter.once("close", on_close)
    try:
        act()
    except BaseException:
        cleanup()
        raise
    try:
        await settled
    except asyncio.CancelledError:
        cleanup()
        undo()
        raise


def _nothing() -> None:
    pass


async def connect(*args: Any, **options: Any) -> Socket:  # node: net.connect + once(socket, 'connect')
    """Connect as ``net.connect(*args, **options)`` does; resolve with the socket on ``'connect'``.

    Rejects with the socket's ``'error'`` (the socket is then destroyed, as Node destroys it).
    Cancelled, it destroys the socket.  A ``connectListener`` is refused: await instead.
    """
    _reject_callback("connect", args, "connectListener")
    # net.connect emits nothing synchronously (lookup, connect and errors all come on later ticks),
    # so listening right after it misses nothing, as `await once(net.connect(...), 'connect')`.
    sock = _net_connect(*args, **options)
    await _settle(sock, "connect", "ERR_SOCKET_CLOSED_BEFORE_CONNECTION", _nothing, sock.destroy)
    return sock


createConnection = connect


async def listen(server: Server, *args: Any, **options: Any) -> Server:  # node: listen + once('listening')
    """Listen as ``server.listen(*args, **options)`` does; resolve with the server on ``'listening'``.

    Rejects with the server's ``'error'`` (``EADDRINUSE``).  Cancelled, it closes the server.  A
    listening callback is refused: await instead.
    """
    _reject_callback("listen", args, "callback")
    await _settle(
        server,
        "listening",
        "ERR_SERVER_NOT_RUNNING",
        lambda: server.listen(*args, **options),
        server.close,
    )
    return server


# ---------------------------------------------------------------------------------------------------
# end-of-stream and destroyer (lib/internal/streams/{end-of-stream,destroy,utils}.js), as the async
# iterator and Symbol.asyncDispose use them


def _r_state(stream: Readable) -> ReadableState | None:
    return getattr(stream, "_readableState", None)


def _w_state(stream: Readable) -> WritableState | None:
    return getattr(stream, "_writableState", None)


def _is_readable_finished(stream: Readable, strict: bool) -> bool:  # node: isReadableFinished
    r = _r_state(stream)
    if r is None or r.errored is not None:
        return False
    return r.endEmitted or (not strict and r.ended and r.length == 0)


def _is_writable_finished(stream: Readable, strict: bool) -> bool:  # node: isWritableFinished
    w = _w_state(stream)
    if w is None or w.errored is not None:
        return False
    return w.finished or (not strict and w.ended and w.length == 0)


def _is_writable_ended(stream: Readable) -> bool:  # node: isWritableEnded
    w = _w_state(stream)
    if w is None:
        return False
    if w.ending:  # stream.writableEnded
        return True
    if w.errored is not None:
        return False
    return w.ended


def _is_readable(stream: Readable) -> bool:  # node: isReadable
    if stream.destroyed or _r_state(stream) is None:
        return False
    return stream.readable and not _is_readable_finished(stream, True)


def _is_writable(stream: Readable) -> bool:  # node: isWritable
    if stream.destroyed or _w_state(stream) is None:
        return False
    return bool(getattr(stream, "writable", False)) and not _is_writable_ended(stream)


def _is_finished(stream: Readable) -> bool:  # node: isFinished
    if stream.destroyed:
        return True
    return not _is_readable(stream) and not _is_writable(stream)


def _errored(stream: Readable) -> BaseException | None:  # node: isWritableErrored || isReadableErrored
    w = _w_state(stream)
    if w is not None and w.errored is not None:
        return w.errored
    r = _r_state(stream)
    return r.errored if r is not None else None


def _will_emit_close(stream: Readable) -> bool:  # node: willEmitClose
    state = _w_state(stream) or _r_state(stream)
    return state is not None and state.autoDestroy and state.emitClose and not state.closed


def _eos(  # node: eos (finished)
    stream: Readable,
    callback: Callable[[BaseException | None], object],
    *,
    readable: bool | None = None,
    writable: bool | None = None,
) -> Callable[[], None]:
    """Call ``callback(err)`` once when ``stream`` is done; returns the cleanup function.

    Node's ``eos`` for Node streams, without the legacy, request and signal branches.
    """
    r = _r_state(stream)
    w = _w_state(stream)
    readable = r is not None if readable is None else readable
    writable = w is not None if writable is None else writable
    called = False

    def done(err: BaseException | None = None) -> None:  # once(callback)
        nonlocal called
        if not called:
            called = True
            callback(err)

    will_emit_close = _will_emit_close(stream) and (r is not None) == readable and (w is not None) == writable
    writable_finished = _is_writable_finished(stream, False)
    readable_finished = _is_readable_finished(stream, False)

    def onfinish(*_: object) -> None:  # node: onfinish
        nonlocal writable_finished, will_emit_close
        writable_finished = True
        if stream.destroyed:
            will_emit_close = False
        if will_emit_close and (not stream.readable or readable):
            return
        if not readable or readable_finished:
            done()

    def onend(*_: object) -> None:  # node: onend
        nonlocal readable_finished, will_emit_close
        readable_finished = True
        if stream.destroyed:
            will_emit_close = False
        if will_emit_close and (not getattr(stream, "writable", False) or writable):
            return
        if not writable or writable_finished:
            done()

    def onerror(err: BaseException) -> None:  # node: onerror
        done(err)

    def onclose(*_: object) -> None:  # node: onclose
        errored = _errored(stream)
        if errored is not None:
            done(errored)
            return
        if readable and not readable_finished and r is not None and not _is_readable_finished(stream, False):
            done(make_error("ERR_STREAM_PREMATURE_CLOSE"))
            return
        if writable and not writable_finished and not _is_writable_finished(stream, False):
            done(make_error("ERR_STREAM_PREMATURE_CLOSE"))
            return
        done()

    def onclosed() -> None:  # node: onclosed
        errored = _errored(stream)
        done(errored)

    stream.on("end", onend)
    stream.on("finish", onfinish)
    stream.on("error", onerror)
    stream.on("close", onclose)

    closed = bool((w is not None and w.closed) or (r is not None and r.closed))  # node: isClosed
    if closed:
        _runtime.next_tick(onclose)
    elif (w is not None and w.errorEmitted) or (r is not None and r.errorEmitted):
        if not will_emit_close:
            _runtime.next_tick(onclosed)
    elif (
        not readable
        and (not will_emit_close or _is_readable(stream))
        and (writable_finished or not _is_writable(stream))
    ):
        _runtime.next_tick(onclosed)
    elif (
        not writable
        and (not will_emit_close or _is_writable(stream))
        and (readable_finished or not _is_readable(stream))
    ):
        _runtime.next_tick(onclosed)

    def cleanup() -> None:  # node: eos's cleanup
        nonlocal called
        called = True
        stream.removeListener("end", onend)
        stream.removeListener("finish", onfinish)
        stream.removeListener("error", onerror)
        stream.removeListener("close", onclose)

    return cleanup


def _destroyer(stream: Readable, err: BaseException | None) -> None:  # node: destroyImpl.destroyer
    if stream.destroyed:
        return
    if err is None and not _is_finished(stream):
        err = AbortError()
    stream.destroy(err)


def _aggregate_two_errors(
    inner: BaseException | None, outer: BaseException | None
) -> BaseException | None:  # node: aggregateTwoErrors
    if inner is not None and outer is not None and inner is not outer:
        errors = getattr(outer, "errors", None)
        if isinstance(errors, list):
            errors.append(inner)
            return outer
        return NodeAggregateError([outer, inner], str(outer))
    return inner or outer


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# ---------------------------------------------------------------------------------------------------
# async for chunk in socket


class _ReadableIterState:  # node: the closure of createAsyncIterator
    """What the stream's listeners reference: never the facade, so the facade dies with its loop.

    Like Node's async generator, it does nothing until the first step: creating an iterator and
    dropping it unused neither pauses nor destroys the stream.
    """

    __slots__ = (
        "cleanup",
        "destroy_on_return",
        "done",
        "ended",
        "error",
        "loop",
        "started",
        "stream",
        "wakers",
    )

    def __init__(self, stream: Readable, destroy_on_return: bool) -> None:
        self.stream = stream
        self.destroy_on_return = destroy_on_return
        self.loop: asyncio.AbstractEventLoop | None = None
        # Node's `error` is undefined (error None, not ended), null (ended) or the error.
        self.error: BaseException | None = None
        self.ended = False
        self.started = False
        self.done = False
        self.wakers: list[_runtime.Promise] = []
        self.cleanup: Callable[[], None] | None = None

    def start(self) -> None:  # node: the generator's first step
        self.started = True
        self.loop = asyncio.get_running_loop()
        self.stream.on("readable", self.on_readable)
        self.cleanup = _eos(self.stream, self.on_finished, writable=False)

    def wake(self) -> None:  # node: callback(); callback = nop
        wakers = self.wakers
        self.wakers = []
        for waker in wakers:
            waker.resolve(None)

    def on_readable(self, *_: object) -> None:  # node: next, as the 'readable' listener
        self.wake()

    def on_finished(self, err: BaseException | None = None) -> None:  # node: the eos callback
        if err is not None:
            self.error = _aggregate_two_errors(self.error, err)
        else:
            self.error = None
            self.ended = True
        self.wake()

    def close(self) -> None:  # node: createAsyncIterator's finally block
        if self.done:
            return
        self.done = True
        if not self.started:
            return  # node: return() on a generator that never started runs no finally
        stream = self.stream
        error = self.error
        undefined = error is None and not self.ended
        r = _r_state(stream)
        if (error is not None or self.destroy_on_return) and (undefined or (r is not None and r.autoDestroy)):
            _destroyer(stream, None)
        else:
            stream.removeListener("readable", self.on_readable)
            if self.cleanup is not None:
                self.cleanup()
        self.wake()


class ReadableIterator:  # node: the async generator Readable.prototype[Symbol.asyncIterator] returns
    """``async for chunk in socket``: see the module docstring.  ``stream`` is the socket."""

    __slots__ = ("_state",)

    def __init__(self, stream: Readable, destroyOnReturn: bool = True) -> None:
        self._state = _ReadableIterState(stream, destroyOnReturn)

    @property
    def stream(self) -> Readable:  # node: iter.stream
        return self._state.stream

    def __aiter__(self) -> ReadableIterator:
        return self

    async def __anext__(self) -> Chunk:
        st = self._state
        stream = st.stream
        if not st.started and not st.done:
            st.start()
        try:
            while not st.done:
                chunk = None if stream.destroyed else stream.read()
                if chunk is not None:
                    return chunk
                if st.error is not None:
                    raise st.error
                if st.ended:
                    st.close()
                    break
                waker = _runtime.Promise()
                st.wakers.append(waker)
                try:
                    await waker
                finally:
                    if waker in st.wakers:  # cancelled: nothing consumed, the iterator stays usable
                        st.wakers.remove(waker)
        except Exception as err:  # node: catch (err) { error = aggregateTwoErrors(error, err); throw error }
            error = _aggregate_two_errors(st.error, err)
            st.error = error
            st.close()
            if error is err:
                raise
            assert error is not None
            raise error from None
        raise StopAsyncIteration

    async def aclose(self) -> None:  # node: iterator.return()
        self._state.close()

    def __del__(self) -> None:
        st: _ReadableIterState | None = getattr(self, "_state", None)
        if st is not None and st.started and not st.done and _running_loop() is st.loop:
            st.close()


def iterator(
    stream: Readable, options: Mapping[str, Any] | None = None, /, *, destroyOnReturn: bool | None = None
) -> ReadableIterator:  # node: Readable.prototype.iterator
    """Node's ``readable.iterator({destroyOnReturn})``; ``async for chunk in sock`` is ``iterator(sock)``."""
    if options is not None:
        if not isinstance(options, Mapping):
            raise make_error("ERR_INVALID_ARG_TYPE", "options", "Object", options)
        if destroyOnReturn is None:
            destroyOnReturn = options.get("destroyOnReturn")
    return ReadableIterator(stream, destroyOnReturn is not False)


async def asyncDispose(stream: Readable) -> None:  # node: Readable.prototype[Symbol.asyncDispose]
    """``async with sock:`` on exit: destroy (``AbortError`` unless ended), then await ``finished``."""
    error: BaseException | None = None
    if not stream.destroyed:
        error = None if stream.readableEnded else AbortError()
        stream.destroy(error)
    finished = _runtime.Promise()

    def callback(err: BaseException | None) -> None:
        if err is not None and err is not error:
            finished.reject(err)
        else:
            finished.resolve(None)

    _eos(stream, callback)
    await finished


# ---------------------------------------------------------------------------------------------------
# async for sock in server


class _ConnectionsState:  # node: the closure of events.on(server, 'connection', {close: ['close']})
    """What the server's listeners reference: never the facade, so the facade dies with its loop."""

    __slots__ = ("closed", "done", "error", "loop", "queue", "server", "wakers")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.queue: deque[Socket] = deque()
        self.error: BaseException | None = None
        self.closed = False
        self.done = False
        self.wakers: list[_runtime.Promise] = []
        server.on("connection", self.on_connection)
        server.on("error", self.on_error)
        server.on("close", self.on_close)

    def wake(self) -> None:
        wakers = self.wakers
        self.wakers = []
        for waker in wakers:
            waker.resolve(None)

    def on_connection(self, sock: Socket) -> None:  # node: eventHandler
        sock.on("error", self.absorb)  # queued, nobody listens yet: not an uncaught error
        self.queue.append(sock)
        self.wake()

    def absorb(self, err: BaseException) -> None:
        pass  # the socket is destroyed with `errored` set; the consumer sees that when it gets it

    def on_error(self, err: BaseException) -> None:  # node: errorHandler
        if self.error is None:
            self.error = err
        self.wake()

    def on_close(self, *_: object) -> None:  # node: closeHandler
        self.closed = True
        self.wake()

    def close(self) -> None:  # node: the iterator's return(), plus the queued sockets
        if self.done:
            return
        self.done = True
        server = self.server
        server.removeListener("connection", self.on_connection)
        server.removeListener("error", self.on_error)
        server.removeListener("close", self.on_close)
        queue = self.queue
        while queue:
            queue.popleft().destroy()  # `absorb` stays: an error now is nobody's
        self.wake()


class ConnectionIterator:
    """``async for sock in server``: see the module docstring."""

    __slots__ = ("_state",)

    def __init__(self, server: Server) -> None:
        self._state = _ConnectionsState(server)

    @property
    def server(self) -> Server:
        return self._state.server

    def __aiter__(self) -> ConnectionIterator:
        return self

    async def __anext__(self) -> Socket:
        st = self._state
        while True:
            if st.queue:
                sock = st.queue.popleft()
                sock.removeListener("error", st.absorb)
                return sock
            if st.done:
                raise StopAsyncIteration
            if st.error is not None:
                err = st.error
                st.close()
                raise err
            if st.closed:
                st.close()
                raise StopAsyncIteration
            waker = _runtime.Promise()
            st.wakers.append(waker)
            try:
                await waker
            finally:
                if waker in st.wakers:  # cancelled: nothing consumed, the iterator stays usable
                    st.wakers.remove(waker)

    async def aclose(self) -> None:  # node: iterator.return()
        self._state.close()

    def __del__(self) -> None:
        st: _ConnectionsState | None = getattr(self, "_state", None)
        if st is not None and not st.done and _running_loop() is st.loop:
            st.close()


def connections(server: Server) -> ConnectionIterator:  # node: events.on(server, 'connection', ...)
    """The sockets ``server`` accepts, in order; ``async for sock in server`` is ``connections(server)``."""
    return ConnectionIterator(server)
