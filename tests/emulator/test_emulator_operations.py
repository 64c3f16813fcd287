"""Cancel, backup trigger, operation status and export: the asynchronous operations."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from emulator_client import Api, error_code

from azbackupjobs.emulator import (
    DEMO_SPEED,
    DEMO_VM,
    EmulatorHandle,
    ServiceError,
    demo_trigger_path,
    start_emulator,
)

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
UNSET = "0001-01-01T00:00:00"


def running_backup(emu: EmulatorHandle, **kwargs: object) -> str:
    return emu.add_job(
        entity="vm-c",
        tasks=[("Take Snapshot", 60), ("Transfer data to vault", 600)],
        **kwargs,  # type: ignore[arg-type]
    )


# -- cancel ------------------------------------------------------------------------------------


def test_cancel_flow(api: Api, emu: EmulatorHandle) -> None:
    job_id = running_backup(emu)
    response = api.post(f"/backupJobs/{job_id}/cancel", api_version="2023-04-01")
    assert response.status_code == 202
    assert response.content == b""
    location = response.headers["Location"]
    assert re.fullmatch(
        rf"{re.escape(emu.url + api.vault_path())}/backupJobs/{job_id}/operationResults/{GUID}"
        r"\?api-version=2023-04-01",
        location,
    )
    aao = response.headers["Azure-AsyncOperation"]
    assert "/operationsStatus/" in aao and aao.endswith("?api-version=2019-05-13-preview")
    assert response.headers["Retry-After"] == "60"

    job = api.job(job_id)["properties"]
    assert job["status"] == "Cancelling" and "actionsInfo" not in job
    assert [t["status"] for t in job["extendedInfo"]["tasksList"]] == ["Cancelling", "Cancelling"]

    pending = api.session.get(location, timeout=5)
    assert pending.status_code == 202
    assert pending.headers["Location"] and pending.headers["Retry-After"] == "60"
    status = api.session.get(aao, timeout=5).json()
    assert status["status"] == "InProgress" and status["endTime"] == UNSET

    emu.advance(31)
    assert api.session.get(location, timeout=5).status_code == 204
    done = api.job(job_id)["properties"]
    assert done["status"] == "Cancelled"
    assert [t["status"] for t in done["extendedInfo"]["tasksList"]] == ["Cancelled", "Cancelled"]
    assert "endTime" in done and "errorDetails" not in done
    assert api.session.get(aao, timeout=5).json()["status"] == "Succeeded"


def test_cancel_result_with_the_literal_azure_segment(api: Api, emu: EmulatorHandle) -> None:
    op_id = emu.cancel_job(running_backup(emu))
    emu.advance(60)
    assert api.get(f"/backupJobs/Azure/operationResults/{op_id}").status_code == 204


def test_cancel_during_transfer_ends_with_warnings(api: Api, emu: EmulatorHandle) -> None:
    job_id = running_backup(emu)
    emu.advance(120)
    assert api.post(f"/backupJobs/{job_id}/cancel").status_code == 202
    emu.advance(60)
    p = api.job(job_id)["properties"]
    assert p["status"] == "CompletedWithWarnings"
    assert p["errorDetails"][0]["errorCode"] == 400158
    assert [t["status"] for t in p["extendedInfo"]["tasksList"]] == ["Completed", "Cancelled"]


@pytest.mark.parametrize("status", ["Completed", "Failed", "Cancelled", "Cancelling"])
def test_jobs_that_are_not_running_cannot_be_cancelled(api: Api, status: str) -> None:
    job_id = next(i["name"] for i in api.list_all() if i["properties"]["status"] == status)
    response = api.post(f"/backupJobs/{job_id}/cancel")
    assert response.status_code == 400
    assert error_code(response) == "BMSUserErrorJobNotCancellable"
    assert status in response.json()["error"]["message"]


def test_restore_in_data_transfer_cannot_be_cancelled(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.add_job(entity="vm-r", operation="Restore")
    assert api.job(job_id)["properties"]["actionsInfo"] == ["Cancellable"]  # still preparing
    emu.advance(120)
    assert "actionsInfo" not in api.job(job_id)["properties"]
    response = api.post(f"/backupJobs/{job_id}/cancel")
    assert response.status_code == 400
    assert error_code(response) == "BMSUserErrorJobNotCancellable"
    assert "Transfer data from vault" in response.json()["error"]["message"]
    with pytest.raises(ServiceError):
        emu.cancel_job(job_id)


def test_cancel_unknown_job(api: Api) -> None:
    response = api.post("/backupJobs/00000000-0000-0000-0000-000000000001/cancel")
    assert response.status_code == 404


def test_unknown_operation(api: Api) -> None:
    assert api.get("/backupOperations/00000000-0000-0000-0000-000000000002").status_code == 404


# -- trigger -----------------------------------------------------------------------------------


def test_trigger_backup_to_job(api: Api, emu: EmulatorHandle) -> None:
    response = api.post(
        demo_trigger_path(), json={"properties": {"objectType": "IaasVMBackupRequest"}}
    )
    assert response.status_code == 202, response.text
    status_url = response.headers["Azure-AsyncOperation"]
    result_url = response.headers["Location"]
    assert response.headers["Retry-After"] == "60"
    assert status_url.startswith(emu.url + "/subscriptions/")
    assert "/protectedItems/VM;iaasvmcontainerv2;demo-rg;demo-vm/operationsStatus/" in status_url
    assert "/operationResults/" in result_url
    assert parse_qs(urlsplit(status_url).query)["api-version"] == ["2026-10-01"]
    op_id = urlsplit(status_url).path.rsplit("/", 1)[1]

    first = api.session.get(status_url, timeout=5).json()
    assert first == {
        "id": op_id,
        "name": op_id,
        "status": "InProgress",
        "startTime": first["startTime"],
        "endTime": UNSET,
    }
    assert api.session.get(result_url, timeout=5).status_code == 202
    assert api.get(f"/backupOperations/{op_id}").json() == first

    emu.advance(3)
    done = api.session.get(status_url, timeout=5).json()
    assert done["status"] == "Succeeded"
    assert done["endTime"] == done["startTime"]
    assert done["properties"]["objectType"] == "OperationStatusJobExtendedInfo"
    job_id = done["properties"]["jobId"]
    assert job_id != op_id
    assert api.get(f"/backupOperations/{op_id}").json() == done
    assert api.session.get(result_url, timeout=5).status_code == 204

    job = api.job(job_id)["properties"]
    assert (job["entityFriendlyName"], job["operation"], job["status"]) == (
        DEMO_VM,
        "Backup",
        "InProgress",
    )
    assert job["extendedInfo"]["internalPropertyBag"]["AdHoc"] == "AdHoc"


def test_trigger_accepts_encoded_names_and_no_body(api: Api) -> None:
    path = demo_trigger_path("web-02").replace(";", "%3B")
    assert api.post(path).status_code == 202


def test_a_job_is_not_there_until_the_operation_succeeds(api: Api, emu: EmulatorHandle) -> None:
    op_id, job_id = emu.trigger_backup("web-02")
    assert api.get(f"/backupJobs/{job_id}").status_code == 404
    emu.advance(2.5)
    assert api.get(f"/backupOperations/{op_id}").json()["properties"]["jobId"] == job_id
    assert api.get(f"/backupJobs/{job_id}").status_code == 200


def test_trigger_on_unknown_item(api: Api, emu: EmulatorHandle) -> None:
    for path in (
        demo_trigger_path("no-such-vm"),
        demo_trigger_path().replace("/Azure/", "/OnPrem/"),
        demo_trigger_path().replace("IaasVMContainer;iaasvmcontainerv2;demo-rg;demo-vm", "c1"),
    ):
        response = api.post(path)
        assert response.status_code == 404, path
        assert error_code(response) == "BMSUserErrorDataSourceObjectNotFound"


def test_trigger_with_wrong_request_type(api: Api) -> None:
    response = api.post(
        demo_trigger_path(), json={"properties": {"objectType": "AzureFileShareBackupRequest"}}
    )
    assert response.status_code == 400
    assert api.post(demo_trigger_path(), data=b"{not json").status_code == 400


def test_second_backup_while_one_runs_is_refused(api: Api, emu: EmulatorHandle) -> None:
    _, first = emu.trigger_backup(DEMO_VM)
    emu.advance(10)
    before = emu.job_ids()
    response = api.post(demo_trigger_path())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UserErrorBackupOperationInProgress"
    assert "another operation is currently in progress" in response.json()["error"]["message"]
    with pytest.raises(ServiceError, match="in progress"):
        emu.trigger_backup(DEMO_VM)
    assert emu.job_ids() == before
    assert api.job(first)["properties"]["status"] == "InProgress"


def test_demo_backup_takes_about_25_seconds_and_shows_progress() -> None:
    with start_emulator(speed=DEMO_SPEED, seed=1) as emu:
        api = Api(emu)
        response = api.post(demo_trigger_path())
        assert response.status_code == 202
        assert response.headers["Retry-After"] == "1"  # 60 s / speed 60
        op_id = urlsplit(response.headers["Azure-AsyncOperation"]).path.rsplit("/", 1)[1]
        emu.advance(5)
        job_id = api.get(f"/backupOperations/{op_id}").json()["properties"]["jobId"]
        start = api.job(job_id)["properties"]["startTime"]
        started = datetime.fromisoformat(start.replace("Z", "+00:00"))
        real_seconds = (emu.expected_end(job_id) - started).total_seconds() / DEMO_SPEED
        assert 20 <= real_seconds <= 30

        bags: list[list[str]] = []
        details: list[str] = []
        for _ in range(12):
            p = api.job(job_id)["properties"]
            bags.append(list(p["extendedInfo"]["propertyBag"]))
            transfer = p["extendedInfo"]["tasksList"][1]
            if "taskExecutionDetails" in transfer:
                details.append(transfer["taskExecutionDetails"])
            emu.advance(130)
        assert p["status"] == "Completed"
        assert bags[0] == ["VM Name"]
        assert ["VM Name", "Recovery Point Expiry Time in UTC"] in bags
        assert bags[-1] == ["VM Name", "Recovery Point Expiry Time in UTC", "Backup Size"]
        done = [float(d.split(" ")[0]) for d in details if d.endswith("127 GBs Transferred")]
        assert len(done) >= 5 and done == sorted(done) and done[-1] == 127
        api.session.close()


@pytest.mark.parametrize(("speed", "expected"), [(1, "60"), (7, "9"), (60, "1"), (5000, "1")])
def test_retry_after_scales_with_speed(speed: float, expected: str) -> None:
    with start_emulator(speed=speed, seed=1) as emu:
        api = Api(emu)
        assert api.post(demo_trigger_path()).headers["Retry-After"] == expected
        api.session.close()


# -- export ------------------------------------------------------------------------------------


def test_export_jobs(api: Api, emu: EmulatorHandle) -> None:
    response = api.post("/backupJobsExport", params={"$filter": "status eq 'Failed'"})
    assert response.status_code == 202
    location = response.headers["Location"]
    assert re.search(
        rf"/vaults/{emu.vault}/backupJobs/operationResults/{GUID}\?api-version=", location
    )

    pending = api.session.get(location, timeout=5)
    assert pending.status_code == 202
    assert pending.json() == {
        "operation": {"objectType": "ExportJobsOperationResultInfo"},
        "headers": {"Location": [location], "Retry-After": ["60"]},
    }
    emu.advance(20)
    done = api.session.get(location, timeout=5)
    assert done.status_code == 200
    operation = done.json()["operation"]
    assert operation["objectType"] == "ExportJobsOperationResultInfo"
    assert done.json()["headers"] == {}
    blob = requests.get(operation["blobUrl"] + operation["blobSasKey"], timeout=5)
    assert blob.status_code == 200
    exported = blob.json()
    assert exported and {j["properties"]["status"] for j in exported} == {"Failed"}
    assert requests.get(operation["blobUrl"] + "?sig=wrong", timeout=5).status_code == 404


def test_export_with_bad_filter(api: Api) -> None:
    response = api.post("/backupJobsExport", params={"$filter": "status ne 'Failed'"})
    assert response.status_code == 400
