"""Comparing two normalised traces, and showing the difference side by side."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .normalize import Trace

WIDTH = 60


@dataclass
class StreamDiff:
    key: str
    expected: list[Any]
    actual: list[Any]

    @property
    def first_difference(self) -> int:
        for i, (a, b) in enumerate(zip(self.expected, self.actual, strict=False)):
            if a != b:
                return i
        return min(len(self.expected), len(self.actual))


def compare(expected: Trace, actual: Trace) -> list[StreamDiff]:
    """Every stream (object, callback, steps, order group, ending) that differs."""
    diffs: list[StreamDiff] = []
    for key in sorted(set(expected) | set(actual), key=_stream_order):
        if key.startswith("order ") and (key not in expected or key not in actual):
            continue  # an order group is only comparable when one process ran all its objects
        a, b = expected.get(key), actual.get(key)
        if a != b:
            diffs.append(StreamDiff(key, a or [], b or []))
    return diffs


def _stream_order(key: str) -> tuple[int, str]:
    rank = {"steps": 0, "ending": 9}.get(key.split(" ", 1)[0], 5)
    return rank, key


def _show(entry: Any) -> str:
    if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], int):
        return f"step {entry[0]} {entry[1]} {json.dumps(entry[2], ensure_ascii=False, sort_keys=True)}"
    if isinstance(entry, dict) and "ev" in entry:
        during = f" (during step {entry['during']})" if entry.get("during") is not None else ""
        args = json.dumps(entry["args"], ensure_ascii=False, sort_keys=True)[1:-1]
        return f"{entry['ev']}({args}){during}"
    return json.dumps(entry, ensure_ascii=False, sort_keys=True)


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def render(diffs: list[StreamDiff], left: str = "reference", right: str = "implementation") -> str:
    """A side-by-side view of each differing stream, the first difference marked with `>>`."""
    lines: list[str] = []
    for d in diffs:
        first = d.first_difference
        lines.append(f"== {d.key}: first difference at entry {first}")
        lines.append(f"   {left:<{WIDTH}} | {right}")
        for i in range(max(len(d.expected), len(d.actual))):
            a = _show(d.expected[i]) if i < len(d.expected) else "(nothing)"
            b = _show(d.actual[i]) if i < len(d.actual) else "(nothing)"
            mark = ">>" if i == first else ("  " if a == b else " *")
            wa, wb = _wrap(a, WIDTH), _wrap(b, WIDTH)
            for j in range(max(len(wa), len(wb))):
                ca = wa[j] if j < len(wa) else ""
                cb = wb[j] if j < len(wb) else ""
                lines.append(f"{mark if j == 0 else '  '} {ca:<{WIDTH}} | {cb}")
    return "\n".join(lines)


def render_trace(trace: Trace) -> str:
    lines: list[str] = []
    for key in sorted(trace, key=_stream_order):
        lines.append(f"== {key}")
        lines.extend(f"   {_show(entry)}" for entry in trace[key])
    return "\n".join(lines)
