"""Running one scenario in one pairing, and relaying between the two sides of a mixed pairing.

A pairing says which runtime runs which side: `node-node` is the reference, `uvnet-uvnet` the library
alone, `uvnet-node` a uvnet server side with a Node client side, `node-uvnet` the reverse. When both sides
have the same runtime, one agent runs every side in one process; otherwise each agent runs its sides and
the runner forwards every `done` (with the plain values it exported) to the other agent as a `sync`.
"""

from __future__ import annotations

import os
import queue
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from . import backends
from .agents import Agent, AgentError, AgentPool, wait_until
from .loader import Scenario

GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Pairing:
    first: str  # runtime of the scenario's first side (the server side)
    rest: str  # runtime of the other sides

    @property
    def id(self) -> str:
        return f"{self.first}-{self.rest}"

    @property
    def single(self) -> bool:
        return self.first == self.rest

    @classmethod
    def parse(cls, text: str) -> Pairing:
        first, _, rest = text.partition("-")
        return cls(first, rest or first)


REFERENCE = Pairing("node", "node")


def pairings_for(scenario: Scenario, impl: str = "uvnet", reference: str = "node") -> list[Pairing]:
    """The pairings a scenario is compared in: the implementation alone, then mixed when it has sides."""
    found = [Pairing(impl, impl)]
    if scenario.mixed:
        found += [Pairing(impl, reference), Pairing(reference, impl)]
    return found


@dataclass
class RunResult:
    scenario: str
    pairing: str
    records: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ok"  # ok | crash (agent died or hung) | error (the interpreter refused the scenario)
    detail: str = ""
    seconds: float = 0.0
    tmp: str = ""
    leaked: list[str] = field(default_factory=list)  # socket files left in the run's folder after cleanup


_counter = 0
LEAK_GRACE_SECONDS = 1.0


def leftover_sockets(folder: str, grace: float = LEAK_GRACE_SECONDS) -> list[str]:
    """Socket files still in `folder` once the agents' cleanup (closing every server) has had `grace`
    seconds: a server unlinks the path it created when it closes, so anything left is a leak."""
    deadline = time.monotonic() + grace
    while True:
        found = sorted(
            os.path.relpath(os.path.join(root, name), folder)
            for root, _dirs, files in os.walk(folder)
            for name in files
            if stat.S_ISSOCK(os.lstat(os.path.join(root, name)).st_mode)
        )
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.02)


def _next_run_id() -> str:
    global _counter
    _counter += 1
    return f"r{_counter}"


def run_scenario(scenario: Scenario, pairing: Pairing, pool: AgentPool) -> RunResult:
    started = time.monotonic()
    run_id = _next_run_id()
    # Each run has its own folder (so parallel workers never share a socket path); with the docker backend
    # it is inside the shared directory, which the container sees at the same path.
    tmp = tempfile.mkdtemp(prefix="uvn-", dir=backends.current().tmp_root())
    result = RunResult(scenario.id, pairing.id, tmp=tmp)
    try:
        _run(scenario, pairing, pool, run_id, tmp, result)
        if result.status == "ok":
            result.leaked = leftover_sockets(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        result.seconds = time.monotonic() - started
    return result


def _run(
    scenario: Scenario, pairing: Pairing, pool: AgentPool, run_id: str, tmp: str, result: RunResult
) -> None:
    try:
        if pairing.single:
            plan = [(pool.get(pairing.first), list(scenario.sides))]
        else:
            plan = [
                (pool.get(pairing.first), scenario.sides[:1]),
                (pool.get(pairing.rest), scenario.sides[1:]),
            ]
    except AgentError as exc:
        result.status, result.detail = "crash", f"could not start an agent: {exc}"
        return
    pool.drain()
    agents = [agent for agent, _ in plan]
    program = scenario.program()
    try:
        for agent, sides in plan:
            agent.send({"op": "run", "run": run_id, "scenario": program, "sides": sides, "tmp": tmp})
    except AgentError as exc:
        _crash(pool, agents, result, str(exc))
        return
    deadline = time.monotonic() + scenario.timeout / 1000 + GRACE_SECONDS
    ended: set[int] = set()
    while len(ended) < len(agents):
        try:
            rec = pool.shared.get(timeout=wait_until(deadline))
        except queue.Empty:
            _crash(pool, agents, result, "agent did not finish the run in time (hung)")
            return
        data = rec.data
        if data.get("k") == "__eof__":
            if rec.source in agents:
                _crash(pool, agents, result, f"{rec.source.runtime} agent died: {rec.source.describe_exit()}")
                return
            continue
        if data.get("run") != run_id:
            continue
        source: Agent = rec.source
        others = [a for a in agents if a is not source]
        kind = data.get("k")
        if kind == "end":
            ended.add(id(source))
            continue
        result.records.append({**data, "agent": source.runtime})
        try:
            if kind == "done":
                for other in others:
                    other.send(
                        {"op": "sync", "run": run_id, "step": data["step"], "exports": data["exports"]}
                    )
            elif kind in ("timeout", "uncaught", "fatal"):
                for other in others:
                    other.send({"op": "abort", "run": run_id})
        except AgentError as exc:
            _crash(pool, agents, result, str(exc))
            return
        if kind == "fatal":
            result.status, result.detail = "error", str(data.get("message"))


def _crash(pool: AgentPool, agents: list[Agent], result: RunResult, detail: str) -> None:
    result.status, result.detail = "crash", detail
    for agent in agents:
        pool.discard(agent.runtime)
