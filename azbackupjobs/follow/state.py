"""What the poll loop knows of the jobs it follows, tick by tick; the views draw it.

``Tracked`` is one job as last seen, ``Snapshot`` the whole watch after one poll, and
``outcome``/``worst`` what the jobs' ends mean for the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azbackupjobs.follow.pacing import DEFAULT_INTERVAL
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.model.job import Job, JobStatus

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


@dataclass
class Tracked:
    """One followed job as last seen; ``job`` stays None until the service shows it."""

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
    # The job read through its own API when ``job`` is a list row (a fleet's running jobs).
    detail: Job | None = None

    @property
    def ended(self) -> bool:
        return self.job is not None and self.job.is_terminal

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.is_terminal

    @property
    def latest(self) -> Job | None:
        """What is known best: the details when read, else the job."""
        return self.detail or self.job


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
    # What a reader that finds the jobs itself (a fleet) saw in this tick.
    ticks: int = 1
    polled_wall: datetime | None = None  # when the last good answer was asked for
    newly_started: list[Job] = field(default_factory=list)
    newly_ended: list[Job] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # ended, but how is not visible

    @property
    def done(self) -> bool:
        return self.finished or self.timed_out

    def exit_code(self, strict: bool = False) -> ExitCode:
        """5 when the timeout came first, else the worst outcome of the jobs that ended."""
        if self.timed_out:
            return ExitCode.TIMEOUT
        return worst([outcome(t.job, strict) for t in self.jobs if t.job and t.ended])


def detailed(jobs: list[Tracked], limit: int) -> list[Tracked]:
    """The running jobs a view shows in detail: the first ``limit`` in the order given."""
    return [t for t in jobs if t.running][: max(limit, 0)]


@dataclass
class TickReport:
    """What one tick's reads found; what it means for the timing is the loop's business."""

    changed: list[Job] = field(default_factory=list)
    problem: tuple[str, BaseException] | None = None  # passing trouble: (reason, failure)
    progress: bool = False  # some answers came despite the problem: the backoff does not grow
    blocked_until: float | None = None  # a good answer's Retry-After (clock() time)
    writes_left: int | None = None  # the fewest subscription writes left that answers reported
    requests: int = 0
    polled_wall: datetime | None = None
    newly_started: list[Job] = field(default_factory=list)
    newly_ended: list[Job] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
