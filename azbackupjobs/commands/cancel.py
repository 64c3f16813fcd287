"""``azjobs cancel JOB``: ask the service to cancel a running job, and optionally follow it.

The job is read first: a job that is not running, or that the service does not offer to cancel
(``actionsInfo`` without Cancellable), is refused before anything is sent. The cancel request
is a long-running operation: POST answers 202 with a Location to poll (202 while running,
200/204 when done), honouring Retry-After. The Location is followed verbatim (it may carry an
older api-version, or the literal ``Azure`` where the job name would be) on the endpoint's host
only. ``--wait`` then follows the job to its end with the watch code.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from azbackupjobs.arm.client import BackupJobsClient, Response, parse_retry_after, pause
from azbackupjobs.commands.common import CommonOptions, Session, make_output, open_session
from azbackupjobs.follow.poll import parse_interval, parse_timeout
from azbackupjobs.model import ids
from azbackupjobs.model.errors import (
    ApiError,
    AzJobsError,
    ExitCode,
    OperationFailedError,
    UsageError,
    WatchTimeout,
)
from azbackupjobs.model.job import Job, JobStatus, OperationStatus
from azbackupjobs.model.text import sanitize
from azbackupjobs.view.output import Environment, Output

# How long the cancel operation itself may take before azjobs gives up waiting for it.
OPERATION_WAIT_LIMIT = 600.0
# Poll interval of the operation when the service gives no Retry-After.
DEFAULT_OPERATION_POLL = 10.0
# The shortest last wait before the deadline (Retry-After itself is floored by ``pause``).
MIN_OPERATION_POLL = 0.05


class CancelRefused(AzJobsError):
    """The job cannot be cancelled now (not running, or not cancellable): nothing was sent."""

    exit_code = ExitCode.ERROR


@dataclass(frozen=True)
class CancelOptions:
    wait: bool = False
    yes: bool = False
    interval: str | None = None  # --wait: seconds between polls of the job (as for watch)
    timeout: str | None = None  # give up after this long: the operation, and the job with --wait


def job_title(job: Job) -> str:
    """``Backup of vm1``: how people name a job (kept free of rich to start fast)."""
    return f"{sanitize(job.operation or 'Job', 60)} of {sanitize(job.entity or job.job_id, 80)}"


def check_cancellable(job: Job) -> None:
    """Refuse, before anything is sent, what the service would refuse or what makes no sense."""
    name = f"{job_title(job)} (job {job.job_id})"
    if job.status is JobStatus.CANCELLING:
        raise CancelRefused(
            f"{name} is already being cancelled; nothing sent",
            hint=f"follow it with `azjobs watch {job.job_id}`",
        )
    if job.status is not JobStatus.IN_PROGRESS:
        state = sanitize(job.status_raw or job.status.value, 40)
        raise CancelRefused(f"{name} is not running (it is {state}); nothing sent")
    if not job.is_cancellable:
        raise CancelRefused(
            f"{name} cannot be cancelled now: the service does not offer to cancel it "
            "(actionsInfo has no Cancellable); nothing sent",
            hint="some phases cannot be cancelled, such as a restore's data transfer",
        )


def confirm(out: Output, question: str, read_answer: Callable[[], str]) -> bool:
    """Ask on stderr, read one line; only ``y``/``yes`` is a yes (EOF is a no)."""
    out.env.stderr.write(f"{question} [y/N] ")
    out.env.stderr.flush()
    answer = read_answer()
    if not answer.endswith("\n"):
        out.env.stderr.write("\n")
    return answer.strip().lower() in {"y", "yes"}


def _stdin_line() -> str:
    return sys.stdin.readline()


@dataclass
class _Deadline:
    """When waiting must stop, and whether that limit was the user's ``--timeout``."""

    at: float
    user_timeout: float | None

    def remaining(self, now: float) -> float:
        return self.at - now


def request_cancel(
    client: BackupJobsClient,
    job: Job,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: _Deadline,
    notify: Callable[[str], None] | None = None,
) -> None:
    """POST cancel, then poll its operation until the service says it is done."""
    try:
        resp = client.trigger_cancel(job.job_id)
    except ApiError as exc:
        if exc.status in {400, 409}:
            raise ApiError(
                f"the service refused to cancel {job_title(job)}: {exc.message}",
                status=exc.status,
                code=exc.code,
                request_id=exc.request_id,
            ) from None
        raise
    if resp.status != 202:
        return
    if notify is not None:
        notify(f"Cancel of {job_title(job)} requested; waiting for the service to confirm it…")
    location = resp.header("location")
    if location:
        _follow_location(client, location, resp, _Poll(sleep, clock, deadline))
        return
    status_url = resp.header("azure-asyncoperation")
    if status_url:
        _follow_status(client, status_url, resp, _Poll(sleep, clock, deadline))


def _pause(delay: float | None, deadline: _Deadline, now: float) -> float:
    """Retry-After (or the default), never past the deadline, never a busy loop."""
    wait = pause(delay, default=DEFAULT_OPERATION_POLL)
    return max(MIN_OPERATION_POLL, min(wait, max(deadline.remaining(now), 0.0)))


def _timed_out(deadline: _Deadline) -> AzJobsError:
    if deadline.user_timeout is not None and deadline.user_timeout <= OPERATION_WAIT_LIMIT:
        return WatchTimeout(
            f"--timeout elapsed ({deadline.user_timeout:g} s) while the service was still "
            "processing the cancel request"
        )
    return ApiError(
        f"the service accepted the cancel request but did not finish it within "
        f"{OPERATION_WAIT_LIMIT / 60:g} minutes",
        hint="the job may still be cancelling; check it with `azjobs get JOB`",
    )


@dataclass(frozen=True)
class _Poll:
    """The pacing of one operation's polls: how to wait, and until when."""

    sleep: Callable[[float], None]
    clock: Callable[[], float]
    deadline: _Deadline

    def wait(self, delay: float | None) -> None:
        """Sleep before the next poll, or give up if the deadline has come."""
        if self.deadline.remaining(self.clock()) <= 0:
            raise _timed_out(self.deadline)
        self.sleep(_pause(delay, self.deadline, self.clock()))


def _follow_location(client: BackupJobsClient, url: str, resp: Response, poll: _Poll) -> None:
    while True:
        poll.wait(parse_retry_after(resp.headers))
        resp = client.get_operation_result(url)
        if resp.status != 202:
            return  # 200, 201 or 204: done
        url = resp.header("location") or url


def _follow_status(client: BackupJobsClient, url: str, resp: Response, poll: _Poll) -> None:
    """Only when the 202 has no Location: poll the Azure-AsyncOperation status instead."""
    delay = parse_retry_after(resp.headers)
    while True:
        poll.wait(delay)
        status = OperationStatus.from_dict(client.get_operation_status(url))
        if status.is_done:
            if not status.succeeded:
                detail = ": ".join(x for x in (status.error_code, status.error_message) if x)
                raise OperationFailedError(
                    f"the cancel operation ended {sanitize(status.status, 30)}"
                    + (f" ({sanitize(detail, 300)})" if detail else "")
                )
            return


def run_cancel(
    job: str,
    opts: CommonOptions,
    copts: CancelOptions,
    env: Environment,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    read_answer: Callable[[], str] = _stdin_line,
) -> int:
    out = make_output(opts, env)
    ref = ids.parse_job_ref(job)
    user_timeout = parse_timeout(copts.timeout) if copts.timeout is not None else None
    interval = parse_interval(copts.interval) if copts.interval is not None else None
    if not copts.yes and not env.stdin_isatty:
        raise UsageError(
            "refusing to cancel without confirmation: stdin is not a terminal",
            hint="pass --yes to cancel from a script",
        )
    session = open_session(opts, env, ref, out=out)
    client = session.client
    try:
        # URLs are built from the id the user gave (validated), never from the service's name.
        model = replace(Job.from_dict(client.get_job(ref.job_id)), job_id=ref.job_id)
        check_cancellable(model)
        name = f"{job_title(model)} (job {model.job_id})"
        if not copts.yes and not confirm(out, f"Cancel {name}?", read_answer):
            out.note("Not cancelled.")
            return ExitCode.ERROR
        started = clock()
        limit = (
            OPERATION_WAIT_LIMIT
            if user_timeout is None
            else min(OPERATION_WAIT_LIMIT, user_timeout)
        )
        deadline = _Deadline(started + limit, user_timeout)
        request_cancel(client, model, sleep=sleep, clock=clock, deadline=deadline, notify=out.note)
        out.note(f"The service accepted the cancellation of {name}.")
        if copts.wait:
            remaining = (
                None if user_timeout is None else max(user_timeout - (clock() - started), 0.0)
            )
            return _wait(session, model.job_id, interval, remaining, sleep=sleep, clock=clock)
        raw = client.get_job(model.job_id)
    finally:
        client.close()
    _print_job(out, raw)
    return ExitCode.OK


def _wait(
    session: Session,
    job_id: str,
    interval: float | None,
    timeout: float | None,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> int:
    """Follow the job to its end with the watch code; it prints the final resource and returns
    the exit code (7 when the job ended cancelled, in either of the service's forms)."""
    from azbackupjobs.commands.watch import WatchOptions, watch_jobs

    opts = WatchOptions() if interval is None else WatchOptions(interval=interval)
    if timeout is not None:
        opts = replace(opts, timeout=max(timeout, 0.001))
    return int(watch_jobs(session, [job_id], opts, sleep=sleep, clock=clock))


def _print_job(out: Output, raw: dict[str, Any]) -> None:
    if out.is_table and out.query is None:
        from azbackupjobs.view import render

        out.render(render.job_view(Job.from_dict(raw), datetime.now(UTC)))
    elif out.format == "table":
        out.json(raw)
    else:
        from azbackupjobs.view.rows import job_tsv_row

        out.data(raw, tsv_rows=[job_tsv_row(raw)])
