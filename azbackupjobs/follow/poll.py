"""The poll loop: follow jobs until they end, as a generator of snapshots, whatever the source.

The loop owns the timing rules and nothing else (no printing, no HTTP): poll at once, then every
``interval`` seconds with a little jitter (longer while the subscription's write quota runs
low, for sources that read with POSTs); after 429, 5xx, dropped connections or unreadable
bodies back off exponentially up to two minutes and keep going, never sending a request before a
``Retry-After`` has elapsed; stop when the reader says the watch is over (every job ended, the
first failure with ``fail_fast``, nothing runs any more) or at the deadline. What one tick reads
is the reader's business: named jobs (``follow.jobs``) or whatever runs in a fleet
(``follow.fleet``). Sleep, clock and randomness are injected, so tests run a whole watch in no
time and every view (live, plain lines, NDJSON, JSON) shares this one loop.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from azbackupjobs.arm.client import MAX_RETRY_AFTER
from azbackupjobs.follow.pacing import DEFAULT_INTERVAL, LOW_WRITES, MAX_BACKOFF, write_stretch
from azbackupjobs.follow.state import (
    Snapshot,
    TickReport,
    Tracked,
    Trouble,
    detailed,
    outcome,
    worst,
)
from azbackupjobs.model.errors import UsageError
from azbackupjobs.model.text import sanitize

# With what it yields (``follow.state``), which views and tests know from here.
__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_INTERVAL",
    "LAST_LOOK_SECONDS",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "PollPolicy",
    "Poller",
    "Reader",
    "Snapshot",
    "Tracked",
    "Trouble",
    "Verdict",
    "detailed",
    "outcome",
    "parse_duration_arg",
    "parse_interval",
    "parse_timeout",
    "startup_interval",
    "worst",
]

MIN_INTERVAL = 1.0
MAX_INTERVAL = 3600.0
DEFAULT_GRACE = 60.0
# What a request at the deadline (the last look) may take: --timeout bounds the whole watch,
# requests in flight included, give or take this.
LAST_LOOK_SECONDS = 2.0
# After a 429 the interval grows (x1.5 each time) up to this, or the asked interval if larger;
# after THROTTLE_RECOVERY_POLLS good polls in a row it shrinks again towards the asked one.
THROTTLED_INTERVAL_CEILING = 60.0
THROTTLE_FACTOR = 1.5
THROTTLE_RECOVERY_POLLS = 5

# ----- durations on the command line -------------------------------------------------------------
_NUMBER_RE = re.compile(r"^\d+(?:\.\d+)?$")
_SPLIT_NUMBER_RE = re.compile(r"[\d.]\s+[\d.]")
_DURATION_RE = re.compile(
    r"^(?:(?P<d>\d+(?:\.\d+)?)d)?(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)s)?$",
    re.IGNORECASE,
)


def parse_duration_arg(value: str, flag: str) -> float:
    """Seconds from ``90``, ``90s``, ``30m``, ``2h``, ``1h30m``, ``1d``; anything else is exit 2."""
    text = value.strip()
    # Spaces may separate the parts ("1h 30m"), never the digits of a number ("1 2" is not 12).
    text = "" if _SPLIT_NUMBER_RE.search(text) else text.replace(" ", "")
    if _NUMBER_RE.match(text):
        text += "s"
    match = _DURATION_RE.match(text) if text else None
    if match is None or not any(match.groupdict().values()):
        shown = sanitize(value, 40) or "(empty)"
        raise UsageError(
            f"{flag}: cannot read {shown!r} as a duration; use seconds (90) or a duration "
            "such as 45s, 30m, 2h, 1h30m"
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    seconds = (
        parts.get("d", 0.0) * 86400
        + parts.get("h", 0.0) * 3600
        + parts.get("m", 0.0) * 60
        + parts.get("s", 0.0)
    )
    if not math.isfinite(seconds) or seconds > 366 * 86400:
        raise UsageError(f"{flag}: {sanitize(value, 40)!r} is too long (at most 366 days)")
    return seconds


def parse_interval(value: str) -> float:
    """``--interval``: at least 1 second, at most an hour; NaN, zero and negatives refused."""
    seconds = parse_duration_arg(value, "--interval")
    if seconds < MIN_INTERVAL or seconds > MAX_INTERVAL:
        raise UsageError(
            f"--interval: {sanitize(value, 40)!r} is out of range "
            f"(from {MIN_INTERVAL:g} to {MAX_INTERVAL:g} seconds)"
        )
    return seconds


def startup_interval(profile: str | None = None) -> float:
    """``--interval`` when not given: the config file's ``interval`` (kept within the allowed
    range), else the default."""
    from azbackupjobs.arm.config import default_interval

    configured = default_interval(profile)
    if configured is None:
        return DEFAULT_INTERVAL
    return min(max(configured, MIN_INTERVAL), MAX_INTERVAL)


def parse_timeout(value: str) -> float:
    seconds = parse_duration_arg(value, "--timeout")
    if seconds <= 0:
        raise UsageError("--timeout: must be longer than 0 seconds")
    return seconds


# ----- state -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PollPolicy:
    """How the loop polls. ``detail_limit``: how many running jobs a view shows in detail (their
    details are fetched on every tick); the others are checked with one list request per tick."""

    interval: float = DEFAULT_INTERVAL
    timeout: float | None = None
    grace: float = DEFAULT_GRACE
    strict: bool = False
    fail_fast: bool = False
    jitter: float = 0.1
    max_backoff: float = MAX_BACKOFF
    max_retry_after: float = MAX_RETRY_AFTER
    detail_limit: int = 1
    use_list: bool = True
    # A live view shows every job's progress in its row: refresh one list-checked job's
    # details per tick, in turn, so that no row goes stale for long.
    refresh_rows: bool = False


# ----- the loop ----------------------------------------------------------------------------------
Verdict = Literal["ended", "stopped"] | None


class Reader(Protocol):
    """What one tick reads, and whether the watch is over."""

    @property
    def jobs(self) -> list[Tracked]:
        """The followed jobs, in the order views show them."""

    def read(self) -> TickReport:
        """One tick's requests; passing trouble is reported, real errors are raised."""

    def verdict(self, policy: PollPolicy) -> Verdict:
        """None while the watch goes on; "ended" when it is over; "stopped" at a failure
        before the others ended (``fail_fast``)."""


# What bounds the requests of one tick (``JobSource.time_limit``): seconds from now, or None.
TimeLimit = Callable[[float | None], AbstractContextManager[None]]


def time_left(deadline: float | None, now: float) -> float | None:
    """What a tick's requests get: the time to the deadline, and at the deadline itself
    enough for a last look."""
    if deadline is None:
        return None
    return max(deadline - now, LAST_LOOK_SECONDS)


class Poller:
    """The timing of one watch; ``reader`` does the reading, each tick's requests ending by the
    deadline (``time_limit``), so that ``--timeout`` holds with requests in flight."""

    def __init__(
        self,
        reader: Reader,
        policy: PollPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        time_limit: TimeLimit | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        """``notify``: told once, in words, when the loop first slows down for the write
        quota (the loop itself never prints)."""
        self.reader = reader
        self.notify = notify
        self.stretch = 1.0  # how many intervals to wait while writes run low
        self.time_limit = time_limit
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.interval = policy.interval
        self.started = clock()
        self.deadline = None if policy.timeout is None else self.started + policy.timeout
        self.blocked_until = self.started
        self.trouble: Trouble | None = None
        self.failures = 0
        self.good_ticks = 0
        self.requests = 0
        self.ticks = 0
        self._report = TickReport()

    def run(self, sleep: Callable[[float], None] | None = None) -> Iterator[Snapshot]:
        """Tick by tick until the reader says the watch is over, or the deadline; ``sleep``
        (default: the injected one) waits between ticks, so a live view can redraw meanwhile."""
        wait = sleep or self.sleep
        while True:
            self._tick()
            now = self.clock()
            verdict = self.reader.verdict(self.policy)
            if verdict is not None:
                yield self._snapshot(now, finished=True, stopped_early=verdict == "stopped")
                return
            if self.deadline is not None and now >= self.deadline:
                yield self._snapshot(now, timed_out=True)
                return
            wake = now + self._delay(now)
            last_chance = self.deadline is not None and wake >= self.deadline
            if last_chance:
                assert self.deadline is not None
                wake = self.deadline
            yield self._snapshot(now, next_poll_at=wake)
            remaining = wake - self.clock()
            if remaining > 0:
                wait(remaining)
            if last_chance and self.blocked_until > self.clock():
                # A Retry-After runs past the deadline: no last look is allowed.
                self._report = TickReport(polled_wall=self._report.polled_wall)
                yield self._snapshot(self.clock(), timed_out=True)
                return

    def _snapshot(self, now: float, **flags: Any) -> Snapshot:
        report = self._report
        return Snapshot(
            jobs=self.reader.jobs,
            started=self.started,
            polled_at=now,
            changed=list(report.changed),
            trouble=self.trouble,
            requests=self.requests,
            interval=self._paced(self.stretch),
            ticks=self.ticks,
            polled_wall=report.polled_wall,
            newly_started=list(report.newly_started),
            newly_ended=list(report.newly_ended),
            unknown=list(report.unknown),
            **flags,
        )

    def _delay(self, now: float) -> float:
        jitter = self.policy.jitter
        if self.trouble is not None:
            base = min(self.policy.max_backoff, self.policy.interval * 2 ** (self.failures - 1))
            delay = base * (1 - jitter / 2 + jitter * self.rng.random() / 2)
        else:
            interval = self._paced(self.stretch)
            delay = interval * (1 - jitter + 2 * jitter * self.rng.random())
        return float(max(delay, self.blocked_until - now, 0.0))

    def _tick(self) -> None:
        """One read, and what it means for the pace: the backoff grows only while ticks get
        no answer at all; throttling slows the interval down until polls go well again."""
        self.ticks += 1
        if self.time_limit is None:
            report = self._report = self.reader.read()
        else:
            with self.time_limit(time_left(self.deadline, self.clock())):
                report = self._report = self.reader.read()
        self.requests += report.requests
        if report.writes_left is not None:
            self._pace_writes(report.writes_left)
        if report.blocked_until is not None:
            self.blocked_until = max(self.blocked_until, report.blocked_until)
        if report.problem is None:
            self.trouble = None
            self.failures = 0
            self.good_ticks += 1
            if self.good_ticks >= THROTTLE_RECOVERY_POLLS and self.interval > self.policy.interval:
                self.interval = max(self.policy.interval, self.interval / THROTTLE_FACTOR)
                self.good_ticks = 0
        else:
            self._trouble(*report.problem, progress=report.progress)

    def _paced(self, stretch: float) -> float:
        """The interval, ``stretch`` times as long while the write quota runs low."""
        return min(self.interval * stretch, MAX_INTERVAL)

    def _pace_writes(self, left: int) -> None:
        """Poll less often while the subscription's writes run low (the secondary region reads
        with POSTs, which count as writes), and say so the first time."""
        stretch = write_stretch(left)
        if stretch > 1.0 and self.stretch == 1.0 and self.notify is not None:
            slower = self._paced(stretch)
            self.notify(
                f"azjobs: only {left} writes left in this subscription's hourly quota (under "
                f"{LOW_WRITES}); polling every {slower:.0f} s instead of {self.interval:.0f} s "
                "until it recovers"
            )
            self.notify = None  # once per watch
        self.stretch = stretch

    def _trouble(self, reason: str, exc: BaseException, *, progress: bool) -> None:
        now = self.clock()
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            retry_after = min(float(retry_after), self.policy.max_retry_after)
            self.blocked_until = max(self.blocked_until, now + retry_after)
        if reason == "throttled":
            ceiling = max(self.policy.interval, THROTTLED_INTERVAL_CEILING)
            self.interval = min(self.interval * THROTTLE_FACTOR, ceiling)
        self.failures = 1 if progress else self.failures + 1
        self.good_ticks = 0
        since = self.trouble.since if self.trouble is not None else now
        message = getattr(exc, "message", None) or str(exc) or reason
        self.trouble = Trouble(
            reason=reason,
            detail=sanitize(message, 200),
            since=since,
            failures=self.failures,
            retry_after=retry_after,
        )
