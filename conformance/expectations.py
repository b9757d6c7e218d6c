"""The checked-in list of known differences (conformance/expectations.yaml), each with its reason.

An entry names a scenario, the pairings it concerns (default: every implementation pairing) and its kind:
`differs` (uvnet behaves differently from Node), or `doc` (Node disagrees with its own docs: a finding about
the docs, checked in the reference pairing). A listed scenario that starts passing fails the run as an
unexpected pass, so the list cannot rot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EXPECTATIONS = Path(__file__).parent / "expectations.yaml"
KINDS = frozenset({"differs", "doc"})


@dataclass(frozen=True)
class Expectation:
    id: str
    kind: str
    reason: str
    pairings: tuple[str, ...] | None  # None: every pairing of that kind

    def covers(self, pairing: str) -> bool:
        return self.pairings is None or pairing in self.pairings


def load(path: Path = EXPECTATIONS) -> dict[tuple[str, str], Expectation]:
    if not path.exists():
        return {}
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: a list of entries is expected")
    found: dict[tuple[str, str], Expectation] = {}
    for entry in data:
        if not isinstance(entry, dict) or not {"id", "reason"} <= set(entry):
            raise ValueError(f"{path}: each entry needs `id` and `reason`: {entry!r}")
        kind = entry.get("kind", "differs")
        if kind not in KINDS:
            raise ValueError(f"{path}: unknown kind {kind!r} in {entry['id']}")
        reason = str(entry["reason"]).strip()
        if not reason:
            raise ValueError(f"{path}: {entry['id']} has an empty reason")
        pairings = entry.get("pairings")
        exp = Expectation(entry["id"], kind, reason, tuple(pairings) if pairings else None)
        key = (exp.id, kind)
        if key in found:
            raise ValueError(f"{path}: {exp.id} ({kind}) is listed twice")
        found[key] = exp
    return found
