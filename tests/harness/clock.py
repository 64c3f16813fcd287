"""A clock that only moves when the code under test sleeps: loops run at once, and a test can
read every wait they asked for."""

from __future__ import annotations


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds  # a loop never asks for a negative wait
        self.sleeps.append(seconds)
        self.now += seconds
