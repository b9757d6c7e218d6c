"""`bench/run profile`: where uvnet's time goes under load.

Two views of the same workload (by default the server side of pingpong-10 over TCP):

* py-spy (sampling, low overhead; ``--native`` adds uvloop's and libc's frames, but on CPython 3.11 it
  then files most Python time under native leaves, so the default is Python frames only): attached to
  the process under test for the measured window.  Reported as the top functions by *self* time (the
  innermost Python frame of each sample) and by *inclusive* time, and the share per file.
* cProfile (deterministic; slows the process, so its absolute times are inflated, but its call
  counts are exact): Python function calls per operation, and the top functions by own time.

Writes bench/results/profile-<side>-<workload>-<transport>.txt (and the raw py-spy and pstats files
under bench/results/profile-raw/), prints the report.
"""

from __future__ import annotations

import argparse
import io
import os
import pstats
import re
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from . import suite
from ._procs import LOADGEN, BenchError, Procs, build_loadgen, node_binary

RESULTS = Path(__file__).resolve().parent / "results"
FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>[^():]+?)(?::(?P<line>\d+))?\)$")


def _pyspy() -> str | None:
    cand = Path(sys.executable).parent / "py-spy"
    return str(cand) if cand.exists() else shutil.which("py-spy")


def analyse_pyspy(raw: Path, top: int) -> str:
    selfs: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    files: Counter[str] = Counter()
    native_leaf: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = stack.split(";")
        py = []
        for f in frames:
            m = FRAME.match(f)
            if m and m.group("file").endswith(".py"):
                py.append(f"{m.group('fn')} ({m.group('file')})")
        leaf = frames[-1]
        m = FRAME.match(leaf)
        if m and m.group("file").endswith(".py"):
            files[m.group("file")] += count
        else:
            # time below the innermost Python frame: uvloop/libuv/CPython C code or a syscall
            native_leaf[(m.group("fn") + " (" + m.group("file") + ")") if m else leaf] += count
            files["(native: uvloop, libuv, CPython, libc)"] += count
        if py:
            selfs[py[-1]] += count
        for name in set(py):
            incl[name] += count
    if not total:
        return "py-spy: no samples\n"
    out = io.StringIO()
    out.write(f"py-spy: {total} samples (non-idle only)\n\nTop by self time (innermost Python frame, native "
              "time below it included):\n")
    for name, c in selfs.most_common(top):
        out.write(f"  {c / total:6.1%}  {name}\n")
    out.write("\nTop by inclusive time:\n")
    for name, c in incl.most_common(top):
        out.write(f"  {c / total:6.1%}  {name}\n")
    out.write("\nSelf time by file (leaf frame):\n")
    for name, c in files.most_common(15):
        out.write(f"  {c / total:6.1%}  {name}\n")
    out.write("\nTop native leaves:\n")
    for name, c in native_leaf.most_common(10):
        out.write(f"  {c / total:6.1%}  {name}\n")
    return out.getvalue()


def analyse_cprofile(path: Path, ops: float, op: str, top: int) -> str:
    st = pstats.Stats(str(path))
    # Normalise by events the process itself saw (exact, unlike the load generator's count, whose
    # window differs): data_received calls (data events) or connection_made calls (connections).
    marker = "connection_made" if op == "conn" else "data_received"
    seen = max((nc for (_f, _l, fn), (_cc, nc, *_r) in st.stats.items()  # type: ignore[attr-defined]
                if fn == marker), default=0)
    if seen:
        ops, op = float(seen), ("data event" if marker == "data_received" else "conn")
    total_calls = st.total_calls  # type: ignore[attr-defined]
    prim = st.prim_calls  # type: ignore[attr-defined]
    out = io.StringIO()
    out.write(f"cProfile: {total_calls:,} function calls ({prim:,} primitive) for ~{ops:,.0f} {op}s: "
              f"{total_calls / max(ops, 1):.1f} calls per {op}\n\n")
    rows = []
    for (file, line, fn), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append((tt, ct, nc, f"{fn} ({_short(file)}:{line})"))
    rows.sort(reverse=True)
    total_tt = sum(r[0] for r in rows) or 1.0
    out.write(f"Top by own time (of {total_tt:.2f}s profiled):  own%   calls/{op}  function\n")
    for tt, _ct, nc, name in rows[:top]:
        out.write(f"  {tt / total_tt:6.1%}  {nc / max(ops, 1):8.2f}  {name}\n")
    out.write(f"\nMost called (per {op}):\n")
    for _tt, _ct, nc, name in sorted(rows, key=lambda r: -r[2])[:top]:
        out.write(f"  {nc / max(ops, 1):8.2f}  {name}\n")
    return out.getvalue()


def _short(file: str) -> str:
    for marker in ("/impl/", "/site-packages/", "/lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def main(args: argparse.Namespace) -> int:
    build_loadgen()
    wl = {w.name: w for w in suite.WORKLOADS}.get(args.workload)
    if wl is None:
        raise BenchError(f"unknown workload {args.workload}")
    family, nodelay = suite.TRANSPORTS[args.transport]
    cfg = suite.Config(python=sys.executable, node=node_binary(), duration=args.duration, warmup=1.0)
    tag = f"{args.side}-{args.impl}-{wl.name}-{args.transport}"
    rawdir = RESULTS / "profile-raw"
    rawdir.mkdir(parents=True, exist_ok=True)
    report = [f"# profile {tag}: {wl.name} over {args.transport}, {args.duration}s\n"]
    spy = _pyspy()
    tools = ["py-spy", "cprofile"] if args.tool == "both" else [args.tool]
    with Procs() as procs:
        for tool in tools:
            if tool == "py-spy" and spy is None:
                report.append("py-spy not installed (bench/run profile installs it): skipped\n")
                continue
            report.append(_one(cfg, procs, args, wl, family, nodelay, tool, spy, rawdir / f"{tag}.{tool}"))
    text = "\n".join(report)
    out = RESULTS / f"profile-{tag}.txt"
    out.write_text(text)
    print(text)
    print(f"(written to {out})")
    return 0


def _one(cfg: suite.Config, procs: Procs, args: argparse.Namespace, wl: suite.Workload, family: str,
         nodelay: bool, tool: str, spy: str | None, raw: Path) -> str:
    d, w = cfg.duration, cfg.warmup
    load_args = ["-c", str(wl.conns), "-s", str(wl.size), "-d", str(d), "-w", str(w)]
    if args.side == "server":
        listen = suite._listen_args(procs, family, "prof")
        cmd = suite._core(cfg, suite.SERVER_CORE) + suite.server_cmd(cfg, args.impl, listen, nodelay)
        if tool == "cprofile":
            cmd += ["--cprofile", str(raw)]
        srv = procs.start(cmd, "server-prof")
        target = suite._target(listen, srv.read_json_line(30))
        lg = procs.start([*suite._core(cfg, suite.LOAD_CORE), str(LOADGEN), wl.mode, *target, *load_args],
                         "loadgen-prof")
        under = srv
    else:
        listen = suite._listen_args(procs, family, "prof-serve")
        srv = procs.start([*suite._core(cfg, suite.LOAD_CORE), str(LOADGEN), "serve", *listen, "-d", "600"],
                          "c-serve", stdin_pipe=True)
        target = suite._target(listen, srv.read_json_line(30))
        env = {"BENCH_CPROFILE": str(raw)} if tool == "cprofile" else {}
        lg = procs.start(suite._core(cfg, suite.SERVER_CORE)
                         + suite.client_cmd(cfg, args.impl, wl.mode, target, nodelay) + load_args,
                         "client-prof", env=env)
        under = lg
    time.sleep(w)
    if tool == "py-spy":
        assert spy is not None
        native = ["--native"] if args.native else []
        procs.run_plain([spy, "record", "--pid", str(under.pid), "-d", str(int(d - 0.5)), "-r", "1000",
                         *native, "-f", "raw", "-o", str(raw)], timeout=d + 60)
    elif args.side == "server":
        os.kill(srv.pid, signal.SIGUSR1)
        time.sleep(d - 0.5)
        os.kill(srv.pid, signal.SIGUSR2)
    res = lg.read_json_line(d + w + 60)
    lg.popen.wait(timeout=30)
    procs.stop(lg)
    procs.stop(srv)
    ops = float(res.get("count") or res.get("bytes", 0) / wl.size)
    secs = float(res.get("secs") or d)
    head = f"## {tool}: {wl.metric} = {res.get(wl.metric, 0):,.1f} {wl.unit} during the profile\n"
    if tool == "py-spy":
        return head + analyse_pyspy(raw, args.top)
    for _ in range(50):
        if raw.exists():
            break
        time.sleep(0.1)
    if not raw.exists():
        return head + "cProfile: no stats written\n"
    window = (d - 0.5) if args.side == "server" else secs
    return head + analyse_cprofile(raw, ops * window / secs, wl.op, args.top)
