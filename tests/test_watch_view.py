"""The pure view functions of ``watch``: live frames and plain lines, rendered to text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from azbackupjobs.follow.poll import Snapshot, Tracked, Trouble
from azbackupjobs.model.job import Job
from azbackupjobs.view.watch_view import (
    Now,
    countdown,
    elapsed_of,
    frame,
    plain_line,
    spinner,
    summary_line,
    transfer_percent,
    warning_text,
)

JOB_A = "1d2e360b-e4c3-4787-9200-c4bad81f70c8"
JOB_B = "73e47398-73a0-45fb-b56b-9997e6d84229"
NOW = Now(mono=500.0, utc=datetime(2024, 6, 1, 10, 30, tzinfo=UTC))


def body(
    job_id: str = JOB_A,
    status: str = "InProgress",
    *,
    entity: str = "vm1",
    tasks: list[dict[str, Any]] | None = None,
    ext: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    duration: str = "PT5M",
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "jobType": "AzureIaaSVMJob",
        "duration": duration,
        "extendedInfo": {
            "tasksList": tasks or [],
            "propertyBag": {"VM Name": entity},
            **(ext or {}),
        },
        "entityFriendlyName": entity,
        "backupManagementType": "AzureIaasVM",
        "operation": "Restore",
        "status": status,
        "startTime": "2024-06-01T10:00:00Z",
    }
    if errors:
        props["errorDetails"] = errors
    return {"id": f"/subscriptions/s/backupJobs/{job_id}", "name": job_id, "properties": props}


def tracked(data: dict[str, Any], last_update: float = 498.0) -> Tracked:
    """As the loop leaves a job it has just read in detail."""
    job = Job.from_dict(data)
    return Tracked(
        job.job_id,
        job,
        last_update=last_update,
        detail_at=last_update,
        duration=job.duration,
        duration_at=last_update,
    )


def snapshot(
    *jobs: Tracked, trouble: Trouble | None = None, next_in: float = 7.0, done: bool = False
) -> Snapshot:
    return Snapshot(
        jobs=list(jobs),
        started=0.0,
        polled_at=NOW.mono,
        trouble=trouble,
        next_poll_at=NOW.mono + next_in,
        finished=done,
    )


def text_of(renderable: Any, width: int = 140) -> str:
    console = Console(
        width=width,
        record=True,
        file=open("/dev/null", "w"),  # noqa: SIM115
        force_terminal=True,
        color_system=None,
    )
    console.print(renderable)
    return console.export_text()


RESTORE_TASKS: list[dict[str, Any]] = [
    {
        "taskId": "Transfer data from vault",
        "duration": "PT0S",
        "status": "InProgress",
        "progressPercentage": 42.0,
        "taskExecutionDetails": "53.34 GBs / 127 GBs Transferred",
    },
    {"taskId": "Create the restored virtual machine", "duration": "PT0S", "status": "NotStarted"},
]


def test_single_job_frame_has_header_tasks_bar_bag_and_status_line() -> None:
    data = body(
        tasks=RESTORE_TASKS, ext={"progressPercentage": 42.0, "estimatedRemainingDuration": "PT25M"}
    )
    text = text_of(frame(snapshot(tracked(data)), NOW))
    assert "Restore of vm1" in text and "InProgress" in text
    assert "elapsed 5m02s" in text  # the service's duration + the 2 s since it was read
    assert "updated 2s ago" in text and "~25m00s left" in text
    assert "Transfer data from vault" in text and "42.0%" in text and "━" in text
    assert "53.34 GBs / 127 GBs Transferred" in text
    assert "Create the restored virtual machine" in text and "○ NotStarted" in text
    assert "VM Name" in text
    assert "next update in 7 s" in text


def test_trouble_shows_in_the_status_line_with_a_countdown() -> None:
    trouble = Trouble("throttled", "HTTP 429 ...", since=490.0, failures=1, retry_after=20)
    text = text_of(frame(snapshot(tracked(body()), trouble=trouble, next_in=20), NOW))
    assert "throttled: retrying in 20 s" in text
    assert "next update" not in text


def test_a_job_not_visible_yet() -> None:
    text = text_of(frame(snapshot(Tracked(JOB_A, missing_since=1.0)), NOW))
    assert f"Job {JOB_A}" in text and "not visible yet" in text
    text = text_of(frame(snapshot(Tracked(JOB_A)), NOW))
    assert "waiting for the service" in text and "not visible" not in text


def test_failed_job_shows_its_error_and_recommendations() -> None:
    errors = [
        {
            "errorCode": 400001,
            "errorTitle": "UserErrorVmNotFoundV2",
            "errorString": "The VM does not exist.",
            "recommendations": ["Stop protection."],
        }
    ]
    text = text_of(frame(snapshot(tracked(body(status="Failed", errors=errors)), done=True), NOW))
    assert "✖ Failed" in text
    assert "400001 UserErrorVmNotFoundV2" in text and "Stop protection." in text
    assert "next update" not in text


def test_several_jobs_rows_plus_details_of_the_running_ones() -> None:
    a = tracked(body(JOB_A, tasks=RESTORE_TASKS))
    b = tracked(body(JOB_B, "Completed", entity="vm2"))
    missing = Tracked("9a9b3263-f087-49ea-85b8-b6d36d18c50c", missing_since=1.0)
    text = text_of(frame(snapshot(a, b, missing), NOW))
    assert "Restore of vm1 1d2e360b" in text and "Restore of vm2 73e47398" in text
    assert "✔ Completed" in text and "not visible yet" in text
    assert text.count("Transfer data from vault") == 1  # the running job in detail
    compact = text_of(frame(snapshot(a, b, missing), NOW, compact=True))
    assert "Transfer data from vault" not in compact and "42.0%" in compact


def test_rows_of_jobs_checked_through_the_list_show_no_stale_bar() -> None:
    a = tracked(body(JOB_A, tasks=RESTORE_TASKS, duration="PT5M"), last_update=400.0)
    a.last_update = a.duration_at = 498.0  # the list said: still running, duration 9m
    a.duration = timedelta(minutes=9)
    b = tracked(body(JOB_B, tasks=RESTORE_TASKS))
    text = text_of(frame(snapshot(a, b), NOW, compact=True))
    row_a = next(line for line in text.splitlines() if "1d2e360b" in line)
    assert "Transfer data from vault (as of 1m40s ago)" in row_a and "42.0%" not in row_a
    assert "9m02s" in row_a
    row_b = next(line for line in text.splitlines() if "73e47398" in line)
    assert "42.0%" in row_b


def test_details_fit_the_terminal_height() -> None:
    jobs = [tracked(body(j, tasks=RESTORE_TASKS)) for j in (JOB_A, JOB_B)]
    tall = text_of(frame(snapshot(*jobs), NOW, height=60))
    assert tall.count("Create the restored virtual machine") == 2
    short = text_of(frame(snapshot(*jobs), NOW, height=20))
    assert short.count("Create the restored virtual machine") == 1
    assert "1 more running: rows only" in short
    assert len(short.splitlines()) <= 20
    assert "next update in" in short


def test_service_text_cannot_drive_the_terminal() -> None:
    evil = body(entity="vm\x1b[2J\x1b]0;pwned\x07\u202e1")
    rendered = text_of(frame(snapshot(tracked(evil)), NOW))
    assert "\x1b" not in rendered and "\u202e" not in rendered
    line = plain_line(None, Job.from_dict(evil), NOW)
    assert "\x1b" not in line and "\u202e" not in line


def test_plain_lines_say_what_changed() -> None:
    first = Job.from_dict(body(tasks=RESTORE_TASKS))
    line = plain_line(None, first, NOW)
    assert line.endswith(
        "Restore of vm1: InProgress, 42% done; Transfer data from vault InProgress 42% "
        "(53.34 GBs / 127 GBs Transferred)"
    )
    moved = [dict(RESTORE_TASKS[0], progressPercentage=80.0), RESTORE_TASKS[1]]
    later = Job.from_dict(body(tasks=moved))
    assert "Transfer data from vault InProgress 80%" in plain_line(first, later, NOW)
    # every line has one shape: time, job, status with progress, then what changed
    same = plain_line(later, later, NOW)
    assert same.endswith("Restore of vm1: InProgress, 80% done")
    done = Job.from_dict(body(status="Completed", duration="PT20M23S"))
    assert "Completed in 20m23s" in plain_line(
        later, done, NOW, elapsed=timedelta(minutes=20, seconds=23)
    )


def test_summary_lines() -> None:
    done = tracked(body(status="Completed", duration="PT20M23S"))
    assert summary_line(done, NOW) == "Restore of vm1 Completed in 20m23s"
    cancelled = tracked(
        body(
            status="CompletedWithWarnings",
            errors=[
                {
                    "errorCode": 400158,
                    "errorTitle": "UserErrorJobSuccessfullyCancelled",
                    "errorString": "Job is cancelled.",
                    "recommendations": [],
                }
            ],
        )
    )
    assert "Cancelled (CompletedWithWarnings, 400158) in" in summary_line(cancelled, NOW)
    running = tracked(body())
    assert summary_line(running, NOW, timed_out=True).startswith(
        "Restore of vm1 still InProgress after"
    )
    assert "completed with warnings: 400158" in warning_text(cancelled.job)  # type: ignore[arg-type]


def test_elapsed_uses_the_service_duration_and_never_goes_negative() -> None:
    skewed = tracked(body(duration="-PT4M20.8890416S"))
    elapsed = elapsed_of(skewed, NOW)
    assert elapsed is not None and elapsed >= timedelta(0)


def test_small_helpers() -> None:
    assert transfer_percent("120.58 GBs / 127 GBs Transferred") == 120.58 * 100 / 127
    assert transfer_percent("512 MBs / 1 GBs Transferred") == 50.0
    assert transfer_percent("nothing here") is None
    assert transfer_percent("1 GBs / 0 GBs") is None
    assert countdown(None, NOW) == 0 and countdown(NOW.mono - 5, NOW) == 0
    assert countdown(NOW.mono + 19.5, NOW) == 20
    assert spinner(0.0) != spinner(0.2)


# ----- many jobs: fitting the terminal ---------------------------------------------------------
def many(n_running: int, n_completed: int, n_failed: int) -> list[Tracked]:
    """Jobs in a mixed order, as ``watch --all`` lists them; endings a minute apart."""
    kinds = ["InProgress"] * n_running + ["Completed"] * n_completed + ["Failed"] * n_failed
    kinds = kinds[::2] + kinds[1::2]
    jobs = []
    for i, status in enumerate(kinds):
        data = body(
            f"{i:08d}-0000-4000-8000-000000000000",
            status,
            entity=f"vm{i:03d}",
            tasks=RESTORE_TASKS if status == "InProgress" else None,
        )
        if status != "InProgress":
            data["properties"]["endTime"] = f"2024-06-01T10:{i % 60:02d}:00Z"
        jobs.append(tracked(data))
    return jobs


def rows_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if " of vm" in line]


def test_two_hundred_jobs_fit_a_40_line_terminal_and_the_others_are_counted() -> None:
    jobs = many(150, 47, 3)
    text = text_of(frame(snapshot(*jobs), NOW, height=40), width=120)
    lines = text.splitlines()
    assert len(lines) <= 40
    rows = rows_of(text)
    assert len(rows) == 40 - 4  # heading, rule, the "+N more" line and the status line
    assert sum("✖ Failed" in row for row in rows) == 3  # failures are never left out
    assert sum("✔ Completed" in row for row in rows) == 3  # the latest endings
    assert sum("InProgress" in row for row in rows) == len(rows) - 6
    assert f"(+{200 - len(rows)} more: {150 - (len(rows) - 6)} running, 44 completed)" in text
    assert lines[-1].startswith("next update in 7 s")
    # the rows keep the order of the jobs
    names = [row.split()[2] for row in rows]
    assert names == sorted(names)


def test_failures_beyond_the_room_are_counted_first() -> None:
    jobs = many(20, 0, 30)
    text = text_of(frame(snapshot(*jobs), NOW, height=12, compact=True), width=120)
    assert len(text.splitlines()) <= 12
    assert all("✖ Failed" in row for row in rows_of(text))
    assert "(+42 more: 22 failed, 20 running)" in text


def test_the_final_frame_keeps_every_row_for_the_scrollback() -> None:
    jobs = many(0, 190, 10)
    text = text_of(frame(snapshot(*jobs, done=True), NOW, height=40), width=120)
    assert len(rows_of(text)) == 200 and "more:" not in text


def test_without_a_height_every_row_is_drawn() -> None:
    jobs = many(150, 47, 3)
    text = text_of(frame(snapshot(*jobs), NOW, compact=True), width=120)
    assert len(rows_of(text)) == 200 and "more:" not in text


def test_rows_stay_one_line_on_a_narrow_terminal() -> None:
    long = tracked(
        body(JOB_A, entity="vm-with-a-really-long-name-" + "x" * 60, tasks=RESTORE_TASKS)
    )
    jobs = [long, *many(3, 1, 1)]
    text = text_of(frame(snapshot(*jobs), NOW, compact=True, height=30), width=60)
    lines = text.splitlines()
    assert len(lines) == 2 + 6 + 1  # heading, rule, a line per job, the status line
    assert all(len(line) <= 60 for line in lines)
    row = next(line for line in lines if "vm-with-a-" in line)
    # the name without its operation, cut; the bar as a percentage; every column still there
    assert row.startswith("vm-with-a-reall…")
    assert "InProgress   42.0%" in row and row.rstrip().endswith("5m02s    2s ago")
    assert "vm000 00000000" in text


def test_a_row_follows_its_job_when_it_changes() -> None:
    running = tracked(body(JOB_A, tasks=RESTORE_TASKS))
    other = tracked(body(JOB_B, entity="vm2"))
    first = text_of(frame(snapshot(running, other), NOW, compact=True))
    assert "42.0%" in first and "Completed" not in first
    done = tracked(body(JOB_A, "Completed", tasks=RESTORE_TASKS))
    second = text_of(frame(snapshot(done, other), NOW, compact=True))
    assert "✔ Completed" in second and "42.0%" not in second


def test_service_text_cannot_drive_the_terminal_in_rows_either() -> None:
    evil = tracked(
        body(
            JOB_A,
            entity="vm\x1b[2J\x1b]0;pwned\x07\u202e1",
            tasks=[
                dict(
                    RESTORE_TASKS[0],
                    taskId="Transfer\x1b[31m\r\n",
                    progressPercentage=None,
                    taskExecutionDetails=None,
                )
            ],
        )
    )
    other = tracked(body(JOB_B, "Weird\x1b[5m", entity="vm2"))
    for width in (140, 40):
        text = text_of(frame(snapshot(evil, other), NOW, compact=True, height=30), width=width)
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        assert len(text.splitlines()) == 5  # heading, rule, two rows, the status line
