"""``azjobs cancel JOB``: ask the service to cancel a running job, and optionally follow it.

The job is read first: a job that is not running, or that the service does not offer to cancel
(``actionsInfo`` without Cancellable), is refused before anything is sent. The cancel request
is a long-running operation: POST answers 202 with a Location to poll (202 while running,
200/204 when done), followed by the one operation loop (``follow.operation``), honouring
Retry-After. The Location is followed verbatim (it may carry an older api-version, or the
literal ``Azure`` where the job name would be) on the endpoint's host only. ``--wait`` then
follows the job to its end as ``watch`` does.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from azbackupjobs.commands.common import CommonOptions, Session, job_ref, make_output, open_session
from azbackupjobs.commands.shared.watching import WatchOptions, watch_jobs
from azbackupjobs.follow.operation import OPERATION_WAIT_LIMIT, follow_operation, operation_of
from azbackupjobs.follow.poll import parse_interval, parse_timeout
from azbackupjobs.model.errors import (
    ApiError,
    AzJobsError,
    ExitCode,
    OperationFailedError,
    UsageError,
    WatchTimeout,
)
from azbackupjobs.model.job import Job, JobStatus
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources.backup_vault import BackupVaultSource
from azbackupjobs.sources.recovery_services import RecoveryServicesSource
from azbackupjobs.view.jobs import show_job
from azbackupjobs.view.output import Environment, Output

# Poll interval of the operation when the service gives no Retry-After.
DEFAULT_OPERATION_POLL = 10.0


class CancelRefused(AzJobsError):
    """The job cannot be cancelled now (not running, or not cancellable): nothing was sent."""

    exit_code = ExitCode.ERROR


@dataclass(frozen=True)
class CancelOptions:
    wait: bool = False
    yes: bool = False
    interval: str | None = None  # --wait: seconds between polls of the job (as for watch)
    timeout: str | None = None  # give up after this long: the operation, and the job with --wait


@dataclass(frozen=True, kw_only=True)
class CancelCommandOptions(CommonOptions):
    """``azjobs cancel``: the JOB, how to cancel it, and the vault flags."""

    job: str
    wait: bool = False
    yes: bool = False
    interval: str | None = None
    timeout: str | None = None


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
        raise CancelRefused(f"{name} is not running (it is {job.status_words(40)}); nothing sent")
    if not job.is_cancellable:
        raise CancelRefused(
            f"{name} cannot be cancelled now: the service does not offer to cancel it "
            "(actionsInfo has no Cancellable); nothing sent",
            hint="some phases cannot be cancelled, such as a restore's data transfer",
        )


def already_past_cancel(job: Job) -> bool:
    """Cancelling or ended: a cancel now has nothing to do, but ``--wait`` can still give the
    job's outcome, which is what a script repeating ``cancel --wait`` after a timeout wants."""
    return job.status is JobStatus.CANCELLING or job.is_terminal


def _already_note(name: str, job: Job) -> str:
    if job.status is JobStatus.CANCELLING:
        return f"{name} is already being cancelled; nothing sent; following it to its end"
    return f"{name} already ended {job.status_words(40)}; nothing sent"


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


def request_cancel(
    source: RecoveryServicesSource | BackupVaultSource,
    job: Job,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    user_timeout: float | None,
    notify: Callable[[str], None] | None = None,
) -> None:
    """POST cancel, then follow its operation until the service says it is done: at most
    ``OPERATION_WAIT_LIMIT`` seconds, or ``user_timeout`` when shorter."""
    try:
        resp = source.cancel(job.job_id)
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
    operation = operation_of(resp, prefer="location")
    if operation is None:
        return
    limit = min(OPERATION_WAIT_LIMIT, user_timeout or OPERATION_WAIT_LIMIT)
    status = follow_operation(
        source,
        operation,
        accepted=resp,
        interval=DEFAULT_OPERATION_POLL,
        limit=limit,
        sleep=sleep,
        clock=clock,
        notify=notify,
    )
    if status is None:
        raise _timed_out(user_timeout)
    if not status.succeeded:
        detail = ": ".join(x for x in (status.error_code, status.error_message) if x)
        raise OperationFailedError(
            f"the cancel operation ended {sanitize(status.status, 30)}"
            + (f" ({sanitize(detail, 300)})" if detail else "")
        )


def _timed_out(user_timeout: float | None) -> AzJobsError:
    if user_timeout is not None and user_timeout <= OPERATION_WAIT_LIMIT:
        return WatchTimeout(
            f"--timeout elapsed ({user_timeout:g} s) while the service was still "
            "processing the cancel request"
        )
    return ApiError(
        f"the service accepted the cancel request but did not finish it within "
        f"{OPERATION_WAIT_LIMIT / 60:g} minutes",
        hint="the job may still be cancelling; check it with `azjobs get JOB`",
    )


def run(opts: CancelCommandOptions, env: Environment) -> int:
    copts = CancelOptions(
        wait=opts.wait, yes=opts.yes, interval=opts.interval, timeout=opts.timeout
    )
    return run_cancel(opts.job, opts, copts, env)


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
    ref = job_ref(job)
    if ref.vault_kind is VaultKind.BACKUP:
        raise UsageError(f"job {ref.job_id} is a Backup vault job: Backup vaults have no cancel")
    user_timeout = parse_timeout(copts.timeout) if copts.timeout is not None else None
    interval = parse_interval(copts.interval) if copts.interval is not None else None
    if not copts.yes and not env.stdin_isatty:
        raise UsageError(
            "refusing to cancel without confirmation: stdin is not a terminal",
            hint="pass --yes to cancel from a script",
        )
    session = open_session(opts, env, ref, out=out)
    source = session.vault_source
    if not source.can_cancel:
        session.client.close()
        raise UsageError(f"{source.name} cannot cancel a job (Backup vaults have no cancel)")
    try:
        # URLs are built from the id the user gave (validated), never from the service's name.
        model = replace(source.parse(source.get_job(ref.job_id)), job_id=ref.job_id)
        name = f"{job_title(model)} (job {model.job_id})"
        if copts.wait and already_past_cancel(model):
            # A repeated `cancel --wait` (the first POST timed out): follow, do not refuse.
            out.note(_already_note(name, model))
            return _wait(session, model.job_id, interval, user_timeout, sleep=sleep, clock=clock)
        check_cancellable(model)
        if not copts.yes and not confirm(out, f"Cancel {name}?", read_answer):
            out.note("Not cancelled.")
            return ExitCode.ERROR
        started = clock()
        request_cancel(
            source, model, sleep=sleep, clock=clock, user_timeout=user_timeout, notify=out.note
        )
        out.note(f"The service accepted the cancellation of {name}.")
        if copts.wait:
            remaining = (
                None if user_timeout is None else max(user_timeout - (clock() - started), 0.0)
            )
            return _wait(session, model.job_id, interval, remaining, sleep=sleep, clock=clock)
        raw = source.get_job(model.job_id)
    finally:
        session.client.close()
    show_job(out, raw, source.parse)
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
    """Follow the job to its end as ``watch`` does; it prints the final resource and returns
    the exit code (7 when the job ended cancelled, in either of the service's forms)."""
    opts = WatchOptions() if interval is None else WatchOptions(interval=interval)
    if timeout is not None:
        opts = replace(opts, timeout=max(timeout, 0.001))
    return int(watch_jobs(session, [job_id], opts, sleep=sleep, clock=clock))
