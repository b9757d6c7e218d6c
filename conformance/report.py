"""Reports of a conformance run: a stable JSON of every outcome, and a matrix for people (Markdown, HTML).

- `results.json` is stable: the same run gives the same bytes (outcomes sorted by scenario and pairing,
  keys sorted, no times and no host paths), so two runs compare with `uvnet-conformance compare` (or
  `diff`). Schema: `{"version": 2, "run": {impl, reference, backend, repeat, mixed, filters, versions},
  "summary": {pairing: {verdict: n}}, "outcomes": [{scenario, area, pairing, verdict, spec, findings,
  reason, text}]}`; `text` is the failure (side-by-side diff) or the known difference, else empty.
- `timings.json`: what varies from run to run (wall time, workers, seconds per item).
- `matrix.md` and `matrix.html`: summary per pairing, the matrix scenario x pairing, the coverage of the
  seed document (every section, with the number of scenarios citing it; sections with none stand out),
  Node-versus-docs findings, every failure with its side-by-side diff, the known differences.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .loader import SCENARIO_ROOT, ScenarioError, load_scenario
from .sections import sections

RESULTS_VERSION = 2
SYMBOLS = {
    "pass": "pass",
    "known": "known",
    "fail": "**FAIL**",
    "doc": "**DOC**",
    "crash": "**CRASH**",
    "error": "**ERROR**",
    "flaky": "**FLAKY**",
    "unexpected-pass": "**UNEXPECTED PASS**",
}
GOOD = ("pass", "known")


def write_reports(
    directory: Path,
    outcomes: list[dict[str, Any]],
    run: dict[str, Any] | None = None,
    wall_seconds: float | None = None,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    run = dict(run or {})
    workers = run.pop("workers", None)
    ordered = sorted(outcomes, key=lambda o: (o["scenario"], o["pairing"]))
    stable = [{k: v for k, v in o.items() if k != "seconds"} for o in ordered]
    payload = {"version": RESULTS_VERSION, "run": run, "outcomes": stable, "summary": summary(stable)}
    (directory / "results.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", "utf-8")
    timings = {
        "wall_seconds": round(wall_seconds, 2) if wall_seconds is not None else None,
        "workers": workers,
        "items": {f"{o['scenario']} [{o['pairing']}]": o.get("seconds", 0.0) for o in ordered},
    }
    (directory / "timings.json").write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n", "utf-8")
    coverage = coverage_counts(stable)
    (directory / "matrix.md").write_text(matrix(stable, run, coverage), "utf-8")
    (directory / "matrix.html").write_text(matrix_html(stable, run, coverage), "utf-8")


def summary(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    by_pairing: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        by_pairing[o["pairing"]][o["verdict"]] += 1
    return {p: dict(sorted(c.items())) for p, c in sorted(by_pairing.items())}


def _pairings(outcomes: list[dict[str, Any]]) -> list[str]:
    return sorted({o["pairing"] for o in outcomes}, key=lambda p: (p != "node-node", p))


def coverage_counts(outcomes: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """(section, scenarios in the suite citing it, scenarios of this run citing it), in document order."""
    in_suite: Counter[str] = Counter()
    for path in sorted(SCENARIO_ROOT.rglob("*.yaml")):
        try:
            in_suite.update(set(load_scenario(path).spec))
        except ScenarioError:
            continue  # reported by the collection itself
    in_run: Counter[str] = Counter()
    seen: dict[str, list[str]] = {}
    for o in outcomes:
        seen[o["scenario"]] = o["spec"]
    for specs in seen.values():
        in_run.update(set(specs))
    return [(s, in_suite.get(s, 0), in_run.get(s, 0)) for s in sections()]


def _describe_run(run: dict[str, Any]) -> list[str]:
    if not run:
        return []
    versions = ", ".join(f"{k} {v}" for k, v in run.get("versions", {}).items())
    filters = {k: v for k, v in run.get("filters", {}).items() if v}
    return [
        f"Implementation under test: **{run.get('impl')}**; reference: {run.get('reference')} ({versions}); "
        f"backend: {run.get('backend')}; repeat: {run.get('repeat')}; mixed pairings: {run.get('mixed')}"
        + (f"; filters: `{json.dumps(filters, sort_keys=True)}`" if filters else ""),
        "",
    ]


def matrix(
    outcomes: list[dict[str, Any]],
    run: dict[str, Any] | None = None,
    coverage: list[tuple[str, int, int]] | None = None,
) -> str:
    pairings = _pairings(outcomes)
    cells: dict[str, dict[str, str]] = defaultdict(dict)
    for o in outcomes:
        cells[o["scenario"]][o["pairing"]] = o["verdict"]
    lines = ["# uvnet conformance matrix", "", *_describe_run(run or {}), "## Summary", ""]
    lines += ["| pairing | " + " | ".join(SYMBOLS) + " |", "|---" * (len(SYMBOLS) + 1) + "|"]
    for pairing, counts in summary(outcomes).items():
        lines.append(f"| {pairing} | " + " | ".join(str(counts.get(v, 0)) for v in SYMBOLS) + " |")
    lines += ["", "## Scenarios", "", "| scenario | " + " | ".join(pairings) + " |"]
    lines.append("|---" * (len(pairings) + 1) + "|")
    for scenario in sorted(cells):
        row = [SYMBOLS.get(cells[scenario].get(p, ""), cells[scenario].get(p, "")) for p in pairings]
        lines.append(f"| `{scenario}` | " + " | ".join(row) + " |")
    if coverage is None:
        coverage = coverage_counts(outcomes)
    uncovered = sum(1 for _, n, _ in coverage if n == 0)
    lines += [
        "",
        "## Coverage of the seed document",
        "",
        f"{len(coverage)} sections, {uncovered} with no scenario (in bold).",
        "",
        "| section | scenarios in the suite | in this run |",
        "|---|---|---|",
    ]
    for section, n, here in coverage:
        lines.append(f"| {'**' + section + '**' if n == 0 else section} | {n if n else '**0**'} | {here} |")
    findings = [o for o in outcomes if o["findings"]]
    if findings:
        lines += ["", "## Node versus its docs", ""]
        for o in findings:
            for f in o["findings"]:
                lines.append(
                    f"- `{o['scenario']}` step {f['step']}: docs say `{json.dumps(f['docs'])}`, "
                    f"Node gives `{json.dumps(f['node'])}`" + (f" ({o['reason']})" if o["reason"] else "")
                )
    failures = [o for o in outcomes if o["verdict"] not in GOOD]
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


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.v { text-align: center; white-space: nowrap; }
.pass { background: #e3f6e3; } .known { background: #fff4cc; }
.fail, .crash, .error, .doc, .flaky, .unexpected-pass { background: #ffd6d6; font-weight: bold; }
tr.none td { background: #ffd6d6; font-weight: bold; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 8px; overflow-x: auto; font-size: 12px; }
code { font-size: 12px; }
"""


def _anchor(o: dict[str, Any]) -> str:
    return "f-" + "".join(c if c.isalnum() else "-" for c in f"{o['scenario']}-{o['pairing']}")


def matrix_html(
    outcomes: list[dict[str, Any]],
    run: dict[str, Any] | None = None,
    coverage: list[tuple[str, int, int]] | None = None,
) -> str:
    esc = html.escape
    pairings = _pairings(outcomes)
    cells: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for o in outcomes:
        cells[o["scenario"]][o["pairing"]] = o
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>uvnet conformance matrix</title>",
        f"<style>{_CSS}</style></head><body><h1>uvnet conformance matrix</h1>",
    ]
    described = _describe_run(run or {})
    if described:
        out.append(f"<p>{esc(described[0]).replace('**', '')}</p>")
    out.append("<h2>Summary</h2><table><tr><th>pairing</th>")
    out += [f"<th>{esc(v)}</th>" for v in SYMBOLS]
    out.append("</tr>")
    for pairing, counts in summary(outcomes).items():
        tds = "".join(f"<td class='v {v if counts.get(v) else ''}'>{counts.get(v, 0)}</td>" for v in SYMBOLS)
        out.append(f"<tr><td>{esc(pairing)}</td>{tds}</tr>")
    out.append("</table><h2>Scenarios</h2><table><tr><th>scenario</th>")
    out += [f"<th>{esc(p)}</th>" for p in pairings]
    out.append("</tr>")
    for scenario in sorted(cells):
        row: list[str] = []
        for p in pairings:
            found = cells[scenario].get(p)
            if found is None:
                row.append("<td></td>")
                continue
            v = found["verdict"]
            label = f"<a href='#{_anchor(found)}'>{esc(v)}</a>" if v not in GOOD else esc(v)
            row.append(f"<td class='v {esc(v)}' title='{esc(found.get('reason') or '')}'>{label}</td>")
        out.append(f"<tr><td><code>{esc(scenario)}</code></td>{''.join(row)}</tr>")
    out.append("</table>")
    if coverage is None:
        coverage = coverage_counts(outcomes)
    uncovered = sum(1 for _, n, _ in coverage if n == 0)
    out.append(
        f"<h2>Coverage of the seed document</h2><p>{len(coverage)} sections, {uncovered} with no scenario "
        "(highlighted).</p><table><tr><th>section</th><th>scenarios in the suite</th>"
        "<th>in this run</th></tr>"
    )
    for section, n, here in coverage:
        cls = " class='none'" if n == 0 else ""
        out.append(f"<tr{cls}><td><code>{esc(section)}</code></td><td>{n}</td><td>{here}</td></tr>")
    out.append("</table>")
    findings = [o for o in outcomes if o["findings"]]
    if findings:
        out.append("<h2>Node versus its docs</h2><ul>")
        for o in findings:
            for f in o["findings"]:
                out.append(
                    f"<li><code>{esc(o['scenario'])}</code> step {f['step']}: docs say "
                    f"<code>{esc(json.dumps(f['docs']))}</code>, Node gives "
                    f"<code>{esc(json.dumps(f['node']))}</code> {esc(o['reason'])}</li>"
                )
        out.append("</ul>")
    failures = [o for o in outcomes if o["verdict"] not in GOOD]
    if failures:
        out.append("<h2>Failures</h2>")
        for o in failures:
            out.append(
                f"<h3 id='{_anchor(o)}'><code>{esc(o['scenario'])}</code> [{esc(o['pairing'])}]: "
                f"{esc(o['verdict'])}</h3><pre>{esc(o['text'])}</pre>"
            )
    known = [o for o in outcomes if o["verdict"] == "known"]
    if known:
        out.append("<h2>Known differences (conformance/expectations.yaml)</h2><ul>")
        out += [
            f"<li><code>{esc(o['scenario'])}</code> [{esc(o['pairing'])}]: {esc(o['reason'])}</li>"
            for o in known
        ]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
