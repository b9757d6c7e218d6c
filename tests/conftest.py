"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _loops import LoopRecorder


@pytest.fixture(params=["uvloop", "asyncio"])
def loops(request: pytest.FixtureRequest) -> Iterator[LoopRecorder]:
    """Run the test on uvloop and on asyncio's loop; fail on loop errors or a loop left open."""
    recorder = LoopRecorder(request.param)
    yield recorder
    recorder.check()


@pytest.fixture
def loop_factory(loops: LoopRecorder) -> LoopRecorder:
    return loops
