"""Verdicts: run a scenario in a pairing, compare it with the reference, check the docs' claims.

Kept apart from running (runner.py) and from pytest (plugin.py) so that the CLI and the tests of the
harness itself use the same judgement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .agents import AgentPool
from .diff import compare, render, render_trace
from .expectations import Expectation
from .loader import Scenario
from .normalize import Trace, normalize, step_value
from .runner import REFERENCE, Pairing, RunResult, run_scenario

# Verdicts: pass | fail (behaviour differs) | doc (Node disagrees with its docs) | crash | error
# Under an expectation: known (listed and still failing) | unexpected-pass (listed but passing).


@dataclass
class Outcome:
    scenario: str
    pairing: str
    verdict: str
    text: str = ""
    seconds: float = 0.0
    findings: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict in ("pass", "known")


class ReferenceCache:
    """The reference (Node/Node) trace of each scenario, run once per process."""

    def __init__(self, pool: AgentPool) -> None:
        self.pool = pool
        self.results: dict[str, tuple[RunResult, Trace]] = {}

    def get(self, scenario: Scenario, reference: Pairing = REFERENCE) -> tuple[RunResult, Trace]:
        key = f"{scenario.id}@{reference.id}"
        if key not in self.results:
            result = run_scenario(scenario, reference, self.pool)
            self.results[key] = (result, normalize(result.records, scenario, result.tmp))
        return self.results[key]


def _run_problem(result: RunResult, trace: Trace) -> str | None:
    if result.status != "ok":
        return f"{result.status}: {result.detail}"
    for entry in trace["ending"]:
        if "interpreter error" in entry:
            return f"interpreter error: {entry['interpreter error']}"
    return None


def doc_findings(scenario: Scenario, trace: Trace) -> list[dict[str, Any]]:
    findings = []
    for index, claimed in sorted(scenario.docs.items()):
        got = step_value(trace, index)
        actual = got[1] if got is not None and got[0] == "returns" else got
        if actual != claimed:
            findings.append({"step": index, "docs": claimed, "node": actual})
    return findings


def check_reference(scenario: Scenario, cache: ReferenceCache, expected: Expectation | None) -> Outcome:
    """The reference pairing: Node must run the scenario cleanly, and agree with the docs' claims."""
    result, trace = cache.get(scenario)
    outcome = Outcome(scenario.id, REFERENCE.id, "pass", seconds=result.seconds)
    problem = _run_problem(result, trace)
    if problem:
        outcome.verdict = "crash" if result.status == "crash" else "error"
        outcome.text = f"the reference run failed: {problem}\n{render_trace(trace)}"
        return outcome
    if any("timeout at step" in e or "uncaught" in e for e in trace["ending"]):
        outcome.verdict = "error"
        outcome.text = "the reference run did not complete (a scenario that cannot pass):\n" + render_trace(
            trace
        )
        return outcome
    if result.leaked:
        outcome.verdict = "error"
        outcome.text = f"the reference run left socket files behind after cleanup: {result.leaked}"
        return outcome
    outcome.findings = doc_findings(scenario, trace)
    if outcome.findings:
        outcome.verdict = "doc"
        outcome.text = "Node 24 disagrees with the docs:\n" + "\n".join(
            f"  step {f['step']}: docs say {json.dumps(f['docs'])}, Node gives {json.dumps(f['node'])}"
            for f in outcome.findings
        )
    return _apply(outcome, expected)


def check_pairing(
    scenario: Scenario, pairing: Pairing, pool: AgentPool, cache: ReferenceCache, expected: Expectation | None
) -> Outcome:
    ref_result, ref_trace = cache.get(scenario)
    outcome = Outcome(scenario.id, pairing.id, "pass")
    problem = _run_problem(ref_result, ref_trace)
    if problem:
        outcome.verdict, outcome.text = "error", f"no usable reference run: {problem}"
        return outcome
    result = run_scenario(scenario, pairing, pool)
    outcome.seconds = result.seconds
    if result.status != "ok":
        outcome.verdict = "crash" if result.status == "crash" else "error"
        outcome.text = f"{result.status}: {result.detail}"
        return _apply(outcome, expected)
    trace = normalize(result.records, scenario, result.tmp)
    diffs = compare(ref_trace, trace)
    if result.leaked and not ref_result.leaked:
        outcome.verdict = "fail"
        outcome.text = (
            f"{scenario.id} [{pairing.id}] left socket files behind after every server closed "
            f"(Node left none): {result.leaked}"
        )
    elif diffs:
        outcome.verdict = "fail"
        outcome.text = f"{scenario.id} [{pairing.id}] differs from Node:\n" + render(
            diffs, "node-node (reference)", pairing.id
        )
    return _apply(outcome, expected)


def _apply(outcome: Outcome, expected: Expectation | None) -> Outcome:
    if expected is None:
        return outcome
    outcome.reason = expected.reason
    if outcome.verdict == "pass":
        outcome.verdict = "unexpected-pass"
        outcome.text = (
            f"{outcome.scenario} [{outcome.pairing}] is listed in conformance/expectations.yaml "
            f"({expected.kind}: {expected.reason}) but now passes: remove the entry."
        )
    elif outcome.verdict in ("fail", "doc", "crash"):
        outcome.text = f"known difference ({expected.reason})\n{outcome.text}"
        outcome.verdict = "known"
    return outcome
