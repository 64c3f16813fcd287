"""The poll loop: follow jobs until they all end, as a generator of snapshots.

The loop owns the timing rules and nothing else (no printing): poll at once, then every
``interval`` seconds with a little jitter; after 429, 5xx, dropped connections or unreadable
bodies back off exponentially up to two minutes and keep going, never sending a request before a
``Retry-After`` has elapsed; stop when every job has ended, at the first failure with
``fail_fast``, or at the deadline. Sleep, clock and randomness are injected, so tests run a
whole watch in no time and every view (live, plain lines, NDJSON, JSON) shares this one loop.

A 404 during the first ``grace`` seconds means "not visible yet" (the service lags right after a
trigger); 401/403 that survive the client's one token renewal, and a 404 after the grace
period, are real errors and are raised.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from azbackupjobs.arm.client import (
    MAX_RETRY_AFTER,
    NO_RETRY,
    BackupJobsClient,
    parse_retry_after,
    pause,
)
from azbackupjobs.model.errors import (
    ApiError,
    AuthError,
    AzJobsError,
    ExitCode,
    NetworkError,
    NotFoundError,
    RequestTimeout,
    UnexpectedResponseError,
    UsageError,
)
from azbackupjobs.model.job import Job, JobStatus, change_key, parse_duration
from azbackupjobs.model.text import sanitize

DEFAULT_INTERVAL = 10.0
MIN_INTERVAL = 1.0
MAX_INTERVAL = 3600.0
DEFAULT_GRACE = 60.0
MAX_BACKOFF = 120.0
# What a request at the deadline (the last look) may take: --timeout bounds the whole watch,
# requests in flight included, give or take this.
LAST_LOOK_SECONDS = 2.0
# After a 429 the interval grows (x1.5 each time) up to this, or the asked interval if larger;
# after THROTTLE_RECOVERY_POLLS good polls in a row it shrinks again towards the asked one.
THROTTLED_INTERVAL_CEILING = 60.0
THROTTLE_FACTOR = 1.5
THROTTLE_RECOVERY_POLLS = 5
# The service accepts a job-list time window of at most 30 days.
_MAX_LIST_WINDOW = timedelta(days=29)
_LIST_MARGIN = timedelta(days=1)
# 404 codes that no amount of waiting fixes.
_PERMANENT_404 = frozenset({"ResourceGroupNotFound", "SubscriptionNotFound"})

# Worst first: with several jobs the most severe outcome sets the exit code.
SEVERITY: tuple[ExitCode, ...] = (
    ExitCode.JOB_FAILED,
    ExitCode.JOB_CANCELLED,
    ExitCode.JOB_WARNINGS,
    ExitCode.OK,
)


# ----- outcomes ----------------------------------------------------------------------------------
def outcome(job: Job, strict: bool = False) -> ExitCode:
    """The exit code one ended job stands for (a running job counts as OK here).

    A VM backup that was cancelled ends CompletedWithWarnings with error 400158: that is a
    cancellation (7), not a success with warnings.
    """
    if job.status is JobStatus.FAILED:
        return ExitCode.JOB_FAILED
    if job.was_cancelled:
        return ExitCode.JOB_CANCELLED
    if job.status is JobStatus.COMPLETED_WITH_WARNINGS:
        return ExitCode.JOB_WARNINGS if strict else ExitCode.OK
    return ExitCode.OK


def worst(codes: list[ExitCode]) -> ExitCode:
    """6 over 7 over 8 over 0."""
    for code in SEVERITY:
        if code in codes:
            return code
    return ExitCode.OK


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


@dataclass
class Tracked:
    """One watched job as last seen; ``job`` stays None until the service shows it."""

    job_id: str
    job: Job | None = None
    last_update: float | None = None  # clock() of the last successful read (detail or list)
    detail_at: float | None = None  # clock() of the last read of the job's details
    # The newest duration the service reported (a list item carries it too), and when.
    duration: timedelta | None = None
    duration_at: float | None = None
    missing_since: float | None = None
    key: Any = None
    list_key: Any = None

    @property
    def ended(self) -> bool:
        return self.job is not None and self.job.is_terminal

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.is_terminal


@dataclass(frozen=True)
class Trouble:
    """Trouble that will pass: shown in a status line, never an error."""

    reason: str  # "throttled", "connection lost", "service error (HTTP 503)", ...
    detail: str
    since: float
    failures: int
    retry_after: float | None = None


@dataclass
class Snapshot:
    """What the loop knows after one poll; ``changed`` holds the jobs that changed in it."""

    jobs: list[Tracked]
    started: float
    polled_at: float
    changed: list[Job] = field(default_factory=list)
    trouble: Trouble | None = None
    next_poll_at: float | None = None
    finished: bool = False
    timed_out: bool = False
    stopped_early: bool = False
    requests: int = 0
    interval: float = DEFAULT_INTERVAL

    @property
    def done(self) -> bool:
        return self.finished or self.timed_out


def detailed(jobs: list[Tracked], limit: int) -> list[Tracked]:
    """The running jobs a view shows in detail: the first ``limit`` in the order given."""
    return [t for t in jobs if t.running][: max(limit, 0)]


class _Unreadable(Exception):
    """A 2xx whose body is not a job (truncated, HTML, not an object): transient."""


def transient_reason(exc: BaseException) -> str | None:
    """Why a failure is worth waiting out, or None when it is a real error."""
    if isinstance(exc, _Unreadable):
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


def time_left(deadline: float | None, now: float) -> float | None:
    """What a loop gives the requests of one tick (``BackupJobsClient.time_limit``): the time
    to its deadline, and at the deadline itself enough for a last look."""
    if deadline is None:
        return None
    return max(deadline - now, LAST_LOOK_SECONDS)


def failure_delay(interval: float, failures: int, exc: BaseException, rng: random.Random) -> float:
    """The wait after ``failures`` failed polls in a row, for the loops that poll one thing
    (an operation, a Resource Graph query): exponential backoff from ``interval`` up to
    ``MAX_BACKOFF`` with a little jitter, and never shorter than the failure's Retry-After
    (the jitter applies before that floor, so it cannot cut a Retry-After short)."""
    delay = min(MAX_BACKOFF, interval * 2 ** (failures - 1)) * (0.95 + rng.random() / 10)
    retry_after = getattr(exc, "retry_after", None)
    return pause(retry_after, default=delay, floor=delay, cap=max(MAX_RETRY_AFTER, delay))


class JobPoller:
    """The loop behind :func:`poll_jobs`; one instance per watch."""

    def __init__(
        self,
        client: BackupJobsClient,
        job_ids: list[str],
        policy: PollPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.jobs = [Tracked(j) for j in dict.fromkeys(job_ids)]
        self.interval = policy.interval
        self.started = clock()
        self.deadline = None if policy.timeout is None else self.started + policy.timeout
        self.blocked_until = self.started
        self.trouble: Trouble | None = None
        self.failures = 0
        self.good_ticks = 0
        self._answers = 0
        self.requests = 0
        self.use_list = policy.use_list
        self._changed: list[Job] = []

    # ----- the loop ---------------------------------------------------------------------------
    def run(self) -> Iterator[Snapshot]:
        while True:
            self._tick()
            now = self.clock()
            if self._finished():
                yield self._snapshot(now, finished=True, stopped_early=not self._all_ended())
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
                self.sleep(remaining)
            if last_chance and self.blocked_until > self.clock():
                # A Retry-After runs past the deadline: no last look is allowed.
                self._changed = []
                yield self._snapshot(self.clock(), timed_out=True)
                return

    def _all_ended(self) -> bool:
        return all(t.ended for t in self.jobs)

    def _finished(self) -> bool:
        if self._all_ended():
            return True
        if self.policy.fail_fast:
            return any(
                t.job is not None
                and t.ended
                and outcome(t.job, self.policy.strict) is not ExitCode.OK
                for t in self.jobs
            )
        return False

    def _snapshot(self, now: float, **flags: Any) -> Snapshot:
        return Snapshot(
            jobs=self.jobs,
            started=self.started,
            polled_at=now,
            changed=list(self._changed),
            trouble=self.trouble,
            requests=self.requests,
            interval=self.interval,
            **flags,
        )

    def _delay(self, now: float) -> float:
        jitter = self.policy.jitter
        if self.trouble is not None:
            base = min(self.policy.max_backoff, self.policy.interval * 2 ** (self.failures - 1))
            delay = base * (1 - jitter / 2 + jitter * self.rng.random() / 2)
        else:
            delay = self.interval * (1 - jitter + 2 * jitter * self.rng.random())
        return float(max(delay, self.blocked_until - now, 0.0))

    # ----- one tick ---------------------------------------------------------------------------
    def _tick(self) -> None:
        """Read what needs reading. A 5xx or an unreadable body on one job does not stop the
        others; throttling and a lost connection end the tick. The backoff grows only while
        ticks get no answer at all."""
        self._changed = []
        self._answers = 0
        problem: tuple[str, BaseException] | None = None
        pending = [t for t in self.jobs if not t.ended]
        with self.client.time_limit(time_left(self.deadline, self.clock())):
            try:
                to_fetch = self._to_fetch(pending)
            except AzJobsError as exc:
                problem, to_fetch = (self._transient_or_raise(exc), exc), []
            for tracked in to_fetch:
                try:
                    self._fetch(tracked)
                except (AzJobsError, _Unreadable) as exc:
                    problem = (self._transient_or_raise(exc), exc)
                    if problem[0] in ("throttled", "connection lost", "timed out"):
                        break
        if problem is None:
            self.trouble = None
            self.failures = 0
            self.good_ticks += 1
            if self.good_ticks >= THROTTLE_RECOVERY_POLLS and self.interval > self.policy.interval:
                self.interval = max(self.policy.interval, self.interval / THROTTLE_FACTOR)
                self.good_ticks = 0
        else:
            self._trouble(*problem, progress=self._answers > 0)

    @staticmethod
    def _transient_or_raise(exc: BaseException) -> str:
        reason = transient_reason(exc)
        if reason is None:
            raise exc
        return reason

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

    def _to_fetch(self, pending: list[Tracked]) -> list[Tracked]:
        """Jobs to GET this tick. With several running jobs that no view shows in detail, one
        list request tells which of them changed; only those are fetched."""
        shown = {t.job_id for t in detailed(pending, self.policy.detail_limit)}
        checkable = [t for t in pending if t.running and t.job_id not in shown]
        if not self.use_list or len(checkable) < 2:
            return pending
        listed = self._list_in_progress(checkable)
        if listed is None:
            return pending
        now = self.clock()
        fetch: list[Tracked] = []
        for tracked in pending:
            if tracked not in checkable:
                fetch.append(tracked)
                continue
            item = listed.get(tracked.job_id)
            if item is None:  # no longer InProgress: it changed
                fetch.append(tracked)
                continue
            key = change_key(item)
            props = item.get("properties")
            status = props.get("status") if isinstance(props, dict) else None
            assert tracked.job is not None
            if (tracked.list_key is not None and key != tracked.list_key) or (
                status != tracked.job.status_raw
            ):
                fetch.append(tracked)
            else:
                tracked.last_update = now
                if isinstance(props, dict):
                    tracked.duration = parse_duration(props.get("duration"))
                    tracked.duration_at = now
            tracked.list_key = key
        if self.policy.refresh_rows:
            quiet = [t for t in checkable if t not in fetch]
            if quiet:
                fetch.append(min(quiet, key=lambda t: t.detail_at or 0.0))
        return fetch

    def _list_in_progress(self, jobs: list[Tracked]) -> dict[str, dict[str, Any]] | None:
        """The vault's InProgress jobs around the watched jobs' start times, by job name."""
        from azbackupjobs.sources.filters import Window, build_filter

        starts = [t.job.start_time for t in jobs if t.job is not None and t.job.start_time]
        if len(starts) < len(jobs):
            return None
        low, high = min(starts) - _LIST_MARGIN, max(starts) + _LIST_MARGIN
        if high - low > _MAX_LIST_WINDOW:
            return None
        odata = build_filter(
            Window(low.replace(microsecond=0), high.replace(microsecond=0)), status="InProgress"
        )
        found: dict[str, dict[str, Any]] = {}
        try:
            for page in self.client.iter_job_pages(odata, retry=NO_RETRY):
                self.requests += 1
                self._answers += 1
                for item in page:
                    name = item.get("name")
                    if isinstance(name, str):
                        found[name.lower()] = item
        except ApiError as exc:
            if transient_reason(exc) is None and exc.status == 400:
                self.use_list = False  # a service that refuses the filter: GET each job instead
                return None
            raise
        return found

    def _fetch(self, tracked: Tracked) -> None:
        client = self.client
        self.requests += 1
        try:
            resp = client.request("GET", client.job_url(tracked.job_id), retry=NO_RETRY)
        except NotFoundError as exc:
            self._answers += 1
            self._not_found(tracked, exc)
            return
        self._answers += 1
        now = self.clock()
        try:
            job = Job.from_dict(resp.body)
        except UnexpectedResponseError as exc:
            raise _Unreadable(f"{exc.message} (request id {resp.request_id})") from None
        after = parse_retry_after(resp.headers)
        if after:
            self.blocked_until = max(
                self.blocked_until, now + min(after, self.policy.max_retry_after)
            )
        key = change_key(resp.body)
        if key != tracked.key:
            self._changed.append(job)
            tracked.key = key
        tracked.job = job
        tracked.last_update = tracked.detail_at = tracked.duration_at = now
        tracked.duration = job.duration
        tracked.missing_since = None

    def _not_found(self, tracked: Tracked, exc: NotFoundError) -> None:
        now = self.clock()
        if exc.code in _PERMANENT_404:
            raise exc
        if tracked.missing_since is None:
            tracked.missing_since = self.started if tracked.job is None else now
        if now - tracked.missing_since >= self.policy.grace:
            if tracked.job is None and self.policy.grace > 0:
                exc.hint = exc.hint or (
                    f"job {tracked.job_id} did not appear within the --grace period "
                    f"({self.policy.grace:g} s)"
                )
            raise exc


def poll_jobs(
    client: BackupJobsClient,
    job_ids: list[str],
    policy: PollPolicy,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Iterator[Snapshot]:
    """Poll until every job ended (or fail-fast, or the deadline); one snapshot per poll."""
    return JobPoller(client, job_ids, policy, clock=clock, sleep=sleep, rng=rng).run()
