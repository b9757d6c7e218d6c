"""The pytest plugin: every scenario file becomes one test item per pairing.

Items: `<file>::node-node` (the reference: Node runs it cleanly and agrees with the docs' claims) and, for
the implementation under test (`--impl`, default uvnet), `::uvnet-uvnet` plus the mixed pairings
`::uvnet-node` and `::node-uvnet` for scenarios with two sides. Each xdist worker owns its agents.
Select by id with `-k`, by doc section with `--section TEXT` (substring of a `spec:` entry).
Reports: `--conformance-report DIR` writes `results.json` and `matrix.md` there (on the controller).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import expectations as exp_mod
from .agents import AgentPool
from .check import Outcome, ReferenceCache, check_pairing, check_reference
from .loader import SCENARIO_ROOT, Scenario, ScenarioError, load_scenario
from .report import write_reports
from .runner import REFERENCE, Pairing, pairings_for


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("uvnet-conformance")
    group.addoption(
        "--impl", default="uvnet", help="implementation under test: uvnet (default), uvnet-asyncio"
    )
    group.addoption("--section", action="append", default=[], help="only scenarios citing this doc section")
    group.addoption("--no-mixed", action="store_true", help="skip the mixed pairings")
    group.addoption("--conformance-report", default=None, help="directory for results.json and matrix.md")


class _State:
    def __init__(self) -> None:
        self.pool: AgentPool | None = None
        self.cache: ReferenceCache | None = None
        self.expectations: dict[tuple[str, str], exp_mod.Expectation] | None = None
        self.outcomes: list[dict[str, Any]] = []

    def get_pool(self) -> tuple[AgentPool, ReferenceCache]:
        if self.pool is None:
            self.pool = AgentPool()
            self.cache = ReferenceCache(self.pool)
        assert self.cache is not None
        return self.pool, self.cache

    def expectation(self, scenario_id: str, kind: str, pairing: str) -> exp_mod.Expectation | None:
        if self.expectations is None:
            self.expectations = exp_mod.load()
        found = self.expectations.get((scenario_id, kind))
        return found if found is not None and found.covers(pairing) else None


_state = _State()


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


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        sections = self.config.getoption("--section")
        if sections and not any(want in s for want in sections for s in scenario.spec):
            return
        impl = self.config.getoption("--impl")
        pairings = [REFERENCE, *pairings_for(scenario, impl)]
        if self.config.getoption("--no-mixed"):
            pairings = [p for p in pairings if p.single]
        for pairing in pairings:
            item = ScenarioItem.from_parent(self, name=pairing.id, scenario=scenario, pairing=pairing)
            item.add_marker(pytest.mark.timeout(scenario.timeout / 1000 * 3 + 30))
            yield item


class ScenarioFailure(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, pairing: Pairing, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.pairing = pairing
        self.outcome: Outcome | None = None

    def runtest(self) -> None:
        if "ipv6" in self.scenario.requires and not _ipv6_works():
            pytest.skip("requires ::1, which this machine lacks")
        pool, cache = _state.get_pool()
        if self.pairing == REFERENCE:
            expected = _state.expectation(self.scenario.id, "doc", self.pairing.id)
            outcome = check_reference(self.scenario, cache, expected)
        else:
            expected = _state.expectation(self.scenario.id, "differs", self.pairing.id)
            outcome = check_pairing(self.scenario, self.pairing, pool, cache, expected)
        self.outcome = outcome
        self.user_properties.append(("conformance", json.dumps(_as_record(self.scenario, outcome))))
        if outcome.verdict == "known":
            pytest.xfail(outcome.reason)
        if not outcome.ok:
            raise ScenarioFailure(outcome.text)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.scenario.id} [{self.pairing.id}]"


def _as_record(scenario: Scenario, outcome: Outcome) -> dict[str, Any]:
    return {
        "scenario": scenario.id,
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
            _state.outcomes.append(json.loads(value))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _state.pool is not None:
        _state.pool.close()
        _state.pool = None
    target = session.config.getoption("--conformance-report")
    if target and not hasattr(session.config, "workerinput") and _state.outcomes:
        write_reports(Path(target), _state.outcomes)
