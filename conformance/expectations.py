"""The checked-in list of known differences (conformance/expectations.yaml), each with its reason.

The file has two lists. `scenarios:` entries name a scenario, the pairings it concerns (default: every
implementation pairing) and its kind: `differs` (uvnet behaves differently from Node), or `doc` (Node
disagrees with its own docs: a finding about the docs, checked in the reference pairing). A listed scenario
that starts passing fails the run as an unexpected pass, so the list cannot rot.

`divergences:` entries name each deliberate difference tagged `DIVERGENCE(name)` in impl/, with its reason;
a test checks that tags and entries match one to one.
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


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - {"scenarios", "divergences"}:
        raise ValueError(f"{path}: a mapping with the lists `scenarios` and `divergences` is expected")
    return data


def divergences(path: Path = EXPECTATIONS) -> dict[str, str]:
    """name -> reason of every documented DIVERGENCE."""
    found: dict[str, str] = {}
    for entry in _read(path).get("divergences") or []:
        if not isinstance(entry, dict) or not entry.get("name") or not str(entry.get("reason", "")).strip():
            raise ValueError(f"{path}: each divergence needs `name` and `reason`: {entry!r}")
        if entry["name"] in found:
            raise ValueError(f"{path}: divergence {entry['name']} is listed twice")
        found[entry["name"]] = str(entry["reason"]).strip()
    return found


def load(path: Path = EXPECTATIONS) -> dict[tuple[str, str], Expectation]:
    data = _read(path).get("scenarios") or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: `scenarios` is a list of entries")
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
