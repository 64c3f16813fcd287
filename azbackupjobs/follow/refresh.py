"""A value refreshed from Azure in the background, so that readers never wait on Azure.

``metrics --serve`` answers scrapes from the last good value while a thread replaces it every
``interval`` seconds. A refresh that fails keeps the last good value (and says so in the state:
readers show its age and the failure); the loop goes on. Everything is bounded: the thread waits
on a stop event rather than sleeping, the sleeps of a refresh (retries, quota waits) go through
``stoppable_sleep`` so that a stop cuts them short, and ``close`` joins with a timeout.

The first refresh is the caller's, in the foreground (``refresh(raise_errors=True)``): a wrong
vault, a refused credential or an endpoint that never answers ends the command with its exit
code, instead of a server that serves nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from azbackupjobs.follow.poll import parse_duration_arg
from azbackupjobs.model.errors import AzJobsError, UsageError
from azbackupjobs.model.text import sanitize

T = TypeVar("T")

DEFAULT_REFRESH = 300.0
# Each refresh reads every job of the window: through Resource Graph that spends queries of the
# identity's quota (15 per 5 seconds, shared with all its other tools), and Resource Graph lags
# the vault API by minutes anyway; nothing is gained by asking more often than once a minute.
MIN_REFRESH = 60.0
MAX_REFRESH = 86400.0
# A refresh that overran its interval is followed by the next after at least this share of it.
_MIN_GAP_SHARE = 0.1


def parse_refresh(value: str) -> float:
    """``--refresh``: a duration from one minute to one day; below the floor is refused (exit 2)
    with the reason, not raised to it silently."""
    seconds = parse_duration_arg(value, "--refresh")
    shown = sanitize(value, 40)
    if seconds < MIN_REFRESH:
        raise UsageError(
            f"--refresh: {shown!r} is shorter than {MIN_REFRESH:g} seconds: each refresh reads "
            "every job of the window again (through Resource Graph, from the identity's quota "
            "of 15 queries per 5 seconds), and the jobs data itself lags by minutes",
            hint="scrapes never wait for a refresh: scrape as often as you like, refresh "
            "every 1m or more",
        )
    if seconds > MAX_REFRESH:
        raise UsageError(f"--refresh: {shown!r} is longer than a day")
    return seconds


class Stopped(Exception):
    """The refresher was stopped while a refresh waited."""


def stoppable_sleep(stop: threading.Event) -> Callable[[float], None]:
    """A ``sleep`` for the clients of a refresh: it returns early, raising Stopped, on stop."""

    def sleep(seconds: float) -> None:
        if stop.wait(max(seconds, 0.0)):
            raise Stopped()

    return sleep


@dataclass(frozen=True)
class RefreshState(Generic[T]):
    """What readers see: the last good value, and how the refreshes went. Wall-clock times."""

    value: T | None = None
    value_at: float | None = None  # when the refresh that produced the value began
    succeeded_at: float | None = None  # when the last successful refresh ended
    attempted_at: float | None = None  # when the last refresh, good or bad, ended
    ok: bool = False  # whether that last refresh succeeded
    duration: float | None = None  # how long it took
    error: str | None = None  # why it failed
    successes: int = 0
    failures: int = 0


class Refresher(Generic[T]):
    """Runs ``load`` now (``refresh``) and then every ``interval`` seconds in a thread."""

    def __init__(
        self,
        load: Callable[[], T],
        interval: float,
        *,
        stop: threading.Event | None = None,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        report: Callable[[str], None] | None = None,
        name: str = "azjobs-refresh",
    ) -> None:
        self.load = load
        self.interval = interval
        self.stop_event = stop if stop is not None else threading.Event()
        self.wall = wall
        self.clock = clock
        self.report = report
        self.name = name
        self._state: RefreshState[T] = RefreshState()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> RefreshState[T]:
        return self._state  # replaced whole, never changed in place: no lock needed to read

    def fresh(self, now: float | None = None) -> bool:
        """A refresh succeeded within the last two intervals: one failed refresh is a blip,
        two in a row are an outage."""
        ended = self._state.succeeded_at
        moment = self.wall() if now is None else now
        return ended is not None and moment - ended <= 2 * self.interval

    def refresh(self, *, raise_errors: bool = False) -> RefreshState[T]:
        """Run ``load`` once and record the result. A failure keeps the last good value and is
        reported in one line, or raised with ``raise_errors``; Stopped is always raised."""
        began_wall, began = self.wall(), self.clock()
        try:
            value = self.load()
        except Stopped:
            raise
        except AzJobsError as exc:
            if raise_errors:
                raise
            reason = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
            return self._failed(began, sanitize(reason, 400))
        except Exception as exc:  # the loop must outlive a bug in one refresh
            if raise_errors:
                raise
            return self._failed(began, f"unexpected {type(exc).__name__}: {sanitize(exc, 300)}")
        with self._lock:
            old = self._state
            ended = self.wall()
            self._state = RefreshState(
                value=value,
                value_at=began_wall,
                succeeded_at=ended,
                attempted_at=ended,
                ok=True,
                duration=self.clock() - began,
                successes=old.successes + 1,
                failures=old.failures,
            )
            return self._state

    def _failed(self, began: float, reason: str) -> RefreshState[T]:
        with self._lock:
            old = self._state
            self._state = replace(
                old,
                attempted_at=self.wall(),
                ok=False,
                duration=self.clock() - began,
                error=reason,
                failures=old.failures + 1,
            )
            state = self._state
        if self.report is not None:
            self.report(f"refresh failed, serving the data of the last good one: {reason}")
        return state

    # ----- the thread -----------------------------------------------------------------------------
    def start(self) -> None:
        """Refresh every ``interval`` seconds, start to start, from now on (in a daemon thread)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_at = self.clock() + self.interval
        while not self.stop_event.wait(max(next_at - self.clock(), 0.0)):
            began = self.clock()
            try:
                self.refresh()
            except Stopped:
                return
            next_at = max(began + self.interval, self.clock() + self.interval * _MIN_GAP_SHARE)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop the thread; True when it ended within ``timeout`` (a request under way runs out
        its own timeout in a daemon thread, which does not keep the process alive)."""
        self.stop_event.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
