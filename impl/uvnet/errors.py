"""Node's errors: one table of codes, message templates and base classes.

Theory of operation
-------------------
Node builds every internal error from one registry (``lib/internal/errors.js``): a code, a message
template (a ``util.format`` string or a function of the arguments) and a JS base class.  This module
is that registry for uvnet.  ``make_error(code, *args)`` takes the same arguments Node's
``new codes[code](...args)`` takes and returns an exception whose ``str()`` is Node's message.

Python classes stand in for Node's:

* Node ``Error``          -> :class:`NodeError` (an ``Exception``)
* Node ``TypeError``      -> :class:`NodeTypeError` (also a Python ``TypeError``)
* Node ``RangeError``     -> :class:`NodeRangeError` (also a Python ``ValueError``)
* Node ``AggregateError`` -> :class:`NodeAggregateError` (``.errors``)
* ``AbortError``          -> :class:`AbortError` (code ``ABORT_ERR``)
* libuv failures          -> :class:`NodeSystemError` (also a Python ``OSError``; ``.errno`` is
  Node's *negative* errno, ``.code``, ``.syscall``, ``.address``, ``.port``)

Values are rendered the way Node renders the JS value a Python value stands for: ``None`` is
``undefined`` (use :data:`NULL` for JS ``null``), ``dict`` is a plain object, ``list``/``tuple``
an Array, ``bytes``/``bytearray`` a Buffer, ``float('nan')`` NaN, callables are functions.
:func:`describe_received` is Node's ``determineSpecificType`` and :func:`inspect` a subset of
``util.inspect`` with its default options (depth 2, breakLength 80, compact 3): primitives, plain
objects (JS key order), arrays (with Node's column grouping), Buffers, functions and classes exactly;
objects may render themselves with ``__js_inspect__``.

Also here, because they exist to raise these errors: the JS coercions Node's checks rely on
(:func:`to_js_string`, :func:`js_to_number`, :func:`js_to_int32`) and lib/internal/validators.js
(``validate_port``, ``validate_int32``, ...).  System errors come in Node's three shapes:
:func:`system_error` (ExceptionWithHostPort: ``connect ECONNREFUSED 127.0.0.1:1``),
:func:`uv_system_error` (UVExceptionWithHostPort: ``listen EADDRINUSE: address already in use
:::80``) and :func:`errno_exception` (``read ECONNRESET``); :func:`from_oserror` maps a Python
``OSError``/``socket.gaierror`` onto them.
"""

from __future__ import annotations

import errno as _errno_mod
import math
import re
import socket as _socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "NULL",
    "AbortError",
    "JSNull",
    "NodeAggregateError",
    "NodeError",
    "NodeRangeError",
    "NodeSystemError",
    "NodeTypeError",
    "conn_reset_error",
    "describe_received",
    "dns_exception",
    "errno_exception",
    "error_to_string",
    "format_list",
    "from_oserror",
    "inspect",
    "is_js_integer",
    "js_number_to_string",
    "js_string",
    "js_to_int32",
    "js_to_number",
    "js_trim",
    "make_error",
    "system_error",
    "to_js_string",
    "uv_error_name",
    "uv_system_error",
    "validate_array",
    "validate_boolean",
    "validate_function",
    "validate_int32",
    "validate_integer",
    "validate_number",
    "validate_object",
    "validate_one_of",
    "validate_port",
    "validate_string",
    "validate_uint32",
]


# ---------------------------------------------------------------------------------------------------
# JS null


class JSNull:
    """The JS value ``null`` where ``None`` (``undefined``) is not the same thing."""

    _instance: JSNull | None = None

    def __new__(cls) -> JSNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL"

    def __bool__(self) -> bool:
        return False


NULL: Final = JSNull()


# ---------------------------------------------------------------------------------------------------
# Exception classes


class NodeError(Exception):
    """A Node error: ``.code``, ``.name`` and Node's message (``str(exc)``)."""

    name: str = "Error"

    def __init__(self, message: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.message: str = message
        self.code: str | None = code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.toString()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        state = dict(self.__dict__)
        if isinstance(self, OSError):  # C-level slots, not in __dict__
            state["errno"] = self.errno
            state["strerror"] = self.strerror
        return (_rebuild_error, (type(self), self.args, state))

    def toString(self) -> str:  # node: NodeError.prototype.toString
        if self.code is not None:
            return f"{self.name} [{self.code}]: {self.message}"
        return f"{self.name}: {self.message}" if self.message else self.name


def _rebuild_error(cls: type[NodeError], args: tuple[Any, ...], state: dict[str, Any]) -> NodeError:
    """Unpickle a NodeError without calling its __init__ (signatures differ per class)."""
    exc = cls.__new__(cls, *args)
    for key, value in state.items():
        setattr(exc, key, value)
    return exc


class NodeTypeError(NodeError, TypeError):
    """Node's ``TypeError``."""

    name = "TypeError"


class NodeRangeError(NodeError, ValueError):
    """Node's ``RangeError``."""

    name = "RangeError"


class NodeSyntaxError(NodeError, SyntaxError):
    """Node's ``SyntaxError`` (not used by net; here for completeness of the table's kinds)."""

    name = "SyntaxError"


class AbortError(NodeError):  # node: AbortError
    """Node's ``AbortError``: name ``'AbortError'``, code ``'ABORT_ERR'``."""

    name = "AbortError"

    def __init__(self, message: str = "The operation was aborted", *, cause: object = None) -> None:
        super().__init__(message, "ABORT_ERR")
        self.cause = cause

    def toString(self) -> str:
        # A plain Error subclass in Node: Error.prototype.toString, no [code].
        return f"{self.name}: {self.message}" if self.message else self.name


class NodeAggregateError(NodeError):  # node: NodeAggregateError
    """``AggregateError`` as net's autoSelectFamily raises it: empty message, code of the first error."""

    name = "AggregateError"

    def __init__(self, errors: Sequence[BaseException], message: str = "") -> None:
        first_code = getattr(errors[0], "code", None) if errors else None
        super().__init__(message, first_code)
        self.errors: list[BaseException] = list(errors)

    def toString(self) -> str:
        # NodeAggregateError has no toString of its own: Error.prototype.toString.
        return f"{self.name}: {self.message}" if self.message else self.name


class NodeSystemError(NodeError, OSError):
    """A libuv failure as Node reports it (ExceptionWithHostPort and friends).

    ``.errno`` is Node's negative errno (``-111``), ``.code`` its name (``'ECONNREFUSED'``).
    ``address``/``port``/``hostname`` are ``None`` where Node leaves the property unset.
    """

    name = "Error"

    def __init__(
        self,
        message: str,
        code: str,
        errno: int | None,
        syscall: str,
        *,
        address: str | None = None,
        port: int | None = None,
        hostname: str | None = None,
    ) -> None:
        NodeError.__init__(self, message, code)
        self.errno: int | None = errno
        self.strerror: str = message
        self.syscall = syscall
        self.address = address
        self.port = port
        self.hostname = hostname

    def __str__(self) -> str:
        return self.message

    def toString(self) -> str:
        # These are plain Errors in Node (code set as an own property): no [code] in toString.
        return f"{self.name}: {self.message}"


def error_to_string(exc: BaseException) -> str:  # node: Error.prototype.toString / NodeError toString
    """What ``String(err)`` gives in Node for the error ``exc`` stands for."""
    if isinstance(exc, NodeError):
        return exc.toString()
    name = _python_exception_js_name(exc)
    msg = str(exc)
    return f"{name}: {msg}" if msg else name


def _python_exception_js_name(exc: BaseException) -> str:
    if isinstance(exc, NodeError):
        return exc.name
    if isinstance(exc, TypeError):
        return "TypeError"
    if isinstance(exc, (ValueError, OverflowError)):
        return "RangeError"
    return "Error"


# ---------------------------------------------------------------------------------------------------
# JS value rendering: String(number), determineSpecificType, util.inspect


def js_number_to_string(value: float | int) -> str:  # node: Number.prototype.toString (ES Number::toString)
    """``String(x)`` for the JS number ``x`` (``-0`` gives ``'0'`` as in JS)."""
    if isinstance(value, int):
        if abs(value) <= 2**53:
            return str(value)
        try:
            value = float(value)
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    dec = Decimal(repr(abs(value))).normalize()
    _, digit_tuple, exp = dec.as_tuple()
    assert isinstance(exp, int)
    digits = "".join(str(d) for d in digit_tuple)
    k = len(digits)
    n = exp + k
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        esign = "+" if e >= 0 else "-"
        mant = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mant}e{esign}{abs(e)}"
    return sign + body


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_function(value: object) -> bool:
    """Whether a Python value stands for a JS function (classes are functions too)."""
    return callable(value)


def _function_name(value: object) -> str:
    name = getattr(value, "__name__", None)
    if not isinstance(name, str) or name == "<lambda>":
        func = getattr(value, "func", None)  # functools.partial
        if func is not None and func is not value:
            return "bound " + _function_name(func)
        return "" if name == "<lambda>" or name is None else str(name)
    return name


def _js_class_name(value: object) -> str:
    """The JS constructor name a Python object stands for."""
    if isinstance(value, NodeError):
        return value.name
    if isinstance(value, BaseException):
        return _python_exception_js_name(value)
    if isinstance(value, (bytes, bytearray)):
        return "Buffer"
    if isinstance(value, memoryview):
        return "Uint8Array"
    if isinstance(value, (list, tuple)):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, (set, frozenset)):
        return "Set"
    return type(value).__name__


def js_string(s: str) -> str:
    """JSON.stringify for a string (used by determineSpecificType for strings with a quote)."""
    out = ['"']
    for ch in s:
        cp = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif cp < 0x20 or 0xD800 <= cp <= 0xDFFF:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _js_len(s: str) -> int:
    """A JS string's .length (UTF-16 code units)."""
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _js_slice(s: str, end: int) -> str:
    """``s.slice(0, end)`` in UTF-16 code units (a split surrogate pair keeps its high half)."""
    units = 0
    for i, ch in enumerate(s):
        w = 2 if ord(ch) > 0xFFFF else 1
        if units + w > end:
            if w == 2 and units + 1 == end:
                return s[:i] + chr(0xD800 + ((ord(ch) - 0x10000) >> 10))
            return s[:i]
        units += w
    return s


def describe_received(value: object) -> str:  # node: determineSpecificType
    """Node's rendering of a received value in type errors (``type number (1)``, ``an instance of X``)."""
    if value is NULL:
        return "null"
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "type boolean (true)" if value else "type boolean (false)"
    if _is_number(value):
        assert isinstance(value, (int, float))
        if value == 0:
            if isinstance(value, float) and math.copysign(1.0, value) < 0:
                return "type number (-0)"
            return "type number (0)"
        return f"type number ({js_number_to_string(value)})"
    if isinstance(value, str):
        if _js_len(value) > 28:
            value = _js_slice(value, 25) + "..."
        if "'" not in value:
            return f"type string ('{value}')"
        return f"type string ({js_string(value)})"
    if _is_function(value):
        return f"function {_function_name(value)}"
    return f"an instance of {_js_class_name(value)}"


_KEY_RE: Final = re.compile(r"^[a-zA-Z_][a-zA-Z_0-9]*$")
_STR_ESCAPE_RE: Final = re.compile(r"[\x00-\x1f\x27\x5c\x7f-\x9f\ud800-\udfff]")
_STR_ESCAPE_SINGLE_RE: Final = re.compile(r"[\x00-\x1f\x5c\x7f-\x9f\ud800-\udfff]")
_META: Final = {
    **{i: f"\\x{i:02X}" for i in range(0x20)},
    8: "\\b",
    9: "\\t",
    10: "\\n",
    12: "\\f",
    13: "\\r",
    0x27: "\\'",
    0x5C: "\\\\",
    0x7F: "\\x7F",
    **{i: f"\\x{i:02X}" for i in range(0x80, 0xA0)},
}


def _str_escape(s: str) -> str:  # node: strEscape
    quote = "'"
    pattern = _STR_ESCAPE_RE
    if "'" in s:
        if '"' not in s:
            quote = '"'
        elif "`" not in s and "${" not in s:
            quote = "`"
        if quote != "'":
            pattern = _STR_ESCAPE_SINGLE_RE
    if pattern.search(s) is None:
        return f"{quote}{s}{quote}"
    out = []
    for ch in s:
        cp = ord(ch)
        if (ch == "'" and quote == "'") or cp == 0x5C or cp < 0x20 or 0x7E < cp < 0xA0:
            out.append(_META[cp])
        elif 0xD800 <= cp <= 0xDFFF:
            out.append(f"\\u{cp:x}")
        else:
            out.append(ch)
    return f"{quote}{''.join(out)}{quote}"


class _Ctx:
    __slots__ = ("current_depth", "depth", "indentation_lvl", "seen")

    def __init__(self, depth: int | None) -> None:
        self.depth = depth
        self.indentation_lvl = 0
        self.current_depth = 0
        self.seen: list[int] = []


_BREAK_LENGTH: Final = 80
_COMPACT: Final = 3
_MAX_ARRAY_LENGTH: Final = 100
_MAX_STRING_LENGTH: Final = 10000
_MIN_LINE_LENGTH: Final = 16


def inspect(value: object, *, depth: int | None = 2) -> str:  # node: util.inspect (default options)
    """``util.inspect(value)`` for the JS value ``value`` stands for (no colors, default options).

    Objects may define ``__js_inspect__(self) -> str`` to render themselves (Node's custom inspect).
    """
    return _format_value(_Ctx(depth), value, 0)


def _format_primitive(ctx: _Ctx, value: object) -> str | None:  # node: formatPrimitive
    if value is None:
        return "undefined"
    if value is NULL:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0:
        return "-0"
    if _is_number(value):
        assert isinstance(value, (int, float))
        return js_number_to_string(value)
    if isinstance(value, str):
        trailer = ""
        if len(value) > _MAX_STRING_LENGTH:
            remaining = len(value) - _MAX_STRING_LENGTH
            value = value[:_MAX_STRING_LENGTH]
            trailer = f"... {remaining} more character{'s' if remaining > 1 else ''}"
        if len(value) > _MIN_LINE_LENGTH and len(value) > _BREAK_LENGTH - ctx.indentation_lvl - 4:
            lines = re.split(r"(?<=\n)", value)
            lines = [ln for ln in lines if ln != ""] or [""]
            sep = " +\n" + " " * (ctx.indentation_lvl + 2)
            return sep.join(_str_escape(ln) for ln in lines) + trailer
        return _str_escape(value) + trailer
    return None


def _format_value(ctx: _Ctx, value: object, recurse_times: int) -> str:  # node: formatValue
    prim = _format_primitive(ctx, value)
    if prim is not None:
        return prim
    custom = getattr(value, "__js_inspect__", None)
    if custom is not None and not isinstance(value, type):
        return str(custom())
    if id(value) in ctx.seen:
        return "[Circular *1]"
    return _format_raw(ctx, value, recurse_times)


def _format_key(key: object) -> str:
    k = key if isinstance(key, str) else _key_string(key)
    if _KEY_RE.match(k):
        return k
    return _str_escape(k)


def _key_string(key: object) -> str:
    if _is_number(key):
        assert isinstance(key, (int, float))
        return js_number_to_string(key)
    if key is None:
        return "undefined"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


_INDEX_RE: Final = re.compile(r"0|[1-9][0-9]*")


def _js_key_order(items: Iterable[tuple[object, object]]) -> list[tuple[object, object]]:
    """JS own-property order: array-index keys ascending first, then the rest in insertion order."""
    index: list[tuple[int, tuple[object, object]]] = []
    rest: list[tuple[object, object]] = []
    for k, v in items:
        text = k if isinstance(k, str) else _key_string(k)
        if _INDEX_RE.fullmatch(text) and int(text) < 2**32 - 1:
            index.append((int(text), (k, v)))
        else:
            rest.append((k, v))
    return [kv for _, kv in sorted(index, key=lambda t: t[0])] + rest


def _format_raw(ctx: _Ctx, value: object, recurse_times: int) -> str:  # node: formatRaw
    base = ""
    extras_array = False
    entries: list[tuple[str | None, object]] = []
    more = 0
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        shown = " ".join(f"{b:02x}" for b in data[:50])
        rest = f" ... {len(data) - 50} more byte{'s' if len(data) - 50 > 1 else ''}" if len(data) > 50 else ""
        return f"<Buffer {shown}{rest}>" if data else "<Buffer >"
    if isinstance(value, type):
        return f"[class {value.__name__}]"
    if _is_function(value):
        name = _function_name(value)
        return f"[Function: {name}]" if name else "[Function (anonymous)]"
    if isinstance(value, BaseException):
        return f"[{error_to_string(value)}]"
    if isinstance(value, (list, tuple, memoryview)):
        items = list(value.tolist() if isinstance(value, memoryview) else value)
        if isinstance(value, memoryview):
            braces = [f"Uint8Array({len(items)}) [", "]"]
        else:
            braces = ["[", "]"]
        extras_array = True
        if len(items) > _MAX_ARRAY_LENGTH:
            more = len(items) - _MAX_ARRAY_LENGTH
            items = items[:_MAX_ARRAY_LENGTH]
        entries = [(None, v) for v in items]
        if not entries and not more:
            return f"{braces[0]}]"
    elif isinstance(value, (set, frozenset)):
        braces = [f"Set({len(value)}) {{", "}"]
        entries = [(None, v) for v in value]
        if not entries:
            return "Set(0) {}"
    elif isinstance(value, Mapping):
        braces = ["{", "}"]
        entries = [(_format_key(k), v) for k, v in _js_key_order(value.items())]
        if not entries:
            return "{}"
    else:
        cls = type(value).__name__
        braces = [f"{cls} {{", "}"]
        attrs = getattr(value, "__dict__", {})
        entries = [(_format_key(k), v) for k, v in attrs.items() if not str(k).startswith("_")]
        if not entries:
            return f"{cls} {{}}"
    if ctx.depth is not None and recurse_times > ctx.depth:
        if extras_array:
            return "[Array]"
        if isinstance(value, Mapping):
            return "[Object]"
        return f"[{_js_class_name(value)}]"
    recurse_times += 1
    ctx.seen.append(id(value))
    ctx.current_depth = recurse_times
    output: list[str] = []
    for key, v in entries:
        ctx.indentation_lvl += 2
        s = _format_value(ctx, v, recurse_times)
        ctx.indentation_lvl -= 2
        output.append(s if key is None else f"{key}: {s}")
    if more:
        output.append(f"... {more} more item{'s' if more > 1 else ''}")
    ctx.seen.pop()
    return _reduce_to_single_string(ctx, output, base, braces, extras_array, recurse_times, entries)


def _is_below_break_length(output: list[str], start: int, base: str) -> bool:  # node: isBelowBreakLength
    total = len(output) + start
    if total + len(output) > _BREAK_LENGTH:
        return False
    for entry in output:
        total += len(entry)
        if total > _BREAK_LENGTH:
            return False
    return base == "" or "\n" not in base


def _reduce_to_single_string(  # node: reduceToSingleString
    ctx: _Ctx,
    output: list[str],
    base: str,
    braces: list[str],
    extras_array: bool,
    recurse_times: int,
    entries: list[tuple[str | None, object]],
) -> str:
    n_entries = len(output)
    if extras_array and n_entries > 6:
        output = _group_array_elements(ctx, output, [v for _, v in entries])
    if ctx.current_depth - recurse_times < _COMPACT and n_entries == len(output):
        start = len(output) + ctx.indentation_lvl + len(braces[0]) + len(base) + 10
        if _is_below_break_length(output, start, base):
            joined = ", ".join(output)
            if "\n" not in joined:
                return f"{base + ' ' if base else ''}{braces[0]} {joined} {braces[1]}"
    indentation = "\n" + " " * ctx.indentation_lvl
    sep = f",{indentation}  "
    return f"{base + ' ' if base else ''}{braces[0]}{indentation}  {sep.join(output)}{indentation}{braces[1]}"


def _group_array_elements(ctx: _Ctx, output: list[str], values: list[object]) -> list[str]:
    # node: groupArrayElements
    total_length = 0
    max_length = 0
    output_length = len(output)
    if len(values) < len(output):  # a "... n more items" entry is not grouped
        output_length -= 1
    separator_space = 2
    data_len = [len(output[i]) for i in range(output_length)]
    for ln in data_len:
        total_length += ln + separator_space
        max_length = max(max_length, ln)
    actual_max = max_length + separator_space
    if actual_max * 3 + ctx.indentation_lvl < _BREAK_LENGTH and (
        total_length / actual_max > 5 or max_length <= 6
    ):
        approx_char_heights = 2.5
        average_bias = math.sqrt(actual_max - total_length / len(output))
        biased_max = max(actual_max - 3 - average_bias, 1)
        columns = min(
            _js_round(math.sqrt(approx_char_heights * biased_max * output_length) / biased_max),
            (_BREAK_LENGTH - ctx.indentation_lvl) // actual_max,
            _COMPACT * 4,
            15,
        )
        if columns <= 1:
            return output
        max_line_length = []
        for i in range(columns):
            line_max = 0
            for j in range(i, len(output), columns):
                if j < output_length and data_len[j] > line_max:
                    line_max = data_len[j]
            max_line_length.append(line_max + separator_space)
        pad_start = all(_is_number(v) for v in values)
        tmp = []
        for i in range(0, output_length, columns):
            mx = min(i + columns, output_length)
            line = ""
            j = i
            while j < mx - 1:
                cell = f"{output[j]}, "
                width = max_line_length[j - i]
                line += cell.rjust(width) if pad_start else cell.ljust(width)
                j += 1
            if pad_start:
                line += output[j].rjust(max_line_length[j - i] - separator_space)
            else:
                line += output[j]
            tmp.append(line)
        if output_length < len(output):
            tmp.append(output[output_length])
        return tmp
    return output


def _js_round(x: float) -> int:
    return math.floor(x + 0.5)


def _format_s(value: object) -> str:  # node: formatWithOptions '%s'
    if isinstance(value, str):
        return value
    if value is None:
        return "undefined"
    if isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0:
        return "-0"
    if isinstance(value, bool) or _is_number(value) or value is NULL:
        prim = _format_primitive(_Ctx(0), value)
        assert prim is not None
        return prim
    if isinstance(value, BaseException):
        return error_to_string(value)
    if isinstance(value, (bytes, bytearray)) or (callable(value) and not isinstance(value, type)):
        return to_js_string(value)  # Buffer and functions have their own toString: String(value)
    return inspect(value, depth=0)


def format_list(items: Sequence[str], kind: str = "and") -> str:  # node: formatList
    """``'A, B, and C'`` / ``'A or B'`` as Node joins lists in messages."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {kind} {items[1]}"
    return f"{', '.join(items[:-1])}, {kind} {items[-1]}"


def _add_numerical_separator(val: str) -> str:  # node: addNumericalSeparator
    res = ""
    i = len(val)
    start = 1 if val.startswith("-") else 0
    while i >= start + 4:
        res = f"_{val[i - 3 : i]}{res}"
        i -= 3
    return f"{val[:i]}{res}"


# ---------------------------------------------------------------------------------------------------
# Message templates


_K_TYPES: Final = (
    "string",
    "function",
    "number",
    "object",
    "Function",
    "Object",
    "boolean",
    "bigint",
    "symbol",
)
_CLASS_RE: Final = re.compile(r"^[A-Z][a-zA-Z0-9]*$")


def _msg_invalid_arg_type(name: str, expected: str | Sequence[str], actual: object) -> str:
    # node: ERR_INVALID_ARG_TYPE
    exp_list = [expected] if isinstance(expected, str) else list(expected)
    if name.endswith(" argument"):
        msg = f"The {name} "
    else:
        kind = "property" if "." in name else "argument"
        msg = f'The "{name}" {kind} '
    msg += "must be "
    types: list[str] = []
    instances: list[str] = []
    other: list[str] = []
    for v in exp_list:
        if v in _K_TYPES:
            types.append(v.lower())
        elif _CLASS_RE.match(v):
            instances.append(v)
        else:
            other.append(v)
    if instances and "object" in types:
        types.remove("object")
        instances.append("Object")
    if types:
        msg += f"{'one of type' if len(types) > 1 else 'of type'} {format_list(types, 'or')}"
        if instances or other:
            msg += " or "
    if instances:
        msg += f"an instance of {format_list(instances, 'or')}"
        if other:
            msg += " or "
    if other:
        if len(other) > 1:
            msg += f"one of {format_list(other, 'or')}"
        else:
            if other[0].lower() != other[0]:
                msg += "an "
            msg += other[0]
    return f"{msg}. Received {describe_received(actual)}"


def _msg_invalid_arg_value(name: str, value: object, reason: str = "is invalid") -> str:
    # node: ERR_INVALID_ARG_VALUE
    inspected = inspect(value)
    if len(inspected) > 128:
        inspected = inspected[:128] + "..."
    kind = "property" if "." in name else "argument"
    return f"The {kind} '{name}' {reason}. Received {inspected}"


def _msg_out_of_range(name: str, range_: str, value: object, replace_default_boolean: bool = False) -> str:
    # node: ERR_OUT_OF_RANGE
    msg = name if replace_default_boolean else f'The value of "{name}" is out of range.'
    if _is_number(value) and _is_integer_number(value) and abs(value) > 2**32:  # type: ignore[arg-type]
        received = _add_numerical_separator(js_number_to_string(value))  # type: ignore[arg-type]
    else:
        received = inspect(value)
    return f"{msg} It must be {range_}. Received {received}"


def _is_integer_number(value: object) -> bool:
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _msg_socket_bad_port(name: str, port: object, allow_zero: bool = True) -> str:
    # node: ERR_SOCKET_BAD_PORT
    op = ">=" if allow_zero else ">"
    return f"{name} should be {op} 0 and < 65536. Received {describe_received(port)}."


def _msg_invalid_address_family(address_type: object, host: object, port: object) -> str:
    # node: ERR_INVALID_ADDRESS_FAMILY
    return f"Invalid address family: {_template(address_type)} {_template(host)}:{_template(port)}"


def to_js_string(value: object) -> str:  # node: String(value) / `${value}`
    """``String(value)`` for the JS value ``value`` stands for.

    ``bytes`` are a Buffer (``buf.toString()`` decodes UTF-8), lists are Arrays (joined with ``,``,
    ``undefined``/``null`` elements empty), dicts are ``[object Object]``; an object with a callable
    ``toString`` attribute is asked, as JS would.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "undefined"
    if value is NULL:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        assert isinstance(value, (int, float))
        return js_number_to_string(value)
    if isinstance(value, BaseException):
        return error_to_string(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (list, tuple)):
        return ",".join("" if v is None or v is NULL else to_js_string(v) for v in value)
    to_string = getattr(value, "toString", None)
    if callable(to_string) and not isinstance(value, type):
        return to_js_string(to_string())
    if isinstance(value, type):
        return f"class {value.__name__} {{ }}"
    if callable(value):
        return f"function {_function_name(value)}() {{ [native code] }}"
    return "[object Object]"


_template = to_js_string


_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_DECIMAL_RE: Final = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_JS_RADIX_RE: Final = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")


def js_trim(s: str) -> str:  # node: String.prototype.trim
    return s.strip(_JS_WHITESPACE)


def js_to_number(value: object) -> float | int:  # node: ToNumber (unary +)
    """``+value`` for the JS value ``value`` stands for (strings parsed as JS does: hex, octal,
    binary prefixes, ``Infinity``, surrounding whitespace; anything else is NaN)."""
    if value is None:
        return math.nan
    if value is NULL or value is False:
        return 0
    if value is True:
        return 1
    if _is_number(value):
        assert isinstance(value, (int, float))
        return value
    if isinstance(value, str):
        text = js_trim(value)
        if text == "":
            return 0
        m = _JS_RADIX_RE.fullmatch(text)
        if m is not None:
            radix = {"x": 16, "o": 8, "b": 2}[m.group(1).lower()]
            try:
                return int(m.group(2), radix)
            except ValueError:
                return math.nan
        if _JS_DECIMAL_RE.fullmatch(text) is None:
            return math.nan
        if text.lstrip("+-") == "Infinity":
            return -math.inf if text.startswith("-") else math.inf
        number = float(text)
        if number.is_integer() and abs(number) <= 2**53:
            return int(number) if not (number == 0 and text.startswith("-")) else -0.0
        return number
    if isinstance(value, (list, tuple)):
        return js_to_number(to_js_string(value))
    return math.nan


def js_to_int32(value: object) -> int:  # node: ToInt32 (value | 0)
    number = js_to_number(value)
    if isinstance(number, float) and not math.isfinite(number):
        return 0
    n = int(number) % 2**32
    return n - 2**32 if n >= 2**31 else n


def is_js_integer(value: object) -> bool:  # node: Number.isInteger
    """``Number.isInteger(value)``: a finite integral JS number (bools are not numbers)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _msg_unhandled_error(err: object = None, *rest: object) -> str:
    # node: ERR_UNHANDLED_ERROR (called by events.js with inspect(er), which we do here)
    return f"Unhandled error. ({inspect(err)})"


def _msg_missing_args(*names: str | Sequence[str]) -> str:  # node: ERR_MISSING_ARGS
    wrapped = [" or ".join(f'"{a}"' for a in n) if not isinstance(n, str) else f'"{n}"' for n in names]
    return f"The {format_list(wrapped)} argument{'s' if len(names) > 1 else ''} must be specified"


def _msg_invalid_return_value(input_: str, name: str, value: object) -> str:
    # node: ERR_INVALID_RETURN_VALUE
    return f'Expected {input_} to be returned from the "{name}" function but got {describe_received(value)}.'


def _msg_ip_blocked(ip: object) -> str:  # node: ERR_IP_BLOCKED
    return f"IP({_template(ip)}) is blocked by net.BlockList"


Template = str | Callable[..., str]

_ERROR: Final = "Error"
_TYPE: Final = "TypeError"
_RANGE: Final = "RangeError"

# code -> (template, default kind, other kinds available as variants)
_TABLE: Final[dict[str, tuple[Template, str, tuple[str, ...]]]] = {
    "ABORT_ERR": ("The operation was aborted", "AbortError", ()),
    "ERR_ILLEGAL_CONSTRUCTOR": ("Illegal constructor", _TYPE, ()),
    "ERR_INVALID_ADDRESS": ("Invalid socket address", _ERROR, ()),  # from C++ (node_errors.h)
    "ERR_INVALID_ADDRESS_FAMILY": (_msg_invalid_address_family, _RANGE, ()),
    "ERR_INVALID_ARG_TYPE": (_msg_invalid_arg_type, _TYPE, ()),
    "ERR_INVALID_ARG_VALUE": (_msg_invalid_arg_value, _TYPE, (_RANGE,)),
    "ERR_INVALID_FD_TYPE": ("Unsupported fd type: %s", _TYPE, ()),
    "ERR_INVALID_HANDLE_TYPE": ("This handle type cannot be sent", _TYPE, ()),
    "ERR_INVALID_IP_ADDRESS": ("Invalid IP address: %s", _TYPE, ()),
    "ERR_INVALID_RETURN_VALUE": (_msg_invalid_return_value, _TYPE, (_RANGE,)),
    "ERR_INVALID_STATE": ("Invalid state: %s", _ERROR, (_TYPE, _RANGE)),
    "ERR_INVALID_THIS": ('Value of "this" must be of type %s', _TYPE, ()),
    "ERR_IP_BLOCKED": (_msg_ip_blocked, _ERROR, ()),
    "ERR_METHOD_NOT_IMPLEMENTED": ("The %s method is not implemented", _ERROR, ()),
    "ERR_MISSING_ARGS": (_msg_missing_args, _TYPE, ()),
    "ERR_MISSING_OPTION": ("%s is required", _TYPE, ()),
    "ERR_MULTIPLE_CALLBACK": ("Callback called multiple times", _ERROR, ()),
    "ERR_OPERATION_FAILED": ("Operation failed: %s", _ERROR, (_TYPE,)),
    "ERR_OUT_OF_RANGE": (_msg_out_of_range, _RANGE, ()),
    "ERR_SERVER_ALREADY_LISTEN": (
        "Listen method has been called more than once without closing.",
        _ERROR,
        (),
    ),
    "ERR_SERVER_NOT_RUNNING": ("Server is not running.", _ERROR, ()),
    "ERR_SOCKET_ALREADY_BOUND": ("Socket is already bound", _ERROR, ()),
    "ERR_SOCKET_BAD_PORT": (_msg_socket_bad_port, _RANGE, ()),
    "ERR_SOCKET_CLOSED": ("Socket is closed", _ERROR, ()),
    "ERR_SOCKET_CLOSED_BEFORE_CONNECTION": (
        "Socket closed before the connection was established",
        _ERROR,
        (),
    ),
    "ERR_SOCKET_CONNECTION_TIMEOUT": ("Socket connection timeout", _ERROR, ()),
    "ERR_SOCKET_HANDLE_ADOPTED": (
        "The bound socket has already been adopted by a server or socket",
        _ERROR,
        (),
    ),
    "ERR_STREAM_ALREADY_FINISHED": ("Cannot call %s after a stream was finished", _ERROR, ()),
    "ERR_STREAM_CANNOT_PIPE": ("Cannot pipe, not readable", _ERROR, ()),
    "ERR_STREAM_DESTROYED": ("Cannot call %s after a stream was destroyed", _ERROR, ()),
    "ERR_STREAM_NULL_VALUES": ("May not write null values to stream", _TYPE, ()),
    "ERR_STREAM_PREMATURE_CLOSE": ("Premature close", _ERROR, ()),
    "ERR_STREAM_PUSH_AFTER_EOF": ("stream.push() after EOF", _ERROR, ()),
    "ERR_STREAM_UNABLE_TO_PIPE": ("Cannot pipe to a closed or destroyed stream", _ERROR, ()),
    "ERR_STREAM_UNSHIFT_AFTER_END_EVENT": ("stream.unshift() after end event", _ERROR, ()),
    "ERR_STREAM_WRITE_AFTER_END": ("write after end", _ERROR, ()),
    "ERR_SYSTEM_ERROR": ("A system error occurred", "SystemError", ()),
    "ERR_UNHANDLED_ERROR": (_msg_unhandled_error, _ERROR, ()),
    "ERR_UNKNOWN_ENCODING": ("Unknown encoding: %s", _TYPE, ()),
    "ERR_UNKNOWN_SIGNAL": ("Unknown signal: %s", _TYPE, ()),
    "ERR_USE_AFTER_CLOSE": ("%s was closed", _ERROR, ()),
}

_KINDS: Final[dict[str, type[NodeError]]] = {
    _ERROR: NodeError,
    _TYPE: NodeTypeError,
    _RANGE: NodeRangeError,
    "SyntaxError": NodeSyntaxError,
}

_FORMAT_RE: Final = re.compile(r"%[dfijoOs%]")


def _util_format(template: str, args: Sequence[object]) -> str:  # node: util.format (the subset E uses)
    it = iter(args)

    def repl(m: re.Match[str]) -> str:
        spec = m.group(0)
        if spec == "%%":
            return "%"
        try:
            v = next(it)
        except StopIteration:
            return spec
        if spec == "%s":
            return _format_s(v)
        if spec in ("%d", "%i"):
            if _is_number(v):
                assert isinstance(v, (int, float))
                return js_number_to_string(math.trunc(v) if spec == "%i" and math.isfinite(v) else v)
            return "NaN"
        if spec == "%j":
            import json

            return json.dumps(v, separators=(",", ":"))
        return inspect(v)

    return _FORMAT_RE.sub(repl, template)


def make_error(code: str, *args: Any, kind: str | None = None) -> NodeError:  # node: new codes[code](...args)
    """Build Node's error for ``code`` from the arguments Node passes to its constructor.

    ``kind`` picks one of the code's other classes, as Node's ``codes.X.RangeError`` does
    (e.g. ``make_error('ERR_INVALID_ARG_VALUE', 'x', v, kind='RangeError')``).

    Arguments per code follow Node's E() declarations, with one deliberate convenience:
    ``ERR_UNHANDLED_ERROR`` takes the raw emitted value (events.js passes ``inspect(er)``; we do the
    inspect here) and sets ``.context`` to it.
    """
    if code == "ABORT_ERR":
        return AbortError(*args)
    try:
        template, default_kind, variants = _TABLE[code]
    except KeyError:
        raise KeyError(f"uvnet.errors: unknown error code {code!r}") from None
    chosen = kind or default_kind
    if chosen != default_kind and chosen not in variants:
        raise ValueError(f"uvnet.errors: {code} has no {chosen} variant")
    message = template(*args) if callable(template) else _util_format(template, args)
    if chosen == "SystemError":
        exc: NodeError = NodeError(message, code)
        exc.name = "SystemError"
        return exc
    exc = _KINDS[chosen](message, code)
    if code == "ERR_UNHANDLED_ERROR":
        exc.context = args[0] if args else None  # type: ignore[attr-defined]
    elif code == "ERR_INVALID_ADDRESS_FAMILY":
        exc.host = args[1] if len(args) > 1 else None  # type: ignore[attr-defined]
        exc.port = args[2] if len(args) > 2 else None  # type: ignore[attr-defined]
    return exc


# ---------------------------------------------------------------------------------------------------
# System errors (libuv errno -> code and message), as uv_err_name / uv_strerror give them on Linux

_UV_ERRORS: Final[dict[int, tuple[str, str]]] = {
    -7: ("E2BIG", "argument list too long"),
    -13: ("EACCES", "permission denied"),
    -98: ("EADDRINUSE", "address already in use"),
    -99: ("EADDRNOTAVAIL", "address not available"),
    -97: ("EAFNOSUPPORT", "address family not supported"),
    -11: ("EAGAIN", "resource temporarily unavailable"),
    -3000: ("EAI_ADDRFAMILY", "address family not supported"),
    -3001: ("EAI_AGAIN", "temporary failure"),
    -3002: ("EAI_BADFLAGS", "bad ai_flags value"),
    -3013: ("EAI_BADHINTS", "invalid value for hints"),
    -3003: ("EAI_CANCELED", "request canceled"),
    -3004: ("EAI_FAIL", "permanent failure"),
    -3005: ("EAI_FAMILY", "ai_family not supported"),
    -3006: ("EAI_MEMORY", "out of memory"),
    -3007: ("EAI_NODATA", "no address"),
    -3008: ("EAI_NONAME", "unknown node or service"),
    -3009: ("EAI_OVERFLOW", "argument buffer overflow"),
    -3014: ("EAI_PROTOCOL", "resolved protocol is unknown"),
    -3010: ("EAI_SERVICE", "service not available for socket type"),
    -3011: ("EAI_SOCKTYPE", "socket type not supported"),
    -114: ("EALREADY", "connection already in progress"),
    -9: ("EBADF", "bad file descriptor"),
    -16: ("EBUSY", "resource busy or locked"),
    -125: ("ECANCELED", "operation canceled"),
    -4080: ("ECHARSET", "invalid Unicode character"),
    -103: ("ECONNABORTED", "software caused connection abort"),
    -111: ("ECONNREFUSED", "connection refused"),
    -104: ("ECONNRESET", "connection reset by peer"),
    -89: ("EDESTADDRREQ", "destination address required"),
    -17: ("EEXIST", "file already exists"),
    -14: ("EFAULT", "bad address in system call argument"),
    -27: ("EFBIG", "file too large"),
    -113: ("EHOSTUNREACH", "host is unreachable"),
    -4: ("EINTR", "interrupted system call"),
    -22: ("EINVAL", "invalid argument"),
    -5: ("EIO", "i/o error"),
    -106: ("EISCONN", "socket is already connected"),
    -21: ("EISDIR", "illegal operation on a directory"),
    -40: ("ELOOP", "too many symbolic links encountered"),
    -24: ("EMFILE", "too many open files"),
    -90: ("EMSGSIZE", "message too long"),
    -36: ("ENAMETOOLONG", "name too long"),
    -100: ("ENETDOWN", "network is down"),
    -101: ("ENETUNREACH", "network is unreachable"),
    -23: ("ENFILE", "file table overflow"),
    -105: ("ENOBUFS", "no buffer space available"),
    -19: ("ENODEV", "no such device"),
    -2: ("ENOENT", "no such file or directory"),
    -12: ("ENOMEM", "not enough memory"),
    -64: ("ENONET", "machine is not on the network"),
    -92: ("ENOPROTOOPT", "protocol not available"),
    -28: ("ENOSPC", "no space left on device"),
    -38: ("ENOSYS", "function not implemented"),
    -107: ("ENOTCONN", "socket is not connected"),
    -20: ("ENOTDIR", "not a directory"),
    -39: ("ENOTEMPTY", "directory not empty"),
    -88: ("ENOTSOCK", "socket operation on non-socket"),
    -95: ("ENOTSUP", "operation not supported on socket"),
    -75: ("EOVERFLOW", "value too large for defined data type"),
    -1: ("EPERM", "operation not permitted"),
    -32: ("EPIPE", "broken pipe"),
    -71: ("EPROTO", "protocol error"),
    -93: ("EPROTONOSUPPORT", "protocol not supported"),
    -91: ("EPROTOTYPE", "protocol wrong type for socket"),
    -34: ("ERANGE", "result too large"),
    -30: ("EROFS", "read-only file system"),
    -108: ("ESHUTDOWN", "cannot send after transport endpoint shutdown"),
    -29: ("ESPIPE", "invalid seek"),
    -3: ("ESRCH", "no such process"),
    -110: ("ETIMEDOUT", "connection timed out"),
    -26: ("ETXTBSY", "text file is busy"),
    -18: ("EXDEV", "cross-device link not permitted"),
    -4094: ("UNKNOWN", "unknown error"),
    -4095: ("EOF", "end of file"),
    -6: ("ENXIO", "no such device or address"),
    -31: ("EMLINK", "too many links"),
    -112: ("EHOSTDOWN", "host is down"),
    -121: ("EREMOTEIO", "remote I/O error"),
    -25: ("ENOTTY", "inappropriate ioctl for device"),
    -4028: ("EFTYPE", "inappropriate file type or format"),
    -84: ("EILSEQ", "illegal byte sequence"),
    -94: ("ESOCKTNOSUPPORT", "socket type not supported"),
    -61: ("ENODATA", "no data available"),
    -49: ("EUNATCH", "protocol driver not attached"),
    -8: ("ENOEXEC", "exec format error"),
}


def _uv_errno(errno: int) -> int:
    """Node's (negative) errno for a libuv or Python errno (Python's are positive)."""
    return -errno if errno > 0 else errno


def uv_error_name(errno: int) -> str:  # node: util.getSystemErrorName
    """``'ECONNREFUSED'`` for ``-111`` (or ``111``); Node's fallback text for unknown numbers."""
    err = _uv_errno(errno)
    entry = _UV_ERRORS.get(err)
    if entry is None:
        return f"Unknown system error {err}"
    return entry[0]


def _details(address: str | None, port: int | None) -> str:
    if port and port > 0:
        return f" {address}:{port}"
    if address:
        return f" {address}"
    return ""


def system_error(  # node: ExceptionWithHostPort
    errno: int,
    syscall: str,
    address: str | None = None,
    port: int | None = None,
    *,
    message_extra: str | None = None,
) -> NodeSystemError:
    """The error net emits for connect/bind failures: ``connect ECONNREFUSED 127.0.0.1:1``.

    ``message_extra`` is Node's ``additional`` (the local address): ``... - Local (addr:port)``.
    """
    err = _uv_errno(errno)
    code = uv_error_name(err)
    details = _details(address, port)
    if message_extra:
        details += f" - Local ({message_extra})"
    return NodeSystemError(
        f"{syscall} {code}{details}", code, err, syscall, address=address, port=port or None
    )


def uv_system_error(  # node: UVExceptionWithHostPort
    errno: int, syscall: str, address: str | None = None, port: int | None = None
) -> NodeSystemError:
    """The error Server emits for listen failures: ``listen EADDRINUSE: address already in use :::8000``."""
    err = _uv_errno(errno)
    code, uvmsg = _UV_ERRORS.get(err, ("UNKNOWN", "unknown error"))
    message = f"{syscall} {code}: {uvmsg}{_details(address, port)}"
    return NodeSystemError(message, code, err, syscall, address=address, port=port or None)


def errno_exception(errno: int, syscall: str, original: str | None = None) -> NodeSystemError:
    # node: ErrnoException
    """``read ECONNRESET``: a failure with no address (read, shutdown, accept, open...)."""
    err = _uv_errno(errno)
    code = uv_error_name(err)
    message = f"{syscall} {code} {original}" if original else f"{syscall} {code}"
    return NodeSystemError(message, code, err, syscall)


# Python's getaddrinfo error numbers (glibc EAI_*) -> libuv's.
_EAI_TO_UV: Final[dict[int, int]] = {
    getattr(_socket, name): uv
    for name, uv in (
        ("EAI_ADDRFAMILY", -3000),
        ("EAI_AGAIN", -3001),
        ("EAI_BADFLAGS", -3002),
        ("EAI_FAIL", -3004),
        ("EAI_FAMILY", -3005),
        ("EAI_MEMORY", -3006),
        ("EAI_NODATA", -3007),
        ("EAI_NONAME", -3008),
        ("EAI_OVERFLOW", -3009),
        ("EAI_SERVICE", -3010),
        ("EAI_SOCKTYPE", -3011),
    )
    if hasattr(_socket, name)
}


def dns_exception(code: int | str, syscall: str, hostname: str | None = None) -> NodeSystemError:
    # node: DNSException
    """``getaddrinfo ENOTFOUND example.invalid``.

    ``code`` is a libuv errno (``-3008``; EAI_NONAME and EAI_NODATA become ``ENOTFOUND``) or a c-ares
    code string.  For a Python ``socket.gaierror`` use :func:`from_oserror` (its numbers are glibc's).
    """
    errno: int | None = None
    if isinstance(code, int):
        errno = code
        name = "ENOTFOUND" if code in (-3007, -3008) else uv_error_name(code)
    else:
        name = code
    message = f"{syscall} {name}{' ' + hostname if hostname else ''}"
    return NodeSystemError(message, name, errno, syscall, hostname=hostname or None)


def conn_reset_error(message: str) -> NodeError:  # node: ConnResetException
    """A plain Error with code ``ECONNRESET`` (``socket hang up``)."""
    exc = NodeError(message, "ECONNRESET")
    return exc


def from_oserror(
    exc: OSError, syscall: str, address: str | None = None, port: int | None = None
) -> NodeSystemError:
    """Translate a Python ``OSError`` from asyncio/socket into Node's error for ``syscall``."""
    if isinstance(exc, NodeSystemError):
        return exc
    if isinstance(exc, _socket.gaierror):
        uv = _EAI_TO_UV.get(exc.errno if exc.errno is not None else 0, -3008)
        return dns_exception(uv, "getaddrinfo", address)
    num = exc.errno if exc.errno is not None else _errno_mod.EIO
    if syscall == "listen":
        return uv_system_error(num, syscall, address, port)
    if address is None and port is None:
        return errno_exception(num, syscall)
    return system_error(num, syscall, address, port)


# ---------------------------------------------------------------------------------------------------
# Validators (lib/internal/validators.js): the argument checks that raise the errors above.
# Python stand-ins: numbers are int/float (not bool), strings str, Arrays list/tuple, objects Mapping.


def _js_typeof(value: object) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if callable(value):
        return "function"
    return "object"


def _fmt_bound(value: float | int) -> str:
    return js_number_to_string(value)


def validate_string(value: object, name: str) -> str:  # node: validateString
    if not isinstance(value, str):
        raise make_error("ERR_INVALID_ARG_TYPE", name, "string", value)
    return value


def validate_boolean(value: object, name: str) -> bool:  # node: validateBoolean
    if not isinstance(value, bool):
        raise make_error("ERR_INVALID_ARG_TYPE", name, "boolean", value)
    return value


def validate_function(value: object, name: str) -> Callable[..., Any]:  # node: validateFunction
    if not callable(value):
        raise make_error("ERR_INVALID_ARG_TYPE", name, "Function", value)
    return value


def validate_object(value: object, name: str) -> Mapping[str, Any]:  # node: validateObject (no flags)
    if not isinstance(value, Mapping):
        raise make_error("ERR_INVALID_ARG_TYPE", name, "Object", value)
    return value


def validate_array(value: object, name: str, min_length: int = 0) -> list[Any]:  # node: validateArray
    if not isinstance(value, (list, tuple)):
        raise make_error("ERR_INVALID_ARG_TYPE", name, "Array", value)
    if len(value) < min_length:
        raise make_error("ERR_INVALID_ARG_VALUE", name, value, f"must have a length of at least {min_length}")
    return list(value)


def validate_number(  # node: validateNumber
    value: object, name: str, min: float | None = None, max: float | None = None
) -> float | int:
    if not _is_number(value):
        raise make_error("ERR_INVALID_ARG_TYPE", name, "number", value)
    assert isinstance(value, (int, float))
    if (
        (min is not None and value < min)
        or (max is not None and value > max)
        or ((min is not None or max is not None) and isinstance(value, float) and math.isnan(value))
    ):
        low = f">= {_fmt_bound(min)}" if min is not None else ""
        both = " && " if min is not None and max is not None else ""
        high = f"<= {_fmt_bound(max)}" if max is not None else ""
        raise make_error("ERR_OUT_OF_RANGE", name, f"{low}{both}{high}", value)
    return value


def _validate_integer_in(value: object, name: str, low: int, high: int) -> int:
    if not _is_number(value):
        raise make_error("ERR_INVALID_ARG_TYPE", name, "number", value)
    if not is_js_integer(value):
        raise make_error("ERR_OUT_OF_RANGE", name, "an integer", value)
    assert isinstance(value, (int, float))
    if value < low or value > high:
        raise make_error("ERR_OUT_OF_RANGE", name, f">= {low} && <= {high}", value)
    return int(value)


def validate_integer(  # node: validateInteger
    value: object, name: str, min: int = -(2**53 - 1), max: int = 2**53 - 1
) -> int:
    return _validate_integer_in(value, name, min, max)


def validate_int32(  # node: validateInt32
    value: object, name: str, min: int = -(2**31), max: int = 2**31 - 1
) -> int:
    return _validate_integer_in(value, name, min, max)


def validate_uint32(value: object, name: str, positive: bool = False) -> int:  # node: validateUint32
    return _validate_integer_in(value, name, 1 if positive else 0, 4_294_967_295)


def validate_one_of(value: object, name: str, one_of: Sequence[object]) -> object:  # node: validateOneOf
    if not any(_same_value_zero(value, v) for v in one_of):
        allowed = ", ".join(f"'{v}'" if isinstance(v, str) else to_js_string(v) for v in one_of)
        raise make_error("ERR_INVALID_ARG_VALUE", name, value, "must be one of: " + allowed)
    return value


def _same_value_zero(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float))
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is b


def validate_port(port: object, name: str = "Port", allow_zero: bool = True) -> int:  # node: validatePort
    """A port as Node accepts it: a number or a numeric string (``'0x50'``, ``' 80 '``) that is an
    integer in [0, 65535] (``0`` only with ``allow_zero``). Returns ``port | 0``."""
    if not (_is_number(port) or isinstance(port, str)):
        raise make_error("ERR_SOCKET_BAD_PORT", name, port, allow_zero)
    if isinstance(port, str) and len(js_trim(port)) == 0:
        raise make_error("ERR_SOCKET_BAD_PORT", name, port, allow_zero)
    number = js_to_number(port)
    if not is_js_integer(number) or not 0 <= number <= 0xFFFFFFFF:
        raise make_error("ERR_SOCKET_BAD_PORT", name, port, allow_zero)
    if number > 0xFFFF or (number == 0 and not allow_zero):
        raise make_error("ERR_SOCKET_BAD_PORT", name, port, allow_zero)
    return int(number)
