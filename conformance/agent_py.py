"""The Python agent: runs compiled scenarios on uvnet, streams traces as JSON lines.

The twin of node_fixtures/agent.mjs; both follow docs/scenarios.md. The agent is one long-lived
`uvnet.run()` program: commands arrive on stdin as loop callbacks (macrotasks), a scenario's steps run as a
coroutine driven the way JavaScript drives an async function (continuations as microtasks), so the order in
which steps, ticks and events interleave matches what the JavaScript agent sees on Node.

Run: `python -m conformance.agent_py` (UVNET_LOOP=asyncio selects asyncio's own loop).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import uvnet as net
from uvnet import _runtime as rt
from uvnet.errors import NULL
from uvnet.events import EventEmitter

from .encode import Encoder, is_plain

_SILENT_EVENTS = frozenset({"newListener", "removeListener"})


class Fatal(Exception):
    """The interpreter cannot go on: the scenario is malformed for this agent."""


class _Missing:
    pass


_MISSING = _Missing()


class _LookupError(Exception):
    """What a scripted lookup reports, shaped like Node's getaddrinfo errors."""

    name = "Error"
    syscall = "getaddrinfo"

    def __init__(self, message: str, code: str, hostname: Any) -> None:
        super().__init__(message)
        self.code = code
        self.hostname = hostname


def _noop(*_args: Any) -> None:
    return None


def _js_string(value: Any) -> str:  # node: String(value)
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Run:
    """One scenario run: bindings, observed objects, waits and the deadline."""

    def __init__(self, agent: Agent, cmd: dict[str, Any]) -> None:
        self.agent = agent
        self.id = cmd["run"]
        program = cmd["scenario"]
        self.steps: list[dict[str, Any]] = program["steps"]
        self.timeout_ms: int = program.get("timeout", 5000)
        self.settle_ms: int = program.get("settle", 20)
        self.sides = set(cmd["sides"])
        self.tmp: str = cmd.get("tmp") or "/tmp"
        self.bindings: dict[str, Any] = {"net": net}
        self.names: dict[int, str] = {}  # id(obj) -> trace name
        self.observed: list[Any] = []
        self.adopted: dict[tuple[str, str], int] = {}  # emitters first observed through (obj, event)
        self.event_args: dict[tuple[str, str], list[list[Any]]] = {}
        self.consumed: dict[tuple[str, str], int] = {}
        self.waiter: tuple[tuple[str, str], rt.Promise] | None = None
        self.syncs: dict[int, dict[str, Any]] = {}
        self.sync_waiter: tuple[int, rt.Promise] | None = None
        self.current_step: int | None = None
        self.active = True
        self.deadline_hit = False
        self.encode = Encoder(lambda v: self.names.get(id(v)))
        self.deadline = rt.set_timeout(self.on_deadline, self.timeout_ms)

    # -- recording -------------------------------------------------------------------------------------
    def record(self, rec: dict[str, Any]) -> None:
        if self.active:
            self.agent.send({"run": self.id, **rec})

    def observe(self, obj: Any, name: str) -> None:
        if id(obj) in self.names or not isinstance(obj, EventEmitter):
            return
        self.names[id(obj)] = name
        self.observed.append(obj)
        original = obj.emit
        run = self

        def emit(event: object, *args: Any) -> bool:
            if run.active and isinstance(event, str) and event not in _SILENT_EVENTS:
                run.on_event(name, event, list(args))
            return bool(original(event, *args))

        # Shadow the method on this instance only: every emit, internal or not, goes through `self.emit`.
        setattr(obj, "emit", emit)  # noqa: B010

    def on_event(self, name: str, event: str, args: list[Any]) -> None:
        key = (name, event)
        for arg in args:
            if isinstance(arg, EventEmitter) and id(arg) not in self.names:
                count = self.adopted.get(key, 0) + 1
                self.adopted[key] = count
                self.observe(arg, f"{name}.{event}#{count}")
        self.record(
            {"k": "ev", "obj": name, "ev": event, "args": self.encode(args), "during": self.current_step}
        )
        self.event_args.setdefault(key, []).append(args)
        self.check_waiter(key)

    def make_cb(self, cb_name: str, result: Any = None) -> Callable[..., Any]:
        key = ("cb", cb_name)

        def callback(*args: Any) -> Any:
            self.record(
                {"k": "cb", "name": cb_name, "args": self.encode(list(args)), "during": self.current_step}
            )
            self.event_args.setdefault(key, []).append(list(args))
            self.check_waiter(key)
            return result

        return callback

    def make_lookup(self, args: list[Any]) -> Callable[..., None]:
        """A scripted `lookup` option: records its call, answers on the next tick (see docs)."""
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], (str, list)):
            raise Fatal("builtin lookup expects a name and a list of [address, family] or an error code")
        record = self.make_cb(args[0])
        answer = args[1]

        def lookup(hostname: Any, options: Any, callback: Callable[..., Any]) -> None:
            record(hostname, options)
            if isinstance(answer, str):
                err = _LookupError(f"getaddrinfo {answer} {hostname}", answer, hostname)
                rt.next_tick(callback, err)
            elif isinstance(options, dict) and options.get("all"):
                rt.next_tick(callback, NULL, [{"address": a, "family": f} for a, f in answer])
            else:
                rt.next_tick(callback, NULL, answer[0][0], answer[0][1])

        return lookup

    def check_waiter(self, key: tuple[str, str]) -> None:
        if self.waiter is not None and self.waiter[0] == key:
            if len(self.event_args.get(key, [])) > self.consumed.get(key, 0):
                promise = self.waiter[1]
                self.waiter = None
                promise.resolve(True)

    # -- evaluation ------------------------------------------------------------------------------------
    def evaluate(self, node: list[Any]) -> Any:
        kind = node[0]
        if kind == "lit":
            # JavaScript's null is uvnet's NULL; None stands for undefined (see uvnet.errors).
            return NULL if node[1] is None else node[1]
        if kind == "undef":
            return None
        if kind == "num":
            return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[node[1]]
        if kind == "arr":
            return [self.evaluate(n) for n in node[1]]
        if kind == "obj":
            return {key: self.evaluate(value) for key, value in node[1]}
        if kind == "ref":
            if node[1] not in self.bindings:
                raise Fatal(f"unbound name {node[1]!r}")
            return self.bindings[node[1]]
        if kind == "get":
            return self.get(self.evaluate(node[1]), node[2])
        if kind == "call":
            callee = node[1]
            args = [self.evaluate(n) for n in node[2]]
            fn = self.evaluate(callee)
            if fn is None:
                raise TypeError(f"{self.describe(callee)} is not a function")
            return fn(*args)
        if kind == "new":
            cls = self.evaluate(node[1])
            return cls(*[self.evaluate(n) for n in node[2]])
        if kind == "builtin":
            return self.builtin(node[1], [self.evaluate(n) for n in node[2]])
        raise Fatal(f"unknown expression node {kind!r}")

    def describe(self, node: list[Any]) -> str:
        if node[0] == "ref":
            return str(node[1])
        if node[0] == "get":
            return f"{self.describe(node[1])}.{node[2]}"
        return "expression"

    @staticmethod
    def get(obj: Any, key: str | int) -> Any:
        if isinstance(obj, dict):
            return obj.get(key)
        if isinstance(key, int):
            try:
                return obj[key]
            except (IndexError, KeyError, TypeError):
                return None
        if key == "length" and isinstance(obj, (str, list, tuple, bytes, bytearray)):
            return len(obj)
        value = getattr(obj, key, _MISSING)
        return None if value is _MISSING else value

    def builtin(self, name: str, args: list[Any]) -> Any:
        if name == "cb":
            if not 1 <= len(args) <= 2 or not isinstance(args[0], str):
                raise Fatal("builtin cb expects a name and an optional return value")
            return self.make_cb(args[0], *args[1:])
        if name == "alloc":
            return bytearray(int(args[0]))
        if name == "noop":
            return _noop
        if name == "controller":
            return net.AbortController()
        if name == "lookup":
            return self.make_lookup(args)
        if name == "buf":
            return str(args[0]).encode("utf-8")
        if name == "hex":
            return bytes.fromhex(str(args[0]))
        if name == "pattern":
            return bytes(i % 251 for i in range(int(args[0])))
        if name == "path":
            return os.path.join(self.tmp, str(args[0]))
        if name == "str":
            return _js_string(args[0])
        raise Fatal(f"unknown builtin {name!r}")

    def bind(self, name: str, value: Any) -> None:
        self.bindings[name] = value
        if isinstance(value, EventEmitter):
            self.observe(value, name)

    # -- steps -----------------------------------------------------------------------------------------
    def assign(self, step: dict[str, Any]) -> Any:
        target = self.evaluate(step["obj"])
        value = self.evaluate(step["expr"])
        if isinstance(target, dict):
            target[step["key"]] = value
        else:
            setattr(target, step["key"], value)
        return value

    def exec_sync(self, step: dict[str, Any]) -> dict[str, Any]:
        """Run a let/set/call step; return the exports it produced."""
        i = step["i"]
        self.current_step = i
        try:
            value = self.assign(step) if step["op"] == "set" else self.evaluate(step["expr"])
        except Fatal:
            raise
        except Exception as exc:
            self.current_step = None
            self.record({"k": "throw", "step": i, "err": self.encode(exc)})
            if step["op"] == "let":
                self.bindings[step["name"]] = None
            return {}
        self.current_step = None
        if step["op"] == "let":
            self.bind(step["name"], value)
        self.record({"k": "ret", "step": i, "v": self.encode(value)})
        if step["op"] == "let" and is_plain(value):
            return {step["name"]: value}
        return {}

    async def exec_wait(self, step: dict[str, Any]) -> None:
        if step["obj"] is None:
            key = ("cb", step["cb"])
        else:
            target = self.bindings.get(step["obj"], _MISSING)
            if target is _MISSING:
                raise Fatal(f"unbound name {step['obj']!r}")
            name = self.names.get(id(target))
            if name is None:
                raise Fatal(f"{step['obj']!r} is not an observed EventEmitter")
            key = (name, step["event"])
        # Like the JavaScript agent, a wait always yields once, even for an event that already fired.
        promise = rt.Promise()
        if len(self.event_args.get(key, [])) <= self.consumed.get(key, 0):
            if self.deadline_hit:
                raise TimeoutError
            self.waiter = (key, promise)
        else:
            promise.resolve(True)
        await promise
        if self.deadline_hit:
            raise TimeoutError
        index = self.consumed.get(key, 0)
        self.consumed[key] = index + 1
        args = self.event_args[key][index]
        for bind_name, value in zip(step["bind"], args, strict=False):
            self.bind(bind_name, value)

    async def wait_sync(self, i: int) -> None:
        promise = rt.Promise()
        if i not in self.syncs:
            if self.deadline_hit:
                raise TimeoutError
            self.sync_waiter = (i, promise)
        else:
            promise.resolve(True)
        await promise
        if self.deadline_hit:
            raise TimeoutError
        for name, value in self.syncs.pop(i).items():
            self.bindings[name] = value

    def on_sync(self, i: int, exports: dict[str, Any]) -> None:
        self.syncs[i] = exports
        if self.sync_waiter is not None and self.sync_waiter[0] == i:
            promise = self.sync_waiter[1]
            self.sync_waiter = None
            promise.resolve(True)

    def on_deadline(self) -> None:
        self.deadline_hit = True
        for pending in (self.waiter, self.sync_waiter):
            if pending is not None:
                pending[1].resolve(False)
        self.waiter = self.sync_waiter = None

    async def sleep(self, ms: int) -> None:
        promise = rt.Promise()
        rt.set_timeout(lambda: promise.resolve(True), ms)
        await promise

    async def main(self) -> None:
        step_index = -1
        try:
            for step in self.steps:
                step_index = step["i"]
                if step["side"] not in self.sides:
                    await self.wait_sync(step_index)
                    continue
                exports: dict[str, Any] = {}
                if step["op"] in ("let", "set", "call"):
                    exports = self.exec_sync(step)
                elif step["op"] == "wait":
                    await self.exec_wait(step)
                elif step["op"] == "idle":
                    await self.sleep(step["ms"])
                else:
                    raise Fatal(f"unknown op {step['op']!r}")
                self.record({"k": "done", "step": step_index, "exports": self.encode(exports)})
            await self.sleep(self.settle_ms)
        except TimeoutError:
            self.record({"k": "timeout", "step": step_index})
        except Fatal as exc:
            self.record({"k": "fatal", "message": str(exc)})
        self.finish()

    def on_uncaught(self, exc: BaseException) -> None:
        self.record({"k": "uncaught", "err": self.encode(exc)})
        self.finish()

    def finish(self) -> None:
        if not self.active:
            return
        self.record({"k": "end"})
        self.active = False
        self.deadline.close()
        self.agent.run_finished(self)
        for obj in self.observed:
            self.cleanup(obj)

    @staticmethod
    def cleanup(obj: Any) -> None:
        try:
            obj.on("error", lambda *_: None)
            if callable(getattr(obj, "destroy", None)):
                obj.destroy()
            elif callable(getattr(obj, "close", None)) and getattr(obj, "listening", False):
                obj.close()
        except Exception as exc:
            print(f"agent_py: cleanup of {obj!r} failed: {exc!r}", file=sys.stderr)


class Agent:
    """Reads commands from stdin, runs one scenario at a time."""

    def __init__(self) -> None:
        self.run: Run | None = None
        self.out = sys.stdout
        self.stopped = rt.Promise()

    def send(self, rec: dict[str, Any]) -> None:
        self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.out.flush()

    def command(self, line: str) -> None:
        try:
            cmd = json.loads(line)
        except json.JSONDecodeError:
            print(f"agent_py: bad command {line!r}", file=sys.stderr)
            return
        op = cmd.get("op")
        if op == "hello":
            loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
            self.send(
                {"k": "hello", "runtime": "uvnet", "version": getattr(net, "__version__", "0"), "loop": loop}
            )
        elif op == "run":
            if self.run is not None:
                self.run.finish()
            self.run = Run(self, cmd)
            rt.spawn(self.run.main(), uncaught=True)
        elif op == "sync":
            if self.run is not None and self.run.id == cmd["run"]:
                self.run.on_sync(cmd["step"], cmd.get("exports") or {})
        elif op == "abort":
            if self.run is not None and self.run.id == cmd["run"]:
                self.run.finish()
        else:
            self.send({"k": "fatal", "message": f"unknown command {op!r}"})

    def run_finished(self, run: Run) -> None:
        if self.run is run:
            self.run = None

    def on_uncaught(self, exc: BaseException) -> None:
        if self.run is not None:
            self.run.on_uncaught(exc)
        else:
            print(f"agent_py: uncaught outside a run: {exc!r}", file=sys.stderr)


class _StdinProtocol(asyncio.Protocol):
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if line.strip():
                rt.invoke(self.agent.command, line.decode("utf-8"))

    def eof_received(self) -> bool:
        rt.invoke(self.agent.stopped.resolve, True)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        rt.invoke(self.agent.stopped.resolve, True)


async def _main() -> None:
    agent = Agent()
    rt.set_uncaught_handler(agent.on_uncaught)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(lambda: _StdinProtocol(agent), sys.stdin)
    rt.ref_handle(transport)
    try:
        await agent.stopped
    finally:
        rt.unref_handle(transport)
        transport.close()
        if agent.run is not None:
            agent.run.finish()


def main() -> None:
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if os.environ.get("UVNET_LOOP") == "asyncio":
        loop_factory = asyncio.new_event_loop
    rt.run(_main, loop_factory=loop_factory)


if __name__ == "__main__":
    main()
