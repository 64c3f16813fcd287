"""The one poll loop (``follow.poll.Poller``) with a scripted reader: whatever reads the jobs
(named jobs, a fleet's running jobs), the loop owns the pace, the trouble, the deadline and the
end the reader decides."""

from __future__ import annotations

import random
from typing import Any

from azbackupjobs.follow.poll import Poller, PollPolicy
from azbackupjobs.follow.state import TickReport, Tracked
from azbackupjobs.model.errors import ApiError, ExitCode
from azbackupjobs.model.job import Job


def job(status: str) -> Job:
    return Job.from_dict({"id": "/x/backupJobs/j", "name": "j", "properties": {"status": status}})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Reader:
    """Reports from a script; the watch is over with the last one (``verdict``)."""

    def __init__(self, reports: list[TickReport], verdict: Any = "ended") -> None:
        self.reports = reports
        self.last = verdict
        self.jobs: list[Tracked] = [Tracked("j")]

    def read(self) -> TickReport:
        report = self.reports.pop(0)
        if not self.reports:
            self.jobs[0].job = job("Failed")
        return report

    def verdict(self, policy: PollPolicy) -> Any:
        return None if self.reports else self.last


def run(reader: Reader, clock: Clock, **policy: Any) -> list[Any]:
    poller = Poller(
        reader, PollPolicy(**policy), clock=clock, sleep=clock.sleep, rng=random.Random(5)
    )
    return list(poller.run())


def test_the_reader_decides_the_end_and_the_loop_the_pace() -> None:
    clock = Clock()
    started = job("InProgress")
    throttled = ApiError("HTTP 429", status=429, retry_after=45.0)
    reports = [
        TickReport(newly_started=[started], blocked_until=130.0),
        TickReport(problem=("throttled", throttled)),
        TickReport(),
    ]
    snaps = run(Reader(reports, verdict="stopped"), clock, interval=10, fail_fast=True)
    first, second, last = snaps
    assert first.newly_started == [started] and first.ticks == 1
    assert first.next_poll_at == 130.0  # a good answer's Retry-After holds the next poll back
    assert second.trouble is not None and second.trouble.reason == "throttled"
    assert second.next_poll_at is not None and second.next_poll_at - second.polled_at >= 45
    assert last.finished and last.stopped_early and last.ticks == 3
    assert last.exit_code() == ExitCode.JOB_FAILED


def test_the_deadline_ends_a_watch_that_the_reader_would_go_on_with() -> None:
    clock = Clock()
    reader = Reader([TickReport() for _ in range(100)])
    snaps = run(reader, clock, interval=10, timeout=25)
    assert snaps[-1].timed_out and snaps[-1].exit_code() == ExitCode.TIMEOUT
    assert sum(clock.sleeps) == 25  # the last sleep ends at the deadline, for a last look
