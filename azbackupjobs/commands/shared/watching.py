"""Following named jobs to their end, as ``watch JOB...`` does: shared by ``watch``,
``cancel --wait`` and ``demo``, so that every one of them prints and exits the same way.

The poll loop is ``follow.jobs``; what it shows is ``view.jobs_watch`` in ``view.watching``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from azbackupjobs.commands.common import Session
from azbackupjobs.follow.jobs import poll_jobs
from azbackupjobs.follow.poll import DEFAULT_GRACE, DEFAULT_INTERVAL, PollPolicy
from azbackupjobs.follow.state import Snapshot
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.sources.base import JobSource

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Wall = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WatchOptions:
    """How to watch. ``array``: JSON output as an array (default: when several jobs)."""

    interval: float = DEFAULT_INTERVAL
    timeout: float | None = None
    strict: bool = False
    fail_fast: bool = False
    grace: float = DEFAULT_GRACE
    compact: bool = False
    bell: bool = False
    array: bool | None = None
    detail_limit: int = 3
    summary: bool = True


def watch_jobs(
    session: Session,
    job_ids: list[str],
    opts: WatchOptions,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    wall: Wall = utc_now,
    rng: random.Random | None = None,
    source: JobSource | None = None,
) -> int:
    """Follow ``job_ids`` until they end; print in the session's output format; return the
    exit code (6 over 7 over 8 over 0 by the jobs' outcomes, 5 when the timeout came first).
    ``source``: where the jobs are read when not the session's vault (``sources.several``
    reads jobs of several vaults, each from its own)."""
    from azbackupjobs.view.jobs_watch import JobsPresenter
    from azbackupjobs.view.watching import watch_view

    out = session.out
    job_ids = list(dict.fromkeys(job_ids))
    if not job_ids:  # --all with nothing running: an empty array, nothing to watch
        out.final([])
        return int(ExitCode.OK)
    # --debug traces go to stderr as they happen: they would tear a live frame apart, so the
    # watch prints plain lines then.
    live = out.live and session.client.hooks.debug is None
    policy = PollPolicy(
        interval=opts.interval,
        timeout=opts.timeout,
        grace=opts.grace,
        strict=opts.strict,
        fail_fast=opts.fail_fast,
        detail_limit=0 if (opts.compact or not live) else opts.detail_limit,
        refresh_rows=live,
    )
    source = source if source is not None else session.source

    def start(with_sleep: Sleep) -> Iterator[Snapshot]:
        return poll_jobs(
            source, job_ids, policy, clock=clock, sleep=with_sleep, rng=rng, notify=out.note
        )

    multi = len(job_ids) > 1
    presenter = JobsPresenter(
        multi=multi,
        array=opts.array if opts.array is not None else multi,
        strict=opts.strict,
        compact=opts.compact,
        detail_limit=opts.detail_limit,
        summary=opts.summary,
    )
    return watch_view(
        out,
        start,
        presenter,
        live=live,
        strict=opts.strict,
        bell=opts.bell,
        sleep=sleep,
        clock=clock,
        wall=wall,
    )
