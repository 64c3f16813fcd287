"""An operation resolved to the job(s) it started: ``watch --operation`` and ``demo``.

The operation's status URL (``Azure-AsyncOperation`` or ``operationsStatus``), or a vault's
``backupOperations/{id}``, is followed by the one long-running-operation loop
(``follow.operation``) until it names its job: Succeeded gives ``properties.jobId``/``jobIds``;
Failed or Canceled is an ``OperationFailedError`` with the operation's error (exit 1).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from azbackupjobs.commands.common import Session
from azbackupjobs.follow.operation import OPERATION_WAIT_LIMIT, Operation, follow_operation
from azbackupjobs.follow.poll import DEFAULT_GRACE, DEFAULT_INTERVAL
from azbackupjobs.model import ids
from azbackupjobs.model.errors import (
    ApiError,
    OperationFailedError,
    UnexpectedResponseError,
    UsageError,
    WatchTimeout,
)
from azbackupjobs.model.job import OperationStatus
from azbackupjobs.model.text import sanitize


def resolve_operation(
    session: Session,
    url_or_id: str,
    *,
    interval: float = DEFAULT_INTERVAL,
    timeout: float | None = None,
    grace: float = DEFAULT_GRACE,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> list[str]:
    """The job ids the operation started, once it has (at most ``timeout`` seconds, else
    ``OPERATION_WAIT_LIMIT``). The URL is checked before any request."""
    text = url_or_id.strip()
    source = session.vault_source
    url, kind = source.operation_target(text)
    operation = Operation(url, kind)

    def running(status: OperationStatus) -> None:
        session.out.note(
            f"azjobs: operation {sanitize(status.id or text, 80)} is "
            f"{sanitize(status.status, 20)}; waiting for it to start its job"
        )

    status = follow_operation(
        source,
        operation,
        interval=interval,
        limit=OPERATION_WAIT_LIMIT if timeout is None else timeout,
        grace=grace,
        sleep=sleep,
        clock=clock,
        rng=rng,
        notify=session.out.note,
        on_running=running,
    )
    if status is None:
        if timeout is not None:
            raise WatchTimeout(
                f"--timeout elapsed while waiting for operation {sanitize(text, 80)} "
                "to start its job"
            )
        raise ApiError(
            f"operation {sanitize(text, 80)} did not start its job within "
            f"{OPERATION_WAIT_LIMIT / 60:g} minutes",
            hint="pass --timeout to wait longer",
        )
    if not status.succeeded:
        raise OperationFailedError(_failure(status, text))
    return _jobs(status, session)


def _jobs(status: OperationStatus, session: Session) -> list[str]:
    if not status.job_ids:
        raise UnexpectedResponseError(
            f"operation {sanitize(status.id, 80)} succeeded but names no job "
            "(no properties.jobId or jobIds)"
        )
    found: list[str] = []
    for job_id in status.job_ids:
        found.append(_job_ref(status, job_id.strip(), session))
    return found


def _job_ref(status: OperationStatus, job_id: str, session: Session) -> str:
    """A job the operation names, as the session's source reads it: a GUID of the session's
    vault, or (a Backup vault's ``jobId`` is a full ARM id) the id of a job in another vault."""
    try:
        ref = ids.parse_job_ref(job_id)
    except UsageError:
        ref = None
    if ref is None or ref.secondary:
        raise UnexpectedResponseError(
            f"operation {sanitize(status.id, 80)} names a job id that is neither a GUID nor a "
            f"job's ARM id: {sanitize(job_id, 60)!r}"
        )
    ctx = session.ctx
    if ref.vault is None or (
        (ref.subscription or "").lower(),
        (ref.resource_group or "").lower(),
        ref.vault.lower(),
    ) == (ctx.subscription.lower(), ctx.resource_group.lower(), ctx.vault.lower()):
        return ref.job_id
    return job_id


def _failure(status: OperationStatus, text: str) -> str:
    what = f"operation {sanitize(status.id or text, 80)} ended {sanitize(status.status, 20)}"
    detail = ": ".join(sanitize(x, 300) for x in (status.error_code, status.error_message) if x)
    return f"{what}: {detail}" if detail else what
