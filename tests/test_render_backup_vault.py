"""Renderers and tsv rows for both kinds of vault: every recorded and spec job renders, at the
widths people use, without a crash, an escape from the data, or a line wider than the terminal;
a Backup vault job shows its datasource, operation, policy, data, tasks, details and errors."""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console, RenderableType

from azbackupjobs.follow.poll import Tracked
from azbackupjobs.model.job import Job
from azbackupjobs.view import list_view, render
from azbackupjobs.view.rows import job_tsv_row, raw_tasks, task_tsv_row
from azbackupjobs.view.watch_view import Now, job_detail

FIXTURES = Path(__file__).parent / "fixtures"
DP = "dataprotection"
NOW = datetime(2025, 11, 4, 9, 0, tzinfo=UTC)
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def load(rel: str) -> Any:
    return json.loads((FIXTURES / rel).read_text(encoding="utf-8"))


def show(renderable: RenderableType, *, width: int = 100) -> str:
    console = Console(
        file=io.StringIO(),
        width=width,
        color_system=None,
        highlight=False,
        soft_wrap=False,
        legacy_windows=False,
    )
    console.print(renderable)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def assert_readable(out: str, width: int) -> None:
    """No control characters, no dict or list reprs, nothing wider than the terminal."""
    bad = [ch for ch in out if (ord(ch) < 32 and ch != "\n") or 0x7F <= ord(ch) < 0xA0]
    assert not bad and not BIDI & set(out), out
    assert "{'" not in out and "['" not in out and "\\r\\n" not in out, out
    assert max(len(line) for line in out.splitlines()) <= width


def _bodies(rel: str) -> list[Any]:
    data = load(rel)
    if "/spec/" in rel or rel.startswith("spec/"):
        return [r["body"] for r in data["responses"].values() if r.get("body") is not None]
    return [data]


def _jobs(body: Any) -> list[dict[str, Any]]:
    """The job resources of a body (itself, a list page's items, Resource Graph rows)."""
    if not isinstance(body, dict):
        return []
    for key in ("value", "data"):
        if isinstance(body.get(key), list):
            return [
                i
                for i in body[key]
                if isinstance(i, dict) and isinstance(i.get("properties"), dict)
            ]
    props = body.get("properties")
    if isinstance(props, dict) and ("jobType" in props or "dataSourceType" in props):
        return [body]
    return []


FOLDERS = ("recorded", "spec", "synthetic", f"{DP}/recorded", f"{DP}/spec")
FILES = [
    f"{folder}/{p.name}" for folder in FOLDERS for p in sorted((FIXTURES / folder).glob("*.json"))
]


def test_every_folder_is_covered() -> None:
    assert len(FILES) >= 160
    with_jobs = [rel for rel in FILES if any(_jobs(b) for b in _bodies(rel))]
    assert len([r for r in with_jobs if r.startswith(DP)]) >= 30
    assert len([r for r in with_jobs if not r.startswith(DP)]) >= 70


@pytest.mark.parametrize("rel", FILES)
def test_every_fixture_renders_in_tables_and_tsv_rows(rel: str) -> None:
    """Whatever the file holds: each job in it renders (get, list-tasks, list, watch) at 80
    and 120 columns and gives tsv rows of the documented length. Files without a job (errors,
    envelopes, operation statuses) have nothing to render."""
    jobs = [raw for body in _bodies(rel) for raw in _jobs(body)]
    for raw in jobs[:12]:  # the long lists are all alike; a dozen of each is plenty
        job = Job.from_dict(raw)
        for width in (80, 120):
            for view in (render.job_view(job, NOW), render.job_view(job), render.tasks_only(job)):
                assert_readable(show(view, width=width), width)
            assert_readable(show(list_view.jobs_table([job], width=width), width=width), width)
        tracked = Tracked(job.job_id, job=job, last_update=1.0, detail_at=1.0)
        assert_readable(show(job_detail(tracked, Now(mono=2.0, utc=NOW))), 100)
        row = job_tsv_row(raw)
        assert len(row) == 9 and row[0] == raw.get("name")
        tasks = raw_tasks(raw)
        assert all(len(task_tsv_row(t)) == 7 for t in tasks if isinstance(t, dict))
        assert len(tasks) == len(job.tasks)


# ----- the get table of a Backup vault job ------------------------------------------------------


def _job(rel: str) -> Job:
    return Job.from_dict(load(rel))


def _row(out: str, label: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith(label))
    return line[len(label) :].strip()


def test_summary_shows_the_datasource_where_recovery_services_shows_the_entity() -> None:
    out = show(render.job_view(_job(f"{DP}/recorded/mysql_backup_completed.json"), NOW), width=120)
    assert out.splitlines()[0] == "Backup of clitest-mysql-server"
    assert (
        _row(out, "Datasource type")
        == "MySQL flexible server (Microsoft.DBforMySQL/flexibleServers)"
    )
    assert _row(out, "Datasource ") == "clitest-mysql-server"
    assert _row(out, "Resource group") == "clitest-dpp-ecy-rg"
    assert _row(out, "Operation") == "Backup · on demand"
    assert _row(out, "Status") == "✔ Completed"
    assert _row(out, "Policy") == "mysqlpolicy"
    assert _row(out, "Data transferred") == "587.9 MiB (616,490,449 bytes)"
    assert _row(out, "Duration") == "2m04s"
    assert _row(out, "Activity id") == "b7cc83ca-3392-11ef-b690-60a5e243551b"
    for absent in ("Entity", "Job type", "Management type", "Actions", "Error"):
        assert absent not in out
    # the tasks and the additional details
    task = next(line for line in out.splitlines() if "Trigger Backup" in line)
    assert "✔ Completed" in task and "Original datasource size: 587.9 MiB" in task
    assert "TaskId" not in out and "Microsoft.DBforMySQL/flexibleServers" not in task
    assert "Additional details" in out and "RetentionTag" in out and "Properties" not in out


def test_recovery_services_summary_is_unchanged() -> None:
    out = show(render.summary_table(_job("recorded/iaasvm_backup_completed_2023.json")))
    labels = [line.split("  ")[0] for line in out.splitlines()]
    assert labels == [
        "Entity",
        "Operation",
        "Status",
        "Job type",
        "Management type",
        "Start",
        "End",
        "Duration",
        "Actions",
        "Activity id",
        "Job id",
    ]


def test_a_restore_shows_its_recovery_point_and_destination() -> None:
    out = show(render.job_view(_job(f"{DP}/recorded/aks_restore_completed.json"), NOW), width=200)
    assert _row(out, "Recovery point") == "2025-03-11 08:34:46"
    assert _row(out, "Restored to").endswith("/managedClusters/clitest-cluster1-donotdelete")
    assert _row(out, "Backup instance") == "clitest-cluster1-donotdelete/clitest-friendly-aks"
    assert _row(out, "Datasource type").startswith("Azure Kubernetes Service")
    # a backup's recovery point time is the 0001 sentinel: no row, and never a year 1
    backup = show(render.job_view(_job(f"{DP}/recorded/disk_backup_completed_2025.json"), NOW))
    assert "Recovery point" not in backup and "0001" not in backup


def test_a_cross_region_restore_says_so() -> None:
    out = show(render.job_view(_job(f"{DP}/recorded/crr_fetchCrossRegionRestoreJob.json"), NOW))
    assert out.splitlines()[0] == "CrossRegionRestore of clitestcrr-ecy/postgres"
    assert _row(out, "Operation") == "CrossRegionRestore · on demand"
    assert "Backup instance" not in out  # clitestcrr-ecy\postgres is the same thing
    raw = copy.deepcopy(load(f"{DP}/recorded/disk_restore_completed_2025.json"))
    raw["properties"]["isCrossRegionRestore"] = True
    assert _row(show(render.summary_table(Job.from_dict(raw))), "Operation") == (
        "Restore · on demand · cross-region"
    )


def test_a_running_job_shows_its_time_so_far_never_the_placeholder() -> None:
    job = _job(f"{DP}/recorded/disk_backup_inprogress_2025.json")
    assert job.start_time is not None
    with_now = show(render.summary_table(job, job.start_time + timedelta(minutes=3)))
    assert _row(with_now, "Duration") == "3m00s" and _row(with_now, "End") == "—"
    without = show(render.summary_table(job))
    assert _row(without, "Duration") == "—" and "PT0S" not in without
    listed = Job.from_dict(
        next(
            i
            for i in load(f"{DP}/recorded/list_56jobs_2023-01-01.json")["value"]
            if i["properties"]["status"] == "InProgress"
        )
    )
    assert listed.duration_raw == "00:00:00"
    assert list_view.job_duration(listed) == "—"


def test_spec_statuses_show_as_the_normalized_word() -> None:
    started = show(render.job_view(_job_body(f"{DP}/spec/2021-01-01_GetJob.json"), NOW))
    assert _row(started, "Status") == "▶ InProgress" and "Started" not in started
    assert _row(started, "Operation") == "Backup · scheduled"
    listed = _job_body(f"{DP}/spec/2021-01-01_ListJobs.json", status="Succeeded")
    assert _row(show(render.summary_table(listed)), "Status") == "✔ Completed"
    raw = copy.deepcopy(load(f"{DP}/recorded/disk_backup_completed_2025.json"))
    raw["properties"]["status"] = "Paused"
    assert _row(show(render.summary_table(Job.from_dict(raw))), "Status") == "? Paused"


def _job_body(rel: str, status: str | None = None) -> Job:
    body = _bodies(rel)[0]
    items = body.get("value", [body])
    return Job.from_dict(
        next(i for i in items if status is None or i["properties"]["status"] == status)
    )


def test_the_error_panel_of_nested_user_facing_errors() -> None:
    out = show(render.job_view(_job(f"{DP}/recorded/pgflex_backup_failed_errordetails.json"), NOW))
    lines = [line.strip("│ ") for line in out.splitlines()]
    assert "─ Error " in out and "PostgreSQLFlexServerError" in lines
    # the nested copy of the top error is not shown twice; the distinct detail is, indented
    assert out.count("Current operation has failed due to server error.") == 1
    leaf = next(line for line in out.splitlines() if "InternalServerError" in line)
    top = next(line for line in out.splitlines() if "PostgreSQLFlexServerError" in line)
    assert leaf.index("InternalServerError") > top.index("PostgreSQLFlexServerError")
    assert any(
        line.startswith("• Refer https://aka.ms/DBforPostgreSQLFlexTroubleshoot") for line in lines
    )
    assert any(
        line.startswith("• Refer https://aka.ms/AzureBackupTroubleshootFailures") for line in lines
    )
    # the inner error's text: its first lines, the rest counted
    assert "Service request failed." in out and "Status: 500 (Internal Server Error)" in out
    assert re.search(r"… \d+ more lines \(-o json shows them all\)", out)
    assert "Cache-Control" not in out
    assert_readable(out, 100)


def test_failed_list_items_show_their_errors_readably() -> None:
    body = load(f"{DP}/recorded/list_98jobs_2025-07-01_failed_nested_errors.json")
    failed = [Job.from_dict(i) for i in body["value"] if i["properties"]["status"] == "Failed"]
    assert len(failed) == 13
    for job in failed:
        for width in (80, 120):
            out = show(render.error_panel(job) or "", width=width)
            assert_readable(out, width)
            assert job.errors[0].message is not None
            assert job.errors[0].message.split()[0] in out


def _nested(depth: int, width: int, path: str = "0") -> dict[str, Any]:
    error: dict[str, Any] = {"code": f"E{depth}", "message": f"level {depth} at {path}"}
    if depth:
        error["details"] = [_nested(depth - 1, width, f"{path}.{n}") for n in range(width)]
    return error


def test_nested_errors_already_shown_are_not_repeated() -> None:
    raw = copy.deepcopy(load(f"{DP}/recorded/pgflex_backup_failed_errordetails.json"))
    leaf = {"code": "InternalServerError", "message": "Internal Server Error"}
    raw["properties"]["errorDetails"] = [
        {"code": "A", "message": "first", "details": [leaf, {**leaf, "details": [leaf]}]},
        {"code": "A", "message": "first"},  # a top-level error is shown as sent
    ]
    out = show(render.error_panel(Job.from_dict(raw)) or "")
    assert out.count("Internal Server Error") == 1 and out.count("first") == 2


def test_the_error_panel_is_bounded_whatever_the_nesting() -> None:
    raw = copy.deepcopy(load(f"{DP}/recorded/pgflex_backup_failed_errordetails.json"))
    raw["properties"]["errorDetails"] = [_nested(6, 4)]  # 5461 errors in one tree
    out = show(render.error_panel(Job.from_dict(raw)) or "", width=120)
    assert out.count("level ") == render.MAX_PANEL_ENTRIES
    assert "… more error details (-o json shows them all)" in out
    assert_readable(out, 120)


def test_hostile_strings_in_backup_vault_fields() -> None:
    nasty = "\x1b[31mred\x1b]8;;https://evil.example\x07x\x1b]8;;\x07\u202e[bold]m[/]\r\nline"
    raw = copy.deepcopy(load(f"{DP}/recorded/pgflex_backup_failed_errordetails.json"))
    props = raw["properties"]
    for key in ("dataSourceName", "dataSourceSetName", "policyName", "dataSourceType", "status"):
        props[key] = nasty
    props["errorDetails"][0]["details"][0]["message"] = nasty
    props["errorDetails"][0]["recommendedAction"] = [nasty]
    props["extendedInfo"]["subTasks"][0]["taskName"] = nasty
    props["extendedInfo"]["subTasks"][0]["additionalDetails"] = {nasty: nasty}
    props["extendedInfo"]["additionalDetails"] = {nasty: nasty}
    job = Job.from_dict(raw)
    for view in (render.job_view(job, NOW), render.tasks_only(job)):
        out = show(view, width=100)
        assert "\x1b" not in out and "evil.example\x07" not in out
        assert_readable(out, 100)
        assert "[bold]m[/]" in out  # shown, not obeyed


def test_warning_details_get_a_yellow_panel() -> None:
    raw = copy.deepcopy(load(f"{DP}/recorded/disk_backup_completed_2025.json"))
    raw["properties"]["extendedInfo"]["warningDetails"] = [
        {
            "code": "UserWarning",
            "message": "Some blobs were skipped.",
            "recommendedAction": ["Retry."],
        }
    ]
    out = show(render.job_view(Job.from_dict(raw), NOW))
    assert "─ Warnings " in out and "UserWarning" in out and "• Retry." in out
    assert "─ Error " not in out
    assert render.warning_panel(_job("recorded/iaasvm_backup_completed_2023.json")) is None


def test_tasks_only_lists_the_subtasks() -> None:
    out = show(render.tasks_only(_job(f"{DP}/recorded/aks_restore_inprogress.json")))
    assert " ".join(out.split()).startswith("Restore of clitest-cluster1-donotdelete")
    task = next(line for line in out.splitlines() if "Trigger Restore" in line)
    assert "▶ InProgress" in task
    none = Job.from_dict(load(f"{DP}/recorded/list_56jobs_2023-01-01.json")["value"][0])
    assert show(render.tasks_only(none)).strip().endswith("has no tasks.")


def test_fmt_bytes() -> None:
    assert [render.fmt_bytes(n) for n in (None, 0, 1023, 1024, 4294967296, 1024**5 * 3)] == [
        "—",
        "0 B",
        "1023 B",
        "1.0 KiB",
        "4.0 GiB",
        "3.0 PiB",
    ]
    assert render.fmt_bytes(1024**6) == "1024.0 PiB"


# ----- list and watch cells ---------------------------------------------------------------------


def test_list_rows_show_the_datasource_type_in_the_type_column() -> None:
    listed = load(f"{DP}/recorded/list_98jobs_2025-07-01_failed_nested_errors.json")["value"]
    blob = next(i for i in listed if i["properties"]["dataSourceName"] == "clitestsabidonotdelete")
    jobs = [Job.from_dict(i) for i in (listed[0], blob)]
    jobs.append(_job("recorded/iaasvm_backup_completed_2023.json"))
    wide = show(list_view.jobs_table(jobs, width=160), width=160)
    rows = wide.splitlines()[2:]
    assert "Azure Disk" in rows[0] and "Azure Blob" in rows[1] and "AzureIaasVM" in rows[2]
    narrow = show(list_view.jobs_table(jobs, width=80), width=80)
    assert "of clitestsabidonotdelete · Azure Blob" in narrow
    assert "of clitest-vm000003 · AzureIaasVM" in narrow


def test_watch_detail_of_a_backup_vault_job() -> None:
    job = _job(f"{DP}/recorded/disk_backup_inprogress_2025.json")
    tracked = Tracked(job.job_id, job=job, last_update=1.0, detail_at=1.0)
    out = show(job_detail(tracked, Now(mono=2.0, utc=NOW)))
    lines = out.splitlines()
    assert lines[0].startswith("Backup of clitest-disk-donotdelete")
    assert "elapsed 5m09s" in lines[0]  # from the start time: the job reports PT0S
    assert lines[1].strip() == f"Azure Disk · {job.job_id}"
    assert "Trigger Backup" in out and "RetentionTag" in out


# ----- tsv rows ---------------------------------------------------------------------------------


def test_tsv_rows_of_a_backup_vault_job_keep_the_column_order() -> None:
    raw = load(f"{DP}/recorded/crr_fetchCrossRegionRestoreJob.json")
    assert job_tsv_row(raw) == [
        "12e7fdbd-7127-49cd-bf00-a696167b55cf",
        "InProgress",
        "CrossRegionRestore",
        "postgres",
        None,
        "Microsoft.DBforPostgreSQL/servers/databases",
        "2024-06-26T08:04:20.217677Z",
        None,
        "PT0S",
    ]
    (subtask,) = raw_tasks(raw)
    assert task_tsv_row(subtask) == ["Trigger Restore", "InProgress", None, None, None, None, None]
    recovery = load("recorded/iaasvm_backup_completed_2023.json")
    assert raw_tasks(recovery) == recovery["properties"]["extendedInfo"]["tasksList"]
    assert job_tsv_row(recovery)[4] == "AzureIaaSVMJob"
    listed = load(f"{DP}/recorded/list_98jobs_2025-07-01_failed_nested_errors.json")["value"][0]
    assert raw_tasks(listed) == []  # extendedInfo null
    assert raw_tasks({"properties": "bad"}) == [] and raw_tasks({}) == []
