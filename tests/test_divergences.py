"""Every deliberate difference from Node is tagged in the code and explained in expectations.yaml."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.expectations import divergences, load

IMPL = Path(__file__).resolve().parent.parent / "impl" / "uvnet"
TAG = re.compile(r"DIVERGENCE\(([\w-]+)\)")


def tags_in_code() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(IMPL.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in TAG.findall(line):
                found.setdefault(name, []).append(f"{path.name}:{n}")
    return found


def test_every_tag_has_an_entry() -> None:
    documented = divergences()
    missing = {name: where for name, where in tags_in_code().items() if name not in documented}
    assert not missing, f"DIVERGENCE tags without an entry in conformance/expectations.yaml: {missing}"


def test_every_entry_has_a_tag() -> None:
    stale = set(divergences()) - set(tags_in_code())
    assert not stale, f"divergences listed in expectations.yaml that no code carries any more: {stale}"


def test_expectations_file_loads_and_names_real_scenarios() -> None:
    scenarios = Path(__file__).resolve().parent.parent / "conformance" / "scenarios"
    for scenario_id, _kind in load():
        assert (scenarios / f"{scenario_id}.yaml").exists(), f"expectations.yaml names unknown {scenario_id}"
