"""Renderers: formatting helpers, what each section shows, and the guarantee that service data
never drives the terminal (no escape sequences, control characters or bidi overrides from data)
and never crashes rendering, whatever shape the JSON has."""

from __future__ import annotations

import io
import json
import operator
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console, RenderableType

from azbackupjobs.model.errors import UnexpectedResponseError
from azbackupjobs.model.job import Job, JobStatus
from azbackupjobs.view import render

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2023, 12, 21, 7, 0, tzinfo=UTC)
SGR = re.compile(r"\x1b\[[0-9;]*m")
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def load(rel: str) -> Any:
    return json.loads((FIXTURES / rel).read_text(encoding="utf-8"))


def job_of(rel: str) -> Job:
    return Job.from_dict(load(rel))


def show(renderable: RenderableType, *, width: int = 120, colour: bool = False) -> str:
    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=colour,
        color_system="truecolor" if colour else None,
        highlight=False,
        soft_wrap=False,
        legacy_windows=False,
    )
    console.print(renderable)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def assert_safe(output: str, *, colour: bool = False) -> None:
    """Only rich's own colour codes may appear; nothing else that steers a terminal."""
    text = SGR.sub("", output) if colour else output
    assert "\x1b" not in text, repr(text)
    bad = [
        ch for ch in text if (ord(ch) < 32 and ch != "\n") or 0x7F <= ord(ch) < 0xA0 or ch in BIDI
    ]
    assert not bad, (bad, text)


# ----- formatting helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (None, "—"),
        (timedelta(0), "0s"),
        (timedelta(seconds=3.867), "3.9s"),
        (timedelta(seconds=9), "9s"),
        (timedelta(seconds=59.9), "59s"),
        (timedelta(minutes=20, seconds=23), "20m23s"),
        (timedelta(hours=1, minutes=2, seconds=3), "1h02m03s"),
        (timedelta(days=1, hours=5, minutes=44, seconds=21), "1d05h44m"),
        (-timedelta(seconds=40.5), "-40s"),
        (-timedelta(seconds=5.8), "-5.8s"),
        (-timedelta(minutes=4, seconds=20), "-4m20s"),
        (timedelta(days=999999), "999999d00h00m"),
    ],
)
def test_fmt_duration(delta: timedelta | None, text: str) -> None:
    assert render.fmt_duration(delta) == text


def test_fmt_time_is_local_and_unset_is_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime(2023, 12, 21, 5, 52, 7, 314898, tzinfo=UTC)
    assert render.fmt_time(None) == "—"
    assert render.fmt_time(moment) == "2023-12-21 05:52:07"  # TZ=UTC in tests
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert render.fmt_time(moment) == "2023-12-21 11:22:07"
        assert render.fmt_time(moment, utc=True) == "2023-12-21 05:52:07"
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


def test_fmt_time_at_the_edge_of_the_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    try:
        assert render.fmt_time(datetime(9999, 12, 31, 23, 0, tzinfo=UTC)) == "9999-12-31 23:00:00"
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


@pytest.mark.parametrize(
    ("percent", "filled", "label"),
    [
        (0.0, 0, "  0.0%"),
        (94.2, 19, " 94.2%"),
        (100.0, 20, "100.0%"),
        (150.0, 20, "100.0%"),
        (-5.0, 0, "  0.0%"),
    ],
)
def test_progress_bar(percent: float, filled: int, label: str) -> None:
    bar = render.progress_bar(percent)
    assert bar.plain == "━" * 20 + " " + label
    # the filled part carries the bar's own style; the rest is a dim span
    assert [(span.start, span.end) for span in bar.spans][:1] == (
        [(filled, 20)] if filled < 20 else []
    )


def test_status_text() -> None:
    assert render.status_text(JobStatus.FAILED, "Failed", symbol=True).plain == "✖ Failed"
    assert render.status_text(JobStatus.UNKNOWN, "Paused\x1b[2J").plain == "Paused"
    assert render.status_text(JobStatus.UNKNOWN, None).plain == "Unknown"
    for status in JobStatus:
        assert status in render.STATUS_STYLES and status in render.STATUS_SYMBOLS


def test_title_of() -> None:
    assert render.title_of(job_of("recorded/hana_backup_full_completed.json")) == (
        "Backup (Full) of SYSTEMDB [saphana-clitestvm-donotuse2]"
    )
    bare = Job.from_dict({"name": "j1", "properties": {}})
    assert render.title_of(bare) == "Job of j1"


# ----- what the sections show -------------------------------------------------------------------


def test_job_view_sections() -> None:
    out = show(
        render.job_view(job_of("recorded/iaasvm_restore_inprogress_remaining_days.json"), NOW)
    )
    lines = out.splitlines()
    assert lines[0].strip() == "Restore of clitest-vm000003"
    assert "Progress" in out and "0.0%" in out and "1d05h44m" in out
    assert "512 MBs / 127 GBs Transferred" in out
    assert "Recovery point time " not in out.replace("Recovery point time  ", "")  # key shown
    assert "Recovery point time" in out
    assert "Error" not in out and "Warnings" not in out
    # a blank line separates the summary from the next section
    index = next(i for i, line in enumerate(lines) if line.startswith("Job id"))
    assert lines[index + 1].strip() == ""
    assert_safe(out)


def test_remaining_time_only_while_running() -> None:
    running = show(render.summary_table(job_of("recorded/iaasvm_restore_inprogress_progress.json")))
    assert "Remaining (est.)  1m37s" in running
    done = show(render.summary_table(job_of("recorded/iaasvm_restore_completed_restoredisks.json")))
    assert "Remaining" not in done and "100.0%" in done


def test_unset_times_are_dashes_never_year_one() -> None:
    job = job_of("recorded/iaasvm_backup_inprogress_snapshot_2023.json")
    out = show(render.job_view(job, NOW))
    assert "0001" not in out
    transfer = next(line for line in out.splitlines() if "Transfer data to vault" in line)
    assert transfer.count("—") == 3  # start, end, duration (PT0S is "not measured")
    end = next(line for line in out.splitlines() if line.startswith("End"))
    assert end.split()[-1] == "—"


def test_task_columns_follow_the_job_type() -> None:
    def columns(rel: str) -> dict[str, bool]:
        return render.task_columns(job_of(rel).tasks)

    assert columns("recorded/afs_backup_completed.json") == dict.fromkeys(
        ("progress", "start", "end", "duration", "details"), False
    )
    assert columns("recorded/iaasvm_restore_inprogress_progress.json") == {
        "progress": False,
        "start": False,
        "end": False,
        "duration": True,
        "details": True,
    }
    assert columns("recorded/iaasvm_backup_completed_2023.json") == {
        "progress": False,
        "start": True,
        "end": True,
        "duration": True,
        "details": False,
    }
    header = show(render.task_table(job_of("recorded/hana_backup_full_completed.json")))
    assert "Task" in header and "Status" in header and "Start" not in header


def test_task_duration_pt0s_is_not_measured() -> None:
    job = job_of("recorded/iaasvm_backup_completed_2023.json")
    assert [render.fmt_task_duration(t) for t in job.tasks] == ["7m36s", "33m55s"]
    restore = job_of("recorded/iaasvm_restore_inprogress_progress.json")
    assert render.fmt_task_duration(restore.tasks[0]) == "—"
    odd = Job.from_dict(
        {"properties": {"extendedInfo": {"tasksList": [{"taskId": "t", "duration": "soon"}]}}}
    )
    assert render.fmt_task_duration(odd.tasks[0]) == "soon"


def test_task_progress_column() -> None:
    job = Job.from_dict(
        {
            "name": "j",
            "properties": {
                "status": "InProgress",
                "extendedInfo": {
                    "tasksList": [
                        {"taskId": "a", "status": "InProgress", "progressPercentage": 42.0},
                        {"taskId": "b", "status": "NotStarted"},
                    ]
                },
            },
        }
    )
    out = show(render.task_table(job))
    assert "Progress" in out and " 42.0%" in out


def test_property_bag_table() -> None:
    job = job_of("synthetic/iaasvm_restore_originallocation_inprogress_nulls.json")
    out = show(render.property_bag_table(job))
    target = next(line for line in out.splitlines() if "Target VM Name" in line)
    assert target.split()[-1] == "—"  # null value
    assert "Whether" not in out
    afs = show(render.property_bag_table(job_of("recorded/afs_backup_completed.json")))
    assert "Whether job is adhoc or scheduled." in afs
    odd = Job.from_dict(
        {"properties": {"extendedInfo": {"propertyBag": {"  ": "x", "\x1b[31m": "y"}}}}
    )
    shown = show(render.property_bag_table(odd))
    assert "'  '" in shown and "\\x1b[31m" in shown  # blank keys shown as their repr
    assert_safe(shown)


def test_error_panel_for_failed_jobs() -> None:
    job = job_of("recorded/hana_restore_invalid_failed.json")
    panel = render.error_panel(job)
    assert panel is not None
    out = show(panel, width=100)
    assert "─ Error " in out and "520512 UserErrorIncompatibleSrcTargetSystemsForRestore" in out
    assert "The source and target systems for restore are incompatible." in out
    # the recommendation keeps its lines, each under the bullet, without the CRLF padding
    lines = [line.strip("│ ") for line in out.splitlines()]
    assert any(line.startswith("• Ensure that your restore scenario") for line in lines)
    assert any(line.startswith("Case 1: SYSTEMDB cannot be renamed") for line in lines)
    assert "[HanaHelper]: Src and Target are incompatible containers SDC/SystemDB" in out
    assert_safe(out)


def test_error_panel_for_warnings_and_cancelled_backups() -> None:
    job = job_of("recorded/iaasvm_backup_completedwithwarnings.json")
    out = show(render.job_view(job, NOW), colour=True)
    plain = SGR.sub("", out)
    assert "─ Warnings " in plain and "400158 UserErrorJobSuccessfullyCancelled" in plain
    assert "⚠ CompletedWithWarnings (cancelled)" in plain
    assert "\x1b[1;33m" in out  # yellow, not red
    assert_safe(out, colour=True)


def test_no_error_panel_without_errors() -> None:
    assert render.error_panel(job_of("recorded/iaasvm_backup_completed_2023.json")) is None
    storage = show(
        render.error_panel(job_of("recorded/afs_restore_failed_errordetails.json")) or ""
    )
    assert "1073871825" in storage and "•" in storage


def test_errors_without_message_or_code() -> None:
    job = Job.from_dict(
        {
            "properties": {
                "status": "Failed",
                "errorDetails": [{"errorCode": 5}, {"errorString": "only text"}, "not a dict"],
            }
        }
    )
    out = show(render.error_panel(job) or "")
    assert "(no message)" in out and "only text" in out


def test_tasks_only() -> None:
    out = show(render.tasks_only(job_of("recorded/iaasvm_backup_completed_2023.json")))
    assert out.startswith("Backup of clitest-vm000003")
    assert "Properties" not in out and "Entity" not in out
    none = show(render.tasks_only(job_of("recorded/iaasvm_configurebackup_completed.json")))
    assert none.strip() == "ConfigureBackup of clitest-vm000003 has no tasks."


@pytest.mark.parametrize("width", [40, 100])  # 160 is covered by the CLI tests
def test_every_fixture_renders_at_every_width(width: int) -> None:
    for path in sorted((FIXTURES / "recorded").glob("*.json")) + sorted(
        (FIXTURES / "synthetic").glob("*.json")
    ):
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw.get("properties"), dict) or "jobType" not in raw["properties"]:
            continue
        job = Job.from_dict(raw)
        views = [render.job_view(job, NOW)] + ([render.tasks_only(job)] if width < 80 else [])
        for view in views:
            out = show(view, width=width)
            assert_safe(out)
            assert max(len(line) for line in out.splitlines()) <= width, path.name


# ----- hostile data -----------------------------------------------------------------------------

NASTY = [
    "\x1b[31mred\x1b[0m",
    "\x1b[2J\x1b[H",
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "\x1b]0;window title\x1b\\",
    "\x1bPdcs\x1b\\",
    "\x1b7\x1b8\x1bc",
    "\x9b31mC1 CSI",
    "\u202eevil.exe\u202c",
    "\u2066isolate\u2069",
    "\u200fRTL mark",
    "nul\x00bell\x07bs\x08vt\x0bff\x0c",
    "del\x7f",
    "line\r\noverwrite\rX",
    "\ttab",
    "[bold red]markup[/]",
    "[/]",
    "[link=https://evil.example]x[/link]",
    ":warning:",
    "%s%n{0}",
    "💾 wide ＷＩＤＥ e\u0301",
    "",
    "   ",
]


def nasty_job(value: str) -> dict[str, Any]:
    task = {
        "taskId": value,
        "status": value,
        "duration": "PT1S",
        "taskExecutionDetails": value,
        "startTime": "2023-12-21T05:52:07Z",
        "progressPercentage": 50.0,
    }
    return {
        "id": value,
        "name": value,
        "properties": {
            "jobType": value,
            "status": value,
            "entityFriendlyName": value,
            "operation": value,
            "backupManagementType": value,
            "workloadType": value,
            "activityId": value,
            "actionsInfo": [value],
            "duration": value,
            "startTime": "2023-12-21T05:52:07Z",
            "errorDetails": [
                {
                    "errorCode": value,
                    "errorTitle": value,
                    "errorString": value,
                    "recommendations": [value, f"see {value}"],
                    "additionalDetails": value,
                }
            ],
            "extendedInfo": {
                "tasksList": [task, {"taskId": value, "status": "Completed"}],
                "propertyBag": {value: value, f"key {value}": None},
                "estimatedRemainingDuration": value,
                "dynamicErrorMessage": value,
            },
        },
    }


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize("colour", [False, True])
def test_hostile_strings_in_every_field(value: str, colour: bool) -> None:
    job = Job.from_dict(nasty_job(value))
    for view in (render.job_view(job, NOW), render.tasks_only(job)):
        out = show(view, width=100, colour=colour)
        assert_safe(out, colour=colour)
        assert "evil.example" not in out or "\x1b]8" not in out
    if value.startswith("[bold red]"):
        assert "[bold red]markup[/]" in show(render.job_view(job, NOW))  # shown, not obeyed


def test_status_lines_from_hostile_data_stay_on_one_line() -> None:
    job = Job.from_dict(nasty_job("line\r\noverwrite\rX"))
    out = show(render.summary_table(job, NOW), width=200)
    entity = next(line for line in out.splitlines() if line.startswith("Entity"))
    assert "overwrite X" in entity


# Arbitrary JSON in every field: random types, hostile text, odd times and durations.
_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(NASTY),
    st.builds(operator.add, st.sampled_from(NASTY), st.text(max_size=8)),
)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _text)
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=6,
)


def _either(specific: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(specific, _json)


_durations = st.one_of(
    st.sampled_from(
        [
            "PT0S",
            "PT9.8782791S",
            "-PT4M20.8S",
            "P1DT5H44M21.7959938S",
            "P2W",
            "00:25:02.0892800",
            "1.02:03:04",
            "-00:00:01",
            "P99999999999D",
            "99999999999.00:00:00",
            "PT",
            "P",
            "PT1e9S",
        ]
    ),
    st.timedeltas().map(lambda d: f"PT{d.total_seconds()}S"),
)
_times = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00",
            "0001-01-01T00:00:00.00000Z",
            "2001-01-01T00:00:00Z",
            "2023-12-21T05:52:07.3148982Z",
            "9999-12-31T23:59:59Z",
            "0002-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-05:00",
            "2023-05-11 14:39:25Z",
            "12/21/2023 5:52:09 AM",
        ]
    ),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
)
_statuses = st.sampled_from([s.value for s in JobStatus] + ["Canceled", "Paused", "completed"])
_task = st.fixed_dictionaries(
    {},
    optional={
        "taskId": _either(_text),
        "status": _either(_statuses),
        "startTime": _either(_times),
        "endTime": _either(_times),
        "duration": _either(_durations),
        "progressPercentage": _either(st.floats()),
        "taskExecutionDetails": _either(_text),
        "instanceId": _json,
        "name": _json,
    },
)
_error = st.fixed_dictionaries(
    {},
    optional={
        "errorCode": _either(st.integers()),
        "errorTitle": _either(_text),
        "errorString": _either(_text),
        "recommendations": _either(st.lists(_either(_text), max_size=3)),
        "additionalDetails": _either(_text),
    },
)
_ext = st.fixed_dictionaries(
    {},
    optional={
        "tasksList": _either(st.lists(_either(_task), max_size=4)),
        "propertyBag": _either(st.dictionaries(_text, _either(_text), max_size=4)),
        "internalPropertyBag": _json,
        "progressPercentage": _either(st.floats()),
        "estimatedRemainingDuration": _either(_durations),
        "dynamicErrorMessage": _either(_text),
    },
)
_props = st.fixed_dictionaries(
    {},
    optional={
        "jobType": _either(
            st.sampled_from(
                [
                    "AzureIaaSVMJob",
                    "AzureIaaSVMJobV2",
                    "AzureStorageJob",
                    "AzureWorkloadJob",
                    "DpmJob",
                    "MabJob",
                    "VaultJob",
                    "FutureJobV9",
                ]
            )
        ),
        "status": _either(_statuses),
        "entityFriendlyName": _either(_text),
        "operation": _either(st.sampled_from(["Backup", "Backup (Full)", "Restore"]) | _text),
        "backupManagementType": _either(_text),
        "workloadType": _either(_text),
        "startTime": _either(_times),
        "endTime": _either(_times),
        "duration": _either(_durations),
        "activityId": _either(_text),
        "actionsInfo": _either(st.lists(st.one_of(st.integers(), _text), max_size=3)),
        "errorDetails": _either(st.lists(_either(_error), max_size=3)),
        "extendedInfo": _either(_ext),
    },
)
JOB_DICTS = st.fixed_dictionaries(
    {"properties": _props}, optional={"id": _either(_text), "name": _either(_text), "type": _json}
)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=JOB_DICTS,
    width=st.sampled_from([30, 80, 160]),
    colour=st.booleans(),
    now=st.none() | st.just(NOW),
)
def test_arbitrary_job_json_parses_and_renders_safely(
    raw: dict[str, Any], width: int, colour: bool, now: datetime | None
) -> None:
    job = Job.from_dict(raw)
    for view in (render.job_view(job, now), render.tasks_only(job)):
        assert_safe(show(view, width=width, colour=colour), colour=colour)


@given(raw=_json)
def test_anything_else_is_refused_cleanly(raw: Any) -> None:
    try:
        job = Job.from_dict(raw)
    except UnexpectedResponseError:
        return
    assert isinstance(raw, dict) and isinstance(raw.get("properties"), dict)
    assert_safe(show(render.job_view(job, NOW), width=80))
