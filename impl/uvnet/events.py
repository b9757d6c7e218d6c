"""Node's ``EventEmitter`` (``node:events``) with Node 24's semantics.

Theory of operation
-------------------
Listeners of one event are kept as a *tuple*.  ``emit`` iterates the tuple it read, and every
change builds a new tuple, so adding or removing listeners while an event is being emitted does not
change the listeners that emit calls (Node gets the same effect by copying its listener array
before mutating it while ``kEmitting``).  Measured on Node 24: ``r1`` removing ``r2`` and adding
``r3`` during an emit still calls ``r2`` and not ``r3``; the next emit calls ``r1, r3``.

The rules that are easy to get wrong, each measured on Node 24 (see ``tests/test_events.py``):

* ``'newListener'`` is emitted *before* the listener is added, with the unwrapped listener;
  ``'removeListener'`` *after* it is removed.  For a once-wrapper removed from a list of several
  listeners, ``'removeListener'`` receives the wrapper itself; for a sole listener, the original.
* ``once`` wraps the listener; ``rawListeners`` shows the wrapper (with ``.listener``),
  ``listeners`` the original.  The wrapper removes itself before calling the listener.
* ``removeListener`` removes the *last* matching registration.
* ``emit('error')`` with no ``'error'`` listener raises: the error itself if it is an exception,
  else ``ERR_UNHANDLED_ERROR`` (``Unhandled error. ('x')``).  ``errorMonitor`` listeners run first.
* The max-listeners warning fires once per emitter and event, but Node keeps that flag on its
  listener array: when the listeners drop to one (or none) the flag goes, and it can warn again.
* ``eventNames`` follows ``Reflect.ownKeys``: array-index names ascending, then other strings in
  insertion order, then symbols.
* A listener that is a coroutine function returns a coroutine; it runs as a JS async function
  (``_runtime.spawn``).  Its rejection is unhandled (reported as uncaught), unless the emitter was
  made with ``captureRejections=True``, which turns it into an ``'error'`` emit on the next tick.

Listeners are called with the event's arguments only (Python has no ``this``); one that needs the
emitter closes over it.  Listener identity is ``==``, so the same bound method registered and
removed through two ``obj.method`` expressions matches, as the same function does in JavaScript.

Everything internal emits through ``self.emit(...)``: instances may shadow ``emit`` (the
conformance agent records events that way).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Final, Self

from . import _runtime
from .errors import js_number_to_string, make_error

__all__ = [
    "EventEmitter",
    "MaxListenersExceededWarning",
    "errorMonitor",
    "getEventListeners",
    "getMaxListeners",
    "listenerCount",
    "once",
    "setMaxListeners",
]

Listener = Callable[..., Any]


class _Symbol:
    """A stand-in for a JS ``Symbol``: unique, prints as ``Symbol(description)``."""

    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description

    def __repr__(self) -> str:
        return f"Symbol({self.description})"

    __str__ = __repr__


errorMonitor: Final = _Symbol("events.errorMonitor")

_MISSING: Final = object()
_INDEX_LIMIT: Final = 2**32 - 1


class MaxListenersExceededWarning(RuntimeWarning):
    """Node's ``MaxListenersExceededWarning``, with its ``emitter``, ``type`` and ``count``."""

    def __init__(self, message: str, emitter: object, type: object, count: int) -> None:
        super().__init__(message)
        self.emitter = emitter
        self.type = type
        self.count = count


def _validate_number(value: object, name: str) -> float:  # node: validateNumber(value, name, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise make_error("ERR_INVALID_ARG_TYPE", name, "number", value)
    if value != value or value < 0:
        raise make_error("ERR_OUT_OF_RANGE", name, ">= 0", value)
    return value


def _check_listener(listener: object) -> None:  # node: checkListener
    if not callable(listener):
        raise make_error("ERR_INVALID_ARG_TYPE", "listener", "Function", listener)


def _matches(registered: Listener, listener: object) -> bool:
    # node: `list[i] === listener || list[i].listener === listener`
    return registered == listener or getattr(registered, "listener", None) == listener


def _key_rank(name: object) -> tuple[int, int]:  # node: the order of Reflect.ownKeys
    if isinstance(name, str):
        if name.isdigit() and (name == "0" or name[0] != "0") and int(name) < _INDEX_LIMIT:
            return (0, int(name))
        return (1, 0)
    if isinstance(name, int) and not isinstance(name, bool) and 0 <= name < _INDEX_LIMIT:
        return (0, name)
    if isinstance(name, _Symbol):
        return (2, 0)
    return (1, 0)


class _OnceWrapper:
    """What ``once`` registers (Node's ``_onceWrap``): removes itself, then calls ``listener``."""

    __slots__ = ("emitter", "fired", "listener", "name")

    def __init__(self, emitter: EventEmitter, name: object, listener: Listener) -> None:
        self.emitter = emitter
        self.name = name
        self.listener = listener
        self.fired = False

    def __call__(self, *args: Any) -> Any:  # node: onceWrapper
        if self.fired:
            return None
        self.fired = True
        self.emitter.removeListener(self.name, self)
        return self.listener(*args)

    def __repr__(self) -> str:
        return f"<once wrapper of {self.listener!r}>"


_NO_WARNINGS: Final[set[object]] = set()  # EventEmitter._eventsWarned until a first warning (never added to)


class _EventEmitterMeta(type):
    """Gives the class Node's validated static ``EventEmitter.defaultMaxListeners``."""

    _default_max_listeners: float = 10

    @property
    def defaultMaxListeners(cls) -> float:
        return _EventEmitterMeta._default_max_listeners

    @defaultMaxListeners.setter
    def defaultMaxListeners(cls, value: float) -> None:
        _EventEmitterMeta._default_max_listeners = _validate_number(value, "defaultMaxListeners")


class EventEmitter(metaclass=_EventEmitterMeta):
    """Node's ``EventEmitter``.  Subclasses must call ``super().__init__()``."""

    errorMonitor: Final = errorMonitor
    # Class defaults until set (most emitters never change them): fewer keys per instance __dict__.
    _maxListeners: float | None = None
    _eventsWarned: set[object] = _NO_WARNINGS  # shared and empty: only _warn_max_listeners adds, to its own

    def __init__(
        self, opts: Mapping[str, Any] | None = None, *, captureRejections: bool = False
    ) -> None:  # node: EventEmitter.init
        if opts is not None and opts.get("captureRejections"):
            captureRejections = True
        self._events: dict[object, tuple[Listener, ...]] = {}
        self._captureRejections = captureRejections

    # -- adding ----------------------------------------------------------------------------------------

    def _add_listener(self, name: object, listener: Listener, prepend: bool) -> Self:  # node: _addListener
        _check_listener(listener)
        if "newListener" in self._events:
            unwrapped = getattr(listener, "listener", None)
            self.emit("newListener", name, unwrapped if unwrapped is not None else listener)
        events = self._events  # a 'newListener' listener may have replaced it
        existing = events.get(name)
        if existing is None:
            events[name] = (listener,)
            return self
        updated = (listener, *existing) if prepend else (*existing, listener)
        events[name] = updated
        limit = self._max_listeners()
        if limit > 0 and len(updated) > limit and name not in self._eventsWarned:
            self._warn_max_listeners(name, len(updated), limit)
        return self

    def _warn_max_listeners(
        self, name: object, count: int, limit: float
    ) -> None:  # node: warnMaxListenersExceeded
        warned = self._eventsWarned
        if warned is _NO_WARNINGS:
            warned = self._eventsWarned = set()
        warned.add(name)
        limit_text = js_number_to_string(limit)
        message = (
            f"Possible EventEmitter memory leak detected. {count} {name} listeners added to "
            f"[{type(self).__name__}]. MaxListeners is {limit_text}. "
            "Use emitter.setMaxListeners() to increase limit"
        )
        warnings.warn(MaxListenersExceededWarning(message, self, name, count), stacklevel=4)

    def addListener(self, name: object, listener: Listener) -> Self:  # node: addListener
        return self._add_listener(name, listener, False)

    def on(self, name: object, listener: Listener) -> Self:  # node: on (alias of addListener)
        return self._add_listener(name, listener, False)

    def prependListener(self, name: object, listener: Listener) -> Self:  # node: prependListener
        return self._add_listener(name, listener, True)

    def once(self, name: object, listener: Listener) -> Self:  # node: once
        _check_listener(listener)
        return self.on(name, _OnceWrapper(self, name, listener))

    def prependOnceListener(self, name: object, listener: Listener) -> Self:  # node: prependOnceListener
        _check_listener(listener)
        return self.prependListener(name, _OnceWrapper(self, name, listener))

    # -- removing --------------------------------------------------------------------------------------

    def removeListener(self, name: object, listener: Listener) -> Self:  # node: removeListener
        _check_listener(listener)
        events = self._events
        existing = events.get(name)
        if existing is None:
            return self
        if len(existing) == 1:
            only = existing[0]
            if not _matches(only, listener):
                return self
            del events[name]
            self._eventsWarned.discard(name)
            if "removeListener" in events:
                original = getattr(only, "listener", None)
                self.emit("removeListener", name, original if original else listener)
            return self
        for position in range(len(existing) - 1, -1, -1):
            if _matches(existing[position], listener):
                break
        else:
            return self
        updated = existing[:position] + existing[position + 1 :]
        events[name] = updated
        if len(updated) == 1:
            # Node collapses a one-element array back to the function, losing its `warned` flag.
            self._eventsWarned.discard(name)
        if "removeListener" in events:
            self.emit("removeListener", name, listener)
        return self

    def off(self, name: object, listener: Listener) -> Self:  # node: off (alias of removeListener)
        return self.removeListener(name, listener)

    def removeAllListeners(self, name: object = _MISSING) -> Self:  # node: removeAllListeners
        events = self._events
        if "removeListener" not in events:
            if name is _MISSING:
                self._events = {}
                self._eventsWarned.clear()
            elif name in events:
                del events[name]
                self._eventsWarned.discard(name)
            return self
        if name is _MISSING:
            for key in self._own_keys():
                if key != "removeListener":
                    self.removeAllListeners(key)
            self.removeAllListeners("removeListener")
            self._events = {}
            self._eventsWarned.clear()
            return self
        listeners = events.get(name)
        if listeners is not None:
            for listener in reversed(listeners):  # LIFO, as Node
                self.removeListener(name, listener)
        return self

    # -- emitting --------------------------------------------------------------------------------------

    def emit(self, name: object, *args: Any) -> bool:  # node: emit
        events = self._events
        if name == "error":
            if errorMonitor in events:
                self.emit(errorMonitor, *args)
            if "error" not in events:
                error = args[0] if args else None
                if isinstance(error, BaseException):
                    raise error  # Unhandled 'error' event
                raise make_error("ERR_UNHANDLED_ERROR", error)
        listeners = events.get(name)
        if listeners is None:
            return False
        for listener in listeners:
            result = listener(*args)
            # bool/None (a listener like `lambda d: sock.write(d)`) skip the ABC check's cost
            if (
                result is not None
                and result is not True
                and result is not False
                and isinstance(result, Coroutine)
            ):
                self._run_async_listener(result)
        return True

    def _run_async_listener(self, coro: Coroutine[Any, Any, Any]) -> None:  # node: addCatch
        if not self._captureRejections:
            _runtime.spawn(coro, uncaught=True)
            return
        promise = _runtime.spawn(coro)
        promise.catch(lambda err: _runtime.next_tick(self._emit_rejection_nt, err))

    def _emit_rejection_nt(self, err: BaseException) -> None:  # node: emitUnhandledRejectionOrErr
        previous = self._captureRejections
        self._captureRejections = False  # an async 'error' listener must not loop back here
        try:
            self.emit("error", err)
        finally:
            self._captureRejections = previous

    # -- inspecting ------------------------------------------------------------------------------------

    def listeners(self, name: object) -> list[Listener]:  # node: listeners
        result: list[Listener] = []
        for listener in self._events.get(name, ()):
            original = getattr(listener, "listener", None)
            result.append(original if callable(original) else listener)
        return result

    def rawListeners(self, name: object) -> list[Listener]:  # node: rawListeners
        return list(self._events.get(name, ()))

    def listenerCount(self, name: object, listener: Listener | None = None) -> int:  # node: listenerCount
        registered = self._events.get(name, ())
        if listener is None:
            return len(registered)
        return sum(1 for each in registered if _matches(each, listener))

    def eventNames(self) -> list[object]:  # node: eventNames
        return self._own_keys()

    def _own_keys(self) -> list[object]:
        keys = list(self._events)
        if len(keys) > 1:
            keys.sort(key=_key_rank)  # stable: insertion order within strings and within symbols
        return keys

    def setMaxListeners(self, n: float) -> Self:  # node: setMaxListeners
        self._maxListeners = _validate_number(n, "setMaxListeners")
        return self

    def getMaxListeners(self) -> float:  # node: getMaxListeners
        return self._max_listeners()

    def _max_listeners(self) -> float:  # node: _getMaxListeners
        if self._maxListeners is None:
            return EventEmitter.defaultMaxListeners
        return self._maxListeners


# ---------------------------------------------------------------------------------------------------
# The module's static functions (Node's EventEmitter.once, EventEmitter.listenerCount, ...)


def once(emitter: EventEmitter, name: object) -> _runtime.Promise:  # node: events.once
    """A promise of the next ``name`` event's arguments (a list); rejects on ``'error'``.

    Await it inside ``uvnet.run()`` coroutines or in plain asyncio tasks.
    """
    promise = _runtime.Promise()

    def resolver(*args: Any) -> None:
        if name != "error":
            emitter.removeListener("error", error_listener)
        promise.resolve(list(args))

    def error_listener(err: object = None) -> None:
        emitter.removeListener(name, resolver)
        if isinstance(err, BaseException):
            promise.reject(err)
        else:
            # DIVERGENCE(events-once-non-error-rejection): JS rejects with any value; Python can only
            # raise exceptions, so a non-exception 'error' value arrives wrapped, in `.context`.
            promise.reject(make_error("ERR_UNHANDLED_ERROR", err))

    emitter.once(name, resolver)
    if name != "error":
        emitter.once("error", error_listener)
    return promise


def listenerCount(emitter: EventEmitter, name: object) -> int:  # node: events.listenerCount
    return emitter.listenerCount(name)


def getEventListeners(emitter: EventEmitter, name: object) -> list[Listener]:  # node: getEventListeners
    if not isinstance(emitter, EventEmitter):
        raise make_error("ERR_INVALID_ARG_TYPE", "emitter", ["EventEmitter", "EventTarget"], emitter)
    return emitter.listeners(name)


def getMaxListeners(emitter: EventEmitter) -> float:  # node: events.getMaxListeners
    if not isinstance(emitter, EventEmitter):
        raise make_error("ERR_INVALID_ARG_TYPE", "emitter", ["EventEmitter", "EventTarget"], emitter)
    return emitter.getMaxListeners()


def setMaxListeners(
    n: float | None = None, *targets: EventEmitter
) -> None:  # node: EventEmitter.setMaxListeners
    # None is JS's undefined: the default applies
    value = _validate_number(EventEmitter.defaultMaxListeners if n is None else n, "setMaxListeners")
    if not targets:
        EventEmitter.defaultMaxListeners = value
        return
    for target in _as_targets(targets):
        target.setMaxListeners(value)


def _as_targets(targets: Iterable[object]) -> list[EventEmitter]:
    result: list[EventEmitter] = []
    for target in targets:
        if not callable(getattr(target, "setMaxListeners", None)):
            raise make_error("ERR_INVALID_ARG_TYPE", "eventTargets", ["EventEmitter", "EventTarget"], target)
        result.append(target)  # type: ignore[arg-type]
    return result
