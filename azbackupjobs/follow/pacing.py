"""How every loop that polls decides what a failure means and how long to wait.

One place for the rules that the job poll loop and the long-running-operation loop share:
which failures pass (throttling, 5xx, dropped connections, unreadable bodies), the backoff after
them, and the wait a ``Retry-After`` asks for.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from azbackupjobs.arm.client import MAX_RETRY_AFTER, parse_retry_after, pause
from azbackupjobs.model.errors import (
    ApiError,
    AuthError,
    NetworkError,
    NotFoundError,
    RequestTimeout,
    UnexpectedResponseError,
)

DEFAULT_INTERVAL = 10.0
MAX_BACKOFF = 120.0
# Jobs in the secondary region are read with POSTs, which ARM counts against the subscription's
# write quota (1200 an hour): every 30 s is 120 an hour per job, room for a few watches and
# the writes people actually make.
SECONDARY_REGION_INTERVAL = 30.0
# Below this many writes left in the hour (``x-ms-ratelimit-remaining-subscription-writes``)
# the loop polls more slowly, in proportion, up to MAX_STRETCH times its interval.
LOW_WRITES = 100
MAX_STRETCH = 10.0
WRITES_HEADER = "x-ms-ratelimit-remaining-subscription-writes"


class Unreadable(Exception):
    """A 2xx whose body is not what was asked for (truncated, HTML, not an object): transient."""


def transient_reason(exc: BaseException) -> str | None:
    """Why a failure is worth waiting out, or None when it is a real error."""
    if isinstance(exc, Unreadable):
        return "unreadable response"
    if isinstance(exc, RequestTimeout):
        return "timed out"
    if isinstance(exc, NetworkError):
        return "response cut short" if exc.status is not None else "connection lost"
    if isinstance(exc, (AuthError, NotFoundError)):
        return None
    if isinstance(exc, UnexpectedResponseError):
        if exc.status is not None and 200 <= exc.status < 300:
            return "unreadable response"
        return None
    if isinstance(exc, ApiError) and exc.status is not None:
        if exc.status == 429:
            return "throttled"
        if exc.status in (408, 425) or exc.status >= 500:
            return f"service error (HTTP {exc.status})"
    return None


def transient_or_raise(exc: BaseException) -> str:
    """The reason to wait ``exc`` out; a real error is raised again."""
    reason = transient_reason(exc)
    if reason is None:
        raise exc
    return reason


def failure_delay(interval: float, failures: int, exc: BaseException, rng: random.Random) -> float:
    """The wait after ``failures`` failed polls in a row, for the loops that poll one thing
    (an operation): exponential backoff from ``interval`` up to ``MAX_BACKOFF`` with a little
    jitter, and never shorter than the failure's Retry-After (the jitter applies before that
    floor, so it cannot cut a Retry-After short)."""
    delay = min(MAX_BACKOFF, interval * 2 ** (failures - 1)) * (0.95 + rng.random() / 10)
    retry_after = getattr(exc, "retry_after", None)
    return pause(retry_after, default=delay, floor=delay, cap=max(MAX_RETRY_AFTER, delay))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a good answer asks for before the next poll (its ``Retry-After``), as the
    transport reads it; None when it asks for none. Every loop reads it through here."""
    return parse_retry_after(headers)


def writes_left(headers: Mapping[str, str]) -> int | None:
    """The subscription's writes left this hour, as the answer to a POST reports them."""
    value = headers.get(WRITES_HEADER)
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def write_stretch(remaining: int | None) -> float:
    """How many times the interval to wait when ``remaining`` writes are left: 1 with room to
    spare, then in proportion to the shortfall (50 left: twice as long), at most MAX_STRETCH."""
    if remaining is None or remaining >= LOW_WRITES:
        return 1.0
    return min(MAX_STRETCH, LOW_WRITES / max(remaining, 1))
