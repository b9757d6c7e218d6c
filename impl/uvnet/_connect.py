"""The client connection path of ``net.Socket``: arguments, lookup, connection attempts.

Theory of operation
-------------------
This is ``lib/net.js``'s connect half, function for function (``normalizeArgs``, ``lookupAndConnect``,
``lookupAndConnectMultiple``, ``internalConnect``, ``internalConnectMultiple``, ``afterConnect``,
``afterConnectMultiple``, ``internalConnectMultipleTimeout``).  ``socket.py`` owns the socket and its
handle; this module drives them through the same private members Node's functions touch
(``connecting``, ``_handle``, ``_sockname``, ``blockList``...).

* Validation is synchronous and throws (``ERR_MISSING_ARGS``, ``ERR_SOCKET_BAD_PORT``,
  ``ERR_INVALID_ARG_TYPE``, ``ERR_INVALID_IP_ADDRESS``...), in Node's order.
* An IP literal host skips the lookup: the attempt starts on the next tick (``_connect_ip_nt``).
  Otherwise the lookup function (``options.lookup``, else :func:`lookup`, which is ``dns.lookup`` over
  the loop's ``getaddrinfo``) is called synchronously; its callback emits ``'lookup'`` (once per
  address with autoSelectFamily) and starts the attempt.  Lookup errors are emitted on the next tick
  (``_connect_error_nt``), as Node does because no listener could have been attached yet.
* autoSelectFamily (Node 24's default: true) applies when no family is forced and no ``localAddress``
  is given: the lookup returns all addresses; one valid address connects as usual, several are tried
  one after the other, families interleaved, each attempt given ``autoSelectFamilyAttemptTimeout`` ms
  (RFC 8305 section 5 without parallel attempts, exactly as Node does it).  Each attempt emits
  ``'connectionAttempt'``; a failure ``'connectionAttemptFailed'``; a timeout
  ``'connectionAttemptTimeout'``; when all fail the socket is destroyed with an ``AggregateError``.
* A socket handle's connect request completes from the loop (``invoke``), calling
  ``req.oncomplete(status, handle, req, readable, writable)`` as libuv calls Node's ``oncomplete``.

Injectable: ``options.lookup`` per connection (Node's API), and the module-level :data:`lookup`
used when none is given.
"""

from __future__ import annotations

import asyncio
import socket as _socket
from collections.abc import Callable, Mapping
from typing import Any

from . import _autoselect, _runtime
from ._ip import isIP
from .errors import (
    NULL,
    NodeAggregateError,
    NodeSystemError,
    from_oserror,
    js_to_int32,
    make_error,
    system_error,
    validate_boolean,
    validate_function,
    validate_int32,
    validate_number,
    validate_one_of,
    validate_port,
    validate_string,
)

__all__ = ["ConnectReq", "NormalizedArgs", "connect_pipe", "lookup", "lookup_and_connect", "normalize_args"]

DEFAULT_IPV4_ADDR = "0.0.0.0"
DEFAULT_IPV6_ADDR = "::"
UV_EADDRINUSE = -98
UV_ECANCELED = -125
UV_ETIMEDOUT = -110


def _nullish(v: object) -> bool:
    return v is None or v is NULL


def truthy(v: object) -> bool:  # node: ToBoolean ({} and [] are true, NaN, 0 and '' false)
    if v is None or v is NULL or v is False:
        return False
    if isinstance(v, (int, float)):
        return v == v and v != 0
    if isinstance(v, str):
        return v != ""
    return True


class NormalizedArgs(tuple[dict[str, Any], Callable[..., object] | None]):
    """``[options, cb]`` as ``normalizeArgs`` returns it (Node marks it with ``normalizedArgsSymbol``)."""

    __slots__ = ()

    @property
    def options(self) -> dict[str, Any]:
        return self[0]

    @property
    def cb(self) -> Callable[..., object] | None:
        return self[1]


def _to_number(x: object) -> float | int | bool:  # node: toNumber
    """``(x = Number(x)) >= 0 ? x : false``."""
    from .errors import js_to_number

    if isinstance(x, (Mapping, list)) or callable(x):
        return False
    n = js_to_number(x)
    return n if n >= 0 else False  # NaN >= 0 is False


def is_pipe_name(s: object) -> bool:  # node: isPipeName
    return isinstance(s, str) and _to_number(s) is False


def normalize_args(args: tuple[Any, ...] | list[Any]) -> NormalizedArgs:  # node: normalizeArgs
    if len(args) == 0:
        return NormalizedArgs(({}, None))
    arg0 = args[0]
    options: dict[str, Any]
    if isinstance(arg0, Mapping):
        options = dict(arg0)
    elif is_pipe_name(arg0):
        options = {"path": arg0}
    else:
        options = {"port": arg0}
        if len(args) > 1 and isinstance(args[1], str):
            options["host"] = args[1]
    cb = args[-1]
    return NormalizedArgs((options, cb if callable(cb) else None))


# ---------------------------------------------------------------------------------------------------
# dns.lookup, the subset net uses


def _family_of(info_family: int) -> int:
    return 6 if info_family == _socket.AF_INET6 else 4


def default_lookup(hostname: str, options: Mapping[str, Any], callback: Callable[..., object]) -> None:
    # node: dns.lookup (getaddrinfo through the loop; results in the resolver's order, "verbatim")
    if truthy(hostname):
        validate_string(hostname, "hostname")
        if "\0" in hostname:
            raise make_error(
                "ERR_INVALID_ARG_VALUE", "hostname", hostname, "must be a string without null bytes"
            )
    hints = 0
    family: Any = 0
    want_all = False
    raw_hints = options.get("hints")
    if not _nullish(raw_hints):
        validate_number(raw_hints, "options.hints")
        hints = js_to_int32(raw_hints) & 0xFFFFFFFF
        if hints & ~(_socket.AI_ADDRCONFIG | _socket.AI_ALL | _socket.AI_V4MAPPED):
            raise make_error("ERR_INVALID_ARG_VALUE", "hints", hints)
    raw_family: Any = options.get("family")
    if not _nullish(raw_family):
        if raw_family == "IPv4":
            family = 4
        elif raw_family == "IPv6":
            family = 6
        else:
            validate_one_of(raw_family, "options.family", [0, 4, 6])
            family = int(raw_family)
    if not _nullish(options.get("all")):
        want_all = validate_boolean(options.get("all"), "options.all")
    af = {4: _socket.AF_INET, 6: _socket.AF_INET6}.get(int(family), _socket.AF_UNSPEC)
    loop = asyncio.get_running_loop()
    rt = _runtime.current()

    async def resolve() -> list[tuple[Any, ...]]:
        return await loop.getaddrinfo(hostname, None, family=af, type=_socket.SOCK_STREAM, flags=int(hints))

    task = loop.create_task(resolve())
    rt.ref_handle(task)  # a getaddrinfo request keeps Node's loop alive

    def done(t: asyncio.Task[list[tuple[Any, ...]]]) -> None:
        rt.unref_handle(task)
        if t.cancelled():
            return
        exc = t.exception()
        if exc is not None:
            err = (
                from_oserror(exc, "getaddrinfo", hostname)
                if isinstance(exc, OSError)
                else make_error("ERR_OPERATION_FAILED", str(exc))
            )
            rt.invoke(callback, err)
            return
        infos = t.result()
        seen: list[tuple[str, int]] = []
        for info in infos:
            entry = (str(info[4][0]), int(family) or _family_of(info[0]))
            if entry not in seen:
                seen.append(entry)
        if want_all:
            rt.invoke(callback, None, [{"address": a, "family": f} for a, f in seen])
        elif seen:
            rt.invoke(callback, None, seen[0][0], seen[0][1])
        else:
            rt.invoke(callback, from_oserror(_socket.gaierror(_socket.EAI_NONAME), "getaddrinfo", hostname))

    task.add_done_callback(done)


# The lookup used when a connection gives none (tests may replace it: see the module docstring).
lookup: Callable[[str, Mapping[str, Any], Callable[..., object]], None] = default_lookup


# ---------------------------------------------------------------------------------------------------
# lookupAndConnect


class ConnectReq:  # node: TCPConnectWrap / PipeConnectWrap
    __slots__ = ("address", "addressType", "localAddress", "localPort", "oncomplete", "port")

    def __init__(
        self,
        oncomplete: Callable[..., object] | None,
        address: str,
        port: int | None,
        address_type: int | None,
        local_address: str | None = None,
        local_port: int | None = None,
    ) -> None:
        self.oncomplete = oncomplete
        self.address = address
        self.port = port
        self.addressType = address_type
        self.localAddress = local_address
        self.localPort = local_port


def _socket_to_dns_family(family: object) -> object:  # node: socketToDnsFamily
    if family == "IPv4":
        return 4
    if family == "IPv6":
        return 6
    return family


def lookup_and_connect(self: Any, options: dict[str, Any]) -> None:  # node: lookupAndConnect
    local_address: Any = options.get("localAddress")
    local_port: Any = options.get("localPort")
    host: Any = options.get("host") if truthy(options.get("host")) else "localhost"
    port = options.get("port")
    attempt_timeout = options.get("autoSelectFamilyAttemptTimeout")
    auto_select = options.get("autoSelectFamily")

    validate_string(host, "options.host")
    if "\0" in host:
        raise make_error("ERR_INVALID_ARG_VALUE", "options.host", host, "must be a string without null bytes")

    if self._bound_source:  # an adopted BoundSocket already owns the local endpoint and family
        if local_address is not None or local_port is not None:
            raise make_error(
                "ERR_INVALID_ARG_VALUE",
                "options",
                options,
                "localAddress and localPort cannot be used with an adopted bound socket",
            )
        auto_select = False

    if truthy(local_address) and not isIP(local_address):
        raise make_error("ERR_INVALID_IP_ADDRESS", local_address)
    if truthy(local_port):
        validate_number(local_port, "options.localPort")

    if port is not None:
        if isinstance(port, bool) or not isinstance(port, (int, float, str)):
            raise make_error("ERR_INVALID_ARG_TYPE", "options.port", ["number", "string"], port)
        port = validate_port(port)
    port = int(port or 0)

    if not _nullish(auto_select):
        validate_boolean(auto_select, "options.autoSelectFamily")
    else:
        auto_select = _autoselect.getDefaultAutoSelectFamily()

    if not _nullish(attempt_timeout):
        attempt_timeout = max(
            validate_int32(attempt_timeout, "options.autoSelectFamilyAttemptTimeout", 1), 10
        )
    else:
        attempt_timeout = _autoselect.getDefaultAutoSelectFamilyAttemptTimeout()

    local_address = local_address if isinstance(local_address, str) and local_address else None
    local_port = int(local_port) if truthy(local_port) else None

    address_type = isIP(host)
    if address_type:
        if self._bound_source:
            # No lookup and no tick: the kernel's source address is observable synchronously;
            # failures still arrive as a deferred 'error'.
            internal_connect(self, host, port, address_type, local_address, local_port)
            return
        _runtime.next_tick(_connect_ip_nt, self, host, port, address_type, local_address, local_port)
        return

    lookup_fn: Any = options.get("lookup")
    if not _nullish(lookup_fn):
        validate_function(lookup_fn, "options.lookup")
    else:
        lookup_fn = lookup

    dnsopts: dict[str, Any] = {
        "family": _socket_to_dns_family(options.get("family")),
        "hints": options.get("hints") if truthy(options.get("hints")) else 0,
    }
    if dnsopts["family"] not in (4, 6) and dnsopts["hints"] == 0:
        dnsopts["hints"] = _socket.AI_ADDRCONFIG

    self._host = host

    if dnsopts["family"] not in (4, 6) and not local_address and auto_select:
        dnsopts["all"] = True
        _lookup_and_connect_multiple(
            self, lookup_fn, host, options, dnsopts, port, local_address, local_port, attempt_timeout
        )
        return

    def emit_lookup(err: Any = None, ip: Any = None, family: Any = None, *_: Any) -> None:
        # node: emitLookup
        self.emit("lookup", err, ip, family, host)
        if not self.connecting:
            return
        if err is not None and err is not NULL:
            _runtime.next_tick(_connect_error_nt, self, err)
        elif not isinstance(ip, str) or not isIP(ip):
            _runtime.next_tick(_connect_error_nt, self, make_error("ERR_INVALID_IP_ADDRESS", ip))
        elif family not in (4, 6) or isinstance(family, bool):
            err = make_error("ERR_INVALID_ADDRESS_FAMILY", family, options.get("host"), options.get("port"))
            _runtime.next_tick(_connect_error_nt, self, err)
        else:
            self._unrefTimer()
            internal_connect(self, ip, port, int(family), local_address, local_port)

    lookup_fn(host, dnsopts, emit_lookup)


def _connect_ip_nt(
    self: Any, host: str, port: int, address_type: int, local_address: str | None, local_port: int | None
) -> None:  # node: the nextTick closure of lookupAndConnect for IP hosts
    if self.connecting:
        internal_connect(self, host, port, address_type, local_address, local_port)


def _connect_error_nt(self: Any, err: BaseException) -> None:  # node: connectErrorNT
    self.destroy(err)


def _lookup_and_connect_multiple(  # node: lookupAndConnectMultiple
    self: Any,
    lookup_fn: Callable[..., object],
    host: str,
    options: Mapping[str, Any],
    dnsopts: dict[str, Any],
    port: int,
    local_address: str | None,
    local_port: int | None,
    timeout: int,
) -> None:
    def emit_lookup(err: Any = None, addresses: Any = None, *_: Any) -> None:
        # node: emitLookup (all: true)
        if not self.connecting:
            return
        if err is not None and err is not NULL:
            self.emit("lookup", err, None, None, host)
            _runtime.next_tick(_connect_error_nt, self, err)
            return
        valid: list[list[Mapping[str, Any]]] = [[], []]
        valid_ips: list[list[str]] = [[], []]
        destinations: dict[int, int] | None = None
        for address in addresses:
            ip = address.get("address")
            address_type = address.get("family")
            self.emit("lookup", err if err is not NULL else None, ip, address_type, host)
            if not self.connecting:
                return
            if isinstance(ip, str) and isIP(ip) and address_type in (4, 6):
                if destinations is None:
                    destinations = {6: 0, 4: 1} if address_type == 6 else {4: 0, 6: 1}
                dest = destinations[address_type]
                if ip not in valid_ips[dest]:
                    valid[dest].append(address)
                    valid_ips[dest].append(ip)

        if not valid[0] and not valid[1]:
            first = addresses[0] if addresses else {}
            first_ip = first.get("address")
            first_type = first.get("family")
            if not (isinstance(first_ip, str) and isIP(first_ip)):
                _runtime.next_tick(_connect_error_nt, self, make_error("ERR_INVALID_IP_ADDRESS", first_ip))
            elif first_type not in (4, 6):
                err2 = make_error(
                    "ERR_INVALID_ADDRESS_FAMILY", first_type, options.get("host"), options.get("port")
                )
                _runtime.next_tick(_connect_error_nt, self, err2)
            return

        to_attempt: list[Mapping[str, Any]] = []
        for i in range(max(len(valid[0]), len(valid[1]))):
            if i < len(valid[0]):
                to_attempt.append(valid[0][i])
            if i < len(valid[1]):
                to_attempt.append(valid[1][i])

        if len(to_attempt) == 1:
            only = to_attempt[0]
            self._unrefTimer()
            internal_connect(self, only["address"], port, int(only["family"]), local_address, local_port)
            return

        self.autoSelectFamilyAttemptedAddresses = []
        context = _MultiContext(self, to_attempt, port, local_port, timeout)
        self._unrefTimer()
        _internal_connect_multiple(context)

    lookup_fn(host, dnsopts, emit_lookup)


# ---------------------------------------------------------------------------------------------------
# internalConnect and afterConnect


def _check_bind_error(err: int, port: int | None, handle: Any) -> int:  # node: checkBindError
    if err == 0 and port and port > 0:
        out = handle.getsockname()
        if out is not None and out.get("port") != port:
            err = UV_EADDRINUSE
    return err


def _js_str(v: object) -> str:
    return "undefined" if v is None else str(v)


def internal_connect(  # node: internalConnect
    self: Any,
    address: str,
    port: int | None,
    address_type: int | None,
    local_address: str | None = None,
    local_port: int | None = None,
    flags: int = 0,
) -> None:
    assert self.connecting
    handle = self._handle
    if local_address or local_port:
        if address_type == 4:
            local_address = local_address or DEFAULT_IPV4_ADDR
        else:
            local_address = local_address or DEFAULT_IPV6_ADDR
        err = handle.bind(local_address, local_port or 0, address_type)
        err = _check_bind_error(err, local_port, handle)
        if err:
            self.destroy(system_error(err, "bind", local_address, local_port))
            return

    self.emit("connectionAttempt", address, port, address_type)

    if address_type in (4, 6):
        block_list = getattr(self, "blockList", None)
        if block_list is not None and block_list.check(address, f"ipv{address_type}"):
            self.destroy(make_error("ERR_IP_BLOCKED", address))
            return
        req = ConnectReq(after_connect, address, port, address_type, local_address, local_port)
    else:
        req = ConnectReq(after_connect, address, None, None)
    err = handle.connect(req, address, port, address_type)
    if err:
        sockname = self._getsockname()
        details = f"{_js_str(sockname.get('address'))}:{_js_str(sockname.get('port'))}"
        self.destroy(system_error(err, "connect", address, port, message_extra=details))


def connect_pipe(self: Any, path: str) -> None:  # node: internalConnect for a path
    internal_connect(self, path, None, None)


def _connect_error(req: ConnectReq, status: int) -> NodeSystemError:  # node: createConnectionError
    details = None
    if req.localAddress and req.localPort:
        details = f"{req.localAddress}:{req.localPort}"
    ex = system_error(status, "connect", req.address, req.port, message_extra=details)
    if details:
        ex.localAddress = req.localAddress  # type: ignore[attr-defined]
        ex.localPort = req.localPort  # type: ignore[attr-defined]
    return ex


def after_connect(
    status: int, handle: Any, req: ConnectReq, readable: bool, writable: bool
) -> None:  # node: afterConnect
    self = handle.owner
    if self is None or self.destroyed:
        return
    assert self.connecting
    self.connecting = False
    self._sockname = None
    if status == 0:
        if self.readable and not readable:
            self.push(None)
            self.read()
        if self.writable and not writable:
            self.end()
        self._unrefTimer()
        self._apply_handle_options(handle)
        self.emit("connect")
        self.emit("ready")
        if readable and not self.isPaused():
            self.read(0)
    else:
        ex = _connect_error(req, status)
        self.emit("connectionAttemptFailed", req.address, req.port, req.addressType, ex)
        self.destroy(ex)


# ---------------------------------------------------------------------------------------------------
# autoSelectFamily: one attempt after the other


class _MultiContext:
    __slots__ = ("addresses", "current", "errors", "localPort", "port", "socket", "timeout", "timer")

    def __init__(
        self, sock: Any, addresses: list[Mapping[str, Any]], port: int, local_port: int | None, timeout: int
    ) -> None:
        self.socket = sock
        self.addresses = addresses
        self.current = 0
        self.port = port
        self.localPort = local_port
        self.timeout = timeout
        self.timer: _runtime.Timeout | None = None
        self.errors: list[BaseException] = []


def _internal_connect_multiple(context: _MultiContext, canceled: bool = False) -> None:
    # node: internalConnectMultiple
    _runtime.clear_timeout(context.timer)
    self = context.socket
    if getattr(self, "_aborted", False):
        return
    if canceled or context.current == len(context.addresses):
        if not context.errors:
            self.destroy(make_error("ERR_SOCKET_CONNECTION_TIMEOUT"))
            return
        self.destroy(NodeAggregateError(context.errors))
        return

    assert self.connecting
    current = context.current
    context.current += 1
    if current > 0:
        self._reinitialize_handle()

    port = context.port
    local_port = context.localPort
    entry = context.addresses[current]
    address: str = entry["address"]
    address_type = int(entry["family"])
    local_address = None
    handle = self._handle

    if local_port:
        local_address = DEFAULT_IPV4_ADDR if address_type == 4 else DEFAULT_IPV6_ADDR
        err = handle.bind(local_address, local_port, address_type)
        err = _check_bind_error(err, local_port, handle)
        if err:
            context.errors.append(system_error(err, "bind", local_address, local_port))
            _internal_connect_multiple(context)
            return

    block_list = getattr(self, "blockList", None)
    if block_list is not None and block_list.check(address, f"ipv{address_type}"):
        ex = make_error("ERR_IP_BLOCKED", address)
        context.errors.append(ex)
        self.emit("connectionAttemptFailed", address, port, address_type, ex)
        _internal_connect_multiple(context)
        return

    self.emit("connectionAttempt", address, port, address_type)

    req = ConnectReq(None, address, port, address_type, local_address, local_port)

    def oncomplete(status: int, h: Any, r: ConnectReq, readable: bool, writable: bool) -> None:
        _after_connect_multiple(context, current, status, h, r, readable, writable)

    req.oncomplete = oncomplete
    self.autoSelectFamilyAttemptedAddresses.append(f"{address}:{port}")

    err = handle.connect(req, address, port, address_type)
    if err:
        sockname = self._getsockname()
        details = f"{_js_str(sockname.get('address'))}:{_js_str(sockname.get('port'))}"
        ex2 = system_error(err, "connect", address, port, message_extra=details)
        context.errors.append(ex2)
        self.emit("connectionAttemptFailed", address, port, address_type, ex2)
        _internal_connect_multiple(context)
        return

    if current < len(context.addresses) - 1:
        context.timer = _runtime.set_timeout(
            _internal_connect_multiple_timeout, context.timeout, context, req, handle
        )


def _after_connect_multiple(  # node: afterConnectMultiple
    context: _MultiContext,
    current: int,
    status: int,
    handle: Any,
    req: ConnectReq,
    readable: bool,
    writable: bool,
) -> None:
    _runtime.clear_timeout(context.timer)
    if status == 0 and current != context.current - 1:
        handle.close()
        return
    self = context.socket
    if status != 0:
        ex = _connect_error(req, status)
        context.errors.append(ex)
        self.emit("connectionAttemptFailed", req.address, req.port, req.addressType, ex)
        if self.connecting:
            _internal_connect_multiple(context, status == UV_ECANCELED)
        return
    after_connect(status, self._handle, req, readable, writable)


def _internal_connect_multiple_timeout(context: _MultiContext, req: ConnectReq, handle: Any) -> None:
    # node: internalConnectMultipleTimeout
    context.socket.emit("connectionAttemptTimeout", req.address, req.port, req.addressType)
    req.oncomplete = None
    context.errors.append(_connect_error(req, UV_ETIMEDOUT))
    handle.close()
    if context.socket.connecting:
        _internal_connect_multiple(context)
