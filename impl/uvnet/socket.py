"""``net.Socket``: a Duplex stream over a TCP or Unix-domain connection.

Theory of operation
-------------------
Two layers, as in Node:

* :class:`Socket` is ``lib/net.js``'s ``Socket``: it implements the stream contract (``_read``,
  ``_write``, ``_writev``, ``_final``, ``_destroy``) and owns Node's per-socket state (``connecting``,
  ``_handle``, ``_sockname``/``_peername`` caches, the idle timer, option flags applied on connect).
  The end/finish/close ordering comes from ``stream.Duplex``; the connection path from ``_connect``.
* :class:`Handle` is the libuv handle (``TCPWrap``/``PipeWrap``).  It *is* the asyncio protocol of its
  transport, and offers Node's handle API to the socket: ``readStart``/``readStop`` (``reading``),
  ``writeBuffer`` (sync or async completion), ``shutdown``, ``close(cb)``, ``reset(cb)``,
  ``getsockname``/``getpeername``, ``setNoDelay``/``setKeepAlive``/``setTypeOfService``, ``ref``/``unref``,
  ``bytesRead``/``bytesWritten``.  Every call from the loop into the socket goes through
  ``_runtime.invoke`` (a macrotask: nextTicks and microtasks drain after it).

Reading.  A transport reads as soon as it exists; Node reads only between ``readStart`` and
``readStop``.  So the handle pauses the transport whenever it is not ``reading`` and keeps what arrived
meanwhile (uvloop may deliver data before ``pause_reading`` takes effect) for the next ``readStart``,
which hands it over from a loop callback, never synchronously.  EOF is delivered once (both loops
re-report EOF when reading resumes after it).  With ``onread`` the handle is a BufferedProtocol
reading straight into the caller's buffer.

Writing.  The transport's write buffer limits are (0, 0): a write that the kernel took whole leaves
the buffer empty and completes synchronously (libuv's ``uv_try_write`` fast path, ``req.async`` false);
otherwise ``pause_writing`` has fired and the write completes on ``resume_writing``.  The stream
layer never has two writes in flight, so one pending callback suffices.  A write into a transport
that failed completes with the error from ``connection_lost`` (syscall ``write``).

Closing.  ``close`` aborts the transport (``uv_close`` drops queued writes, it does not flush them)
and calls back when the loop reports the connection lost.  ``reset`` sets ``SO_LINGER {1, 0}`` first,
so the kernel sends an RST.  A read error (``ECONNRESET``) destroys the socket with syscall ``read``.

Traps: asyncio and uvloop set ``TCP_NODELAY``; Node leaves Nagle on, so the handle clears it unless
asked.  ``bytesWritten`` counts what was handed to the transport plus what the stream still queues,
as Node counts.  After ``destroy`` Node keeps ``bytesRead``/``bytesWritten`` and a cached
``_peername`` (``remoteAddress`` stays readable if it was read before), but forgets ``_sockname``.
"""

from __future__ import annotations

import asyncio
import errno as _errno
import math
import os
import socket as _socket
import struct
import weakref
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from . import _connect, _runtime
from ._abort import add_abort_listener, signal_get, validate_abort_signal
from .errors import (
    NULL,
    AbortError,
    NodeError,
    errno_exception,
    js_number_to_string,
    make_error,
    validate_function,
    validate_int32,
    validate_number,
)
from .stream import Duplex, WriteRequests, _maybe_read_more_nt, buffer_from_string, read_zero

if TYPE_CHECKING:
    from .promises import ReadableIterator
    from .server import Server

__all__ = ["BufferedHandle", "Handle", "Socket", "Stream", "connect", "createConnection"]

Callback = Callable[..., object]

UV_EOF = -4095
UV_ENOTCONN = -107
UV_EBADF = -9
UV_ECANCELED = -125
TIMEOUT_MAX = 2**31 - 1

_HAS_KEEPIDLE = hasattr(_socket, "TCP_KEEPIDLE")


class _Closable(Protocol):
    def force_close(self) -> None: ...


async def _reap_at_exit(handles: weakref.WeakSet[_Closable]) -> AsyncGenerator[None, None]:
    """Close what is still open when the loop shuts down (``run()`` returning, ``asyncio.run``
    ending), as the sockets of an exiting Node process go away with it.  An async generator, not a
    task: the loop's ``shutdown_asyncgens()`` closes it, running the ``finally``; no task is left
    pending meanwhile."""
    try:
        yield
    finally:
        for handle in list(handles):
            handle.force_close()


def track_handle(rt: _runtime.Runtime, handle: _Closable) -> None:
    """Register an open handle (a connection or a listening socket) for closing at loop shutdown."""
    handles: weakref.WeakSet[_Closable] | None = getattr(rt, "_uvnet_open_handles", None)
    if handles is None:
        handles = weakref.WeakSet()
        rt._uvnet_open_handles = handles  # type: ignore[attr-defined]
        reaper = _reap_at_exit(handles)
        rt._uvnet_reaper = reaper  # type: ignore[attr-defined]  # held: an unreferenced one is collected
        step = reaper.__anext__()  # the first step registers it with the loop's asyncgen hooks
        try:
            step.send(None)
        except StopIteration:
            pass
    handles.add(handle)


def untrack_handle(rt: _runtime.Runtime, handle: _Closable) -> None:
    handles: weakref.WeakSet[_Closable] | None = getattr(rt, "_uvnet_open_handles", None)
    if handles is not None:
        handles.discard(handle)


_READ_SIZE = 65536  # node: libuv's read size (the 64 KiB buffer a stream's alloc callback hands out)


def _neg_errno(exc: BaseException) -> int:
    num = getattr(exc, "errno", None)
    if isinstance(num, int) and num != 0:
        return -abs(num)
    return -_errno.EIO


def _family_name(family: int) -> str:
    return "IPv6" if family == _socket.AF_INET6 else "IPv4"


def _addr_info(family: int, addr: Any) -> dict[str, Any] | None:
    if family in (_socket.AF_INET, _socket.AF_INET6) and isinstance(addr, tuple):
        return {"address": addr[0], "family": _family_name(family), "port": addr[1]}
    return None


# ---------------------------------------------------------------------------------------------------
# The handle


class Handle(asyncio.Protocol):  # node: TCPWrap / PipeWrap (and LibuvStreamWrap)
    """A connection handle: Node's handle API on top of one asyncio transport."""

    def __init__(
        self, is_tcp: bool = True, *, server: Any = None, rt: _runtime.Runtime | None = None
    ) -> None:
        self.is_tcp = is_tcp
        self.owner: Any = server  # the Socket (or, until accepted, the Server) -- Node's owner_symbol
        self._accepting_server = server
        # the server's runtime for an accepted connection; else the running loop's (raises as
        # get_running_loop() does outside a loop)
        self.rt = rt if rt is not None else _runtime.current()
        self.loop = self.rt.loop
        # What arrived while not reading: data, None (EOF), an exception (a read error).
        self._pending: list[bytes | BaseException | None] = []
        # Every connection sets these: assigned here, in one order, so that the instance __dict__
        # stays a compact key-sharing dict (CPython sizes it from the keys its class knows at creation;
        # a key first added later can turn it into a ~1.2 KiB hash table).  Rarely changed state
        # stays on the class below.
        self.reading = False
        self.bytesRead = 0
        self.bytesWritten = 0
        self.sock: _socket.socket | None = None  # before a transport exists (bind/connect)
        self.transport: asyncio.Transport | None = None
        self.family = 0
        self._fd = -1  # the connected socket's descriptor, for the try-write fast path
        self.closed = False  # close() was called
        self.lost = False  # the transport reported connection_lost
        self.lost_exc: BaseException | None = None
        self.eof = False
        self.write_paused = False
        self._counted = False
        self._connect_task: asyncio.Task[None] | None = None
        self._in_connection_made = False
        self.onread: Callable[[bytes | None], None] | None = None
        # The owning Socket while its reads go the plain onStreamRead way (no onread buffer):
        # data_received then takes the fused path of _read_flowing.
        self._flowing_owner: Any = None
        track_handle(self.rt, self)

    _write_cb: Callback | None = None
    _close_cb: Callback | None = None
    _flush_scheduled = False
    _connect_req: Any = None
    _nodelay = False
    _keepalive: tuple[bool, int, int | None, int | None] | None = None
    _tos: int | None = None
    # Keep-alive as libuv counts it: a handle keeps the loop alive while it is ref'd and active
    # (reading, writing, shutting down) or closing; a paused idle socket does not.
    refed = True
    _shutdown_pending = False
    _handing_over = False  # _connect_wait's create_connection is taking the descriptor over

    # -- asyncio protocol ---------------------------------------------------------------------------

    def connection_made(self, base_transport: asyncio.BaseTransport) -> None:
        transport: Any = base_transport
        self.transport = transport
        self.sock = None
        self._connect_task = None  # it only waits for create_connection to return now: let it
        if self.closed:  # closed while the loop took the connection over: connection_lost finishes it
            # (uvloop ignores an abort() made inside connection_made: connection_lost would never come)
            self.loop.call_soon(transport.abort)
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self.family = sock.family
        transport.set_write_buffer_limits(0, 0)
        try:
            self._fd = int(sock.fileno()) if sock is not None else -1
        except (OSError, ValueError):
            self._fd = -1
        if self.is_tcp:
            self._apply_options()
        if not self.reading:
            transport.pause_reading()
            # uvloop starts reading right after connection_made returns, whatever it asked; pausing
            # from the next ready-queue callback still comes before the loop polls for data.
            self.loop.call_soon(self._pause_if_not_reading)
        # uvloop ignores an abort() made inside connection_made (connection_lost never comes): close()
        # defers it while this flag is set.
        self._in_connection_made = True
        try:
            if self._accepting_server is not None:
                server = self._accepting_server
                self._accepting_server = None
                self.rt.invoke(server._on_connection, self)
            elif self._connect_req is not None:
                req = self._connect_req
                self._connect_req = None
                self.rt.invoke(self._complete_connect, req, 0)
        finally:
            self._in_connection_made = False

    def _pause_if_not_reading(self) -> None:
        tr = self.transport
        if not self.reading and tr is not None and not self.closed and not tr.is_closing():
            tr.pause_reading()

    _cancelled_req: Any = None

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.reading or self._pending:
            self._stash(data)
            return
        sock = self._flowing_owner
        if sock is not None:
            self.rt.invoke(_read_flowing, self, sock, data)
        else:
            self.rt.invoke(self._on_read, data)

    def eof_received(self) -> bool:
        if self.eof or self.closed:
            return True
        self.eof = True
        self._update_ref()
        if not self.reading or self._pending:
            self._stash(None)
            return True
        self.rt.invoke(self._on_read, None)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.lost_exc = exc
        self._update_ref()
        if self._close_cb is not None or self.closed:
            cb = self._close_cb
            self._close_cb = None
            self._after_close(cb)
            return
        if self._write_cb is not None:
            cb = self._write_cb
            self._write_cb = None
            err = errno_exception(_neg_errno(exc) if exc is not None else -_errno.EPIPE, "write")
            self.rt.invoke(self._after_write, cb, err)
            return
        if exc is not None:
            if not self.reading or self._pending:
                self._pending.append(exc)  # a paused handle sees the error when it reads again
            else:
                self.rt.invoke(self._on_read_error, _neg_errno(exc))
        elif not self.eof:
            self.eof = True
            if not self.reading or self._pending:
                self._pending.append(None)
            else:
                self.rt.invoke(self._on_read, None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        cb = self._write_cb
        if cb is not None:
            self._write_cb = None
            self.rt.invoke(self._after_write, cb, None)

    # -- reading ------------------------------------------------------------------------------------

    def _stash(self, data: bytes | None) -> None:
        self._pending.append(data)
        tr = self.transport
        if tr is not None and not self.reading and data is not None:
            tr.pause_reading()

    def readStart(self) -> int:  # node: LibuvStreamWrap::ReadStart
        self.reading = True
        if self.closed:
            return 0
        self._update_ref()
        if self._pending:
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self.loop.call_soon(self._flush_pending)
            return 0
        tr = self.transport
        if tr is not None and not self.eof and not tr.is_closing():
            tr.resume_reading()
        return 0

    def readStop(self) -> int:  # node: LibuvStreamWrap::ReadStop
        self.reading = False
        self._update_ref()
        tr = self.transport
        if tr is not None and not self.eof and not tr.is_closing():
            tr.pause_reading()
        return 0

    def _flush_pending(self) -> None:
        self._flush_scheduled = False
        self.rt.invoke(self._flush_pending_now)

    def _flush_pending_now(self) -> None:
        while self._pending and self.reading and not self.closed:
            data = self._pending.pop(0)
            if isinstance(data, BaseException):
                self._on_read_error(_neg_errno(data))
            else:
                self._on_read(self._as_one_read(data) if data is not None else None)
        if self.reading and not self._pending and not self.closed:
            tr = self.transport
            if tr is not None and not self.eof and not tr.is_closing():
                tr.resume_reading()
        self._update_ref()

    def _as_one_read(self, data: bytes) -> bytes:
        """``data`` and the stashed chunks after it, as far as one read of Node's would have taken them.

        While a handle does not read, libuv leaves what arrives in the kernel, and its next read takes up
        to 64 KiB of it at once; the loop here read the same bytes early, in the pieces they arrived in.
        (A client's two writes before the server reads: Node's server sees one 'data', measured.)"""
        pending = self._pending
        parts = [data]
        size = len(data)
        while pending and type(pending[0]) is bytes and size + len(pending[0]) <= _READ_SIZE:
            chunk = pending.pop(0)
            assert isinstance(chunk, bytes)
            parts.append(chunk)
            size += len(chunk)
        if not pending and size < _READ_SIZE and self._fd >= 0 and not self.eof and not self.lost:
            # The rest of that read is still in the kernel (the loop stopped reading after these):
            # take it now, as libuv's read would have (the descriptor is non-blocking).  The end of
            # the stream stays for the loop, which reads it again when it resumes; an error is
            # reported once, so it is kept to follow these bytes.
            try:
                more = os.read(self._fd, _READ_SIZE - size)
            except (BlockingIOError, InterruptedError):
                more = b""
            except OSError as exc:
                more = b""
                pending.append(exc)
            if more:
                parts.append(more)
        return b"".join(parts) if len(parts) > 1 else data

    def _on_read(self, data: bytes | None) -> None:  # node: onStreamRead (the handle's part)
        owner = self.owner
        if data is not None:
            self.bytesRead += len(data)
        if owner is not None and self.onread is not None:
            self.onread(data)

    def _on_read_error(self, status: int) -> None:
        owner = self.owner
        if owner is not None and self.onread is not None:
            owner._on_read_error(status)

    # -- writing ------------------------------------------------------------------------------------

    def writeBuffer(self, data: bytes | bytearray | memoryview, cb: Callback) -> int:
        """Send ``data``: 0 when the kernel took it all at once (the caller calls ``cb``), a negative
        errno when that failed (the caller reports it), 1 when the rest completes later (``cb(err)``)."""
        # node: LibuvStreamWrap::DoWrite -- uv_try_write first, then uv_write for what is left
        tr = self.transport
        self.bytesWritten += len(data)
        if tr is None or self.lost:
            self._write_cb = cb
            self._update_ref()
            exc = self.lost_exc
            if self.lost:
                self.loop.call_soon(self._lost_write, exc)
            else:
                self.loop.call_soon(self.connection_lost, exc if isinstance(exc, Exception) else None)
            return 1
        if self._fd >= 0 and not tr.get_write_buffer_size() and not tr.is_closing():
            try:
                sent = os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                return _neg_errno(exc)
            if sent == len(data):
                return 0
            data = memoryview(data)[sent:]
        tr.write(data)
        if self.write_paused or tr.get_write_buffer_size() or tr.is_closing():
            self._write_cb = cb
            self._update_ref()
            if self.lost:  # already reported lost: nothing will resume us
                self.loop.call_soon(self._lost_write, self.lost_exc)
            return 1
        return 0

    def _lost_write(self, exc: BaseException | None) -> None:
        cb = self._write_cb
        if cb is not None:
            self._write_cb = None
            err = errno_exception(_neg_errno(exc) if exc is not None else -_errno.EPIPE, "write")
            self.rt.invoke(self._after_write, cb, err)

    def _after_write(self, cb: Callback, err: BaseException | None) -> None:  # node: onWriteComplete
        self._update_ref()
        owner = self.owner
        if err is not None:
            cb(err)
            return
        if owner is None or owner.destroyed:
            cb(None)
            return
        owner._unrefTimer()
        owner._last_write_queue_size = 0  # node: kAfterAsyncWrite
        cb(None)

    @property
    def writeQueueSize(self) -> int:
        tr = self.transport
        return tr.get_write_buffer_size() if tr is not None and not self.lost else 0

    def shutdown(self, cb: Callback) -> int:  # node: LibuvStreamWrap::DoShutdown
        tr = self.transport
        if tr is None:
            return UV_ENOTCONN
        if not self.lost and not tr.is_closing():
            try:
                tr.write_eof()
            except (OSError, RuntimeError, NotImplementedError):
                pass
        self._shutdown_pending = True
        self._update_ref()
        self.loop.call_soon(self._after_shutdown, cb)
        return 0

    def _after_shutdown(self, cb: Callback) -> None:  # node: afterShutdown
        self._shutdown_pending = False
        self._update_ref()
        self.rt.invoke(cb)

    # -- closing ------------------------------------------------------------------------------------

    def close(self, cb: Callback | None = None) -> None:  # node: HandleWrap::Close
        if self.closed:
            return
        self.closed = True
        if not self._counted:  # a closing handle keeps the loop alive until its close callback
            self._counted = True
            self.rt.ref_handle(self)
        if any(isinstance(chunk, bytes) for chunk in self._pending):
            # Node would have left these bytes in the kernel, and closing a socket with unread data
            # sends RST; the loop read them early (uvloop starts reading before pause_reading takes
            # effect), so ask for the RST explicitly.
            sock = self._raw_socket()
            if sock is not None:
                try:
                    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
        self._pending.clear()
        if self._connect_req is not None:
            self.rt.unref_handle(self._connect_req)
            self._cancelled_req = self._connect_req
            self._connect_req = None
        if self._handing_over and self.transport is None:
            # The loop owns the descriptor now (create_connection is under way): neither cancel it nor
            # close the socket under it.  connection_made aborts the new transport and connection_lost
            # completes this close; or _connect_wait does, if create_connection fails.
            self._close_cb = cb
            return
        task = self._connect_task
        if task is not None:
            self._connect_task = None
            task.cancel()
        if self.sock is not None:
            try:
                self.loop.remove_writer(self.sock.fileno())
            except (ValueError, OSError):
                pass
            self.sock.close()
            self.sock = None
        tr = self.transport
        if tr is not None and not self.lost:
            self._close_cb = cb
            if self._in_connection_made:
                self.loop.call_soon(tr.abort)
            else:
                tr.abort()
        else:
            self.loop.call_soon(self._after_close, cb)

    def drop_reader(self) -> None:
        """No more reads for the owner (node: `handle.onread = null`), nor for the fused read path."""
        self.onread = None
        self._flowing_owner = None

    def force_close(self) -> None:
        """Loop shutdown: drop the connection now, no callbacks (the process is exiting)."""
        self.closed = True
        self.drop_reader()
        self.owner = None
        self._write_cb = None
        self._close_cb = None
        self._cancelled_req = None
        if self._connect_task is not None:
            self._connect_task.cancel()
            self._connect_task = None
        if self.transport is not None and not self.lost:
            self.transport.abort()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _after_close(self, cb: Callback | None) -> None:
        untrack_handle(self.rt, self)
        self._counted = False
        self._fd = -1
        self.rt.unref_handle(self)
        req = self._cancelled_req
        if req is not None:  # uv_close cancels a pending connect before the close callback
            self._cancelled_req = None
            self.rt.invoke(self._complete_connect, req, UV_ECANCELED)
        write_cb = self._write_cb
        if write_cb is not None:  # uv_close cancels queued writes before the close callback
            self._write_cb = None
            self.rt.invoke(write_cb, errno_exception(UV_ECANCELED, "write"))
        if cb is not None:
            self.rt.invoke(cb)

    def reset(self, cb: Callback | None = None) -> int:  # node: TCPWrap::Reset (uv_tcp_close_reset)
        sock = self._raw_socket()
        if sock is not None:
            try:
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError as exc:
                return _neg_errno(exc)
        self.close(cb)
        return 0

    def ref(self) -> None:  # node: HandleWrap::Ref
        self.refed = True
        self._update_ref()

    def unref(self) -> None:  # node: HandleWrap::Unref
        self.refed = False
        self._update_ref()

    def _update_ref(self) -> None:  # node: uv__handle_start / uv__handle_stop (and uv_loop_alive)
        if self.closed:
            return
        active = (
            (self.reading and not self.eof and not self.lost)
            or self._write_cb is not None
            or self._shutdown_pending
        )
        want = active and self.refed
        if want != self._counted:
            self._counted = want
            if want:
                self.rt.ref_handle(self)
            else:
                self.rt.unref_handle(self)

    # -- socket-level calls ------------------------------------------------------------------------

    def _raw_socket(self) -> Any:
        if self.sock is not None:
            return self.sock
        tr = self.transport
        if tr is not None and not self.lost:
            return tr.get_extra_info("socket")
        return None

    @property
    def fd(self) -> int:
        sock = self._raw_socket()
        try:
            return int(sock.fileno()) if sock is not None else -1
        except (OSError, ValueError):
            return -1

    def getsockname(self) -> dict[str, Any] | None:  # node: TCPWrap::GetSockName
        if not self.is_tcp:
            return None
        tr = self.transport
        try:
            if tr is not None:
                return _addr_info(self.family, tr.get_extra_info("sockname"))
            if self.sock is not None:
                return _addr_info(self.sock.family, self.sock.getsockname())
        except OSError:
            return None
        return None

    def getpeername(self) -> dict[str, Any] | None:  # node: TCPWrap::GetPeerName
        if not self.is_tcp:
            return None
        tr = self.transport
        if tr is not None:
            return _addr_info(self.family, tr.get_extra_info("peername"))
        return None

    def _ensure_sock(self, family: int) -> _socket.socket:
        if self.sock is None:
            if not self.is_tcp:
                sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            else:
                af = _socket.AF_INET6 if family == 6 else _socket.AF_INET
                sock = _socket.socket(af, _socket.SOCK_STREAM)
            sock.setblocking(False)
            self.sock = sock
            self.family = sock.family
            if self.is_tcp:
                self._apply_options()
        return self.sock

    def bind(self, address: str, port: int, address_type: int) -> int:  # node: TCPWrap::Bind / Bind6
        try:
            sock = self._ensure_sock(address_type)
            sock.bind((address, port))
        except OSError as exc:
            return _neg_errno(exc)
        return 0

    def connect(self, req: Any, address: str, port: int | None, address_type: int | None) -> int:
        # node: TCPWrap::Connect / PipeWrap::Connect.  uv_tcp_connect reports ECONNREFUSED from the
        # loop and other errors at once; uv_pipe_connect reports every error from the loop.
        try:
            sock = self._ensure_sock(address_type or 0)
            err = sock.connect_ex(address if not self.is_tcp else (address, port))
        except OSError as exc:
            if self.is_tcp or not exc.errno:  # AF_UNIX path too long: uv_pipe_connect2's EINVAL
                return _neg_errno(exc) if exc.errno else -_errno.EINVAL
            err = exc.errno
        except ValueError:  # a path Python refuses (embedded NUL)
            if self.is_tcp:
                raise
            return -_errno.EINVAL
        deferred = err == _errno.ECONNREFUSED or not self.is_tcp
        if err not in (0, _errno.EINPROGRESS, _errno.EAGAIN) and not deferred:
            return -err
        self._connect_req = req
        self.rt.ref_handle(req)  # a pending connect request keeps the loop alive, as in libuv
        if err not in (0, _errno.EINPROGRESS, _errno.EAGAIN):  # deferred: reported from the loop
            self.loop.call_soon(self._connect_failed, req, -err)
        else:
            self._connect_task = self.loop.create_task(self._connect_wait(req))
        return 0

    def _connect_failed(self, req: Any, status: int) -> None:
        if self._connect_req is req and not self.closed:
            self._connect_req = None
            self.rt.invoke(self._complete_connect, req, status)

    async def _connect_wait(self, req: Any) -> None:
        sock = self.sock
        assert sock is not None
        fut: asyncio.Future[None] = self.loop.create_future()
        fd = sock.fileno()

        def writable() -> None:
            if not fut.done():
                fut.set_result(None)

        self.loop.add_writer(fd, writable)
        try:
            await fut
        finally:
            if self.sock is sock:  # close() removed it already (and the number may be reused)
                self.loop.remove_writer(fd)
        err = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
        if err:
            self._connect_req = None
            self._connect_task = None
            self.rt.invoke(self._complete_connect, req, -err)
            return
        self._handing_over = True
        made = False
        try:
            if self.is_tcp:
                await self.loop.create_connection(lambda: self, sock=sock)
            else:
                await self.loop.create_unix_connection(lambda: self, sock=sock)
            made = True
        except OSError as exc:
            if self._connect_req is not None and not self.closed:
                self._connect_req = None
                self.rt.invoke(self._complete_connect, req, _neg_errno(exc))
        finally:
            self._connect_task = None
            self._handing_over = False
            if not made and self.closed and self.transport is None:
                # closed while handing over and no transport came of it: nothing else will finish
                # the close (as close() would have: the socket object gives up its descriptor)
                if self.sock is not None:
                    self.sock.close()
                    self.sock = None
                cb = self._close_cb
                self._close_cb = None
                self.loop.call_soon(self._after_close, cb)

    def _complete_connect(self, req: Any, status: int) -> None:
        self.rt.unref_handle(req)
        oncomplete = req.oncomplete
        if oncomplete is not None and not (self.closed and status == 0):
            oncomplete(status, self, req, True, True)

    def setNoDelay(self, enable: bool) -> int:  # node: TCPWrap::SetNoDelay
        self._nodelay = bool(enable)
        return self._set_nodelay()

    def _set_nodelay(self) -> int:
        sock = self._raw_socket()
        if sock is not None:
            try:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, int(self._nodelay))
            except OSError as exc:
                return _neg_errno(exc)
        return 0

    def setKeepAlive(
        self, enable: bool, delay: int, interval: int | None = None, count: int | None = None
    ) -> int:  # node: TCPWrap::SetKeepAlive (uv_tcp_keepalive_ex)
        self._keepalive = (bool(enable), delay, interval, count)
        return self._set_keepalive()

    def _set_keepalive(self) -> int:
        # libuv's uv__tcp_keepalive as Node 24 calls it (measured with getsockopt on a socket Node set):
        # SO_KEEPALIVE always; then TCP_KEEPIDLE/INTVL/CNT only if all three are >= 1 (interval
        # defaults to 1 s, count to 10), else EINVAL, which Node ignores.
        sock = self._raw_socket()
        if sock is None or self._keepalive is None:
            return 0
        enable, delay, interval, count = self._keepalive
        intvl = 1 if interval is None else interval
        cnt = 10 if count is None else count
        try:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_KEEPALIVE, int(enable))
            if not enable:
                return 0
            if delay < 1 or intvl < 1 or cnt < 1:
                return -_errno.EINVAL
            if _HAS_KEEPIDLE:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_KEEPIDLE, delay)
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_KEEPINTVL, intvl)
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_KEEPCNT, cnt)
        except OSError as exc:
            return _neg_errno(exc)
        return 0

    def setTypeOfService(self, tos: int) -> int:  # node: TCPWrap::SetTypeOfService
        self._tos = tos
        return self._set_tos()

    def _set_tos(self) -> int:
        sock = self._raw_socket()
        if self._tos is None:
            return 0
        if sock is None:
            return UV_EBADF  # no descriptor yet (still resolving): as libuv says
        try:
            if self.family == _socket.AF_INET6:
                sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_TCLASS, self._tos)
            else:
                sock.setsockopt(_socket.IPPROTO_IP, _socket.IP_TOS, self._tos)
        except OSError as exc:
            return _neg_errno(exc)
        return 0

    def getTypeOfService(self) -> int:  # node: TCPWrap::GetTypeOfService
        sock = self._raw_socket()
        if sock is None:
            return UV_EBADF
        try:
            if self.family == _socket.AF_INET6:
                return int(sock.getsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_TCLASS))
            return int(sock.getsockopt(_socket.IPPROTO_IP, _socket.IP_TOS))
        except OSError as exc:
            return _neg_errno(exc)

    def _apply_options(self) -> None:
        self._set_nodelay()
        self._set_keepalive()
        self._set_tos()


class BufferedHandle(Handle, asyncio.BufferedProtocol):  # node: a handle with useUserBuffer
    """A handle whose reads land in the owner's ``onread`` buffer (no copy on the data path)."""

    user_buffer: Any = None

    def get_buffer(self, sizehint: int) -> Any:
        if self.closed or not self.reading or self._pending or self.user_buffer is None:
            self._spare = bytearray(65536)
            return self._spare
        self._spare = None
        return memoryview(self.user_buffer).cast("B")

    _spare: bytearray | None = None

    def buffer_updated(self, nbytes: int) -> None:
        if self.closed:
            return
        spare = self._spare
        if spare is not None:
            self._spare = None
            self._stash(bytes(spare[:nbytes]))
            return
        self.rt.invoke(self._on_read_user, nbytes)

    def _on_read_user(self, nbytes: int) -> None:
        self.bytesRead += nbytes
        owner = self.owner
        if owner is not None and self.onread is not None:
            owner._on_user_buffer_read(nbytes)

    def _on_read(self, data: bytes | None) -> None:
        # Stashed data (read while not reading) is copied into the user's buffer, buffer-sized pieces.
        if data is None:
            Handle._on_read(self, None)
            return
        view = memoryview(data)
        while view and self.reading and not self.closed and self.owner is not None:
            buf = memoryview(self.user_buffer).cast("B")
            n = min(len(buf), len(view))
            buf[:n] = view[:n]
            view = view[n:]
            self._on_read_user(n)
        if view:
            self._pending.insert(0, bytes(view))


# ---------------------------------------------------------------------------------------------------
# Socket


def _is_user_buffer(value: object) -> bool:  # node: isUint8Array
    return isinstance(value, (bytes, bytearray, memoryview))


def _writable_buffer(value: Any) -> Any:
    # DIVERGENCE(onread-bytes): bytes cannot be written into; uvnet reads into a bytearray copy of
    # it (the callback receives that copy). Give a bytearray or memoryview to share the memory.
    return bytearray(value) if isinstance(value, bytes) else value


def _get_timer_duration(msecs: object, name: str) -> float:  # node: getTimerDuration
    validate_number(msecs, name)
    assert isinstance(msecs, (int, float))
    if msecs < 0 or not math.isfinite(msecs):
        raise make_error("ERR_OUT_OF_RANGE", name, "a non-negative finite number", msecs)
    if msecs > TIMEOUT_MAX:
        import warnings

        warnings.warn(
            f"{js_number_to_string(msecs)} does not fit into a 32-bit signed integer.\n"
            "Timer duration was truncated to 2147483647.",
            RuntimeWarning,
            stacklevel=3,
        )
        return TIMEOUT_MAX
    return msecs


class Socket(Duplex):  # node: Socket
    """Node's ``net.Socket``.  Options as a dict or as keyword arguments."""

    timeout: Any = None  # undefined until setTimeout
    connecting = False
    autoSelectFamilyAttemptedAddresses: list[str] | None = None  # set by a multi-address connect
    _bound_source = False  # the handle is an adopted BoundSocket's
    _bound_path: str | None = None
    blockList: Any = None
    resetAndClosing = False
    _aborted = False
    _peername: dict[str, Any] | None = None
    # Defaults that most sockets never change live on the class: an instance's __dict__ then holds
    # few enough keys to stay a compact key-sharing dict (CPython shares at most 30 keys per class; one
    # more and every socket pays ~1.2 KiB for a full hash table: tests/test_hot_paths.py watches this).
    _host: str | None = None
    _hadError = False
    _user_buffer: Any = None
    _user_buffer_cb: Callable[..., object] | None = None
    _user_buffer_gen: Callable[[], object] | None = None
    _closeAfterHandlingError = False
    _set_keep_alive_interval: int | None = None
    _set_keep_alive_count: int | None = None
    _set_tos: int | None = None

    def __init__(self, options: Mapping[str, Any] | int | None = None, /, **kwargs: Any) -> None:
        if isinstance(options, Mapping):
            opts: dict[str, Any] = dict(options)
        elif isinstance(options, int) and not isinstance(options, bool):
            opts = {"fd": options}  # legacy interface
        else:
            opts = {}
        opts.update(kwargs)
        if opts.get("objectMode"):
            raise make_error(
                "ERR_INVALID_ARG_VALUE", "options.objectMode", opts["objectMode"], "is not supported"
            )
        if opts.get("readableObjectMode") or opts.get("writableObjectMode"):
            key = "readableObjectMode" if opts.get("readableObjectMode") else "writableObjectMode"
            raise make_error("ERR_INVALID_ARG_VALUE", f"options.{key}", opts[key], "is not supported")
        if opts.get("keepAliveInitialDelay") is not None:
            validate_number(opts["keepAliveInitialDelay"], "options.keepAliveInitialDelay")
            if opts["keepAliveInitialDelay"] < 0:
                opts["keepAliveInitialDelay"] = 0

        self._handle: Handle | None = None
        self._last_write_queue_size = 0
        # read on every message: instance values are the fastest attribute loads
        self.connecting = False
        self._parent: Any = None
        self._timeout_timer: _runtime.Timeout | None = None
        self._pendingData: Any = None
        self._pendingEncoding = ""
        self._sockname: dict[str, Any] | None = None
        self._rt: _runtime.Runtime | None = None

        signal = opts.pop("signal", None)
        opts["allowHalfOpen"] = bool(opts.get("allowHalfOpen")) and opts.get("allowHalfOpen") is not NULL
        opts["emitClose"] = False
        opts["autoDestroy"] = True
        opts["decodeStrings"] = False
        self._bytes_read = 0
        self._bytes_written = 0
        self.server: Server | None = None
        self._server: Server | None = None
        Duplex.__init__(self, {k: v for k, v in opts.items() if k not in _NOT_STREAM_OPTIONS})

        if _connect.truthy(signal):
            # node: Duplex's addAbortSignal (stream-level: destroys with an AbortError)
            validate_abort_signal(signal, "signal")
            self._add_stream_abort_signal(signal)

        handle = opts.get("handle")
        bound_not_connected = False
        if isinstance(handle, Handle):  # an accepted connection's handle
            self._handle = handle
        elif _connect.truthy(handle) or opts.get("fd") is not None:
            from ._handles import adopt_into_socket  # built on this module, so imported here

            # An adopted BoundSocket is bound but not connected: reading waits for connect().
            bound_not_connected = adopt_into_socket(self, opts)

        onread = opts.get("onread")
        if (
            isinstance(onread, Mapping)
            and (_is_user_buffer(onread.get("buffer")) or callable(onread.get("buffer")))
            and callable(onread.get("callback"))
        ):
            buf = onread["buffer"]
            if callable(buf):
                self._user_buffer = True
                self._user_buffer_gen = buf
            else:
                self._user_buffer = _writable_buffer(buf)
            self._user_buffer_cb = onread["callback"]
            # node: Socket.prototype.{pause,resume,read} overrides, only where they matter
            self.read = self._read_user_buffer  # type: ignore[method-assign]
            self.pause = self._pause_user_buffer  # type: ignore[method-assign]
            self.resume = self._resume_user_buffer  # type: ignore[method-assign]

        self._set_no_delay = bool(opts.get("noDelay")) and opts.get("noDelay") is not NULL
        self._set_keep_alive = bool(opts.get("keepAlive")) and opts.get("keepAlive") is not NULL
        kaid = opts.get("keepAliveInitialDelay")
        self._set_keep_alive_initial_delay = int(kaid / 1000) if isinstance(kaid, (int, float)) else 0
        tos = opts.get("typeOfService")
        if tos is not None:
            validate_int32(tos, "options.typeOfService", 0, 255)
            self._set_tos = tos

        self.on("end", self._on_readable_stream_end)
        self._init_socket_handle()

        if self._handle is not None and opts.get("readable") is not False and not bound_not_connected:
            if opts.get("pauseOnCreate"):
                self._handle.reading = False
                self._handle.readStop()
                self.readableFlowing = False
            elif not opts.get("manualStart"):
                read_zero(self, self._readableState)

        if _connect.truthy(signal):
            self._add_client_abort_signal(signal)

        block_list = opts.get("blockList")
        if _connect.truthy(block_list):
            from .blocklist import BlockList

            if not BlockList.isBlockList(block_list):
                raise make_error("ERR_INVALID_ARG_TYPE", "options.blockList", "net.BlockList", block_list)
            self.blockList = block_list

    # -- construction helpers -----------------------------------------------------------------------

    def _add_stream_abort_signal(self, signal: Any) -> None:  # node: addAbortSignalNoValidate
        def on_abort() -> None:
            self.destroy(AbortError(cause=signal_get(signal, "reason")))

        if signal_get(signal, "aborted"):
            on_abort()
        else:
            dispose = add_abort_listener(signal, on_abort)
            self.once("close", lambda *_: dispose())

    def _add_client_abort_signal(self, signal: Any) -> None:  # node: addClientAbortSignalOption
        validate_abort_signal(signal, "options.signal")
        disposer: list[Callable[[], None]] = []

        def on_abort() -> None:
            if disposer:
                disposer[0]()
            self._aborted = True

        if signal_get(signal, "aborted"):
            _runtime.next_tick(on_abort)
        else:

            def add_nt() -> None:
                disposer.append(add_abort_listener(signal, on_abort))

            _runtime.next_tick(add_nt)

    def _init_socket_handle(self) -> None:  # node: initSocketHandle
        self._undestroy()
        self._sockname = None
        handle = self._handle
        if handle is not None:
            self._rt = handle.rt
            handle.owner = self
            handle.onread = self._on_stream_read
            if type(handle) is Handle:
                handle._flowing_owner = self
            user_buf = self._user_buffer
            if user_buf is not None:
                gen = self._user_buffer_gen
                if gen is not None:
                    user_buf = gen()
                    if not _is_user_buffer(user_buf):
                        return
                    user_buf = self._user_buffer = _writable_buffer(user_buf)
                if isinstance(handle, BufferedHandle):
                    handle.user_buffer = user_buf

    def _new_handle(self, pipe: bool) -> Handle:
        if self._user_buffer is not None:
            return BufferedHandle(not pipe)
        return Handle(not pipe)

    def _reinitialize_handle(self) -> None:  # node: Socket.prototype[kReinitializeHandle]
        old = self._handle
        if old is not None:
            old.close()
        self._handle = self._new_handle(False)
        self._init_socket_handle()

    # -- timers ---------------------------------------------------------------------------------------

    def _unrefTimer(self) -> None:  # node: Socket.prototype._unrefTimer
        s: Any = self
        while s is not None:
            timer = s._timeout_timer
            if timer is not None:
                timer.refresh()
            s = s._parent

    def setTimeout(self, msecs: object = None, callback: Callback | None = None) -> Socket:
        # node: setStreamTimeout
        if self.destroyed:
            return self
        self.timeout = msecs
        duration = _get_timer_duration(msecs, "msecs")
        _runtime.clear_timeout(self._timeout_timer)
        if duration == 0:
            if callback is not None:
                validate_function(callback, "callback")
                self.removeListener("timeout", callback)
        else:
            self._timeout_timer = _runtime.set_timeout(self._on_timeout_timer, duration).unref()
            if callback is not None:
                validate_function(callback, "callback")
                self.once("timeout", callback)
        return self

    def _on_timeout_timer(self) -> None:  # node: onStreamTimeout
        self._onTimeout()

    def _onTimeout(self) -> None:  # node: Socket.prototype._onTimeout
        handle = self._handle
        last = self._last_write_queue_size
        if last > 0 and handle is not None:
            size = handle.writeQueueSize
            if last != size:
                self._last_write_queue_size = size
                self._unrefTimer()
                return
        self.emit("timeout")

    # -- options ------------------------------------------------------------------------------------

    def setNoDelay(self, enable: object = None) -> Socket:  # node: Socket.prototype.setNoDelay
        flag = True if enable is None else bool(enable) and enable is not NULL
        if self._handle is None:
            self._set_no_delay = flag
            return self
        if self._handle.is_tcp and flag != self._set_no_delay:
            self._set_no_delay = flag
            self._handle.setNoDelay(flag)
        return self

    def setKeepAlive(
        self,
        enable: object = False,
        initialDelay: object = None,
        interval: object = None,
        count: object = None,
    ) -> Socket:  # node: Socket.prototype.setKeepAlive
        if isinstance(enable, Mapping):
            initialDelay = enable.get("initialDelay")
            interval = enable.get("interval")
            count = enable.get("count")
            enable = enable.get("enable")
        flag = bool(enable) and enable is not NULL
        delay = _ms_to_s(initialDelay)
        ival = None if interval is None else _ms_to_s(interval)
        cnt = count if isinstance(count, int) and not isinstance(count, bool) else None
        if self._handle is None:
            self._set_keep_alive = flag
            self._set_keep_alive_initial_delay = delay
            self._set_keep_alive_interval = ival
            self._set_keep_alive_count = cnt
            return self
        if not self._handle.is_tcp:
            return self
        if flag != self._set_keep_alive or (
            flag
            and (
                self._set_keep_alive_initial_delay != delay
                or self._set_keep_alive_interval != ival
                or self._set_keep_alive_count != cnt
            )
        ):
            self._set_keep_alive = flag
            self._set_keep_alive_initial_delay = delay
            self._set_keep_alive_interval = ival
            self._set_keep_alive_count = cnt
            self._handle.setKeepAlive(flag, delay, ival, cnt)
        return self

    def setTypeOfService(self, tos: object) -> Socket:  # node: Socket.prototype.setTypeOfService
        if isinstance(tos, float) and math.isnan(tos):
            raise make_error("ERR_INVALID_ARG_TYPE", "tos", "number", tos)
        value = validate_int32(tos, "tos", 0, 255)
        if self._handle is None or not self._handle.is_tcp:
            self._set_tos = value
            return self
        if value != self._set_tos:
            self._set_tos = value
            err = self._handle.setTypeOfService(value)
            if err:
                raise errno_exception(err, "setTypeOfService")
        return self

    def getTypeOfService(self) -> int:  # node: Socket.prototype.getTypeOfService
        if self._handle is None or not self._handle.is_tcp:
            return self._set_tos if self._set_tos is not None else 0
        res = self._handle.getTypeOfService()
        if res < 0:
            raise errno_exception(res, "getTypeOfService")
        return res

    def _apply_handle_options(self, handle: Handle) -> None:  # node: afterConnect's option block
        if not handle.is_tcp:
            return
        if self._set_no_delay:
            handle.setNoDelay(True)
        if self._set_keep_alive:
            handle.setKeepAlive(
                True,
                self._set_keep_alive_initial_delay,
                self._set_keep_alive_interval,
                self._set_keep_alive_count,
            )
        if self._set_tos is not None:
            err = handle.setTypeOfService(self._set_tos)
            if err and err != UV_EBADF:
                self.emit("error", errno_exception(err, "setTypeOfService"))

    # -- addresses ----------------------------------------------------------------------------------

    def address(self) -> dict[str, Any]:  # node: Socket.prototype.address
        return self._getsockname()

    def _getpeername(self) -> dict[str, Any]:  # node: Socket.prototype._getpeername
        handle = self._handle
        if handle is None or not handle.is_tcp or self.connecting:
            return self._peername or {}
        if not self._peername:
            out = handle.getpeername()
            if out is None:
                return {}
            self._peername = out
        return self._peername

    def _getsockname(self) -> dict[str, Any]:  # node: Socket.prototype._getsockname
        if self._bound_path is not None:
            return {"address": self._bound_path}
        handle = self._handle
        if handle is None or not handle.is_tcp:
            return {}
        if self._sockname is None:
            self._sockname = handle.getsockname() or {}
        return self._sockname

    @property
    def remoteAddress(self) -> str | None:  # node: remoteAddress
        return self._getpeername().get("address")

    @property
    def remoteFamily(self) -> str | None:  # node: remoteFamily
        return self._getpeername().get("family")

    @property
    def remotePort(self) -> int | None:  # node: remotePort
        return self._getpeername().get("port")

    @property
    def localAddress(self) -> str | None:  # node: localAddress
        return self._getsockname().get("address")

    @property
    def localPort(self) -> int | None:  # node: localPort
        return self._getsockname().get("port")

    @property
    def localFamily(self) -> str | None:  # node: localFamily
        return self._getsockname().get("family")

    # -- state --------------------------------------------------------------------------------------

    @property
    def _connecting(self) -> bool:
        return self.connecting

    @property
    def pending(self) -> bool:  # node: pending
        return self._handle is None or self.connecting

    @property
    def readyState(self) -> str:  # node: readyState
        if self.connecting:
            return "opening"
        readable = self.readable
        writable = self.writable
        if readable and writable:
            return "open"
        if readable:
            return "readOnly"
        if writable:
            return "writeOnly"
        return "closed"

    @property
    def bufferSize(self) -> int | None:  # node: bufferSize
        return self.writableLength if self._handle is not None else None

    @property
    def bytesRead(self) -> int:  # node: bytesRead
        return self._handle.bytesRead if self._handle is not None else self._bytes_read

    @property
    def _bytesDispatched(self) -> int:  # node: _bytesDispatched
        return self._handle.bytesWritten if self._handle is not None else self._bytes_written

    @property
    def bytesWritten(self) -> int:  # node: bytesWritten
        total = self._bytesDispatched
        for req in self._writableState.getBuffer():
            total += _byte_length(req.chunk, req.encoding)
        data = self._pendingData
        if isinstance(data, list):
            for req in data:
                total += _byte_length(req.chunk, req.encoding)
        elif data is not None:
            total += _byte_length(data, self._pendingEncoding)
        return total

    # -- the stream contract ------------------------------------------------------------------------

    def _read(self, size: int) -> None:  # node: Socket.prototype._read
        if self.connecting or self._handle is None:
            self.once("connect", lambda *_: self._read(size))
        elif not self._handle.reading:
            self._try_read_start()

    def _try_read_start(self) -> None:  # node: tryReadStart
        handle = self._handle
        assert handle is not None
        handle.reading = True
        err = handle.readStart()
        if err:
            self.destroy(errno_exception(err, "read"))

    def _on_stream_read(self, data: bytes | None) -> None:  # node: onStreamRead
        if self._timeout_timer is not None or self._parent is not None:  # else _unrefTimer is a no-op
            self._unrefTimer()
        if data is not None:
            if self.destroyed:
                return
            if not self.push(data):
                handle = self._handle
                if handle is not None:
                    handle.reading = False
                    handle.readStop()
            return
        if not self._readableState.endEmitted:
            self.push(None)
            self.read(0)

    def _on_user_buffer_read(self, nread: int) -> None:  # node: onStreamRead with kBuffer
        self._unrefTimer()
        if self.destroyed:
            return
        user_buf = self._user_buffer
        cb = self._user_buffer_cb
        assert cb is not None
        result = cb(nread, user_buf) is not False
        gen = self._user_buffer_gen
        if gen is not None:
            nxt = gen()
            if _is_user_buffer(nxt):
                nxt = self._user_buffer = _writable_buffer(nxt)
                handle = self._handle
                if isinstance(handle, BufferedHandle):
                    handle.user_buffer = nxt
        if not result:
            handle = self._handle
            if handle is not None:
                handle.reading = False
                if not self.destroyed:
                    handle.readStop()

    def _on_read_error(self, status: int) -> None:  # node: onStreamRead, nread < 0 and not EOF
        self._unrefTimer()
        self.destroy(errno_exception(status, "read"))

    def _write_generic(self, writev: bool, data: Any, encoding: str, cb: Callback) -> None:
        # node: Socket.prototype._writeGeneric
        if self.connecting:
            self._pendingData = data
            self._pendingEncoding = encoding

            def on_close(*_: object) -> None:
                cb(make_error("ERR_SOCKET_CLOSED_BEFORE_CONNECTION"))

            def on_connect(*_: object) -> None:
                self.off("close", on_close)
                self._write_generic(writev, data, encoding, cb)

            self.once("connect", on_connect)
            self.once("close", on_close)
            return
        self._pendingData = None
        self._pendingEncoding = ""
        handle = self._handle
        if handle is None:
            cb(make_error("ERR_SOCKET_CLOSED"))
            return
        if self._timeout_timer is not None or self._parent is not None:  # else _unrefTimer is a no-op
            self._unrefTimer()
        if writev:
            buf = b"".join(
                [
                    req.chunk if isinstance(req.chunk, bytes) else buffer_from_string(req.chunk, req.encoding)
                    for req in data
                ]
            )
        elif isinstance(data, str):
            buf = buffer_from_string(data, encoding)
        else:
            buf = data
        status = handle.writeBuffer(buf, cb)
        if status == 0:
            cb(None)
        elif status > 0:
            self._last_write_queue_size = len(buf)
        else:
            cb(errno_exception(status, "write"))  # node: afterWriteDispatched with err

    def write(
        self,
        chunk: Any = None,
        encoding: str | Callback | None = None,
        callback: Callback | None = None,
    ) -> bool:  # node: Writable.prototype.write
        # The socket's hot path: a bytes chunk, no callback, nothing in flight, on a connected socket.
        # Writable.write -> writeOrBuffer -> Socket._write -> handle.writeBuffer -> onwrite, fused; when
        # the kernel takes the chunk at once (status 0) the stream's state ends where it began.  Keep in
        # step with Writable.write, Socket._write and stream._onwrite.
        state = self._writableState
        if (
            type(chunk) is bytes
            and encoding is None
            and callback is None
            and chunk
            and not state.writing
            and not state.corked
            and not state.ending
            and not state.destroyed
            and state.errored is None
            and not state.buffered
            and not self.connecting
            and self._timeout_timer is None
            and self._parent is None
            # neither a subclass's nor an instance's own _write (asking __dict__ instead would make
            # CPython 3.11 build the instance dict and slow every later attribute access)
            and getattr(self._write, "__func__", None) is _SOCKET_WRITE
        ):
            handle = self._handle
            if handle is not None:
                n = len(chunk)
                if self._pendingData is not None:
                    self._pendingData = None
                    self._pendingEncoding = ""
                state.pendingcb += 1
                state.length += n
                state.writelen = n
                state.writecb = None
                state.writing = True
                state.sync = True
                status = handle.writeBuffer(chunk, state.onwrite)
                if status == 0:  # node: onwrite, synchronous and without a callback: nothing to tick
                    state.writing = False
                    state.length -= n
                    state.pendingcb -= 1
                    state.sync = False
                    return True
                if status > 0:
                    self._last_write_queue_size = n
                else:
                    state.onwrite(errno_exception(status, "write"))
                state.sync = False
                total = state.length
                if total < state.highWaterMark or total == 0:
                    return not state.destroyed and state.errored is None
                state.needDrain = True
                return False
        return super().write(chunk, encoding, callback)

    def _write(self, chunk: Any, encoding: str, callback: Callback) -> None:  # node: Socket.prototype._write
        handle = self._handle
        if type(chunk) is not bytes or self.connecting or handle is None:
            self._write_generic(False, chunk, encoding, callback)
            return
        # _write_generic's path for a bytes chunk on a connected socket, inlined (one frame less).
        if self._pendingData is not None:
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
            callback(errno_exception(status, "write"))  # node: afterWriteDispatched with err

    def _writev(self, chunks: WriteRequests, callback: Callback) -> None:
        # node: Socket.prototype._writev
        self._write_generic(True, chunks, "", callback)

    def _final(self, cb: Callback) -> None:  # node: Socket.prototype._final
        if self.connecting:
            self.once("connect", lambda *_: self._final(cb))
            return
        handle = self._handle
        if handle is None:
            cb()
            return
        err = handle.shutdown(cb)
        if err in (1, UV_ENOTCONN):
            cb()
        elif err != 0:
            cb(errno_exception(err, "shutdown"))

    def _destroy(
        self, exception: BaseException | None, cb: Callback
    ) -> None:  # node: Socket.prototype._destroy
        self.connecting = False
        s: Any = self
        while s is not None:
            if s._timeout_timer is not None:  # clear_timeout(None) is a no-op
                _runtime.clear_timeout(s._timeout_timer)
            s = s._parent
        handle = self._handle
        if handle is not None:
            is_exception = exception is not None
            self._bytes_read = handle.bytesRead
            self._bytes_written = handle.bytesWritten
            if self.resetAndClosing:
                self.resetAndClosing = False
                err = handle.reset(lambda: self.emit("close", is_exception))
                if err:
                    self.emit("error", errno_exception(err, "reset"))
            elif self._closeAfterHandlingError:
                _runtime.queue_microtask(self._close_socket_handle, is_exception, True)
            else:
                self._close_socket_handle(is_exception)
            if not self._closeAfterHandlingError:
                handle.drop_reader()
                self._handle = None
                self._sockname = None
            cb(exception)
        else:
            cb(exception)
            (self._rt or _runtime.current()).next_tick(_emit_close_nt, self)
        server = self._server
        if server is not None:
            server._connections -= 1
            server._emitCloseIfDrained()

    def _close_socket_handle(self, is_exception: bool, cleanup_pending: bool = False) -> None:
        # node: closeSocketHandle
        handle = self._handle
        if handle is None:
            return

        def on_close() -> None:
            self.emit("close", is_exception)
            if cleanup_pending:
                handle.drop_reader()
                self._handle = None
                self._sockname = None

        handle.close(on_close)

    # -- public methods -----------------------------------------------------------------------------

    def connect(self, *args: Any, **kwargs: Any) -> Socket:  # node: Socket.prototype.connect
        if len(args) == 1 and isinstance(args[0], _connect.NormalizedArgs):
            normalized = args[0]
        else:
            normalized = _connect.normalize_args(args)
        options = normalized.options
        if kwargs:
            options = {**options, **kwargs}
        cb = normalized.cb
        if cb is not None:
            self.once("connect", cb)
        if self._parent is not None and self._parent.connecting:
            return self
        if options.get("port") is None and _nullish(options.get("path")):
            raise make_error("ERR_MISSING_ARGS", ["options", "port", "path"])
        try:  # node: this.write = Socket.prototype.write (drop writeAfterFIN's instance override)
            del self.write
        except AttributeError:
            pass
        if self.destroyed:
            self._handle = None
            self._peername = None
            self._sockname = None
        path = options.get("path")
        if self._bound_source and self._handle is not None:
            pipe = not self._handle.is_tcp  # an adopted handle fixes the transport
        else:
            pipe = bool(path) and path is not NULL
        if self._handle is None:
            self._handle = self._new_handle(pipe)
            self._init_socket_handle()
        self._unrefTimer()
        self.connecting = True
        if pipe:
            if not isinstance(path, str):
                raise make_error("ERR_INVALID_ARG_TYPE", "options.path", "string", path)
            _connect.connect_pipe(self, path)
        else:
            _connect.lookup_and_connect(self, options)
        return self

    def _on_readable_stream_end(self, *_: object) -> None:  # node: onReadableStreamEnd
        if not self.allowHalfOpen:
            self.write = self._write_after_fin  # type: ignore[method-assign,assignment]

    def _write_after_fin(
        self, chunk: Any, encoding: Any = None, cb: Callback | None = None
    ) -> bool:  # node: writeAfterFIN
        if not self.writableEnded:
            return Duplex.write(self, chunk, encoding, cb)
        if callable(encoding):
            cb = encoding
        er = NodeError("This socket has been ended by the other party", "EPIPE")
        if callable(cb):
            _runtime.next_tick(cb, er)
        self.destroy(er)
        return False

    def ref(self, *_: object) -> Socket:  # node: Socket.prototype.ref
        if self._handle is None:
            self.once("connect", self.ref)
            return self
        self._handle.ref()
        return self

    def unref(self, *_: object) -> Socket:  # node: Socket.prototype.unref
        if self._handle is None:
            self.once("connect", self.unref)
            return self
        self._handle.unref()
        return self

    def destroySoon(self) -> None:  # node: Socket.prototype.destroySoon
        if self.writable:
            self.end()
        if self.writableFinished:
            self.destroy()
        else:
            self.once("finish", lambda *_: self.destroy())

    def resetAndDestroy(self) -> Socket:  # node: Socket.prototype.resetAndDestroy
        if self._handle is not None:
            if not self._handle.is_tcp:
                raise make_error("ERR_INVALID_HANDLE_TYPE")
            if self.connecting:
                self.once("connect", lambda *_: self._reset())
            else:
                self._reset()
        else:
            self.destroy(make_error("ERR_SOCKET_CLOSED"))
        return self

    def _reset(self) -> Socket:  # node: Socket.prototype._reset
        self.resetAndClosing = True
        return self.destroy()

    # -- onread: Socket.prototype.{pause,resume,read} with kBuffer ----------------------------------

    def _pause_user_buffer(self) -> Socket:
        handle = self._handle
        if self._user_buffer is not None and not self.connecting and handle is not None and handle.reading:
            handle.reading = False
            if not self.destroyed:
                handle.readStop()
        Duplex.pause(self)
        return self

    def _resume_user_buffer(self) -> Socket:
        handle = self._handle
        if (
            self._user_buffer is not None
            and not self.connecting
            and handle is not None
            and not handle.reading
        ):
            self._try_read_start()
        Duplex.resume(self)
        return self

    def _read_user_buffer(self, n: int | float | None = None) -> Any:
        handle = self._handle
        if (
            self._user_buffer is not None
            and not self.connecting
            and handle is not None
            and not handle.reading
        ):
            self._try_read_start()
        return Duplex.read(self, n)

    # -- the async surface: implemented in promises.py (Python looks these up on the class) ---------

    def __aiter__(self) -> ReadableIterator:  # node: Readable.prototype[Symbol.asyncIterator]
        from .promises import iterator

        return iterator(self)

    async def __aenter__(self) -> Socket:
        return self

    async def __aexit__(self, *exc_info: object) -> None:  # node: Readable.prototype[Symbol.asyncDispose]
        from .promises import asyncDispose

        await asyncDispose(self)


Stream = Socket  # legacy naming, as Node exports it

_NOT_STREAM_OPTIONS = frozenset(
    {
        "handle",
        "fd",
        "onread",
        "noDelay",
        "keepAlive",
        "keepAliveInitialDelay",
        "typeOfService",
        "blockList",
        "pauseOnCreate",
        "manualStart",
        "signal",
        "objectMode",
        "readableObjectMode",
        "writableObjectMode",
    }
)


def _nullish(v: object) -> bool:
    return v is None or v is NULL


def _ms_to_s(value: object) -> int:  # node: ~~(ms / 1000)
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0
    n = int(value / 1000)
    return ((n + 2**31) % 2**32) - 2**31


def _byte_length(chunk: Any, encoding: str) -> int:  # node: Buffer.byteLength
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return len(chunk)
    return len(buffer_from_string(chunk, encoding or "utf8"))


_SOCKET_WRITE = Socket._write


def _read_flowing(handle: Handle, sock: Socket, data: bytes) -> None:
    """One read of a plain socket: Handle._on_read -> Socket._on_stream_read -> push -> addChunk, fused.

    node: onStreamRead -> readableAddChunkPushByteMode -> addChunk.  The common case of a flowing
    socket with nothing buffered ('data' emitted at once, then maybeReadMore queued) runs here in one
    frame; anything else goes the general way.  Keep in step with Socket._on_stream_read,
    Readable.push and stream._add_chunk."""
    handle.bytesRead += len(data)
    state = sock._readableState
    if (
        not data
        or not state.flowing
        or not state.dataListening
        or state.sync
        or state.length
        or state.ended
        or state.destroyed
        or state.errored is not None
        or state.decoder is not None
        or sock._timeout_timer is not None
        or sock._parent is not None
    ):
        sock._on_stream_read(data)
        return
    state.reading = False
    if state.multiAwaitDrain:
        state.awaitDrainWriters.clear()
    else:
        state.awaitDrainWriters = None
    state.dataEmitted = True
    sock.emit("data", data)
    if not state.readingMore and not state.reading and state.constructed:  # node: maybeReadMore
        state.readingMore = True  # (stream._maybe_read_more, without its two frames)
        handle.rt.next_tick(_maybe_read_more_nt, sock, state)
    if state.ended or (state.length >= state.highWaterMark and state.length):  # push returned false
        handle.reading = False
        handle.readStop()


def _emit_close_nt(self: Socket) -> None:  # node: emitCloseNT
    self.emit("close")


def connect(*args: Any, **kwargs: Any) -> Socket:  # node: connect (also createConnection)
    normalized = _connect.normalize_args(args)
    options = normalized.options
    if kwargs:
        options.update(kwargs)
    sock = Socket(options)
    timeout = options.get("timeout")
    if _connect.truthy(timeout):
        sock.setTimeout(timeout)
    return sock.connect(normalized)


createConnection = connect
