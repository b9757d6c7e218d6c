"""``net.Server``: listening TCP and Unix-domain servers.

Theory of operation
-------------------
``lib/net.js``'s server half, function for function: ``listen`` normalises its many signatures and
either binds at once (no host) or after a ``dns.lookup`` (a host name); ``setupListenHandle`` binds
and listens *synchronously* (so ``address()`` works right after ``listen(port)``), and ``'listening'``
follows on the next tick (``_emit_listening_nt``).  Bind and listen errors are emitted on the next
tick too (``_emit_error_nt``), with syscall ``listen`` and Node's message
(``listen EADDRINUSE: address already in use :::8000``).

The listening socket is made here, as libuv makes it: ``SO_REUSEADDR``; for ``::`` dual-stack
(``IPV6_V6ONLY`` off unless ``ipv6Only``), falling back to ``0.0.0.0`` when IPv6 is unavailable; the
backlog is 511 unless given (asyncio's default is 100).  A Unix path that exists is ``EADDRINUSE`` (Node
never unlinks a stale file; asyncio would); the file uvnet bound is unlinked on ``close``, as libuv does.
The socket is then handed to ``loop.create_server(sock=...)``, driven synchronously (it completes
without waiting on either loop), which accepts connections: each accepted transport's protocol is a
``socket.Handle`` that calls :meth:`Server._on_connection` (Node's ``onconnection``) via ``invoke``.

``close()`` stops accepting at once; ``'close'`` waits until every accepted socket is destroyed
(``_connections`` counts them; ``Socket._destroy`` calls ``_emitCloseIfDrained``).  A listening
server keeps ``run()`` alive unless ``unref()``'d.
"""

from __future__ import annotations

import asyncio
import errno as _errno
import os
import socket as _socket
import stat
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from . import _connect, _handles, _runtime
from ._abort import add_abort_listener, signal_get, validate_abort_signal
from ._ip import isIP, parse_ipv6
from .errors import (
    NULL,
    JSNull,
    NodeError,
    errno_exception,
    js_to_number,
    make_error,
    uv_system_error,
    validate_function,
    validate_number,
    validate_port,
)
from .events import EventEmitter
from .socket import Handle, Socket, track_handle, untrack_handle
from .stream import getDefaultHighWaterMark

if TYPE_CHECKING:
    from .promises import ConnectionIterator

__all__ = ["Server", "createServer"]

Callback = Callable[..., object]

DEFAULT_IPV4_ADDR = "0.0.0.0"
DEFAULT_IPV6_ADDR = "::"
UV_EINVAL = -22


def _nullish(v: object) -> bool:
    return v is None or v is NULL


def _neg_errno(exc: OSError) -> int:
    return -abs(exc.errno) if exc.errno else -_errno.EIO


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits on a future (``create_server(sock=...)`` on both loops: at
    most a bare ``sleep(0)``) to completion, synchronously."""
    try:
        while True:
            yielded = coro.send(None)
            if yielded is not None:  # pragma: no cover - a loop whose create_server really waits
                coro.close()
                raise RuntimeError("uvnet: create_server waited on a future")
    except StopIteration as stop:
        return stop.value


class ServerHandle:  # node: TCPWrap / PipeWrap in server mode
    """A listening socket, and the asyncio server accepting on it once listening."""

    def __init__(self, sock: _socket.socket, pipe_path: str | None = None) -> None:
        self.sock: _socket.socket | None = sock
        self.pipe_path = pipe_path  # a path this handle bound (unlinked on close)
        self._pipe_ino: tuple[int, int] | None = None
        self.is_tcp = sock.family != _socket.AF_UNIX
        self.server: asyncio.AbstractServer | None = None
        self.owner: Server | None = None
        self.rt = _runtime.current()
        self.refed = True
        self.closed = False
        self.rt.ref_handle(self)
        track_handle(self.rt, self)
        if pipe_path is not None and not pipe_path.startswith("\0"):
            try:
                st = os.stat(pipe_path)
                self._pipe_ino = (st.st_dev, st.st_ino)
            except OSError:
                pass

    def listen(self, backlog: int) -> int:  # node: TCPWrap::Listen (uv_listen)
        sock = self.sock
        if sock is None:
            return -_errno.EBADF
        if self.server is not None:
            # Listening again on a handle another Server listens on (listen(server), {handle}): the
            # connections go to the new owner.  libuv refuses it for pipes (EEXIST from epoll).
            if not self.is_tcp:
                return -_errno.EEXIST
            try:
                sock.listen(backlog)
            except OSError as exc:
                return _neg_errno(exc)
            return 0
        try:
            sock.listen(backlog)
        except OSError as exc:
            return _neg_errno(exc)
        loop = asyncio.get_running_loop()
        is_tcp = self.is_tcp

        rt = self.rt

        def factory() -> Handle:
            return Handle(is_tcp, server=self.owner, rt=rt)

        if is_tcp:
            coro = loop.create_server(factory, sock=sock, backlog=backlog)
        else:
            coro = loop.create_unix_server(factory, sock=sock, backlog=backlog)
        self.server = _drive(coro)
        return 0

    @property
    def fd(self) -> int:  # node: HandleWrap fd (-1 once closed)
        sock = self.sock
        return sock.fileno() if sock is not None else -1

    def getsockname(self) -> dict[str, Any] | None:  # node: TCPWrap::GetSockName
        sock = self.sock
        if sock is None or not self.is_tcp:
            return None
        try:
            addr = sock.getsockname()
        except OSError:
            return None
        family = "IPv6" if sock.family == _socket.AF_INET6 else "IPv4"
        return {"address": addr[0], "family": family, "port": addr[1]}

    def force_close(self) -> None:  # loop shutdown: as close(), the process is exiting
        self.close()

    def close(self) -> None:  # node: HandleWrap::Close
        if self.closed:
            return
        self.closed = True
        self.rt.unref_handle(self)
        untrack_handle(self.rt, self)
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        path = self.pipe_path
        if path is not None and self._pipe_ino is not None:
            try:
                st = os.stat(path)
                if (st.st_dev, st.st_ino) == self._pipe_ino and stat.S_ISSOCK(st.st_mode):
                    os.unlink(path)
            except OSError:
                pass

    def ref(self) -> None:
        if not self.closed and not self.refed:
            self.refed = True
            self.rt.ref_handle(self)

    def unref(self) -> None:
        if self.refed:
            self.refed = False
            self.rt.unref_handle(self)


def _create_server_handle(  # node: createServerHandle
    address: str | None, port: int, address_type: int | None, flags: dict[str, bool], fd: int | None = None
) -> ServerHandle | int:
    if fd is not None and fd != -1:
        return _handles.server_handle_from_fd(fd)
    if port == -1 and address_type == -1:
        assert address is not None
        try:
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        except OSError as exc:
            return _neg_errno(exc)
        try:
            sock.setblocking(False)
            sock.bind(address)
        except OSError as exc:
            sock.close()
            if not exc.errno:  # AF_UNIX path too long
                return UV_EINVAL
            if exc.errno == _errno.ENOENT:  # libuv's uv_pipe_bind2 reports ENOENT as EACCES
                return -_errno.EACCES
            return _neg_errno(exc)
        except ValueError:
            sock.close()
            return UV_EINVAL
        return ServerHandle(sock, address)
    if not address:
        handle = _create_server_handle(DEFAULT_IPV6_ADDR, port, 6, flags)
        if isinstance(handle, int):
            return _create_server_handle(DEFAULT_IPV4_ADDR, port, 4, flags)
        return handle
    af = _socket.AF_INET6 if address_type == 6 else _socket.AF_INET
    try:
        sock = _socket.socket(af, _socket.SOCK_STREAM)
    except OSError as exc:
        return _neg_errno(exc)
    try:
        sock.setblocking(False)
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        if af == _socket.AF_INET6:
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, int(flags.get("ipv6Only", False)))
        if flags.get("reusePort") and hasattr(_socket, "SO_REUSEPORT"):
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEPORT, 1)
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        return _neg_errno(exc)
    return ServerHandle(sock)


def _is_ipv6_link_local(ip: str) -> bool:  # node: isIpv6LinkLocal
    value = parse_ipv6(ip) if isIP(ip) == 6 else None
    return value is not None and (value >> 118) == 0x3FA


def _filter_only_valid_address(addresses: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    # node: filterOnlyValidAddress
    for address in addresses:
        if not _is_ipv6_link_local(str(address.get("address"))):
            return address
    return addresses[0] if addresses else None


class Server(EventEmitter):  # node: Server
    """Node's ``net.Server``.  Options as a dict or as keyword arguments."""

    maxConnections: int | float | None = None
    dropMaxConnection: bool | None = None  # undefined until set; only cluster mode reads it
    blockList: Any = None

    def __init__(
        self,
        options: Mapping[str, Any] | Callback | None = None,
        connectionListener: Callback | None = None,
        /,
        **kwargs: Any,
    ) -> None:
        EventEmitter.__init__(self)
        opts: dict[str, Any]
        if callable(options) and not isinstance(options, Mapping):
            connectionListener = options
            opts = {}
            self.on("connection", connectionListener)
        elif options is None or isinstance(options, (JSNull, Mapping)):
            opts = dict(options) if isinstance(options, Mapping) else {}
            if callable(connectionListener):
                self.on("connection", connectionListener)
        else:
            raise make_error("ERR_INVALID_ARG_TYPE", "options", "Object", options)
        opts.update(kwargs)
        kaid = opts.get("keepAliveInitialDelay")
        if kaid is not None:
            validate_number(kaid, "options.keepAliveInitialDelay")
            if kaid < 0:
                opts["keepAliveInitialDelay"] = 0
        hwm = opts.get("highWaterMark")
        if hwm is not None:
            validate_number(hwm, "options.highWaterMark")
            if hwm < 0:
                opts["highWaterMark"] = getDefaultHighWaterMark()

        self._connections = 0
        self._handle: ServerHandle | None = None
        self._usingWorkers = False
        self._workers: list[Any] = []
        self._unref = False
        self._listeningId = 1
        self._pipeName: str | None = None
        self._connectionKey: str | None = None

        self.allowHalfOpen = bool(opts.get("allowHalfOpen")) and opts.get("allowHalfOpen") is not NULL
        self.pauseOnConnect = bool(opts.get("pauseOnConnect")) and opts.get("pauseOnConnect") is not NULL
        self.noDelay = bool(opts.get("noDelay")) and opts.get("noDelay") is not NULL
        self.keepAlive = bool(opts.get("keepAlive")) and opts.get("keepAlive") is not NULL
        kaid = opts.get("keepAliveInitialDelay")
        self.keepAliveInitialDelay = int(kaid / 1000) if isinstance(kaid, (int, float)) else 0
        hwm = opts.get("highWaterMark")
        self.highWaterMark = hwm if not _nullish(hwm) else getDefaultHighWaterMark()
        block_list = opts.get("blockList")
        if _connect.truthy(block_list):
            from .blocklist import BlockList

            if not BlockList.isBlockList(block_list):
                raise make_error("ERR_INVALID_ARG_TYPE", "options.blockList", "net.BlockList", block_list)
            self.blockList = block_list

    # -- listen ---------------------------------------------------------------------------------------

    def listen(self, *args: Any, **kwargs: Any) -> Server:  # node: Server.prototype.listen
        normalized = _connect.normalize_args(args)
        options = normalized.options
        if kwargs:
            options = {**options, **kwargs}
        cb = normalized.cb
        if self._handle is not None:
            raise make_error("ERR_SERVER_ALREADY_LISTEN")
        if cb is not None:
            self.once("listening", cb)
        backlog_from_args = (len(args) > 1 and _connect._to_number(args[1])) or (
            len(args) > 2 and _connect._to_number(args[2])
        )
        backlog_from_args = int(backlog_from_args) if backlog_from_args else 0
        # A BoundSocket, a listening handle (or an object holding one) or a descriptor: see _handles.
        resolved = _handles.listen_handle(self, args, options, backlog_from_args)
        if resolved is None:
            return self
        options, flags = resolved
        port = options.get("port")
        if len(args) == 0 or callable(args[0]) or ("port" in options and port is None) or port is NULL:
            options["port"] = port = 0
        if isinstance(port, (int, float, str)) and not isinstance(port, bool):
            port_num = validate_port(port, "options.port")
            backlog = options.get("backlog") or backlog_from_args
            host = options.get("host")
            if _connect.truthy(host):
                self._lookup_and_listen(port_num, host, backlog, flags)
            else:
                self._listen_in_cluster(None, port_num, 4, backlog, None, flags)
            return self

        path = options.get("path")
        if path and _connect.is_pipe_name(path):
            if path.startswith("\0") and (options.get("readableAll") or options.get("writableAll")):
                msg = "can not set readableAll or writableAllt to true when path is abstract unix socket"
                raise make_error("ERR_INVALID_ARG_VALUE", "options", options, msg)
            self._pipeName = path
            backlog = options.get("backlog") or backlog_from_args
            self._listen_in_cluster(path, -1, -1, backlog, None, flags)
            if self._handle is None:
                return self
            mode = 0
            if options.get("readableAll") is True:
                mode |= 0o444
            if options.get("writableAll") is True:
                mode |= 0o222
            if mode and not path.startswith("\0"):
                try:
                    os.chmod(path, os.stat(path).st_mode | mode)
                except OSError as exc:
                    self._handle.close()
                    self._handle = None
                    raise errno_exception(_neg_errno(exc), "uv_pipe_chmod") from exc
            return self

        if "port" not in options and "path" not in options:
            raise make_error(
                "ERR_INVALID_ARG_VALUE", "options", options, 'must have the property "port" or "path"'
            )
        raise make_error("ERR_INVALID_ARG_VALUE", "options", options)

    def _add_abort_signal(self, options: Mapping[str, Any]) -> None:  # node: addServerAbortSignalOption
        signal = options.get("signal")
        if signal is None:
            return
        validate_abort_signal(signal, "options.signal")
        if signal_get(signal, "aborted"):
            _runtime.next_tick(self._abort_close_nt)
        else:
            dispose = add_abort_listener(signal, self.close)
            self.once("close", lambda *_: dispose())

    def _abort_close_nt(self) -> None:  # node: onAborted (deferred when already aborted)
        self.close()

    def _listen_in_cluster(  # node: listenInCluster (always the primary: uvnet has no cluster)
        self,
        address: str | None,
        port: int | None,
        address_type: int | None,
        backlog: int,
        fd: int | None,
        flags: dict[str, bool],
    ) -> None:
        self._setup_listen_handle(address, port, address_type, backlog, fd, flags)

    _listen2 = _listen_in_cluster

    def _setup_listen_handle(  # node: setupListenHandle
        self,
        address: str | None,
        port: int | None,
        address_type: int | None,
        backlog: int,
        fd: int | None,
        flags: dict[str, bool],
    ) -> None:
        if self._handle is None:
            rval: ServerHandle | int | None = None
            if not address and fd is None:
                rval = _create_server_handle(DEFAULT_IPV6_ADDR, port or 0, 6, flags)
                if isinstance(rval, int):
                    rval = None
                    address = DEFAULT_IPV4_ADDR
                    address_type = 4
                else:
                    address = DEFAULT_IPV6_ADDR
                    address_type = 6
            if rval is None:
                rval = _create_server_handle(address, port or 0, address_type, flags, fd)
            if isinstance(rval, int):
                error = uv_system_error(rval, "listen", address, port)
                if address is None:
                    error.address = NULL  # type: ignore[assignment]  # Node sets ex.address = null
                _runtime.next_tick(_emit_error_nt, self, error)
                return
            self._handle = rval
        handle = self._handle
        handle.owner = self
        err = handle.listen(backlog or 511)
        if err:
            ex = uv_system_error(err, "listen", address, port)
            if address is None:
                ex.address = NULL  # type: ignore[assignment]
            handle.close()
            self._handle = None
            _runtime.next_tick(_emit_error_nt, self, ex)
            return
        self._connectionKey = f"{address_type}:{address}:{port}"
        if self._unref:
            self.unref()
        _runtime.next_tick(_emit_listening_nt, self)

    def _lookup_and_listen(  # node: lookupAndListen
        self, port: int, address: Any, backlog: int, flags: dict[str, bool]
    ) -> None:
        listening_id = self._listeningId

        def on_lookup(err: BaseException | None = None, addresses: Any = None, *_: Any) -> None:
            if listening_id != self._listeningId:
                return
            if err is not None:
                self.emit("error", err)
                return
            valid = _filter_only_valid_address(addresses or [])
            family = (valid or {}).get("family") or 4
            self._listen_in_cluster((valid or {}).get("address"), port, int(family), backlog, None, flags)

        _connect.lookup(address, {"all": True}, on_lookup)

    # -- connections ----------------------------------------------------------------------------------

    def _on_connection(self, client: Handle) -> None:  # node: onconnection
        limit = self.maxConnections
        if not _nullish(limit) and self._connections >= js_to_number(limit):  # JS >=: NaN never
            local = client.getsockname() or {}
            remote = client.getpeername() or {}
            if client.is_tcp:
                self.emit(
                    "drop",
                    {
                        "localAddress": local.get("address"),
                        "localPort": local.get("port"),
                        "localFamily": local.get("family"),
                        "remoteAddress": remote.get("address"),
                        "remotePort": remote.get("port"),
                        "remoteFamily": remote.get("family"),
                    },
                )
            else:
                self.emit("drop")
            client.close()
            return
        if self.blockList is not None and client.is_tcp:
            remote = client.getpeername() or {}
            ip = remote.get("address")
            address_type = isIP(ip) if isinstance(ip, str) else 0
            if address_type and self.blockList.check(ip, f"ipv{address_type}"):
                client.close()
                return
        sock = Socket(
            {
                "handle": client,
                "allowHalfOpen": self.allowHalfOpen,
                "pauseOnCreate": self.pauseOnConnect,
                "readable": True,
                "writable": True,
                "readableHighWaterMark": self.highWaterMark,
                "writableHighWaterMark": self.highWaterMark,
            }
        )
        if self.noDelay and client.is_tcp:
            sock._set_no_delay = True
            client.setNoDelay(True)
        if self.keepAlive and client.is_tcp:
            sock._set_keep_alive = True
            sock._set_keep_alive_initial_delay = self.keepAliveInitialDelay
            client.setKeepAlive(True, self.keepAliveInitialDelay)
        self._connections += 1
        sock.server = self
        sock._server = self
        self.emit("connection", sock)

    def getConnections(self, cb: Callback | None = None) -> Server:  # node: Server.prototype.getConnections
        validate_function(cb, "callback")
        assert cb is not None
        _runtime.next_tick(cb, None, self._connections)
        return self

    # -- close ----------------------------------------------------------------------------------------

    def close(self, cb: Callback | None = None, *_: object) -> Server:  # node: Server.prototype.close
        self._listeningId += 1
        if callable(cb):
            callback = cb
            if self._handle is None:

                def not_running(*_: object) -> None:
                    callback(make_error("ERR_SERVER_NOT_RUNNING"))

                self.once("close", not_running)
            else:
                self.once("close", callback)
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._emitCloseIfDrained()
        return self

    def _emitCloseIfDrained(self) -> None:  # node: Server.prototype._emitCloseIfDrained
        if self._handle is not None or self._connections:
            return
        _runtime.next_tick(_emit_close_nt, self)

    async def asyncDispose(self) -> None:  # node: Server.prototype[Symbol.asyncDispose]
        if self._handle is None:
            return
        promise = _runtime.Promise()

        def done(err: BaseException | None = None) -> None:
            if err is not None:
                promise.reject(err)
            else:
                promise.resolve(None)

        self.close(done)
        await promise

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.asyncDispose()

    def __aiter__(self) -> ConnectionIterator:  # node: events.on(server, 'connection', {close: ['close']})
        from .promises import connections  # implemented there (Python looks this up on the class)

        return connections(self)

    # -- state ----------------------------------------------------------------------------------------

    @property
    def listening(self) -> bool:  # node: Server.prototype.listening
        return self._handle is not None

    def address(self) -> dict[str, Any] | str | None:  # node: Server.prototype.address
        handle = self._handle
        if handle is not None and handle.is_tcp:
            out = handle.getsockname()
            if out is None:
                raise errno_exception(-_errno.EBADF, "address")
            return out
        if self._pipeName:
            return self._pipeName
        return None

    def ref(self) -> Server:  # node: Server.prototype.ref
        self._unref = False
        if self._handle is not None:
            self._handle.ref()
        return self

    def unref(self) -> Server:  # node: Server.prototype.unref
        self._unref = True
        if self._handle is not None:
            self._handle.unref()
        return self


def _emit_error_nt(self: Server, err: NodeError) -> None:  # node: emitErrorNT
    self.emit("error", err)


def _emit_listening_nt(self: Server) -> None:  # node: emitListeningNT
    if self._handle is not None:
        self.emit("listening")


def _emit_close_nt(self: Server) -> None:  # node: emitCloseNT
    self.emit("close")


def createServer(
    options: Mapping[str, Any] | Callback | None = None,
    connectionListener: Callback | None = None,
    /,
    **kwargs: Any,
) -> Server:  # node: createServer
    return Server(options, connectionListener, **kwargs)
