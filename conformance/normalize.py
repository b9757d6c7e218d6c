"""Normalising raw traces so that two runs can be compared honestly, and nothing more.

What is removed is only what differs between any two correct runs: the numbers of ephemeral ports, the
path of the scenario's temporary folder, the way a byte stream was cut into `'data'` chunks, and the
interleaving of objects whose relative order nothing guarantees. What stays is compared exactly: each
object's events in order with their arguments, whether an event fired during a step (synchronously) or
later, every step's return value or thrown error, every recording callback's calls.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from .loader import Scenario

PORT_KEYS = frozenset({"port", "localPort", "remotePort"})


def _ephemeral_range() -> range:
    """The kernel hands out ports for port 0 from this range; numbers outside it are not ephemeral."""
    try:
        low, high = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


EPHEMERAL = _ephemeral_range()
BIG = 256

Trace = dict[str, list[Any]]


def _expr_reads_port(expr: list[Any]) -> bool:
    return bool(expr) and expr[0] == "get" and expr[2] in PORT_KEYS


def collect_ports(records: list[dict[str, Any]], scenario: Scenario) -> dict[int, str]:
    """Ephemeral port numbers in order of first appearance -> symbols P1, P2..."""
    ports: dict[int, str] = {}

    def add(value: Any) -> None:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value in EPHEMERAL
            and value not in ports
        ):
            ports[value] = f"P{len(ports) + 1}"

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in PORT_KEYS:
                    add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for rec in records:
        if rec.get("k") == "ret":
            step = scenario.steps[rec["step"]]
            if "expr" in step and _expr_reads_port(step["expr"]):
                add(rec.get("v"))
        walk(rec.get("v"))
        walk(rec.get("args"))
        walk(rec.get("err"))
    return ports


class _Rewriter:
    def __init__(self, ports: dict[int, str], tmp: str) -> None:
        self.ports = ports
        self.tmp = tmp
        self.port_re = re.compile(r"(?<=[:\]])(\d{1,5})\b") if ports else None

    def __call__(self, value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return f"<{self.ports[value]}>" if value in self.ports else value
        if isinstance(value, str):
            if self.tmp and self.tmp in value:
                value = value.replace(self.tmp, "<tmp>")
            if self.port_re is not None:
                value = self.port_re.sub(self._port_text, value)
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value

    def _port_text(self, m: re.Match[str]) -> str:
        number = int(m.group(1))
        return f"<{self.ports[number]}>" if number in self.ports else m.group(1)


def _payload(value: Any) -> tuple[str, bytes] | None:
    if isinstance(value, dict) and "$bytes" in value:
        return "bytes", base64.b64decode(value["$bytes"])
    if isinstance(value, str):
        return "str", value.encode("utf-8")
    return None


def _render_payload(kind: str, data: bytes) -> Any:
    if len(data) > BIG:
        return {f"${kind}": {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}}
    if kind == "bytes":
        return {"$bytes": data.decode("latin-1")}
    return data.decode("utf-8", "replace")


def _join_data(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive 'data' events of one object become one (chunking is not behaviour)."""
    out: list[dict[str, Any]] = []
    pending: tuple[str, bytearray, dict[str, Any]] | None = None

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            kind, buffer, first = pending
            out.append({**first, "args": [_render_payload(kind, bytes(buffer))]})
            pending = None

    for event in events:
        payload = _payload(event["args"][0]) if event["ev"] == "data" and len(event["args"]) == 1 else None
        if payload is None:
            flush()
            out.append(event)
            continue
        kind, data = payload
        if pending is not None and pending[0] == kind:
            pending[1].extend(data)
        else:
            flush()
            pending = (kind, bytearray(data), event)
    flush()
    return out


def normalize(records: list[dict[str, Any]], scenario: Scenario, tmp: str) -> Trace:
    rewrite = _Rewriter(collect_ports(records, scenario), tmp)
    steps: list[Any] = []
    objects: dict[str, list[dict[str, Any]]] = {}
    agents_of: dict[str, set[str]] = {}
    callbacks: dict[str, list[Any]] = {}
    arrival: list[tuple[str, str]] = []
    ending: list[Any] = []
    for rec in records:
        kind = rec.get("k")
        if kind == "ret":
            steps.append([rec["step"], "returns", rewrite(rec["v"])])
        elif kind == "throw":
            steps.append([rec["step"], "throws", rewrite(rec["err"])])
        elif kind == "ev":
            objects.setdefault(rec["obj"], []).append(
                {"ev": rec["ev"], "args": rewrite(rec["args"]), "during": rec.get("during")}
            )
            agents_of.setdefault(rec["obj"], set()).add(str(rec.get("agent")))
            arrival.append((rec["obj"], rec["ev"]))
        elif kind == "cb":
            callbacks.setdefault(rec["name"], []).append(
                {"args": rewrite(rec["args"]), "during": rec.get("during")}
            )
        elif kind == "timeout":
            ending.append({"timeout at step": rec["step"]})
        elif kind == "uncaught":
            ending.append({"uncaught": rewrite(rec["err"])})
        elif kind == "fatal":
            ending.append({"interpreter error": rec.get("message")})
    trace: Trace = {"steps": sorted(steps, key=lambda s: s[0])}
    for name, events in objects.items():
        trace[f"object {name}"] = _join_data(events)
    for name, calls in callbacks.items():
        trace[f"callback {name}"] = calls
    for group in scenario.order:
        sides = set().union(*(agents_of.get(name, set()) for name in group))
        if len(sides) <= 1:
            merged = [f"{obj} {ev}" for obj, ev in arrival if obj in group]
            trace[f"order {' + '.join(group)}"] = _dedupe_data(merged)
    trace["ending"] = ending
    return trace


def _dedupe_data(entries: list[str]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        if entry.endswith(" data") and out and out[-1] == entry:
            continue
        out.append(entry)
    return out


def step_value(trace: Trace, index: int) -> tuple[str, Any] | None:
    for step in trace["steps"]:
        if step[0] == index:
            return step[1], step[2]
    return None
