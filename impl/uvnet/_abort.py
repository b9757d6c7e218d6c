"""A minimal ``AbortController``/``AbortSignal``: what ``signal`` options of net need.

Node's are WHATWG objects (``lib/internal/abort_controller.js``); net only uses ``signal.aborted``,
``signal.reason`` and ``addEventListener('abort', fn)``/``removeEventListener``.  Any object with
those members is accepted where uvnet takes a signal (duck typing stands in for ``instanceof``), so a
Python program may bring its own.  ``abort()`` fires listeners synchronously, in registration order,
once; the default reason is a ``DOMException`` named ``'AbortError'`` (code 20), as in Node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import _runtime
from .errors import NodeError, make_error

__all__ = [
    "AbortController",
    "AbortSignal",
    "DOMException",
    "add_abort_listener",
    "signal_get",
    "validate_abort_signal",
]

Listener = Callable[..., object]


class DOMException(NodeError):  # node: DOMException (the AbortError flavour)
    """``new DOMException(message, name)``; ``code`` is the legacy numeric code (20 for AbortError)."""

    _CODES = {"AbortError": 20, "TimeoutError": 23}

    def __init__(self, message: str = "", name: str = "Error") -> None:
        super().__init__(message, None)
        self.name = name
        self.code = self._CODES.get(name, 0)  # type: ignore[assignment]

    def toString(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name


class _Event:
    __slots__ = ("target", "type")

    def __init__(self, type: str, target: AbortSignal) -> None:
        self.type = type
        self.target = target


class AbortSignal:  # node: AbortSignal
    def __init__(self) -> None:
        self.aborted = False
        self.reason: object = None
        self.onabort: Listener | None = None
        self._listeners: list[tuple[Listener, bool]] = []

    @staticmethod
    def abort(reason: object = None) -> AbortSignal:  # node: AbortSignal.abort
        signal = AbortSignal()
        signal._abort(reason)
        return signal

    def throwIfAborted(self) -> None:  # node: AbortSignal.prototype.throwIfAborted
        if self.aborted:
            raise self.reason if isinstance(self.reason, BaseException) else make_error("ABORT_ERR")

    def addEventListener(self, type: str, listener: Listener, options: Any = None) -> None:
        if type != "abort" or any(fn == listener for fn, _ in self._listeners):
            return
        once = bool(options.get("once")) if isinstance(options, dict) else False
        self._listeners.append((listener, once))

    def removeEventListener(self, type: str, listener: Listener, options: Any = None) -> None:
        if type != "abort":
            return
        self._listeners = [(fn, once) for fn, once in self._listeners if fn != listener]

    def _abort(self, reason: object = None) -> None:  # node: abortSignal
        if self.aborted:
            return
        self.aborted = True
        self.reason = DOMException("This operation was aborted", "AbortError") if reason is None else reason
        event = _Event("abort", self)
        listeners = self._listeners
        self._listeners = [(fn, once) for fn, once in listeners if not once]
        if self.onabort is not None:
            self._call(self.onabort, event)
        for fn, _ in listeners:
            self._call(fn, event)

    @staticmethod
    def _call(fn: Listener, event: _Event) -> None:
        try:
            fn(event)
        except Exception as exc:  # an event listener's throw is reported, not propagated
            _runtime.report_uncaught(exc)


class AbortController:  # node: AbortController
    def __init__(self) -> None:
        self.signal = AbortSignal()

    def abort(self, reason: object = None) -> None:  # node: AbortController.prototype.abort
        self.signal._abort(reason)


def signal_get(signal: Any, key: str) -> Any:
    """``signal[key]`` for an AbortSignal-like object or a plain dict standing for one."""
    if isinstance(signal, Mapping):
        return signal.get(key)
    return getattr(signal, key, None)


def validate_abort_signal(signal: object, name: str) -> None:  # node: validateAbortSignal
    """Node's check is ``typeof signal === 'object' && 'aborted' in signal``; so is ours (a dict with
    an ``'aborted'`` key passes too, as a plain JS object does)."""
    if signal is None:
        return
    if isinstance(signal, Mapping):
        if "aborted" in signal:
            return
    elif hasattr(signal, "aborted") and not isinstance(signal, (str, int, float)):
        return
    raise make_error("ERR_INVALID_ARG_TYPE", name, "AbortSignal", signal)


def add_abort_listener(signal: Any, listener: Callable[[], object]) -> Callable[[], None]:
    # node: addAbortListener; returns the disposer
    def on_abort(*_: object) -> None:
        listener()

    add = signal_get(signal, "addEventListener")
    if not callable(add):
        raise TypeError("signal.addEventListener is not a function")
    add("abort", on_abort, {"once": True})

    def dispose() -> None:
        remove = signal_get(signal, "removeEventListener")
        if callable(remove):
            remove("abort", on_abort)

    return dispose
