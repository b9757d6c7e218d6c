"""`bench/run harness`: the conformance harness's own speed.

1. The whole conformance suite's wall time at ``-n 1``, ``-n 2`` and ``-n 4`` xdist workers (the README's
   ``./dev conformance`` command, with its reports sent to a temporary directory so a developer's
   ``reports/`` is untouched), with pytest's summary line.
   Each worker count is timed ``SUITE_RUNS`` times (the machine may be shared); the median is
   reported, with every run's time and the 1-minute load average before it.
2. The per-scenario overhead of the agent round trip: a trivial scenario (one ``call`` of
   ``net.isIP``) run many times through the real runner and agents, per pairing (``node-node``,
   ``uvnet-uvnet``, and the relayed mixed pairings with one step on each side), and as the suite runs
   it: one round of all four pairings at once (``runner.run_together``, each on its own agents).
   Reported with the scenario's default ``settle`` (20 ms of quiet time a scenario waits for late
   events) and with ``settle: 0``, so the fixed settle cost and the agent/IPC cost are seen apart.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._procs import ROOT, BenchError

RESULTS = Path(__file__).resolve().parent / "results"
README_START, README_END = "<!-- harness:start -->", "<!-- harness:end -->"
SUITE_RUNS = 2  # timings of the whole suite per worker count; the median is reported
ROUND = "all 4 at once"  # the pairing column of a round's row


def suite_time(jobs: int, runs: int = SUITE_RUNS) -> dict[str, Any]:
    """The suite at `jobs` workers, `runs` times: the median wall time, and every run."""
    each = []
    for _ in range(runs):
        load = os.getloadavg()[0]
        r = suite_once(jobs)
        r["load"] = load
        each.append(r)
        sys.stderr.write(f"  -n {jobs}: {r['seconds'] and round(r['seconds'], 1)} s (load {load:.2f})  "
                         f"{r['summary']}\n" + "".join(f"    {f}\n" for f in r.get("failed", [])))
    times = [r["seconds"] for r in each if r["seconds"] is not None]
    return {"jobs": jobs, "seconds": statistics.median(times) if times else None, "runs": each,
            "exit": max(r.get("exit", 1) for r in each),
            "summary": " / ".join(dict.fromkeys(r["summary"] for r in each))}


def suite_once(jobs: int, timeout: float = 3000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="uvnet-bench-harness-") as tmp:
        cmd = [sys.executable, "-m", "pytest", "conformance/scenarios", "-n", str(jobs), "-q", "-p",
               "no:randomly", "--conformance-report", tmp, "--junitxml", f"{tmp}/junit.xml"]
        t0 = time.monotonic()
        try:
            out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"jobs": jobs, "seconds": None, "summary": f"timed out after {timeout:.0f}s"}
        secs = time.monotonic() - t0
    lines = [ln for ln in out.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
    failed = [ln.split(" - ")[0] for ln in out.stdout.splitlines() if ln.startswith(("FAILED ", "ERROR "))]
    return {"jobs": jobs, "seconds": secs, "exit": out.returncode, "failed": failed,
            "summary": lines[-1].strip("= ") if lines else out.stdout[-300:]}


def _scenario(two_sided: bool, settle: int) -> Any:
    from conformance.loader import _build

    if two_sided:
        data = {
            "description": "bench: trivial two-sided scenario",
            "spec": ["net.isIP(input)"],
            "sides": ["server", "client"],
            "settle": settle,
            "steps": [
                {"side": "server", "call": 'net.isIP("127.0.0.1")'},
                {"side": "client", "call": 'net.isIP("::1")'},
            ],
        }
    else:
        data = {
            "description": "bench: trivial scenario",
            "spec": ["net.isIP(input)"],
            "settle": settle,
            "steps": [{"call": 'net.isIP("127.0.0.1")'}],
        }
    return _build("bench/trivial", Path("bench/trivial.yaml"), data)


def round_trips(n: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from conformance.agents import AgentPool
    from conformance.runner import Pairing, RunResult, run_scenario, run_together

    pool = AgentPool()
    rows = []
    everything = [Pairing.parse(p) for p in ("node-node", "uvnet-uvnet", "uvnet-node", "node-uvnet")]

    def once(pairing: str, sc: Any) -> list[RunResult]:
        if pairing == ROUND:  # as the suite runs a two-sided scenario: every pairing at once
            return run_together(sc, everything, pool)
        return [run_scenario(sc, Pairing.parse(pairing), pool)]

    try:
        for pairing in [p.id for p in everything] + [ROUND]:
            for settle in (20, 0):
                sc = _scenario(pairing == ROUND or not Pairing.parse(pairing).single, settle)
                for _ in range(5):  # warm: agents started, code paths loaded
                    once(pairing, sc)
                times = []
                statuses: set[str] = set()
                for _ in range(n):
                    t0 = time.perf_counter()
                    results = once(pairing, sc)
                    times.append(time.perf_counter() - t0)
                    statuses.update(res.status for res in results)
                times.sort()
                rows.append({
                    "pairing": pairing, "settle_ms": settle, "n": n,
                    "median_ms": statistics.median(times) * 1000,
                    "p90_ms": times[int(0.9 * (n - 1))] * 1000,
                    "min_ms": times[0] * 1000, "status": sorted(statuses),
                })
                sys.stderr.write(f"  round trip {pairing:13} settle {settle:2} ms: median "
                                 f"{rows[-1]['median_ms']:.2f} ms, p90 {rows[-1]['p90_ms']:.2f} ms\n")
    finally:
        pool.close()
    return rows


def markdown(doc: dict[str, Any]) -> str:
    out = [f"Machine: {doc['machine']}; {doc['date']}; {doc['scenarios']} scenario files.\n"]
    if doc.get("suite"):
        out.append("| `./dev conformance` workers | wall time (median) | runs (1-min load before) | "
                   "pytest summary |")
        out.append("|---:|---:|---|---|")
        for r in doc["suite"]:
            secs = "—" if r["seconds"] is None else f"{r['seconds']:.1f} s"
            runs = ", ".join(
                ("—" if x["seconds"] is None else f"{x['seconds']:.1f} s") + f" ({x['load']:.2f})"
                for x in r.get("runs", [])
            )
            out.append(f"| -n {r['jobs']} | {secs} | {runs} | {r['summary']} |")
        out.append("")
        failed = sorted({f for r in doc["suite"] for x in r.get("runs", []) for f in x.get("failed", [])})
        if failed:
            out.append("Failed in at least one of these runs: " + ", ".join(f"`{f}`" for f in failed))
            out.append("")
    out.append("Agent round trip of a trivial scenario (one `call`; two-sided for the mixed pairings), "
               "through the real runner and agents; the last rows are one round of a two-sided scenario, "
               "all four pairings at once on their own agents, as the suite runs it:\n")
    out.append("| pairing | settle | median | p90 | min |")
    out.append("|---|---:|---:|---:|---:|")
    for r in doc["round_trips"]:
        out.append(f"| {r['pairing']} | {r['settle_ms']} ms | {r['median_ms']:.2f} ms | "
                   f"{r['p90_ms']:.2f} ms | "
                   f"{r['min_ms']:.2f} ms |")
    return "\n".join(out)


def main(args: argparse.Namespace) -> int:
    from ._procs import node_binary, node_version
    from .report import machine

    os.chdir(ROOT)
    node = node_binary()
    m = machine(node_version(node))
    scenarios = len(list((ROOT / "conformance" / "scenarios").rglob("*.yaml")))
    doc: dict[str, Any] = {
        "machine": f"{m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, Python {m['python']}, "
        f"Node {m['node']}",
        "date": m["date"], "scenarios": scenarios, "suite": [], "round_trips": [],
    }
    sys.stderr.write("bench harness: agent round trips\n")
    doc["round_trips"] = round_trips(args.round_trips)
    if not args.no_suite:
        for jobs in [int(j) for j in args.jobs.split(",") if j.strip()]:
            sys.stderr.write(f"bench harness: conformance suite at -n {jobs} ...\n")
            r = suite_time(jobs)
            sys.stderr.write(f"  -n {jobs}: median {r['seconds'] and round(r['seconds'], 1)} s\n")
            doc["suite"].append(r)
    out = Path(args.out) if args.out else RESULTS / "harness.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    text = markdown(doc)
    print(text)
    readme = Path(__file__).resolve().parent / "README.md"
    if readme.exists() and README_START in readme.read_text() and not args.no_suite:
        body = readme.read_text()
        body = re.sub(re.escape(README_START) + ".*?" + re.escape(README_END),
                      lambda _: f"{README_START}\n{text}\n{README_END}", body, flags=re.S)
        readme.write_text(body)
    if not doc["round_trips"]:
        raise BenchError("no round trips measured")
    return 0
