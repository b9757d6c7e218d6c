"""Comparing two runs' results.json: what started or stopped passing, and what else changed.

`uvnet-conformance compare old.json new.json` prints the changes and exits 1 when something stopped
passing (a regression), else 0. Outcomes are matched by (scenario, pairing); "passing" means the verdict
is `pass` or `known` (a listed, still-differing scenario does not fail a run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASSING = frozenset({"pass", "known"})

Key = tuple[str, str]


@dataclass
class Comparison:
    started_passing: list[tuple[Key, str, str]] = field(default_factory=list)
    stopped_passing: list[tuple[Key, str, str]] = field(default_factory=list)
    changed: list[tuple[Key, str, str]] = field(default_factory=list)  # other verdict changes
    added: list[tuple[Key, str]] = field(default_factory=list)
    removed: list[tuple[Key, str]] = field(default_factory=list)
    unchanged: int = 0
    run_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def regressed(self) -> bool:
        return bool(self.stopped_passing)


def load_results(path: Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("outcomes"), list):
        raise ValueError(f"{path}: not a results.json of uvnet-conformance")
    return data


def _verdicts(data: dict[str, Any]) -> dict[Key, str]:
    return {(o["scenario"], o["pairing"]): o["verdict"] for o in data["outcomes"]}


def compare_results(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    a, b = _verdicts(old), _verdicts(new)
    result = Comparison()
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            result.removed.append((key, a[key]))
        elif key not in a:
            result.added.append((key, b[key]))
        elif a[key] == b[key]:
            result.unchanged += 1
        elif a[key] not in PASSING and b[key] in PASSING:
            result.started_passing.append((key, a[key], b[key]))
        elif a[key] in PASSING and b[key] not in PASSING:
            result.stopped_passing.append((key, a[key], b[key]))
        else:
            result.changed.append((key, a[key], b[key]))
    old_run, new_run = old.get("run") or {}, new.get("run") or {}
    for name in sorted(old_run.keys() | new_run.keys()):
        if old_run.get(name) != new_run.get(name):
            result.run_changes[name] = (old_run.get(name), new_run.get(name))
    return result


def render(c: Comparison) -> str:
    def key(k: Key) -> str:
        return f"{k[0]} [{k[1]}]"

    lines: list[str] = []
    for name, (was, now) in c.run_changes.items():
        lines.append(
            f"note: run {name} differs: "
            f"{json.dumps(was, sort_keys=True)} -> {json.dumps(now, sort_keys=True)}"
        )
    sections: list[tuple[str, list[str]]] = [
        ("stopped passing", [f"{key(k)}: {was} -> {now}" for k, was, now in c.stopped_passing]),
        ("started passing", [f"{key(k)}: {was} -> {now}" for k, was, now in c.started_passing]),
        ("other changes", [f"{key(k)}: {was} -> {now}" for k, was, now in c.changed]),
        ("new", [f"{key(k)}: {v}" for k, v in c.added]),
        ("gone", [f"{key(k)}: {v}" for k, v in c.removed]),
    ]
    for title, entries in sections:
        if entries:
            lines.append(f"{title} ({len(entries)}):")
            lines += [f"  {e}" for e in entries]
    lines.append(
        f"{len(c.stopped_passing)} stopped passing, {len(c.started_passing)} started passing, "
        f"{len(c.changed)} other changes, {len(c.added)} new, {len(c.removed)} gone, {c.unchanged} unchanged"
    )
    return "\n".join(lines)


def main(old: Path, new: Path) -> int:
    comparison = compare_results(load_results(old), load_results(new))
    print(render(comparison))
    return 1 if comparison.regressed else 0
