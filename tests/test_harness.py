"""Tests of the conformance harness itself: the language, the normaliser, the differ, the agents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.agents import AgentError, AgentPool, check_node_version, node_binary
from conformance.diff import compare, render
from conformance.expr import ScenarioSyntaxError, parse_expression, refs
from conformance.loader import Scenario, ScenarioError, load_scenario
from conformance.normalize import normalize
from conformance.runner import Pairing, run_scenario


def scenario_from(tmp_path: Path, text: str, name: str = "s.yaml") -> Scenario:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_scenario(path, tmp_path)


# -- the expression language ---------------------------------------------------------------------------
def test_parse_method_call_with_literals_and_builtin() -> None:
    tree = parse_expression('srv.listen(0, "127.0.0.1", cb("l"))')
    assert tree == [
        "call",
        ["get", ["ref", "srv"], "listen"],
        [["lit", 0], ["lit", "127.0.0.1"], ["builtin", "cb", [["lit", "l"]]]],
    ]


def test_parse_literals() -> None:
    assert parse_expression("-1") == ["lit", -1]
    assert parse_expression("1.5") == ["lit", 1.5]
    assert parse_expression("0x10") == ["lit", 16]
    assert parse_expression("NaN") == ["num", "NaN"]
    assert parse_expression("-Infinity") == ["num", "-Infinity"]
    assert parse_expression("undefined") == ["undef"]
    assert parse_expression("'a\\0b'") == ["lit", "a\0b"]
    assert parse_expression('{port: 0, "host": "::1"}') == [
        "obj",
        [["port", ["lit", 0]], ["host", ["lit", "::1"]]],
    ]
    assert parse_expression("[1, null]") == ["arr", [["lit", 1], ["lit", None]]]


def test_parse_new_and_index() -> None:
    assert parse_expression("new net.Socket()") == ["new", ["get", ["ref", "net"], "Socket"], []]
    assert parse_expression("a.b[0]") == ["get", ["get", ["ref", "a"], "b"], 0]


def test_refs_lists_names_read() -> None:
    assert refs(parse_expression("net.connect(port, {host: h})")) == {"net", "port", "h"}


@pytest.mark.parametrize("bad", ["a.", "f(1,", "a + b", "{1: }", "-x", "'unterminated"])
def test_parse_rejects_malformed(bad: str) -> None:
    with pytest.raises(ScenarioSyntaxError):
        parse_expression(bad)


# -- the loader ------------------------------------------------------------------------------------------
GOOD = """
description: d
spec: ["net.isIP(input)"]
sides: [server, client]
steps:
  - let: x = net.isIP("::1")
    doc: 6
  - side: client
    wait: cb done -> a, b
  - idle: 5
"""


def test_loader_compiles_sides_docs_and_waits(tmp_path: Path) -> None:
    s = scenario_from(tmp_path, GOOD)
    assert s.id == "s"
    assert [step["side"] for step in s.steps] == ["server", "client", "client"]
    assert s.docs == {0: 6}
    assert s.steps[1] == {
        "i": 1,
        "side": "client",
        "op": "wait",
        "obj": None,
        "cb": "done",
        "event": None,
        "bind": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("description: d\nspec: [nope]\nsteps: [{call: 'x'}]\n", "seed document lacks"),
        ("description: d\nspec: ['net.isIP(input)']\nsteps: [{call: 'x', let: 'y = 1'}]\n", "exactly one"),
        ("description: d\nspec: ['net.isIP(input)']\nsteps: [{wait: 'x'}]\n", "OBJ EVENT"),
        ("description: d\nspec: ['net.isIP(input)']\nsteps: [{call: 'a +'}]\n", "unexpected"),
        ("description: d\nspec: ['net.isIP(input)']\nsteps: [{call: 'x', side: z}]\n", "side"),
        ("spec: ['net.isIP(input)']\nsteps: [{call: 'x'}]\n", "description"),
    ],
)
def test_loader_reports_bad_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_from(tmp_path, text)


# -- normaliser and differ -------------------------------------------------------------------------------
def _records(
    port: int, chunks: list[bytes], extra: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    import base64

    recs: list[dict[str, Any]] = [{"k": "ret", "step": 0, "v": port}]
    recs += [
        {
            "k": "ev",
            "obj": "cli",
            "ev": "data",
            "args": [{"$bytes": base64.b64encode(c).decode()}],
            "during": None,
        }
        for c in chunks
    ]
    recs.append(
        {
            "k": "ev",
            "obj": "cli",
            "ev": "error",
            "during": None,
            "args": [
                {"$err": {"name": "Error", "message": f"connect ECONNREFUSED 127.0.0.1:{port}", "port": port}}
            ],
        }
    )
    return recs + (extra or [])


PORT_SCENARIO = """
description: d
spec: ["net.isIP(input)"]
steps:
  - let: port = srv.address().port
  - call: x
"""


def test_normalise_ports_and_chunks_make_equal_runs_equal(tmp_path: Path) -> None:
    s = scenario_from(tmp_path, PORT_SCENARIO)
    a = normalize(_records(40001, [b"hel", b"lo"]), s, "/tmp/x")
    b = normalize(_records(51234, [b"hello"]), s, "/tmp/y")
    assert compare(a, b) == []
    assert a["steps"] == [[0, "returns", "<P1>"]]
    fixed = normalize(_records(1234, [b"x"]), s, "")
    assert fixed["steps"] == [[0, "returns", 1234]], "a port outside the ephemeral range is kept"
    err = a["object cli"][1]["args"][0]["$err"]
    assert err["message"] == "connect ECONNREFUSED 127.0.0.1:<P1>"


def test_differ_catches_a_deliberately_different_trace(tmp_path: Path) -> None:
    s = scenario_from(tmp_path, PORT_SCENARIO)
    a = normalize(_records(40001, [b"hello"]), s, "")
    extra = [{"k": "ev", "obj": "cli", "ev": "close", "args": [False], "during": None}]
    b = normalize(_records(40001, [b"hellO"], extra), s, "")
    diffs = compare(a, b)
    assert [d.key for d in diffs] == ["object cli"]
    assert diffs[0].first_difference == 0
    text = render(diffs)
    assert ">>" in text and "close(false)" in text


def test_big_payloads_are_digested(tmp_path: Path) -> None:
    s = scenario_from(tmp_path, PORT_SCENARIO)
    trace = normalize(_records(40000, [b"x" * 300, b"y" * 300]), s, "")
    payload = trace["object cli"][0]["args"][0]["$bytes"]
    assert payload["length"] == 600 and len(payload["sha256"]) == 64


# -- agents, end to end ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pool() -> Any:
    p = AgentPool()
    yield p
    p.close()


def test_node_reference_is_node_24() -> None:
    version = check_node_version(node_binary())
    assert version.startswith("v24.")


def test_refuses_an_old_node(tmp_path: Path) -> None:
    fake = tmp_path / "node"
    fake.write_text("#!/bin/sh\necho v20.20.2\n")
    fake.chmod(0o755)
    with pytest.raises(AgentError, match="must be Node >= 24"):
        check_node_version(fake)


ISIP = """
description: d
spec: ["net.isIP(input)"]
steps:
  - call: net.isIP(ADDR)
"""


@pytest.mark.parametrize("runtime", ["node", "uvnet"])
def test_differ_catches_real_different_runs(tmp_path: Path, pool: AgentPool, runtime: str) -> None:
    one = scenario_from(tmp_path, ISIP.replace("ADDR", '"::1"'), "one.yaml")
    two = scenario_from(tmp_path, ISIP.replace("ADDR", '"127.0.0.1"'), "two.yaml")
    pairing = Pairing(runtime, runtime)
    r1, r2 = run_scenario(one, pairing, pool), run_scenario(two, pairing, pool)
    assert r1.status == r2.status == "ok"
    t1, t2 = normalize(r1.records, one, r1.tmp), normalize(r2.records, two, r2.tmp)
    assert t1["steps"] == [[0, "returns", 6]]
    assert t2["steps"] == [[0, "returns", 4]]
    assert [d.key for d in compare(t1, t2)] == ["steps"]


def test_an_unknown_op_is_a_hard_error_on_both_sides(tmp_path: Path, pool: AgentPool) -> None:
    s = scenario_from(tmp_path, ISIP.replace("ADDR", '"::1"'))
    s.steps[0]["op"] = "teleport"
    for runtime in ("node", "uvnet"):
        result = run_scenario(s, Pairing(runtime, runtime), pool)
        assert result.status == "error", (runtime, result)
        assert "teleport" in result.detail


LANGUAGE = """
description: d
spec: ["net.isIP(input)"]
steps:
  - let: "o = {a: 1}"
  - set: o.a = 2
  - call: o.a
  - let: f = cb("f", false)
  - call: f(1, "x")
  - call: noop()(1)
  - call: alloc(3)
  - let: ac = controller()
  - call: ac.signal.aborted
  - call: ac.abort()
  - call: ac.signal.aborted
"""


@pytest.mark.parametrize("runtime", ["node", "uvnet"])
def test_language_builtins_and_set_agree(tmp_path: Path, pool: AgentPool, runtime: str) -> None:
    s = scenario_from(tmp_path, LANGUAGE)
    result = run_scenario(s, Pairing(runtime, runtime), pool)
    assert result.status == "ok", result
    trace = normalize(result.records, s, result.tmp)
    values = {step[0]: step[2] for step in trace["steps"] if step[1] == "returns"}
    assert values[1] == 2 and values[2] == 2
    assert values[4] is False
    assert trace["callback f"] == [{"args": [1, "x"], "during": 4}]
    assert values[5] is None
    assert values[6] == {"$bytes": "AAAA"}
    assert values[8] is False and values[10] is True


LOOKUP = """
description: d
spec: ["net.isIP(input)"]
steps:
  - let: one = lookup("dns", [["::1", 6], ["127.0.0.1", 4]])
  - call: 'one("h.test", {all: true}, cb("all"))'
  - call: 'one("h.test", {family: 0}, cb("first"))'
  - call: lookup("bad", "ENOTFOUND")("nx.test", {}, cb("err"))
  - wait: cb err
"""


@pytest.mark.parametrize("runtime", ["node", "uvnet"])
def test_scripted_lookup_agrees(tmp_path: Path, pool: AgentPool, runtime: str) -> None:
    s = scenario_from(tmp_path, LOOKUP)
    result = run_scenario(s, Pairing(runtime, runtime), pool)
    assert result.status == "ok", result
    trace = normalize(result.records, s, result.tmp)
    assert [c["args"] for c in trace["callback dns"]] == [
        ["h.test", {"all": True}],
        ["h.test", {"family": 0}],
    ]
    assert trace["callback all"][0]["args"] == [
        None,
        [{"address": "::1", "family": 6}, {"address": "127.0.0.1", "family": 4}],
    ]
    assert trace["callback first"][0]["args"] == [None, "::1", 6]
    err = trace["callback err"][0]["args"][0]["$err"]
    assert err["code"] == "ENOTFOUND" and err["syscall"] == "getaddrinfo"
    assert err["message"] == "getaddrinfo ENOTFOUND nx.test"
    assert trace["callback all"][0]["during"] is None, "the answer comes on a later tick"


def test_leftover_socket_files_are_found(tmp_path: Path) -> None:
    import socket as pysocket

    from conformance.runner import leftover_sockets

    (tmp_path / "plain.txt").write_text("not a socket")
    (tmp_path / "sub").mkdir()
    with pysocket.socket(pysocket.AF_UNIX) as s:
        s.bind(str(tmp_path / "sub" / "left.sock"))
        assert leftover_sockets(str(tmp_path), grace=0.05) == ["sub/left.sock"]
    (tmp_path / "sub" / "left.sock").unlink()
    assert leftover_sockets(str(tmp_path), grace=0.05) == []


IPC_CLOSE = """
description: d
spec: ["IPC"]
steps:
  - let: srv = net.createServer()
  - call: srv.listen(path("s.sock"))
  - wait: srv listening
"""


@pytest.mark.parametrize("runtime", ["node", "uvnet"])
def test_agents_cleanup_unlinks_ipc_paths(tmp_path: Path, pool: AgentPool, runtime: str) -> None:
    s = scenario_from(tmp_path, IPC_CLOSE)
    result = run_scenario(s, Pairing(runtime, runtime), pool)
    assert result.status == "ok", result
    assert result.leaked == [], "the server left open by the scenario is closed, and its path unlinked"
