"""Fault injection, and ARM's memory of who was throttled.

A share of API requests (``rate``) gets one of the chosen fault kinds. The choices come from an
RNG seeded with ``--seed``, so the same sequence of requests meets the same faults. After a 429,
the caller (one bearer token = one principal, as ARM counts) is throttled until its Retry-After
has passed in emulated time: a request sent earlier gets another 429, recorded as
``429-early`` so tests can check that clients honour Retry-After.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable

from .defaults import FAULT_KINDS

EARLY_RETRY = "429-early"


def parse_kinds(kinds: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"429,reset"`` or ``["429", "reset"]`` -> validated kinds; None -> all of them."""
    if kinds is None:
        return FAULT_KINDS
    items = kinds.split(",") if isinstance(kinds, str) else list(kinds)
    chosen = tuple(dict.fromkeys(str(k).strip().lower() for k in items if str(k).strip()))
    unknown = [k for k in chosen if k not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kind {unknown[0]!r}; choose from {','.join(FAULT_KINDS)}")
    if not chosen:
        raise ValueError(f"no fault kinds given; choose from {','.join(FAULT_KINDS)}")
    return chosen


def validate_rate(rate: float) -> float:
    if not 0.0 <= rate <= 1.0 or math.isnan(rate):
        raise ValueError(f"faults must be between 0 and 1, not {rate}")
    return float(rate)


def scaled_retry_after(service_seconds: float, speed: float) -> int:
    """Retry-After in real seconds: the service's value divided by the speed, at least 1."""
    return max(1, math.ceil(service_seconds / speed))


class FaultPlan:
    """Decides, request by request, whether and how to fail."""

    def __init__(self, rate: float, kinds: tuple[str, ...], seed: int | None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.rate = validate_rate(rate)
        self.kinds = kinds
        # Principal -> emulated time until which it is throttled.
        self._throttled: dict[str, float] = {}

    def configure(self, rate: float, kinds: tuple[str, ...]) -> None:
        with self._lock:
            self.rate = validate_rate(rate)
            self.kinds = kinds

    def choose(self) -> str | None:
        """The fault for the next request, or None. Draws from the RNG only when rate > 0, so a
        run without faults leaves the sequence of a later run with faults unchanged."""
        with self._lock:
            if self.rate <= 0.0:
                return None
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(self.kinds)

    def throttle(self, principal: str, until: float) -> None:
        with self._lock:
            self._throttled[principal] = max(until, self._throttled.get(principal, 0.0))

    def throttled_for(self, principal: str, now: float) -> float | None:
        """Emulated seconds left of the principal's throttling, or None when it is free."""
        with self._lock:
            until = self._throttled.get(principal)
            if until is None:
                return None
            if now >= until:
                del self._throttled[principal]
                return None
            return until - now
