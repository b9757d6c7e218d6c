"""Sockets that exist before their ``net`` object: ``net.BoundSocket`` and every form of adoption.

Theory of operation
-------------------
Node lets a server or a socket take over an operating-system socket that something else created:

* ``new net.BoundSocket({host, port, ipv6Only, reusePort})`` or ``({path})`` binds at once (``bind(2)``
  does not block, so errors throw synchronously, and libuv's deferred ``EADDRINUSE`` is forced out with a
  ``getsockname``) and then only *owns* the socket.  Exactly one ``server.listen(bound)``,
  ``listen({handle: bound})``, ``new net.Socket({handle: bound})`` or ``createConnection({handle:
  bound, ...})`` adopts it (``_consume``); from then on, and after ``close()``, ``address()``, ``fd()``,
  ``close()`` and a second adoption throw ``ERR_SOCKET_HANDLE_ADOPTED``.  ``with bound:`` is
  ``Symbol.dispose``: it closes an unadopted socket and is a no-op otherwise.  A pipe bind owns its path
  as libuv's ``pipe_fname``: whoever closes the socket last (the BoundSocket, or the adopting handle)
  unlinks it, as ``uv_close`` does; an abstract name (leading NUL) has no file.
* ``server.listen(handle)`` (:func:`listen_handle`) resolves Node's ``options._handle || options.handle
  || options``: a listening TCP handle (another server's ``_handle``, or the server itself) is shared as
  it is, so both servers list the same socket and the later ``listen`` receives the connections; any
  other handle is reached through its descriptor (``options.fd``), as Node does for a pipe, which libuv
  then refuses with ``EEXIST`` because the loop already polls that descriptor.
* ``listen({fd})`` and ``new net.Socket({fd})`` open a handle on a descriptor number.  Node's
  ``createHandle`` asks ``uv_guess_handle`` (:func:`guess_handle_type`) and accepts only ``TCP`` and
  ``PIPE``; ``uv_tcp_open``/``uv_pipe_open`` refuse a descriptor the loop already uses (``uv__fd_exists``,
  :func:`fd_in_use`).  The socket then owns the descriptor and closes it.

The adopted connected descriptor has a gap Node does not have: asyncio makes a transport only from a
coroutine (``connect_accepted_socket``), so for a loop turn the handle has its socket but no transport.
:class:`AdoptedHandle` bridges it: a write goes straight to the socket (libuv's ``uv_try_write``) and what
does not fit, and a shutdown, wait for ``connection_made``; ``remoteAddress`` comes from the socket.

Traps: a Python ``socket`` object made on a number owns it and closes it when collected, so a probe
(:func:`guess_handle_type`) detaches its object; two uvnet objects must never own one descriptor, which is
why :func:`fd_in_use` is stricter than libuv (see ``DIVERGENCE(fd-in-use)``).

References: Node v24.21 ``lib/net.js`` (``BoundSocket``, ``Socket``'s constructor, ``createHandle``,
``createServerHandle``, ``Server.prototype.listen``), libuv ``src/unix/tcp.c``, ``pipe.c``, ``core.c``
(``uv_guess_handle``, ``uv__fd_exists``).
"""

from __future__ import annotations

import asyncio
import errno as _errno
import os
import socket as _socket
import stat
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import _runtime
from ._connect import truthy
from ._ip import isIP
from .errors import (
    NULL,
    errno_exception,
    make_error,
    system_error,
    uv_system_error,
    validate_boolean,
    validate_int32,
    validate_object,
    validate_port,
    validate_string,
)
from .socket import BufferedHandle, Handle

if TYPE_CHECKING:
    from .server import Server, ServerHandle
    from .socket import Socket

__all__ = ["AdoptedHandle", "BoundSocket", "fd_in_use", "guess_handle_type", "listen_handle"]

Callback = Callable[..., object]

UV_EINVAL = -_errno.EINVAL
INT32_MAX = 2**31 - 1
DEFAULT_IPV4_ADDR = "0.0.0.0"
DEFAULT_IPV6_ADDR = "::"


def _neg_errno(exc: BaseException) -> int:
    num = getattr(exc, "errno", None)
    return -abs(num) if isinstance(num, int) and num else UV_EINVAL


def _nullish(value: object) -> bool:
    return value is None or value is NULL


def _addr_info(sock: _socket.socket, addr: Any) -> dict[str, Any] | None:
    if sock.family not in (_socket.AF_INET, _socket.AF_INET6) or not isinstance(addr, tuple):
        return None
    family = "IPv6" if sock.family == _socket.AF_INET6 else "IPv4"
    return {"address": addr[0], "family": family, "port": addr[1]}


# ---------------------------------------------------------------------------------------------------
# Descriptors


def guess_handle_type(fd: int) -> str:  # node: guessHandleType (uv_guess_handle)
    """``'TCP'``, ``'PIPE'``, ``'UDP'``, ``'TTY'``, ``'FILE'`` or ``'UNKNOWN'``: libuv's class of ``fd``."""
    try:
        if os.isatty(fd):
            return "TTY"
        mode = os.fstat(fd).st_mode
    except (OSError, OverflowError, ValueError):
        return "UNKNOWN"
    if stat.S_ISREG(mode) or stat.S_ISCHR(mode):
        return "FILE"
    if stat.S_ISFIFO(mode):
        return "PIPE"
    if not stat.S_ISSOCK(mode):
        return "UNKNOWN"
    try:
        probe = _socket.socket(fileno=fd)
    except OSError:
        return "UNKNOWN"
    family, kind = probe.family, probe.type
    probe.detach()  # a probe only: the descriptor is not ours to close
    if kind == _socket.SOCK_STREAM:
        if family in (_socket.AF_INET, _socket.AF_INET6):
            return "TCP"
        if family == _socket.AF_UNIX:
            return "PIPE"
    if kind == _socket.SOCK_DGRAM and family in (_socket.AF_INET, _socket.AF_INET6):
        return "UDP"
    return "UNKNOWN"


def _is_socket(fd: int) -> bool:
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False


def _handle_fd(handle: object) -> int:
    fd = getattr(handle, "fd", None)
    return fd if isinstance(fd, int) else -1


def fd_in_use(fd: int) -> bool:  # node: uv__fd_exists (uv_tcp_open / uv_pipe_open refuse with EEXIST)
    # DIVERGENCE(fd-in-use): libuv refuses only a descriptor its loop polls at that moment (a
    # listening server, a socket reading or writing); uvnet refuses every descriptor that an open handle
    # or an unadopted BoundSocket owns, since two Python objects owning one number would close it twice.
    for bound in list(_OPEN_BOUND):
        if bound._fileno() == fd:
            return True
    try:
        rt = _runtime.current()
    except RuntimeError:  # no loop running: no handle is open
        return False
    handles: Any = getattr(rt, "_uvnet_open_handles", None) or ()
    return any(_handle_fd(handle) == fd for handle in list(handles))


# ---------------------------------------------------------------------------------------------------
# BoundSocket

_OPEN_BOUND: weakref.WeakSet[BoundSocket] = weakref.WeakSet()


class BoundSocket:  # node: BoundSocket
    """A socket bound synchronously to a local address (or a Unix path) but neither listening nor
    connecting, until exactly one ``Server.listen(bound)`` or ``Socket({'handle': bound})`` adopts it.
    No DNS: ``host`` must be an IP literal.  An unadopted one must be closed (``close()``, or ``with``).

    Options as a dict or as keyword arguments: ``host``, ``port``, ``ipv6Only``, ``reusePort``, or
    ``path`` alone.
    """

    # DIVERGENCE(class-call-without-new): Node's BoundSocket is an ES class, so calling it without
    # `new` throws a TypeError; Python has no `new`: calling the class is how it is constructed.

    def __init__(self, options: object = None, /, **kwargs: Any) -> None:  # node: BoundSocket constructor
        self._sock: _socket.socket | None = None
        self._path: str | None = None
        self._address: dict[str, Any] = {}
        opts: dict[str, Any] = {**validate_object({} if options is None else options, "options"), **kwargs}
        if opts.get("path") is not None:
            self._bind_pipe(opts)
        else:
            self._bind_tcp(opts)
        _OPEN_BOUND.add(self)

    def _bind_tcp(self, opts: Mapping[str, Any]) -> None:  # node: BoundSocket constructor (the TCP part)
        port_opt = opts.get("port")
        port = validate_port(0 if _nullish(port_opt) else port_opt, "options.port")
        ipv6_only = opts.get("ipv6Only")
        ipv6_only = False if _nullish(ipv6_only) else validate_boolean(ipv6_only, "options.ipv6Only")
        reuse_port = opts.get("reusePort")
        reuse_port = False if _nullish(reuse_port) else validate_boolean(reuse_port, "options.reusePort")
        host = opts.get("host")
        if _nullish(host):
            host = DEFAULT_IPV6_ADDR if ipv6_only else DEFAULT_IPV4_ADDR
            address_type = 6 if ipv6_only else 4
        else:
            validate_string(host, "options.host")
            address_type = isIP(host)
            if not address_type:
                raise make_error(
                    "ERR_INVALID_ARG_VALUE",
                    "options.host",
                    host,
                    "must be a numeric IP address; net.BoundSocket does not perform DNS resolution",
                )
        af = _socket.AF_INET6 if address_type == 6 else _socket.AF_INET
        sock: _socket.socket | None = None
        try:  # node: uv_tcp_bind (SO_REUSEADDR always; IPV6_V6ONLY only for IPv6) then getsockname
            sock = _socket.socket(af, _socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            if af == _socket.AF_INET6:
                sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, int(ipv6_only))
            if reuse_port and hasattr(_socket, "SO_REUSEPORT"):
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            info = _addr_info(sock, sock.getsockname())
        except OSError as exc:
            if sock is not None:
                sock.close()
            err = UV_EINVAL if exc.errno == _errno.EAFNOSUPPORT and sock is not None else _neg_errno(exc)
            raise system_error(err, "bind", host, port) from None
        self._address = info or {}
        self._sock = sock

    def _bind_pipe(self, opts: Mapping[str, Any]) -> None:  # node: BoundSocket #bindPipe
        if any(opts.get(key) is not None for key in ("host", "port", "ipv6Only", "reusePort")):
            raise make_error(
                "ERR_INVALID_ARG_VALUE",
                "options",
                dict(opts),
                "path is mutually exclusive with host, port, ipv6Only, and reusePort",
            )
        path = validate_string(opts.get("path"), "options.path")
        sock: _socket.socket | None = None
        try:  # node: uv_pipe_bind (which reports ENOENT as EACCES, and a too long path as EINVAL)
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.bind(path)
        except (OSError, ValueError) as exc:
            if sock is not None:
                sock.close()
            num = getattr(exc, "errno", None)
            err = -_errno.EACCES if num == _errno.ENOENT else _neg_errno(exc)
            raise errno_exception(err, "bind") from None
        self._sock = sock
        self._path = path

    def _check(self) -> _socket.socket:
        if self._sock is None:
            raise make_error("ERR_SOCKET_HANDLE_ADOPTED")
        return self._sock

    def _fileno(self) -> int:
        sock = self._sock
        return sock.fileno() if sock is not None else -1

    def address(self) -> dict[str, Any] | str:  # node: BoundSocket.prototype.address
        self._check()
        return self._path if self._path is not None else dict(self._address)

    def fd(self) -> int:  # node: BoundSocket.prototype.fd
        return self._check().fileno()

    def close(self) -> None:  # node: BoundSocket.prototype.close
        self._check()
        self._release()

    def _release(self) -> None:  # node: HandleWrap::Close (uv_close: a pipe unlinks its pipe_fname)
        sock = self._sock
        if sock is None:
            return
        self._sock = None
        _OPEN_BOUND.discard(self)
        _unlink_bound_path(self._path)
        sock.close()

    def __enter__(self) -> BoundSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:  # node: BoundSocket.prototype[Symbol.dispose]
        self._release()

    @property
    def isPipe(self) -> bool:  # node: BoundSocket.prototype.isPipe
        return self._path is not None

    def _consume(self) -> _socket.socket:  # node: BoundSocket.prototype[kBoundSocketConsume]
        sock = self._check()
        self._sock = None
        _OPEN_BOUND.discard(self)
        return sock


def _unlink_bound_path(path: str | None) -> None:
    if path and not path.startswith("\0"):
        try:  # libuv unlinks the path a pipe handle bound, when that handle closes
            os.unlink(path)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------------
# Socket: options.handle and options.fd


class AdoptedHandle(Handle):  # node: TCPWrap / PipeWrap opened on an existing socket
    """A connection handle on a socket uvnet did not create: an adopted BoundSocket (bound, connected
    later by ``connect()``) or a descriptor (already connected, its transport still being made)."""

    pipe_fname: str | None = None  # the path an adopted pipe BoundSocket bound (unlinked on close)
    _adopting = False  # a descriptor's transport is still being made
    _early_data: bytearray | None = None  # written before the transport existed, not yet sent
    _early_shutdown: Callback | None = None

    def connection_made(self, base_transport: asyncio.BaseTransport) -> None:
        super().connection_made(base_transport)
        self._adopting = False
        if self.closed or self.transport is None:
            return
        tr = self.transport
        data = self._early_data
        if data:
            self._early_data = None
            tr.write(bytes(data))
            cb = self._write_cb
            if cb is not None and not (self.write_paused or tr.get_write_buffer_size()):
                self._write_cb = None
                self.rt.invoke(self._after_write, cb, None)
        shutdown_cb = self._early_shutdown
        if shutdown_cb is not None:
            self._early_shutdown = None
            self._shutdown_pending = False
            Handle.shutdown(self, shutdown_cb)

    def writeBuffer(self, data: bytes | bytearray | memoryview, cb: Callback) -> int:
        # node: LibuvStreamWrap::DoWrite -- uv_try_write on the socket itself until the transport exists
        sock = self.sock
        if not self._adopting or self.transport is not None or sock is None:
            return super().writeBuffer(data, cb)
        self.bytesWritten += len(data)
        view = memoryview(data).cast("B")
        if self._early_data is None:
            try:
                sent = sock.send(view)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                return _neg_errno(exc)
            if sent == len(view):
                return 0
            view = view[sent:]
            self._early_data = bytearray()
        self._early_data += view
        self._write_cb = cb  # one write in flight at a time: the stream layer never issues two
        self._update_ref()
        return 1

    def shutdown(self, cb: Callback) -> int:  # node: LibuvStreamWrap::DoShutdown
        if self._adopting and self.transport is None and not self.closed:
            self._early_shutdown = cb  # after the early writes, once the transport exists
            self._shutdown_pending = True
            self._update_ref()
            return 0
        return super().shutdown(cb)

    def getpeername(self) -> dict[str, Any] | None:  # node: TCPWrap::GetPeerName
        sock = self.sock
        if self.transport is None and sock is not None and self.is_tcp:
            try:
                return _addr_info(sock, sock.getpeername())
            except OSError:
                return None
        return super().getpeername()

    def close(self, cb: Callback | None = None) -> None:  # node: HandleWrap::Close (uv__pipe_close)
        if not self.closed:
            self._early_data = None
            self._early_shutdown = None
            path, self.pipe_fname = self.pipe_fname, None
            _unlink_bound_path(path)
        super().close(cb)


class AdoptedBufferedHandle(AdoptedHandle, BufferedHandle):  # node: an adopted handle with useUserBuffer
    """:class:`AdoptedHandle` reading into the owner's ``onread`` buffer."""


def _wants_user_buffer(onread: object) -> bool:  # node: the Socket constructor's onread test
    if not isinstance(onread, Mapping):
        return False
    buf = onread.get("buffer")
    return (isinstance(buf, (bytes, bytearray, memoryview)) or callable(buf)) and callable(
        onread.get("callback")
    )


def adopt_into_socket(owner: Socket, opts: Mapping[str, Any]) -> bool:
    # node: Socket (the constructor's options.handle / options.fd branch)
    """Give ``owner`` the handle that ``options.handle`` (a BoundSocket) or ``options.fd`` names.
    True for an adopted BoundSocket: bound, not connected, so reading waits for ``connect()``."""
    kind = AdoptedBufferedHandle if _wants_user_buffer(opts.get("onread")) else AdoptedHandle
    bound = opts.get("handle")
    if truthy(bound):
        if not isinstance(bound, BoundSocket):
            # DIVERGENCE(socket-foreign-handle): Node installs any object as the socket's handle and
            # fails later; uvnet knows no handle but its own and a BoundSocket, and says so at once.
            raise make_error("ERR_INVALID_ARG_TYPE", "options.handle", "net.BoundSocket", bound)
        path = bound._path
        sock = bound._consume()
        handle = kind(sock.family != _socket.AF_UNIX)
        handle.sock = sock
        handle.family = sock.family
        handle.pipe_fname = path
        if handle.is_tcp:
            handle._apply_options()
        owner._handle = handle
        owner._bound_source = True
        if path is not None:  # a bound client pipe reports its path as localAddress
            owner._bound_path = path
        return True
    owner._handle = _open_fd(opts.get("fd"), kind)
    return False


def _open_fd(fd: object, kind: type[AdoptedHandle]) -> AdoptedHandle:  # node: createHandle + handle.open
    num = validate_int32(fd, "fd", 0)
    handle_type = guess_handle_type(num)
    if handle_type not in ("TCP", "PIPE"):
        raise make_error("ERR_INVALID_FD_TYPE", handle_type)
    if fd_in_use(num):
        raise errno_exception(-_errno.EEXIST, "open")
    if not _is_socket(num):
        # DIVERGENCE(fd-pipe): Node opens a FIFO or an anonymous pipe as a one-way PIPE stream; uvnet's
        # handles are sockets, so it refuses such a descriptor as an unsupported type.
        raise make_error("ERR_INVALID_FD_TYPE", handle_type)
    sock = _socket.socket(fileno=num)
    sock.setblocking(False)  # node: uv__nonblock, as uv_tcp_open and uv_pipe_open do
    handle = kind(handle_type == "TCP")
    handle.sock = sock
    handle.family = sock.family
    if handle.is_tcp:
        handle._apply_options()
    handle._adopting = True
    loop = handle.loop

    async def adopt() -> None:
        try:
            await loop.connect_accepted_socket(lambda: handle, sock=sock)
        except OSError as exc:  # the transport could not be made: as a read error would report it
            handle._connect_task = None
            if not handle.closed:
                handle.connection_lost(exc)

    handle._connect_task = loop.create_task(adopt())
    return handle


# ---------------------------------------------------------------------------------------------------
# Server: listen(handle), listen({handle}), listen({fd})


def _member(obj: object, key: str) -> Any:  # a JavaScript property read on a dict or an object
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _is_js_object(value: object) -> bool:  # typeof value === 'object' && value !== null
    return not (
        _nullish(value) or isinstance(value, (str, int, float, bool, Mapping, bytes)) or callable(value)
    )


def _emit_error_nt(server: Server, err: BaseException) -> None:  # node: emitErrorNT
    server.emit("error", err)


def listen_handle(
    server: Server, args: tuple[Any, ...], options: dict[str, Any], backlog: int
) -> tuple[dict[str, Any], dict[str, bool]] | None:
    # node: Server.prototype.listen, from the BoundSocket test through the fd form
    """Adopt what ``listen`` was given as a handle: a BoundSocket, a listening handle (or an object
    with one in ``_handle``/``handle``), or a descriptor.  ``None`` when that set the listening up (or
    scheduled its error); otherwise the options to go on with (port or path) and the bind flags."""
    from .server import ServerHandle

    arg0 = args[0] if args else None
    handle_opt = options.get("handle")
    bound = (
        arg0 if isinstance(arg0, BoundSocket) else handle_opt if isinstance(handle_opt, BoundSocket) else None
    )
    if bound is not None:  # adopt the bound socket: the BoundSocket can no longer close it
        path = bound._path
        server._handle = ServerHandle(bound._consume(), path)
        if path is not None:  # a pipe reports its path from Server.address()
            server._pipeName = path
        server._listeningId += 1
        server._listen_in_cluster(None, -1, -1, backlog, None, {})
        return None

    # node: options = options._handle || options.handle || options
    source: Any = arg0 if _is_js_object(arg0) else options
    target: Any = _member(source, "_handle")
    if not truthy(target):
        target = _member(source, "handle")
    if not truthy(target):
        target = source
    flags = {
        "ipv6Only": _member(target, "ipv6Only") is True,
        "reusePort": _member(target, "reusePort") is True,
    }
    server._listeningId += 1
    if isinstance(target, ServerHandle) and target.is_tcp:  # node: options instanceof TCP
        server._handle = target  # shared: both servers hold it, connections go to this one now
        server._listen_in_cluster(None, -1, -1, backlog, None, flags)
        return None
    if isinstance(target, Handle) and target.is_tcp:
        # DIVERGENCE(listen-connection-handle): Node listens on a connection's TCP handle too; listen(2)
        # fails with EINVAL and Node closes that handle under its socket (whose next read fails). uvnet
        # reports the same 'error' and leaves the connection alone.
        err = uv_system_error(UV_EINVAL, "listen", None, -1)
        err.address = NULL  # type: ignore[assignment]  # Node sets ex.address = null
        _runtime.next_tick(_emit_error_nt, server, err)
        return None
    if isinstance(target, Mapping):
        server._add_abort_signal(target)
    fd = _member(target, "fd")
    if isinstance(fd, (int, float)) and not isinstance(fd, bool) and fd >= 0:  # node: handle with a fd
        # A descriptor that is no int32 makes Node's createHandle throw, which listen reports as EINVAL.
        fd_arg = int(fd) if float(fd).is_integer() and fd <= INT32_MAX else -2
        server._listen_in_cluster(None, None, None, backlog, fd_arg, flags)
        return None
    if not isinstance(target, Mapping):  # an object with neither a TCP handle nor a descriptor
        raise make_error(
            "ERR_INVALID_ARG_VALUE", "options", target, 'must have the property "port" or "path"'
        )
    return (target if isinstance(target, dict) else dict(target)), flags


def server_handle_from_fd(fd: int) -> ServerHandle | int:  # node: createServerHandle (the fd branch)
    """A listening handle on descriptor ``fd`` (not listening yet), or a negative errno."""
    from .server import ServerHandle

    if not 0 <= fd <= INT32_MAX:
        return UV_EINVAL
    if guess_handle_type(fd) not in ("TCP", "PIPE"):
        return UV_EINVAL  # node: createHandle throws ERR_INVALID_FD_TYPE: "Not a fd we can listen on"
    if fd_in_use(fd):
        return -_errno.EEXIST
    if not _is_socket(fd):
        # A FIFO: libuv opens it as a pipe and listen(2) fails; Node then closes the handle, and with
        # it the descriptor it was given.
        os.close(fd)
        return -_errno.ENOTSOCK
    try:
        sock = _socket.socket(fileno=fd)
    except OSError as exc:
        return _neg_errno(exc)
    sock.setblocking(False)
    return ServerHandle(sock)
