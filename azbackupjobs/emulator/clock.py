"""Emulated time.

Job state is a pure function of (scenario, emulated now), so the only moving part of the emulator
is this clock: it runs ``speed`` times faster than the wall clock, and tests can jump it forward
with :meth:`EmulatedClock.advance` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class EmulatedClock:
    """Seconds since the epoch, in emulated time.

    ``origin`` is the emulated time at creation (the wall clock by default); from there the clock
    moves ``speed`` emulated seconds per real second, plus whatever :meth:`advance` added.
    """

    def __init__(
        self,
        speed: float = 1.0,
        origin: float | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be greater than 0")
        self._speed = speed
        self._monotonic = monotonic
        self._origin = wall() if origin is None else origin
        self._mono0 = monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        with self._lock:
            return self._origin + (self._monotonic() - self._mono0) * self._speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward; going back would let finished jobs run again, so it is refused."""
        if seconds < 0:
            raise ValueError("the emulated clock cannot go backwards")
        with self._lock:
            self._offset += seconds

    def to_real(self, emulated_seconds: float) -> float:
        """How long ``emulated_seconds`` take on the wall clock."""
        return emulated_seconds / self._speed
