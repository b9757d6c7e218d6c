"""net.BlockList.

Theory of operation
-------------------
Node 24 keeps three kinds of rules (src/node_sockaddr.cc) and ``rules`` lists them grouped, in this
order: exact addresses, then subnets newest first, then ranges newest first.  ``size`` counts all.

* **Addresses** are keyed by IP only (the port of a SocketAddress is ignored) and an IPv4 address
  is the same rule as its IPv4-mapped IPv6 form: adding ``::ffff:1.2.3.4`` after ``1.2.3.4`` replaces
  the rule (one rule, printed in the newer form), and removing either form removes it.  Node holds
  them in a C++ ``std::unordered_map`` under both forms and lists them in that map's iteration
  order, which ``_hashorder`` reproduces (Node's IpHash, libstdc++'s bucket list and growth policy).
* **Subnets** match by prefix.  An IPv4 address also matches IPv6 subnets through its mapped form,
  and an IPv4-mapped IPv6 address also matches IPv4 subnets through its embedded address.
  Removal needs the exact network text and prefix; the first (newest) equal rule goes.
* **Ranges** compare with SocketAddress ordering: same family numerically; IPv4 against IPv6 only
  when the IPv6 address is IPv4-mapped, otherwise the two are unordered and every comparison is
  false.  So ``addRange('::1', '::ffff:ffff:ffff', 'ipv6')`` does not block IPv4 ``10.0.0.1`` while it
  does block ``::ffff:10.0.0.1``.  ``addRange`` rejects only ``start > end``; unordered pairs are kept.

``check(string, family)`` parses with ``uv_inet_pton`` (a zone is ignored) and answers False for
text that does not parse; family is compared case-insensitively and anything but ``'ipv4'`` means
IPv6.  ``fromJSON`` re-reads rule strings with Node's own (unanchored, dot-less for IPv6) regular
expressions, so it reproduces Node's round-trip losses for IPv4-mapped rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, NamedTuple

from ._hashorder import UnorderedMap, node_ip_hash
from ._ip import from_mapped, is_mapped, to_mapped, uv_inet_pton
from .address import SocketAddress
from .errors import (
    NULL,
    NodeSyntaxError,
    inspect,
    is_js_integer,
    js_number_to_string,
    make_error,
    validate_int32,
    validate_string,
)

__all__ = ["BlockList"]


_Key = tuple[int, int]  # (family, address value): what IpEqual compares


def _rule_id(family: int, value: int) -> int:
    """One number per address rule: IPv4 and its mapped IPv6 form are the same rule."""
    return to_mapped(value) if family == 4 else value


def _alt_key(family: int, value: int) -> _Key | None:  # node: AddSocketAddressImpl's second key
    """The other form Node also files an address under: IPv4 <-> IPv4-mapped IPv6, else none."""
    if family == 4:
        return (6, to_mapped(value))
    return (4, from_mapped(value)) if is_mapped(value) else None


def _hash_key(key: _Key) -> int:
    return node_ip_hash(key[0], key[1])


def _compare(a: SocketAddress, b: SocketAddress) -> int | None:  # node: SocketAddress::compare
    """-1/0/1, or None when the two are unordered (IPv4 against a non-mapped IPv6 address)."""
    av, bv = a._value, b._value
    if a._family != b._family:
        if a._family == 4:
            if not is_mapped(bv):
                return None
            bv = from_mapped(bv)
        else:
            if not is_mapped(av):
                return None
            av = from_mapped(av)
    return (av > bv) - (av < bv)


def _in_subnet(family: int, value: int, net_family: int, network: int, prefix: int) -> bool:
    bits = 32 if net_family == 4 else 128
    if family != net_family:
        if family == 4:  # an IPv4 address against an IPv6 subnet: its mapped form
            value = to_mapped(value)
        elif is_mapped(value):  # a mapped IPv6 address against an IPv4 subnet
            value = from_mapped(value)
        else:
            return False
    shift = bits - prefix
    return value >> shift == network >> shift


class _Subnet(NamedTuple):
    network: SocketAddress
    prefix: int

    def rule(self) -> str:  # node: SocketAddressMaskRule::ToString
        fam = "IPv4" if self.network._family == 4 else "IPv6"
        return f"Subnet: {fam} {self.network.address}/{self.prefix}"


class _Range(NamedTuple):
    start: SocketAddress
    end: SocketAddress

    def rule(self) -> str:  # node: SocketAddressRangeRule::ToString
        fam = "IPv4" if self.start._family == 4 else "IPv6"
        return f"Range: {fam} {self.start.address}-{self.end.address}"

    def applies(self, address: SocketAddress) -> bool:  # node: SocketAddressRangeRule::Apply
        low = _compare(address, self.start)
        high = _compare(address, self.end)
        return low is not None and high is not None and low >= 0 and high <= 0


def _same(a: SocketAddress, b: SocketAddress) -> bool:
    return a._family == b._family and a._value == b._value


class BlockList:
    """``net.BlockList``: rules blocking addresses, ranges and subnets."""

    PRIVATE_RANGES: Final[tuple[str, ...]] = (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "::1/128",
        "169.254.0.0/16",
        "fe80::/10",
        "fc00::/7",
    )

    def __init__(self, *_ignored: object) -> None:
        # Node's constructor declares no parameters and JS drops extra arguments, so
        # ``new net.BlockList(1, 2)`` works; accept and ignore them the same way.
        # Node's exact-address map in SocketAddressBlockList: each rule sits under its own key and,
        # for IPv4 and IPv4-mapped IPv6, under the other form too; the value is the address as last
        # added.  ``_address_count`` is Node's rule counter for that map.
        self._addresses: UnorderedMap[_Key, SocketAddress] = UnorderedMap(_hash_key)
        self._address_count = 0
        self._subnets: list[_Subnet] = []  # newest first
        self._ranges: list[_Range] = []  # newest first

    @staticmethod
    def isBlockList(value: object = None) -> bool:  # node: BlockList.isBlockList
        return isinstance(value, BlockList)

    # -- adding ------------------------------------------------------------------------------------

    def addAddress(self, address: object = None, family: object = None) -> None:  # node: addAddress
        self._add_address(_to_address(address, family, "address"))

    def _add_address(self, sa: SocketAddress) -> None:  # node: SocketAddressBlockList::AddSocketAddressImpl
        key = (sa._family, sa._value)
        if key not in self._addresses:
            self._address_count += 1
        self._addresses.set(key, sa)
        alt = _alt_key(sa._family, sa._value)
        if alt is not None:
            self._addresses.set(alt, sa)

    def addAddresses(self, addresses: object = None, family: object = None) -> None:  # node: addAddresses
        if not isinstance(addresses, (list, tuple)):
            raise make_error("ERR_INVALID_ARG_TYPE", "addresses", "Array", addresses)
        fam = "ipv4" if family is None else family
        validate_string(fam, "family")
        parsed: list[SocketAddress] = []
        for i, item in enumerate(addresses):
            if isinstance(item, SocketAddress):
                parsed.append(item)
            else:
                validate_string(item, f"addresses[{i}]")
                parsed.append(SocketAddress({"address": item, "family": fam}))
        for sa in parsed:
            self._add_address(sa)

    def addRange(self, start: object = None, end: object = None, family: object = None) -> None:
        # node: addRange
        s = _to_address(start, family, "start")
        e = _to_address(end, family, "end")
        if _compare(s, e) == 1:
            raise make_error("ERR_INVALID_ARG_VALUE", "start", s, "must come before end")
        self._ranges.insert(0, _Range(s, e))

    def addSubnet(self, network: object = None, prefix: object = None, family: object = None) -> None:
        # node: addSubnet
        net = _to_address(network, family, "network")
        bits = validate_int32(prefix, "prefix", 0, 32 if net._family == 4 else 128)
        self._subnets.insert(0, _Subnet(net, bits))

    def addCIDR(self, cidr: object = None) -> None:  # node: addCIDR
        address, prefix, family = _parse_cidr(cidr)
        self.addSubnet(address, prefix, family)

    def addCIDRs(self, cidrs: object = None) -> None:  # node: addCIDRs
        if not isinstance(cidrs, (list, tuple)):
            raise make_error("ERR_INVALID_ARG_TYPE", "cidrs", "Array", cidrs)
        parsed = []
        for i, item in enumerate(cidrs):
            validate_string(item, f"cidrs[{i}]")
            parsed.append(_parse_cidr(item))
        for address, prefix, family in parsed:
            self.addSubnet(address, prefix, family)

    # -- removing ----------------------------------------------------------------------------------

    def removeAddress(self, address: object = None, family: object = None) -> None:  # node: removeAddress
        sa = _to_address(address, family, "address")
        # node: SocketAddressBlockList::RemoveSocketAddress: the rule's key, then the other form.
        self._address_count -= self._addresses.erase((sa._family, sa._value))
        alt = _alt_key(sa._family, sa._value)
        if alt is not None:
            self._addresses.erase(alt)

    def removeRange(self, start: object = None, end: object = None, family: object = None) -> None:
        # node: removeRange
        s = _to_address(start, family, "start")
        e = _to_address(end, family, "end")
        for i, rng in enumerate(self._ranges):
            if _same(rng.start, s) and _same(rng.end, e):
                del self._ranges[i]
                return

    def removeSubnet(self, network: object = None, prefix: object = None, family: object = None) -> None:
        # node: removeSubnet
        net = _to_address(network, family, "network")
        bits = validate_int32(prefix, "prefix", 0, 32 if net._family == 4 else 128)
        for i, sub in enumerate(self._subnets):
            if _same(sub.network, net) and sub.prefix == bits:
                del self._subnets[i]
                return

    def removeCIDR(self, cidr: object = None) -> None:  # node: removeCIDR
        address, prefix, family = _parse_cidr(cidr)
        self.removeSubnet(address, prefix, family)

    def clear(self) -> None:  # node: clear
        self._addresses.clear()  # keeps its bucket array, as std::unordered_map::clear does
        self._address_count = 0
        self._subnets.clear()
        self._ranges.clear()

    # -- querying ----------------------------------------------------------------------------------

    def check(self, address: object = None, family: object = None) -> bool:  # node: check
        if isinstance(address, SocketAddress):
            return self._apply(address._family, address._value, address)
        validate_string(address, "address")
        fam = "ipv4" if family is None else family
        validate_string(fam, "family")
        assert isinstance(address, str) and isinstance(fam, str)
        af = 4 if fam.lower() == "ipv4" else 6
        value = uv_inet_pton(af, address)
        if value is None:
            return False
        return self._apply(af, value, None)

    def _apply(self, family: int, value: int, sa: SocketAddress | None) -> bool:  # node: Apply
        if (family, value) in self._addresses:  # both forms are keys
            return True
        for sub in self._subnets:
            if _in_subnet(family, value, sub.network._family, sub.network._value, sub.prefix):
                return True
        if self._ranges:
            probe = sa if sa is not None else SocketAddress._from_parts(family, value)
            for rng in self._ranges:
                if rng.applies(probe):
                    return True
        return False

    @property
    def rules(self) -> list[str]:  # node: SocketAddressBlockList::ListRules
        # Address rules in the map's iteration order, each printed where the first of its (one or
        # two) keys sits; Node skips values it has already printed.
        out: list[str] = []
        listed: set[int] = set()
        for _, sa in self._addresses.items():
            rule = _rule_id(sa._family, sa._value)
            if rule not in listed:
                listed.add(rule)
                out.append(f"Address: {'IPv4' if sa._family == 4 else 'IPv6'} {sa.address}")
        out.extend(sub.rule() for sub in self._subnets)
        out.extend(rng.rule() for rng in self._ranges)
        return out

    @property
    def size(self) -> int:  # node: getSize
        return self._address_count + len(self._subnets) + len(self._ranges)

    def toJSON(self) -> list[str]:  # node: BlockList.prototype.toJSON
        return self.rules

    def fromJSON(self, data: object = None) -> None:  # node: BlockList.prototype.fromJSON
        bad = "ERR_INVALID_ARG_TYPE"
        expected = ["string", "string[]"]
        if isinstance(data, (list, tuple)):
            if not all(isinstance(item, str) for item in data):
                raise make_error(bad, "data", expected, data)
            items: Sequence[object] = data
        elif not isinstance(data, str):
            raise make_error(bad, "data", expected, data)
        else:
            parsed = _json_parse(data)
            if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
                raise make_error(bad, "data", expected, parsed)
            items = parsed
        self._parse_ip_info([str(item) for item in items])

    def _parse_ip_info(self, data: list[str]) -> None:  # node: BlockList#parseIPInfo
        for item in data:
            if "IPv4" in item:
                m = _V4_SUBNET.search(item)
                if m is not None:
                    self.addSubnet(m.group(1), int(m.group(2)))
                    continue
                m = _V4_ADDRESS.search(item)
                if m is not None:
                    self.addAddress(m.group(1))
                    continue
                m = _V4_RANGE.search(item)
                if m is not None:
                    self.addRange(m.group(1), m.group(2))
                    continue
            if "IPv6" in item:
                m = _V6_SUBNET.search(item)
                if m is not None:
                    self.addSubnet(m.group(1), int(m.group(2)), "ipv6")
                    continue
                m = _V6_ADDRESS.search(item)
                if m is not None:
                    self.addAddress(m.group(1), "ipv6")
                    continue
                m = _V6_RANGE.search(item)
                if m is not None:
                    self.addRange(m.group(1), m.group(2), "ipv6")
                    continue

    def __js_inspect__(self) -> str:  # node: BlockList.prototype[kInspect]
        return f"BlockList {inspect({'rules': self.rules})}"

    def __repr__(self) -> str:
        return self.__js_inspect__()


# Node's #parseIPInfo expressions (JS \d is ASCII-only; the IPv6 ones carry the /i flag).
_V4: Final = r"([0-9]{1,3}(?:\.[0-9]{1,3}){3})"
_V4_SUBNET: Final = re.compile(rf"Subnet: IPv4 {_V4}/([0-9]{{1,2}})")
_V4_ADDRESS: Final = re.compile(rf"Address: IPv4 {_V4}")
_V4_RANGE: Final = re.compile(rf"Range: IPv4 {_V4}-{_V4}")
_V6: Final = r"([0-9a-fA-F:]{1,39})"
_V6_SUBNET: Final = re.compile(rf"Subnet: IPv6 {_V6}/([0-9]{{1,3}})", re.IGNORECASE | re.ASCII)
_V6_ADDRESS: Final = re.compile(rf"Address: IPv6 {_V6}", re.IGNORECASE | re.ASCII)
_V6_RANGE: Final = re.compile(rf"Range: IPv6 {_V6}-{_V6}", re.IGNORECASE | re.ASCII)


def _to_address(value: object, family: object, name: str) -> SocketAddress:
    """A SocketAddress as given, or one built from text (the family argument is ignored then)."""
    if isinstance(value, SocketAddress):
        return value
    validate_string(value, name)
    fam = "ipv4" if family is None else family
    validate_string(fam, "family")
    return SocketAddress({"address": value, "family": fam})


def _parse_cidr(cidr: object) -> tuple[str, int, str]:  # node: parseCIDR
    text = validate_string(cidr, "cidr")
    slash = text.rfind("/")
    if slash < 0:
        raise make_error(
            "ERR_INVALID_ARG_VALUE", "cidr", text, 'must contain a prefix length (e.g. "10.0.0.0/8")'
        )
    address, prefix_text = text[:slash], text[slash + 1 :]
    prefix = _parse_int10(prefix_text)
    if prefix is None or js_number_to_string(prefix) != prefix_text:
        raise make_error("ERR_INVALID_ARG_VALUE", "cidr", text, "prefix length must be a valid integer")
    return address, int(prefix) if is_js_integer(prefix) else 0, "ipv6" if ":" in address else "ipv4"


_PARSE_INT_RE: Final = re.compile(r"[\s\ufeff]*([+-]?)([0-9]+)")


def _parse_int10(text: str) -> float | int | None:  # node: Number.parseInt(text, 10)
    m = _PARSE_INT_RE.match(text)
    if m is None:
        return None
    value = int(m.group(2))
    if value > 2**53:
        value_f = float(value)
        return -value_f if m.group(1) == "-" else value_f
    if value == 0 and m.group(1) == "-":
        return -0.0
    return -value if m.group(1) == "-" else value


# ---------------------------------------------------------------------------------------------------
# JSON.parse with V8's error messages (fromJSON takes a JSON string).


class _JSONError(Exception):
    pass


def _json_parse(source: str) -> object:  # node: JSON.parse (V8 JsonParser)
    parser = _JsonParser(source)
    try:
        return parser.parse()
    except _JSONError as exc:
        raise NodeSyntaxError(str(exc)) from None


class _JsonParser:
    _WS: Final = " \t\n\r"

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    def _at(self, message: str, in_json: bool = True) -> _JSONError:
        pos = self.i
        line = self.s.count("\n", 0, pos) + 1
        column = pos - (self.s.rfind("\n", 0, pos) + 1) + 1
        where = " in JSON" if in_json else ""
        return _JSONError(f"{message}{where} at position {pos} (line {line} column {column})")

    def _unexpected(self) -> _JSONError:  # node: JsonParser::ReportUnexpectedToken
        if self.i >= len(self.s):
            return _JSONError("Unexpected end of JSON input")
        ch = self.s[self.i]
        if ch in "0123456789-":
            return self._at("Unexpected number")
        if ch == '"':
            return self._at("Unexpected string")
        src, pos, ctx = self.s, self.i, 10
        if len(src) < 2 * ctx + 1:
            excerpt = f'"{src}"'
        elif pos < ctx:
            excerpt = f'"{src[: pos + ctx]}"...'
        elif pos < len(src) - ctx:
            excerpt = f'..."{src[pos - ctx : pos + ctx]}"...'
        else:
            excerpt = f'..."{src[pos - ctx :]}"'
        return _JSONError(f"Unexpected token '{ch}', {excerpt} is not valid JSON")

    def _skip(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in self._WS:
            self.i += 1

    def parse(self) -> object:
        self._skip()
        value = self._value()
        self._skip()
        if self.i < len(self.s):
            raise self._at("Unexpected non-whitespace character after JSON", in_json=False)
        return value

    def _value(self) -> object:
        self._skip()
        if self.i >= len(self.s):
            raise _JSONError("Unexpected end of JSON input")
        ch = self.s[self.i]
        if ch == "[":
            return self._array()
        if ch == "{":
            return self._object()
        if ch == '"':
            return self._string()
        if ch == "-" or (ch.isascii() and ch.isdigit()):
            return self._number()
        for word, literal in (("true", True), ("false", False), ("null", NULL)):
            if ch != word[0]:
                continue
            rest = self.s[self.i : self.i + len(word)]
            if rest == word:
                self.i += len(word)
                return literal
            if word.startswith(rest):
                raise _JSONError("Unexpected end of JSON input")
            k = 0
            while self.s[self.i + k] == word[k]:
                k += 1
            self.i += k
            break
        raise self._unexpected()

    def _array(self) -> list[object]:
        self.i += 1
        out: list[object] = []
        self._skip()
        if self.i < len(self.s) and self.s[self.i] == "]":
            self.i += 1
            return out
        while True:
            out.append(self._value())
            self._skip()
            if self.i >= len(self.s):
                raise self._at("Expected ',' or ']' after array element")
            if self.s[self.i] == ",":
                self.i += 1
                self._skip()
                if self.i < len(self.s) and self.s[self.i] == "]":
                    raise self._unexpected()
                continue
            if self.s[self.i] == "]":
                self.i += 1
                return out
            raise self._at("Expected ',' or ']' after array element")

    def _object(self) -> dict[str, object]:
        self.i += 1
        out: dict[str, object] = {}
        self._skip()
        if self.i < len(self.s) and self.s[self.i] == "}":
            self.i += 1
            return out
        first = True
        while True:
            self._skip()
            if self.i >= len(self.s) or self.s[self.i] != '"':
                if first:
                    raise self._at("Expected property name or '}'")
                raise self._at("Expected double-quoted property name")
            first = False
            key = self._string()
            self._skip()
            if self.i >= len(self.s) or self.s[self.i] != ":":
                raise self._at("Expected ':' after property name")
            self.i += 1
            out[key] = self._value()
            self._skip()
            if self.i >= len(self.s):
                raise self._at("Expected ',' or '}' after property value")
            if self.s[self.i] == ",":
                self.i += 1
                continue
            if self.s[self.i] == "}":
                self.i += 1
                return out
            raise self._at("Expected ',' or '}' after property value")

    _ESCAPES: Final = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

    def _string(self) -> str:
        self.i += 1
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise self._at("Unterminated string")
            ch = self.s[self.i]
            if ch == '"':
                self.i += 1
                return "".join(out)
            if ch == "\\":
                self.i += 1
                if self.i >= len(self.s):
                    raise _JSONError("Unexpected end of JSON input")
                esc = self.s[self.i]
                if esc in self._ESCAPES:
                    out.append(self._ESCAPES[esc])
                    self.i += 1
                    continue
                if esc == "u":
                    digits = self.s[self.i + 1 : self.i + 5]
                    if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                        out.append(chr(int(digits, 16)))
                        self.i += 5
                        continue
                    self.i += 1
                    while self.i < len(self.s) and self.s[self.i] in "0123456789abcdefABCDEF":
                        self.i += 1
                    raise self._at("Bad Unicode escape")
                raise self._at("Bad escaped character")
            if ord(ch) < 0x20:
                raise self._at("Bad control character in string literal")
            out.append(ch)
            self.i += 1

    def _number(self) -> float | int:
        start = self.i
        s = self.s
        if s[self.i] == "-":
            self.i += 1
            if self.i >= len(s) or not ("0" <= s[self.i] <= "9"):
                raise self._at("No number after minus sign")
        if s[self.i] == "0":
            self.i += 1
            if self.i < len(s) and "0" <= s[self.i] <= "9":
                raise self._at("Unexpected number")
        else:
            while self.i < len(s) and "0" <= s[self.i] <= "9":
                self.i += 1
        is_float = False
        if self.i < len(s) and s[self.i] == ".":
            is_float = True
            self.i += 1
            if self.i >= len(s) or not ("0" <= s[self.i] <= "9"):
                raise self._at("Unterminated fractional number")
            while self.i < len(s) and "0" <= s[self.i] <= "9":
                self.i += 1
        if self.i < len(s) and s[self.i] in "eE":
            is_float = True
            self.i += 1
            if self.i < len(s) and s[self.i] in "+-":
                self.i += 1
            if self.i >= len(s) or not ("0" <= s[self.i] <= "9"):
                raise self._at("Exponent part is missing a number")
            while self.i < len(s) and "0" <= s[self.i] <= "9":
                self.i += 1
        text = s[start : self.i]
        return float(text) if is_float else int(text)
