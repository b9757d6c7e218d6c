"""uvnet.errors against Node 24.21 as it runs.

Every expected string below was printed by node_fixtures' Node 24 (``new codes[X](...)`` under
``--expose-internals``, ``util.inspect``, and real sockets for the system errors).
"""

from __future__ import annotations

import math
import pickle
import socket

import pytest

from uvnet.errors import (
    NULL,
    AbortError,
    NodeAggregateError,
    NodeError,
    NodeRangeError,
    NodeSystemError,
    NodeTypeError,
    describe_received,
    dns_exception,
    errno_exception,
    error_to_string,
    from_oserror,
    inspect,
    js_number_to_string,
    js_to_number,
    make_error,
    system_error,
    uv_error_name,
    uv_system_error,
    validate_int32,
    validate_port,
    validate_uint32,
)


def foo() -> None:
    pass


class Bar:
    pass


# -- determineSpecificType ------------------------------------------------------------------------

RECEIVED = [
    (None, "undefined"),
    (NULL, "null"),
    (1, "type number (1)"),
    (1.5, "type number (1.5)"),
    (-0.0, "type number (-0)"),
    (0, "type number (0)"),
    (math.nan, "type number (NaN)"),
    (math.inf, "type number (Infinity)"),
    (-math.inf, "type number (-Infinity)"),
    (1e21, "type number (1e+21)"),
    (1e-7, "type number (1e-7)"),
    (123456789012345680000, "type number (123456789012345680000)"),
    ("abc", "type string ('abc')"),
    ("a'b", 'type string ("a\'b")'),
    ("x" * 28, "type string ('xxxxxxxxxxxxxxxxxxxxxxxxxxxx')"),
    ("x" * 29, "type string ('xxxxxxxxxxxxxxxxxxxxxxxxx...')"),
    ("it's " + "x" * 40, 'type string ("it\'s xxxxxxxxxxxxxxxxxxxx...")'),
    (True, "type boolean (true)"),
    (False, "type boolean (false)"),
    (foo, "function foo"),
    (lambda: 0, "function "),
    (Bar, "function Bar"),
    (Bar(), "an instance of Bar"),
    ([1, 2], "an instance of Array"),
    ((1, 2), "an instance of Array"),
    ({"a": 1}, "an instance of Object"),
    (b"ab", "an instance of Buffer"),
    (bytearray(b"ab"), "an instance of Buffer"),
]


@pytest.mark.parametrize(("value", "expected"), RECEIVED)
def test_describe_received(value: object, expected: str) -> None:
    assert describe_received(value) == expected


def test_invalid_arg_type_message_and_class() -> None:
    err = make_error("ERR_INVALID_ARG_TYPE", "options.address", "string", 1)
    assert isinstance(err, TypeError) and isinstance(err, NodeTypeError)
    assert err.name == "TypeError"
    assert err.code == "ERR_INVALID_ARG_TYPE"
    assert str(err) == 'The "options.address" property must be of type string. Received type number (1)'
    assert err.toString() == (
        'TypeError [ERR_INVALID_ARG_TYPE]: The "options.address" property must be of type string. '
        "Received type number (1)"
    )


@pytest.mark.parametrize(
    ("name", "expected", "message"),
    [
        ("x", "string", 'The "x" argument must be of type string. Received type number (1)'),
        (
            "x",
            ["string", "number"],
            'The "x" argument must be one of type string or number. Received type number (1)',
        ),
        (
            "x",
            ["string", "Buffer", "Uint8Array"],
            'The "x" argument must be of type string or an instance of Buffer or Uint8Array. '
            "Received type number (1)",
        ),
        ("x", "Array", 'The "x" argument must be an instance of Array. Received type number (1)'),
        (
            "data",
            ["string", "string[]"],
            'The "data" argument must be of type string or string[]. Received type number (1)',
        ),
        (
            "x",
            ["object", "Buffer"],
            'The "x" argument must be an instance of Buffer or Object. Received type number (1)',
        ),
        ("first argument", "string", "The first argument must be of type string. Received type number (1)"),
    ],
)
def test_invalid_arg_type_expected_lists(name: str, expected: object, message: str) -> None:
    assert str(make_error("ERR_INVALID_ARG_TYPE", name, expected, 1)) == message


# -- util.inspect -----------------------------------------------------------------------------------

INSPECT = [
    (None, "undefined"),
    (NULL, "null"),
    (-0.0, "-0"),
    (math.nan, "NaN"),
    ("abc", "'abc'"),
    ("a'b", '"a\'b"'),
    ("a'b\"c", "`a'b\"c`"),
    ("a'b\"c`d", "'a\\'b\"c`d'"),
    ("line\nbreak", "'line\\nbreak'"),
    ("\\back", "'\\\\back'"),
    ({"a": 1}, "{ a: 1 }"),
    ({}, "{}"),
    ([], "[]"),
    ({"a-b": 1, "_x": 2, "1": 3}, "{ '1': 3, 'a-b': 1, _x: 2 }"),
    ({"a": {"b": {"c": {"d": 1}}}}, "{ a: { b: { c: [Object] } } }"),
    ([1, [2, [3, [4]]]], "[ 1, [ 2, [ 3, [Array] ] ] ]"),
    (b"ab", "<Buffer 61 62>"),
    (foo, "[Function: foo]"),
    (Bar, "[class Bar]"),
    (
        list(range(30)),
        "[\n   0,  1,  2,  3,  4,  5,  6,  7,  8,\n   9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
        "  18, 19, 20, 21, 22, 23, 24, 25, 26,\n  27, 28, 29\n]",
    ),
]


@pytest.mark.parametrize(("value", "expected"), INSPECT)
def test_inspect(value: object, expected: str) -> None:
    assert inspect(value) == expected


def test_invalid_arg_value() -> None:
    err = make_error("ERR_INVALID_ARG_VALUE", "options.family", "ipv5")
    assert isinstance(err, NodeTypeError)
    assert str(err) == "The property 'options.family' is invalid. Received 'ipv5'"
    err = make_error("ERR_INVALID_ARG_VALUE", "x", {"a": 1}, "must be good", kind="RangeError")
    assert isinstance(err, NodeRangeError) and isinstance(err, ValueError)
    assert str(err) == "The argument 'x' must be good. Received { a: 1 }"
    long = str(make_error("ERR_INVALID_ARG_VALUE", "options.family", "x" * 200))
    assert long == "The property 'options.family' is invalid. Received '" + "x" * 127 + "..."


@pytest.mark.parametrize(
    ("value", "received"),
    [
        (2**32, "4294967296"),
        (2**32 + 1, "4_294_967_297"),
        (-(2**32) - 1, "-4_294_967_297"),
        (2**40, "1_099_511_627_776"),
        (1.5, "1.5"),
        (math.nan, "NaN"),
        ("8", "'8'"),
        (1e21, "1e_+21"),
    ],
)
def test_out_of_range_number_formatting(value: object, received: str) -> None:
    err = make_error("ERR_OUT_OF_RANGE", "x", ">= 0", value)
    assert isinstance(err, NodeRangeError)
    assert str(err) == f'The value of "x" is out of range. It must be >= 0. Received {received}'


def test_socket_bad_port() -> None:
    assert str(make_error("ERR_SOCKET_BAD_PORT", "options.port", -1)) == (
        "options.port should be >= 0 and < 65536. Received type number (-1)."
    )
    assert str(make_error("ERR_SOCKET_BAD_PORT", "Port", 0, False)) == (
        "Port should be > 0 and < 65536. Received type number (0)."
    )


@pytest.mark.parametrize(
    ("code", "args", "name", "message"),
    [
        (
            "ERR_SERVER_ALREADY_LISTEN",
            (),
            "Error",
            "Listen method has been called more than once without closing.",
        ),
        ("ERR_SERVER_NOT_RUNNING", (), "Error", "Server is not running."),
        ("ERR_SOCKET_CLOSED", (), "Error", "Socket is closed"),
        (
            "ERR_SOCKET_CLOSED_BEFORE_CONNECTION",
            (),
            "Error",
            "Socket closed before the connection was established",
        ),
        ("ERR_STREAM_WRITE_AFTER_END", (), "Error", "write after end"),
        ("ERR_STREAM_DESTROYED", ("write",), "Error", "Cannot call write after a stream was destroyed"),
        ("ERR_STREAM_PUSH_AFTER_EOF", (), "Error", "stream.push() after EOF"),
        ("ERR_STREAM_NULL_VALUES", (), "TypeError", "May not write null values to stream"),
        ("ERR_MULTIPLE_CALLBACK", (), "Error", "Callback called multiple times"),
        ("ERR_MISSING_ARGS", ("x",), "TypeError", 'The "x" argument must be specified'),
        (
            "ERR_MISSING_ARGS",
            ("x", "y", "z"),
            "TypeError",
            'The "x", "y", and "z" arguments must be specified',
        ),
        (
            "ERR_MISSING_ARGS",
            (["a", "b"], "c"),
            "TypeError",
            'The "a" or "b" and "c" arguments must be specified',
        ),
        ("ERR_INVALID_HANDLE_TYPE", (), "TypeError", "This handle type cannot be sent"),
        ("ERR_SOCKET_CONNECTION_TIMEOUT", (), "Error", "Socket connection timeout"),
        ("ERR_INVALID_FD_TYPE", ("UNKNOWN",), "TypeError", "Unsupported fd type: UNKNOWN"),
        ("ERR_INVALID_IP_ADDRESS", ("1.2.3",), "TypeError", "Invalid IP address: 1.2.3"),
        (
            "ERR_INVALID_ADDRESS_FAMILY",
            ("IPv5", "localhost", 80),
            "RangeError",
            "Invalid address family: IPv5 localhost:80",
        ),
        (
            "ERR_SOCKET_HANDLE_ADOPTED",
            (),
            "Error",
            "The bound socket has already been adopted by a server or socket",
        ),
        ("ERR_INVALID_THIS", ("BlockList",), "TypeError", 'Value of "this" must be of type BlockList'),
        ("ERR_IP_BLOCKED", ("1.2.3.4",), "Error", "IP(1.2.3.4) is blocked by net.BlockList"),
        ("ERR_INVALID_ADDRESS", (), "Error", "Invalid socket address"),
        ("ERR_STREAM_PREMATURE_CLOSE", (), "Error", "Premature close"),
    ],
)
def test_fixed_messages(code: str, args: tuple[object, ...], name: str, message: str) -> None:
    err = make_error(code, *args)
    assert isinstance(err, NodeError)
    assert (err.name, err.code, str(err)) == (name, code, message)


@pytest.mark.parametrize(
    ("emitted", "message"),
    [
        (None, "Unhandled error. (undefined)"),
        (NULL, "Unhandled error. (null)"),
        ("boom", "Unhandled error. ('boom')"),
        ({"a": 1}, "Unhandled error. ({ a: 1 })"),
        (42, "Unhandled error. (42)"),
    ],
)
def test_unhandled_error(emitted: object, message: str) -> None:
    err = make_error("ERR_UNHANDLED_ERROR", emitted)
    assert (err.name, err.code, str(err)) == ("Error", "ERR_UNHANDLED_ERROR", message)
    assert err.context is emitted  # type: ignore[attr-defined]
    assert err.toString() == f"Error [ERR_UNHANDLED_ERROR]: {message}"


def test_abort_error() -> None:
    err = make_error("ABORT_ERR")
    assert isinstance(err, AbortError)
    assert (err.name, err.code, str(err)) == ("AbortError", "ABORT_ERR", "The operation was aborted")
    assert error_to_string(err) == "AbortError: The operation was aborted"


def test_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        make_error("ERR_NOT_A_CODE")


# -- system errors ------------------------------------------------------------------------------------


def test_connect_refused_like_node() -> None:
    err = system_error(-111, "connect", "127.0.0.1", 1)
    assert isinstance(err, OSError) and isinstance(err, NodeSystemError)
    assert str(err) == "connect ECONNREFUSED 127.0.0.1:1"
    assert (err.name, err.code, err.errno, err.syscall, err.address, err.port) == (
        "Error",
        "ECONNREFUSED",
        -111,
        "connect",
        "127.0.0.1",
        1,
    )
    assert error_to_string(err) == "Error: connect ECONNREFUSED 127.0.0.1:1"
    # A positive (Python) errno is accepted and turned into Node's negative one.
    assert system_error(111, "connect", "::1", 1).errno == -111


def test_connect_with_local_details() -> None:
    err = system_error(-111, "connect", "::1", 1, message_extra="::1:5555")
    assert str(err) == "connect ECONNREFUSED ::1:1 - Local (::1:5555)"


def test_listen_addrinuse_like_node() -> None:
    assert (
        str(uv_system_error(-98, "listen", "::", 8000)) == "listen EADDRINUSE: address already in use :::8000"
    )
    err = uv_system_error(-98, "listen", "127.0.0.1", 39117)
    assert str(err) == "listen EADDRINUSE: address already in use 127.0.0.1:39117"
    assert (err.code, err.errno, err.syscall, err.address, err.port) == (
        "EADDRINUSE",
        -98,
        "listen",
        "127.0.0.1",
        39117,
    )
    # A pipe: Node passes port -1; the message shows the path only.
    pipe = uv_system_error(-13, "listen", "/proc/nope.sock", -1)
    assert str(pipe) == "listen EACCES: permission denied /proc/nope.sock"
    assert pipe.port == -1


def test_errno_exception_and_names() -> None:
    assert str(errno_exception(-104, "read")) == "read ECONNRESET"
    assert uv_error_name(-4096) == "Unknown system error -4096"
    assert uv_error_name(-4095) == "EOF"


def test_dns_exception() -> None:
    err = dns_exception(-3008, "getaddrinfo", "foo.invalid")
    assert str(err) == "getaddrinfo ENOTFOUND foo.invalid"
    assert (err.errno, err.code, err.syscall, err.hostname) == (
        -3008,
        "ENOTFOUND",
        "getaddrinfo",
        "foo.invalid",
    )


def test_from_oserror() -> None:
    err = from_oserror(ConnectionRefusedError(111, "Connection refused"), "connect", "127.0.0.1", 1)
    assert str(err) == "connect ECONNREFUSED 127.0.0.1:1"
    gai = from_oserror(
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "getaddrinfo", "x.invalid"
    )
    assert (str(gai), gai.errno, gai.code) == ("getaddrinfo ENOTFOUND x.invalid", -3008, "ENOTFOUND")


def test_system_error_pickles() -> None:
    err = system_error(-111, "connect", "127.0.0.1", 1)
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.errno, again.code, again.port) == (str(err), -111, "ECONNREFUSED", 1)


def test_aggregate_error_like_autoselect_failure() -> None:
    errors = [system_error(-111, "connect", "::1", 1), system_error(-111, "connect", "127.0.0.1", 1)]
    agg = NodeAggregateError(errors)
    assert (agg.name, agg.code, str(agg)) == ("AggregateError", "ECONNREFUSED", "")
    assert agg.errors == errors
    assert error_to_string(agg) == "AggregateError"


# -- coercions and validators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (1e20, "100000000000000000000"),
        (0.1, "0.1"),
        (2**64, "18446744073709552000"),
    ],
)
def test_js_number_to_string(value: float, text: str) -> None:
    assert js_number_to_string(value) == text


@pytest.mark.parametrize(
    ("text", "number"),
    [("0x50", 80), (" 80 ", 80), ("1e3", 1000), ("0b11", 3), ("0o17", 15), ("", 0), ("Infinity", math.inf)],
)
def test_js_to_number(text: str, number: float) -> None:
    assert js_to_number(text) == number


def test_js_to_number_nan() -> None:
    assert math.isnan(js_to_number("8_0"))
    assert math.isnan(js_to_number("+0x10"))


def test_validators() -> None:
    assert validate_port("0x50", "options.port") == 80
    with pytest.raises(
        NodeRangeError, match=r"^options\.port should be >= 0 and < 65536\. Received type string \('  '\)\.$"
    ):
        validate_port("  ", "options.port")
    with pytest.raises(NodeRangeError, match=r"It must be an integer\. Received 1\.5"):
        validate_int32(1.5, "prefix", 0, 32)
    with pytest.raises(
        NodeTypeError, match=r'The "prefix" argument must be of type number\. Received undefined'
    ):
        validate_int32(None, "prefix", 0, 32)
    with pytest.raises(NodeTypeError, match="Received type boolean"):
        validate_uint32(True, "x")
