"""Right answers and one clear line: what a new user and a misbehaving server found wrong in
answers that were not errors.

- ``watch -o ndjson`` writes a line only on a change: durations and estimates that tick with
  the clock on every poll are not changes, in the jobs reader and the fleet reader alike.
- A VM backup cancelled into CompletedWithWarnings (error 400158) is called Cancelled in every
  row, line and message, while ``-o json`` stays the resource as returned.
- ``cancel --wait`` repeated after a timeout follows a job that is already Cancelling, exits 7
  at once for one already cancelled, and gives an ended job's outcome with a note.
- A watch that never saw its job names the real cause (throttling, unreadable answers).
- A ``--query`` that fails on the data is one line naming the expression, exit 2, checked on
  the first poll of a watch.
- The several-jobs rows name a workload job's operation; piped ``watch -o table`` lines have one
  shape and the summary goes to stderr; Ctrl-C leaves one line saying what keeps running.

Every case adds to the ``right answers`` figure of the reliability summary.
"""

from __future__ import annotations

import copy
import io
import json
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses

from azbackupjobs.arm.auth import StaticTokenProvider
from azbackupjobs.arm.client import NO_RETRY, BackupJobsClient
from azbackupjobs.arm.settings import ContextFlags, resolve_context
from azbackupjobs.commands.cancel import CancelOptions, CancelRefused, run_cancel
from azbackupjobs.commands.common import CommonOptions, Session
from azbackupjobs.commands.watch import WatchOptions, watch_jobs
from azbackupjobs.follow.fleet import FleetReader, FleetWatchOptions
from azbackupjobs.follow.poll import PollPolicy
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.model.job import Job, change_key
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.filters import Window
from azbackupjobs.view.output import Environment, Output, Query
from tests.harness.clock import FakeTime
from tests.reliability.reliability_harness import BASE, JOB, SUB, TOKEN

JOB_B = "11111111-0000-4000-8000-000000000002"
DPP_BASE = (
    f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.DataProtection"
    "/backupVaults/bvault1"
)


@pytest.fixture
def counted(figures: Any) -> Iterator[None]:
    yield
    figures.right_answers += 1


# ----- scripted service and fake time ------------------------------------------------------------
Step = tuple[int, dict[str, str], str]


def ok(body: Any) -> Step:
    return (200, {}, json.dumps(body))


class Script:
    """Answers one URL's requests from a list of steps; the last one repeats."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = list(steps)
        self.count = 0

    def __call__(self, request: requests.PreparedRequest) -> Step:
        self.count += 1
        return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]


def serve(rsps: responses.RequestsMock, steps: list[Step], job_id: str = JOB) -> Script:
    script = Script(steps)
    rsps.add_callback(responses.GET, re.compile(rf".*/backupJobs/{job_id}(\?.*)?$"), script)
    return script


def refuse_list(rsps: responses.RequestsMock) -> None:
    """A list filter the service refuses: the watch reads each job instead."""
    body = json.dumps({"error": {"code": "BadRequest", "message": "no filter here"}})
    rsps.add(responses.GET, re.compile(r".*/backupJobs\?.*"), body=body, status=400)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def session_for(
    fake: FakeTime, fmt: str, *, query: str | None = None
) -> tuple[Session, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Environment(
        stdout, stderr, stdout_isatty=False, stderr_isatty=False, stdin_isatty=False, env={}
    )
    out = Output(env, fmt, Query(query) if query else None)
    ctx = resolve_context(
        ContextFlags(
            subscription=SUB, resource_group="rg1", vault="vault1", vault_type="recovery-services"
        ),
        {},
        az_defaults=False,
    )
    client = BackupJobsClient(ctx, StaticTokenProvider("t"), retry=NO_RETRY, sleep=fake.sleep)
    return Session(env=env, out=out, ctx=ctx, client=client), stdout, stderr


def watch(fake: FakeTime, session: Session, jobs: list[str], **options: Any) -> int:
    options.setdefault("interval", 10.0)
    return int(
        watch_jobs(
            session,
            jobs,
            WatchOptions(**options),
            sleep=fake.sleep,
            clock=fake.clock,
            wall=lambda: datetime(2024, 6, 1, 10, 30, tzinfo=UTC),
            rng=random.Random(3),
        )
    )


def vm_job(
    status: str = "InProgress",
    *,
    job_id: str = JOB,
    tick: int = 0,
    transfer: str = "NotStarted",
    bag: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    end: str | None = None,
    entity: str = "vm1",
    operation: str = "Backup",
    workload: bool = False,
) -> dict[str, Any]:
    """A VM backup job; ``tick`` moves every value that only follows the clock."""
    props: dict[str, Any] = {
        "jobType": "AzureWorkloadJob" if workload else "AzureIaaSVMJob",
        "duration": f"PT{60 + tick}.{tick % 10}S",
        "extendedInfo": {
            "tasksList": [
                {"taskId": "Take Snapshot", "duration": f"PT{30 + tick}S", "status": "Completed"},
                {
                    "taskId": "Transfer data to vault",
                    "duration": f"PT{tick}S",
                    "status": transfer,
                },
            ],
            "propertyBag": bag if bag is not None else {"VM Name": entity},
            "estimatedRemainingDuration": f"PT{600 - tick}S",
        },
        "entityFriendlyName": entity,
        "backupManagementType": "AzureWorkload" if workload else "AzureIaasVM",
        "operation": operation,
        "status": status,
        "startTime": "2024-06-01T10:00:00Z",
        "activityId": "41aba82c-24ad-11ed-a9c7-acde48001122",
    }
    if status == "InProgress":
        props["actionsInfo"] = ["Cancellable"]
    if errors is not None:
        props["errorDetails"] = errors
    if end is not None or status not in ("InProgress", "Cancelling"):
        props["endTime"] = end or "2024-06-01T10:20:00Z"
    return {
        "id": f"{BASE}/backupJobs/{job_id}",
        "name": job_id,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": props,
    }


def bv_job(
    status: str = "InProgress", *, tick: int = 0, progress: int | None = None
) -> dict[str, Any]:
    """A Backup vault disk backup; ``tick`` moves its duration, etag and a subtask duration."""
    return {
        "id": f"{DPP_BASE}/backupJobs/{JOB_B}",
        "name": JOB_B,
        "type": "Microsoft.DataProtection/backupVaults/backupJobs",
        "properties": {
            "dataSourceName": "disk1",
            "dataSourceType": "Microsoft.Compute/disks",
            "operationCategory": "Backup",
            "operation": "Backup",
            "status": status,
            "startTime": "2024-06-01T10:00:00Z",
            "endTime": None if status == "InProgress" else "2024-06-01T10:20:00Z",
            "duration": f"00:00:{tick % 60:02d}.{tick}",
            "etag": f"W/\"datetime'2024-06-01T10%3A00%3A{tick % 60:02d}Z'\"",
            "extendedInfo": {
                "subTasks": [
                    {
                        "taskId": 1,
                        "taskName": "Trigger Backup",
                        "taskStatus": status,
                        "taskProgress": progress,
                        "duration": f"PT{tick}S",
                    }
                ],
                "additionalDetails": {"RetentionTag": "default"},
            },
        },
    }


# ----- 7. ndjson lines only on a change ----------------------------------------------------------
def _hundred_polls() -> list[dict[str, Any]]:
    """100 polls of one job that changes 3 times: a task starts, a bag key appears, it ends."""
    bodies = []
    for tick in range(100):
        if tick < 30:
            body = vm_job(tick=tick)
        elif tick < 60:
            body = vm_job(tick=tick, transfer="InProgress")
        elif tick < 99:
            body = vm_job(tick=tick, transfer="InProgress", bag={"VM Name": "vm1", "Size": "9 GB"})
        else:
            body = vm_job("Completed", tick=tick, transfer="Completed")
        bodies.append(body)
    return bodies


@pytest.mark.usefixtures("counted")
def test_a_job_polled_100_times_that_changes_3_times_gives_4_lines(
    rsps: responses.RequestsMock,
) -> None:
    fake = FakeTime()
    script = serve(rsps, [ok(b) for b in _hundred_polls()])
    session, out, _ = session_for(fake, "ndjson")
    assert watch(fake, session, [JOB]) == 0
    assert script.count == 100
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 4, [line["properties"]["duration"] for line in lines]
    # Each line is the resource as returned at that poll, durations included.
    assert [line["properties"]["duration"] for line in lines] == [
        "PT60.0S",
        "PT90.0S",
        "PT120.0S",
        "PT159.9S",
    ]


@pytest.mark.usefixtures("counted")
def test_the_ticking_values_are_the_only_ones_left_out() -> None:
    """The rule, field by field: what ticks is out, what a person calls a change is in."""
    base = vm_job(tick=1)
    assert change_key(base) == change_key(vm_job(tick=2))
    assert change_key(bv_job(tick=1)) == change_key(bv_job(tick=2))
    changes: list[Callable[[dict[str, Any]], None]] = [
        lambda b: b["properties"].update(status="Cancelling"),
        lambda b: b["properties"].update(endTime="2024-06-01T10:20:00Z"),
        lambda b: b["properties"].update(errorDetails=[{"errorCode": 1}]),
        lambda b: b["properties"]["extendedInfo"]["tasksList"][1].update(status="InProgress"),
        lambda b: b["properties"]["extendedInfo"]["tasksList"][1].update(
            taskExecutionDetails="1 GBs / 9 GBs Transferred"
        ),
        lambda b: b["properties"]["extendedInfo"].update(progressPercentage=12.0),
        lambda b: b["properties"]["extendedInfo"]["propertyBag"].update({"Size": "9 GB"}),
        lambda b: b["properties"]["extendedInfo"]["propertyBag"].update({"VM Name": "vm2"}),
    ]
    for change in changes:
        body = copy.deepcopy(base)
        change(body)
        assert change_key(body) != change_key(base)
    bv = bv_job(tick=1)
    moved = bv_job(tick=1, progress=40)
    assert change_key(moved) != change_key(bv)


class _Rows:
    """A Resource Graph source that returns the given rows, one list per tick."""

    time_limit = None

    def __init__(self, ticks: list[list[dict[str, Any]]]) -> None:
        self.ticks = ticks

    def running(self, query: Any, *, ended_since: Any, pending: Any) -> list[dict[str, Any]]:
        return self.ticks.pop(0) if len(self.ticks) > 1 else self.ticks[0]


@pytest.mark.usefixtures("counted")
def test_the_fleet_reader_uses_the_same_rule() -> None:
    """Resource Graph rows of two running jobs (both kinds of vault) whose durations tick:
    changes only when something happens."""
    ticks = []
    for tick in range(50):
        transfer = "InProgress" if tick >= 20 else "NotStarted"
        ticks.append([vm_job(tick=tick, transfer=transfer), bv_job(tick=tick)])
    window = Window(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 2, tzinfo=UTC))
    reader = FleetReader(
        _Rows(ticks),  # type: ignore[arg-type]
        JobQuery(window),
        FleetWatchOptions(),
        clock=lambda: 0.0,
        wall=lambda: datetime(2024, 6, 1, 11, tzinfo=UTC),
    )
    changed = [len(reader.read().changed) for _ in range(50)]
    assert changed[0] == 2  # the first tick shows both
    assert sum(changed[1:]) == 1, changed  # the task that started, nothing else
    assert reader.verdict(PollPolicy()) is None


# ----- 8. error 400158 reads Cancelled everywhere ------------------------------------------------
CANCELLED_AS_WARNINGS = [
    {
        "errorCode": 400158,
        "errorTitle": "UserErrorJobSuccessfullyCancelled",
        "errorString": "Job is cancelled.",
        "recommendations": [],
    }
]
SHOWN = "Cancelled (CompletedWithWarnings, 400158)"


def cancelled_vm(job_id: str = JOB) -> dict[str, Any]:
    return vm_job(
        "CompletedWithWarnings",
        job_id=job_id,
        transfer="Cancelled",
        errors=CANCELLED_AS_WARNINGS,
    )


@pytest.mark.usefixtures("counted")
def test_several_jobs_piped_lines_and_summary_say_cancelled(
    rsps: responses.RequestsMock,
) -> None:
    fake = FakeTime()
    serve(rsps, [ok(vm_job()), ok(cancelled_vm())])
    serve(rsps, [ok(vm_job(job_id=JOB_B)), ok(vm_job("Completed", job_id=JOB_B))], JOB_B)
    refuse_list(rsps)
    session, out, err = session_for(fake, "table")
    assert watch(fake, session, [JOB, JOB_B]) == ExitCode.JOB_CANCELLED
    ended = [line for line in out.getvalue().splitlines() if JOB[:8] in line][-1]
    assert SHOWN in ended, out.getvalue()
    assert f"1 {SHOWN}" in out.getvalue() + err.getvalue()


@pytest.mark.usefixtures("counted")
def test_rows_of_lists_and_live_views_say_cancelled() -> None:
    from rich.console import Console

    from azbackupjobs.view.list_view import jobs_table
    from azbackupjobs.view.render import job_status_text

    job = Job.from_dict(cancelled_vm())
    assert job_status_text(job).plain == SHOWN
    assert job.status_words() == SHOWN
    for width in (200, 80):
        console = Console(width=width, record=True, color_system=None)
        console.print(jobs_table([job], width=width))
        text = " ".join(console.export_text().split())
        if width >= 120:
            assert SHOWN in text, text
        else:  # the status cell's lines, beside the other columns' lines
            assert all(
                word in text for word in ("⊘ Cancelled", "(CompletedWithWarnings,", "400158)")
            )
            assert "CompletedWithWarnings …" not in text
    # The JSON stays the resource as returned.
    assert job.raw["properties"]["status"] == "CompletedWithWarnings"


def cancel_env(tmp_path: Any) -> Environment:
    return Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdout_isatty=False,
        stderr_isatty=False,
        stdin_isatty=False,
        env={
            "AZURE_SUBSCRIPTION_ID": SUB,
            "AZJOBS_RESOURCE_GROUP": "rg1",
            "AZJOBS_VAULT": "vault1",
            "AZJOBS_VAULT_TYPE": "recovery-services",
            "AZJOBS_ACCESS_TOKEN": TOKEN,
            "AZURE_CONFIG_DIR": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path),
            "XDG_CACHE_HOME": str(tmp_path),
        },
    )


def cancel(tmp_path: Any, *, wait: bool, output: str = "json") -> tuple[int, str, str]:
    env = cancel_env(tmp_path)
    fake = FakeTime()
    code = run_cancel(
        JOB,
        CommonOptions(output=output),
        CancelOptions(yes=True, wait=wait),
        env,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert isinstance(env.stdout, io.StringIO) and isinstance(env.stderr, io.StringIO)
    return code, env.stdout.getvalue(), env.stderr.getvalue()


@pytest.mark.usefixtures("counted")
def test_cancel_of_a_job_cancelled_into_warnings_says_cancelled(
    rsps: responses.RequestsMock, tmp_path: Any
) -> None:
    serve(rsps, [ok(cancelled_vm())])
    with pytest.raises(CancelRefused) as caught:
        cancel(tmp_path, wait=False)
    assert f"is not running (it is {SHOWN}); nothing sent" in caught.value.message
    assert not any(call.request.method == "POST" for call in rsps.calls)


# ----- 9. repeating a cancel ---------------------------------------------------------------------
@pytest.mark.usefixtures("counted")
def test_cancel_wait_repeated_follows_a_job_already_cancelling(
    rsps: responses.RequestsMock, tmp_path: Any
) -> None:
    script = serve(
        rsps, [ok(vm_job("Cancelling")), ok(vm_job("Cancelling")), ok(vm_job("Cancelled"))]
    )
    code, out, err = cancel(tmp_path, wait=True)
    assert code == ExitCode.JOB_CANCELLED, err
    assert "already being cancelled; nothing sent; following it" in err
    assert json.loads(out)["properties"]["status"] == "Cancelled"
    assert script.count >= 3
    assert not any(call.request.method == "POST" for call in rsps.calls)


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize(
    ("body", "code", "note"),
    [
        (vm_job("Cancelled"), ExitCode.JOB_CANCELLED, "already ended Cancelled"),
        (cancelled_vm(), ExitCode.JOB_CANCELLED, f"already ended {SHOWN}"),
        (vm_job("Completed", transfer="Completed"), ExitCode.OK, "already ended Completed"),
        (vm_job("Failed", transfer="Failed"), ExitCode.JOB_FAILED, "already ended Failed"),
    ],
    ids=["cancelled", "cancelled-400158", "completed", "failed"],
)
def test_cancel_wait_of_an_ended_job_gives_its_outcome_at_once(
    rsps: responses.RequestsMock, tmp_path: Any, body: dict[str, Any], code: int, note: str
) -> None:
    serve(rsps, [ok(body)])
    result, out, err = cancel(tmp_path, wait=True)
    assert result == code, err
    assert note in err and "nothing sent" in err
    assert json.loads(out) == body
    assert not any(call.request.method == "POST" for call in rsps.calls)
    assert len(rsps.calls) <= 2


# ----- 10a. a job never seen: the real cause -----------------------------------------------------
THROTTLED = (429, {"Retry-After": "5"}, json.dumps({"error": {"code": "TooManyRequests"}}))
UNREADABLE = (200, {"Content-Type": "text/html"}, "<html>gateway</html>")


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize(
    ("step", "cause"),
    [
        (THROTTLED, "every read was throttled (HTTP 429) for 1m"),
        (UNREADABLE, "the service's answers were unreadable for 1m"),
        ((503, {}, "{}"), "every read met a service error (HTTP 503) for 1m"),
    ],
    ids=["throttled", "unreadable", "503"],
)
def test_a_job_never_read_names_the_real_cause(
    rsps: responses.RequestsMock, step: Step, cause: str
) -> None:
    fake = FakeTime()
    serve(rsps, [step])
    session, _, err = session_for(fake, "json")
    assert watch(fake, session, [JOB], timeout=60.0) == ExitCode.TIMEOUT
    said = err.getvalue()
    assert "never became visible" not in said
    assert f"Job {JOB}: {cause}" in said, said
    assert "Traceback" not in said


@pytest.mark.usefixtures("counted")
def test_several_jobs_never_read_say_why(rsps: responses.RequestsMock) -> None:
    fake = FakeTime()
    serve(rsps, [THROTTLED])
    serve(rsps, [THROTTLED], JOB_B)
    session, _, err = session_for(fake, "json")
    assert watch(fake, session, [JOB, JOB_B], timeout=60.0) == ExitCode.TIMEOUT
    assert "2 jobs: 2 never read (throttled) (timed out)" in err.getvalue(), err.getvalue()


# ----- 11b. a --query that fails on the data -----------------------------------------------------
@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize(
    "expression",
    ["abs(name)", "length(properties.status) > `100` || sum(properties)", "sum(properties)"],
)
def test_a_query_failing_on_the_data_is_one_line_at_the_first_poll(
    rsps: responses.RequestsMock, expression: str
) -> None:
    from azbackupjobs.model.errors import UsageError

    fake = FakeTime()
    script = serve(rsps, [ok(vm_job())] * 3 + [ok(vm_job("Completed"))])
    session, out, _ = session_for(fake, "json", query=expression)
    with pytest.raises(UsageError) as caught:
        watch(fake, session, [JOB])
    message = caught.value.message
    assert script.count == 1  # checked on the first poll, not after the job ended
    assert message.startswith(f"--query {expression!r} failed on the data: "), message
    assert "\n" not in message and "{" not in message and "properties" not in message[60:]
    assert caught.value.exit_code == ExitCode.USAGE
    assert out.getvalue() == ""
