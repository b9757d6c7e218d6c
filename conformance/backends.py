"""Where the reference Node agent runs: on this machine (`local`, the default) or in a container (`docker`).

Theory of operation
-------------------
* One variable chooses: `--backend` (pytest and the CLI) or `UVNET_BACKEND`. Only the Node agent moves;
  uvnet and the optional runtimes of the matrix always run on this machine.
* `docker`: the process that owns the session (pytest's controller, or the only pytest process) brings
  the service `node-agent` of docker-compose.yml up once (`DockerService.up`): it (re)builds the image when
  the inputs it was built from changed (docker/build.sh), starts the container through the Docker SDK with
  the compose file's settings, and waits for the container's health check. At the end it removes the
  container unless asked to keep it. Every worker starts its OWN agent in that container with
  `docker exec -i <container> node /fixtures/agent.mjs`: workers share the container, never an agent.
* Sockets: the container uses the host's network namespace, so 127.0.0.0/8, ::1 and abstract Unix
  sockets are the same on both sides. File-system sockets need the same PATH on both sides: the shared
  directory is mounted at its own absolute path in the container, and the runner creates each run's
  temporary folder inside it (`tmp_root`).
* The compose file is the single description of the service: this module reads it (with compose's
  `${VAR:-default}` substitution) and refuses keys it does not translate, so `docker compose up` and the
  harness start the same thing.

Traps: an agent whose `docker exec` client is killed may outlive it inside the container; it dies with
the container at teardown. Files the container creates in the shared directory belong to UVNET_UID (the
harness passes its own uid/gid), so the host can remove them.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
BUILD_SCRIPT = ROOT / "docker" / "build.sh"
SERVICE = "node-agent"
FIXTURES_IN_CONTAINER = "/fixtures"
AGENT_IN_CONTAINER = f"{FIXTURES_IN_CONTAINER}/agent.mjs"
DEFAULT_SHARED_DIR = "/tmp/uvnet-shared"
BACKENDS = ("local", "docker")
HARNESS_LABEL = "uvnet.harness"
HEALTH_TIMEOUT = 120.0


class BackendError(RuntimeError):
    """The backend cannot be used (no docker, no image, an unhealthy container...)."""


# -- the backend of this process -----------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    name: str = "local"
    container: str | None = None  # docker: the running container the agents are exec'd in
    shared_dir: str | None = None  # docker: mounted at the same path inside the container
    node_version: str = ""  # docker: `node --version` inside the container

    def tmp_root(self) -> str | None:
        """Where runs' temporary folders go (None: the system's temporary folder)."""
        if self.name != "docker":
            return None
        assert self.shared_dir is not None
        os.makedirs(self.shared_dir, exist_ok=True)
        return self.shared_dir

    def node_agent_command(self) -> list[str]:
        """The command that starts one Node agent speaking JSON lines on stdin/stdout."""
        if self.name != "docker" or not self.container:
            raise BackendError("node_agent_command() is for a docker backend with a running container")
        return [docker_cli(), "exec", "-i", self.container, "node", AGENT_IN_CONTAINER]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Backend:
        data = json.loads(text)
        return cls(**data)


_current = Backend()


def configure(backend: Backend) -> None:
    global _current
    _current = backend


def current() -> Backend:
    return _current


def requested(option: str | None = None) -> str:
    """The backend asked for: the option if given, else UVNET_BACKEND, else `local`."""
    name = option or os.environ.get("UVNET_BACKEND") or "local"
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    return name


# -- docker ---------------------------------------------------------------------------------------------
def _sdk() -> Any:
    """The Docker SDK, imported only by the docker backend (an optional dependency). Imported by name
    because the repository's own docker/ folder would otherwise shadow it for type checkers."""
    return importlib.import_module("docker")


def _sdk_errors() -> Any:
    return importlib.import_module("docker.errors")


def docker_cli() -> str:
    found = os.environ.get("DOCKER") or shutil.which("docker")
    if not found:
        raise BackendError("no docker CLI on PATH (apt-get install docker.io)")
    return found


def docker_available() -> tuple[bool, str]:
    """Whether a docker engine answers, and why not when it does not."""
    try:
        docker = _sdk()
    except ImportError:
        return False, "the docker Python SDK is not installed (pip install docker)"
    try:
        client = docker.from_env(timeout=10)
        client.ping()
        client.close()
    except Exception as exc:
        return False, f"no docker engine answers: {exc}"
    if shutil.which("docker") is None and not os.environ.get("DOCKER"):
        return False, "no docker CLI on PATH"
    return True, ""


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^{}]|\{[^{}]*\})*))?\}")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `$$`."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, colon, kind, arg = m.group(1), m.group(2), m.group(3), m.group(4)
        value = env.get(name)
        missing = value is None or (colon == ":" and value == "")
        if kind == "-" and missing:
            return interpolate(arg or "", env)
        if kind == "?" and missing:
            raise BackendError(f"docker-compose.yml: {name} is required: {arg}")
        return value or ""

    return _VAR.sub(one, text)


def _interpolate_tree(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, env)
    if isinstance(value, list):
        return [_interpolate_tree(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate_tree(v, env) for k, v in value.items()}
    return value


# The keys of the service this module translates; any other key is an error (the file and the code agree).
_SERVICE_KEYS = frozenset(
    {
        "image",
        "build",
        "container_name",
        "network_mode",
        "user",
        "volumes",
        "environment",
        "labels",
        "healthcheck",
        "stop_grace_period",
    }
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def duration_ns(text: str | int | float) -> int:
    """A compose duration (`3s`, `1m30s`, `500ms`) in nanoseconds."""
    if isinstance(text, int | float):
        return int(text * 1e9)
    total = 0.0
    pos = 0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        pos = m.end()
        total += float(m.group(1)) * {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
    if pos != len(text) or not text:
        raise BackendError(f"docker-compose.yml: bad duration {text!r}")
    return int(total * 1e9)


def compose_service(
    env: Mapping[str, str] | None = None, path: Path = COMPOSE_FILE, service: str = SERVICE
) -> dict[str, Any]:
    """The service's settings from the compose file, variables substituted, relative paths resolved."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        raw = data["services"][service]
    except (KeyError, TypeError):
        raise BackendError(f"{path}: no service {service!r}") from None
    unknown = set(raw) - _SERVICE_KEYS
    if unknown:
        raise BackendError(
            f"{path}: service {service}: keys the harness does not translate: {sorted(unknown)}"
        )
    svc: dict[str, Any] = _interpolate_tree(raw, os.environ if env is None else env)
    volumes = []
    for spec in svc.get("volumes", []):
        parts = str(spec).split(":")
        if len(parts) not in (2, 3):
            raise BackendError(f"{path}: volume {spec!r}: only `source:target[:ro|rw]` is translated")
        source = parts[0]
        if source.startswith("."):
            source = str((path.parent / source).resolve())
        volumes.append((source, parts[1], parts[2] if len(parts) == 3 else "rw"))
    svc["volumes"] = volumes
    return svc


def run_kwargs(svc: Mapping[str, Any]) -> dict[str, Any]:
    """The Docker SDK's `containers.run` arguments for a service from `compose_service`."""
    kwargs: dict[str, Any] = {
        "image": svc["image"],
        "detach": True,
        "network_mode": svc.get("network_mode"),
        "labels": {str(k): str(v) for k, v in dict(svc.get("labels", {})).items()},
        "volumes": {src: {"bind": dst, "mode": mode} for src, dst, mode in svc["volumes"]},
        "environment": {str(k): str(v) for k, v in dict(svc.get("environment", {})).items()},
    }
    if svc.get("container_name"):
        kwargs["name"] = svc["container_name"]
    if svc.get("user"):
        kwargs["user"] = str(svc["user"])
    health = svc.get("healthcheck")
    if health:
        kwargs["healthcheck"] = {
            "test": list(health["test"]),
            "interval": duration_ns(health.get("interval", "30s")),
            "timeout": duration_ns(health.get("timeout", "30s")),
            "retries": int(health.get("retries", 3)),
            "start_period": duration_ns(health.get("start_period", "0s")),
        }
    # stop_grace_period matters to `docker compose down` only: the harness removes with force.
    return kwargs


def image_inputs(offline: bool) -> str:
    """The hash docker/build.sh labels the image with (uvnet.inputs) for the same inputs."""
    cmd = ["bash", str(BUILD_SCRIPT), "--print-inputs", *(["--offline"] if offline else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60, cwd=ROOT)
    if out.returncode != 0:
        raise BackendError(f"docker/build.sh --print-inputs failed: {out.stderr.strip()}")
    return out.stdout.strip()


def build_image(image: str, offline: bool) -> None:
    env = dict(os.environ, UVNET_AGENT_IMAGE=image, DOCKER=docker_cli())
    cmd = ["bash", str(BUILD_SCRIPT), *(["--offline"] if offline else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900, cwd=ROOT, env=env)
    if out.returncode != 0:
        raise BackendError(f"docker/build.sh failed:\n{out.stdout}{out.stderr}")


class DockerService:
    """The compose service `node-agent`, brought up and torn down through the Docker SDK."""

    def __init__(self, keep: bool = False, shared_dir: str | None = None, name: str | None = None) -> None:
        self.keep = keep
        self.shared_dir = os.path.abspath(
            shared_dir or os.environ.get("UVNET_SHARED_DIR") or DEFAULT_SHARED_DIR
        )
        # A kept container has a fixed name so the next run finds it; otherwise one per session.
        self.name = (
            name
            or os.environ.get("UVNET_CONTAINER")
            or ("uvnet-node-agent" if keep else f"uvnet-node-agent-{uuid.uuid4().hex[:10]}")
        )
        env = dict(os.environ)
        env.update(UVNET_SHARED_DIR=self.shared_dir, UVNET_CONTAINER=self.name)
        env.setdefault("UVNET_UID", str(os.getuid()))
        env.setdefault("UVNET_GID", str(os.getgid()))
        self.service = compose_service(env)
        self.offline = not os.environ.get("UVNET_BASE_IMAGE")
        self.container: Any = None
        self.reused = False
        self.node_version = ""
        self.seconds_up = 0.0

    def _client(self) -> Any:
        try:
            docker = _sdk()
        except ImportError:
            raise BackendError(
                "the docker backend needs the docker Python SDK (pip install docker)"
            ) from None
        try:
            return docker.from_env(timeout=60)
        except Exception as exc:
            raise BackendError(f"no docker engine: {exc} (start dockerd, see docs/harness.md)") from None

    def ensure_image(self, client: Any) -> None:
        errors = _sdk_errors()
        image = str(self.service["image"])
        wanted = image_inputs(self.offline)
        try:
            labels = client.images.get(image).labels or {}
        except errors.ImageNotFound:
            labels = {}
        if labels.get("uvnet.inputs") != wanted:
            build_image(image, self.offline)

    def up(self) -> Backend:
        started = time.monotonic()
        errors = _sdk_errors()
        client = self._client()
        self.ensure_image(client)
        os.makedirs(self.shared_dir, exist_ok=True)
        kwargs = run_kwargs(self.service)
        kwargs["name"] = self.name
        kwargs["labels"][HARNESS_LABEL] = kwargs["labels"].get(HARNESS_LABEL, "node-agent")
        image_id = client.images.get(kwargs["image"]).id
        try:
            existing = client.containers.get(self.name)
        except errors.NotFound:
            existing = None
        if existing is not None:
            if self.keep and existing.status == "running" and existing.image.id == image_id:
                self.container, self.reused = existing, True
            else:
                existing.remove(force=True)
        if self.container is None:
            self.container = client.containers.run(**kwargs)
        self._wait_healthy()
        code, out = self.container.exec_run(["node", "--version"])
        self.node_version = out.decode("utf-8", "replace").strip()
        m = re.match(r"v(\d+)\.", self.node_version)
        if code != 0 or not m or int(m.group(1)) < 24:
            self.down(force=True)
            raise BackendError(f"the container's Node is {self.node_version!r}; the reference must be >= 24")
        self.seconds_up = time.monotonic() - started
        return Backend("docker", self.name, self.shared_dir, self.node_version)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while True:
            self.container.reload()
            state = self.container.attrs.get("State", {})
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy":
                return
            if state.get("Status") in ("exited", "dead") or health == "unhealthy":
                log = self.container.logs(tail=30).decode("utf-8", "replace")
                probes = (state.get("Health") or {}).get("Log") or []
                last = probes[-1].get("Output", "") if probes else ""
                self.down(force=True)
                raise BackendError(
                    f"container {self.name} is {health or state.get('Status')}: {last.strip()}\n{log}"
                )
            if time.monotonic() > deadline:
                self.down(force=True)
                raise BackendError(f"container {self.name} not healthy after {HEALTH_TIMEOUT:.0f}s")
            time.sleep(0.25)

    def down(self, force: bool = False) -> None:
        """Remove the container (unless it is to be kept)."""
        if self.container is None or (self.keep and not force):
            return
        try:
            self.container.remove(force=True)
        except Exception:  # already gone: nothing to do
            pass
        self.container = None


def remove_all_containers() -> int:
    """Remove every container the harness started (labelled uvnet.harness), kept ones included."""
    service = DockerService.__new__(DockerService)
    client = service._client()
    found = client.containers.list(all=True, filters={"label": HARNESS_LABEL})
    for container in found:
        container.remove(force=True)
    return len(found)
