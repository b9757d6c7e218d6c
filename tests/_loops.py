"""Running tests on both loops with strict teardown (shared by the test modules through conftest.py).

Every test that takes the `loops` fixture runs once on uvloop and once on asyncio's own loop, and fails
if the loop's exception handler fired (a lost exception, a task destroyed while pending) or a loop was
left open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import uvloop

import uvnet as net
from uvnet import _runtime


class LoopRecorder:
    """A loop factory for `uvnet.run(..., loop_factory=)` that remembers its loops and their errors."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.errors: list[dict[str, Any]] = []

    def __call__(self) -> asyncio.AbstractEventLoop:
        loop = uvloop.new_event_loop() if self.kind == "uvloop" else asyncio.new_event_loop()
        loop.set_exception_handler(lambda _loop, ctx: self.errors.append(ctx))
        self.loops.append(loop)
        return loop

    def check(self) -> None:
        assert self.errors == [], f"the loop's exception handler fired: {self.errors}"
        for loop in self.loops:
            assert loop.is_closed(), "the loop was left open"


def run(main: Callable[[], object], loops: LoopRecorder) -> Any:
    """`uvnet.run(main)` on the recorder's loop."""
    return _runtime.run(main, loop_factory=loops)


def port_of(srv: net.Server) -> int:
    address = srv.address()
    assert isinstance(address, dict)
    return int(address["port"])
