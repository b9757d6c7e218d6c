"""Medians, ratios, targets, and the tables (Markdown) and JSON of a benchmark run."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from .suite import IMPL_LABEL, IMPLS, WORKLOADS, Run, median

BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

TARGET_NODE = 1.0  # uvnet >= 1.0x Node 24
TARGET_UVLOOP = 0.8  # uvnet >= 0.8x raw uvloop
TARGET_MEMORY = 1.5  # uvnet idle RSS/connection <= 1.5x Node's


def machine(node_version: str) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import uvloop

        uvloop_version = uvloop.__version__
    except ImportError:
        uvloop_version = "?"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=BENCH.parent, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "impl"], capture_output=True, text=True,
                           cwd=BENCH.parent, check=False).stdout.strip()
    mem_kib = 0
    try:
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "uvloop": uvloop_version,
        "node": node_version,
        "commit": commit + (" (impl/ modified)" if dirty else ""),
    }


def aggregate(runs: list[Run]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    groups: dict[tuple[str, str, str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.side, r.workload, r.transport, r.impl), []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r.value]
        out[key] = {
            "n": len(ok),
            "value": median([r.value for r in ok]),
            "values": [r.value for r in rs],
            "p50": median([r.p50 for r in ok if r.p50 is not None]),
            "p99": median([r.p99 for r in ok if r.p99 is not None]),
            "cpu_user_us": median([r.cpu_user_us for r in ok if r.cpu_user_us is not None]),
            "cpu_sys_us": median([r.cpu_sys_us for r in ok if r.cpu_sys_us is not None]),
            "foreign": median([r.foreign for r in rs if r.foreign is not None]),
            "errors": [r.error for r in rs if r.error],
        }
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def ratios(agg: dict[tuple[str, str, str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (side, workload, transport): medians of each implementation and uvnet's ratios."""
    rows = []
    keys = sorted({k[:3] for k in agg}, key=_order)
    for side, workload, transport in keys:
        vals = {impl: (agg.get((side, workload, transport, impl)) or {}).get("value")
                for impl in IMPLS}
        row: dict[str, Any] = {"side": side, "workload": workload, "transport": transport, "median": vals}
        row["uvnet/node"] = _ratio(vals["uvnet"], vals["node"])
        row["uvnet/uvloop"] = _ratio(vals["uvnet"], vals["uvloop"])
        row["uvloop/node"] = _ratio(vals["uvloop"], vals["node"])
        row["streams/node"] = _ratio(vals["streams"], vals["node"])
        if workload == "idle-rss":
            r = row["uvnet/node"]
            row["met"] = {"memory<=1.5x node": None if r is None else r <= TARGET_MEMORY}
        else:
            rn, ru = row["uvnet/node"], row["uvnet/uvloop"]
            row["met"] = {
                ">=1.0x node": None if rn is None else rn >= TARGET_NODE,
                ">=0.8x uvloop": None if ru is None else ru >= TARGET_UVLOOP,
            }
        rows.append(row)
    return rows


_WL_ORDER = [w.name for w in WORKLOADS] + ["idle-rss"]
_TR_ORDER = ["tcp", "tcp-nodelay", "unix"]


def _order(key: tuple[str, str, str]) -> tuple[int, int, int]:
    side, wl, tr = key
    return (0 if side == "server" else 1, _WL_ORDER.index(wl) if wl in _WL_ORDER else 99,
            _TR_ORDER.index(tr) if tr in _TR_ORDER else 99)


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "—"
    if unit == "KiB":
        return f"{v:.2f}"
    if v >= 100000:
        return f"{v / 1000:.0f}k"
    if v >= 10000:
        return f"{v / 1000:.1f}k"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}"


def _fr(r: float | None, good: bool | None) -> str:
    if r is None:
        return "—"
    mark = "" if good is None else (" ✓" if good else " ✗")
    return f"{r:.2f}x{mark}"


UNITS = {w.name: w.unit for w in WORKLOADS}
TRANSPORT_LABEL = {"tcp": "TCP (Nagle on)", "tcp-nodelay": "TCP noDelay", "unix": "Unix"}


def markdown(doc: dict[str, Any]) -> str:
    agg = {tuple(k.split("|")): v for k, v in doc["aggregate"].items()}
    rows = doc["rows"]
    m = doc["machine"]
    cfg = doc["config"]
    impls = list(IMPLS)
    out = []
    out.append(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; Python "
        f"{m['python']}, uvloop {m['uvloop']}, Node {m['node']}; commit {m['commit']}; {m['date']}.  "
        f"Medians of {cfg['reps']} alternating runs of {cfg['duration']}s (+{cfg['warmup']}s warm-up) each; "
        f"process under test on core 0, load on core 1.  Foreign CPU load during the runs (other "
        f"processes on the machine): median {doc['foreign_median']:.0%}, max {doc['foreign_max']:.0%}."
        + (f"  Rows re-measured in a later invocation (all implementations again, alternating): "
           f"{', '.join(cfg['merged'])}." if cfg.get("merged") else "")
    )
    for side in ("server", "client"):
        srows = [r for r in rows if r["side"] == side and r["workload"] != "idle-rss"]
        if not srows:
            continue
        who = ("echo server under test; C load generator (bench/loadgen.c) as the client" if side == "server"
               else "client under test; C echo server (loadgen serve) as the server")
        out.append(f"\n#### {side.title()} side ({who})\n")
        out.append("| workload | transport | unit | " + " | ".join(IMPL_LABEL[i] for i in impls)
                   + " | uvnet/Node | uvnet/uvloop | uvloop/Node | streams/Node |")
        out.append("|---|---|---|" + "---:|" * (len(impls) + 4))
        for r in srows:
            met = r["met"]
            out.append(
                f"| {r['workload']} | {TRANSPORT_LABEL.get(r['transport'], r['transport'])} | "
                f"{UNITS.get(r['workload'], '')} | "
                + " | ".join(_fmt(r["median"][i]) for i in impls)
                + f" | {_fr(r['uvnet/node'], met.get('>=1.0x node'))} | "
                f"{_fr(r['uvnet/uvloop'], met.get('>=0.8x uvloop'))} | {_fr(r['uvloop/node'], None)} | "
                f"{_fr(r['streams/node'], None)} |"
            )
        # latency and CPU
        out.append(f"\n{side.title()} side: latency p50 / p99 (µs) and CPU of the process under test per "
                   "operation (user + sys µs; per message, per 64 KiB chunk, per connection)\n")
        out.append("| workload | transport | " + " | ".join(f"{IMPL_LABEL[i]} p50/p99" for i in impls) + " | "
                   + " | ".join(f"{IMPL_LABEL[i]} cpu" for i in impls) + " |")
        out.append("|---|---|" + "---:|" * (2 * len(impls)))
        for r in srows:
            cells_l, cells_c = [], []
            for i in impls:
                a = agg.get((side, r["workload"], r["transport"], i)) or {}
                if a.get("p50") is not None:
                    cells_l.append(f"{a['p50']:.0f} / {a['p99']:.0f}")
                else:
                    cells_l.append("—")
                if a.get("cpu_user_us") is not None:
                    cells_c.append(f"{a['cpu_user_us']:.2f} + {a['cpu_sys_us']:.2f}")
                else:
                    cells_c.append("—")
            out.append(f"| {r['workload']} | {TRANSPORT_LABEL.get(r['transport'], r['transport'])} | "
                       + " | ".join(cells_l) + " | " + " | ".join(cells_c) + " |")
    mrows = [r for r in rows if r["workload"] == "idle-rss"]
    if mrows:
        out.append(f"\n#### Memory: RSS per idle connection (KiB), {cfg['idle_conns']:,} connections open\n")
        out.append("| side | transport | " + " | ".join(IMPL_LABEL[i] for i in impls) + " | uvnet/Node |")
        out.append("|---|---|" + "---:|" * (len(impls) + 1))
        for r in mrows:
            out.append(f"| {r['side']} | {r['transport']} | "
                       + " | ".join(_fmt(r["median"][i], "KiB") for i in impls)
                       + f" | {_fr(r['uvnet/node'], r['met'].get('memory<=1.5x node'))} |")
    out.append("\n" + targets_text(rows))
    return "\n".join(out)


def targets_text(rows: list[dict[str, Any]]) -> str:
    met, missed, unknown = [], [], []
    for r in rows:
        for name, ok in r["met"].items():
            label = f"{r['side']} {r['workload']} {r['transport']}: {name}"
            if ok is None:
                unknown.append(label)
            elif ok:
                met.append(label)
            else:
                ratio = r["uvnet/node"] if "node" in name else r["uvnet/uvloop"]
                missed.append(f"{label} (is {ratio:.2f}x)")
    lines = [f"Targets: {len(met)} met, {len(missed)} missed, {len(unknown)} not measured."]
    if missed:
        lines.append("Missed: " + "; ".join(missed) + ".")
    return "\n".join(lines)


def build_doc(runs: list[Run], cfg: dict[str, Any], node_version: str) -> dict[str, Any]:
    agg = aggregate(runs)
    foreign = [r.foreign for r in runs if r.foreign is not None]
    return {
        "machine": machine(node_version),
        "config": cfg,
        "foreign_median": median(foreign) or 0.0,
        "foreign_max": max(foreign) if foreign else 0.0,
        "aggregate": {"|".join(k): v for k, v in agg.items()},
        "rows": ratios(agg),
        "runs": [r.__dict__ for r in runs],
    }


def write(doc: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=str) + "\n")


def update_readme(table: str) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        return
    new = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: f"{START}\n{table}\n{END}", text,
                 flags=re.S)
    README.write_text(new)
