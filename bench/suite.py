"""The workloads and how one run of each is measured.

Server side: one echo server (uvnet, Node 24, raw uvloop Protocol, asyncio streams) pinned to core 0, the
C load generator pinned to core 1.  Client side: the same workloads driven by a uvnet / Node / uvloop /
streams client on core 0 against loadgen's C echo server on core 1.  Each (workload, transport) runs every
implementation once per repetition, in an order rotated each repetition (alternating runs), a fresh
process each time; the report takes medians over the repetitions and ratios of the medians.

Measured per run: the workload's metric (messages/s, MB/s, connections/s), latency p50/p99, the CPU time
of the process under test per operation (from /proc, all threads), and the CPU that *other* processes of
the machine used meanwhile ("foreign" load: a busy machine makes a run noisy, and the report says so).
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ._procs import (
    CLK_TCK,
    LOADGEN,
    BenchError,
    Procs,
    cpu_ticks,
    pin,
    rss_kib,
    system_busy,
)

IMPLS = ("node", "uvloop", "streams", "uvnet")
IMPL_LABEL = {"node": "Node 24", "uvloop": "uvloop Protocol", "streams": "asyncio streams", "uvnet": "uvnet"}
SERVER_CORE = 0
LOAD_CORE = 1


@dataclass(frozen=True)
class Workload:
    name: str
    mode: str  # loadgen / client mode
    conns: int
    size: int
    metric: str  # key of the result: "rate" or "mb_per_s"
    unit: str
    latency: bool = True

    @property
    def op(self) -> str:
        return {"pingpong": "msg", "bulk": "64KiB", "connrate": "conn"}[self.mode]


WORKLOADS = (
    Workload("pingpong-1", "pingpong", 1, 1024, "rate", "msg/s"),
    Workload("pingpong-10", "pingpong", 10, 1024, "rate", "msg/s"),
    Workload("pingpong-100", "pingpong", 100, 1024, "rate", "msg/s"),
    Workload("bulk-64k", "bulk", 1, 65536, "mb_per_s", "MB/s", latency=False),
    Workload("connrate-seq", "connrate", 1, 1, "rate", "conn/s"),
    Workload("connrate-10", "connrate", 10, 1, "rate", "conn/s"),
)
QUICK_WORKLOADS = ("pingpong-10", "bulk-64k", "connrate-10")

# transport name -> (family, Nagle off?)
TRANSPORTS = {"tcp": ("tcp", False), "tcp-nodelay": ("tcp", True), "unix": ("unix", False)}
QUICK_TRANSPORTS = ("tcp", "unix")


@dataclass
class Config:
    python: str
    node: str
    duration: float = 2.0
    warmup: float = 0.5
    reps: int = 3
    impls: tuple[str, ...] = IMPLS
    workloads: tuple[str, ...] = tuple(w.name for w in WORKLOADS)
    transports: tuple[str, ...] = tuple(TRANSPORTS)
    sides: tuple[str, ...] = ("server", "client")
    idle_conns: int = 10000
    idle: bool = True
    pin: bool = True
    verbose: bool = True


@dataclass
class Run:
    side: str
    workload: str
    transport: str
    impl: str
    rep: int
    value: float = 0.0
    p50: float | None = None
    p99: float | None = None
    cpu_user_us: float | None = None  # per operation, process under test
    cpu_sys_us: float | None = None
    foreign: float | None = None  # share of the machine's 2 cores used by other processes
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def log(cfg: Config, text: str) -> None:
    if cfg.verbose:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _core(cfg: Config, core: int) -> list[str]:
    return pin(core) if cfg.pin else []


def server_cmd(cfg: Config, impl: str, listen: list[str], nodelay: bool) -> list[str]:
    extra = ["--nodelay"] if nodelay else []
    if impl == "node":
        return [cfg.node, "bench/echo_server.mjs", *listen, *extra]
    return [cfg.python, "bench/echo_server.py", impl, *listen, *extra]


def client_cmd(cfg: Config, impl: str, mode: str, target: list[str], nodelay: bool) -> list[str]:
    extra = ["--nodelay"] if nodelay else []
    if impl == "node":
        return [cfg.node, "bench/echo_client.mjs", mode, *target, *extra]
    return [cfg.python, "bench/echo_client.py", impl, mode, *target, *extra]


def _listen_args(procs: Procs, family: str, stem: str) -> list[str]:
    return ["--tcp", "127.0.0.1:0"] if family == "tcp" else ["--unix", procs.path(stem)]


def _target(listen: list[str], info: dict[str, Any]) -> list[str]:
    if listen[0] == "--tcp":
        ports = info.get("ports") or [info["listening"]]
        return ["--tcp", "127.0.0.1:" + ",".join(str(p) for p in ports)]
    return listen


SERVE_PORTS = 32  # the C echo server's TCP ports (see echo_client.py's _split)


# Connection-rate runs are bounded in connections as well as in time.  This machine tracks loopback
# connections in netfilter's conntrack table (262,144 entries here), where a closed connection stays
# in TIME_WAIT for 120 s: tens of thousands of connections per run would fill it, and a full table
# drops SYNs (connect() then stalls for seconds).  So a run stops after CONNRATE_MAX connections (server
# side) or CONNRATE_SECS seconds (client side), and before each TCP run the suite waits until the table
# has room (it only reads /proc/sys/net/netfilter/nf_conntrack_{count,max}; it changes nothing).
CONNRATE_MAX = 20000
CONNRATE_SECS = 1.5
_CT = "/proc/sys/net/netfilter/nf_conntrack_"


def wait_for_conntrack(cfg: Config, need: int, limit: float = 240.0) -> None:
    try:
        with open(_CT + "max") as f:
            ct_max = int(f.read())
    except (OSError, ValueError):
        return  # no conntrack: nothing to wait for
    deadline = time.monotonic() + limit
    said = False
    while time.monotonic() < deadline:
        try:
            with open(_CT + "count") as f:
                count = int(f.read())
        except (OSError, ValueError):
            return
        if count + need <= 0.85 * ct_max:
            return
        if not said:
            log(cfg, f"  (waiting for room in the conntrack table: {count:,} of {ct_max:,} entries)")
            said = True
        time.sleep(1.0)


def _load_args(cfg: Config, wl: Workload, side: str = "server", family: str = "tcp") -> list[str]:
    duration = cfg.duration
    extra: list[str] = []
    if wl.mode == "connrate":
        if side == "server":
            # Only TCP connections occupy conntrack entries; a Unix server as fast as raw uvloop's
            # (~40k/s) would reach the cap within the warm-up and measure nothing.
            if family == "tcp":
                extra = ["-n", str(CONNRATE_MAX)]
        else:
            duration = min(duration, CONNRATE_SECS)
    return ["-c", str(wl.conns), "-s", str(wl.size), "-d", str(duration), "-w", str(cfg.warmup), *extra]


def _fill(run: Run, wl: Workload, res: dict[str, Any]) -> None:
    run.value = float(res.get(wl.metric, 0.0))
    lat = res.get("lat_us")
    if wl.latency and lat:
        run.p50, run.p99 = lat.get("p50"), lat.get("p99")
    run.raw = res


def _ops_of(wl: Workload, res: dict[str, Any], key_total: bool) -> float:
    if wl.mode == "bulk":
        return res.get("total_bytes" if key_total else "bytes", 0) / wl.size
    return float(res.get("total" if key_total else "count", 0))


def run_server(cfg: Config, procs: Procs, wl: Workload, transport: str, impl: str, rep: int) -> Run:
    family, nodelay = TRANSPORTS[transport]
    run = Run("server", wl.name, transport, impl, rep)
    if wl.mode == "connrate" and family == "tcp":
        wait_for_conntrack(cfg, CONNRATE_MAX + 1000)
    listen = _listen_args(procs, family, impl)
    srv = procs.start(_core(cfg, SERVER_CORE) + server_cmd(cfg, impl, listen, nodelay), f"server-{impl}")
    try:
        info = srv.read_json_line(30)
        target = _target(listen, info)
        u0, s0 = cpu_ticks(srv.pid)
        busy0, _ = system_busy()
        t0 = time.monotonic()
        res = procs.run(
            [*_core(cfg, LOAD_CORE), str(LOADGEN), wl.mode, *target, *_load_args(cfg, wl, "server", family)],
            f"loadgen-{wl.name}", timeout=cfg.duration + cfg.warmup + 60,
        )
        wall = time.monotonic() - t0
        u1, s1 = cpu_ticks(srv.pid)
        busy1, _ = system_busy()
        if srv.popen.poll() is not None:
            raise BenchError(f"server {impl} died\n{srv.tail()}")
        _fill(run, wl, res)
        ops = _ops_of(wl, res, key_total=True)
        if ops:
            run.cpu_user_us = (u1 - u0) / CLK_TCK / ops * 1e6
            run.cpu_sys_us = (s1 - s0) / CLK_TCK / ops * 1e6
        own = (u1 - u0 + s1 - s0) / CLK_TCK + res["self_cpu"]["user"] + res["self_cpu"]["sys"]
        run.foreign = max(0.0, ((busy1 - busy0) / CLK_TCK - own) / (2 * wall))
        if res.get("errors"):
            run.error = f"{res['errors']} connection errors"
    except BenchError as exc:
        run.error = str(exc).splitlines()[0]
        run.raw = {"error": str(exc)}
    finally:
        procs.stop(srv)
    return run


def run_client(cfg: Config, procs: Procs, wl: Workload, transport: str, impl: str, rep: int) -> Run:
    family, nodelay = TRANSPORTS[transport]
    run = Run("client", wl.name, transport, impl, rep)
    if wl.mode == "connrate" and family == "tcp":
        wait_for_conntrack(cfg, 30000)
    listen = _listen_args(procs, family, "c-serve")
    srv = procs.start([*_core(cfg, LOAD_CORE), str(LOADGEN), "serve", *listen, "-p", str(SERVE_PORTS),
                       "-d", "3600"], "c-serve",
                      stdin_pipe=True)
    try:
        info = srv.read_json_line(30)
        target = _target(listen, info)
        busy0, _ = system_busy()
        t0 = time.monotonic()
        res = procs.run(
            _core(cfg, SERVER_CORE) + client_cmd(cfg, impl, wl.mode, target, nodelay)
            + _load_args(cfg, wl, "client"),
            f"client-{impl}-{wl.name}", timeout=cfg.duration + cfg.warmup + 60,
        )
        wall = time.monotonic() - t0
        busy1, _ = system_busy()
        _fill(run, wl, res)
        ops = _ops_of(wl, res, key_total=False)
        meas = res.get("cpu_meas")
        if ops and meas:
            run.cpu_user_us = meas["user"] / ops * 1e6
            run.cpu_sys_us = meas["sys"] / ops * 1e6
        own = res["self_cpu"]["user"] + res["self_cpu"]["sys"]
        srv_u, srv_s = cpu_ticks(srv.pid)
        own += (srv_u + srv_s) / CLK_TCK
        run.foreign = max(0.0, ((busy1 - busy0) / CLK_TCK - own) / (2 * wall))
        if res.get("errors"):
            run.error = f"{res['errors']} connection errors"
        if res.get("did_not_exit"):
            run.error = (run.error + "; " if run.error else "") + "client did not exit (stopped)"
        if res.get("exit_code") is not None:
            run.error = (run.error + "; " if run.error else "") + f"client exit code {res['exit_code']}"
    except BenchError as exc:
        run.error = str(exc).splitlines()[0]
        run.raw = {"error": str(exc)}
    finally:
        procs.stop(srv)
    return run


# ---------------------------------------------------------------------------------------------------
# idle memory


def idle_server(cfg: Config, procs: Procs, family: str, impl: str, rep: int) -> Run:
    """RSS per idle connection: the server's RSS with N pinged connections open, less its RSS before."""
    run = Run("server", "idle-rss", family, impl, rep)
    if family == "tcp":
        wait_for_conntrack(cfg, cfg.idle_conns + 1000)
    listen = _listen_args(procs, family, impl)
    srv = procs.start(_core(cfg, SERVER_CORE) + server_cmd(cfg, impl, listen, False), f"server-{impl}")
    hold = None
    try:
        target = _target(listen, srv.read_json_line(30))
        # warm the code paths (and the allocator) with a few connections, then take the baseline
        procs.run([str(LOADGEN), "hold", *target, "-c", "200", "-d", "60"], "loadgen-warm", timeout=90)
        time.sleep(0.5)
        base = rss_kib(srv.pid)
        hold = procs.start([*_core(cfg, LOAD_CORE), str(LOADGEN), "hold", *target, "-c", str(cfg.idle_conns),
                                                    "-d", "300"], "loadgen-hold", stdin_pipe=True)
        ready = hold.read_json_line(240)
        if ready.get("ready") != cfg.idle_conns:
            raise BenchError(
                f"only {ready.get('ready')} of {cfg.idle_conns} connections opened\n{hold.tail()}")
        time.sleep(1.0)
        full = rss_kib(srv.pid)
        run.value = (full - base) / cfg.idle_conns  # KiB per connection
        run.raw = {"rss_base_kib": base, "rss_kib": full, "conns": cfg.idle_conns,
                   "open_secs": ready.get("open_secs")}
    except BenchError as exc:
        run.error = str(exc).splitlines()[0]
        run.raw = {"error": str(exc)}
    finally:
        if hold is not None:
            procs.stop(hold)
        procs.stop(srv)
    return run


def _client_hold_rss(cfg: Config, procs: Procs, impl: str, target: list[str], n: int) -> tuple[int, float]:
    cmd = _core(cfg, SERVER_CORE) + client_cmd(cfg, impl, "hold", target, False) + ["-c", str(n), "-d", "300"]
    cli = procs.start(cmd, f"client-{impl}-hold")
    try:
        t0 = time.monotonic()
        ready = cli.read_json_line(240)
        if ready.get("ready") != n:
            raise BenchError(f"client opened {ready.get('ready')} of {n}: {ready.get('error', '')}")
        secs = time.monotonic() - t0
        time.sleep(1.0)
        return rss_kib(cli.pid), secs
    finally:
        procs.stop(cli)


def idle_client(cfg: Config, procs: Procs, family: str, impl: str, rep: int) -> Run:
    """RSS per idle client connection: RSS holding 200+N connections less RSS holding 200."""
    run = Run("client", "idle-rss", family, impl, rep)
    if family == "tcp":
        wait_for_conntrack(cfg, 2 * cfg.idle_conns + 1000)
    listen = _listen_args(procs, family, "c-serve")
    srv = procs.start([*_core(cfg, LOAD_CORE), str(LOADGEN), "serve", *listen, "-p", str(SERVE_PORTS),
                       "-d", "3600"], "c-serve",
                      stdin_pipe=True)
    try:
        target = _target(listen, srv.read_json_line(30))
        base, _ = _client_hold_rss(cfg, procs, impl, target, 200)
        full, secs = _client_hold_rss(cfg, procs, impl, target, 200 + cfg.idle_conns)
        run.value = (full - base) / cfg.idle_conns
        run.raw = {"rss_base_kib": base, "rss_kib": full, "conns": cfg.idle_conns, "open_secs": secs}
    except BenchError as exc:
        run.error = str(exc).splitlines()[0]
        run.raw = {"error": str(exc)}
    finally:
        procs.stop(srv)
    return run


# ---------------------------------------------------------------------------------------------------


def _describe(run: Run, wl: Workload | None) -> str:
    if run.error and not run.value:
        return f"ERROR {run.error}"
    unit = wl.unit if wl else "KiB/conn"
    text = f"{run.value:,.1f} {unit}"
    if run.p50 is not None:
        text += f"  p50 {run.p50:.0f}us p99 {run.p99:.0f}us"
    if run.cpu_user_us is not None:
        text += f"  cpu {run.cpu_user_us:.2f}+{run.cpu_sys_us:.2f}us/{wl.op if wl else 'op'}"
    if run.foreign is not None and run.foreign > 0.03:
        text += f"  (foreign load {run.foreign:.0%})"
    if run.error:
        text += f"  [{run.error}]"
    return text


def run_all(cfg: Config, procs: Procs) -> list[Run]:
    runs: list[Run] = []
    by_name = {w.name: w for w in WORKLOADS}
    impls = list(cfg.impls)
    for side in cfg.sides:
        fn = run_server if side == "server" else run_client
        for wname in cfg.workloads:
            wl = by_name[wname]
            for transport in cfg.transports:
                if wl.mode == "connrate" and transport == "tcp-nodelay" and "tcp" in cfg.transports:
                    continue  # Nagle cannot delay a lone 1-byte write: the same run as `tcp`
                for rep in range(cfg.reps):
                    k = rep % len(impls)
                    for impl in impls[k:] + impls[:k]:
                        run = fn(cfg, procs, wl, transport, impl, rep)
                        runs.append(run)
                        log(cfg, f"  {side:6} {wl.name:13} {transport:11} {impl:8} #{rep}  "
                                 f"{_describe(run, wl)}")
        if cfg.idle:
            idle_fn = idle_server if side == "server" else idle_client
            families = sorted({TRANSPORTS[t][0] for t in cfg.transports})
            for family in families:
                for rep in range(cfg.reps):
                    k = rep % len(impls)
                    for impl in impls[k:] + impls[:k]:
                        run = idle_fn(cfg, procs, family, impl, rep)
                        runs.append(run)
                        log(cfg, f"  {side:6} idle-rss      {family:11} {impl:8} #{rep}  "
                                 f"{_describe(run, None)}")
    return runs


def median(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def as_dicts(runs: list[Run]) -> list[dict[str, Any]]:
    return [asdict(r) for r in runs]
