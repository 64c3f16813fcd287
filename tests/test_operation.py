"""The one long-running-operation loop (``follow.operation``) against scripted answers: the
Location and status forms, Retry-After (first poll, staying in force, never a busy loop), passing
trouble, the 404 grace period, and the deadline; and ``watch --operation`` bounded without
``--timeout``."""

from __future__ import annotations

import random
from typing import Any

import pytest

from azbackupjobs.arm.client import MIN_PAUSE, Response, RetryPolicy
from azbackupjobs.follow.operation import (
    Operation,
    follow_operation,
    operation_of,
)
from azbackupjobs.model.errors import ApiError, AuthError, NotFoundError

LOCATION = "https://management.azure.com/x/operationResults/op?api-version=2019-05-13"

NEXT = "https://management.azure.com/x/operationResults/op2?api-version=2019-05-13"
STATUS = "https://management.azure.com/x/operationsStatus/op?api-version=2019-05-13"
BOTH = {"location": LOCATION, "azure_asyncoperation": STATUS}
JOB = "73e47398-73a0-45fb-b56b-9997e6d84229"


def answer(status: int = 200, body: Any = None, **headers: str) -> Response:
    return Response(status, {k.lower().replace("_", "-"): v for k, v in headers.items()}, body, "r")


def op(status: str, **props: Any) -> Response:
    body: dict[str, Any] = {"id": "op", "name": "op", "status": status}
    if props:
        body["properties"] = props
    return answer(200, body)


class Script:
    """Operation endpoints answering from a list (an exception is raised); the last repeats."""

    def __init__(self, *steps: Response | BaseException) -> None:
        self.steps = list(steps)
        self.urls: list[str] = []
        self.times: list[float] = []
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds

    def _next(self, url: str, retry: RetryPolicy | None) -> Response:
        assert retry is not None and retry.attempts == 1  # the loop waits trouble out itself
        self.urls.append(url)
        self.times.append(self.now)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, BaseException):
            raise step
        return step

    def get_operation_result(self, url: str, *, retry: RetryPolicy | None = None) -> Response:
        return self._next(url, retry)

    def get_operation_status(self, url_or_id: str, *, retry: RetryPolicy | None = None) -> Response:
        return self._next(url_or_id, retry)

    def follow(self, operation: Operation, **kwargs: Any) -> Any:
        kwargs.setdefault("rng", random.Random(3))
        return follow_operation(self, operation, sleep=self.sleep, clock=self.clock, **kwargs)


def test_a_location_is_polled_until_it_stops_answering_202() -> None:
    script = Script(answer(202, retry_after="30", location=NEXT), answer(204))
    accepted = answer(202, retry_after="60", location=LOCATION)
    result = script.follow(Operation(LOCATION, "location"), accepted=accepted)
    assert result is not None and result.succeeded
    assert script.sleeps == [60, 30]  # the accepting answer paces the first poll
    assert script.urls == [LOCATION, NEXT]  # a new Location is followed


def test_a_retry_after_stays_in_force_until_the_service_names_another() -> None:
    script = Script(op("InProgress"), op("InProgress"), op("Succeeded", jobId=JOB))
    accepted = answer(202, retry_after="5", azure_asyncoperation=STATUS)
    result = script.follow(Operation(STATUS, "status"), accepted=accepted, interval=10)
    assert result is not None and result.job_ids == (JOB,)
    assert script.sleeps == [5, 5, 5]


def test_without_retry_after_the_interval_paces_the_polls() -> None:
    script = Script(op("InProgress"), op("Succeeded", jobId=JOB))
    running: list[str] = []
    result = script.follow(
        Operation(STATUS, "status"), interval=7, on_running=lambda s: running.append(s.status)
    )
    assert result is not None and result.succeeded
    assert script.times == [0, 7]  # the first poll at once
    assert running == ["InProgress"]


def test_a_retry_after_of_zero_is_no_busy_loop() -> None:
    script = Script(answer(202, retry_after="0"), answer(202, retry_after="0"), answer(204))
    result = script.follow(Operation(LOCATION, "location"))
    assert result is not None and result.succeeded
    assert script.sleeps == [MIN_PAUSE, MIN_PAUSE]  # never sooner than a second


def test_a_failed_operation_is_returned_with_its_error() -> None:
    failed = answer(
        200, {"id": "op", "status": "Failed", "error": {"code": "UserErrorX", "message": "gone"}}
    )
    result = Script(op("InProgress"), failed).follow(Operation(STATUS, "status"), interval=1)
    assert result is not None and not result.succeeded
    assert (result.status, result.error_code, result.error_message) == (
        "Failed",
        "UserErrorX",
        "gone",
    )


def test_passing_trouble_backs_off_and_is_told() -> None:
    throttled = ApiError("HTTP 429", status=429, retry_after=20.0)
    script = Script(throttled, ApiError("HTTP 503", status=503), op("Succeeded", jobId=JOB))
    notes: list[str] = []
    result = script.follow(Operation(STATUS, "status"), interval=10, notify=notes.append)
    assert result is not None and result.succeeded
    assert script.sleeps[0] >= 20  # never sooner than the Retry-After
    assert 19 <= script.sleeps[1] <= 21  # doubled from the interval
    assert notes[0].startswith("azjobs: throttled: retrying in")
    assert notes[1].startswith("azjobs: service error (HTTP 503): retrying in")


def test_real_errors_are_raised() -> None:
    script = Script(AuthError("HTTP 403", status=403))
    with pytest.raises(AuthError):
        script.follow(Operation(STATUS, "status"))


def test_not_found_is_waited_for_during_the_grace_period_only() -> None:
    missing = NotFoundError("HTTP 404", status=404)
    script = Script(missing, op("Succeeded", jobId=JOB))
    result = script.follow(Operation(STATUS, "status"), interval=10, grace=30)
    assert result is not None and script.times == [0, 10]
    with pytest.raises(NotFoundError):
        Script(missing).follow(Operation(STATUS, "status"), interval=10, grace=30)


def test_no_poll_is_made_after_the_deadline() -> None:
    script = Script(answer(202, retry_after="60"))
    accepted = answer(202, retry_after="60", location=LOCATION)
    result = script.follow(Operation(LOCATION, "location"), accepted=accepted, limit=90)
    assert result is None
    assert script.sleeps == [60, 30] and script.times == [60]


@pytest.mark.parametrize(
    ("headers", "prefer", "expected"),
    [
        (
            {"location": LOCATION, "azure_asyncoperation": STATUS},
            "location",
            ("location", LOCATION),
        ),
        ({"location": LOCATION, "azure_asyncoperation": STATUS}, "status", ("status", STATUS)),
        ({"azure_asyncoperation": STATUS}, "location", ("status", STATUS)),
        ({"location": LOCATION}, "status", ("location", LOCATION)),
    ],
)
def test_the_operation_of_an_accepting_answer(
    headers: dict[str, str], prefer: Any, expected: tuple[str, str]
) -> None:
    found = operation_of(answer(202, **headers), prefer=prefer)
    assert found is not None and (found.kind, found.url) == expected
    assert operation_of(answer(202), prefer=prefer) is None
