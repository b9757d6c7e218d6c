"""Running one scenario in one pairing, and relaying between the two sides of a mixed pairing.

A pairing says which runtime runs which side: `node-node` is the reference, `uvnet-uvnet` the library
alone, `uvnet-node` a uvnet server side with a Node client side, `node-uvnet` the reverse. When both sides
have the same runtime, one agent runs every side in one process; otherwise each agent runs its sides and
the runner forwards every `done` (with the plain values it exported) to the other agent as a `sync`.

Rounds: the runs of one scenario in its pairings do not depend on each other (each run has its own agent
processes, temporary folder and ports), and most of a run's time is waiting (the settle time, timers,
round trips). So when the caller says which runs of a scenario it will ask for (`plan`), the first
`run_scenario` of any of them makes one run of every planned pairing at once, each on its own lane of
the pool (its own agent processes, `AgentPool.lane`), and keeps the others' results for their turn. A
run's program, timeout, settle time and recording are exactly those of a run made alone; only the wall
time is shared. Without a plan (or past it), `run_scenario` runs alone, as it always did.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import stat
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
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


_run_ids = itertools.count(1)  # next() on a count is atomic: runs of one round start from several threads
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
    return f"r{next(_run_ids)}"


def run_scenario(scenario: Scenario, pairing: Pairing, pool: AgentPool) -> RunResult:
    """One run of `scenario` in `pairing`: made now, or taken from a round of the pool's plan."""
    current = pool.plan
    if current is not None and current.scenario.id == scenario.id:
        found = current.take(pairing, pool)
        if found is not None:
            return found
    return run_alone(scenario, pairing, pool)


class Plan:
    """The runs of one scenario a pool is going to be asked for: `wanted[pairing]` runs of each pairing.

    `take` hands them out in the order they were made. When a pairing has none ready but still owes
    runs, one round is made: one run of every pairing that still owes one, all at once (`run_together`).
    """

    def __init__(self, scenario: Scenario, wanted: Mapping[Pairing, int]) -> None:
        self.scenario = scenario
        self.wanted = {p: n for p, n in wanted.items() if n > 0}
        self.made = dict.fromkeys(self.wanted, 0)
        self.ready: dict[Pairing, deque[RunResult]] = {p: deque() for p in self.wanted}

    def take(self, pairing: Pairing, pool: AgentPool) -> RunResult | None:
        """The next run of `pairing`, or None if the plan owes none (the caller then runs alone)."""
        if pairing not in self.wanted:
            return None
        ready = self.ready[pairing]
        if not ready:
            if self.made[pairing] >= self.wanted[pairing]:
                return None
            owing = [p for p in self.wanted if self.made[p] < self.wanted[p]]
            for p, result in zip(owing, run_together(self.scenario, owing, pool), strict=True):
                self.made[p] += 1
                self.ready[p].append(result)
        return ready.popleft()


def plan(pool: AgentPool, scenario: Scenario, wanted: Mapping[Pairing, int]) -> None:
    """Tell the pool which runs of `scenario` it is about to be asked for (see `Plan`). The plan of the
    same scenario is kept (it already counts these runs); a plan of another scenario is replaced, and
    whatever it made that nobody took is dropped."""
    current = pool.plan
    if current is None or current.scenario.id != scenario.id:
        pool.plan = Plan(scenario, wanted)


def run_together(scenario: Scenario, pairings: Sequence[Pairing], pool: AgentPool) -> list[RunResult]:
    """One run of `scenario` per pairing, all at once: the i-th on lane i of the pool (its own agents and
    queue), lane 0 in this thread. Results in the order of `pairings`."""
    if len(pairings) == 1:
        return [run_alone(scenario, pairings[0], pool)]
    results: list[RunResult | None] = [None] * len(pairings)
    errors: list[BaseException] = []

    def one(index: int) -> None:
        try:
            results[index] = run_alone(scenario, pairings[index], pool.lane(index))
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(1, len(pairings))]
    for thread in threads:
        thread.start()
    one(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    done = [r for r in results if r is not None]
    assert len(done) == len(pairings)
    return done


def run_alone(scenario: Scenario, pairing: Pairing, pool: AgentPool) -> RunResult:
    """One run of `scenario` in `pairing` on the pool's own agents, now."""
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
