"""Node's event loop, modelled on an asyncio loop: nextTick, microtasks, timers, immediates, keep-alive.

Theory of operation
-------------------
Node runs JavaScript only from *macrotasks*: the main script, an I/O callback, a timer, an immediate.
When a macrotask returns, Node drains two queues before anything else may run
(``processTicksAndRejections`` in ``lib/internal/process/task_queues.js``):

1. every ``process.nextTick`` callback, including ticks queued by ticks;
2. then V8's microtask queue (promise reactions, ``queueMicrotask``), including microtasks queued by
   microtasks; a nextTick queued from a microtask waits until the microtask queue is empty;
3. then unhandled promise rejections are reported; repeat from 1 while anything is queued.

Measured on Node 24.21 (the JS twins in ``tests/test_runtime.py``, re-run there when Node is installed)::

    sync, tick1, tick2, tick-from-tick, micro1, micro2, micro-from-tick, micro-from-micro,
    tick-from-micro, immediate, timeout0

libuv's loop then goes round its phases: **timers** (``processTimers``) -> pending -> idle/prepare ->
**poll** (I/O callbacks) -> **check** (``processImmediate``) -> close callbacks.  Inside the timers
and check phases Node drains the two queues *between* callbacks (``runNextTicks``), so each timer
and each immediate behaves as its own macrotask; immediates queued while the check phase runs wait
for the next turn of the loop.

Mapping onto asyncio (identical on uvloop and on asyncio's own loop; neither has a check phase):

* ``invoke(fn)`` is the macrotask door: I/O callbacks (protocols), timer and immediate callbacks go
  through it.  It calls ``fn``, reports an exception as uncaught and drains.  Nested calls just call:
  the outermost invoke drains, as Node's outermost ``InternalCallbackScope`` does.
* ``next_tick`` and ``queue_microtask`` append to two deques.  Called outside any macrotask (plain
  asyncio code), they schedule one drain with ``loop.call_soon`` so nothing waits forever.
* Timers are Node's own design: one list per duration, each list ordered by insertion, a priority
  queue of lists keyed by (expiry, list id).  Only the earliest expiry is armed on the loop, through
  a :class:`Clock` (``loop.call_at`` for :class:`LoopClock`; a virtual clock for tests).
* Immediates are a queue processed by one ``loop.call_soon`` callback (the "check phase").  The
  phase order Node guarantees is rebuilt on top: immediates queued by I/O, timers or the main script
  run before the next timers phase (uvloop would run a due timer first: its ``call_soon`` queue runs
  in libuv's idle phase, after timers), so a timers wakeup first runs such immediates; immediates
  queued *by the check phase* belong to the next loop turn, after the timers due by then, so the
  check callback first runs due timers when all it holds came from the previous check phase.
  Measured: from the main script and from I/O and timer callbacks, Node 24 ran ``setImmediate``
  before ``setTimeout(0)`` in every run; this model always does.
* Between two callbacks of a timers or check phase the queues are drained, except right after a
  callback that threw: Node unwinds ``processTimers``/``processImmediate`` on a throw and re-enters
  it, skipping one ``runNextTicks`` (measured: ``I1 throws, I2, I1-tick``).

Keep-alive (``run()`` returns when the process would exit): the loop is alive while a ref'd handle
(``ref_handle``), a ref'd timer or a ref'd immediate exists, while ticks/microtasks are pending, while
the main coroutine has not finished, or while a coroutine run by ``spawn`` awaits an asyncio future
(asyncio futures stand for libuv requests, which keep Node's loop alive).  Unref'd timers and
immediates fire only while something else keeps the loop alive: libuv (>= 1.45, Node 24) tests
liveness right after its timers phase, so an unref'd immediate queued by the last timer never runs.

``spawn`` drives a coroutine the way V8 drives an async function: synchronously to the first
``await``; awaiting a :class:`Promise` resumes from a microtask (one tick, as ``await`` on a native
promise); awaiting an asyncio future resumes from a macrotask via ``invoke``.  The same Promise is
awaitable from plain asyncio tasks through a per-await asyncio future.  Rejections nobody handles
by the end of a drain are reported as uncaught (Node's default ``--unhandled-rejections=throw``).

Traps: an uncaught exception with no handler stops ``run()`` at once, as Node exits; nothing else
runs.  ``asyncio.current_task()`` is ``None`` inside spawned coroutines (they are not asyncio tasks),
so ``asyncio.timeout()`` does not work there; ``asyncio.wait_for`` and ``asyncio.sleep`` do.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Protocol

from .errors import NodeError, inspect, js_number_to_string, make_error

__all__ = [
    "TIMEOUT_MAX",
    "Clock",
    "FakeClock",
    "Immediate",
    "LoopClock",
    "Promise",
    "Runtime",
    "Timeout",
    "TimeoutNaNWarning",
    "TimeoutNegativeWarning",
    "TimeoutOverflowWarning",
    "clear_immediate",
    "clear_interval",
    "clear_timeout",
    "current",
    "invoke",
    "next_tick",
    "queue_microtask",
    "ref_handle",
    "report_uncaught",
    "run",
    "set_immediate",
    "set_interval",
    "set_timeout",
    "set_uncaught_handler",
    "spawn",
    "unref_handle",
    "use_clock",
]

TIMEOUT_MAX = 2**31 - 1

Callback = Callable[..., object]


# ---------------------------------------------------------------------------------------------------
# Clocks


class Cancellable(Protocol):
    def cancel(self) -> object: ...


class Clock(Protocol):
    """Where timers read the time (milliseconds, monotonic) and how they are woken up."""

    def attach(self, loop: asyncio.AbstractEventLoop, idle: Callable[[], bool]) -> None: ...

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Cancellable: ...


class LoopClock:
    """The real clock: the loop's own time, brought up to date on every reading (uvloop's time() runs
    uv_update_time first, as Node's getLibuvNow does: timers set in one callback that runs long start
    at different times, measured on Node 24)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop, idle: Callable[[], bool]) -> None:
        self._loop = loop

    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time() * 1000.0

    def call_at(self, when: float, callback: Callable[[], None]) -> Cancellable:
        loop = self._loop
        assert loop is not None
        # Rounded up to whole ms: uvloop truncates delays to ms and would wake us before `when`.
        delay = max(0.0, math.ceil(when - loop.time() * 1000.0)) / 1000.0
        return loop.call_later(delay, callback)


class _FakeWakeup:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A virtual clock for tests: time moves only through ``advance()``, or by itself with autojump.

    With ``autojump=True`` the clock jumps to the next timer once the runtime has had nothing to do
    (no ticks, microtasks, immediates or woken coroutines) for ``settle`` consecutive loop
    iterations.  Real I/O is not waited for: use ``advance()`` when a test mixes sockets and timers.
    """

    def __init__(self, start: float = 0.0, *, autojump: bool = False, settle: int = 2) -> None:
        self._now = float(start)
        self.autojump = autojump
        self._settle = settle
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: Callable[[], bool] = lambda: True
        self._wakeups: list[tuple[float, int, _FakeWakeup]] = []
        self._seq = 0
        self._jump_armed = False
        self._idle_rounds = 0

    def attach(self, loop: asyncio.AbstractEventLoop, idle: Callable[[], bool]) -> None:
        self._loop = loop
        self._idle = idle

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> Cancellable:
        wakeup = _FakeWakeup(when, callback)
        self._seq += 1
        heapq.heappush(self._wakeups, (when, self._seq, wakeup))
        if when <= self._now:
            self._fire_due()
        elif self.autojump:
            self._arm_jump()
        return wakeup

    def advance(self, ms: float) -> None:
        """Move time forward; timers now due fire from the loop, as a real wakeup would."""
        if ms < 0:
            raise ValueError("FakeClock cannot go backwards")
        self._now += ms
        self._fire_due()

    def _fire_due(self) -> None:
        loop = self._loop
        assert loop is not None, "FakeClock is not attached to a runtime"
        while self._wakeups and self._wakeups[0][0] <= self._now:
            wakeup = heapq.heappop(self._wakeups)[2]
            if not wakeup.cancelled:
                loop.call_soon(self._run_wakeup, wakeup)

    @staticmethod
    def _run_wakeup(wakeup: _FakeWakeup) -> None:
        if not wakeup.cancelled:
            wakeup.cancelled = True
            wakeup.callback()

    def _pending(self) -> _FakeWakeup | None:
        while self._wakeups and self._wakeups[0][2].cancelled:
            heapq.heappop(self._wakeups)
        return self._wakeups[0][2] if self._wakeups else None

    def _arm_jump(self) -> None:
        if not self._jump_armed:
            assert self._loop is not None
            self._jump_armed = True
            # call_later(0), not call_soon: one full loop iteration (with its I/O poll) between checks.
            self._loop.call_later(0, self._try_jump)

    def _try_jump(self) -> None:
        self._jump_armed = False
        nxt = self._pending()
        if nxt is None or not self.autojump:
            return
        if not self._idle():
            self._idle_rounds = 0
        else:
            self._idle_rounds += 1
            if self._idle_rounds >= self._settle:
                self._idle_rounds = 0
                self._now = max(self._now, nxt.when)
                self._fire_due()
                if self._pending() is not None:
                    self._arm_jump()
                return
        self._arm_jump()


# ---------------------------------------------------------------------------------------------------
# Timers and immediates


class TimeoutOverflowWarning(RuntimeWarning):
    pass


class TimeoutNegativeWarning(RuntimeWarning):
    pass


class TimeoutNaNWarning(RuntimeWarning):
    pass


_warned_negative = False
_warned_nan = False


def _js_to_number(text: str) -> float:  # node: ToNumber(string), the subset timers meet
    s = text.strip()
    if s == "":
        return 0.0
    try:
        if s[:2].lower() in ("0x", "0o", "0b"):
            return float(int(s, 0))
        if s in ("Infinity", "+Infinity"):
            return math.inf
        if s == "-Infinity":
            return -math.inf
        if s.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            return math.nan
        return float(s)
    except ValueError:
        return math.nan


def _timeout_duration(after: object) -> float:  # node: Timeout constructor's clamping of `after`
    global _warned_negative, _warned_nan
    if after is None:
        return 1.0
    if isinstance(after, bool):
        value = float(after)
    elif isinstance(after, (int, float)):
        value = float(after)
    elif isinstance(after, str):
        value = _js_to_number(after)
    else:
        value = math.nan
    if 1 <= value <= TIMEOUT_MAX:
        return value
    if value > TIMEOUT_MAX:
        warnings.warn(
            TimeoutOverflowWarning(
                f"{js_number_to_string(value)} does not fit into a 32-bit signed integer.\n"
                "Timeout duration was set to 1."
            ),
            stacklevel=4,
        )
    elif value < 0 and not _warned_negative:
        _warned_negative = True
        warnings.warn(
            TimeoutNegativeWarning(
                f"{js_number_to_string(value)} is a negative number.\nTimeout duration was set to 1."
            ),
            stacklevel=4,
        )
    elif math.isnan(value) and not _warned_nan:
        _warned_nan = True
        warnings.warn(TimeoutNaNWarning("NaN is not a number.\nTimeout duration was set to 1."), stacklevel=4)
    return 1.0


class _TimerList:
    """All timers of one (truncated) duration, in insertion order; Node's ``TimersList``."""

    __slots__ = ("dead", "expiry", "id", "msecs", "timers")

    def __init__(self, msecs: int, expiry: float, list_id: int) -> None:
        self.msecs = msecs
        self.expiry = expiry
        self.id = list_id
        self.timers: dict[Timeout, None] = {}
        self.dead = False


class Timeout:
    """Node's ``Timeout``: what ``set_timeout``/``set_interval`` return."""

    __slots__ = ("_after", "_args", "_callback", "_destroyed", "_list", "_refed", "_repeat", "_rt", "_start")

    def __init__(
        self, rt: Runtime, callback: Callback, after: object, args: tuple[object, ...], repeat: bool
    ) -> None:
        self._rt = rt
        self._after = _timeout_duration(after)
        self._callback: Callback | None = callback
        self._args = args
        self._repeat: float | None = self._after if repeat else None
        self._destroyed = False
        self._refed: bool | None = True
        self._start = 0.0
        self._list: _TimerList | None = None
        rt._timer_refs += 1

    def ref(self) -> Timeout:  # node: Timeout.prototype.ref
        if not self._refed:
            self._refed = True
            if not self._destroyed:
                self._rt._timer_refs += 1
        return self

    def unref(self) -> Timeout:  # node: Timeout.prototype.unref
        if self._refed:
            self._refed = False
            if not self._destroyed:
                self._rt._timer_refs -= 1
                self._rt._maybe_exit()
        return self

    def hasRef(self) -> bool:  # node: Timeout.prototype.hasRef
        return bool(self._refed)

    def refresh(self) -> Timeout:  # node: Timeout.prototype.refresh
        # Node re-arms a timer even after it fired (measured: "once fired" twice); not after clear.
        self._rt._insert_guarded(self, bool(self._refed))
        return self

    def close(self) -> Timeout:  # node: Timeout.prototype.close
        self._rt.clear_timeout(self)
        return self

    def __repr__(self) -> str:
        state = "destroyed" if self._destroyed else "active"
        return f"<Timeout {self._after}ms {state}>"


class Immediate:
    """Node's ``Immediate``: what ``set_immediate`` returns."""

    __slots__ = ("_args", "_callback", "_destroyed", "_refed", "_rt")

    def __init__(self, rt: Runtime, callback: Callback, args: tuple[object, ...]) -> None:
        self._rt = rt
        self._callback: Callback | None = callback
        self._args = args
        self._refed: bool | None = True
        self._destroyed = False
        rt._immediate_refs += 1

    def ref(self) -> Immediate:  # node: Immediate.prototype.ref
        if self._refed is False:
            self._refed = True
            self._rt._immediate_refs += 1
        return self

    def unref(self) -> Immediate:  # node: Immediate.prototype.unref
        if self._refed is True:
            self._refed = False
            self._rt._immediate_refs -= 1
            self._rt._maybe_exit()
        return self

    def hasRef(self) -> bool:  # node: Immediate.prototype.hasRef
        return bool(self._refed)

    def __repr__(self) -> str:
        return f"<Immediate {'destroyed' if self._destroyed else 'pending'}>"


# ---------------------------------------------------------------------------------------------------
# Promise and async functions

_PENDING = 0
_FULFILLED = 1
_REJECTED = 2
_STATE_NAMES = ("pending", "fulfilled", "rejected")

Reaction = Callable[["Promise"], None]
Executor = Callable[[Callable[..., None], Callable[[BaseException], None]], object]


class Promise:
    """A minimal JavaScript promise: settled once, reactions run as microtasks, awaitable.

    ``Promise()`` is a deferred (``p.resolve(v)``, ``p.reject(exc)``); ``Promise(executor)`` calls
    ``executor(resolve, reject)`` as JS does.  Resolving with another Promise adopts its state two
    microtasks later, as JS's ``NewPromiseResolveThenableJob`` does.  A rejection that has no
    handler when the microtask queue has drained is reported as uncaught.
    """

    __slots__ = ("_handled", "_reactions", "_resolved", "_rt", "_state", "_value")

    def __init__(self, executor: Executor | None = None, *, _rt: Runtime | None = None) -> None:
        self._rt = _rt if _rt is not None else current()
        self._state = _PENDING
        self._value: Any = None
        self._resolved = False
        self._handled = False
        self._reactions: list[Reaction] | None = []
        if executor is not None:
            try:
                executor(self.resolve, self.reject)
            except Exception as exc:
                self.reject(exc)

    @classmethod
    def resolved(cls, value: object = None) -> Promise:  # node: Promise.resolve
        if isinstance(value, Promise):
            return value
        p = cls()
        p.resolve(value)
        return p

    @classmethod
    def rejected(cls, reason: BaseException) -> Promise:  # node: Promise.reject
        p = cls()
        p.reject(reason)
        return p

    @property
    def state(self) -> str:
        return _STATE_NAMES[self._state]

    def resolve(self, value: object = None) -> None:  # node: the promise's resolve function
        if self._resolved:
            return
        self._resolved = True
        if value is self:
            self._settle(_REJECTED, TypeError("Chaining cycle detected for promise #<Promise>"))
        elif isinstance(value, Promise):
            self._rt.queue_microtask(self._adopt, value)
        else:
            self._settle(_FULFILLED, value)

    def reject(self, reason: BaseException) -> None:  # node: the promise's reject function
        if self._resolved:
            return
        self._resolved = True
        self._settle(_REJECTED, reason)

    def then(
        self,
        on_fulfilled: Callable[[Any], object] | None = None,
        on_rejected: Callable[[Any], object] | None = None,
    ) -> Promise:  # node: Promise.prototype.then
        derived = Promise(_rt=self._rt)

        def reaction(p: Promise) -> None:  # node: PromiseReactionJob
            handler = on_fulfilled if p._state == _FULFILLED else on_rejected
            if handler is None:
                if p._state == _FULFILLED:
                    derived.resolve(p._value)
                else:
                    derived.reject(p._value)
                return
            try:
                result = handler(p._value)
            except Exception as exc:
                derived.reject(exc)
            else:
                derived.resolve(result)

        self._subscribe(reaction, handles=True)
        return derived

    def catch(self, on_rejected: Callable[[Any], object]) -> Promise:  # node: Promise.prototype.catch
        return self.then(None, on_rejected)

    def __await__(self) -> Generator[Any, None, Any]:
        rt = self._rt
        if rt._driving:
            # A spawned coroutine: its driver subscribes and resumes it from a microtask.
            yield self
        else:
            fut = rt.loop.create_future()
            self._subscribe(lambda p: _settle_future(fut, p), handles=True)
            yield from fut
        if self._state == _REJECTED:
            raise self._value
        return self._value

    def __repr__(self) -> str:
        if self._state == _PENDING:
            return "<Promise pending>"
        return f"<Promise {_STATE_NAMES[self._state]} {self._value!r}>"

    # -- internals -------------------------------------------------------------------------------------

    def _adopt(self, other: Promise) -> None:  # node: NewPromiseResolveThenableJob
        other._subscribe(lambda p: self._settle(p._state, p._value), handles=True)

    def _settle(self, state: int, value: object) -> None:  # node: FulfillPromise / RejectPromise
        if self._state != _PENDING:
            return
        self._state = state
        self._value = value
        reactions = self._reactions
        self._reactions = None
        rt = self._rt
        if reactions:
            for reaction in reactions:
                rt._enqueue_microtask(reaction, (self,))
        if state == _REJECTED and not self._handled:
            rt._pending_rejections.append(self)
            if not rt._depth and not rt._drain_scheduled:
                rt._schedule_drain()  # the rejection is judged at the end of a drain

    def _subscribe(self, reaction: Reaction, *, handles: bool) -> None:  # node: PerformPromiseThen
        if handles:
            self._handled = True
        if self._reactions is not None:
            self._reactions.append(reaction)
        else:
            self._rt._enqueue_microtask(reaction, (self,))


def _settle_future(fut: asyncio.Future[None], p: Promise) -> None:
    if not fut.done():
        fut.set_result(None)


class _AsyncFunction:
    """A coroutine driven as V8 drives an async function; ``promise`` is its implicit promise."""

    __slots__ = ("__weakref__", "_coro", "_rt", "promise")

    def __init__(self, rt: Runtime, coro: Coroutine[Any, Any, Any], promise: Promise) -> None:
        self._rt = rt
        self._coro = coro
        self.promise = promise

    def step(self, exc: BaseException | None = None) -> None:  # node: AsyncFunctionAwaitResolveClosure
        rt = self._rt
        rt._driving += 1
        try:
            yielded = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            rt._driving -= 1
            rt._suspended.discard(self)
            self.promise.resolve(stop.value)
            return
        except (Exception, asyncio.CancelledError) as err:
            rt._driving -= 1
            rt._suspended.discard(self)
            self.promise.reject(err)
            return
        except BaseException:
            rt._driving -= 1
            raise
        rt._driving -= 1
        rt._suspended.add(self)
        if isinstance(yielded, Promise):
            yielded._subscribe(self._resume_from_promise, handles=True)
        elif getattr(yielded, "_asyncio_future_blocking", None) is not None:
            fut: asyncio.Future[Any] = yielded
            fut._asyncio_future_blocking = False
            rt._io_waits[self] = fut
            rt.ref_handle(self)
            fut.add_done_callback(self._wake_from_future)
        elif yielded is None:
            # A bare `yield` (asyncio.sleep(0)): asyncio reschedules the task soon; so do we.
            rt.ref_handle(self)
            rt.loop.call_soon(rt.invoke, self._resume_bare)
        else:
            bad = RuntimeError(f"uvnet: a coroutine run by spawn() yielded {yielded!r}")
            rt.ref_handle(self)
            rt.loop.call_soon(rt.invoke, self._resume_bare, bad)

    def _resume_from_promise(self, p: Promise) -> None:
        self.step()

    def _wake_from_future(self, fut: asyncio.Future[Any]) -> None:
        self._rt.invoke(self._resume_io)

    def _resume_io(self) -> None:
        self._rt._io_waits.pop(self, None)
        self._rt.unref_handle(self)
        self.step()

    def _resume_bare(self, exc: BaseException | None = None) -> None:
        self._rt.unref_handle(self)
        self.step(exc)

    def close(self) -> None:
        self._rt._io_waits.pop(self, None)
        self._rt.unref_handle(self)
        self._coro.close()


# ---------------------------------------------------------------------------------------------------
# The runtime


def _noop() -> None:
    pass


class Runtime:
    """Node's queues and keep-alive bookkeeping for one asyncio loop (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: Clock | None = None) -> None:
        self.loop = loop
        self.clock: Clock = clock if clock is not None else LoopClock()
        self.clock.attach(loop, self._is_idle)
        self._ticks: deque[tuple[Callback, tuple[object, ...]]] = deque()
        self._microtasks: deque[tuple[Callback, tuple[object, ...]]] = deque()
        self._depth = 0
        self._drain_scheduled = False
        self._pending_rejections: list[Promise] = []
        self._handles: dict[int, object] = {}
        self._timer_lists: dict[int, _TimerList] = {}
        self._timer_heap: list[tuple[float, int, _TimerList]] = []
        self._timer_list_seq = 0
        self._timer_refs = 0
        self._timer_wakeup: Cancellable | None = None
        self._timer_wakeup_at = math.inf
        self._in_timers = False
        self._immediates: dict[Immediate, None] = {}
        self._immediate_refs = 0
        self._check_scheduled = False
        self._in_check = False
        self._immediates_deferred = False  # all pending immediates were queued by a check phase
        self._driving = 0
        self._suspended: weakref.WeakSet[_AsyncFunction] = weakref.WeakSet()
        self._io_waits: dict[_AsyncFunction, asyncio.Future[Any]] = {}
        self._uncaught_handler: Callable[[BaseException], object] | None = None
        self._fatal: BaseException | None = None
        self._under_run = False
        self._exit_waiter: asyncio.Future[None] | None = None
        self._main_pending = False
        self._main_result: object = None

    # -- ticks and microtasks ---------------------------------------------------------------------------

    def next_tick(self, fn: Callback, *args: object) -> None:  # node: process.nextTick
        if not callable(fn):
            raise make_error("ERR_INVALID_ARG_TYPE", "callback", "Function", fn)
        if self._fatal is not None:
            return
        self._ticks.append((fn, args))
        if not self._depth and not self._drain_scheduled:
            self._schedule_drain()

    def queue_microtask(self, fn: Callback, *args: object) -> None:  # node: queueMicrotask
        if not callable(fn):
            raise make_error("ERR_INVALID_ARG_TYPE", "callback", "Function", fn)
        self._enqueue_microtask(fn, args)

    def _enqueue_microtask(self, fn: Callback, args: tuple[object, ...]) -> None:  # node: EnqueueMicrotask
        self._microtasks.append((fn, args))
        if not self._depth and not self._drain_scheduled:
            self._schedule_drain()

    def _schedule_drain(self) -> None:
        self._drain_scheduled = True
        self.loop.call_soon(self._drain_soon)

    def _drain_soon(self) -> None:
        self._drain_scheduled = False
        self.invoke(_noop)

    def _drain(self) -> None:  # node: processTicksAndRejections
        ticks = self._ticks
        microtasks = self._microtasks
        while self._fatal is None:
            while ticks:
                fn, args = ticks.popleft()
                try:
                    fn(*args)
                except Exception as exc:
                    self.report_uncaught(exc)
                if self._fatal is not None:
                    return
            # node: runMicrotasks (V8 drains the whole queue, including what its jobs queue)
            while microtasks:
                fn, args = microtasks.popleft()
                try:
                    fn(*args)
                except Exception as exc:
                    self.report_uncaught(exc)
                if self._fatal is not None:
                    return
            if ticks:
                continue
            if self._pending_rejections:
                self._process_rejections()
                continue
            return

    def _process_rejections(self) -> None:  # node: processPromiseRejections (mode: throw)
        pending = self._pending_rejections
        self._pending_rejections = []
        for promise in pending:
            if not promise._handled:
                promise._handled = True
                reason = promise._value
                if not isinstance(reason, BaseException):
                    reason = NodeError(
                        "This error originated either by throwing inside of an async function without a "
                        "catch block, or by rejecting a promise which was not handled with .catch(). "
                        f'The promise rejected with the reason "{inspect(reason)}".',
                        "ERR_UNHANDLED_REJECTION",
                    )
                self.report_uncaught(reason)
                if self._fatal is not None:
                    return

    # -- macrotasks ------------------------------------------------------------------------------------

    def invoke(self, fn: Callback, *args: object) -> Any:  # node: InternalCallbackScope (MakeCallback)
        if self._depth:
            return fn(*args)
        if self._fatal is not None:
            return None
        self._depth = 1
        result: object = None
        try:
            try:
                result = fn(*args)
            except Exception as exc:
                self.report_uncaught(exc)
            self._drain()
        finally:
            self._depth = 0
        self._maybe_exit()
        return result

    def report_uncaught(self, exc: BaseException) -> None:  # node: triggerUncaughtException
        if self._fatal is not None:
            return
        handler = self._uncaught_handler
        if handler is not None:
            try:
                handler(exc)
                return
            except Exception as exc2:
                # Node: a throw inside an 'uncaughtException' listener ends the process.
                exc = exc2
        if self._under_run:
            self._fatal = exc
            self._ticks.clear()
            self._microtasks.clear()
            self._maybe_exit()
        else:
            self.loop.call_exception_handler({"message": "uvnet: uncaught exception", "exception": exc})

    def set_uncaught_handler(self, fn: Callable[[BaseException], object] | None) -> None:
        self._uncaught_handler = fn

    # -- timers ----------------------------------------------------------------------------------------

    def set_timeout(self, fn: Callback, ms: object = None, *args: object) -> Timeout:  # node: setTimeout
        if not callable(fn):
            raise make_error("ERR_INVALID_ARG_TYPE", "callback", "Function", fn)
        timer = Timeout(self, fn, ms, args, False)
        self._insert(timer, timer._after, self.clock.now())
        return timer

    def set_interval(self, fn: Callback, ms: object = None, *args: object) -> Timeout:  # node: setInterval
        if not callable(fn):
            raise make_error("ERR_INVALID_ARG_TYPE", "callback", "Function", fn)
        timer = Timeout(self, fn, ms, args, True)
        self._insert(timer, timer._after, self.clock.now())
        return timer

    def clear_timeout(self, timer: object) -> None:  # node: clearTimeout
        if isinstance(timer, Timeout) and timer._callback is not None:
            timer._callback = None
            self._unenroll(timer)

    def _unenroll(self, timer: Timeout) -> None:  # node: unenroll
        if timer._destroyed:
            return
        timer._destroyed = True
        lst = timer._list
        if lst is not None:
            del lst.timers[timer]
            timer._list = None
            if not lst.timers and self._timer_lists.get(lst.msecs) is lst:
                self._drop_list(lst)
        if timer._refed:
            self._timer_refs -= 1
        timer._refed = None
        timer._after = -1
        self._arm_timers()
        self._maybe_exit()

    def _insert_guarded(self, timer: Timeout, refed: bool) -> None:  # node: insertGuarded
        if timer._after < 0:
            return
        self._insert(timer, timer._after, self.clock.now())
        if timer._destroyed:
            timer._destroyed = False
            if refed:
                self._timer_refs += 1
        elif refed != bool(timer._refed):
            self._timer_refs += 1 if refed else -1
        timer._refed = refed

    def _insert(self, timer: Timeout, msecs: float, start: float) -> None:  # node: insert
        key = int(msecs)
        timer._start = start
        if timer._list is not None:
            # L.append moves a timer that is already in a list; the old list may stay empty.
            del timer._list.timers[timer]
        lst = self._timer_lists.get(key)
        if lst is None:
            self._timer_list_seq += 1
            lst = _TimerList(key, start + key, self._timer_list_seq)
            self._timer_lists[key] = lst
            heapq.heappush(self._timer_heap, (lst.expiry, lst.id, lst))
            if lst.expiry < self._timer_wakeup_at:
                self._arm_timers()
        lst.timers[timer] = None
        timer._list = lst

    def _drop_list(self, lst: _TimerList) -> None:
        lst.dead = True
        if self._timer_lists.get(lst.msecs) is lst:
            del self._timer_lists[lst.msecs]

    def _peek_list(self) -> _TimerList | None:
        heap = self._timer_heap
        while heap:
            _, list_id, lst = heap[0]
            if lst.dead or lst.id != list_id:
                heapq.heappop(heap)
                continue
            return lst
        return None

    def _arm_timers(self) -> None:  # node: scheduleTimer
        if self._in_timers:
            return  # the timers phase arms once it is done
        lst = self._peek_list()
        expiry = lst.expiry if lst is not None else math.inf
        if expiry == self._timer_wakeup_at:
            return
        if self._timer_wakeup is not None:
            self._timer_wakeup.cancel()
            self._timer_wakeup = None
        self._timer_wakeup_at = expiry
        if lst is not None:
            self._timer_wakeup = self.clock.call_at(expiry, self._on_timer_wakeup)

    def _on_timer_wakeup(self) -> None:  # node: RunTimers
        self._timer_wakeup = None
        self._timer_wakeup_at = math.inf
        if self._fatal is not None or self._exiting():
            return
        if self._immediates and not self._immediates_deferred:
            # Queued by I/O or timers: in Node their check phase came before this timers phase.
            self._process_immediates(timers_first=False)
        self._run_timers()

    def _timers_due(self) -> bool:
        lst = self._peek_list()
        return lst is not None and lst.expiry <= self.clock.now()

    def _run_timers(self) -> None:  # node: processTimers
        if self._fatal is not None:
            return
        now = self.clock.now()
        self._depth = 1
        self._in_timers = True
        try:
            first = True
            while self._fatal is None:
                lst = self._peek_list()
                if lst is None or lst.expiry > now:
                    break
                first = self._list_on_timeout(lst, now, first)
            self._drain()
        finally:
            self._depth = 0
            self._in_timers = False
        self._arm_timers()
        self._maybe_exit()

    def _list_on_timeout(self, lst: _TimerList, now: float, first: bool) -> bool:  # node: listOnTimeout
        while self._fatal is None:
            timer = next(iter(lst.timers), None)
            if timer is None:
                break
            if now - timer._start < lst.msecs:
                # Too early for the rest of this list: re-key it behind lists now due.
                lst.expiry = max(timer._start + lst.msecs, now + 1)
                self._timer_list_seq += 1
                lst.id = self._timer_list_seq
                heapq.heappush(self._timer_heap, (lst.expiry, lst.id, lst))
                return first
            if not first:
                # node: runNextTicks between two timers; it may clear or refresh what we peeked.
                self._drain()
                first = True
                continue
            first = False
            del lst.timers[timer]
            timer._list = None
            if self._fire_timer(timer, now):
                first = True
        if not lst.timers:
            self._drop_list(lst)
        return first

    def _fire_timer(self, timer: Timeout, now: float) -> bool:
        """Run one timer's callback (no drain); True if it threw."""
        callback = timer._callback
        if callback is None:
            if not timer._destroyed:
                timer._destroyed = True
                if timer._refed:
                    self._timer_refs -= 1
            return False
        start = self.clock.now()
        threw = False
        try:
            callback(*timer._args)
        except Exception as exc:
            threw = True
            self.report_uncaught(exc)
        if timer._repeat is not None and timer._after != -1:
            timer._after = timer._repeat
            self._insert(timer, timer._after, start)
        elif timer._list is None and not timer._destroyed:
            timer._destroyed = True
            if timer._refed:
                self._timer_refs -= 1
        return threw

    # -- immediates ------------------------------------------------------------------------------------

    def set_immediate(self, fn: Callback, *args: object) -> Immediate:  # node: setImmediate
        if not callable(fn):
            raise make_error("ERR_INVALID_ARG_TYPE", "callback", "Function", fn)
        imm = Immediate(self, fn, args)
        if not self._in_check:
            self._immediates_deferred = False
        elif not self._immediates:
            self._immediates_deferred = True
        self._immediates[imm] = None
        if not self._check_scheduled:
            self._check_scheduled = True
            self.loop.call_soon(self._process_immediates)
        return imm

    def clear_immediate(self, imm: object) -> None:  # node: clearImmediate
        if not isinstance(imm, Immediate) or imm._destroyed:
            return
        imm._destroyed = True
        if imm._refed:
            self._immediate_refs -= 1
        imm._refed = None
        imm._callback = None
        imm._args = ()
        self._immediates.pop(imm, None)
        self._maybe_exit()

    def _process_immediates(self, timers_first: bool = True) -> None:  # node: processImmediate
        self._check_scheduled = False
        if self._exiting():
            return
        if timers_first and self._immediates_deferred and self._timers_due():
            # Queued by the previous check phase: Node's loop passes the timers phase first.
            self._run_timers()
        queue = self._immediates
        if not queue or self._fatal is not None:
            return
        self._immediates = {}
        self._immediates_deferred = False
        self._depth = 1
        self._in_check = True
        try:
            first = True
            for imm in queue:
                if self._fatal is not None:
                    break
                if imm._destroyed:
                    continue
                if not first:
                    self._drain()
                    if imm._destroyed or self._fatal is not None:
                        continue
                first = False
                imm._destroyed = True
                if imm._refed:
                    self._immediate_refs -= 1
                imm._refed = None
                callback, args = imm._callback, imm._args
                imm._callback = None
                imm._args = ()
                assert callback is not None
                try:
                    callback(*args)
                except Exception as exc:
                    self.report_uncaught(exc)
                    first = True
            self._drain()
        finally:
            self._depth = 0
            self._in_check = False
        self._maybe_exit()

    # -- coroutines ------------------------------------------------------------------------------------

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, uncaught: bool = False
    ) -> Promise:  # node: AsyncFunctionEnter
        """Run ``coro`` as a JS async function; returns its promise.

        ``uncaught=False`` marks the promise handled: a failure only rejects it.  With
        ``uncaught=True`` a rejection nobody handles is reported as uncaught, as Node does.
        """
        promise = Promise(_rt=self)
        if not uncaught:
            promise._handled = True
        _AsyncFunction(self, coro, promise).step()
        return promise

    # -- keep-alive ------------------------------------------------------------------------------------

    def ref_handle(self, obj: object) -> None:
        self._handles[id(obj)] = obj

    def unref_handle(self, obj: object) -> None:
        if self._handles.pop(id(obj), None) is not None:
            self._maybe_exit()

    def alive(self) -> bool:  # node: uv_loop_alive plus the pending queues
        return bool(
            self._handles
            or self._timer_refs > 0
            or self._immediate_refs > 0
            or self._ticks
            or self._microtasks
            or self._drain_scheduled
            or self._main_pending
        )

    def _exiting(self) -> bool:
        """run() is about to return: libuv checks liveness right after the timers phase, so unref'd
        timers and immediates left then never run (measured: an unref'd setImmediate queued by the
        last timer does not run on Node 24)."""
        return self._under_run and not self.alive()

    def _is_idle(self) -> bool:
        """Nothing queued for the runtime to run now (what a virtual clock waits for)."""
        return not (
            self._ticks
            or self._microtasks
            or self._immediates
            or self._drain_scheduled
            or self._depth
            or any(fut.done() for fut in self._io_waits.values())
        )

    def _maybe_exit(self) -> None:
        if self._handles and self._fatal is None:  # alive(): the common case, without the call
            return
        waiter = self._exit_waiter
        if waiter is not None and not waiter.done() and (self._fatal is not None or not self.alive()):
            waiter.set_result(None)

    def set_clock(self, clock: Clock) -> None:
        if self._timer_lists:
            raise RuntimeError("uvnet: cannot change the clock while timers are pending")
        if self._timer_wakeup is not None:
            self._timer_wakeup.cancel()
            self._timer_wakeup = None
        self._timer_wakeup_at = math.inf
        self.clock = clock
        clock.attach(self.loop, self._is_idle)

    # -- run() -----------------------------------------------------------------------------------------

    async def _run_main(self, main: Callable[..., object], args: tuple[object, ...]) -> object:
        self._under_run = True
        self._main_pending = True
        self.loop.call_soon(self.invoke, self._start_main, main, args)
        try:
            while True:
                waiter = self._exit_waiter = self.loop.create_future()
                self._maybe_exit()
                await waiter
                if self._fatal is not None or not self.alive():
                    break
        finally:
            self._exit_waiter = None
            self._shutdown()
        if self._fatal is not None:
            raise self._fatal
        return self._main_result

    def _start_main(self, main: Callable[..., object], args: tuple[object, ...]) -> None:
        try:
            result = main(*args)
        except BaseException:
            self._main_pending = False
            raise
        if isinstance(result, Coroutine):
            result = self.spawn(result, uncaught=True)
        if isinstance(result, Promise):
            result._subscribe(self._main_settled, handles=False)
        else:
            self._main_result = result
            self._main_pending = False

    def _main_settled(self, p: Promise) -> None:
        self._main_pending = False
        if p._state == _FULFILLED:
            self._main_result = p._value

    def _shutdown(self) -> None:
        """Node is exiting: drop every queue and timer, close suspended coroutines."""
        if self._timer_wakeup is not None:
            self._timer_wakeup.cancel()
            self._timer_wakeup = None
        self._timer_wakeup_at = math.inf
        for lst in self._timer_lists.values():
            lst.dead = True
        self._timer_lists.clear()
        self._timer_heap.clear()
        self._immediates.clear()
        self._ticks.clear()
        self._microtasks.clear()
        self._depth = 1  # whatever a closing coroutine queues must not schedule new loop callbacks
        try:
            for fn in list(self._suspended):
                try:
                    fn.close()
                except Exception:
                    pass
        finally:
            self._depth = 0
        self._ticks.clear()
        self._microtasks.clear()
        self._handles.clear()


# ---------------------------------------------------------------------------------------------------
# Module-level API (delegates to the running loop's runtime)

_ATTR = "_uvnet_runtime"


def current() -> Runtime:
    """The runtime of the running loop, created on first use (also inside plain ``asyncio.run``)."""
    loop = asyncio.get_running_loop()
    rt: Runtime | None = getattr(loop, _ATTR, None)
    if rt is None:
        rt = Runtime(loop)
        setattr(loop, _ATTR, rt)
    return rt


def use_clock(clock: Clock) -> None:
    """Give the running loop's runtime another clock (before any timer is set)."""
    current().set_clock(clock)


def next_tick(fn: Callback, *args: object) -> None:  # node: process.nextTick
    current().next_tick(fn, *args)


def queue_microtask(fn: Callback, *args: object) -> None:  # node: queueMicrotask
    current().queue_microtask(fn, *args)


def invoke(fn: Callback, *args: object) -> Any:  # node: MakeCallback
    return current().invoke(fn, *args)


def set_timeout(fn: Callback, ms: object = None, *args: object) -> Timeout:  # node: setTimeout
    return current().set_timeout(fn, ms, *args)


def clear_timeout(timer: object) -> None:  # node: clearTimeout
    current().clear_timeout(timer)


def set_interval(fn: Callback, ms: object = None, *args: object) -> Timeout:  # node: setInterval
    return current().set_interval(fn, ms, *args)


def clear_interval(timer: object) -> None:  # node: clearInterval
    current().clear_timeout(timer)


def set_immediate(fn: Callback, *args: object) -> Immediate:  # node: setImmediate
    return current().set_immediate(fn, *args)


def clear_immediate(imm: object) -> None:  # node: clearImmediate
    current().clear_immediate(imm)


def spawn(coro: Coroutine[Any, Any, Any], *, uncaught: bool = False) -> Promise:
    return current().spawn(coro, uncaught=uncaught)


def ref_handle(obj: object) -> None:
    current().ref_handle(obj)


def unref_handle(obj: object) -> None:
    current().unref_handle(obj)


def report_uncaught(exc: BaseException) -> None:  # node: triggerUncaughtException
    current().report_uncaught(exc)


def set_uncaught_handler(fn: Callable[[BaseException], object] | None) -> None:
    """Install Node's ``process.on('uncaughtException', fn)`` (``None`` removes it)."""
    current().set_uncaught_handler(fn)


def _default_loop_factory() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it builds
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(
    main: Callable[..., object],
    *args: object,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
    clock: Clock | None = None,
) -> Any:
    """Run ``main(*args)`` as a Node program: return when the process would exit.

    A new loop (uvloop, else asyncio's) runs ``main`` as the first macrotask; a coroutine it returns
    runs as an async function.  Returns main's result; raises an uncaught exception.
    """
    with asyncio.Runner(loop_factory=loop_factory or _default_loop_factory) as runner:
        loop = runner.get_loop()
        rt = Runtime(loop, clock)
        setattr(loop, _ATTR, rt)
        return runner.run(rt._run_main(main, args))
