"""The job model against every Backup vault (Microsoft.DataProtection) payload on record.

One ``Job`` for both kinds of vault: a Backup vault job fills the same normalized fields as a
Recovery Services job, plus ``backup_vault``. Each drift the service has shown (omitted or null
keys, misspelt keys, two duration formats, two status vocabularies, sentinel times, numbers as
strings) gets a test from the recording that shows it. The lossless check reads the wire format
independently of the parser.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs.model import ids
from azbackupjobs.model.errors import UnexpectedResponseError
from azbackupjobs.model.job import (
    MAX_ERROR_DEPTH,
    MAX_ERROR_DETAILS,
    Job,
    JobError,
    JobStatus,
    JobTask,
    OperationStatus,
    change_key,
    parse_duration,
    parse_timestamp,
)
from azbackupjobs.model.kinds import VaultKind, is_backup_vault_job, vault_kind_of

FIXTURES = Path(__file__).parent / "fixtures"
DP = "dataprotection"


def load(rel: str) -> Any:
    return json.loads((FIXTURES / rel).read_text(encoding="utf-8"))


def _files(folder: str) -> list[str]:
    return sorted(f"{folder}/{p.name}" for p in (FIXTURES / folder).glob("*.json"))


def _bodies(rel: str) -> list[Any]:
    data = load(rel)
    if "/spec/" in rel:
        return [r["body"] for r in data["responses"].values() if r.get("body") is not None]
    return [data]


def _items(body: Any) -> list[Any]:
    """The job resources of a body: itself, a list page's items, a Resource Graph page's rows."""
    if not isinstance(body, dict):
        return []
    for key in ("value", "data"):
        if isinstance(body.get(key), list):
            return [item for item in body[key] if isinstance(item, dict)]
    if isinstance(body.get("properties"), dict) and "dataSourceType" in body["properties"]:
        return [body]
    return []


DP_FILES = _files(f"{DP}/recorded") + _files(f"{DP}/spec")
DP_JOBS = [
    pytest.param(item, id=f"{rel}[{n}]")
    for rel in DP_FILES
    for body in _bodies(rel)
    for n, item in enumerate(_items(body))
]


def _job(rel: str, index: int | None = None) -> Job:
    body = _bodies(rel)[0]
    return Job.from_dict(body if index is None else _items(body)[index])


def test_the_corpus_is_complete() -> None:
    """Guards the parametrisation: a moved folder must not silently test nothing."""
    assert len(_files(f"{DP}/recorded")) >= 36
    assert len(_files(f"{DP}/spec")) == 15
    assert len(DP_JOBS) >= 200  # 98 + 56 list items, 37 Resource Graph rows, single jobs
    types = {Job.from_dict(p.values[0]).backup_vault.datasource_type for p in DP_JOBS}  # type: ignore[union-attr]
    assert {
        "Microsoft.Compute/disks",
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts/adlsBlobServices",
        "Microsoft.ContainerService/managedClusters",
        "Microsoft.DBforPostgreSQL/servers/databases",
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "Microsoft.DBforMySQL/flexibleServers",
    } <= types


# ----- an independent reading of the wire format ------------------------------------------------

_TS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?Z?$")


def expected_time(value: Any) -> datetime | None:
    if value is None:
        return None
    m = _TS.match(value)
    assert m, f"unexpected timestamp shape in a fixture: {value!r}"
    if m[1] == "0001":
        return None
    year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
    micro = int((m[7] or "").ljust(7, "0")[:6])
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def expected_duration(value: Any) -> timedelta | None:
    """``PT3M36.49S`` (GET) or ``[d.]hh:mm:ss.fffffff`` (lists, Resource Graph, spec)."""
    if value is None:
        return None
    iso = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", value)
    if iso:
        h, m, s = (float(x or 0) for x in iso.groups())
        return timedelta(hours=h, minutes=m, seconds=s)
    span = re.fullmatch(r"(?:(\d+)\.)?(\d\d):(\d\d):(\d\d(?:\.\d+)?)", value)
    assert span, f"unexpected duration shape in a fixture: {value!r}"
    days, hours, minutes, seconds = span.groups()
    return timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds)
    )


def _close(a: timedelta | None, b: timedelta | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= timedelta(microseconds=1)


@pytest.mark.parametrize("raw", DP_JOBS)
def test_every_backup_vault_job_parses_without_losing_information(raw: dict[str, Any]) -> None:
    job = Job.from_dict(raw)
    props = raw["properties"]
    ext = props.get("extendedInfo")
    info = job.backup_vault
    assert info is not None and job.vault_kind is VaultKind.BACKUP and job.is_backup_vault
    assert job.raw is raw
    assert job.id == raw["id"] and job.job_id == raw["name"]
    assert job.job_type is None and job.backup_management_type is None
    assert job.workload_type is None

    assert job.status_raw == props["status"]
    expected_status = {
        "InProgress": JobStatus.IN_PROGRESS,
        "Started": JobStatus.IN_PROGRESS,
        "Completed": JobStatus.COMPLETED,
        "Succeeded": JobStatus.COMPLETED,
        "Failed": JobStatus.FAILED,
    }[props["status"]]
    assert job.status is expected_status
    assert job.is_terminal == (expected_status is not JobStatus.IN_PROGRESS)
    assert job.operation == (props.get("operationCategory") or props["operation"])
    name, group = props.get("dataSourceName"), props.get("dataSourceSetName")
    assert job.entity == (f"{group}/{name}" if group and group != name else name)
    assert info.datasource_type == props["dataSourceType"]
    assert info.datasource_id == props["dataSourceId"]
    assert info.datasource_resource_group is not None
    assert info.datasource_resource_group.lower() == props["sourceResourceGroup"].lower()
    assert info.policy_name == props.get("policyName")
    assert info.is_user_triggered is props["isUserTriggered"]
    assert job.activity_id == props["activityID"]

    assert job.start_time == expected_time(props.get("startTime"))
    assert job.end_time == expected_time(props.get("endTime"))
    assert job.duration_raw == props.get("duration")
    measured = expected_duration(props.get("duration"))
    if job.is_terminal:
        assert _close(job.duration, measured)
    else:  # running jobs always say zero: a placeholder, not a measurement
        assert measured == timedelta(0) and job.duration is None
        assert job.duration_is_placeholder
    assert job.actions == {a for a in props["supportedActions"] if a}
    assert not job.is_cancellable

    errors = props.get("errorDetails") or []
    assert [e.message for e in job.errors] == [e["message"] for e in errors]
    assert [e.code for e in job.errors] == [e["code"] for e in errors]
    assert [e.recommendations for e in job.errors] == [
        tuple(e["recommendedAction"]) for e in errors
    ]

    assert job.has_extended_info == isinstance(ext, dict)
    ext = ext or {}
    subtasks = ext.get("subTasks") or []
    assert [t.task_id for t in job.tasks] == [t["taskName"] for t in subtasks]
    assert [t.status_raw for t in job.tasks] == [t["taskStatus"] for t in subtasks]
    assert [dict(t.details) for t in job.tasks] == [
        t.get("additionalDetails") or {} for t in subtasks
    ]
    assert all(t.raw is rt for t, rt in zip(job.tasks, subtasks, strict=True))
    assert dict(job.property_bag) == (ext.get("additionalDetails") or {})
    transferred = ext.get("dataTransferredInBytes", ext.get("dataTransferedInBytes"))
    assert info.data_transferred_bytes == (None if transferred is None else int(transferred))
    point = ext.get("sourceRecoverPoint") or ext.get("targetRecoverPoint") or {}
    assert info.recovery_point_time == expected_time(point.get("recoveryPointTime"))
    assert info.recovery_destination == ext.get("recoveryDestination")


# ----- the kind of vault ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "job_type",
    [
        "Microsoft.DataProtection/backupVaults/backupJobs",
        "Microsoft.DataProtection/BackupVaults/backupJobs",
        "Microsoft.DataProtection/Backupvaults/backupJobs",
        "microsoft.dataprotection/backupvaults/backupjobs",
        "MICROSOFT.DATAPROTECTION/BACKUPVAULTS/BACKUPJOBS",
    ],
)
def test_the_kind_comes_from_the_type_in_any_casing(job_type: str) -> None:
    raw = {"name": "j", "type": job_type, "properties": {"status": "Completed"}}
    assert vault_kind_of(None, job_type) is VaultKind.BACKUP
    assert Job.from_dict(raw).vault_kind is VaultKind.BACKUP


def test_the_id_names_the_kind_before_the_type() -> None:
    """Resource Graph rows are given the Recovery Services type; their id is the service's."""
    raw = copy.deepcopy(load(f"{DP}/recorded/arg_backupjobs_query_response.json")["data"][0])
    raw["type"] = "Microsoft.RecoveryServices/vaults/backupJobs"
    job = Job.from_dict(raw)
    assert job.is_backup_vault and job.entity == raw["properties"]["dataSourceName"]
    recovery = load("recorded/iaasvm_backup_completed_2023.json")
    assert vault_kind_of(recovery["id"], recovery["type"]) is VaultKind.RECOVERY_SERVICES
    assert Job.from_dict(recovery).backup_vault is None
    assert Job.from_dict(recovery).vault_kind is VaultKind.RECOVERY_SERVICES


def test_without_id_or_type_the_shape_decides() -> None:
    bare = {"properties": {"dataSourceType": "Microsoft.Compute/disks", "status": "Completed"}}
    assert is_backup_vault_job(bare)
    assert not is_backup_vault_job({"properties": {"jobType": "X", "dataSourceType": "Y"}})
    assert not is_backup_vault_job({"properties": {"status": "Completed"}})
    assert not is_backup_vault_job("not a dict")
    assert vault_kind_of(None, None) is None and vault_kind_of(3, ["x"]) is None


# ----- drift that must not matter ---------------------------------------------------------------


def test_omitted_null_keys_read_like_explicit_nulls() -> None:
    """2021-01-01 omits null keys; 2021-07-01 on sends them as null."""
    omitted = _job(f"{DP}/recorded/disk_backup_inprogress_2021-01-01_nulls_omitted.json")
    explicit = _job(f"{DP}/recorded/disk_backup_inprogress_2021-07-01_dataTransferedInBytes.json")
    assert "endTime" not in omitted.raw["properties"]
    assert explicit.raw["properties"]["endTime"] is None
    for job in (omitted, explicit):
        assert job.end_time is None and job.errors == () and job.status is JobStatus.IN_PROGRESS
        assert job.backup_vault is not None
        assert job.backup_vault.data_transferred_bytes is None
        assert job.backup_vault.recovery_point_time is None
        assert job.backup_vault.restore_type is None
        assert [t.task_id for t in job.tasks] == ["Trigger Backup"]
    assert dict(omitted.property_bag) == dict(explicit.property_bag) == {"RetentionTag": "Default"}


def test_data_transferred_in_either_spelling() -> None:
    misspelt = load(f"{DP}/recorded/disk_backup_inprogress_2021-07-01_dataTransferedInBytes.json")
    assert "dataTransferedInBytes" in misspelt["properties"]["extendedInfo"]
    raw = copy.deepcopy(misspelt)
    raw["properties"]["extendedInfo"]["dataTransferedInBytes"] = 2063
    info = Job.from_dict(raw).backup_vault
    assert info is not None and info.data_transferred_bytes == 2063
    # the correct spelling, a float on the wire
    mysql = _job(f"{DP}/recorded/mysql_backup_completed.json")
    assert mysql.raw["properties"]["extendedInfo"]["dataTransferredInBytes"] == 616490449.0
    assert mysql.backup_vault is not None
    assert mysql.backup_vault.data_transferred_bytes == 616490449
    # a null in the new spelling does not hide a value in the old one
    both = copy.deepcopy(raw)
    both["properties"]["extendedInfo"]["dataTransferredInBytes"] = None
    assert Job.from_dict(both).backup_vault.data_transferred_bytes == 2063  # type: ignore[union-attr]


def test_activity_id_with_a_capital_id() -> None:
    job = _job(f"{DP}/recorded/disk_backup_completed_2025.json")
    assert "activityId" not in job.raw["properties"]
    assert job.activity_id == job.raw["properties"]["activityID"]
    spec = _job(f"{DP}/spec/2021-01-01_ListJobs.json", 3)
    assert spec.activity_id is not None and "GMT" in spec.activity_id  # opaque text, kept


def test_iso_and_timespan_durations_with_a_day_part() -> None:
    get = _job(f"{DP}/recorded/disk_backup_completed_2025.json")
    assert get.duration_raw == "PT3M36.4945012S"
    assert _close(get.duration, timedelta(minutes=3, seconds=36.4945012))
    listed = [
        Job.from_dict(item)
        for item in load(f"{DP}/recorded/list_56jobs_2023-01-01.json")["value"]
        if item["properties"]["duration"] == "1.09:22:25.7992056"
    ]
    assert len(listed) == 1
    assert _close(listed[0].duration, timedelta(days=1, hours=9, minutes=22, seconds=25.7992056))
    assert parse_duration("1.02:03:04.5") == timedelta(days=1, hours=2, minutes=3, seconds=4.5)


def test_list_items_have_extended_info_null() -> None:
    body = load(f"{DP}/recorded/list_98jobs_2025-07-01_failed_nested_errors.json")
    assert body["nextLink"] is None
    jobs = [Job.from_dict(item) for item in body["value"]]
    assert len(jobs) == 98
    assert all(j.raw["properties"]["extendedInfo"] is None for j in jobs)
    assert all(not j.has_extended_info and j.tasks == () and not j.property_bag for j in jobs)
    failed = [j for j in jobs if j.status is JobStatus.FAILED]
    assert len(failed) == 13 and all(j.errors and j.errors[0].message for j in failed)


@pytest.mark.parametrize(
    ("word", "status", "terminal"),
    [
        ("Started", JobStatus.IN_PROGRESS, False),
        ("InProgress", JobStatus.IN_PROGRESS, False),
        ("started", JobStatus.IN_PROGRESS, False),
        ("Succeeded", JobStatus.COMPLETED, True),
        ("Completed", JobStatus.COMPLETED, True),
        ("SUCCEEDED", JobStatus.COMPLETED, True),
        ("Failed", JobStatus.FAILED, True),
    ],
)
def test_both_status_vocabularies(word: str, status: JobStatus, terminal: bool) -> None:
    assert JobStatus.parse(word) is status
    assert status.is_terminal is terminal


def test_spec_statuses_are_normalized_and_the_word_is_kept() -> None:
    started = _job(f"{DP}/spec/2021-01-01_GetJob.json")
    assert started.status_raw == "Started" and started.status is JobStatus.IN_PROGRESS
    assert started.status_label == "InProgress" and not started.is_terminal
    assert started.tasks[0].status_raw == "Started"
    assert started.tasks[0].status is JobStatus.IN_PROGRESS
    succeeded = [
        Job.from_dict(item)
        for item in _items(_bodies(f"{DP}/spec/2021-01-01_ListJobs.json")[0])
        if item["properties"]["status"] == "Succeeded"
    ]
    assert succeeded and all(j.status is JobStatus.COMPLETED and j.is_terminal for j in succeeded)
    assert all(j.status_label == "Completed" for j in succeeded)


@pytest.mark.parametrize("kind", ["recovery-services", "backup"])
def test_an_unknown_status_ends_only_with_an_end_time(kind: str) -> None:
    if kind == "backup":
        raw = copy.deepcopy(load(f"{DP}/recorded/disk_backup_completed_2025.json"))
    else:
        raw = copy.deepcopy(load("recorded/iaasvm_backup_completed_2023.json"))
    raw["properties"]["status"] = "Paused"
    ended = Job.from_dict(raw)
    assert ended.status is JobStatus.UNKNOWN and ended.status_label == "Paused"
    assert ended.end_time is not None and ended.is_terminal
    raw["properties"]["endTime"] = None
    running = Job.from_dict(raw)
    assert not running.is_terminal
    raw["properties"]["endTime"] = "0001-01-01T00:00:00"  # the sentinel is no end time either
    assert not Job.from_dict(raw).is_terminal


def test_supported_actions_empty_string_is_none_and_cancellable_is_not_offered() -> None:
    disk = _job(f"{DP}/recorded/disk_backup_completed_2025.json")
    assert disk.raw["properties"]["supportedActions"] == [""]
    assert disk.actions == frozenset() and not disk.is_cancellable
    pgflex = _job(f"{DP}/recorded/pgflex_backup_failed_errordetails.json")
    assert pgflex.raw["properties"]["supportedActions"] == ["Cancellable"]
    assert pgflex.actions == {"Cancellable"}
    assert not pgflex.is_cancellable  # a Backup vault has no cancel, and this job has ended


@pytest.mark.parametrize(
    "rel",
    [
        f"{DP}/recorded/disk_backup_completed_2021-01-01_nulls_omitted.json",  # without Z
        f"{DP}/recorded/disk_backup_completed_2025.json",  # with Z
    ],
)
def test_sentinel_recovery_point_times_are_unset(rel: str) -> None:
    job = _job(rel)
    point = job.raw["properties"]["extendedInfo"]["targetRecoverPoint"]
    assert point["recoveryPointTime"].startswith("0001-01-01T00:00:00")
    assert job.backup_vault is not None and job.backup_vault.recovery_point_time is None
    assert parse_timestamp(point["recoveryPointTime"]) is None


def test_sentinel_end_time_of_an_operation() -> None:
    raw = load(f"{DP}/recorded/operationstatus_inprogress_lowercase_p.json")
    assert raw["endTime"] == "0001-01-01T00:00:00Z"
    assert parse_timestamp(raw["endTime"]) is None


def test_original_datasource_size_as_a_string() -> None:
    job = _job(f"{DP}/recorded/disk_backup_completed_2025.json")
    (task,) = job.tasks
    assert task.raw["taskId"] == 1 and task.task_id == "Trigger Backup"
    assert task.details["OriginalDatasourceSizeInBytes"] == "4294967296"
    assert task.details["DatasourceType"] == "Microsoft.Compute/disks"
    assert task.status is JobStatus.COMPLETED and task.progress_percentage is None


# ----- what only Backup vault jobs have ---------------------------------------------------------


def test_datasource_facts() -> None:
    disk = _job(f"{DP}/recorded/disk_restore_completed_2025.json")
    info = disk.backup_vault
    assert info is not None
    assert disk.entity == "clitest-disk-persistent-bi-donotdelete"
    assert disk.entity_type == info.datasource_label == "Azure Disk"
    assert info.datasource_resource_group == "clitest-dpp-rg"
    assert info.policy_name == "diskpolicy" and info.trigger == "on demand"
    assert info.recovery_point_time == datetime(2025, 11, 3, 12, 2, 57, 857941, tzinfo=UTC)
    assert info.recovery_destination is not None
    assert info.recovery_destination.endswith("/disks/clitest-disk-restored")
    pg = _job(f"{DP}/recorded/pgsingle_backup_completed.json")
    assert pg.entity == "oss-clitest-server/postgres"  # the server names the database
    assert pg.entity_type == "PostgreSQL server"
    scheduled = _job(f"{DP}/recorded/list_56jobs_2023-01-01.json", 0)
    assert scheduled.backup_vault is not None
    assert scheduled.backup_vault.trigger == "scheduled"


def test_unknown_datasource_types_are_shown_as_they_came() -> None:
    raw = copy.deepcopy(load(f"{DP}/recorded/disk_backup_completed_2025.json"))
    raw["properties"]["dataSourceType"] = "Microsoft.Quantum/workspaces"
    assert Job.from_dict(raw).entity_type == "Microsoft.Quantum/workspaces"
    raw["properties"]["dataSourceType"] = "microsoft.compute/DISKS"
    assert Job.from_dict(raw).entity_type == "Azure Disk"


def test_resource_group_falls_back_to_source_resource_group() -> None:
    raw = copy.deepcopy(load(f"{DP}/recorded/disk_backup_completed_2025.json"))
    del raw["properties"]["dataSourceId"]
    raw["properties"]["sourceResourceGroup"] = "other-rg"
    info = Job.from_dict(raw).backup_vault
    assert info is not None and info.datasource_resource_group == "other-rg"


def test_cross_region_restore_jobs() -> None:
    job = _job(f"{DP}/recorded/crr_fetchCrossRegionRestoreJob.json")
    assert job.raw["type"] == "Microsoft.DataProtection/BackupVaults/backupJobs"
    assert "isCrossRegionRestore" not in job.raw["properties"]
    assert job.operation == "CrossRegionRestore" and job.operation_kind == "CrossRegionRestore"
    assert job.raw["properties"]["operation"] == "Restore"
    assert job.backup_vault is not None and job.backup_vault.is_cross_region_restore is True
    listed = [
        Job.from_dict(i)
        for i in load(f"{DP}/recorded/crr_fetchCrossRegionRestoreJobs_list.json")["value"]
    ]
    assert [j.status for j in listed].count(JobStatus.FAILED) == 1 and len(listed) == 4
    assert load(f"{DP}/recorded/crr_fetchCrossRegionRestoreJobs_empty.json") == {"value": []}


def test_a_running_job_reports_no_duration_but_its_elapsed_time_is_known() -> None:
    job = _job(f"{DP}/recorded/disk_backup_inprogress_2025.json")
    assert job.duration_raw == "PT0S" and job.duration is None and job.duration_is_placeholder
    assert job.start_time is not None
    now = job.start_time + timedelta(minutes=2)
    assert job.elapsed(now) == timedelta(minutes=2)
    done = _job(f"{DP}/recorded/disk_backup_completed_2025.json")
    assert not done.duration_is_placeholder
    raw = copy.deepcopy(done.raw)
    raw["properties"]["duration"] = "PT0S"  # an ended job's zero is a measurement
    assert Job.from_dict(raw).duration == timedelta(0)


def test_task_progress_as_text() -> None:
    task = JobTask.from_subtask({"taskId": 2, "taskName": "Copy", "taskProgress": "45%"})
    assert task.progress_percentage == 45.0 and task.status is JobStatus.UNKNOWN
    assert JobTask.from_subtask({"taskId": 3}).task_id == "3"
    assert JobTask.from_subtask("junk").task_id == "(unnamed task)"


# ----- errors -----------------------------------------------------------------------------------


def test_nested_user_facing_errors() -> None:
    job = _job(f"{DP}/recorded/pgflex_backup_failed_errordetails.json")
    (top,) = job.errors
    assert top.code == "PostgreSQLFlexServerError" and top.title is None
    assert top.message == "Current operation has failed due to server error."
    assert top.recommendations[0].startswith("Refer https://aka.ms/DBforPostgreSQLFlex")
    assert top.additional_details is not None
    assert top.additional_details.startswith("Service request failed.\r\nStatus: 500")
    (copy_of_top,) = top.details
    assert copy_of_top.code == top.code and copy_of_top.message == top.message
    (leaf,) = copy_of_top.details
    assert (leaf.code, leaf.message, leaf.details) == (
        "InternalServerError",
        "Internal Server Error",
        (),
    )
    assert leaf.additional_details is None  # innerError null


def _nested(depth: int, width: int = 1) -> dict[str, Any]:
    error: dict[str, Any] = {"code": f"E{depth}", "message": f"level {depth}", "details": None}
    if depth:
        error["details"] = [_nested(depth - 1, width) for _ in range(width)]
    return error


def test_error_nesting_is_bounded() -> None:
    deep = JobError.from_user_facing_error(_nested(200))
    levels = 0
    while deep.details:
        deep = deep.details[0]
        levels += 1
    assert levels == MAX_ERROR_DEPTH
    wide = JobError.from_user_facing_error({"details": [_nested(0)] * 500})
    assert len(wide.details) == MAX_ERROR_DETAILS


def test_odd_error_shapes_do_not_crash() -> None:
    raw = copy.deepcopy(load(f"{DP}/recorded/pgflex_backup_failed_errordetails.json"))
    raw["properties"]["errorDetails"] = [
        None,
        "text",
        {"recommendedAction": "not a list", "details": {"x": 1}, "innerError": []},
        {"code": 7, "message": ["x"], "innerError": {"additionalInfo": {"a": None, "b": 3}}},
    ]
    job = Job.from_dict(raw)
    assert len(job.errors) == 4
    assert job.errors[2].recommendations == () and job.errors[2].details == ()
    assert job.errors[3].code == "7" and job.errors[3].message is None
    assert job.errors[3].additional_details == "3"


def test_warning_details() -> None:
    raw = copy.deepcopy(load(f"{DP}/recorded/disk_backup_completed_2025.json"))
    assert raw["properties"]["extendedInfo"]["warningDetails"] is None
    raw["properties"]["extendedInfo"]["warningDetails"] = [
        {"code": "W1", "message": "partly done", "recommendedAction": ["look"]}
    ]
    info = Job.from_dict(raw).backup_vault
    assert info is not None
    assert info.warnings == (JobError("W1", None, "partly done", ("look",)),)


# ----- change detection -------------------------------------------------------------------------


def test_changes_ignore_the_etag_and_the_duration() -> None:
    running = load(f"{DP}/recorded/disk_backup_inprogress_2025.json")
    ticked = copy.deepcopy(running)
    ticked["properties"]["etag"] = "W/\"datetime'2099-01-01T00%3A00%3A00Z'\""
    ticked["properties"]["duration"] = "PT5M"
    assert change_key(ticked) == change_key(running)
    moved = copy.deepcopy(running)
    moved["properties"]["extendedInfo"]["subTasks"][0]["taskStatus"] = "Completed"
    assert change_key(moved) != change_key(running)
    done = load(f"{DP}/recorded/disk_backup_completed_2025.json")
    assert change_key(done) != change_key(running)


# ----- operations -------------------------------------------------------------------------------


def test_operation_in_progress_with_a_lower_case_p() -> None:
    op = OperationStatus.from_dict(
        load(f"{DP}/recorded/operationstatus_inprogress_lowercase_p.json")
    )
    assert op.status == "Inprogress"
    assert not op.is_done and not op.succeeded and op.job_ids == ()


def test_operation_status_names_the_job_by_its_full_arm_id() -> None:
    raw = load(f"{DP}/recorded/operationstatus_succeeded_jobid.json")
    op = OperationStatus.from_dict(raw)
    assert op.succeeded and op.is_done
    assert op.job_ids == (raw["properties"]["jobId"],)  # kept whole
    ref = ids.parse_job_ref(op.job_ids[0])
    assert ref.vault_kind is VaultKind.BACKUP
    assert (ref.job_id, ref.vault) == (
        "c81cab6f-5b41-4380-adb7-65d56da49be1",
        "clitest-bkp-vault-donotdelete",
    )


def test_operation_results_are_a_success_without_a_status() -> None:
    raw = load(f"{DP}/recorded/operationresults_jobid.json")
    assert "status" not in raw
    op = OperationStatus.from_dict(raw)
    assert op.succeeded and op.job_ids == (raw["jobId"],) and op.raw is raw
    none = OperationStatus.from_dict(
        load(f"{DP}/recorded/operationresults_objecttype_only_no_jobid.json")
    )
    assert none.succeeded and none.job_ids == ()  # an operation that made no job


def test_cross_region_operation_names_a_bare_guid() -> None:
    op = OperationStatus.from_dict(load(f"{DP}/recorded/crr_operationstatus_succeeded_jobid.json"))
    assert op.succeeded and op.job_ids == ("12e7fdbd-7127-49cd-bf00-a696167b55cf",)
    assert ids.parse_job_ref(op.job_ids[0]).vault_kind is None


def test_failed_operation_error() -> None:
    op = OperationStatus.from_dict(load(f"{DP}/recorded/operationstatus_failed_error.json"))
    assert op.is_done and not op.succeeded
    assert op.error_code == "UserErrorStorageAccountKeyAccessDisallowed"
    assert op.error_message == "The storage account does not support key based authentication"
    only_info = OperationStatus.from_dict(
        {
            "status": "Failed",
            "error": {"additionalInfo": [{"type": "UserFacingError", "info": {"message": "m"}}]},
        }
    )
    assert only_info.error_message == "m"


@pytest.mark.parametrize(
    "rel",
    [
        f"{DP}/spec/2021-01-01_GetOperationStatus.json",
        f"{DP}/spec/2026-06-01_GetOperationStatusVaultContext.json",
        f"{DP}/spec/2021-01-01_GetOperationResult.json",
        f"{DP}/spec/2026-06-01_GetOperationResult.json",
        f"{DP}/spec/2021-01-01_TriggerBackup.json",
        f"{DP}/spec/2026-06-01_TriggerBackup.json",
    ],
)
def test_spec_operation_bodies(rel: str) -> None:
    for body in _bodies(rel):
        op = OperationStatus.from_dict(body)
        assert op.succeeded
        # the examples' jobId is a bare and malformed GUID: kept as sent, and not a job reference
        for job_id in op.job_ids:
            assert job_id == "c60cb49-63e8-4b21-b9bd-26277b3fdfae"


@pytest.mark.parametrize("word", ["Accepted", "Running", "Started", "InProgress", "Inprogress"])
def test_operation_words_that_are_not_an_end(word: str) -> None:
    assert not OperationStatus.from_dict({"id": "o", "status": word}).is_done


def test_an_operation_body_without_status_or_result_is_refused() -> None:
    for body in ({"name": "op", "properties": {"jobId": "/x"}}, {"jobId": 5}):
        with pytest.raises(UnexpectedResponseError):
            OperationStatus.from_dict(body)
