"""Reading what runs across a fleet, tick by tick, for the poll loop (``watch --fleet``).

Each tick is one Resource Graph query: the jobs in the watched statuses (InProgress and Cancelling
by default), and in the same query the jobs that ended since the previous tick (less a margin for
Resource Graph's delay) and the watched jobs that left the running set without a visible end. So
a job seen running is followed to its end, and the watch is over when nothing runs any more.
``details`` reads the newest running jobs through their vault's API (tasks, progress): only then
are vault requests sent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from azbackupjobs.arm.client import NO_RETRY
from azbackupjobs.follow.pacing import transient_or_raise
from azbackupjobs.follow.poll import Poller, PollPolicy, Verdict
from azbackupjobs.follow.state import TickReport, Tracked
from azbackupjobs.model.errors import AzJobsError, NotFoundError
from azbackupjobs.model.job import Job, change_key
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.fleet import ResourceGraphSource

RUNNING_STATUSES = ("InProgress", "Cancelling")
# How far back each tick looks for ends: Resource Graph shows a job's end a little late.
LAG_MARGIN = timedelta(minutes=15)
# A watched job that left the running set without a visible end counts as ended (outcome not
# known) after this long.
PENDING_GIVE_UP = 3600.0
MAX_PENDING_IN_QUERY = 200
DETAIL_LIMIT = 3


@dataclass(frozen=True)
class FleetWatchOptions:
    interval: float = 10.0
    timeout: float | None = None
    strict: bool = False
    details: bool = False
    detail_limit: int = DETAIL_LIMIT


def job_key(job: Job) -> str:
    """How a fleet watch tells jobs apart: the job's ARM id, lower-cased, since one fleet spans
    many vaults."""
    return (job.id or job.job_id).lower()


def _start_key(tracked: Tracked) -> tuple[float, str]:
    job = tracked.job
    assert job is not None
    return (job.start_time.timestamp() if job.start_time else 0.0, job.job_id)


class FleetReader:
    """The running jobs of ``query`` across the fleet, and how each of them ends."""

    def __init__(
        self,
        source: ResourceGraphSource,
        query: JobQuery,
        options: FleetWatchOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime],
    ) -> None:
        self.source = source
        self.query = query
        self.options = options
        self.clock = clock
        self.wall = wall
        self.tracked: dict[str, Tracked] = {}  # every job seen running, by key
        self.running: dict[str, Tracked] = {}
        self.ended: dict[str, Tracked] = {}  # in the order they ended
        self.pending: dict[str, float] = {}  # key -> clock() when it left the running set
        self.unknown: list[str] = []
        self.last_ok: datetime | None = None
        self._troubled = False

    @property
    def jobs(self) -> list[Tracked]:
        """The running jobs, newest first, then those that ended, in the order they did."""
        running = sorted(self.running.values(), key=_start_key, reverse=True)
        return running + list(self.ended.values())

    def verdict(self, policy: PollPolicy) -> Verdict:
        if self._troubled or self.running or self.pending:
            return None
        return "ended"

    def read(self) -> TickReport:
        report = TickReport(requests=1)
        polled = self.wall()
        try:
            ended_since = self.last_ok - LAG_MARGIN if self.last_ok is not None else None
            pending = [self.tracked[k].job_id for k in list(self.pending)[:MAX_PENDING_IN_QUERY]]
            rows = self.source.running(self.query, ended_since=ended_since, pending=pending)
            jobs = [Job.from_dict(raw) for raw in rows]
        except AzJobsError as exc:
            report.problem = (transient_or_raise(exc), exc)
        else:
            self.last_ok = report.polled_wall = polled
            self._apply(jobs, report)
            self._read_details(report)
            self._note_changes(report)
        report.unknown = list(self.unknown)
        self._troubled = report.problem is not None
        return report

    def _apply(self, jobs: list[Job], report: TickReport) -> None:
        now = self.clock()
        present: set[str] = set()
        for job in jobs:
            key = job_key(job)
            if job.is_terminal:
                if (key in self.running or key in self.pending) and key not in self.ended:
                    tracked = self.tracked[key]
                    tracked.job, tracked.detail, tracked.last_update = job, None, now
                    self.ended[key] = tracked
                    report.newly_ended.append(job)
                    self.running.pop(key, None)
                    self.pending.pop(key, None)
                continue
            present.add(key)
            if key not in self.running and key not in self.ended:
                report.newly_started.append(job)
            self.pending.pop(key, None)
            tracked = self.tracked.setdefault(key, Tracked(job.job_id))
            tracked.job, tracked.last_update = job, now
            self.running[key] = tracked
        for key in [k for k in self.running if k not in present]:
            self.running.pop(key)
            self.pending[key] = now
        for key, since in list(self.pending.items()):
            if now - since >= PENDING_GIVE_UP:
                self.pending.pop(key)
                self.unknown.append(self.tracked[key].job_id)

    def _read_details(self, report: TickReport) -> None:
        """The newest running jobs through their vault's API (their row id names the vault)."""
        if not self.options.details:
            return
        newest = sorted(self.running.values(), key=_start_key, reverse=True)
        wanted = newest[: self.options.detail_limit]
        for tracked in self.running.values():
            if tracked not in wanted:
                tracked.detail = None
        for tracked in wanted:
            assert tracked.job is not None
            ref = self.source.ref_of(tracked.job.raw)
            try:
                if ref is None:
                    continue
                self.source.job_url(ref)
            except AzJobsError:
                continue  # a row whose id is not a job's
            report.requests += 1
            try:
                resp = self.source.fetch_job(ref, retry=NO_RETRY)
                detail = Job.from_dict(resp.body)
            except NotFoundError:
                continue  # the vault API has not caught up yet, or the job is gone
            except AzJobsError as exc:
                reason = transient_or_raise(exc)
                report.problem = report.problem or (f"job details: {reason}", exc)
                report.progress = True
                continue
            tracked.detail, tracked.detail_at = detail, self.clock()

    def _note_changes(self, report: TickReport) -> None:
        """New or changed jobs (a running job's details stand for it when read)."""
        for job in report.newly_ended:
            self._changed(self.tracked[job_key(job)], job, report)
        for tracked in self.running.values():
            latest = tracked.latest
            assert latest is not None
            self._changed(tracked, latest, report)

    @staticmethod
    def _changed(tracked: Tracked, job: Job, report: TickReport) -> None:
        """``job`` changed when it differs from the last one seen *of its shape*: a Resource
        Graph row and the job's own GET never compare equal, and a job moves between the two
        as the newest running jobs get their details read, which is no change of the job.
        The row's key is kept up to date while the details stand for it."""
        row = tracked.job
        row_key = change_key(dict(row.raw)) if row is not None else None
        row_changed = row_key != tracked.list_key
        tracked.list_key = row_key
        if tracked.detail is not None and job is tracked.detail:
            fingerprint = change_key(dict(job.raw))
            if tracked.key != fingerprint:
                tracked.key = fingerprint
                report.changed.append(job)
        elif row_changed:
            report.changed.append(job)


def fleet_poller(
    source: ResourceGraphSource,
    query: JobQuery,
    options: FleetWatchOptions,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Poller:
    """The poll loop of ``watch --fleet``: one query per tick, until nothing runs any more."""
    policy = PollPolicy(interval=options.interval, timeout=options.timeout, strict=options.strict)
    reader = FleetReader(source, query, options, clock=clock, wall=wall)
    return Poller(reader, policy, clock=clock, sleep=sleep, rng=rng, time_limit=source.time_limit)
