"""net.SocketAddress.

Theory of operation
-------------------
A SocketAddress is an immutable (address, port, family, flowlabel) value.  The constructor follows
lib/internal/socketaddress.js step by step, because the order of its checks decides which error a
bad options object gets:

1. ``options`` must be an object (``None`` is JS ``undefined``: the defaults).
2. ``family`` defaults to ``'ipv4'``; the default *address* is chosen from the family **as given**
   (``'127.0.0.1'`` only for exactly ``'ipv4'``, else ``'::'``), and only then is the family
   lowercased.  So ``{family: 'IPv4'}`` alone fails with ERR_INVALID_ADDRESS, as on Node.
3. family must be ``'ipv4'``/``'ipv6'`` (ERR_INVALID_ARG_VALUE with the original value), address a
   string, port a valid port (numeric strings allowed), flowlabel a uint32.
4. C++ parses the address with libuv (ERR_INVALID_ADDRESS, a plain Error, on failure) and prints it
   back canonically; the flow label is kept for IPv6 only.

``SocketAddress.parse('1.2.3.4:80')`` runs the input through the WHATWG URL parser as
``http://<input>`` (lib/internal/socketaddress.js does ``URL.parse``).  That has consequences Node
users may not expect and that we reproduce: the http default port 80 disappears (port 0), IPv4 hosts
are WHATWG-normalised (``127.1``, ``0x7f.0.0.1``, ``010.0.0.1`` are accepted), bracketed IPv6 hosts
may not carry a zone.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final

from ._ip import format_address, uv_ip_addr
from .errors import (
    inspect,
    js_to_int32,
    make_error,
    validate_object,
    validate_port,
    validate_string,
    validate_uint32,
)

__all__ = ["SocketAddress"]

_FLOWLABEL_MASK: Final = 0xFFFFF


class SocketAddress:
    """``net.SocketAddress``: ``SocketAddress({'address': '::1', 'family': 'ipv6', 'port': 80})``
    or ``SocketAddress(address='::1', family='ipv6', port=80)``."""

    __slots__ = ("_address", "_family", "_flowlabel", "_port", "_value")

    _family: int
    _value: int
    _address: str
    _port: int
    _flowlabel: int

    def __init__(self, options: object = None, /, **kwargs: Any) -> None:  # node: SocketAddress
        if options is None:
            options = {}
        opts = validate_object(options, "options")
        if kwargs:
            opts = {**opts, **kwargs}
        family_given = opts.get("family")
        family: object = "ipv4" if family_given is None else family_given
        address = opts.get("address")
        if address is None:
            address = "127.0.0.1" if family == "ipv4" else "::"
        port = opts.get("port")
        if port is None:
            port = 0
        flowlabel = opts.get("flowlabel")
        if flowlabel is None:
            flowlabel = 0
        if isinstance(family, str):
            family = family.lower()
        if family == "ipv4":
            fam = 4
        elif family == "ipv6":
            fam = 6
        else:
            raise make_error("ERR_INVALID_ARG_VALUE", "options.family", family_given)
        validate_string(address, "options.address")
        validate_port(port, "options.port")
        label = validate_uint32(flowlabel, "options.flowlabel", False)
        self._init(fam, address, js_to_int32(port), label)

    def _init(
        self, family: int, address: str, port: int, flowlabel: int
    ) -> None:  # node: SocketAddressBase::New
        # DIVERGENCE(socketaddress-flowlabel-abort): Node 24 aborts the whole process (a C++ CHECK)
        # for a flow label >= 2**31 (any family, before parsing the address) or > 0xFFFFF (IPv6,
        # after parsing it); we raise ERR_OUT_OF_RANGE at the same points.
        if flowlabel >= 2**31:
            limit = _FLOWLABEL_MASK if family == 6 else 2**31 - 1
            raise make_error("ERR_OUT_OF_RANGE", "options.flowlabel", f">= 0 && <= {limit}", flowlabel)
        value = uv_ip_addr(family, address)
        if value is None:
            raise make_error("ERR_INVALID_ADDRESS")
        if family == 6 and flowlabel > _FLOWLABEL_MASK:
            raise make_error(
                "ERR_OUT_OF_RANGE", "options.flowlabel", f">= 0 && <= {_FLOWLABEL_MASK}", flowlabel
            )
        self._family = family
        self._value = value
        self._address = format_address(family, value)
        self._port = port & 0xFFFF
        self._flowlabel = flowlabel if family == 6 else 0

    @classmethod
    def _from_parts(cls, family: int, value: int, port: int = 0, flowlabel: int = 0) -> SocketAddress:
        """An address from already-parsed parts (for other modules: accepted peers, lookups)."""
        self = cls.__new__(cls)
        self._family = family
        self._value = value
        self._address = format_address(family, value)
        self._port = port
        self._flowlabel = flowlabel if family == 6 else 0
        return self

    @property
    def address(self) -> str:
        return self._address

    @property
    def port(self) -> int:
        return self._port

    @property
    def family(self) -> str:
        return "ipv4" if self._family == 4 else "ipv6"

    @property
    def flowlabel(self) -> int:
        return self._flowlabel

    def toJSON(self) -> dict[str, Any]:  # node: SocketAddress.prototype.toJSON
        return {
            "address": self._address,
            "port": self._port,
            "family": self.family,
            "flowlabel": self._flowlabel,
        }

    def __js_inspect__(self) -> str:  # node: SocketAddress.prototype[kInspect]
        return f"SocketAddress {inspect(self.toJSON())}"

    def __repr__(self) -> str:
        return self.__js_inspect__()

    @staticmethod
    def isSocketAddress(value: object = None) -> bool:  # node: SocketAddress.isSocketAddress
        return isinstance(value, SocketAddress)

    @staticmethod
    def parse(input: object = None) -> SocketAddress | None:  # node: SocketAddress.parse
        """``'1.2.3.4:8080'`` / ``'[::1]:8080'`` to a SocketAddress, None when it does not parse."""
        text = validate_string(input, "input")
        try:
            parsed = _url_host_port(text)
            if parsed is None:
                return None
            host, port = parsed
            if host.startswith("[") and host.endswith("]"):
                return SocketAddress({"address": host[1:-1], "port": port, "family": "ipv6"})
            return SocketAddress({"address": host, "port": port})
        except Exception:  # Node's try/catch swallows everything here
            return None


# ---------------------------------------------------------------------------------------------------
# The part of the WHATWG URL parser that ``URL.parse('http://' + input)`` exercises for hostname and
# port.  Only what can end in a valid SocketAddress matters: a failure and a non-IP domain both give
# None.


def _url_host_port(input: str) -> tuple[str, int] | None:  # node: URLParse (ada) hostname/port
    text = input.replace("\t", "").replace("\n", "").replace("\r", "")
    text = text.rstrip("".join(chr(c) for c in range(0x21)))
    i = 0
    while i < len(text) and text[i] in "/\\":
        i += 1
    rest = text[i:]
    end = len(rest)
    for k, ch in enumerate(rest):
        if ch in "/?#\\":
            end = k
            break
    authority = rest[:end]
    at = authority.rfind("@")
    if at >= 0:
        authority = authority[at + 1 :]
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            return None
        host_text = authority[: close + 1]
        after = authority[close + 1 :]
        if after and not after.startswith(":"):
            return None
        port_text = after[1:] if after else ""
        v6 = _whatwg_ipv6(host_text[1:-1])
        if v6 is None:
            return None
        host = "[" + format_address(6, v6) + "]"
    else:
        colon = authority.find(":")
        host_text = authority if colon < 0 else authority[:colon]
        port_text = "" if colon < 0 else authority[colon + 1 :]
        if host_text == "":
            return None
        v4 = _whatwg_host_ipv4(host_text)
        if v4 is None:
            return None
        host = format_address(4, v4)
    port = 0
    if port_text:
        if not all("0" <= c <= "9" for c in port_text):
            return None
        port = int(port_text)
        if port > 65535:
            return None
        if port == 80:  # http's default port: URL.port is '' and `'' | 0` is 0
            port = 0
    return host, port


def _percent_decode(text: str) -> str | None:
    data = bytearray()
    raw = text.encode("utf-8", errors="surrogatepass")
    k = 0
    while k < len(raw):
        b = raw[k]
        if b == 0x25 and _is_hex_pair(raw[k + 1 : k + 3]):
            data.append(int(raw[k + 1 : k + 3], 16))
            k += 3
            continue
        data.append(b)
        k += 1
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_hex_pair(pair: bytes) -> bool:
    return len(pair) == 2 and all(chr(c) in "0123456789abcdefABCDEF" for c in pair)


def _whatwg_host_ipv4(host: str) -> int | None:  # node: ada host parser, IPv4 branch
    decoded = _percent_decode(host)
    if decoded is None:
        return None
    # domain-to-ASCII maps full-width digits and dots; enough of UTS 46 for an IPv4 host.
    mapped = unicodedata.normalize("NFKC", decoded).lower().replace("\u3002", ".")
    if not mapped.isascii():
        return None
    if not _ends_in_number(mapped):
        return None
    return _whatwg_parse_ipv4(mapped)


def _ends_in_number(host: str) -> bool:  # node: ends-in-a-number checker
    parts = host.split(".")
    if parts[-1] == "":
        if len(parts) == 1:
            return False
        parts.pop()
    last = parts[-1]
    if last and all("0" <= c <= "9" for c in last):
        return True
    return _whatwg_ipv4_number(last) is not None


def _whatwg_ipv4_number(part: str) -> int | None:  # node: IPv4 number parser
    if part == "":
        return None
    radix = 10
    if len(part) >= 2 and part[:2] in ("0x", "0X"):
        part = part[2:]
        radix = 16
    elif len(part) >= 2 and part[0] == "0":
        part = part[1:]
        radix = 8
    if part == "":
        return 0
    allowed = {10: "0123456789", 8: "01234567", 16: "0123456789abcdefABCDEF"}[radix]
    if not all(c in allowed for c in part):
        return None
    return int(part, radix)


def _whatwg_parse_ipv4(host: str) -> int | None:  # node: IPv4 parser (URL standard)
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        return None
    numbers: list[int] = []
    for part in parts:
        n = _whatwg_ipv4_number(part)
        if n is None:
            return None
        numbers.append(n)
    if any(n > 255 for n in numbers[:-1]):
        return None
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1]
    for k, n in enumerate(numbers[:-1]):
        value += n * 256 ** (3 - k)
    return value


def _whatwg_ipv6(text: str) -> int | None:  # node: IPv6 parser (URL standard)
    pieces = [0] * 8
    piece = 0
    compress: int | None = None
    i = 0
    n = len(text)
    if n and text[0] == ":":
        if n < 2 or text[1] != ":":
            return None
        i = 2
        piece = 1
        compress = 1
    while i < n:
        if piece == 8:
            return None
        if text[i] == ":":
            if compress is not None:
                return None
            i += 1
            piece += 1
            compress = piece
            continue
        value = 0
        length = 0
        while length < 4 and i < n and text[i] in "0123456789abcdefABCDEF":
            value = value * 16 + int(text[i], 16)
            i += 1
            length += 1
        if i < n and text[i] == ".":
            if length == 0:
                return None
            i -= length
            if piece > 6:
                return None
            seen = 0
            while i < n:
                ipv4_piece: int | None = None
                if seen > 0:
                    if text[i] == "." and seen < 4:
                        i += 1
                    else:
                        return None
                if i >= n or not text[i].isdigit() or not text[i].isascii():
                    return None
                while i < n and text[i].isascii() and text[i].isdigit():
                    number = int(text[i])
                    if ipv4_piece is None:
                        ipv4_piece = number
                    elif ipv4_piece == 0:
                        return None
                    else:
                        ipv4_piece = ipv4_piece * 10 + number
                    if ipv4_piece > 255:
                        return None
                    i += 1
                assert ipv4_piece is not None
                pieces[piece] = pieces[piece] * 0x100 + ipv4_piece
                seen += 1
                if seen in (2, 4):
                    piece += 1
            if seen != 4:
                return None
            break
        if i < n and text[i] == ":":
            i += 1
            if i >= n:
                return None
        elif i < n:
            return None
        pieces[piece] = value
        piece += 1
    if compress is not None:
        swaps = piece - compress
        piece = 7
        while piece != 0 and swaps > 0:
            pieces[piece], pieces[compress + swaps - 1] = pieces[compress + swaps - 1], pieces[piece]
            piece -= 1
            swaps -= 1
    elif piece != 8:
        return None
    result = 0
    for p in pieces:
        result = (result << 16) | p
    return result
