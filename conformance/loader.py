"""Scenario files: read, validate and compile them into the JSON both interpreters run.

The syntax is documented in docs/scenarios.md. Everything a scenario can get wrong is reported here, at
collection time, with the file and step, so an interpreter only ever sees well-formed programs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .expr import ScenarioSyntaxError, parse_expression
from .sections import sections

SCENARIO_ROOT = Path(__file__).parent / "scenarios"
KNOWN_REQUIREMENTS = frozenset({"ipv6", "unix", "abstract"})
STEP_OPS = ("let", "set", "call", "wait", "idle")
STEP_KEYS = frozenset({*STEP_OPS, "side", "doc", "note"})
TOP_KEYS = frozenset(
    {"description", "spec", "timeout", "requires", "sides", "settle", "order", "steps", "tags"}
)
_NAME = r"[A-Za-z_$][A-Za-z0-9_$#.]*"
_LET_RE = re.compile(rf"^\s*({_NAME})\s*=\s*(.+)$", re.S)
_SET_RE = re.compile(r"^\s*(.+?)\s+=\s+(.+)$", re.S)
_WAIT_RE = re.compile(rf"^\s*({_NAME})\s+([A-Za-z_][\w:-]*)\s*(?:->\s*(.+))?$")


class ScenarioError(ValueError):
    """A scenario file that cannot be run as written."""


@dataclass
class Scenario:
    id: str
    path: Path
    description: str
    spec: list[str]
    steps: list[dict[str, Any]]
    timeout: int = 5000
    settle: int = 20
    requires: list[str] = field(default_factory=list)
    sides: list[str] = field(default_factory=lambda: ["main"])
    order: list[list[str]] = field(default_factory=list)
    docs: dict[int, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    @property
    def area(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def mixed(self) -> bool:
        return len(self.sides) > 1

    def program(self) -> dict[str, Any]:
        """What is sent to an agent."""
        return {"id": self.id, "steps": self.steps, "timeout": self.timeout, "settle": self.settle}

    def side_of_step(self, index: int) -> str:
        side = self.steps[index]["side"]
        assert isinstance(side, str)
        return side


def encode_doc_value(value: Any) -> Any:
    """Turn a YAML literal from a `doc:` key into the trace's value encoding."""
    if isinstance(value, float):
        if math.isnan(value):
            return {"$num": "NaN"}
        if math.isinf(value):
            return {"$num": "Infinity" if value > 0 else "-Infinity"}
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [encode_doc_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode_doc_value(v) for k, v in value.items()}
    return value


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    for n in names:
        if not re.fullmatch(_NAME, n):
            raise ScenarioError(f"bad name to bind: {n!r}")
    return names


def compile_step(raw: Any, index: int, side: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ScenarioError(f"step {index}: a step is a mapping, got {raw!r}")
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise ScenarioError(f"step {index}: unknown keys {sorted(unknown)}")
    ops = [op for op in STEP_OPS if op in raw]
    if len(ops) != 1:
        raise ScenarioError(f"step {index}: exactly one of {STEP_OPS} is required, got {ops}")
    op = ops[0]
    body = raw[op]
    step: dict[str, Any] = {"i": index, "side": side, "op": op}
    try:
        if op == "let":
            m = _LET_RE.match(str(body))
            if not m:
                raise ScenarioError(f"step {index}: `let` is `NAME = EXPR`, got {body!r}")
            step["name"] = m.group(1)
            step["expr"] = parse_expression(m.group(2))
        elif op == "set":
            m = _SET_RE.match(str(body))
            target = parse_expression(m.group(1)) if m else None
            if not m or target is None or target[0] != "get":
                raise ScenarioError(f"step {index}: `set` is `OBJ.PROP = EXPR`, got {body!r}")
            step["obj"], step["key"] = target[1], target[2]
            step["expr"] = parse_expression(m.group(2))
        elif op == "call":
            step["expr"] = parse_expression(str(body))
        elif op == "wait":
            m = _WAIT_RE.match(str(body))
            if not m:
                raise ScenarioError(f"step {index}: `wait` is `OBJ EVENT [-> a, b]`, got {body!r}")
            obj, event, bind = m.groups()
            if obj == "cb":
                step["obj"], step["cb"], step["event"] = None, event, None
            else:
                step["obj"], step["event"] = obj, event
            step["bind"] = _names(bind) if bind else []
        else:
            if not isinstance(body, int) or isinstance(body, bool) or not 0 <= body <= 10_000:
                raise ScenarioError(f"step {index}: `idle` takes milliseconds 0..10000, got {body!r}")
            step["ms"] = body
    except ScenarioSyntaxError as exc:
        raise ScenarioError(f"step {index}: {exc}") from None
    return step


def load_scenario(path: Path, root: Path = SCENARIO_ROOT) -> Scenario:
    scenario_id = path.relative_to(root).with_suffix("").as_posix()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{scenario_id}: not valid YAML: {exc}") from None
    try:
        return _build(scenario_id, path, data)
    except ScenarioError as exc:
        raise ScenarioError(f"{scenario_id}: {exc}") from None


def _build(scenario_id: str, path: Path, data: Any) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file is a mapping")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise ScenarioError(f"unknown keys {sorted(unknown)}")
    for key in ("description", "spec", "steps"):
        if key not in data:
            raise ScenarioError(f"`{key}` is required")
    spec = data["spec"]
    if not isinstance(spec, list) or not spec or not all(isinstance(s, str) for s in spec):
        raise ScenarioError("`spec` is a non-empty list of doc section titles")
    known = sections()
    unknown_sections = [s for s in spec if known and s not in known]
    if unknown_sections:
        raise ScenarioError(f"`spec` names sections the seed document lacks: {unknown_sections}")
    sides = data.get("sides", ["main"])
    if not isinstance(sides, list) or not sides or len(set(sides)) != len(sides):
        raise ScenarioError("`sides` is a list of distinct names")
    requires = data.get("requires", [])
    if set(requires) - KNOWN_REQUIREMENTS:
        raise ScenarioError(f"unknown requirements {sorted(set(requires) - KNOWN_REQUIREMENTS)}")
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError("`steps` is a non-empty list")
    steps: list[dict[str, Any]] = []
    docs: dict[int, Any] = {}
    side = sides[0]
    for index, raw in enumerate(raw_steps):
        if isinstance(raw, dict) and "side" in raw:
            side = raw["side"]
            if side not in sides:
                raise ScenarioError(f"step {index}: side {side!r} is not one of {sides}")
        step = compile_step(raw, index, side)
        if "doc" in raw:
            if step["op"] not in ("call", "let", "set"):
                raise ScenarioError(f"step {index}: `doc` goes with `call`, `let` or `set`")
            docs[index] = encode_doc_value(raw["doc"])
        steps.append(step)
    timeout = data.get("timeout", 5000)
    settle = data.get("settle", 20)
    if not isinstance(timeout, int) or not 100 <= timeout <= 60_000:
        raise ScenarioError("`timeout` is milliseconds, 100..60000")
    if not isinstance(settle, int) or not 0 <= settle <= 5_000:
        raise ScenarioError("`settle` is milliseconds, 0..5000")
    order = data.get("order", [])
    if not isinstance(order, list) or not all(isinstance(g, list) and len(g) > 1 for g in order):
        raise ScenarioError("`order` is a list of lists of two or more object names")
    return Scenario(
        id=scenario_id,
        path=path,
        description=str(data["description"]).strip(),
        spec=list(spec),
        steps=steps,
        timeout=timeout,
        settle=settle,
        requires=list(requires),
        sides=list(sides),
        order=order,
        docs=docs,
        tags=list(data.get("tags", [])),
    )


def discover(root: Path = SCENARIO_ROOT) -> list[Path]:
    """Every scenario file, in sorted order (every xdist worker must see the same list)."""
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


def load_all(root: Path = SCENARIO_ROOT) -> list[Scenario]:
    return [load_scenario(p, root) for p in discover(root)]
