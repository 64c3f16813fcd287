"""The one loop that follows a long-running operation to its end.

A request that starts work (cancel a job, trigger a backup) answers 202 with a ``Location`` to
poll (202 while running; 200, 201 or 204 when done) and often an ``Azure-AsyncOperation`` status
URL (a JSON status: InProgress, then Succeeded, Failed or Canceled, naming the job(s) it
started). ``watch --operation`` polls such a status URL, or a vault's ``backupOperations/{id}``.
All of them are followed here, with the same rules: the first poll waits for the ``Retry-After``
of the answer that started the operation; a ``Retry-After`` stays in force until the service
names another, else the interval; passing trouble (throttling, 5xx, dropped connections) backs
off and goes on; a 404 right after the start means "not there yet" for a grace period; a poll
that would come after the deadline is not made. Nothing here prints; sleep and clock are
injected.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from azbackupjobs.arm.client import NO_RETRY, Response, RetryPolicy, pause
from azbackupjobs.follow.pacing import failure_delay, retry_after, transient_or_raise
from azbackupjobs.model.errors import AzJobsError, NotFoundError, UnexpectedResponseError
from azbackupjobs.model.job import OperationStatus

DEFAULT_OPERATION_INTERVAL = 10.0
# How long an operation may take before azjobs gives up waiting for it.
OPERATION_WAIT_LIMIT = 600.0
DEFAULT_OPERATION_GRACE = 60.0

Kind = Literal["location", "status"]


@dataclass(frozen=True)
class Operation:
    """What to poll: a Location (done when it stops answering 202) or a status URL (done when
    its JSON status says so)."""

    url: str
    kind: Kind


def operation_of(resp: Response, *, prefer: Kind = "location") -> Operation | None:
    """The operation a 202 started, by the header ``prefer`` names when both are given (a
    Location says when the work is done; a status URL also names the job it started)."""
    found: dict[Kind, str | None] = {
        "location": resp.header("location"),
        "status": resp.header("azure-asyncoperation"),
    }
    for kind in (prefer, "status" if prefer == "location" else "location"):
        url = found[kind]
        if url:
            return Operation(url, kind)
    return None


class OperationEndpoints(Protocol):
    """How a source reads its operations (``sources.recovery_services`` has both)."""

    def get_operation_result(self, url: str, *, retry: RetryPolicy | None = None) -> Response:
        """A Location URL: 202 while running."""

    def get_operation_status(self, url_or_id: str, *, retry: RetryPolicy | None = None) -> Response:
        """A status URL: a JSON status in the body."""


_DONE = OperationStatus(
    id="", status="Succeeded", job_ids=(), error_code=None, error_message=None, raw={}
)
_RUNNING = OperationStatus(
    id="", status="InProgress", job_ids=(), error_code=None, error_message=None, raw={}
)


def _read(source: OperationEndpoints, kind: Kind, url: str) -> tuple[OperationStatus, Response]:
    if kind == "location":
        resp = source.get_operation_result(url, retry=NO_RETRY)
        if resp.status == 202:
            return _RUNNING, resp
        if isinstance(resp.body, dict):  # a result that names the job (Backup vaults)
            try:
                return OperationStatus.from_dict(resp.body), resp
            except UnexpectedResponseError:
                pass
        return _DONE, resp
    resp = source.get_operation_status(url, retry=NO_RETRY)
    return OperationStatus.from_dict(resp.body), resp


def follow_operation(
    source: OperationEndpoints,
    operation: Operation,
    *,
    accepted: Response | None = None,
    interval: float = DEFAULT_OPERATION_INTERVAL,
    limit: float = OPERATION_WAIT_LIMIT,
    grace: float = DEFAULT_OPERATION_GRACE,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    notify: Callable[[str], None] | None = None,
    on_running: Callable[[OperationStatus], None] | None = None,
) -> OperationStatus | None:
    """Poll ``operation`` until it is done and return its final status (Succeeded, Failed or
    Canceled, with the job ids it names); None when ``limit`` seconds passed first.

    ``accepted``: the answer that started the operation (its Retry-After paces the first poll;
    without it the first poll is at once). ``notify`` hears of passing trouble, ``on_running``
    of the first answer that says the operation runs. Real errors are raised.
    """
    rng = rng or random.Random()
    started = clock()
    deadline = started + limit
    url = operation.url
    asked = retry_after(accepted.headers) if accepted is not None else None
    delay = pause(asked, default=interval) if accepted is not None else 0.0
    failures = 0
    announced = False
    while True:
        if delay > 0:
            now = clock()
            if now + delay > deadline:
                if deadline > now:
                    sleep(deadline - now)
                return None
            sleep(delay)
        delay = interval
        try:
            status, resp = _read(source, operation.kind, url)
        except NotFoundError:
            if clock() - started >= grace:
                raise
            failures = 0
            continue
        except AzJobsError as exc:
            reason = transient_or_raise(exc)
            failures += 1
            delay = failure_delay(interval, failures, exc, rng)
            if notify is not None:
                notify(f"azjobs: {reason}: retrying in {delay:.0f} s")
            continue
        failures = 0
        if status.is_done:
            return status
        if not announced and on_running is not None:
            on_running(status)
        announced = True
        if operation.kind == "location":
            url = resp.header("location") or url
        named = retry_after(resp.headers)
        if named is not None:  # it stays in force until the service names another
            asked = named
        delay = pause(asked, default=interval)
