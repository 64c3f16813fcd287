"""The watch loop and command, scripted with ``responses`` and a fake clock (no real waiting).

Job bodies are built here in the shapes the service sends (see the README's notes on payloads):
ISO durations, ``actionsInfo`` only while cancellable, errorDetails with integer codes, and the
VM backup that is cancelled into CompletedWithWarnings with error 400158.
"""

from __future__ import annotations

import io
import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests
import responses

from azbackupjobs.arm.auth import StaticTokenProvider
from azbackupjobs.arm.client import NO_RETRY, BackupJobsClient
from azbackupjobs.arm.settings import ContextFlags, resolve_context
from azbackupjobs.commands.common import Session
from azbackupjobs.commands.watch import (
    WatchOptions,
    in_progress_job_ids,
    resolve_operation,
    watch_jobs,
)
from azbackupjobs.follow.jobs import poll_jobs
from azbackupjobs.follow.poll import (
    PollPolicy,
    Snapshot,
    parse_duration_arg,
    parse_interval,
    parse_timeout,
)
from azbackupjobs.model.errors import (
    ApiError,
    AuthError,
    ExitCode,
    NotFoundError,
    OperationFailedError,
    UnexpectedResponseError,
    UsageError,
    WatchTimeout,
)
from azbackupjobs.view.output import Output, Query
from tests.harness import fake_environment, run_cli
from tests.harness.clock import FakeTime

SUB = "6d2f5a8e-1c4b-4f3a-9e7d-2b8c0a1f3e59"
RG = "rg1"
VAULT = "vault1"
ENDPOINT = "https://management.azure.com"
VAULT_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
)
JOB_A = "1d2e360b-e4c3-4787-9200-c4bad81f70c8"
JOB_B = "73e47398-73a0-45fb-b56b-9997e6d84229"
JOB_C = "9a9b3263-f087-49ea-85b8-b6d36d18c50c"
OP_ID = "b43adc4f-c7af-4626-b949-5568deb0e066"
ANSI = re.compile(r"\x1b\[")


# ----- payloads ----------------------------------------------------------------------------------
def task(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"taskId": name, "duration": "PT0S", "status": status, **extra}


def job(
    job_id: str = JOB_A,
    status: str = "InProgress",
    *,
    duration: str = "PT1M0.5S",
    tasks: list[dict[str, Any]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    bag: dict[str, Any] | None = None,
    entity: str = "vm1",
    end: str | None = None,
    start: str = "2024-06-01T10:00:00.1234567Z",
) -> dict[str, Any]:
    props: dict[str, Any] = {"jobType": "AzureIaaSVMJob"}
    if status == "InProgress":
        props["actionsInfo"] = ["Cancellable"]
    props["containerName"] = f"iaasvmcontainerv2;{RG};{entity}"
    props["duration"] = duration
    if errors is not None:
        props["errorDetails"] = errors
    props["virtualMachineVersion"] = "Compute"
    props["extendedInfo"] = {
        "tasksList": tasks
        if tasks is not None
        else [
            task("Take Snapshot", "Completed" if status != "InProgress" else "InProgress"),
            task("Transfer data to vault", "NotStarted" if status == "InProgress" else status),
        ],
        "propertyBag": bag if bag is not None else {"VM Name": entity},
    }
    props.update(
        {
            "entityFriendlyName": entity,
            "backupManagementType": "AzureIaasVM",
            "operation": "Backup",
            "status": status,
            "startTime": start,
        }
    )
    if end is not None or status not in ("InProgress", "Cancelling"):
        props["endTime"] = end or "2024-06-01T10:20:23.1234567Z"
    props["activityId"] = "41aba82c-24ad-11ed-a9c7-acde48001122"
    return {
        "id": f"{VAULT_PATH}/backupJobs/{job_id}",
        "name": job_id,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": props,
    }


def list_item(body: dict[str, Any]) -> dict[str, Any]:
    """A list item: the same resource without extendedInfo."""
    props = {k: v for k, v in body["properties"].items() if k != "extendedInfo"}
    return {**body, "properties": props}


CANCELLED_AS_WARNINGS = [
    {
        "errorCode": 400158,
        "errorTitle": "UserErrorJobSuccessfullyCancelled",
        "errorString": "Job is cancelled.",
        "recommendations": [],
    }
]
REAL_WARNING = [
    {
        "errorCode": 400136,
        "errorTitle": "UserErrorSomeDisksNotBackedUp",
        "errorString": "Some disks were excluded.",
        "recommendations": ["Check it."],
    }
]
FAILED = [
    {
        "errorCode": 400001,
        "errorTitle": "UserErrorVmNotFoundV2",
        "errorString": "The virtual machine does not exist.",
        "recommendations": ["Stop protection of the VM."],
    }
]


def arm_error(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


# ----- a fake clock and a scripted service -------------------------------------------------------
Step = tuple[int, dict[str, str], str] | BaseException


def ok(body: Any, headers: dict[str, str] | None = None) -> Step:
    return (200, headers or {}, json.dumps(body))


class Script:
    """Answers the requests of one URL from a list of steps (the last one repeats), and records
    the fake time at which each request arrived."""

    def __init__(self, fake: FakeTime, steps: list[Step]) -> None:
        self.fake = fake
        self.steps = list(steps)
        self.times: list[float] = []
        self.urls: list[str] = []

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self.times.append(self.fake.now)
        self.urls.append(str(request.url))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, BaseException):
            raise step
        return step


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def serve_job(
    rsps: responses.RequestsMock, fake: FakeTime, steps: list[Step], job_id: str = JOB_A
) -> Script:
    script = Script(fake, steps)
    rsps.add_callback(
        responses.GET, re.compile(rf".*/backupJobs/{job_id}(\?.*)?$"), callback=script
    )
    return script


def serve_list(rsps: responses.RequestsMock, fake: FakeTime, steps: list[Step]) -> Script:
    script = Script(fake, steps)
    rsps.add_callback(responses.GET, re.compile(r".*/backupJobs\?.*"), callback=script)
    return script


def make_session(
    fake: FakeTime, fmt: str = "ndjson", *, tty: bool = False, query: str | None = None
) -> tuple[Session, io.StringIO, io.StringIO]:
    env = fake_environment(tty=tty)
    out = Output(env, fmt, Query(query) if query else None)
    ctx = resolve_context(
        ContextFlags(
            subscription=SUB,
            resource_group=RG,
            vault=VAULT,
            endpoint=ENDPOINT,
            vault_type="recovery-services",
        ),
        {},
        az_defaults=False,
    )
    client = BackupJobsClient(
        ctx, StaticTokenProvider("test-token"), retry=NO_RETRY, sleep=fake.sleep
    )
    return Session(env=env, out=out, ctx=ctx, client=client), env.stdout, env.stderr


def run(fake: FakeTime, session: Session, job_ids: list[str], **options: Any) -> int:
    options.setdefault("interval", 10.0)
    return watch_jobs(
        session,
        job_ids,
        WatchOptions(**options),
        sleep=fake.sleep,
        clock=fake.clock,
        wall=lambda: datetime(2024, 6, 1, 10, 30, tzinfo=UTC),
        rng=random.Random(7),
    )


def ndjson_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# ----- progressions and exit codes ---------------------------------------------------------------
def test_in_progress_to_completed_streams_each_change_once(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    script = serve_job(
        rsps,
        fake,
        [
            ok(job(duration="PT1M")),
            ok(job(duration="PT1M10S")),  # only the duration grew: not a change
            ok(
                job(
                    duration="PT1M20S",
                    tasks=[
                        task("Take Snapshot", "Completed"),
                        task("Transfer data to vault", "InProgress"),
                    ],
                )
            ),
            ok(job(status="Completed")),
        ],
    )
    session, out, _ = make_session(fake, "ndjson")
    assert run(fake, session, [JOB_A]) == 0
    lines = ndjson_lines(out.getvalue())
    assert [line["properties"]["status"] for line in lines] == [
        "InProgress",
        "InProgress",
        "Completed",
    ]
    assert lines[0]["properties"]["duration"] == "PT1M"  # the first poll, as returned
    assert len(script.times) == 4
    # polled about every 10 s (jitter stays small), and not after the end
    gaps = [b - a for a, b in zip(script.times, script.times[1:], strict=False)]
    assert all(9 <= g <= 11 for g in gaps)
    assert len(fake.sleeps) == 3


def test_failed_job_exits_6(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    serve_job(rsps, fake, [ok(job()), ok(job(status="Failed", errors=FAILED))])
    session, _, err = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == ExitCode.JOB_FAILED
    assert "Backup of vm1 Failed in" in err.getvalue()


def test_cancelling_then_cancelled_exits_7(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    serve_job(
        rsps,
        fake,
        [
            ok(job()),
            ok(
                job(
                    status="Cancelling",
                    tasks=[
                        task("Take Snapshot", "Completed"),
                        task("Transfer data to vault", "Cancelling"),
                    ],
                )
            ),
            ok(job(status="Cancelled")),
        ],
    )
    session, out, _ = make_session(fake, "ndjson")
    assert run(fake, session, [JOB_A]) == ExitCode.JOB_CANCELLED
    statuses = [line["properties"]["status"] for line in ndjson_lines(out.getvalue())]
    assert statuses == ["InProgress", "Cancelling", "Cancelled"]


def test_vm_backup_cancelled_into_completed_with_warnings_counts_as_cancelled(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    serve_job(rsps, fake, [ok(job(status="CompletedWithWarnings", errors=CANCELLED_AS_WARNINGS))])
    session, _, err = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == ExitCode.JOB_CANCELLED
    assert "warning" not in err.getvalue()


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 8)])
def test_completed_with_warnings_warns_or_fails_under_strict(
    rsps: responses.RequestsMock, fake: FakeTime, strict: bool, code: int
) -> None:
    serve_job(rsps, fake, [ok(job(status="CompletedWithWarnings", errors=REAL_WARNING))])
    session, out, err = make_session(fake, "json")
    assert run(fake, session, [JOB_A], strict=strict) == code
    assert "completed with warnings: 400136" in err.getvalue()
    assert json.loads(out.getvalue())["properties"]["status"] == "CompletedWithWarnings"


def test_a_job_that_already_ended_returns_at_once(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    script = serve_job(rsps, fake, [ok(job(status="Completed"))])
    session, out, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A], timeout=60) == 0
    assert fake.sleeps == [] and len(script.times) == 1
    assert json.loads(out.getvalue())["name"] == JOB_A


# ----- trouble that passes -----------------------------------------------------------------------
def test_429_retry_after_is_honoured_and_shown(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    script = serve_job(
        rsps,
        fake,
        [
            ok(job()),
            (429, {"Retry-After": "20"}, arm_error("ResourceRequestsThrottled", "Slow down.")),
            ok(job(status="Completed")),
        ],
    )
    session, _, err = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == 0
    assert script.times[2] - script.times[1] >= 20  # no request before Retry-After elapsed
    assert "throttled: retrying in 20 s" in err.getvalue()


def test_429_wait_read_from_the_message_when_there_is_no_header(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    message = (
        "Number of requests for action 'Microsoft.RecoveryServices/vaults/backupJobs/read'"
        " exceeded the limit of '150' for time interval '01:00:00'. Please try again "
        "after '324' seconds."
    )
    script = serve_job(
        rsps,
        fake,
        [
            ok(job()),
            (429, {}, arm_error("ResourceRequestsThrottled", message)),
            ok(job(status="Completed")),
        ],
    )
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == 0
    assert script.times[2] - script.times[1] >= 324


def test_throttling_slows_the_interval_down() -> None:
    fake = FakeTime()
    with responses.RequestsMock() as mock:
        script = serve_job(
            mock,
            fake,
            [
                ok(job()),
                (429, {"Retry-After": "1"}, arm_error("TooManyRequests", "x")),
                ok(job()),
                ok(job()),
                ok(job(status="Completed")),
            ],
        )
        session, _, _ = make_session(fake, "json")
        assert run(fake, session, [JOB_A]) == 0
    gaps = [b - a for a, b in zip(script.times, script.times[1:], strict=False)]
    assert gaps[-1] >= 13  # the interval grew by half after the 429


def test_the_interval_recovers_after_a_run_of_good_polls(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    script = serve_job(
        rsps,
        fake,
        [ok(job()), (429, {}, arm_error("TooManyRequests", "x"))]
        + [ok(job())] * 7
        + [ok(job(status="Completed"))],
    )
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == 0
    gaps = [b - a for a, b in zip(script.times, script.times[1:], strict=False)]
    assert gaps[2] >= 13  # slower right after the 429
    assert gaps[-1] <= 11  # back to the asked interval


def test_a_5xx_on_one_job_does_not_stop_reading_the_others(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    a = serve_job(
        rsps,
        fake,
        [ok(job(JOB_A)), (503, {}, arm_error("ServerTimeout", "")), ok(job(JOB_A, "Completed"))],
        JOB_A,
    )
    b = serve_job(rsps, fake, [ok(job(JOB_B)), ok(job(JOB_B, "Completed"))], JOB_B)
    serve_list(rsps, fake, [ok({"value": []})])  # both left InProgress
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A, JOB_B]) == 0
    assert b.times[1] == a.times[1]  # read in the same tick as A's 503
    assert len(a.times) == 3 and len(b.times) == 2
    assert a.times[2] - a.times[1] <= 11  # some answers came: no growing backoff


def test_5xx_backs_off_exponentially_up_to_two_minutes(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    unavailable: Step = (503, {}, arm_error("ServerTimeout", "The server did not respond in time."))
    script = serve_job(rsps, fake, [ok(job())] + [unavailable] * 9 + [ok(job(status="Completed"))])
    session, _, err = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == 0
    gaps = [b - a for a, b in zip(script.times, script.times[1:], strict=False)]
    backoffs = gaps[1:]
    assert backoffs[0] < backoffs[1] < backoffs[2] < backoffs[3]
    assert max(backoffs) <= 120
    assert backoffs[-1] >= 100
    assert "service error (HTTP 503)" in err.getvalue()


def test_connection_errors_and_gateway_html_keep_the_watch_going(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    serve_job(
        rsps,
        fake,
        [
            ok(job()),
            requests.exceptions.ConnectionError("Connection reset by peer"),
            (
                502,
                {"Content-Type": "text/html"},
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            ),
            (504, {}, arm_error("GatewayTimeout", "")),
            ok(job(status="Completed")),
        ],
    )
    session, _, err = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == 0
    assert "connection lost" in err.getvalue()


@pytest.mark.parametrize(
    "garbage",
    [
        "<html><body>Service Unavailable</body></html>",  # HTML with 200
        '{"id": "/subscriptions/x", "properties": {"status": "InPro',  # truncated JSON
        "[1, 2, 3]",  # not an object
        '{"error": null}',  # an object that is not a job
        "",  # empty
    ],
)
def test_unreadable_bodies_are_transient(
    rsps: responses.RequestsMock, fake: FakeTime, garbage: str
) -> None:
    serve_job(rsps, fake, [ok(job()), (200, {}, garbage), ok(job(status="Completed"))])
    session, out, err = make_session(fake, "ndjson")
    assert run(fake, session, [JOB_A]) == 0
    assert "unreadable response: retrying in" in err.getvalue()
    assert len(ndjson_lines(out.getvalue())) == 2


def test_a_body_cut_short_is_transient(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    body = json.dumps(job())
    serve_job(
        rsps,
        fake,
        [
            ok(job()),
            (200, {"Content-Length": str(len(body) + 500)}, body),
            ok(job(status="Completed")),
        ],
    )
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == 0


def test_trouble_snapshot_says_when_the_next_try_is(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    serve_job(
        rsps,
        fake,
        [
            ok(job()),
            (429, {"Retry-After": "20"}, arm_error("TooManyRequests", "x")),
            ok(job(status="Completed")),
        ],
    )
    session, _, _ = make_session(fake)
    snaps: list[Snapshot] = []
    for snap in poll_jobs(
        session.source,
        [JOB_A],
        PollPolicy(interval=10),
        clock=fake.clock,
        sleep=fake.sleep,
        rng=random.Random(1),
    ):
        snaps.append(Snapshot(**{**snap.__dict__}))
    trouble = snaps[1].trouble
    assert trouble is not None and trouble.reason == "throttled"
    assert snaps[1].next_poll_at is not None
    assert snaps[1].next_poll_at - snaps[1].polled_at >= 20
    assert snaps[-1].trouble is None and snaps[-1].finished


# ----- not found, auth ---------------------------------------------------------------------------
def test_404_then_found_within_grace(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    missing: Step = (404, {}, arm_error("ResourceNotFound", "The job was not found."))
    serve_job(rsps, fake, [missing, missing, ok(job()), ok(job(status="Completed"))])
    session, out, err = make_session(fake, "ndjson")
    assert run(fake, session, [JOB_A], grace=60) == 0
    assert len(ndjson_lines(out.getvalue())) == 2
    assert "not visible yet" in err.getvalue()


def test_404_past_grace_is_not_found(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    serve_job(rsps, fake, [(404, {}, arm_error("ResourceNotFound", "The job was not found."))])
    session, _, _ = make_session(fake, "json")
    with pytest.raises(NotFoundError) as info:
        run(fake, session, [JOB_A], grace=30)
    assert info.value.exit_code == ExitCode.NOT_FOUND
    assert fake.now - 1000 >= 30
    assert "--grace" in (info.value.hint or "")


def test_404_without_grace_is_immediate(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    script = serve_job(rsps, fake, [(404, {}, arm_error("ResourceNotFound", "gone"))])
    session, _, _ = make_session(fake, "json")
    with pytest.raises(NotFoundError):
        run(fake, session, [JOB_A], grace=0)
    assert len(script.times) == 1


def test_401_that_persists_after_renewal_is_an_auth_error(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    serve_job(rsps, fake, [ok(job()), (401, {}, arm_error("ExpiredAuthenticationToken", "old"))])
    session, _, _ = make_session(fake, "json")
    with pytest.raises(AuthError) as info:
        run(fake, session, [JOB_A])
    assert info.value.exit_code == ExitCode.AUTH


def test_400_is_a_real_error(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    serve_job(rsps, fake, [(400, {}, arm_error("BMSUserErrorInvalidInput", "bad"))])
    session, _, _ = make_session(fake, "json")
    with pytest.raises(ApiError) as info:
        run(fake, session, [JOB_A])
    assert info.value.exit_code == ExitCode.ERROR


# ----- timeout -----------------------------------------------------------------------------------
def test_timeout_exits_5_with_the_last_state(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    script = serve_job(rsps, fake, [ok(job())])
    session, out, err = make_session(fake, "json")
    assert run(fake, session, [JOB_A], timeout=25) == ExitCode.TIMEOUT
    assert json.loads(out.getvalue())["properties"]["status"] == "InProgress"
    assert fake.now - 1000 == pytest.approx(25)
    assert script.times[-1] == pytest.approx(1025)  # a last look at the deadline
    assert "--timeout elapsed" in err.getvalue()


def test_timeout_never_sends_a_request_before_retry_after(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    script = serve_job(
        rsps,
        fake,
        [
            ok(job()),
            (429, {"Retry-After": "100"}, arm_error("TooManyRequests", "x")),
        ],
    )
    session, _, _ = make_session(fake, "ndjson")
    assert run(fake, session, [JOB_A], timeout=30) == ExitCode.TIMEOUT
    assert len(script.times) == 2
    assert fake.now - 1000 == pytest.approx(30)


def test_no_timeout_keeps_going_through_long_trouble(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    serve_job(
        rsps,
        fake,
        [ok(job())]
        + [(500, {}, arm_error("InternalServerError", ""))] * 40
        + [ok(job(status="Completed"))],
    )
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A]) == 0
    assert fake.now - 1000 > 3600


# ----- output forms ------------------------------------------------------------------------------
def test_plain_lines_when_piped(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    serve_job(
        rsps,
        fake,
        [
            ok(
                job(
                    tasks=[
                        task("Take Snapshot", "InProgress"),
                        task("Transfer data to vault", "NotStarted"),
                    ]
                )
            ),
            ok(job(duration="PT2M")),
            ok(
                job(
                    tasks=[
                        task("Take Snapshot", "Completed"),
                        task(
                            "Transfer data to vault",
                            "InProgress",
                            taskExecutionDetails="63.5 GBs / 127 GBs Transferred",
                        ),
                    ]
                )
            ),
            ok(
                job(
                    status="Completed",
                    bag={"VM Name": "vm1", "Backup Size": "11390 MB"},
                    duration="PT20M23S",
                )
            ),
        ],
    )
    session, out, _ = make_session(fake, "table", tty=False)
    assert run(fake, session, [JOB_A]) == 0
    text = out.getvalue()
    assert not ANSI.search(text)
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("Backup of vm1: InProgress; Take Snapshot InProgress")
    assert "Transfer data to vault InProgress 50% (63.5 GBs / 127 GBs Transferred)" in lines[1]
    assert "Completed in 20m23s" in lines[2] and "new properties: Backup Size" in lines[2]


def test_ndjson_with_query_applies_per_line(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    serve_job(rsps, fake, [ok(job()), ok(job(status="Completed"))])
    session, out, _ = make_session(fake, "ndjson", query="properties.status")
    assert run(fake, session, [JOB_A]) == 0
    assert out.getvalue().splitlines() == ['"InProgress"', '"Completed"']


def test_tsv_prints_the_final_row(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    serve_job(rsps, fake, [ok(job(status="Completed"))])
    session, out, _ = make_session(fake, "tsv")
    assert run(fake, session, [JOB_A]) == 0
    assert out.getvalue().split("\t")[:3] == [JOB_A, "Completed", "Backup"]


def test_live_table_shows_the_final_frame_and_summary(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    serve_job(
        rsps,
        fake,
        [
            ok(
                job(
                    tasks=[
                        task("Take Snapshot", "InProgress"),
                        task("Transfer data to vault", "NotStarted"),
                    ]
                )
            ),
            ok(job(status="Completed", duration="PT20M23S")),
        ],
    )
    session, out, _ = make_session(fake, "table", tty=True)
    assert run(fake, session, [JOB_A], bell=True) == 0
    text = ANSI.sub("", out.getvalue())
    assert "Take Snapshot" in text and "Transfer data to vault" in text
    assert "Backup of vm1 Completed in 20m23s" in text
    assert "\a" in out.getvalue()


# ----- several jobs ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        (("Completed", "Failed", "Cancelled"), ExitCode.JOB_FAILED),
        (("Cancelled", "Completed", "Completed"), ExitCode.JOB_CANCELLED),
        (("CompletedWithWarnings", "Completed", "Completed"), ExitCode.JOB_WARNINGS),
        (("Completed", "Completed", "Completed"), ExitCode.OK),
    ],
)
def test_the_worst_outcome_wins(
    rsps: responses.RequestsMock, fake: FakeTime, outcomes: tuple[str, ...], code: ExitCode
) -> None:
    for job_id, status in zip((JOB_A, JOB_B, JOB_C), outcomes, strict=True):
        errors = REAL_WARNING if status == "CompletedWithWarnings" else None
        serve_job(rsps, fake, [ok(job(job_id, status, errors=errors))], job_id)
    session, out, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A, JOB_B, JOB_C], strict=True) == code
    assert [j["name"] for j in json.loads(out.getvalue())] == [JOB_A, JOB_B, JOB_C]


def test_timeout_wins_over_outcomes_seen_before_it(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    serve_job(rsps, fake, [ok(job(JOB_A, "Failed", errors=FAILED))], JOB_A)
    serve_job(rsps, fake, [ok(job(JOB_B))], JOB_B)
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A, JOB_B], timeout=30) == ExitCode.TIMEOUT


def test_fail_fast_stops_at_the_first_failure(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    serve_job(rsps, fake, [ok(job(JOB_A)), ok(job(JOB_A, "Failed", errors=FAILED))], JOB_A)
    slow = serve_job(rsps, fake, [ok(job(JOB_B))], JOB_B)
    serve_list(rsps, fake, [ok({"value": [list_item(job(JOB_B))]})])
    session, out, err = make_session(fake, "json")
    assert run(fake, session, [JOB_A, JOB_B], fail_fast=True) == ExitCode.JOB_FAILED
    assert len(slow.times) == 1 and fake.now - 1000 < 15
    assert "--fail-fast" in err.getvalue()
    assert len(json.loads(out.getvalue())) == 2


def test_without_fail_fast_the_others_are_followed_to_their_end(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    serve_job(rsps, fake, [ok(job(JOB_A)), ok(job(JOB_A, "Failed", errors=FAILED))], JOB_A)
    serve_job(rsps, fake, [ok(job(JOB_B))] * 3 + [ok(job(JOB_B, "Completed"))], JOB_B)
    serve_list(rsps, fake, [ok({"value": [list_item(job(JOB_B))]})])
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A, JOB_B]) == ExitCode.JOB_FAILED
    assert fake.now - 1000 > 25


def test_several_jobs_use_one_list_request_per_tick(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    a = serve_job(rsps, fake, [ok(job(JOB_A)), ok(job(JOB_A, "Completed"))], JOB_A)
    b = serve_job(rsps, fake, [ok(job(JOB_B)), ok(job(JOB_B, "Completed"))], JOB_B)
    c = serve_job(rsps, fake, [ok(job(JOB_C)), ok(job(JOB_C, "Completed"))], JOB_C)
    in_progress = [list_item(job(j, duration="PT3M")) for j in (JOB_A, JOB_B, JOB_C)]
    lister = serve_list(
        rsps,
        fake,
        [
            ok({"value": in_progress}),
            ok({"value": [list_item(job(JOB_A, duration="PT4M")), list_item(job(JOB_B))]}),
            ok({"value": [list_item(job(JOB_A))]}),
        ],
    )
    session, out, _ = make_session(fake, "ndjson")
    assert run(fake, session, [JOB_A, JOB_B, JOB_C]) == 0
    # tick 1: a GET each; then one list per tick, and GETs only for jobs that left InProgress
    # (the last job alone is read directly)
    assert (len(a.times), len(b.times), len(c.times)) == (2, 2, 2)
    assert len(lister.times) == 3
    assert "status eq 'InProgress'" in unquote(lister.urls[0])
    assert "startTime eq '2024-05-31 10:00:00 AM'" in unquote(lister.urls[0])
    names = [(line["name"], line["properties"]["status"]) for line in ndjson_lines(out.getvalue())]
    assert names[:3] == [(JOB_A, "InProgress"), (JOB_B, "InProgress"), (JOB_C, "InProgress")]
    assert sorted(names[3:]) == sorted(
        [(JOB_A, "Completed"), (JOB_B, "Completed"), (JOB_C, "Completed")]
    )


def test_a_list_that_changes_triggers_a_detail_fetch(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    a = serve_job(rsps, fake, [ok(job(JOB_A))] * 2 + [ok(job(JOB_A, "Completed"))], JOB_A)
    b = serve_job(rsps, fake, [ok(job(JOB_B)), ok(job(JOB_B, "Completed"))], JOB_B)
    changed = list_item(job(JOB_A))
    changed["properties"]["errorDetails"] = REAL_WARNING
    serve_list(
        rsps,
        fake,
        [
            ok({"value": [list_item(job(JOB_A)), list_item(job(JOB_B))]}),
            ok({"value": [changed, list_item(job(JOB_B))]}),
            ok({"value": []}),
        ],
    )
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A, JOB_B]) == 0
    assert len(a.times) == 3 and len(b.times) == 2


def test_a_list_filter_refused_falls_back_to_one_get_per_job(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    a = serve_job(rsps, fake, [ok(job(JOB_A))] * 3 + [ok(job(JOB_A, "Completed"))], JOB_A)
    serve_job(rsps, fake, [ok(job(JOB_B))] * 3 + [ok(job(JOB_B, "Completed"))], JOB_B)
    lister = serve_list(rsps, fake, [(400, {}, arm_error("BMSUserErrorInvalidInput", "filter"))])
    session, _, _ = make_session(fake, "json")
    assert run(fake, session, [JOB_A, JOB_B]) == 0
    assert len(lister.times) == 1 and len(a.times) == 4


# ----- --operation and --all ---------------------------------------------------------------------
def op_status(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": OP_ID,
        "name": OP_ID,
        "status": status,
        "startTime": "2023-12-21T05:54:14.5083259Z",
        "endTime": "0001-01-01T00:00:00",
        **extra,
    }


def test_operation_waits_honouring_retry_after_then_gives_the_job(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    script = Script(
        fake,
        [
            ok(op_status("InProgress"), {"Retry-After": "7"}),
            ok(
                op_status(
                    "Succeeded",
                    properties={
                        "objectType": "OperationStatusJobExtendedInfo",
                        "jobId": JOB_A.upper(),
                    },
                )
            ),
        ],
    )
    rsps.add_callback(
        responses.GET, re.compile(rf".*/backupOperations/{OP_ID}\?.*"), callback=script
    )
    session, _, err = make_session(fake, "json")
    got = resolve_operation(session, OP_ID, interval=10, sleep=fake.sleep, clock=fake.clock)
    assert got == [JOB_A]
    assert script.times[1] - script.times[0] == pytest.approx(7)
    assert "waiting for it to start its job" in err.getvalue()


def test_operation_url_with_several_jobs(rsps: responses.RequestsMock, fake: FakeTime) -> None:
    url = (
        f"{ENDPOINT}{VAULT_PATH}/backupFabrics/Azure/protectionContainers/c/protectedItems/i"
        f"/operationsStatus/{OP_ID}?api-version=2019-05-13"
    )
    rsps.add(
        responses.GET,
        url,
        json=op_status(
            "Succeeded",
            properties={
                "objectType": "OperationStatusJobsExtendedInfo",
                "jobIds": [JOB_A, JOB_B],
                "failedJobsError": {},
            },
        ),
    )
    session, _, _ = make_session(fake, "json")
    assert resolve_operation(session, url, sleep=fake.sleep, clock=fake.clock) == [JOB_A, JOB_B]


def test_failed_operation_is_reported_with_its_error(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    rsps.add(
        responses.GET,
        re.compile(r".*/backupOperations/.*"),
        json=op_status(
            "Failed", error={"code": "UserErrorVmNotFound", "message": "The VM is gone."}
        ),
    )
    session, _, _ = make_session(fake, "json")
    with pytest.raises(OperationFailedError) as info:
        resolve_operation(session, OP_ID, sleep=fake.sleep, clock=fake.clock)
    assert info.value.exit_code == ExitCode.ERROR
    assert "Failed: UserErrorVmNotFound: The VM is gone." in info.value.message


def test_operation_transient_errors_and_timeout(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    rsps.add(
        responses.GET,
        re.compile(r".*/backupOperations/.*"),
        status=502,
        body="<html>bad gateway</html>",
    )
    session, _, _ = make_session(fake, "json")
    with pytest.raises(WatchTimeout):
        resolve_operation(
            session, OP_ID, interval=5, timeout=60, sleep=fake.sleep, clock=fake.clock
        )
    assert fake.now - 1000 == pytest.approx(60)


def test_operation_wait_is_bounded_without_a_timeout(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    rsps.add(
        responses.GET,
        re.compile(r".*/backupOperations/.*"),
        json=op_status("InProgress"),
        headers={"Retry-After": "60"},
    )
    session, _, _ = make_session(fake, "json")
    with pytest.raises(ApiError) as info:
        resolve_operation(session, OP_ID, sleep=fake.sleep, clock=fake.clock)
    assert info.value.exit_code == ExitCode.ERROR
    assert "did not start its job within 10 minutes" in info.value.message
    assert fake.now - 1000 == pytest.approx(600)


def test_operation_on_a_foreign_host_is_refused_before_any_request(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    session, _, _ = make_session(fake, "json")
    with pytest.raises(UnexpectedResponseError):
        resolve_operation(
            session,
            "https://evil.example.com/x/operationsStatus/1",
            sleep=fake.sleep,
            clock=fake.clock,
        )
    assert len(rsps.calls) == 0


def test_operation_that_succeeded_without_a_job(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    rsps.add(responses.GET, re.compile(r".*/backupOperations/.*"), json=op_status("Succeeded"))
    session, _, _ = make_session(fake, "json")
    with pytest.raises(UnexpectedResponseError):
        resolve_operation(session, OP_ID, sleep=fake.sleep, clock=fake.clock)


def test_all_lists_in_progress_and_cancelling_jobs(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    lister = serve_list(
        rsps,
        fake,
        [
            ok({"value": [list_item(job(JOB_A)), list_item(job(JOB_B))]}),
            ok({"value": [list_item(job(JOB_C, "Cancelling"))]}),
        ],
    )
    session, _, _ = make_session(fake, "json")
    found = in_progress_job_ids(session, datetime(2024, 6, 1, 12, tzinfo=UTC))
    assert found == [JOB_A, JOB_B, JOB_C]
    filters = [unquote(u) for u in lister.urls]
    assert "status eq 'InProgress'" in filters[0] and "status eq 'Cancelling'" in filters[1]
    assert "startTime eq '2024-05-25 12:00:00 PM'" in filters[0]


# ----- the command line --------------------------------------------------------------------------
def test_durations_on_the_command_line() -> None:
    assert parse_duration_arg("90", "--timeout") == 90
    assert parse_duration_arg("30m", "--timeout") == 1800
    assert parse_duration_arg("2h", "--timeout") == 7200
    assert parse_duration_arg("1h30m", "--timeout") == 5400
    assert parse_duration_arg("1.5h", "--timeout") == 5400
    assert parse_duration_arg("45s", "--timeout") == 45
    assert parse_interval("1") == 1
    for bad in ("", "abc", "-5", "1h30", "nan", "inf", "5 minutes", "1e3", "30x"):
        with pytest.raises(UsageError):
            parse_timeout(bad)
    for bad in ("0", "0.5", "-1", "nan", "1e9", "99999", "2h"):
        with pytest.raises(UsageError):
            parse_interval(bad)
    with pytest.raises(UsageError):
        parse_timeout("0")


CLI_ENV = {
    "AZURE_SUBSCRIPTION_ID": SUB,
    "AZJOBS_RESOURCE_GROUP": RG,
    "AZJOBS_VAULT": VAULT,
    "AZJOBS_VAULT_TYPE": "recovery-services",
    "AZJOBS_ACCESS_TOKEN": "test-token",
    "AZJOBS_ENDPOINT": ENDPOINT,
    "AZURE_CONFIG_DIR": "/nonexistent",
}


@pytest.mark.parametrize(
    "argv",
    [
        ["watch", JOB_A, "--interval", "0"],
        ["watch", JOB_A, "--interval", "nan"],
        ["watch", JOB_A, "--interval", "-3"],
        ["watch", JOB_A, "--interval", "1e12"],
        ["watch", JOB_A, "--timeout", "soon"],
        ["watch", JOB_A, "--timeout", "1h30"],
        ["watch", JOB_A, "--grace", "x"],
        ["watch", "not-a-guid"],
        ["watch"],
        ["watch", JOB_A, "--all"],
        ["watch", "--operation", "nope"],
        ["watch", JOB_A, "-o", "yaml"],
        ["watch", JOB_A, "--query", "[["],
    ],
)
def test_bad_input_is_exit_2_before_any_request(
    argv: list[str], rsps: responses.RequestsMock
) -> None:
    result = run_cli(*argv, env=CLI_ENV)
    assert result.exit_code == ExitCode.USAGE
    assert len(rsps.calls) == 0
    assert "Traceback" not in result.stderr


def test_jobs_from_two_vaults_are_refused(rsps: responses.RequestsMock) -> None:
    other = VAULT_PATH.replace(VAULT, "other-vault")
    result = run_cli(
        "watch", f"{VAULT_PATH}/backupJobs/{JOB_A}", f"{other}/backupJobs/{JOB_B}", env=CLI_ENV
    )
    assert result.exit_code == ExitCode.USAGE
    assert "one vault" in result.stderr


def test_cli_watch_of_an_ended_job(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.GET,
        re.compile(rf".*/backupJobs/{JOB_A}\?.*"),
        json=job(status="Failed", errors=FAILED),
    )
    result = run_cli("watch", JOB_A, "-o", "json", env=CLI_ENV)
    assert result.exit_code == ExitCode.JOB_FAILED
    assert json.loads(result.stdout)["properties"]["status"] == "Failed"
    assert "Backup of vm1 Failed in" in result.stderr


def test_cli_watch_operation_url_names_the_vault(rsps: responses.RequestsMock) -> None:
    other = VAULT_PATH.replace(VAULT, "op-vault")
    url = f"{ENDPOINT}{other}/backupOperations/{OP_ID}?api-version=2019-05-13"
    rsps.add(
        responses.GET,
        url,
        json=op_status(
            "Succeeded",
            properties={"objectType": "OperationStatusJobExtendedInfo", "jobId": JOB_A},
        ),
    )
    rsps.add(
        responses.GET,
        re.compile(rf".*/vaults/op-vault/backupJobs/{JOB_A}\?.*"),
        json=job(status="Completed"),
    )
    result = run_cli("watch", "--operation", url, "-o", "json", env=CLI_ENV)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["name"] == JOB_A


def test_cli_watch_all_with_nothing_running_prints_an_empty_array(
    rsps: responses.RequestsMock,
) -> None:
    rsps.add(responses.GET, re.compile(r".*/backupJobs\?.*"), json={"value": []})
    result = run_cli("watch", "--all", "-o", "json", env=CLI_ENV)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert "no job is in progress" in result.stderr


def test_watch_helpers_are_typed_callables() -> None:
    # the interface cancel --wait relies on
    assert callable(watch_jobs)
    opts = WatchOptions(
        interval=5, timeout=60, strict=True, fail_fast=True, grace=10, compact=True, bell=False
    )
    assert opts.interval == 5 and opts.timeout == 60
    fn: Callable[..., int] = watch_jobs
    assert fn is watch_jobs


def test_live_rows_refresh_one_quiet_job_per_tick(
    rsps: responses.RequestsMock, fake: FakeTime
) -> None:
    ids = (JOB_A, JOB_B, JOB_C)
    ends_at = fake.now + 55  # the jobs end between the 6th and 7th tick
    reads: dict[str, list[float]] = {j: [] for j in ids}

    def get(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        job_id = str(request.url).split("/backupJobs/")[1].split("?")[0]
        reads[job_id].append(fake.now)
        return ok(job(job_id, "Completed" if fake.now >= ends_at else "InProgress"))  # type: ignore[return-value]

    def listing(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        running = [] if fake.now >= ends_at else [list_item(job(j)) for j in ids]
        return ok({"value": running})  # type: ignore[return-value]

    rsps.add_callback(responses.GET, re.compile(r".*/backupJobs/[0-9a-f-]+\?.*"), callback=get)
    rsps.add_callback(responses.GET, re.compile(r".*/backupJobs\?.*"), callback=listing)
    session, _, _ = make_session(fake, "table", tty=True)
    assert run(fake, session, list(ids), compact=True) == 0
    # tick 1 reads all three; then one list per tick plus one job's details in turn; at the
    # end the three that left InProgress
    ticks = 7
    assert sum(len(r) for r in reads.values()) == 3 + (ticks - 2) + 3
    assert all(2 <= len(r) <= 4 for r in reads.values())


def test_the_config_file_sets_the_default_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azbackupjobs.follow.poll import startup_interval

    config = tmp_path / "config.toml"
    config.write_text("interval = 15\n[profiles.slow]\ninterval = 0.2\n", encoding="utf-8")
    monkeypatch.setenv("AZJOBS_CONFIG", str(config))
    assert startup_interval() == 15
    assert startup_interval("slow") == 1  # never below the minimum
    monkeypatch.delenv("AZJOBS_CONFIG")  # XDG_CONFIG_HOME is an empty directory here
    assert startup_interval() == 10


@pytest.mark.parametrize(
    ("fmt", "tty", "printed"),
    [
        ("json", False, "[]\n"),
        ("ndjson", False, ""),
        ("table", True, ""),
        ("tsv", False, ""),
    ],
)
def test_nothing_to_watch(
    rsps: responses.RequestsMock, fake: FakeTime, fmt: str, tty: bool, printed: str
) -> None:
    session, out, _ = make_session(fake, fmt, tty=tty)
    assert run(fake, session, []) == 0
    assert out.getvalue() == printed and len(rsps.calls) == 0
