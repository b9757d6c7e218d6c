"""Reports of a conformance run: a stable JSON of every outcome and a Markdown matrix for people."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .sections import sections

SYMBOLS = {
    "pass": "pass",
    "known": "known",
    "fail": "**FAIL**",
    "doc": "**DOC**",
    "crash": "**CRASH**",
    "error": "**ERROR**",
    "unexpected-pass": "**UNEXPECTED PASS**",
}


def write_reports(directory: Path, outcomes: list[dict[str, Any]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    ordered = sorted(outcomes, key=lambda o: (o["scenario"], o["pairing"]))
    payload = {"version": 1, "outcomes": ordered, "summary": summary(ordered)}
    (directory / "results.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", "utf-8")
    (directory / "matrix.md").write_text(matrix(ordered), "utf-8")


def summary(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    by_pairing: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        by_pairing[o["pairing"]][o["verdict"]] += 1
    return {p: dict(sorted(c.items())) for p, c in sorted(by_pairing.items())}


def matrix(outcomes: list[dict[str, Any]]) -> str:
    pairings = sorted({o["pairing"] for o in outcomes}, key=lambda p: (p != "node-node", p))
    cells: dict[str, dict[str, str]] = defaultdict(dict)
    specs: dict[str, list[str]] = {}
    for o in outcomes:
        cells[o["scenario"]][o["pairing"]] = o["verdict"]
        specs[o["scenario"]] = o["spec"]
    lines = ["# uvnet conformance matrix", "", "## Summary", "", "| pairing | " + " | ".join(SYMBOLS) + " |"]
    lines.append("|---" * (len(SYMBOLS) + 1) + "|")
    for pairing, counts in summary(outcomes).items():
        lines.append(f"| {pairing} | " + " | ".join(str(counts.get(v, 0)) for v in SYMBOLS) + " |")
    lines += ["", "## Scenarios", "", "| scenario | " + " | ".join(pairings) + " |"]
    lines.append("|---" * (len(pairings) + 1) + "|")
    for scenario in sorted(cells):
        row = [SYMBOLS.get(cells[scenario].get(p, ""), "") for p in pairings]
        lines.append(f"| `{scenario}` | " + " | ".join(row) + " |")
    lines += ["", "## Coverage of the seed document", "", "| section | scenarios |", "|---|---|"]
    count: Counter[str] = Counter()
    for scenario_specs in specs.values():
        count.update(set(scenario_specs))
    for section in sections():
        n = count.get(section, 0)
        lines.append(f"| {section} | {n if n else '**0**'} |")
    findings = [o for o in outcomes if o["findings"]]
    if findings:
        lines += ["", "## Node versus its docs", ""]
        for o in findings:
            for f in o["findings"]:
                lines.append(
                    f"- `{o['scenario']}` step {f['step']}: docs say `{json.dumps(f['docs'])}`, "
                    f"Node 24 gives `{json.dumps(f['node'])}`" + (f" ({o['reason']})" if o["reason"] else "")
                )
    failures = [o for o in outcomes if o["verdict"] not in ("pass", "known")]
    if failures:
        lines += ["", "## Failures", ""]
        for o in failures:
            lines += [
                f"### `{o['scenario']}` [{o['pairing']}]: {o['verdict']}",
                "",
                "```",
                o["text"],
                "```",
                "",
            ]
    known = [o for o in outcomes if o["verdict"] == "known"]
    if known:
        lines += ["", "## Known differences (conformance/expectations.yaml)", ""]
        lines += [f"- `{o['scenario']}` [{o['pairing']}]: {o['reason']}" for o in known]
    return "\n".join(lines) + "\n"
