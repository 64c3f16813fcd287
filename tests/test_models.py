"""The job model against every payload the service is known to send, and the parsers' edge cases.

The lossless check compares each parsed field with the raw JSON through an independent reading
of the wire formats, so a parser that drops or mangles a field fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azbackupjobs.model.errors import UnexpectedResponseError
from azbackupjobs.model.job import (
    Job,
    JobError,
    JobStatus,
    JobTask,
    OperationStatus,
    change_key,
    normalize_job_kind,
    parse_duration,
    parse_timestamp,
)

FIXTURES_DIR = Path(__file__).parent / "fixtures"


def load_json(relative: str) -> Any:
    return json.loads((FIXTURES_DIR / relative).read_text(encoding="utf-8"))


# ----- the payload corpus -----------------------------------------------------------------------


def _is_job(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("properties"), dict)
        and "jobType" in body["properties"]
    )


def _is_operation_status(body: Any) -> bool:
    if not isinstance(body, dict) or "_note" in body or not isinstance(body.get("status"), str):
        return False
    props = body.get("properties")
    return props is None or (isinstance(props, dict) and "objectType" in props)


def _bodies(rel: str) -> Iterator[Any]:
    """Every response body of a fixture file (spec examples hold several)."""
    data = load_json(rel)
    if rel.startswith("spec/"):
        for response in data["responses"].values():
            if isinstance(response, dict) and response.get("body") is not None:
                yield response["body"]
    else:
        yield data


def _files(folder: str) -> list[str]:
    return sorted(f"{folder}/{p.name}" for p in (FIXTURES_DIR / folder).glob("*.json"))


ALL_FILES = _files("recorded") + _files("spec") + _files("synthetic")


def _job_cases() -> list[Any]:
    cases = []
    for rel in ALL_FILES:
        for body in _bodies(rel):
            if _is_job(body):
                cases.append(pytest.param(body, id=rel))
            elif isinstance(body, dict) and isinstance(body.get("value"), list):
                for index, item in enumerate(body["value"]):
                    cases.append(pytest.param(item, id=f"{rel}[{index}]"))
    return cases


def _operation_cases() -> list[Any]:
    return [
        pytest.param(body, id=rel)
        for rel in ALL_FILES
        for body in _bodies(rel)
        if _is_operation_status(body) and not _is_job(body)
    ]


JOB_CASES = _job_cases()
OPERATION_CASES = _operation_cases()


def test_the_corpus_is_complete() -> None:
    """Guards the parametrisation itself: a moved folder must not silently test nothing."""
    assert len(_files("recorded")) >= 80
    assert len(_files("spec")) >= 31
    assert len(JOB_CASES) >= 100
    assert len(OPERATION_CASES) >= 7
    kinds = {normalize_job_kind(Job.from_dict(p.values[0]).job_type) for p in JOB_CASES}
    assert {
        "AzureIaaSVMJob",
        "AzureStorageJob",
        "AzureWorkloadJob",
        "DpmJob",
        "MabJob",
        "VaultJob",
    } <= kinds


def test_every_fixture_file_is_a_known_kind_of_payload() -> None:
    """Each file is a job, a list, an operation status, an error body, an envelope or an
    example without a job body; nothing is left untested by accident."""
    for rel in ALL_FILES:
        for body in _bodies(rel):
            known = (
                _is_job(body)
                or (isinstance(body, dict) and isinstance(body.get("value"), list))
                or _is_operation_status(body)
                or (isinstance(body, dict) and ("error" in body or "ErrorCode" in body))
                or (rel.endswith(".envelope.json") and "status" in body)
                or rel.startswith("spec/")
            )
            assert known, rel


# ----- an independent reading of the wire formats -----------------------------------------------

_TS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?Z?$")


def expected_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    m = _TS.match(value)
    assert m, f"unexpected timestamp shape in a fixture: {value!r}"
    if m[1] == "0001":
        return None
    micro = int((m[7] or "").ljust(7, "0")[:6])
    year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def expected_duration(value: Any) -> timedelta | None:
    if not isinstance(value, str):
        return None
    text = value
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("-")
    if text.startswith("P"):
        units = dict(
            (u, float(n))
            for n, u in re.findall(r"(\d+(?:\.\d+)?)([WDHMS])", text.replace("T", "T "))
        )
        # M before T means months (never sent); all fixtures use M after T only.
        seconds = (
            units.get("W", 0) * 604800
            + units.get("D", 0) * 86400
            + units.get("H", 0) * 3600
            + units.get("M", 0) * 60
            + units.get("S", 0)
        )
        return sign * timedelta(seconds=seconds)
    head, _, rest = text.partition(":")  # .NET: [d.]hh:mm:ss[.fffffff]
    days, _, hours = head.rpartition(".")
    minutes, seconds_text = rest.split(":")
    return sign * timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds_text)
    )


def _close(a: timedelta | None, b: timedelta | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= timedelta(microseconds=1)


def _actions(raw: Any) -> set[str]:
    names = {0: "Invalid", 1: "Cancellable", 2: "Retriable"}
    return {names[a] if isinstance(a, int) else a[0].upper() + a[1:] for a in raw or []}


# ----- lossless parsing of every job ------------------------------------------------------------


@pytest.mark.parametrize("raw", JOB_CASES)
def test_every_job_parses_without_losing_information(raw: dict[str, Any]) -> None:
    job = Job.from_dict(raw)
    props = raw["properties"]
    ext = props.get("extendedInfo")

    assert job.raw is raw
    assert job.id == raw["id"]
    assert job.job_id == raw["name"]
    assert job.job_type == props["jobType"]
    assert job.status_raw == props["status"]
    assert job.status is not JobStatus.UNKNOWN or props["status"] == "Paused"
    assert job.entity == props.get("entityFriendlyName")
    assert job.operation == props.get("operation")
    assert job.backup_management_type == props.get("backupManagementType")
    assert job.workload_type == props.get("workloadType")
    assert job.activity_id == props.get("activityId")
    assert job.start_time == expected_time(props.get("startTime"))
    end = expected_time(props.get("endTime"))
    if end is not None and job.start_time is not None and end < job.start_time:
        end = None  # 2016's placeholder 2001-01-01 on running jobs
    assert job.end_time == end
    assert job.duration_raw == props.get("duration")
    assert _close(job.duration, expected_duration(props.get("duration")))
    assert job.actions == _actions(props.get("actionsInfo"))
    assert job.has_extended_info == isinstance(ext, dict)

    errors = props.get("errorDetails") or []
    assert len(job.errors) == len(errors)
    for parsed, err in zip(job.errors, errors, strict=True):
        code = err.get("errorCode")
        assert parsed.code == (None if code is None else str(code))
        assert parsed.title == (err.get("errorTitle") or None)
        assert parsed.message == (err.get("errorString") or None)  # "" is no message
        assert parsed.recommendations == tuple(
            r.strip() for r in err.get("recommendations") or [] if r.strip()
        )

    ext = ext or {}
    tasks = ext.get("tasksList") or []
    assert len(job.tasks) == len(tasks)
    for task, rt in zip(job.tasks, tasks, strict=True):
        assert task.raw is rt
        assert task.task_id == rt["taskId"]
        assert task.status_raw == rt["status"]
        assert task.start_time == expected_time(rt.get("startTime"))
        assert task.end_time == expected_time(rt.get("endTime"))
        assert task.duration_raw == rt.get("duration")
        assert _close(task.duration, expected_duration(rt.get("duration")))
        pct = rt.get("progressPercentage")
        assert task.progress_percentage == (None if pct is None else float(pct))
        assert task.execution_details == rt.get("taskExecutionDetails")
        assert task.instance_id == rt.get("instanceId")

    bag = ext.get("propertyBag") or {}
    if all(v is None or isinstance(v, str) for v in bag.values()):
        assert dict(job.property_bag) == bag  # keys verbatim: trailing spaces, periods, nulls
    assert list(job.property_bag) == list(bag)  # and in the service's order
    assert dict(job.internal_property_bag) == (ext.get("internalPropertyBag") or {})
    pct = ext.get("progressPercentage")
    assert job.progress_percentage == (None if pct is None else float(pct))
    assert job.estimated_remaining_raw == ext.get("estimatedRemainingDuration")
    assert _close(job.estimated_remaining, expected_duration(ext.get("estimatedRemainingDuration")))
    assert job.dynamic_error_message == (ext.get("dynamicErrorMessage") or None)


def test_list_items_have_no_extended_info(fixture_json: Any) -> None:
    for item in fixture_json("recorded/list_unfiltered_3jobs_2023.json")["value"]:
        job = Job.from_dict(item)
        assert not job.has_extended_info
        assert job.tasks == () and dict(job.property_bag) == {}


def test_legacy_list_items_with_null_extended_info(fixture_json: Any) -> None:
    body = fixture_json("recorded/ps2016_list_11jobs_nextlink_null.json")
    assert body["nextLink"] is None
    jobs = [Job.from_dict(item) for item in body["value"]]
    assert len(jobs) == 11
    assert all(not j.has_extended_info and j.tasks == () for j in jobs)
    assert any(j.errors for j in jobs)  # failed items carry errorDetails even in lists


# ----- particular payload facts -----------------------------------------------------------------


def _job(rel: str) -> Job:
    return Job.from_dict(load_json(rel))


def test_property_bag_keys_kept_verbatim() -> None:
    restore = _job("recorded/iaasvm_restore_completed_originallocation.json")
    assert restore.property_bag["Recovery point time "] == "12/21/2023 4:57:31 AM"
    assert "Recovery point time" not in restore.property_bag
    afs = _job("recorded/afs_backup_completed.json")
    assert afs.property_bag["Whether job is adhoc or scheduled."] == "True"


def test_property_bag_null_values_are_kept_as_none() -> None:
    job = _job("synthetic/iaasvm_restore_originallocation_inprogress_nulls.json")
    assert "Target VM Name" in job.property_bag
    assert job.property_bag["Target VM Name"] is None
    assert job.property_bag["Recovery point time "] is None
    assert job.internal_property_bag == {"restoreLocationType": "OriginalLocation"}
    assert job.progress_percentage == 31.5
    assert job.estimated_remaining == timedelta(minutes=25)


def test_property_bag_values_of_other_types_become_text() -> None:
    job = _job("synthetic/unknown_future_job.json")
    assert job.property_bag == {"Weird value": "12", "Nested": '{"a": [1, 2]}', "Flag": "true"}


@pytest.mark.parametrize(
    ("rel", "kind", "job_type"),
    [
        ("recorded/iaasvmv2_backup_completed.json", "AzureIaaSVMJob", "AzureIaaSVMJobV2"),
        (
            "recorded/workloadv2_hana_backup_full_completed.json",
            "AzureWorkloadJob",
            "AzureWorkloadJobV2",
        ),
        ("recorded/afs_backup_completed.json", "AzureStorageJob", "AzureStorageJob"),
        ("synthetic/dpm_backup_completedwithwarnings.json", "DpmJob", "DpmJob"),
        ("synthetic/mab_backup_failed.json", "MabJob", "MabJob"),
        ("synthetic/vault_updatecmk_completed.json", "VaultJob", "VaultJob"),
        ("synthetic/unknown_future_job.json", "AzureQuantumJobV3", "AzureQuantumJobV3"),
    ],
)
def test_job_kinds(rel: str, kind: str, job_type: str) -> None:
    job = _job(rel)
    assert job.job_type == job_type
    assert job.kind == kind


def test_missing_job_type_is_unknown_kind() -> None:
    job = Job.from_dict({"id": "/x/backupJobs/j1", "properties": {"status": "Completed"}})
    assert job.kind == "Unknown" and job.job_type is None
    assert job.job_id == "j1"  # the name falls back to the id's last segment


def test_unknown_job_type_and_status_do_not_crash() -> None:
    job = _job("synthetic/unknown_future_job.json")
    assert job.status is JobStatus.UNKNOWN and job.status_raw == "Paused"
    assert not job.is_terminal
    assert job.duration == timedelta(weeks=2)
    assert job.actions == {"Cancellable", "Retriable"}
    assert job.operation_kind == "Backup"
    assert job.tasks[0].status is JobStatus.UNKNOWN
    assert job.tasks[0].progress_percentage == 12.5


def test_vault_job_has_no_tasks_and_keeps_empty_error_fields() -> None:
    job = _job("synthetic/vault_updatecmk_completed.json")
    assert job.tasks == ()
    assert job.property_bag == {"Key Vault Uri": "https://kv.vault.azure.net/keys/k/1"}
    assert job.errors == (JobError(code="100001", title=None, message=None, recommendations=()),)


def test_dpm_and_mab_errors_have_no_code() -> None:
    dpm = _job("synthetic/dpm_backup_completedwithwarnings.json")
    assert dpm.errors[0].code is None
    assert dpm.errors[0].recommendations == ("Run a consistency check.",)
    assert dpm.duration == timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    assert dpm.tasks[1].duration == timedelta(days=1, hours=2, minutes=2, seconds=59.38)
    mab = _job("synthetic/mab_backup_failed.json")
    assert mab.errors[0].code is None and mab.errors[0].title is None
    assert mab.actions == {"Retriable"} and not mab.is_cancellable


def test_error_details_fields() -> None:
    job = _job("recorded/iaasvm_backup_failed_errordetails.json")
    err = job.errors[0]
    assert err.code == "400136"
    assert err.title == "UserErrorVmNotFoundV2"
    assert err.message and err.recommendations
    storage = _job("recorded/afs_restore_failed_errordetails.json").errors[0]
    assert storage.code == "1073871825" and storage.title is None
    hana = _job("recorded/hana_restore_invalid_failed.json")
    rec = hana.errors[0].recommendations[0]
    assert rec.startswith("Ensure that your restore scenario") and rec.endswith(".com).")
    assert "Case 2:" in rec  # the embedded lines are kept, only the outer padding goes
    assert hana.dynamic_error_message == (
        "[HanaHelper]: Src and Target are incompatible containers SDC/SystemDB"
    )


def test_legacy_empty_error_title_and_nulls() -> None:
    job = _job("recorded/ps2016_iaasvm_backup_failed_errordetails.json")
    assert job.errors[0].title is None and job.errors[0].code == "400001"
    assert all(t.start_time is None and t.end_time is None for t in job.tasks)
    assert all(t.progress_percentage is None and t.instance_id is None for t in job.tasks)
    assert job.progress_percentage is None and job.dynamic_error_message is None


@pytest.mark.parametrize(
    ("rel", "operation", "kind"),
    [
        ("recorded/hana_backup_full_completed.json", "Backup (Full)", "Backup"),
        ("recorded/hana_restore_invalid_failed.json", "Restore (Invalid)", "Restore"),
        ("recorded/sql_backup_inprogress_plain_operation.json", "Backup", "Backup"),
        ("recorded/crr_iaasvm_completed.json", "CrossRegionRestore", "CrossRegionRestore"),
    ],
)
def test_operations_with_a_backup_type(rel: str, operation: str, kind: str) -> None:
    job = _job(rel)
    assert job.operation == operation
    assert job.operation_kind == kind


def test_negative_duration() -> None:
    job = _job("recorded/iaasvm_backup_inprogress_negative_duration.json")
    assert job.duration_raw == "-PT40.5233231S"
    assert _close(job.duration, -timedelta(seconds=40.523323))
    now = datetime(2018, 3, 6, 18, 0, tzinfo=UTC)
    elapsed = job.elapsed(now)
    assert elapsed is not None and elapsed >= timedelta(0)


def test_remaining_duration_with_days() -> None:
    job = _job("recorded/iaasvm_restore_inprogress_remaining_days.json")
    assert job.estimated_remaining == timedelta(days=1, hours=5, minutes=44, seconds=21.7959938)
    assert job.progress_percentage == 0.0


def test_dotnet_durations_of_2016() -> None:
    job = _job("recorded/ps2016_iaasvm_backup_inprogress_timespan.json")
    assert job.duration == timedelta(minutes=25, seconds=2.08928)
    assert all(t.duration == timedelta(0) for t in job.tasks)


def test_sentinel_times_are_unset() -> None:
    snapshot = _job("recorded/iaasvm_backup_inprogress_snapshot_2023.json")
    assert snapshot.end_time is None
    assert snapshot.tasks[1].start_time is None and snapshot.tasks[1].end_time is None
    sentinel = _job("recorded/ps2016_iaasvm_backup_inprogress_endtime_sentinel.json")
    assert sentinel.end_time is None


def test_end_before_start_is_a_placeholder() -> None:
    """2016 responses carry endTime 2001-01-01T00:00:00Z on a Cancelling job."""
    job = _job("recorded/ps2016_iaasvm_backup_cancelling_timespan.json")
    assert job.raw["properties"]["endTime"] == "2001-01-01T00:00:00Z"
    assert job.end_time is None
    assert job.start_time == datetime(2016, 4, 20, 9, 2, 59, 898792, tzinfo=UTC)


def test_fraction_digits_zero_to_seven() -> None:
    job = _job("synthetic/iaasvm_backup_fraction_digits.json")
    assert job.start_time == datetime(2024, 5, 1, 0, 0, 0, 496740, tzinfo=UTC)
    micro = [
        (
            t.start_time.microsecond if t.start_time else None,
            t.end_time.microsecond if t.end_time else None,
        )
        for t in job.tasks
    ]
    assert micro == [
        (0, 100000),
        (120000, 123000),
        (123400, 123450),
        (123456, 123456),
        (None, None),
    ]


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([1], {"Cancellable"}),
        (["Cancellable"], {"Cancellable"}),
        (["cancellable"], {"Cancellable"}),
        ([0, 2], {"Invalid", "Retriable"}),
        ([], set()),
        (None, set()),
        ("Cancellable", {"Cancellable"}),
        ([True, None, "", 7], {"7"}),
        ({"a": 1}, set()),
    ],
)
def test_actions_info_shapes(actions: Any, expected: set[str]) -> None:
    props: dict[str, Any] = {"status": "InProgress"}
    if actions is not None:
        props["actionsInfo"] = actions
    job = Job.from_dict({"id": "x", "name": "x", "properties": props})
    assert job.actions == expected
    assert job.is_cancellable == ("Cancellable" in expected)


def test_actions_info_absent_in_recorded_payloads() -> None:
    job = _job("recorded/iaasvm_configurebackup_completed.json")
    assert "actionsInfo" not in job.raw["properties"]
    assert job.actions == frozenset() and not job.is_cancellable
    assert _job("recorded/iaasvm_backup_inprogress_actions_int_2022.json").is_cancellable


def test_null_versus_missing() -> None:
    base = {"id": "i", "name": "n"}
    missing = Job.from_dict({**base, "properties": {"status": "InProgress"}})
    nulls = Job.from_dict(
        {
            **base,
            "properties": {
                "status": "InProgress",
                "endTime": None,
                "errorDetails": None,
                "extendedInfo": None,
                "duration": None,
                "actionsInfo": None,
                "entityFriendlyName": None,
            },
        }
    )
    for job in (missing, nulls):
        assert job.end_time is None and job.errors == () and job.tasks == ()
        assert job.duration is None and job.actions == frozenset() and job.entity is None
        assert not job.has_extended_info
    empty_ext = Job.from_dict({**base, "properties": {"status": "Completed", "extendedInfo": {}}})
    assert empty_ext.has_extended_info and empty_ext.tasks == ()


@pytest.mark.parametrize(
    ("rel", "cancelled"),
    [
        ("recorded/iaasvm_backup_completedwithwarnings.json", True),  # 400158
        ("recorded/ps2016_iaasvm_backup_cancelled.json", True),
        ("recorded/iaasvm_backup_completed_2023.json", False),
        ("synthetic/dpm_backup_completedwithwarnings.json", False),  # warnings, no 400158
        ("recorded/iaasvm_backup_failed_errordetails.json", False),
    ],
)
def test_was_cancelled(rel: str, cancelled: bool) -> None:
    assert _job(rel).was_cancelled is cancelled


def test_was_cancelled_by_title_alone() -> None:
    raw = load_json("recorded/iaasvm_backup_completedwithwarnings.json")
    raw["properties"]["errorDetails"][0]["errorCode"] = 1
    assert Job.from_dict(raw).was_cancelled
    raw["properties"]["errorDetails"][0]["errorTitle"] = "SomethingElse"
    assert not Job.from_dict(raw).was_cancelled


@pytest.mark.parametrize(
    ("value", "status", "terminal"),
    [
        ("InProgress", JobStatus.IN_PROGRESS, False),
        ("Completed", JobStatus.COMPLETED, True),
        ("CompletedWithWarnings", JobStatus.COMPLETED_WITH_WARNINGS, True),
        ("Failed", JobStatus.FAILED, True),
        ("Cancelled", JobStatus.CANCELLED, True),
        ("Canceled", JobStatus.CANCELLED, True),
        ("Cancelling", JobStatus.CANCELLING, False),
        ("completed", JobStatus.COMPLETED, True),
        ("NotStarted", JobStatus.NOT_STARTED, False),
        ("Invalid", JobStatus.INVALID, False),
        ("Paused", JobStatus.UNKNOWN, False),
        (None, JobStatus.UNKNOWN, False),
        (3, JobStatus.UNKNOWN, False),
    ],
)
def test_status_parsing(value: Any, status: JobStatus, terminal: bool) -> None:
    assert JobStatus.parse(value) is status
    assert status.is_terminal is terminal


def test_not_a_job_is_an_unexpected_response() -> None:
    bodies: tuple[object, ...] = ([], "x", None, {"id": "x"}, {"properties": []})
    for body in bodies:
        with pytest.raises(UnexpectedResponseError):
            Job.from_dict(body)


def test_task_without_a_name_or_with_odd_fields() -> None:
    task = JobTask.from_dict({"status": ["x"], "progressPercentage": "nan", "duration": 5})
    assert task.task_id == "(unnamed task)"
    assert task.status is JobStatus.UNKNOWN
    assert task.progress_percentage is None and task.duration is None
    assert JobTask.from_dict("not a dict").task_id == "(unnamed task)"
    assert JobTask.from_dict({"name": "legacy name"}).task_id == "legacy name"


def test_change_key_ignores_duration_only() -> None:
    raw = load_json("recorded/iaasvm_backup_inprogress_snapshot_2023.json")
    later = load_json("recorded/iaasvm_backup_inprogress_snapshot_2023.json")
    later["properties"]["duration"] = "PT9H"
    assert change_key(raw) == change_key(later)
    later["properties"]["status"] = "Completed"
    assert change_key(raw) != change_key(later)
    assert change_key({"properties": None}) == {"properties": None}


def test_elapsed() -> None:
    now = datetime(2023, 12, 21, 6, 0, tzinfo=UTC)
    running = _job("recorded/iaasvm_backup_inprogress_snapshot_2023.json")
    assert running.elapsed(now) == now - datetime(2023, 12, 21, 5, 52, 5, 996111, tzinfo=UTC)
    done = _job("recorded/iaasvm_backup_completed_2023.json")
    assert done.elapsed(now) == done.end_time - done.start_time  # type: ignore[operator]
    no_start = Job.from_dict({"id": "x", "properties": {"duration": "PT5S"}})
    assert no_start.elapsed(now) == timedelta(seconds=5)


# ----- durations and timestamps -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT9.8782791S", timedelta(seconds=9.878279)),
        ("PT0S", timedelta(0)),
        ("PT25M", timedelta(minutes=25)),
        ("PT1H", timedelta(hours=1)),
        ("PT1H11M17.4030139S", timedelta(hours=1, minutes=11, seconds=17.403014)),
        ("P1DT5H44M21.7959938S", timedelta(days=1, hours=5, minutes=44, seconds=21.795994)),
        ("P15D", timedelta(days=15)),
        ("P2W", timedelta(weeks=2)),
        ("P1W2D", timedelta(days=9)),
        ("-PT4M20.8890416S", -timedelta(minutes=4, seconds=20.889042)),
        ("-PT40.5233231S", -timedelta(seconds=40.523323)),
        ("pt3.867036s", timedelta(seconds=3.867036)),
        ("00:25:02.0892800", timedelta(minutes=25, seconds=2.08928)),
        ("04:04:33.7650647", timedelta(hours=4, minutes=4, seconds=33.765065)),
        ("00:00:00", timedelta(0)),
        ("1.02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("1.02:03:04.5000000", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
        ("-00:00:05.8026456", -timedelta(seconds=5.802646)),
        (" PT5S ", timedelta(seconds=5)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert _close(parse_duration(text), expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "-P",
        "P1DT",
        "PT5",
        "5 minutes",
        "0:00:01.781847x",
        "12:3:4",
        "PTxS",
        "P99999999999D",
        "99999999999.00:00:00",
        "P1" + "0" * 400 + "D",
        "9" * 5000 + ".00:00:00",
        None,
        5,
        1.5,
        [],
        {},
    ],
)
def test_parse_duration_refuses_quietly(text: Any) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-05-20T13:49:34Z", datetime(2023, 5, 20, 13, 49, 34, tzinfo=UTC)),
        ("2023-05-20T13:49:34.1Z", datetime(2023, 5, 20, 13, 49, 34, 100000, tzinfo=UTC)),
        ("2023-05-20T13:49:34.49674Z", datetime(2023, 5, 20, 13, 49, 34, 496740, tzinfo=UTC)),
        ("2023-05-20T13:49:34.8024048Z", datetime(2023, 5, 20, 13, 49, 34, 802404, tzinfo=UTC)),
        ("2023-05-20T13:49:34", datetime(2023, 5, 20, 13, 49, 34, tzinfo=UTC)),
        ("2023-05-11 14:39:25Z", datetime(2023, 5, 11, 14, 39, 25, tzinfo=UTC)),
        ("2017-08-03T05:31:07.014604+00:00", datetime(2017, 8, 3, 5, 31, 7, 14604, tzinfo=UTC)),
        ("2024-01-01T05:30:00+05:30", datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),
        ("2024-01-01T00:00:00-0100", datetime(2024, 1, 1, 1, 0, tzinfo=UTC)),
        ("2024-01-01T00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00.00000Z",
        "2023-13-45T00:00:00Z",
        "2023-02-30T00:00:00Z",
        "9999-12-31T23:59:59-05:00",
        "12/21/2023 5:52:09 AM",
        "17/09/2021 12:00:13",
        "yesterday",
        "",
        None,
        1700000000,
        [],
    ],
)
def test_parse_timestamp_refuses_quietly(text: Any) -> None:
    assert parse_timestamp(text) is None


@given(st.text())
def test_parsers_never_raise_on_text(text: str) -> None:
    parse_duration(text)
    parse_timestamp(text)
    parse_duration("P" + text)
    parse_timestamp("2024-01-01T" + text)


@given(st.timedeltas(min_value=timedelta(days=-900), max_value=timedelta(days=900)))
def test_duration_round_trips(delta: timedelta) -> None:
    """Both wire formats, written the way the service writes them, read back exactly."""
    sign = "-" if delta < timedelta(0) else ""
    magnitude = abs(delta)
    days, seconds = magnitude.days, magnitude.seconds
    fraction = f"{magnitude.microseconds:06d}0"
    iso = f"{sign}P{days}DT{seconds // 3600}H{seconds % 3600 // 60}M{seconds % 60}.{fraction}S"
    dotnet = (
        f"{sign}{days}.{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:"
        f"{seconds % 60:02d}.{fraction}"
    )
    assert parse_duration(iso) == delta
    assert parse_duration(dotnet) == delta


@given(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 1, 1)),
    st.integers(min_value=0, max_value=7),
)
def test_timestamp_round_trips(moment: datetime, digits: int) -> None:
    fraction = f"{moment.microsecond:06d}0"[:digits]
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + "Z"
    expected = moment.replace(
        microsecond=int(fraction.ljust(6, "0")[:6]) if digits else 0, tzinfo=UTC
    )
    assert parse_timestamp(text) == expected


# ----- operation status -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", OPERATION_CASES)
def test_every_operation_status_parses(raw: dict[str, Any]) -> None:
    op = OperationStatus.from_dict(raw)
    assert op.status == raw["status"]
    assert op.raw is raw
    job_id = (raw.get("properties") or {}).get("jobId")
    assert op.job_ids == ((job_id,) if job_id else ())
    assert op.is_done == (raw["status"] != "InProgress")


def test_operation_in_progress_without_properties(fixture_json: Any) -> None:
    raw = fixture_json("recorded/backupoperations_inprogress_2023.json")
    assert "properties" not in raw
    op = OperationStatus.from_dict(raw)
    assert not op.is_done and not op.succeeded and op.job_ids == ()
    assert op.id == raw["id"]


def test_operation_succeeded_with_job_id(fixture_json: Any) -> None:
    raw = fixture_json("recorded/backupoperations_succeeded_jobid_2023.json")
    op = OperationStatus.from_dict(raw)
    assert op.succeeded and op.is_done
    assert op.job_ids == (raw["properties"]["jobId"],)
    assert op.job_ids[0] != op.id  # the job id is not the operation id


def test_operation_succeeded_with_job_ids() -> None:
    op = OperationStatus.from_dict(
        {
            "id": "op",
            "name": "op",
            "status": "Succeeded",
            "properties": {
                "objectType": "OperationStatusJobsExtendedInfo",
                "jobIds": ["j1", "j2", 3, "j1"],
                "failedJobsError": {"j3": "E"},
            },
        }
    )
    assert op.job_ids == ("j1", "j2")


def test_operation_failed_with_error() -> None:
    op = OperationStatus.from_dict(
        {
            "id": "op",
            "status": "Failed",
            "startTime": "2024-01-01T00:00:00Z",
            "endTime": "2024-01-01T00:00:01Z",
            "error": {"code": "UserErrorBackupOperationInProgress", "message": "Another one runs."},
        }
    )
    assert op.is_done and not op.succeeded
    assert op.error_code == "UserErrorBackupOperationInProgress"
    assert op.error_message == "Another one runs."


def test_operation_canceled_and_bad_bodies() -> None:
    assert OperationStatus.from_dict({"name": "n", "status": "Canceled"}).is_done
    assert OperationStatus.from_dict({"name": "n", "status": "Canceled"}).id == "n"
    bodies: tuple[object, ...] = ([], {"id": "x"}, {"status": None})
    for body in bodies:
        with pytest.raises(UnexpectedResponseError):
            OperationStatus.from_dict(body)
