"""isIP, SocketAddress, BlockList and the autoSelectFamily defaults against Node 24.21 as it runs.

Every expectation here was printed by node_fixtures' Node 24 for the same call (see
docs/findings-address.md for the places where that disagrees with Node's docs).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator

import pytest

import uvnet as net
from uvnet.errors import NULL, NodeError, NodeRangeError, NodeSyntaxError, NodeTypeError


def raises(fn: Callable[[], object]) -> tuple[str, str | None, str]:
    with pytest.raises(NodeError) as info:
        fn()
    exc = info.value
    return exc.name, exc.code, str(exc)


# -- isIP ---------------------------------------------------------------------------------------------

IS_IP = {
    "::1": 6,
    "127.0.0.1": 4,
    "127.000.000.001": 0,
    "127.0.0.1/24": 0,
    "fhqwhgads": 0,
    "01.1.1.1": 0,
    "0.0.0.0": 4,
    "255.255.255.255": 4,
    "256.0.0.1": 0,
    "1.2.3": 0,
    " 1.2.3.4": 0,
    "1.2.3.4\n": 0,
    "::": 6,
    "::ffff:1.2.3.4": 6,
    "::ffff:01.2.3.4": 0,
    "fe80::1%eth0": 6,
    "fe80::1%": 0,
    "fe80::1%eth0%1": 0,
    "fe80::1%a.b-c:d": 6,
    "fe80::1%e_t": 0,
    "1:2:3:4:5:6:7:8": 6,
    "1:2:3:4:5:6:7:8:9": 0,
    "1:2:3:4:5:6:7::": 6,
    "::1:2:3:4:5:6:7": 6,
    "1::2::3": 0,
    "::1.2.3.4": 6,
    "1:2:3:4:5:6:1.2.3.4": 6,
    "1:2:3:4:5:6:7:1.2.3.4": 0,
    "ABCD::EF": 6,
    "abcde::1": 0,
    "[::1]": 0,
    "0x7f.0.0.1": 0,
    "127.1": 0,
    "\uff11.2.3.4": 0,
    "1.2.3.4%eth0": 0,
    "::%eth0": 6,
    "": 0,
}


@pytest.mark.parametrize(("text", "family"), IS_IP.items())
def test_is_ip(text: str, family: int) -> None:
    assert net.isIP(text) == family
    assert net.isIPv4(text) is (family == 4)
    assert net.isIPv6(text) is (family == 6)


class ToStringSix:
    def toString(self) -> str:
        return "::1"


@pytest.mark.parametrize(
    ("value", "family"),
    [
        (123, 0),
        (None, 0),
        (NULL, 0),
        (True, 0),
        (["1.2.3.4"], 4),  # String(['1.2.3.4']) is '1.2.3.4'
        (["::1", "x"], 0),
        ({}, 0),
        (ToStringSix(), 6),
        (b"1.2.3.4", 4),  # a Buffer's toString() decodes it
        (math.nan, 0),
    ],
)
def test_is_ip_coerces_with_string(value: object, family: int) -> None:
    assert net.isIP(value) == family


def test_is_ip_without_argument() -> None:
    assert (net.isIP(), net.isIPv4(), net.isIPv6()) == (0, False, False)


# -- SocketAddress -----------------------------------------------------------------------------------


def j(sa: net.SocketAddress | None) -> object:
    return None if sa is None else sa.toJSON()


def test_socket_address_defaults() -> None:
    assert net.SocketAddress().toJSON() == {
        "address": "127.0.0.1",
        "port": 0,
        "family": "ipv4",
        "flowlabel": 0,
    }
    assert net.SocketAddress(None).toJSON() == net.SocketAddress({}).toJSON()
    assert net.SocketAddress(family="ipv6").toJSON() == {
        "address": "::",
        "port": 0,
        "family": "ipv6",
        "flowlabel": 0,
    }
    assert net.SocketAddress({"family": "IPV6"}).family == "ipv6"


def test_socket_address_dict_and_keywords() -> None:
    a = net.SocketAddress({"address": "::1", "family": "ipv6", "port": 8080, "flowlabel": 5})
    b = net.SocketAddress(address="::1", family="ipv6", port=8080, flowlabel=5)
    c = net.SocketAddress({"address": "::1", "family": "ipv6"}, port=8080, flowlabel=5)
    assert a.toJSON() == b.toJSON() == c.toJSON()
    assert (a.address, a.port, a.family, a.flowlabel) == ("::1", 8080, "ipv6", 5)
    assert list(a.toJSON()) == ["address", "port", "family", "flowlabel"]
    assert repr(a) == "SocketAddress { address: '::1', port: 8080, family: 'ipv6', flowlabel: 5 }"
    with pytest.raises(AttributeError):
        a.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("options", "address"),
    [
        ({"address": "::ffff:1.2.3.4", "family": "ipv6"}, "::ffff:1.2.3.4"),
        ({"address": "::ffff:0102:0304", "family": "ipv6"}, "::ffff:1.2.3.4"),
        ({"address": "::1.2.3.4", "family": "ipv6"}, "::1.2.3.4"),
        ({"address": "2001:0db8:0000:0000:0000:0000:0000:0001", "family": "ipv6"}, "2001:db8::1"),
        ({"address": "2001:DB8::A", "family": "ipv6"}, "2001:db8::a"),
        ({"address": "fe80::1%eth0", "family": "ipv6"}, "fe80::1"),
        ({"address": "fe80::1%", "family": "ipv6"}, "fe80::1"),
        ({"address": "1:2:3:4:5:6:1.2.3.4", "family": "ipv6"}, "1:2:3:4:5:6:102:304"),
        ({"address": "::0.0.0.1", "family": "ipv6"}, "::1"),
        ({"address": "::1.0.0.0", "family": "ipv6"}, "::1.0.0.0"),
        ({"address": "::ffff:abcd:0", "family": "ipv6"}, "::ffff:171.205.0.0"),
        ({"address": "::ffff:0:1.2.3.4", "family": "ipv6"}, "::ffff:0:102:304"),
        ({"address": "1:0:0:1:0:0:0:1", "family": "ipv6"}, "1:0:0:1::1"),
        ({"address": "1:0:1:0:1:0:1:0", "family": "ipv6"}, "1:0:1:0:1:0:1:0"),
        ({"address": "1:2:3:4:5:6:7::", "family": "ipv6"}, "1:2:3:4:5:6:7:0"),
        ({"address": "::2:3:4:5:6:7:8", "family": "ipv6"}, "0:2:3:4:5:6:7:8"),
        ({"address": "0000:0000:0000:0000:0000:0000:0000:00001%x", "family": "ipv6"}, "::"),
        ({"address": "1.2.3.4\0junk"}, "1.2.3.4"),
        ({"address": "0.0.0.0"}, "0.0.0.0"),
    ],
)
def test_socket_address_normalisation(options: dict[str, object], address: str) -> None:
    assert net.SocketAddress(options).address == address


@pytest.mark.parametrize(
    "options",
    [
        {"address": "::1"},
        {"address": "1.2.3.4", "family": "ipv6"},
        {"address": "0x7f.1"},
        {"address": "127.1"},
        {"address": "01.2.3.4"},
        {"address": " 1.2.3.4"},
        {"address": ""},
        {"address": "localhost"},
        {"address": "::ffff:1.2.3.04", "family": "ipv6"},
        {"address": "::00001", "family": "ipv6"},
        {"address": ":1::", "family": "ipv6"},
        {"address": "1:2:3:4:5:6:7:8:", "family": "ipv6"},
        {"family": "IPv4"},  # the default address is picked before the family is lowercased
    ],
)
def test_socket_address_invalid_address(options: dict[str, object]) -> None:
    assert raises(lambda: net.SocketAddress(options)) == (
        "Error",
        "ERR_INVALID_ADDRESS",
        "Invalid socket address",
    )


TYPE = "TypeError"
RANGE = "RangeError"
BAD_PORT = "options.port should be >= 0 and < 65536. Received "


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            NULL,
            (TYPE, "ERR_INVALID_ARG_TYPE", 'The "options" argument must be of type object. Received null'),
        ),
        (
            [],
            (
                TYPE,
                "ERR_INVALID_ARG_TYPE",
                'The "options" argument must be of type object. Received an instance of Array',
            ),
        ),
        (
            "1.2.3.4",
            (
                TYPE,
                "ERR_INVALID_ARG_TYPE",
                "The \"options\" argument must be of type object. Received type string ('1.2.3.4')",
            ),
        ),
        (
            {"family": NULL},
            (TYPE, "ERR_INVALID_ARG_VALUE", "The property 'options.family' is invalid. Received null"),
        ),
        (
            {"family": 4},
            (TYPE, "ERR_INVALID_ARG_VALUE", "The property 'options.family' is invalid. Received 4"),
        ),
        (
            {"family": "ipv5"},
            (TYPE, "ERR_INVALID_ARG_VALUE", "The property 'options.family' is invalid. Received 'ipv5'"),
        ),
        (
            {"family": {"a": 1}},
            (TYPE, "ERR_INVALID_ARG_VALUE", "The property 'options.family' is invalid. Received { a: 1 }"),
        ),
        (
            {"address": NULL},
            (
                TYPE,
                "ERR_INVALID_ARG_TYPE",
                'The "options.address" property must be of type string. Received null',
            ),
        ),
        (
            {"address": 1},
            (
                TYPE,
                "ERR_INVALID_ARG_TYPE",
                'The "options.address" property must be of type string. Received type number (1)',
            ),
        ),
        ({"port": ""}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type string ('').")),
        ({"port": "  "}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type string ('  ').")),
        ({"port": -1}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type number (-1).")),
        ({"port": 65536}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type number (65536).")),
        ({"port": 1.5}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type number (1.5).")),
        ({"port": math.nan}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type number (NaN).")),
        ({"port": NULL}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "null.")),
        ({"port": True}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type boolean (true).")),
        ({"port": 4294967296}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type number (4294967296).")),
        (
            {"flowlabel": -1},
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "options.flowlabel" is out of range. '
                "It must be >= 0 && <= 4294967295. Received -1",
            ),
        ),
        (
            {"flowlabel": 1.5},
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "options.flowlabel" is out of range. It must be an integer. Received 1.5',
            ),
        ),
        (
            {"flowlabel": "1"},
            (
                TYPE,
                "ERR_INVALID_ARG_TYPE",
                "The \"options.flowlabel\" property must be of type number. Received type string ('1')",
            ),
        ),
        # The order of the checks: family, address type, port, flowlabel, then the address text.
        (
            {"family": "x", "address": 1},
            (TYPE, "ERR_INVALID_ARG_VALUE", "The property 'options.family' is invalid. Received 'x'"),
        ),
        (
            {"address": 1, "port": -1},
            (
                TYPE,
                "ERR_INVALID_ARG_TYPE",
                'The "options.address" property must be of type string. Received type number (1)',
            ),
        ),
        ({"address": "zz", "port": -1}, (RANGE, "ERR_SOCKET_BAD_PORT", BAD_PORT + "type number (-1).")),
    ],
)
def test_socket_address_validation(options: object, error: tuple[str, str, str]) -> None:
    assert raises(lambda: net.SocketAddress(options)) == error


@pytest.mark.parametrize(
    ("port", "expected"),
    [("80", 80), ("0x50", 80), (" 80 ", 80), ("1e3", 1000), (-0.0, 0), (None, 0), (65535, 65535), (80.0, 80)],
)
def test_socket_address_port_coercion(port: object, expected: int) -> None:
    assert net.SocketAddress(port=port).port == expected


def test_socket_address_flowlabel() -> None:
    assert net.SocketAddress(flowlabel=1).flowlabel == 0  # IPv4 has no flow label
    assert net.SocketAddress(flowlabel=1, family="ipv6").flowlabel == 1
    assert net.SocketAddress(flowlabel=0xFFFFF, family="ipv6").flowlabel == 0xFFFFF
    assert net.SocketAddress(flowlabel=0x100000).flowlabel == 0


def test_socket_address_flowlabel_node_aborts() -> None:
    # DIVERGENCE(socketaddress-flowlabel-abort): Node 24 dies on a C++ assertion here.
    with pytest.raises(NodeRangeError) as info:
        net.SocketAddress(flowlabel=0x100000, family="ipv6")
    assert info.value.code == "ERR_OUT_OF_RANGE"
    with pytest.raises(NodeRangeError):
        net.SocketAddress(flowlabel=2**31)


PARSE: dict[str, object] = {
    "1.2.3.4": ("1.2.3.4", 0, "ipv4"),
    "1.2.3.4:80": ("1.2.3.4", 0, "ipv4"),  # http's default port vanishes
    "1.2.3.4:080": ("1.2.3.4", 0, "ipv4"),
    "1.2.3.4:8080": ("1.2.3.4", 8080, "ipv4"),
    "[::1]:8080": ("::1", 8080, "ipv6"),
    "[::1]": ("::1", 0, "ipv6"),
    "::1": None,
    "[::ffff:1.2.3.4]:1": ("::ffff:1.2.3.4", 1, "ipv6"),
    "1.2.3.4:99999": None,
    "1.2.3.4:65535": ("1.2.3.4", 65535, "ipv4"),
    "1.2.3.4:": ("1.2.3.4", 0, "ipv4"),
    "127.1:8080": ("127.0.0.1", 8080, "ipv4"),
    "0x7f000001:1": ("127.0.0.1", 1, "ipv4"),
    "010.0.0.1:5": ("8.0.0.1", 5, "ipv4"),
    "01.1.1.1:1": ("1.1.1.1", 1, "ipv4"),
    "localhost:80": None,
    "[fe80::1%eth0]:1": None,
    "[fe80::1%25eth0]:1": None,
    "  1.2.3.4:80": None,
    "1.2.3.4:80/x": ("1.2.3.4", 0, "ipv4"),
    "user@1.2.3.4:81": ("1.2.3.4", 81, "ipv4"),
    "1.2.3.4:-1": None,
    "[::1": None,
    ":80": None,
    "": None,
    "[2001:DB8::0001]:5": ("2001:db8::1", 5, "ipv6"),
    "1.2.3.4:8a": None,
    "1.2.3.4.5:1": None,
    "256.1.1.1:1": None,
    "1.2.3.4:81?x#y": ("1.2.3.4", 81, "ipv4"),
    "[::]:0": ("::", 0, "ipv6"),
}


@pytest.mark.parametrize(("text", "expected"), PARSE.items())
def test_socket_address_parse(text: str, expected: tuple[str, int, str] | None) -> None:
    sa = net.SocketAddress.parse(text)
    if expected is None:
        assert sa is None
    else:
        assert sa is not None
        assert (sa.address, sa.port, sa.family) == expected


@pytest.mark.parametrize(("value", "received"), [(1, "type number (1)"), (None, "undefined"), (NULL, "null")])
def test_socket_address_parse_wants_a_string(value: object, received: str) -> None:
    assert raises(lambda: net.SocketAddress.parse(value)) == (
        TYPE,
        "ERR_INVALID_ARG_TYPE",
        f'The "input" argument must be of type string. Received {received}',
    )


def test_is_socket_address() -> None:
    assert net.SocketAddress.isSocketAddress(net.SocketAddress())
    assert not net.SocketAddress.isSocketAddress({"address": "1.2.3.4"})
    assert not net.SocketAddress.isSocketAddress(None)
    assert not net.SocketAddress.isSocketAddress()


# -- BlockList ----------------------------------------------------------------------------------------


def S(address: str, family: str = "ipv4") -> net.SocketAddress:
    return net.SocketAddress(address=address, family=family)


@pytest.fixture
def docs_list() -> Iterator[net.BlockList]:
    bl = net.BlockList()
    bl.addAddress("123.123.123.123")
    bl.addRange("10.0.0.1", "10.0.0.10")
    bl.addSubnet("8592:757c:efae:4e45::", 64, "ipv6")
    yield bl


def test_blocklist_docs_example(docs_list: net.BlockList) -> None:
    assert docs_list.check("123.123.123.123")
    assert docs_list.check("10.0.0.3")
    assert not docs_list.check("222.111.111.222")
    assert docs_list.check("::ffff:7b7b:7b7b", "ipv6")
    assert docs_list.check("::ffff:123.123.123.123", "ipv6")
    assert docs_list.rules == [
        "Address: IPv4 123.123.123.123",
        "Subnet: IPv6 8592:757c:efae:4e45::/64",
        "Range: IPv4 10.0.0.1-10.0.0.10",
    ]
    assert docs_list.toJSON() == docs_list.rules
    assert docs_list.rules is not docs_list.rules
    assert docs_list.size == 3


def test_blocklist_groups_rules_by_kind() -> None:
    bl = net.BlockList()
    bl.addRange("1.0.0.1", "1.0.0.2")
    bl.addSubnet("2.0.0.0", 8)
    bl.addAddress("3.3.3.3")
    bl.addRange("4.0.0.1", "4.0.0.2")
    bl.addSubnet("6.0.0.0", 8)
    bl.addSubnet("192.168.1.77", 24)  # kept as written
    assert bl.rules == [
        "Address: IPv4 3.3.3.3",
        "Subnet: IPv4 192.168.1.77/24",
        "Subnet: IPv4 6.0.0.0/8",
        "Subnet: IPv4 2.0.0.0/8",
        "Range: IPv4 4.0.0.1-4.0.0.2",
        "Range: IPv4 1.0.0.1-1.0.0.2",
    ]


def test_blocklist_address_rules_dedupe_across_forms() -> None:
    bl = net.BlockList()
    bl.addAddress(net.SocketAddress(address="1.2.3.4", port=80))
    bl.addAddress(net.SocketAddress(address="1.2.3.4", port=81))
    bl.addAddress("::ffff:1.2.3.4", "ipv6")
    assert (bl.rules, bl.size) == (["Address: IPv6 ::ffff:1.2.3.4"], 1)
    assert bl.check("1.2.3.4") and bl.check("::ffff:102:304", "ipv6")
    bl.removeAddress("1.2.3.4")
    assert (bl.rules, bl.size, bl.check("::ffff:1.2.3.4", "ipv6")) == ([], 0, False)


# Address rules come out in the iteration order of Node's C++ std::unordered_map (see
# uvnet/_hashorder.py).  Every expected list below was measured on Node v24.21.0 (linux-x64, with the
# host's libstdc++.so.6.0.30), running the same calls.


def _blocklist_after(*calls: tuple[object, ...]) -> net.BlockList:
    bl = net.BlockList()
    for name, *args in calls:
        getattr(bl, str(name))(*args)
    return bl


def _v4(*last: int, net24: str = "1.1.1") -> list[str]:
    return [f"{net24}.{i}" for i in last]


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        pytest.param(
            [("addAddress", a) for a in _v4(*range(1, 13))],
            _v4(12, 11, 10, 9, 8, 7, 1, 4, 6, 2, 3, 5),
            id="ipv4-twelve",
        ),
        pytest.param(
            [
                ("addAddress", "2001:db8::1", "ipv6"),
                ("addAddress", "10.0.0.1"),
                ("addAddress", "::1", "ipv6"),
                ("addAddress", "::ffff:10.0.0.2", "ipv6"),
                ("addAddress", "fe80::1", "ipv6"),
                ("addAddress", "10.0.0.3"),
                ("addAddress", "10.0.0.2"),  # replaces the mapped rule, keeps its place
                ("addAddress", "::ffff:10.0.0.1", "ipv6"),
                ("removeAddress", "::ffff:10.0.0.3", "ipv6"),  # removes the IPv4 rule
                ("addAddress", "10.0.0.4"),
            ],
            ["10.0.0.4", "fe80::1", "::1", "10.0.0.2", "::ffff:10.0.0.1", "2001:db8::1"],
            id="mixed-families-mapped-forms",
        ),
        pytest.param(
            [
                ("addAddresses", [f"2001:db8::{i:x}" for i in range(1, 21)], "ipv6"),  # 13 -> 29 buckets
                ("removeAddress", "2001:db8::7", "ipv6"),
                ("removeAddress", "2001:db8::13", "ipv6"),
            ],
            [
                f"2001:db8::{i:x}"
                for i in (0x12, 0x11, 0x10, 0x14, 0xF, 0xE, 0xD, 0xA, 0xC, 3, 1, 4, 5, 6, 2, 8, 9, 0xB)
            ],
            id="ipv6-rehash-and-erase",
        ),
        pytest.param(
            [("addAddress", a) for a in _v4(*range(1, 8), net24="192.0.2")],
            _v4(7, 1, 2, 3, 4, 6, 5, net24="192.0.2"),
            id="fresh-list",
        ),
        pytest.param(
            [
                *[("addAddress", a) for a in _v4(*range(40), net24="198.51.100")],  # 127 buckets by now
                ("clear",),  # std::unordered_map::clear keeps the buckets
                *[("addAddress", a) for a in _v4(*range(1, 8), net24="192.0.2")],
            ],
            _v4(7, 6, 5, 4, 3, 2, 1, net24="192.0.2"),
            id="after-clear",
        ),
    ],
)
def test_blocklist_address_rule_order(calls: list[tuple[object, ...]], expected: list[str]) -> None:
    bl = _blocklist_after(*calls)
    assert bl.rules == [f"Address: {'IPv6' if ':' in a else 'IPv4'} {a}" for a in expected]
    assert bl.size == len(expected)


def test_blocklist_address_order_with_other_rules() -> None:
    bl = _blocklist_after(
        ("addRange", "1.0.0.1", "1.0.0.9"),
        ("addAddress", "5.6.7.8"),
        ("addSubnet", "10.0.0.0", 8),
        ("addAddress", "abcd::1", "ipv6"),
        ("addAddress", "9.9.9.9"),
        ("addSubnet", "fc00::", 7, "ipv6"),
        ("addAddress", "::ffff:5.6.7.8", "ipv6"),
        ("addRange", "2.0.0.1", "2.0.0.9"),
    )
    assert bl.rules == [
        "Address: IPv4 9.9.9.9",
        "Address: IPv6 ::ffff:5.6.7.8",
        "Address: IPv6 abcd::1",
        "Subnet: IPv6 fc00::/7",
        "Subnet: IPv4 10.0.0.0/8",
        "Range: IPv4 2.0.0.1-2.0.0.9",
        "Range: IPv4 1.0.0.1-1.0.0.9",
    ]
    assert bl.size == 7


def test_blocklist_ignores_constructor_arguments() -> None:
    bl = net.BlockList(1, 2)  # new net.BlockList(1, 2) works in Node
    bl.addAddress("1.1.1.1")
    bl.addAddress("::1", "ipv6")
    assert bl.rules == ["Address: IPv4 1.1.1.1", "Address: IPv6 ::1"]


def test_blocklist_check_addresses() -> None:
    bl = net.BlockList()
    bl.addAddress("1.2.3.4")
    bl.addAddress("fe80::1%eth0", "ipv6")
    assert "Address: IPv6 fe80::1" in bl.rules
    assert bl.check("1.2.3.4")
    assert bl.check("::ffff:1.2.3.4", "ipv6")
    assert not bl.check("::1.2.3.4", "ipv6")
    assert bl.check(S("1.2.3.4"))
    assert bl.check(S("1.2.3.4"), "ipv6")  # the family argument is ignored for a SocketAddress
    assert bl.check("fe80::1%lo", "ipv6")
    assert bl.check("1.2.3.4", "IPv4")
    assert not bl.check("1.2.3.4", "")  # anything but 'ipv4' means IPv6
    assert not bl.check("fe80::1")  # the default family is ipv4
    assert bl.check("fe80::1", "anything")
    assert not bl.check("zzz")
    assert not bl.check("1.2.3.04")
    assert bl.check("1.2.3.4\0junk")


def test_blocklist_subnets_cross_family() -> None:
    def checks(setup: Callable[[net.BlockList], None], *queries: tuple[str, str]) -> list[bool]:
        bl = net.BlockList()
        setup(bl)
        return [bl.check(a, f) for a, f in queries]

    v4, v6 = "ipv4", "ipv6"
    assert checks(
        lambda b: b.addSubnet("::", 64, v6), ("1.2.3.4", v4), ("::ffff:1.2.3.4", v6), ("::1", v6), ("1::", v6)
    ) == [True, True, True, False]
    assert checks(
        lambda b: b.addSubnet("0.0.0.0", 0), ("1.2.3.4", v4), ("::1", v6), ("::ffff:1.2.3.4", v6)
    ) == [
        True,
        False,
        True,
    ]
    assert checks(
        lambda b: b.addSubnet("10.0.0.0", 8),
        ("10.255.0.1", v4),
        ("11.0.0.0", v4),
        ("::ffff:10.1.1.1", v6),
        ("::10.1.1.1", v6),
    ) == [True, False, True, False]
    assert checks(
        lambda b: b.addSubnet("::ffff:10.0.0.0", 90, v6),
        ("10.255.0.1", v4),
        ("200.0.0.0", v4),
        ("::1", v6),
        ("::fffe:1:1", v6),
    ) == [True, True, False, True]


def test_blocklist_ranges_cross_family() -> None:
    bl = net.BlockList()
    bl.addRange("10.0.0.1", "10.0.0.10")
    assert [bl.check("10.0.0.10"), bl.check("::ffff:10.0.0.5", "ipv6"), bl.check("::10.0.0.5", "ipv6")] == [
        True,
        True,
        False,
    ]
    wide = net.BlockList()
    wide.addRange("::1", "::ffff:ffff:ffff", "ipv6")
    # An IPv4 address and a non-mapped IPv6 bound are unordered: no match, although the mapped form is inside.
    assert [wide.check("10.0.0.1"), wide.check("::ffff:10.0.0.5", "ipv6")] == [False, True]
    mixed = net.BlockList()
    mixed.addRange(S("::2", "ipv6"), S("1.1.1.1"))
    assert mixed.rules == ["Range: IPv6 ::2-1.1.1.1"]
    assert [mixed.check("1.1.1.1"), mixed.check("::ffff:1.1.1.0", "ipv6"), mixed.check("::5", "ipv6")] == [
        False,
        True,
        False,
    ]


def test_blocklist_add_range_order() -> None:
    bl = net.BlockList()
    bl.addRange("10.0.0.10", "10.0.0.10")
    bl.addRange(S("1.1.1.1"), S("::2", "ipv6"))  # unordered pairs are accepted
    assert raises(lambda: bl.addRange("10.0.0.10", "10.0.0.1")) == (
        TYPE,
        "ERR_INVALID_ARG_VALUE",
        "The argument 'start' must come before end. Received SocketAddress "
        "{ address: '10.0.0.10', port: 0, family: 'ipv4', flowlabel: 0 }",
    )
    assert (
        raises(lambda: bl.addRange(S("1.1.1.5"), S("::ffff:1.1.1.1", "ipv6")))[1] == "ERR_INVALID_ARG_VALUE"
    )


def arg_type(
    name: str, received: str, kind: str = "argument", types: str = "of type string"
) -> tuple[str, str, str]:
    return (TYPE, "ERR_INVALID_ARG_TYPE", f'The "{name}" {kind} must be {types}. Received {received}')


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda b: b.check(1), arg_type("address", "type number (1)")),
        (lambda b: b.check(), arg_type("address", "undefined")),
        (lambda b: b.check("1.2.3.4", 4), arg_type("family", "type number (4)")),
        (lambda b: b.addAddress(1), arg_type("address", "type number (1)")),
        (lambda b: b.addAddress("1.2.3.4", 4), arg_type("family", "type number (4)")),
        (
            lambda b: b.addAddress("1.2.3.4", "ipv5"),
            (TYPE, "ERR_INVALID_ARG_VALUE", "The property 'options.family' is invalid. Received 'ipv5'"),
        ),
        (lambda b: b.addAddress("zz"), ("Error", "ERR_INVALID_ADDRESS", "Invalid socket address")),
        (
            lambda b: b.addAddress("1.2.3.4", "ipv6"),
            ("Error", "ERR_INVALID_ADDRESS", "Invalid socket address"),
        ),
        (lambda b: b.addRange(1, "1.1.1.1"), arg_type("start", "type number (1)")),
        (lambda b: b.addRange("1.1.1.1", 1), arg_type("end", "type number (1)")),
        (lambda b: b.addRange("1.1.1.1", "1.1.1.2", 5), arg_type("family", "type number (5)")),
        (lambda b: b.addSubnet(1, 8), arg_type("network", "type number (1)")),
        (
            lambda b: b.addSubnet("1.0.0.0", 33),
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 33',
            ),
        ),
        (
            lambda b: b.addSubnet("::", 129, "ipv6"),
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "prefix" is out of range. It must be >= 0 && <= 128. Received 129',
            ),
        ),
        (
            lambda b: b.addSubnet("1.0.0.0", 1.5),
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "prefix" is out of range. It must be an integer. Received 1.5',
            ),
        ),
        (
            lambda b: b.addSubnet("1.0.0.0", math.nan),
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "prefix" is out of range. It must be an integer. Received NaN',
            ),
        ),
        (
            lambda b: b.addSubnet("3.0.0.0", 2**40),
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 1_099_511_627_776',
            ),
        ),
        (
            lambda b: b.addSubnet("1.0.0.0", "8"),
            arg_type("prefix", "type string ('8')", types="of type number"),
        ),
        (lambda b: b.addSubnet("1.0.0.0"), arg_type("prefix", "undefined", types="of type number")),
        (
            lambda b: b.addCIDR("10.0.0.0"),
            (
                TYPE,
                "ERR_INVALID_ARG_VALUE",
                "The argument 'cidr' must contain a prefix length (e.g. \"10.0.0.0/8\"). Received '10.0.0.0'",
            ),
        ),
        (
            lambda b: b.addCIDR("10.0.0.0/08"),
            (
                TYPE,
                "ERR_INVALID_ARG_VALUE",
                "The argument 'cidr' prefix length must be a valid integer. Received '10.0.0.0/08'",
            ),
        ),
        (
            lambda b: b.addCIDR("10.0.0.0/-1"),
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "prefix" is out of range. It must be >= 0 && <= 32. Received -1',
            ),
        ),
        (lambda b: b.addCIDR("zz/8"), ("Error", "ERR_INVALID_ADDRESS", "Invalid socket address")),
        (lambda b: b.addCIDR(1), arg_type("cidr", "type number (1)")),
        (
            lambda b: b.addCIDRs("1.0.0.0/8"),
            arg_type("cidrs", "type string ('1.0.0.0/8')", types="an instance of Array"),
        ),
        (lambda b: b.addCIDRs(["1.0.0.0/8", 5]), arg_type("cidrs[1]", "type number (5)")),
        (
            lambda b: b.addAddresses("1.1.1.1"),
            arg_type("addresses", "type string ('1.1.1.1')", types="an instance of Array"),
        ),
        (lambda b: b.addAddresses(["1.1.1.1", 2]), arg_type("addresses[1]", "type number (2)")),
        (
            lambda b: b.removeSubnet("1.0.0.0", 33),
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "prefix" is out of range. It must be >= 0 && <= 32. Received 33',
            ),
        ),
    ],
)
def test_blocklist_validation(call: Callable[[net.BlockList], object], error: tuple[str, str, str]) -> None:
    bl = net.BlockList()
    assert raises(lambda: call(bl)) == error
    assert bl.rules == []


def test_blocklist_removal() -> None:
    bl = net.BlockList()
    bl.addAddress("1.2.3.4")
    bl.addAddress("::ffff:5.6.7.8", "ipv6")
    bl.addSubnet("10.0.0.0", 8)
    bl.addRange("1.1.1.1", "1.1.1.9")
    assert bl.size == 4
    bl.removeAddress("::ffff:1.2.3.4", "ipv6")
    bl.removeAddress("5.6.7.8")
    bl.removeAddress("9.9.9.9")
    assert bl.rules == ["Subnet: IPv4 10.0.0.0/8", "Range: IPv4 1.1.1.1-1.1.1.9"]
    bl.removeSubnet("10.0.0.0", 9)
    bl.removeSubnet("10.1.0.0", 8)
    bl.removeSubnet("::ffff:10.0.0.0", 104, "ipv6")
    bl.removeRange("::ffff:1.1.1.1", "::ffff:1.1.1.9", "ipv6")
    bl.removeRange("1.1.1.9", "1.1.1.1")
    assert bl.size == 2
    bl.removeSubnet("10.0.0.0", 8)
    bl.removeRange("1.1.1.1", "1.1.1.9")
    assert (bl.rules, bl.size, bl.check("10.0.0.1")) == ([], 0, False)


def test_blocklist_remove_one_of_duplicates() -> None:
    bl = net.BlockList()
    bl.addSubnet("1.0.0.0", 8)
    bl.addSubnet("2.0.0.0", 8)
    bl.addSubnet("1.0.0.0", 8)
    bl.removeSubnet("1.0.0.0", 8)
    assert bl.rules == ["Subnet: IPv4 2.0.0.0/8", "Subnet: IPv4 1.0.0.0/8"]
    bl.addSubnet("10.0.0.0", 8)
    bl.addSubnet("10.1.0.0", 16)
    bl.removeSubnet("10.0.0.0", 8)
    assert bl.check("10.1.2.3") and not bl.check("10.2.0.0")
    bl.clear()
    assert (bl.rules, bl.size) == ([], 0)


def test_blocklist_cidr_helpers() -> None:
    bl = net.BlockList()
    bl.addCIDR("10.0.0.0/8")
    bl.addCIDR("fe80::/10")
    bl.addCIDR("1.2.3.4/32")
    assert bl.rules == ["Subnet: IPv4 1.2.3.4/32", "Subnet: IPv6 fe80::/10", "Subnet: IPv4 10.0.0.0/8"]
    bl.removeCIDR("fe80::/10")
    assert bl.size == 2
    partial = net.BlockList()
    with pytest.raises(NodeError):
        partial.addCIDRs(["1.0.0.0/8", "x"])  # parse errors come before any change
    assert partial.rules == []
    with pytest.raises(NodeError):
        partial.addCIDRs(["1.0.0.0/8", "zz/8"])  # an address error comes after the first add
    assert partial.rules == ["Subnet: IPv4 1.0.0.0/8"]


def test_blocklist_add_addresses_is_atomic() -> None:
    bl = net.BlockList()
    with pytest.raises(NodeError):
        bl.addAddresses(["1.1.1.1", "zz"])
    assert bl.rules == []
    bl.addAddresses([], "x")  # the family is only checked per address
    assert raises(lambda: bl.addAddresses(["1.1.1.1"], "x"))[1] == "ERR_INVALID_ARG_VALUE"
    bl.addAddresses(["::1"], "ipv6")
    assert bl.rules == ["Address: IPv6 ::1"]


def test_blocklist_from_json() -> None:
    data = [
        "Subnet: IPv4 192.168.1.0/24",
        "Address: IPv4 10.0.0.5",
        "Range: IPv4 192.168.2.1-192.168.2.10",
        "Range: IPv4 10.0.0.1-10.0.0.10",
    ]
    expected = [
        "Address: IPv4 10.0.0.5",
        "Subnet: IPv4 192.168.1.0/24",
        "Range: IPv4 10.0.0.1-10.0.0.10",
        "Range: IPv4 192.168.2.1-192.168.2.10",
    ]
    bl = net.BlockList()
    bl.fromJSON(data)
    assert bl.rules == expected
    bl.fromJSON(json.dumps(["Address: IPv4 10.0.0.5"]))
    assert (bl.rules, bl.size) == (expected, 4)


def test_blocklist_from_json_quirks() -> None:
    bl = net.BlockList()
    bl.fromJSON(
        [
            "Subnet: IPv4 1.2.3.4/244",  # the prefix is read as 24
            "xx Address: IPv4 5.6.7.8 yy",
            "address: ipv6 ::2",  # ignored: no 'IPv6' in it
            "Subnet: IPv6 fe80::/1000",  # read as /100
        ]
    )
    assert bl.rules == ["Address: IPv4 5.6.7.8", "Subnet: IPv6 fe80::/100", "Subnet: IPv4 1.2.3.4/24"]
    lossy = net.BlockList()
    lossy.fromJSON(
        [
            "Address: IPv6 ::ffff:1.2.3.4",
            "Subnet: IPv6 ::ffff:9.0.0.0/104",
            "Range: IPv6 ::ffff:1.0.0.1-::ffff:1.0.0.5",
        ]
    )
    assert lossy.rules == ["Address: IPv6 ::255.255.0.1"]


@pytest.mark.parametrize(
    ("data", "received"),
    [
        ('{"a":1}', "an instance of Object"),
        ("[1,2]", "an instance of Array"),
        ("5", "type number (5)"),
        ("null", "null"),
        ('"str"', "type string ('str')"),
        ([1], "an instance of Array"),
        ({}, "an instance of Object"),
        (None, "undefined"),
    ],
)
def test_blocklist_from_json_types(data: object, received: str) -> None:
    assert raises(lambda: net.BlockList().fromJSON(data)) == arg_type(
        "data", received, types="of type string or string[]"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "Unexpected token 'o', \"not json\" is not valid JSON"),
        ("", "Unexpected end of JSON input"),
        ("[1,", "Unexpected end of JSON input"),
        ('{"a"', "Expected ':' after property name in JSON at position 4 (line 1 column 5)"),
        ("[1]x", "Unexpected non-whitespace character after JSON at position 3 (line 1 column 4)"),
        ("x" * 40, "Unexpected token 'x', \"xxxxxxxxxx\"... is not valid JSON"),
        ("[1 2]", "Expected ',' or ']' after array element in JSON at position 3 (line 1 column 4)"),
        ("['a']", "Unexpected token ''', \"['a']\" is not valid JSON"),
        ('"abc', "Unterminated string in JSON at position 4 (line 1 column 5)"),
        ("[01]", "Unexpected number in JSON at position 2 (line 1 column 3)"),
    ],
)
def test_blocklist_from_json_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(NodeSyntaxError) as info:
        net.BlockList().fromJSON(text)
    assert (info.value.name, info.value.code, str(info.value)) == ("SyntaxError", None, message)


def test_blocklist_misc() -> None:
    bl = net.BlockList()
    assert repr(bl) == "BlockList { rules: [] }"
    bl.addAddress("1.1.1.1")
    assert repr(bl) == "BlockList { rules: [ 'Address: IPv4 1.1.1.1' ] }"
    assert net.BlockList.isBlockList(bl)
    assert not net.BlockList.isBlockList({})
    assert not net.BlockList.isBlockList(None)
    assert not net.BlockList.isBlockList()
    assert net.BlockList.PRIVATE_RANGES == (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "::1/128",
        "169.254.0.0/16",
        "fe80::/10",
        "fc00::/7",
    )


# -- autoSelectFamily defaults ----------------------------------------------------------------------


@pytest.fixture
def restore_defaults() -> Iterator[None]:
    yield
    net.setDefaultAutoSelectFamily(True)
    net.setDefaultAutoSelectFamilyAttemptTimeout(250)


@pytest.mark.usefixtures("restore_defaults")
def test_auto_select_family_defaults() -> None:
    assert net.getDefaultAutoSelectFamily() is True
    assert net.getDefaultAutoSelectFamilyAttemptTimeout() == 250
    net.setDefaultAutoSelectFamily(False)
    assert net.getDefaultAutoSelectFamily() is False


@pytest.mark.usefixtures("restore_defaults")
@pytest.mark.parametrize(
    ("value", "stored"), [(5, 10), (1, 10), (9, 10), (10, 10), (11, 11), (10.0, 10), (2**31 - 1, 2**31 - 1)]
)
def test_attempt_timeout_clamps_to_ten(value: object, stored: int) -> None:
    net.setDefaultAutoSelectFamilyAttemptTimeout(value)
    assert net.getDefaultAutoSelectFamilyAttemptTimeout() == stored


@pytest.mark.usefixtures("restore_defaults")
@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            0,
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "value" is out of range. It must be >= 1 && <= 2147483647. Received 0',
            ),
        ),
        (
            1.5,
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "value" is out of range. It must be an integer. Received 1.5',
            ),
        ),
        (
            math.inf,
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "value" is out of range. It must be an integer. Received Infinity',
            ),
        ),
        (
            2**31,
            (
                RANGE,
                "ERR_OUT_OF_RANGE",
                'The value of "value" is out of range. It must be >= 1 && <= 2147483647. Received 2147483648',
            ),
        ),
        (
            "100",
            (
                TYPE,
                "ERR_INVALID_ARG_TYPE",
                "The \"value\" argument must be of type number. Received type string ('100')",
            ),
        ),
        (
            None,
            (TYPE, "ERR_INVALID_ARG_TYPE", 'The "value" argument must be of type number. Received undefined'),
        ),
    ],
)
def test_attempt_timeout_validation(value: object, error: tuple[str, str, str]) -> None:
    assert raises(lambda: net.setDefaultAutoSelectFamilyAttemptTimeout(value)) == error
    assert net.getDefaultAutoSelectFamilyAttemptTimeout() == 250


@pytest.mark.usefixtures("restore_defaults")
@pytest.mark.parametrize(
    ("value", "received"),
    [(0, "type number (0)"), ("true", "type string ('true')"), (NULL, "null"), (None, "undefined")],
)
def test_auto_select_family_validation(value: object, received: str) -> None:
    assert raises(lambda: net.setDefaultAutoSelectFamily(value)) == arg_type(
        "value", received, types="of type boolean"
    )
    assert net.getDefaultAutoSelectFamily() is True


def test_public_surface() -> None:
    assert set(net.__all__) >= {
        "BlockList",
        "SocketAddress",
        "isIP",
        "isIPv4",
        "isIPv6",
        "getDefaultAutoSelectFamily",
        "setDefaultAutoSelectFamily",
        "getDefaultAutoSelectFamilyAttemptTimeout",
        "setDefaultAutoSelectFamilyAttemptTimeout",
    }
    assert issubclass(NodeTypeError, TypeError) and issubclass(NodeRangeError, ValueError)
