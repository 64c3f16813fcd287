"""Job bodies: shaped like the recorded payloads, and progressing with emulated time."""

from __future__ import annotations

import re
from typing import Any

from emulator_client import Api

from azbackupjobs.emulator import EmulatorHandle, start_emulator

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")
DURATION = re.compile(r"^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d{1,7})?S)?)?$")
UNSET = "0001-01-01T00:00:00"
TAIL = ["entityFriendlyName", "backupManagementType", "operation", "status", "startTime"]


def props(body: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = body["properties"]
    return value


def by(api: Api, **match: str) -> list[dict[str, Any]]:
    """Seed jobs (GET bodies) whose properties have the given values."""
    found = []
    for item in api.list_all():
        p = props(item)
        if all(p.get(k) == v for k, v in match.items()):
            found.append(api.job(item["name"]))
    return found


def test_seed_has_every_type_and_status(emu: EmulatorHandle) -> None:
    seen = {(j.job_type, j.status) for j in emu.seed_jobs}
    types = {t for t, _ in seen}
    assert types == {
        "AzureIaaSVMJob",
        "AzureIaaSVMJobV2",
        "AzureWorkloadJob",
        "AzureStorageJob",
        "MabJob",
        "DpmJob",
        "VaultJob",
    }
    statuses = {s for _, s in seen}
    assert statuses == {
        "InProgress",
        "Completed",
        "Failed",
        "CompletedWithWarnings",
        "Cancelling",
        "Cancelled",
    }
    operations = {j.operation for j in emu.seed_jobs}
    assert {"Backup", "Restore", "Backup (Full)", "ConfigureBackup"} <= operations
    assert {j.job_id for j in emu.seed_jobs} == set(emu.job_ids())


def test_seed_is_deterministic() -> None:
    with start_emulator(seed=3) as a, start_emulator(seed=3) as b, start_emulator(seed=4) as c:
        assert [j.job_id for j in a.seed_jobs] == [j.job_id for j in b.seed_jobs]
        assert [j.job_id for j in a.seed_jobs] != [j.job_id for j in c.seed_jobs]
        first = a.seed_jobs[0].job_id
        body_a, body_b = a.job_body(first), b.job_body(first)
        assert props(body_a)["activityId"] == props(body_b)["activityId"]


def test_default_window_shows_seed_jobs(api: Api, emu: EmulatorHandle) -> None:
    items = api.list_all()
    assert len(items) == len(emu.seed_jobs)
    starts = [props(i)["startTime"] for i in items]
    assert starts == sorted(starts, reverse=True)  # newest first


def test_list_items_have_no_extended_info(api: Api) -> None:
    for item in api.list_all():
        assert "extendedInfo" not in props(item)
        assert set(item) == {"id", "name", "type", "properties"}


def test_every_body_is_well_formed(api: Api) -> None:
    for item in api.list_all():
        body = api.job(item["name"])
        p = props(body)
        assert body["type"] == "Microsoft.RecoveryServices/vaults/backupJobs"
        assert body["id"].lower().endswith("/backupjobs/" + body["name"])
        assert TIMESTAMP.match(p["startTime"])
        assert DURATION.match(p["duration"]), p["duration"]
        if p["status"] in ("InProgress", "Cancelling"):
            assert "endTime" not in p
        else:
            assert TIMESTAMP.match(p["endTime"])
        # actionsInfo only while the job can be cancelled, never an empty list.
        if "actionsInfo" in p:
            assert p["actionsInfo"] == ["Cancellable"] and p["status"] == "InProgress"
        assert "extendedInfo" in p
        keys = list(p)
        assert keys[0] == "jobType" and keys[-1] == "activityId"
        for task in p["extendedInfo"].get("tasksList", []):
            for key in ("startTime", "endTime"):
                if key in task:
                    assert task[key] == UNSET or TIMESTAMP.match(task[key])
            if "duration" in task:
                assert DURATION.match(task["duration"])


def test_iaas_backup_shape(api: Api) -> None:
    body = by(api, jobType="AzureIaaSVMJob", operation="Backup", status="InProgress")[0]
    p = props(body)
    assert list(p) == [
        "jobType",
        "actionsInfo",
        "containerName",
        "duration",
        "virtualMachineVersion",
        "extendedInfo",
        *TAIL,
        "activityId",
    ]
    ext = p["extendedInfo"]
    assert list(ext) == ["tasksList", "propertyBag", "internalPropertyBag"]
    assert [list(t) for t in ext["tasksList"]] == [
        ["taskId", "startTime", "endTime", "duration", "status"]
    ] * 2
    assert p["containerName"] == f"iaasvmcontainerv2;demo-rg;{p['entityFriendlyName']}"
    assert p["backupManagementType"] == "AzureIaasVM"
    assert ext["internalPropertyBag"] == {"IsInstantRpJob": "True"}


def test_storage_and_workload_tasks_only_have_id_and_status(api: Api) -> None:
    for job_type in ("AzureStorageJob", "AzureWorkloadJob"):
        for body in by(api, jobType=job_type):
            for task in props(body)["extendedInfo"]["tasksList"]:
                assert list(task) == ["taskId", "status"]
    files = props(by(api, jobType="AzureStorageJob", status="Completed")[0])
    assert files["isUserTriggered"] is False and files["storageAccountVersion"]
    workload = props(by(api, jobType="AzureWorkloadJob", status="Completed")[0])
    assert workload["isUserTriggered"] is True
    assert workload["operation"] == "Backup (Full)"
    assert workload["workloadType"] in ("SQLDataBase", "SAPHanaDatabase")
    assert "Data Transferred (in MB)" in workload["extendedInfo"]["propertyBag"]


def test_agent_and_vault_jobs(api: Api) -> None:
    for job_type, server_key in (("MabJob", "mabServerName"), ("DpmJob", "dpmServerName")):
        for body in by(api, jobType=job_type):
            p = props(body)
            assert server_key in p
            for task in p["extendedInfo"]["tasksList"]:
                assert list(task) == ["taskId", "startTime", "endTime", "duration", "status"]
            for error in p.get("errorDetails", []):
                assert list(error) == ["errorString", "recommendations"]
    vault_job = props(by(api, jobType="VaultJob")[0])
    assert "tasksList" not in vault_job["extendedInfo"]
    assert vault_job["operation"] == "UpdateCustomerManagedKey"


def test_error_details_per_type(api: Api) -> None:
    iaas = props(by(api, jobType="AzureIaaSVMJob", operation="Backup", status="Failed")[0])
    error = iaas["errorDetails"][0]
    assert list(error) == ["errorCode", "errorTitle", "errorString", "recommendations"]
    assert isinstance(error["errorCode"], int)
    assert [t["status"] for t in iaas["extendedInfo"]["tasksList"]] == ["Failed", "NotStarted"]
    assert iaas["extendedInfo"]["propertyBag"]["Backup Size"] == "0 MB"

    workload = props(by(api, jobType="AzureWorkloadJob", status="Failed")[0])
    assert list(workload["errorDetails"][0]) == [
        "errorCode",
        "errorString",
        "errorTitle",
        "recommendations",
    ]
    assert workload["extendedInfo"]["dynamicErrorMessage"].startswith("[HanaHelper]")
    assert workload["operation"] == "Restore (Invalid)"

    files = props(by(api, jobType="AzureStorageJob", status="Failed")[0])
    assert list(files["errorDetails"][0]) == ["errorCode", "errorString", "recommendations"]
    assert files["extendedInfo"]["tasksList"] == []


def test_cancelled_vm_backup_ends_completed_with_warnings(api: Api) -> None:
    p = props(by(api, jobType="AzureIaaSVMJob", status="CompletedWithWarnings")[0])
    assert p["errorDetails"] == [
        {
            "errorCode": 400158,
            "errorTitle": "UserErrorJobSuccessfullyCancelled",
            "errorString": "Job is cancelled.",
            "recommendations": [],
        }
    ]
    assert [t["status"] for t in p["extendedInfo"]["tasksList"]] == ["Completed", "Cancelled"]
    assert p["extendedInfo"]["propertyBag"]["Backup Size"] == "0 MB"


def test_cancelled_and_cancelling_shapes(api: Api) -> None:
    cancelled = props(by(api, status="Cancelled")[0])
    assert [t["status"] for t in cancelled["extendedInfo"]["tasksList"]] == ["Cancelled"] * 2
    cancelling = props(by(api, status="Cancelling")[0])
    assert [t["status"] for t in cancelling["extendedInfo"]["tasksList"]] == ["Cancelling"] * 2
    assert "actionsInfo" not in cancelling and "endTime" not in cancelling


def test_restore_reports_progress(api: Api, emu: EmulatorHandle) -> None:
    body = by(api, jobType="AzureIaaSVMJob", operation="Restore", status="InProgress")[0]
    p = props(body)
    ext = p["extendedInfo"]
    assert "actionsInfo" not in p  # data transfer cannot be interrupted
    assert isinstance(ext["progressPercentage"], float)
    assert ext["progressPercentage"] == int(ext["progressPercentage"])
    assert list(ext["tasksList"][0]) == ["taskId", "duration", "status", "taskExecutionDetails"]
    assert ext["tasksList"][0]["duration"] == "PT0S"
    assert re.match(
        r"^[\d.]+ (GBs|MBs) / 127 GBs Transferred$", ext["tasksList"][0]["taskExecutionDetails"]
    )
    assert ext["internalPropertyBag"] == {"restoreLocationType": "RestoreDisks"}
    assert "Recovery point time " in ext["propertyBag"]  # trailing space, as the service has it
    emu.advance(600)
    later = props(api.job(body["name"]))["extendedInfo"]
    assert later["progressPercentage"] > ext["progressPercentage"]
    emu.advance(3 * 3600)
    done = props(api.job(body["name"]))
    assert done["status"] == "Completed"
    assert done["extendedInfo"]["progressPercentage"] == 100.0
    assert done["extendedInfo"]["estimatedRemainingDuration"] == "PT0S"
    assert done["extendedInfo"]["tasksList"][0]["taskExecutionDetails"] == (
        "127 GBs / 127 GBs Transferred"
    )
    assert "Config Blob Uri" in done["extendedInfo"]["propertyBag"]


def test_a_job_progresses_through_its_tasks(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.add_job(
        entity="vm1", tasks=[("Take Snapshot", 30), ("Transfer data to vault", 120)]
    )
    first = props(api.job(job_id))
    assert first["status"] == "InProgress" and first["actionsInfo"] == ["Cancellable"]
    tasks = first["extendedInfo"]["tasksList"]
    assert [t["status"] for t in tasks] in (
        ["InProgress", "NotStarted"],
        ["NotStarted", "NotStarted"],
    )
    assert tasks[1]["startTime"] == UNSET and tasks[1]["duration"] == "PT0S"
    assert list(first["extendedInfo"]["propertyBag"]) == [
        "VM Name",
        "Recovery Point Expiry Time in UTC",
    ]

    emu.advance(40)
    mid = props(api.job(job_id))
    assert [t["status"] for t in mid["extendedInfo"]["tasksList"]] == ["Completed", "InProgress"]
    assert mid["extendedInfo"]["tasksList"][0]["endTime"] != UNSET
    assert "Backup Size" not in mid["extendedInfo"]["propertyBag"]

    emu.advance(200)
    done = props(api.job(job_id))
    assert done["status"] == "Completed" and "actionsInfo" not in done
    assert [t["status"] for t in done["extendedInfo"]["tasksList"]] == ["Completed"] * 2
    assert done["extendedInfo"]["propertyBag"]["Backup Size"].endswith(" MB")
    assert done["endTime"] > done["startTime"]


def test_duration_grows_while_running(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.add_job(entity="vm2", tasks=[("Take Snapshot", 600)])
    before = props(api.job(job_id))["duration"]
    emu.advance(75.5)
    after = props(api.job(job_id))["duration"]
    assert before != after and after.startswith("PT1M1")


def test_failed_job_with_custom_error(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.add_job(
        job_type="AzureWorkloadJob",
        operation="Backup (Full)",
        entity="db [sql1]",
        tasks=[("Transfer data to vault", 10)],
        outcome="Failed",
        errors=[
            {
                "code": 59006,
                "title": "UserErrorX",
                "message": "Boom.",
                "recommendations": ["Retry."],
            }
        ],
    )
    emu.advance(20)
    p = props(api.job(job_id))
    assert p["status"] == "Failed"
    assert p["errorDetails"] == [
        {
            "errorCode": 59006,
            "errorString": "Boom.",
            "errorTitle": "UserErrorX",
            "recommendations": ["Retry."],
        }
    ]
    assert p["extendedInfo"]["tasksList"] == [
        {"taskId": "Transfer data to vault", "status": "Failed"}
    ]


def test_old_api_versions_use_old_spellings(api: Api, emu: EmulatorHandle) -> None:
    running = by(api, jobType="AzureIaaSVMJob", operation="Backup", status="InProgress")[0]["name"]
    legacy = props(api.job(running, api_version="2016-12-01"))
    assert legacy["actionsInfo"] == [1]
    assert re.match(r"^\d{2}:\d{2}:\d{2}(\.\d{7})?$", legacy["duration"])
    assert props(api.job(running, api_version="2019-06-15"))["actionsInfo"] == [1]
    assert props(api.job(running, api_version="2023-04-01"))["actionsInfo"] == ["Cancellable"]


def test_some_old_job_ids_use_the_legacy_casing(api: Api) -> None:
    ids = [i["id"] for i in api.list_all()]
    assert any(i.startswith("/Subscriptions/") for i in ids)
    assert any(i.startswith("/subscriptions/") for i in ids)


def test_job_body_of_the_handle_matches_http(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.job_ids()[-1]
    assert emu.job_body(job_id) == api.job(job_id)
    assert emu.job_status(job_id) == props(api.job(job_id))["status"]
