"""The trace's value encoding on the Python side (the JavaScript agent has its twin in agent.mjs).

See the table in docs/scenarios.md. Python stands in for JavaScript: `None` is both `null` and `undefined`,
dicts are plain objects, bytes-likes are Buffers, exceptions are Errors.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

_ERROR_FIELDS = ("errno", "syscall", "address", "port")


def encode_error(exc: BaseException, encode: Callable[[Any], Any]) -> dict[str, Any]:
    name = getattr(exc, "name", None)
    if not isinstance(name, str):
        name = type(exc).__name__
    body: dict[str, Any] = {"name": name, "code": getattr(exc, "code", None), "message": str(exc)}
    for key in _ERROR_FIELDS:
        value = getattr(exc, key, None)
        if value is not None:
            body[key] = encode(value)
    errors = getattr(exc, "errors", None)
    if isinstance(errors, (list, tuple)):
        body["errors"] = [encode(e) for e in errors]
    return {"$err": body}


def encode_number(value: float) -> Any:
    if math.isnan(value):
        return {"$num": "NaN"}
    if math.isinf(value):
        return {"$num": "Infinity" if value > 0 else "-Infinity"}
    if value.is_integer() and not (value == 0 and math.copysign(1.0, value) < 0):
        return int(value)
    return value


def _is_js_null(value: Any) -> bool:
    return type(value).__name__ == "JSNull"


class Encoder:
    """Encodes values; knows which objects are observed (and so are written by name)."""

    def __init__(self, name_of: Callable[[Any], str | None]) -> None:
        self.name_of = name_of

    def __call__(self, value: Any, depth: int = 0) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if _is_js_null(value):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return encode_number(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, BaseException):
            return encode_error(value, lambda v: self(v, depth + 1))
        name = self.name_of(value)
        if name is not None:
            return {"$obj": name}
        if depth > 8:
            return {"$inst": "deep"}
        if isinstance(value, (list, tuple)):
            return [self(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {str(k): self(v, depth + 1) for k, v in value.items()}
        if callable(value):
            return {"$fn": None}
        return {"$inst": type(value).__name__}


def is_plain(value: Any) -> bool:
    """Plain data may cross from one side's process to the other."""
    if isinstance(value, float):
        return math.isfinite(value)
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False
