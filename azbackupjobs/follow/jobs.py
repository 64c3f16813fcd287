"""Reading named jobs, tick by tick, for the poll loop (``watch JOB...``, ``cancel --wait``).

Each tick reads every job that has not ended. With several running jobs that no view shows in
detail, one list request asks the source which of them are still InProgress and unchanged; only
the others are read again. A 5xx or an unreadable body on one job does not stop the others;
throttling and a lost connection end the tick.

A 404 during the first ``grace`` seconds means "not visible yet" (the service lags right after a
trigger); 401/403 that survive the transport's one token renewal, and a 404 after the grace
period, are real errors and are raised.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from azbackupjobs.arm.client import NO_RETRY
from azbackupjobs.follow.pacing import (
    Unreadable,
    retry_after,
    transient_or_raise,
    transient_reason,
    writes_left,
)
from azbackupjobs.follow.poll import Poller, PollPolicy, Verdict
from azbackupjobs.follow.state import Snapshot, TickReport, Tracked, detailed, outcome
from azbackupjobs.model.errors import (
    ApiError,
    AzJobsError,
    ExitCode,
    NotFoundError,
    UnexpectedResponseError,
)
from azbackupjobs.model.job import Job, change_key, parse_duration
from azbackupjobs.sources.base import JobQuery, JobSource
from azbackupjobs.sources.filters import Window

# The service accepts a job-list time window of at most 30 days.
_MAX_LIST_WINDOW = timedelta(days=29)
_LIST_MARGIN = timedelta(days=1)
# 404 codes that no amount of waiting fixes.
_PERMANENT_404 = frozenset({"ResourceGroupNotFound", "SubscriptionNotFound"})
# Passing trouble that ends a tick: the next request would meet it too.
_END_TICK = ("throttled", "connection lost", "timed out")


class JobReader:
    """The jobs named by ``refs`` (as ``source.fetch_job`` takes them), read tick by tick."""

    def __init__(
        self,
        source: JobSource,
        refs: list[str],
        policy: PollPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.policy = policy
        self.clock = clock
        self.jobs = [Tracked(j) for j in dict.fromkeys(refs)]
        self.started = clock()
        self.use_list = policy.use_list
        self._report = TickReport()

    def verdict(self, policy: PollPolicy) -> Verdict:
        if all(t.ended for t in self.jobs):
            return "ended"
        if policy.fail_fast and any(
            t.job is not None and t.ended and outcome(t.job, policy.strict) is not ExitCode.OK
            for t in self.jobs
        ):
            return "stopped"
        return None

    def read(self) -> TickReport:
        report = self._report = TickReport()
        problem: tuple[str, BaseException] | None = None
        pending = [t for t in self.jobs if not t.ended]
        try:
            to_fetch = self._to_fetch(pending)
        except AzJobsError as exc:
            problem, to_fetch = (transient_or_raise(exc), exc), []
        for tracked in to_fetch:
            try:
                self._fetch(tracked)
            except (AzJobsError, Unreadable) as exc:
                problem = (transient_or_raise(exc), exc)
                if problem[0] in _END_TICK:
                    break
        report.problem = problem
        return report

    def _to_fetch(self, pending: list[Tracked]) -> list[Tracked]:
        """Jobs to read this tick. With several running jobs that no view shows in detail, one
        list request tells which of them changed; only those are read."""
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
        """The source's InProgress jobs around the watched jobs' start times, by job name."""
        starts = [t.job.start_time for t in jobs if t.job is not None and t.job.start_time]
        if len(starts) < len(jobs):
            return None
        low, high = min(starts) - _LIST_MARGIN, max(starts) + _LIST_MARGIN
        if high - low > _MAX_LIST_WINDOW:
            return None
        window = Window(low.replace(microsecond=0), high.replace(microsecond=0))
        query = JobQuery(window, statuses=("InProgress",))
        found: dict[str, dict[str, Any]] = {}
        self._report.requests += 1
        try:
            for item in self.source.jobs(query, retry=NO_RETRY):
                self._report.progress = True
                name = item.get("name")
                if isinstance(name, str):
                    found[name.lower()] = item
            self._report.progress = True
        except ApiError as exc:
            if transient_reason(exc) is None and exc.status == 400:
                self.use_list = False  # a service that refuses the filter: read each job instead
                return None
            raise
        return found

    def _fetch(self, tracked: Tracked) -> None:
        report = self._report
        report.requests += 1
        try:
            resp = self.source.fetch_job(tracked.job_id, retry=NO_RETRY)
        except NotFoundError as exc:
            report.progress = True
            self._not_found(tracked, exc)
            return
        report.progress = True
        now = self.clock()
        try:
            job = Job.from_dict(resp.body)
        except UnexpectedResponseError as exc:
            raise Unreadable(f"{exc.message} (request id {resp.request_id})") from None
        after = retry_after(resp.headers)
        if after:
            until = now + min(after, self.policy.max_retry_after)
            report.blocked_until = max(report.blocked_until or until, until)
        left = writes_left(resp.headers)
        if left is not None and (report.writes_left is None or left < report.writes_left):
            report.writes_left = left
        key = change_key(resp.body)
        if key != tracked.key:
            report.changed.append(job)
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
    source: JobSource,
    refs: list[str],
    policy: PollPolicy,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    notify: Callable[[str], None] | None = None,
) -> Iterator[Snapshot]:
    """Poll until every job ended (or fail-fast, or the deadline); one snapshot per poll.
    ``notify``: told once, in words, when the loop slows down to spare the write quota."""
    reader = JobReader(source, refs, policy, clock=clock)
    poller = Poller(
        reader,
        policy,
        clock=clock,
        sleep=sleep,
        rng=rng,
        time_limit=source.time_limit,
        notify=notify,
    )
    return poller.run()
