"""IP address text: Node's isIP family, and the parsing and printing libuv does under net.

Theory of operation
-------------------
Node answers three different questions about address text, with three different grammars:

* ``net.isIP`` / ``isIPv4`` / ``isIPv6`` (lib/internal/net.js): two regular expressions.  IPv4 is
  strict dotted decimal without leading zeros; IPv6 allows an embedded dotted quad and a zone
  (``%`` followed by ``[0-9a-zA-Z-.:]+``).  Non-strings are coerced with ``String()`` first (the regex
  ``test`` does it), so ``isIP(['1.2.3.4'])`` is 4.
* What C++ accepts as an address (``SocketAddress``, ``BlockList``): libuv's ``uv_inet_pton`` /
  ``uv_ip4_addr`` / ``uv_ip6_addr`` (the BSD ``inet_pton``).  IPv4 forbids leading zeros
  (``'01.2.3.4'``) but accepts ``'0'``; IPv6 accepts a zone that is simply cut off; the JS string
  reaches C as UTF-8 and stops at the first NUL; ``uv_ip6_addr`` also truncates the part before a
  zone to 39 characters.
* How an address is printed: libuv's ``inet_ntop``: lowercase hex, the first longest run (length
  >= 2) of zero groups compressed, and an embedded dotted quad for ``::a.b.c.d`` (first six groups
  zero, except ``::1``-like single-group forms) and ``::ffff:a.b.c.d``.

Addresses are carried as ``int`` (32-bit for IPv4, 128-bit for IPv6) with a family ``4``/``6``.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import to_js_string

__all__ = [
    "MAPPED_PREFIX",
    "format_address",
    "format_ipv4",
    "format_ipv6",
    "from_mapped",
    "isIP",
    "isIPv4",
    "isIPv6",
    "is_mapped",
    "normalize_address",
    "parse_ipv4",
    "parse_ipv6",
    "to_mapped",
    "uv_inet_pton",
    "uv_ip_addr",
]

# The regular expressions of lib/internal/net.js, rebuilt here (fullmatch: JS `$` is end of input).
_V4_SEG: Final = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_V4_STR: Final = rf"(?:{_V4_SEG}\.){{3}}{_V4_SEG}"
_V6_SEG: Final = r"(?:[0-9a-fA-F]{1,4})"
_IPV4_RE: Final = re.compile(_V4_STR)
_IPV6_RE: Final = re.compile(
    "(?:"
    rf"(?:{_V6_SEG}:){{7}}(?:{_V6_SEG}|:)|"
    rf"(?:{_V6_SEG}:){{6}}(?:{_V4_STR}|:{_V6_SEG}|:)|"
    rf"(?:{_V6_SEG}:){{5}}(?::{_V4_STR}|(?::{_V6_SEG}){{1,2}}|:)|"
    rf"(?:{_V6_SEG}:){{4}}(?:(?::{_V6_SEG}){{0,1}}:{_V4_STR}|(?::{_V6_SEG}){{1,3}}|:)|"
    rf"(?:{_V6_SEG}:){{3}}(?:(?::{_V6_SEG}){{0,2}}:{_V4_STR}|(?::{_V6_SEG}){{1,4}}|:)|"
    rf"(?:{_V6_SEG}:){{2}}(?:(?::{_V6_SEG}){{0,3}}:{_V4_STR}|(?::{_V6_SEG}){{1,5}}|:)|"
    rf"(?:{_V6_SEG}:){{1}}(?:(?::{_V6_SEG}){{0,4}}:{_V4_STR}|(?::{_V6_SEG}){{1,6}}|:)|"
    rf"(?::(?:(?::{_V6_SEG}){{0,5}}:{_V4_STR}|(?::{_V6_SEG}){{1,7}}|:))"
    ")(?:%[0-9a-zA-Z\\-.:]{1,})?"
)


def isIPv4(input: object = None) -> bool:  # node: isIPv4
    """True for dotted-decimal IPv4 text without leading zeros (non-strings go through String())."""
    return _IPV4_RE.fullmatch(to_js_string(input)) is not None


def isIPv6(input: object = None) -> bool:  # node: isIPv6
    """True for IPv6 text (optionally with an embedded dotted quad and a ``%zone``)."""
    return _IPV6_RE.fullmatch(to_js_string(input)) is not None


def isIP(input: object = None) -> int:  # node: isIP
    """4, 6 or 0, as ``net.isIP`` answers."""
    text = to_js_string(input)
    if _IPV4_RE.fullmatch(text) is not None:
        return 4
    if _IPV6_RE.fullmatch(text) is not None:
        return 6
    return 0


# ---------------------------------------------------------------------------------------------------
# libuv's inet_pton / inet_ntop

MAPPED_PREFIX: Final = 0xFFFF << 32
_HEX: Final = frozenset("0123456789abcdefABCDEF")


def _c_string(text: str) -> str:
    """What C sees of a JS string: the UTF-8 text up to the first NUL."""
    nul = text.find("\0")
    return text if nul < 0 else text[:nul]


def parse_ipv4(text: str) -> int | None:  # node: inet_pton4 (deps/uv/src/inet.c)
    """Strict dotted quad: four decimal parts 0-255, no leading zeros, nothing else."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not part or len(part) > 3 or not all("0" <= c <= "9" for c in part):
            return None
        if len(part) > 1 and part[0] == "0":
            return None
        n = int(part)
        if n > 255:
            return None
        value = (value << 8) | n
    return value


def parse_ipv6(text: str) -> int | None:  # node: inet_pton6 (deps/uv/src/inet.c)
    """IPv6 text as the BSD inet_pton reads it (no zone: strip it first)."""
    groups: list[int] = []
    gap: int | None = None  # index in groups where '::' stands
    i = 0
    n = len(text)
    if n == 0:
        return None
    if text[0] == ":":
        if n < 2 or text[1] != ":":
            return None
        i = 1
    token_start = i
    value = 0
    digits = 0
    while i < n:
        ch = text[i]
        if ch in _HEX:
            digits += 1
            if digits > 4:
                return None
            value = (value << 4) | int(ch, 16)
            i += 1
            continue
        if ch == ":":
            token_start = i + 1
            if digits == 0:
                if gap is not None:
                    return None
                gap = len(groups)
                i += 1
                continue
            if i + 1 >= n:
                return None
            if len(groups) >= 8:
                return None
            groups.append(value)
            value = 0
            digits = 0
            i += 1
            continue
        if ch == "." and len(groups) <= 6:
            v4 = parse_ipv4(text[token_start:])
            if v4 is None:
                return None
            groups.append(v4 >> 16)
            groups.append(v4 & 0xFFFF)
            digits = 0
            i = n
            break
        return None
    if digits:
        if len(groups) >= 8:
            return None
        groups.append(value)
    if gap is not None:
        if len(groups) == 8:
            return None
        groups[gap:gap] = [0] * (8 - len(groups))
    if len(groups) != 8:
        return None
    result = 0
    for g in groups:
        result = (result << 16) | g
    return result


def uv_inet_pton(family: int, text: str) -> int | None:  # node: uv_inet_pton
    """Parse as ``uv_inet_pton(AF_INET[6], ...)``: IPv6 drops a ``%zone`` (address part < 46 chars)."""
    text = _c_string(text)
    if family == 4:
        return parse_ipv4(text)
    pct = text.find("%")
    if pct >= 0:
        if pct > 45:
            return None
        text = text[:pct]
    return parse_ipv6(text)


def uv_ip_addr(family: int, text: str) -> int | None:  # node: uv_ip4_addr / uv_ip6_addr
    """Parse as ``uv_ip4_addr``/``uv_ip6_addr`` (what SocketAddress uses): the part before a zone is
    truncated to 39 characters, the zone itself is ignored (Node does not expose scope ids here)."""
    text = _c_string(text)
    if family == 4:
        return parse_ipv4(text)
    pct = text.find("%")
    if pct >= 0:
        text = text[: min(pct, 39)]
    return parse_ipv6(text)


def format_ipv4(value: int) -> str:  # node: inet_ntop4
    return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def format_ipv6(value: int) -> str:  # node: inet_ntop6 (deps/uv/src/inet.c)
    """Canonical text as libuv prints it (``::ffff:1.2.3.4``, ``::1.2.3.4``, ``1::``)."""
    words = [(value >> (16 * (7 - k))) & 0xFFFF for k in range(8)]
    best_base, best_len = -1, 0
    cur_base, cur_len = -1, 0
    for k, w in enumerate(words):
        if w == 0:
            if cur_base < 0:
                cur_base, cur_len = k, 1
            else:
                cur_len += 1
        elif cur_base >= 0:
            if best_base < 0 or cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if cur_base >= 0 and (best_base < 0 or cur_len > best_len):
        best_base, best_len = cur_base, cur_len
    if best_base >= 0 and best_len < 2:
        best_base = -1
    out: list[str] = []
    k = 0
    while k < 8:
        if best_base >= 0 and best_base <= k < best_base + best_len:
            if k == best_base:
                out.append(":")
            k += 1
            continue
        if k != 0:
            out.append(":")
        if (
            k == 6
            and best_base == 0
            and (best_len == 6 or (best_len == 7 and words[7] != 1) or (best_len == 5 and words[5] == 0xFFFF))
        ):
            out.append(format_ipv4(value & 0xFFFFFFFF))
            break
        out.append(f"{words[k]:x}")
        k += 1
    if best_base >= 0 and best_base + best_len == 8:
        out.append(":")
    return "".join(out)


def format_address(family: int, value: int) -> str:
    return format_ipv4(value) if family == 4 else format_ipv6(value)


def is_mapped(value: int) -> bool:
    """Whether a 128-bit address is IPv4-mapped (``::ffff:a.b.c.d``)."""
    return value >> 32 == 0xFFFF


def to_mapped(v4: int) -> int:
    return MAPPED_PREFIX | v4


def from_mapped(v6: int) -> int:
    return v6 & 0xFFFFFFFF


def normalize_address(text: str, family: int | None = None) -> tuple[int, int, str] | None:
    """``(family, value, canonical text)`` for address text libuv accepts, else None.

    With ``family`` None the IPv4 grammar is tried first, then IPv6 (as C++ SocketAddress::New does).
    """
    for fam in (4, 6) if family is None else (family,):
        value = uv_ip_addr(fam, text)
        if value is not None:
            return fam, value, format_address(fam, value)
    return None
