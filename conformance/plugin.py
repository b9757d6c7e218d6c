"""The pytest plugin: every scenario file becomes one test item per pairing.

Items: `<file>::node-node` (the reference: Node runs it cleanly and agrees with the docs' claims) and, for
the implementation under test (`--impl`, default uvnet), `::uvnet-uvnet` plus the mixed pairings
`::uvnet-node` and `::node-uvnet` for scenarios with two sides. `--impl` may also be an optional
JavaScript runtime (node26, bun, deno: the runtime matrix, docs/runtime-matrix.md).

Each xdist worker owns its agents. With `--backend docker` the controller brings the container up once
(conformance/backends.py) and tells the workers its name; each worker starts its own agent in it.
Select by id with `-k`, by area with `--area tcp` (or `tcp/connect`), by doc section with `--section TEXT`
(substring of a `spec:` entry). `--repeat N` runs every item N times and fails any whose result is not the
same every time (verdict, and for the reference its normalised trace): a flaky scenario is a defect.
Reports: `--conformance-report DIR` writes `results.json`, `timings.json`, `matrix.md` and `matrix.html`
there (on the controller; see report.py).

Speed: before an item runs, the worker tells its pool which runs of the item's scenario its items still
need (`runner.plan`): the reference and every selected pairing, `--repeat` times. The first item makes
one run of each at once (`runner.run_together`), the others take theirs. With xdist's default `--dist load`
the plugin's scheduler keeps the items of one scenario file on one worker (a load-balanced work unit per
file; any other test is a unit of its own), so the reference runs once and the rounds are complete.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import backends, runtimes
from . import expectations as exp_mod
from .agents import RUNTIMES, AgentPool, check_node_version, node_binary
from .check import Outcome, ReferenceCache, check_pairing, check_reference
from .diff import compare, render
from .loader import SCENARIO_ROOT, Scenario, ScenarioError, load_scenario
from .report import write_reports
from .runner import REFERENCE, Pairing, pairings_for, plan

# Implementations whose differences conformance/expectations.yaml (kind: differs) describes.
UVNET_IMPLS = ("uvnet", "uvnet-asyncio")
IMPLS = (*UVNET_IMPLS, *runtimes.RUNTIMES)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("uvnet-conformance")
    group.addoption(
        "--impl",
        default="uvnet",
        choices=IMPLS,
        help="implementation under test: uvnet (default), uvnet-asyncio, or a runtime of the runtime "
        "matrix: node26, bun, deno (installed on demand into node_fixtures/runtimes/)",
    )
    group.addoption(
        "--reference",
        default="node",
        help="the reference: node (the pinned Node 24, or $UVNET_NODE), node26, or a path to a Node >= 24",
    )
    group.addoption(
        "--backend",
        default=None,
        choices=backends.BACKENDS,
        help="where the Node agent runs: local (default, or $UVNET_BACKEND) or docker (docker-compose.yml)",
    )
    group.addoption(
        "--keep-container",
        action="store_true",
        help="docker backend: leave the container up for the next run",
    )
    group.addoption(
        "--area", action="append", default=[], help="only scenarios of this area (tcp, tcp/connect)"
    )
    group.addoption("--section", action="append", default=[], help="only scenarios citing this doc section")
    group.addoption("--no-mixed", action="store_true", help="skip the mixed pairings")
    group.addoption(
        "--repeat", type=int, default=1, help="run each item N times; fail any whose result varies (flaky)"
    )
    group.addoption(
        "--conformance-report", default=None, help="directory for results.json, matrix.md and matrix.html"
    )


class _State:
    def __init__(self) -> None:
        self.pool: AgentPool | None = None
        self.cache: ReferenceCache | None = None
        self.expectations: dict[tuple[str, str], exp_mod.Expectation] | None = None
        self.outcomes: list[dict[str, Any]] = []
        self.service: backends.DockerService | None = None
        self.apply_differs = True
        self.started = time.monotonic()
        # Scenario file node id -> its selected items (in order), and the node ids of items already run.
        self.siblings: dict[str, list[ScenarioItem]] | None = None
        self.ran: set[str] = set()

    def get_pool(self) -> tuple[AgentPool, ReferenceCache]:
        if self.pool is None:
            self.pool = AgentPool()
            self.cache = ReferenceCache(self.pool)
        assert self.cache is not None
        return self.pool, self.cache

    def expectation(self, scenario_id: str, kind: str, pairing: str) -> exp_mod.Expectation | None:
        if kind == "differs" and not self.apply_differs:
            return None
        if self.expectations is None:
            self.expectations = exp_mod.load()
        found = self.expectations.get((scenario_id, kind))
        return found if found is not None and found.covers(pairing) else None


_state = _State()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class _XdistHooks:
    """Hands the controller's backend (the running container) to every worker it starts, and keeps the
    items of one scenario file on one worker."""

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["uvnet_backend"] = backends.current().to_json()

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        # Only in place of the default `load`; an explicit other --dist is the user's choice.
        if config.getvalue("dist") != "load":
            return None
        from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

        class ScenarioScheduling(LoadScopeScheduling):  # type: ignore[misc]
            """`load`, with a scenario file's items (its pairings) as one work unit."""

            def _split_scope(self, nodeid: str) -> str:
                path = nodeid.split("::", 1)[0]
                return path if path.endswith(".yaml") else nodeid

        return ScenarioScheduling(config, log)


def _set_reference(config: pytest.Config) -> None:
    reference = str(config.getoption("--reference"))
    if reference == "node":
        return
    if reference in runtimes.RUNTIMES:
        rt = runtimes.get(reference)
        path = rt.ensure() if not _is_worker(config) else rt.path
    else:
        path = Path(reference).resolve()
    # The reference is always a Node >= 24: check_node_version refuses anything else (Bun, Deno, Node 20).
    check_node_version(path)
    os.environ["UVNET_NODE"] = str(path)


def pytest_configure(config: pytest.Config) -> None:
    impl = str(config.getoption("--impl"))
    _state.apply_differs = impl in UVNET_IMPLS
    _state.started = time.monotonic()
    if impl not in RUNTIMES or impl == "node":
        raise pytest.UsageError(f"--impl {impl}: not an implementation under test")
    if config.getoption("--repeat") < 1:
        raise pytest.UsageError("--repeat must be at least 1")
    try:
        name = backends.requested(config.getoption("--backend"))
    except backends.BackendError as exc:
        raise pytest.UsageError(str(exc)) from None
    if name == "docker" and config.getoption("--reference") != "node":
        raise pytest.UsageError(
            "--backend docker runs the container's Node 24 as the reference: no --reference"
        )
    _set_reference(config)
    if _is_worker(config):
        given = config.workerinput.get("uvnet_backend")  # type: ignore[attr-defined]
        if given:
            backends.configure(backends.Backend.from_json(given))
        if backends.current().name != name and not config.option.collectonly:  # never silently local
            raise pytest.UsageError(f"worker: the controller did not hand over the {name} backend")
        return
    if impl in runtimes.RUNTIMES and not config.option.collectonly:
        runtimes.get(impl).ensure()  # once, on the controller, before any worker needs it
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "uvnet-xdist-hooks")
    if name == "docker" and not config.option.collectonly:
        service = backends.DockerService(keep=bool(config.getoption("--keep-container")))
        try:
            backends.configure(service.up())
        except backends.BackendError as exc:
            raise pytest.UsageError(f"--backend docker: {exc}") from None
        _state.service = service


def pytest_unconfigure(config: pytest.Config) -> None:
    if _state.service is not None:
        _state.service.down()
        _state.service = None
        backends.configure(backends.Backend())


def _ipv6_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and SCENARIO_ROOT in file_path.parents:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def in_areas(scenario_id: str, areas: list[str]) -> bool:
    return not areas or any(scenario_id.startswith(a.strip("/") + "/") for a in areas)


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        if not in_areas(scenario.id, self.config.getoption("--area")):
            return
        sections = self.config.getoption("--section")
        if sections and not any(want in s for want in sections for s in scenario.spec):
            return
        impl = self.config.getoption("--impl")
        pairings = [REFERENCE, *pairings_for(scenario, impl)]
        if self.config.getoption("--no-mixed"):
            pairings = [p for p in pairings if p.single]
        repeat = int(self.config.getoption("--repeat"))
        for pairing in pairings:
            item = ScenarioItem.from_parent(self, name=pairing.id, scenario=scenario, pairing=pairing)
            item.add_marker(pytest.mark.timeout((scenario.timeout / 1000 * 3 + 30) * repeat))
            yield item


class ScenarioFailure(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, pairing: Pairing, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.pairing = pairing
        self.outcome: Outcome | None = None

    def _once(self, pool: AgentPool, cache: ReferenceCache) -> tuple[Outcome, str]:
        """One run: its outcome, and the signature that must not vary between repeated runs."""
        if self.pairing == REFERENCE:
            expected = _state.expectation(self.scenario.id, "doc", self.pairing.id)
            outcome = check_reference(self.scenario, cache, expected)
            _, trace = cache.get(self.scenario)
            return outcome, json.dumps([outcome.verdict, trace], sort_keys=True)
        expected = _state.expectation(self.scenario.id, "differs", self.pairing.id)
        outcome = check_pairing(self.scenario, self.pairing, pool, cache, expected)
        detail = outcome.text if outcome.verdict == "fail" else ""
        return outcome, json.dumps([outcome.verdict, detail])

    def wanted_runs(self, cache: ReferenceCache) -> dict[Pairing, int]:
        """The runs this scenario's items not yet run here will ask of the pool (see `runner.plan`): each
        selected pairing `--repeat` times; the reference once for the cache the pairings share, plus
        once per further run of the `node-node` item (a repeat runs the reference afresh)."""
        if _state.siblings is None:
            _state.siblings = {}
            for item in self.session.items:
                if isinstance(item, ScenarioItem):
                    _state.siblings.setdefault(item.parent.nodeid if item.parent else "", []).append(item)
        repeat = int(self.config.getoption("--repeat"))
        siblings = _state.siblings.get(self.parent.nodeid if self.parent else "", [self])
        todo = [item.pairing for item in siblings if item.nodeid not in _state.ran]
        wanted = {p: repeat for p in todo if p != REFERENCE}
        reference = 0 if f"{self.scenario.id}@{REFERENCE.id}" in cache.results else 1
        if REFERENCE in todo:
            reference += repeat - 1
        return {REFERENCE: reference, **wanted}

    def runtest(self) -> None:
        if "ipv6" in self.scenario.requires and not _ipv6_works():
            pytest.skip("requires ::1, which this machine lacks")
        pool, cache = _state.get_pool()
        repeat = int(self.config.getoption("--repeat"))
        plan(pool, self.scenario, self.wanted_runs(cache))
        _state.ran.add(self.nodeid)
        outcome, first = self._once(pool, cache)
        if repeat > 1:
            outcome = self._repeat(pool, cache, outcome, first, repeat)
        self.outcome = outcome
        self.user_properties.append(("conformance", json.dumps(_as_record(self.scenario, outcome))))
        if outcome.verdict == "known":
            pytest.xfail(outcome.reason)
        if not outcome.ok:
            raise ScenarioFailure(outcome.text)

    def _repeat(
        self, pool: AgentPool, cache: ReferenceCache, outcome: Outcome, first: str, repeat: int
    ) -> Outcome:
        """Runs 2..N: the reference afresh each time, a pairing against the first reference run."""
        runs: list[tuple[Outcome, str]] = [(outcome, first)]
        caches = [cache]
        for _ in range(repeat - 1):
            own = ReferenceCache(pool) if self.pairing == REFERENCE else cache
            runs.append(self._once(pool, own))
            caches.append(own)

        def trace_diff(odd: int) -> str:
            _, t0 = caches[0].get(self.scenario)
            _, ti = caches[odd].get(self.scenario)
            return render(compare(t0, ti), "run 1", f"run {odd + 1}") or "(same trace, another verdict)"

        return judge_repeats(runs, trace_diff if self.pairing == REFERENCE else None)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.scenario.id} [{self.pairing.id}]"


def judge_repeats(runs: list[tuple[Outcome, str]], trace_diff: Callable[[int], str] | None = None) -> Outcome:
    """One outcome for N runs of an item: the first one if every run gave the same signature, else `flaky`
    with the verdicts of all runs and what differed between the first run and the first odd one."""
    first_outcome, first = runs[0]
    seconds = sum(o.seconds for o, _ in runs)
    if all(sig == first for _, sig in runs):
        first_outcome.seconds = seconds
        return first_outcome
    name = f"{first_outcome.scenario} [{first_outcome.pairing}]"
    lines = [f"{name} is flaky: {len(runs)} runs gave {', '.join(o.verdict for o, _ in runs)}"]
    odd = next(i for i, (_, sig) in enumerate(runs) if sig != first)
    if trace_diff is not None:
        lines.append(trace_diff(odd))
    for i in (0, odd):
        if runs[i][0].text:
            lines += [f"-- run {i + 1}: {runs[i][0].verdict}", runs[i][0].text]
    return Outcome(
        first_outcome.scenario, first_outcome.pairing, "flaky", text="\n".join(lines), seconds=seconds
    )


def _as_record(scenario: Scenario, outcome: Outcome) -> dict[str, Any]:
    return {
        "scenario": scenario.id,
        "area": scenario.area,
        "pairing": outcome.pairing,
        "verdict": outcome.verdict,
        "spec": scenario.spec,
        "seconds": round(outcome.seconds, 4),
        "findings": outcome.findings,
        "reason": outcome.reason,
        "text": outcome.text if not outcome.ok or outcome.verdict == "known" else "",
    }


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == "conformance":
            _state.outcomes.append(json.loads(str(value)))


def run_info(config: pytest.Config) -> dict[str, Any]:
    """What was run, for results.json: the same for two runs of the same set-up (no times, no paths)."""
    impl = str(config.getoption("--impl"))
    backend = backends.current()
    if backend.name == "docker":
        node_version = backend.node_version
    else:
        try:
            node_version = check_node_version(node_binary())
        except Exception as exc:
            node_version = f"unavailable: {exc}"
    versions = {"node (reference)": node_version}
    if impl in runtimes.RUNTIMES:
        versions[impl] = runtimes.version(impl)
    return {
        "impl": impl,
        "reference": str(config.getoption("--reference")),
        "backend": backend.name,
        "repeat": int(config.getoption("--repeat")),
        "mixed": not config.getoption("--no-mixed"),
        "filters": {
            "area": list(config.getoption("--area")),
            "section": list(config.getoption("--section")),
            "k": config.getoption("keyword") or "",
        },
        "versions": versions,
    }


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _state.pool is not None:
        _state.pool.close()
        _state.pool = None
    target = session.config.getoption("--conformance-report")
    if target and not _is_worker(session.config) and _state.outcomes:
        info = run_info(session.config)
        info["workers"] = getattr(session.config.option, "numprocesses", None) or 0
        write_reports(Path(target), _state.outcomes, info, wall_seconds=time.monotonic() - _state.started)
