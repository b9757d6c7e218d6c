"""uvnet's benchmark suite.  `bench/run --help`; see bench/README.md.

    bench/run [run] [--quick] [...]   the workloads, server and client side, against Node 24 and uvloop
    bench/run harness [...]           the conformance suite's wall time at -n 1/2/4, the agent round trip
    bench/run profile [...]           py-spy / cProfile of uvnet's server or client under load
    bench/run micro                   uvnet's per-message Python cost, without the kernel
    bench/run report FILE.json        re-print the tables of a saved run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import report, suite
from ._procs import BenchError, Procs, build_loadgen, node_binary, node_version, raise_fd_limit

RESULTS = Path(__file__).resolve().parent / "results"


def _csv(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in text.split(",") if x.strip())
    for x in items:
        if x not in allowed:
            raise SystemExit(f"unknown {what} {x!r}; known: {', '.join(allowed)}")
    return items


def cmd_run(args: argparse.Namespace) -> int:
    node = node_binary()
    build_loadgen()
    limit = raise_fd_limit()
    wl_names = tuple(w.name for w in suite.WORKLOADS)
    cfg = suite.Config(python=sys.executable, node=node)
    if args.quick:
        cfg.duration, cfg.warmup = 0.5, 0.2
        cfg.workloads = suite.QUICK_WORKLOADS
        cfg.transports = suite.QUICK_TRANSPORTS
        cfg.idle_conns = 1000
    if args.duration is not None:
        cfg.duration = args.duration
    if args.warmup is not None:
        cfg.warmup = args.warmup
    cfg.reps = max(args.reps, 1)
    if args.impls:
        cfg.impls = _csv(args.impls, suite.IMPLS, "implementation")
    if args.workloads:
        cfg.workloads = _csv(args.workloads, wl_names, "workload")
    if args.transports:
        cfg.transports = _csv(args.transports, tuple(suite.TRANSPORTS), "transport")
    if args.side != "both":
        cfg.sides = (args.side,)
    if args.idle_conns is not None:
        cfg.idle_conns = args.idle_conns
    cfg.idle = not args.no_idle
    cfg.pin = not args.no_pin
    # the limit is per process: the server (or client) and the load generator each hold one end
    if cfg.idle and limit < cfg.idle_conns + 500:
        cfg.idle_conns = max(100, limit - 500)
        sys.stderr.write(f"bench: fd limit {limit}: idle test with {cfg.idle_conns} connections\n")
    sys.stderr.write(
        f"bench: {len(cfg.sides)} side(s) x {len(cfg.workloads)} workloads x "
        f"{len(cfg.transports)} transports x "
        f"{len(cfg.impls)} implementations x {cfg.reps} runs of {cfg.duration}s (+{cfg.warmup}s warm-up)\n"
    )
    with Procs() as procs:
        runs = suite.run_all(cfg, procs)
    cfg_doc = {k: v for k, v in cfg.__dict__.items() if k not in ("python", "node", "verbose")}
    if args.merge:
        # re-measured rows replace the same (side, workload, transport) rows of an earlier run
        import json

        old = json.loads(Path(args.merge).read_text())
        fresh = {(r.side, r.workload, r.transport) for r in runs}
        kept = [suite.Run(**r) for r in old["runs"]
                if (r["side"], r["workload"], r["transport"]) not in fresh]
        runs = kept + runs
        cfg_doc = {**old["config"], "merged": sorted({f"{s}/{w}/{t}" for s, w, t in fresh}
                                                     | set(old["config"].get("merged", [])))}
    doc = report.build_doc(runs, cfg_doc, node_version(node))
    out = Path(args.out) if args.out else (
        Path(args.merge) if args.merge else RESULTS / ("quick.json" if args.quick else "latest.json"))
    report.write(doc, out)
    table = report.markdown(doc)
    print(table)
    print(f"\n(JSON: {out})")
    if args.update_readme:
        report.update_readme(table)
    return 0


def cmd_micro(args: argparse.Namespace) -> int:
    """bench/microbench.py for a raw Protocol and uvnet."""
    import json
    import subprocess

    rows = []
    for label, extra in (("raw uvloop Protocol", ["--impl", "protocol"]), ("uvnet", ["--impl", "uvnet"])):
        vals = []
        for _ in range(args.reps):
            out = subprocess.run([sys.executable, "bench/microbench.py", *extra, "-n", str(args.n)],
                                 capture_output=True, text=True, timeout=120, check=True,
                                 cwd=RESULTS.parent.parent)
            vals.append(json.loads(out.stdout.strip().splitlines()[-1])["us_per_msg"])
        rows.append((label, min(vals)))
    print("| implementation | user-space µs per 1 KiB data event + echo write (best of runs) |")
    print("|---|---:|")
    for label, v in rows:
        print(f"| {label} | {v:.2f} |")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import json

    doc = json.loads(Path(args.file).read_text())
    table = report.markdown(doc)
    print(table)
    if args.update_readme:
        report.update_readme(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd")

    r = sub.add_parser("run", help="the workloads (default)")
    r.add_argument("--quick", action="store_true",
                   help="0.5 s runs of pingpong-10, bulk-64k, connrate-10 over TCP and Unix; "
                   "1,000 idle conns")
    r.add_argument("--reps", type=int, default=3, help="alternating runs per implementation (default 3)")
    r.add_argument("--duration", type=float, help="measured seconds per run (default 2, quick 0.5)")
    r.add_argument("--warmup", type=float, help="warm-up seconds per run (default 0.5, quick 0.2)")
    r.add_argument("--impls", help=f"subset of {','.join(suite.IMPLS)} (default: all)")
    r.add_argument("--workloads", help=f"subset of {','.join(w.name for w in suite.WORKLOADS)}")
    r.add_argument("--transports", help=f"subset of {','.join(suite.TRANSPORTS)}")
    r.add_argument("--side", choices=["server", "client", "both"], default="both")
    r.add_argument("--idle-conns", type=int, help="connections of the idle-memory test (default 10000)")
    r.add_argument("--no-idle", action="store_true", help="skip the idle-memory test")
    r.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    r.add_argument("--out", help="JSON output (default bench/results/latest.json, quick.json with --quick)")
    r.add_argument("--update-readme", action="store_true", help="put the table into bench/README.md")
    r.add_argument("--merge", metavar="JSON", help="replace the re-measured rows of an earlier run's JSON "
                   "(and write the result there unless --out)")
    r.set_defaults(fn=cmd_run)

    h = sub.add_parser("harness", help="the conformance harness's own speed")
    h.add_argument("--jobs", default="1,2,4", help="xdist worker counts to time (default 1,2,4)")
    h.add_argument("--round-trips", type=int, default=100, help="trivial scenarios per pairing (default 100)")
    h.add_argument("--no-suite", action="store_true", help="only the agent round trip")
    h.add_argument("--out", help="JSON output (default bench/results/harness.json)")
    h.set_defaults(fn=lambda a: __import__("bench.harness", fromlist=["main"]).main(a))

    pr = sub.add_parser("profile", help="profile uvnet's server or client under load")
    pr.add_argument("--side", choices=["server", "client"], default="server")
    pr.add_argument("--workload", default="pingpong-10")
    pr.add_argument("--transport", default="tcp", choices=list(suite.TRANSPORTS))
    pr.add_argument("--duration", type=float, default=5.0)
    pr.add_argument("--tool", choices=["py-spy", "cprofile", "both"], default="both")
    pr.add_argument("--impl", default="uvnet", choices=["uvnet", "uvloop", "streams"])
    pr.add_argument("--top", type=int, default=25)
    pr.add_argument("--native", action="store_true", help="py-spy --native (C frames of uvloop/libc too)")
    pr.set_defaults(fn=lambda a: __import__("bench.profiling", fromlist=["main"]).main(a))

    mi = sub.add_parser("micro", help="per-message Python cost of uvnet vs a raw Protocol (no syscalls)")
    mi.add_argument("--reps", type=int, default=3)
    mi.add_argument("-n", type=int, default=20000)
    mi.set_defaults(fn=cmd_micro)

    rp = sub.add_parser("report", help="print the tables of a saved JSON")
    rp.add_argument("file")
    rp.add_argument("--update-readme", action="store_true")
    rp.set_defaults(fn=cmd_report)

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "harness", "profile", "micro", "report", "-h", "--help"):
        argv.insert(0, "run")
    args = p.parse_args(argv)
    try:
        return int(args.fn(args))
    except BenchError as exc:
        sys.stderr.write(f"bench: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
