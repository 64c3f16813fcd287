"""The loop of ``azjobs watch --fleet``: running jobs across the fleet, one Resource Graph query
per tick, as a generator of ticks (no printing).

Each tick asks for the jobs in the watched statuses (InProgress and Cancelling by default), and in
the same query for the jobs that ended since the previous tick (less a margin for Resource
Graph's delay) and for the watched jobs that left the running set without a visible end. So a
job seen running is followed to its end, and the watch ends when nothing runs any more, with the
exit code of ``azjobs watch`` (6 a job failed, 7 cancelled, 8 warnings with ``--strict``, 5 the
timeout came first). ``--details`` reads the newest running jobs through the vault API (tasks,
progress): only then are vault requests sent. Sleep and clocks are injected.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from azbackupjobs.arm.client import NO_RETRY, BackupJobsClient
from azbackupjobs.follow.poll import failure_delay, outcome, time_left, transient_reason, worst
from azbackupjobs.model import ids
from azbackupjobs.model.errors import AzJobsError, ExitCode, NotFoundError
from azbackupjobs.model.job import Job, change_key
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources import kql as fleet
from azbackupjobs.sources.resource_graph import ResourceGraphClient

RUNNING_STATUSES = ("InProgress", "Cancelling")
# How far back each tick looks for ends: Resource Graph shows a job's end a little late.
LAG_MARGIN = timedelta(minutes=15)
# A watched job that left the running set without a visible end counts as ended (outcome not
# known) after this long.
PENDING_GIVE_UP = 3600.0
MAX_PENDING_IN_QUERY = 200
DETAIL_LIMIT = 3

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Wall = Callable[[], datetime]


@dataclass(frozen=True)
class FleetWatchOptions:
    interval: float = 10.0
    timeout: float | None = None
    strict: bool = False
    details: bool = False
    detail_limit: int = DETAIL_LIMIT


@dataclass
class FleetTick:
    """What one tick knows; the views draw it."""

    running: list[Job] = field(default_factory=list)  # newest first
    ended: list[Job] = field(default_factory=list)  # watched jobs that ended, in end order
    newly_started: list[Job] = field(default_factory=list)
    newly_ended: list[Job] = field(default_factory=list)
    changed: list[Job] = field(default_factory=list)  # new or changed since the last tick
    unknown: list[str] = field(default_factory=list)  # ids whose end never became visible
    details: dict[str, Job] = field(default_factory=dict)  # lower-case id -> vault API job
    trouble: str | None = None
    polled_at: datetime | None = None
    next_poll_at: float | None = None
    ticks: int = 0
    done: bool = False
    timed_out: bool = False

    def exit_code_for(self, strict: bool) -> ExitCode:
        if self.timed_out:
            return ExitCode.TIMEOUT
        return worst([outcome(j, strict) for j in self.ended])


def job_key(job: Job) -> str:
    """How a fleet watch tells jobs apart (``FleetTick.details`` is keyed by it): the job's
    ARM id, lower-cased, since one fleet spans many vaults."""
    return (job.id or job.job_id).lower()


class FleetWatcher:
    """One watch: the state between ticks."""

    def __init__(
        self,
        graph: ResourceGraphClient,
        filters: fleet.FleetFilters,
        scope: fleet.Scope,
        options: FleetWatchOptions,
        *,
        vault_client: BackupJobsClient | None = None,
        clock: Clock = time.monotonic,
        wall: Wall,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.graph = graph
        self.filters = filters
        self.scope = scope
        self.options = options
        self.vault_client = vault_client
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.running: dict[str, Job] = {}
        self.ended: dict[str, Job] = {}
        self.pending: dict[str, float] = {}  # key -> clock() when it left the running set
        self.unknown: list[str] = []
        self.keys: dict[str, str] = {}  # key -> job GUID
        self.details: dict[str, Job] = {}
        self.last_seen: dict[str, object] = {}
        self.last_ok: datetime | None = None

    # ----- one query ----------------------------------------------------------------------------
    def _query(self) -> str:
        ended_since = self.last_ok - LAG_MARGIN if self.last_ok is not None else None
        pending = [self.keys[k] for k in list(self.pending)[:MAX_PENDING_IN_QUERY]]
        return fleet.running_query(self.filters, ended_since=ended_since, pending=pending)

    def _fetch(self) -> list[Job]:
        jobs: list[Job] = []
        seen: set[str] = set()
        for stream in self.graph.streams(self._query(), self.scope):
            for page in stream:
                for row in page:
                    job = Job.from_dict(fleet.row_to_job(row))
                    key = job_key(job)
                    if key not in seen:
                        seen.add(key)
                        jobs.append(job)
        return jobs

    def _apply(self, jobs: list[Job], tick: FleetTick) -> None:
        now = self.clock()
        present: set[str] = set()
        for job in jobs:
            key = job_key(job)
            if job.is_terminal:
                if (key in self.running or key in self.pending) and key not in self.ended:
                    self.ended[key] = job
                    tick.newly_ended.append(job)
                    self.running.pop(key, None)
                    self.pending.pop(key, None)
                continue
            present.add(key)
            if key not in self.running and key not in self.ended:
                tick.newly_started.append(job)
            self.pending.pop(key, None)
            self.running[key] = job
            self.keys[key] = job.job_id
        for key in [k for k in self.running if k not in present]:
            self.running.pop(key)
            self.pending[key] = now
        for key, since in list(self.pending.items()):
            if now - since >= PENDING_GIVE_UP:
                self.pending.pop(key)
                self.unknown.append(self.keys.get(key, key))

    def _changed(self, job: Job, tick: FleetTick) -> None:
        key = job_key(job)
        fingerprint = change_key(dict(job.raw))
        if self.last_seen.get(key) != fingerprint:
            self.last_seen[key] = fingerprint
            tick.changed.append(job)

    def _read_details(self, tick: FleetTick) -> None:
        """The newest running jobs through the vault API (their row id names the vault)."""
        if self.vault_client is None or not self.options.details:
            return
        newest = sorted(self.running.values(), key=_start_key, reverse=True)
        wanted = newest[: self.options.detail_limit]
        keep = {job_key(j) for j in wanted}
        self.details = {k: v for k, v in self.details.items() if k in keep}
        for job in wanted:
            url = job_url(self.vault_client, job.id)
            if url is None:
                continue
            try:
                resp = self.vault_client.request("GET", url, retry=NO_RETRY)
                detailed = Job.from_dict(resp.body)
            except NotFoundError:
                continue  # the vault API has not caught up yet, or the job is gone
            except AzJobsError as exc:
                reason = transient_reason(exc)
                if reason is None:
                    raise
                tick.trouble = tick.trouble or f"job details: {reason}"
                continue
            self.details[job_key(job)] = detailed

    def _note_changes(self, tick: FleetTick) -> None:
        """New or changed jobs (a running job's details stand for it when read)."""
        for job in tick.newly_ended:
            self._changed(job, tick)
        for key, job in self.running.items():
            self._changed(self.details.get(key, job), tick)

    # ----- the loop -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _time_limit(self, seconds: float | None) -> Iterator[None]:
        """The tick's requests (queries and details) end by the watch's deadline."""
        with contextlib.ExitStack() as stack:
            clients = [self.graph.client]
            if self.vault_client is not None and self.vault_client is not self.graph.client:
                clients.append(self.vault_client)
            for client in clients:
                stack.enter_context(client.time_limit(seconds))
            yield

    def ticks(self, sleep: Sleep | None = None) -> Iterator[FleetTick]:
        """Tick by tick until nothing runs, or the timeout; ``sleep`` (default: the injected
        one) waits between ticks, so that a live view can redraw while it waits."""
        wait = sleep or self.sleep
        started = self.clock()
        deadline = started + self.options.timeout if self.options.timeout is not None else None
        failures = 0
        count = 0
        while True:
            count += 1
            tick = FleetTick(ticks=count)
            polled = self.wall()
            with self._time_limit(time_left(deadline, self.clock())):
                try:
                    jobs = self._fetch()
                except AzJobsError as exc:
                    reason = transient_reason(exc)
                    if reason is None:
                        raise
                    failures += 1
                    delay = failure_delay(self.options.interval, failures, exc, self.rng)
                    tick.trouble = reason
                else:
                    failures = 0
                    delay = self.options.interval * (0.95 + self.rng.random() / 10)
                    self.last_ok = polled
                    tick.polled_at = polled
                    self._apply(jobs, tick)
                    self._read_details(tick)
                    self._note_changes(tick)
            tick.running = sorted(self.running.values(), key=_start_key, reverse=True)
            tick.ended = list(self.ended.values())
            tick.unknown = list(self.unknown)
            tick.details = dict(self.details)
            tick.done = tick.trouble is None and not self.running and not self.pending
            now = self.clock()
            if not tick.done and deadline is not None and now >= deadline:
                tick.timed_out = True
            if tick.done or tick.timed_out:
                yield tick
                return
            tick.next_poll_at = now + delay
            if deadline is not None and tick.next_poll_at > deadline:
                tick.next_poll_at = deadline
            yield tick
            wait(max(tick.next_poll_at - self.clock(), 0.0))
            if deadline is not None and self.clock() >= deadline:
                last = replace(
                    tick,
                    timed_out=True,
                    next_poll_at=None,
                    newly_started=[],
                    newly_ended=[],
                    changed=[],
                    trouble=None,
                )
                yield last
                return


def _start_key(job: Job) -> tuple[float, str]:
    return (job.start_time.timestamp() if job.start_time else 0.0, job.job_id)


def job_url(client: BackupJobsClient, job_id: str) -> str | None:
    """The vault API URL of a job named by its ARM id: every name validated and encoded, on
    the endpoint of ``client``; None for an id that is not a job's."""
    from urllib.parse import quote

    try:
        ref = ids.parse_job_ref(job_id)
    except AzJobsError:
        return None
    assert ref.subscription and ref.resource_group and ref.vault
    ctx = replace(
        client.ctx,
        subscription=ref.subscription,
        resource_group=ref.resource_group,
        vault=ref.vault,
    )
    return (
        f"{ctx.endpoint}{ctx.vault_path}/backupJobs/{quote(ref.job_id, safe='')}"
        f"?api-version={quote(ctx.api_version, safe='')}"
    )


def summary(tick: FleetTick | None) -> str:
    """``12 jobs watched: 10 Completed, 1 Failed, 1 still running``."""
    if tick is None:
        return ""
    counts: dict[str, int] = {}
    for job in tick.ended:
        label = sanitize(job.status_raw or job.status.value, 30)
        counts[label] = counts.get(label, 0) + 1
    if tick.running:
        counts["still running"] = len(tick.running)
    if tick.unknown:
        counts["ended (outcome not visible)"] = len(tick.unknown)
    total = sum(counts.values())
    if not total:
        return "no job is running in the fleet"
    text = ", ".join(f"{n} {label}" for label, n in counts.items())
    return f"{total} job{'s' if total != 1 else ''} watched: {text}" + (
        " (timed out)" if tick.timed_out else ""
    )
