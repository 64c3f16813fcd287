"""Secondary region: ARM's locations list, and the cross-region-restore jobs of both kinds of
vault, read in the paired region (northeurope for the seed vaults in westeurope)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle, start_emulator

PASSIVE = "2021-11-15"
DPP = "2024-04-01"


def rs_vault_id(emu: EmulatorHandle, vault: str | None = None) -> str:
    return (
        f"/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{vault or emu.vault}"
    )


def bv_id(emu: EmulatorHandle) -> str:
    return (
        f"/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
        f"/providers/Microsoft.DataProtection/backupVaults/{emu.backup_vault}"
    )


def crr_path(emu: EmulatorHandle, region: str = "northeurope", single: bool = False) -> str:
    what = "backupCrrJob" if single else "backupCrrJobs"
    return (
        f"/subscriptions/{emu.subscription}/providers/Microsoft.RecoveryServices/locations/"
        f"{region}/{what}"
    )


def fetch_path(emu: EmulatorHandle, region: str = "northeurope", single: bool = False) -> str:
    what = "fetchCrossRegionRestoreJob" if single else "fetchCrossRegionRestoreJobs"
    return (
        f"/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
        f"/providers/Microsoft.DataProtection/locations/{region}/{what}"
    )


def rs_crr_jobs(
    api: Api, emu: EmulatorHandle, filter_text: str | None = None, version: str = PASSIVE
) -> list[dict[str, Any]]:
    params = {"$filter": filter_text} if filter_text else {}
    response = api.post(
        crr_path(emu), json={"resourceId": rs_vault_id(emu)}, params=params, api_version=version
    )
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["value"]
    next_link = response.json().get("nextLink")
    pages = 1
    while next_link:
        assert pages < 20
        follow = api.session.get(next_link, timeout=10)
        assert follow.status_code == 200, follow.text
        jobs += follow.json()["value"]
        next_link = follow.json().get("nextLink")
        pages += 1
    return jobs


@pytest.fixture
def paged() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=6, page_size=2) as handle:
        yield handle


# -- ARM locations -------------------------------------------------------------------------------


def test_locations_list(api: Api, emu: EmulatorHandle) -> None:
    response = api.get(f"/subscriptions/{emu.subscription}/locations", api_version="2022-12-01")
    assert response.status_code == 200
    body = response.json()
    assert "nextLink" not in body
    regions = {r["name"]: r for r in body["value"]}
    west = regions["westeurope"]
    assert west["id"] == f"/subscriptions/{emu.subscription}/locations/westeurope"
    assert west["type"] == "Region" and west["displayName"] == "West Europe"
    assert west["metadata"]["pairedRegion"] == [
        {"name": "northeurope", "id": f"/subscriptions/{emu.subscription}/locations/northeurope"}
    ]
    assert isinstance(west["metadata"]["latitude"], str)
    assert regions["italynorth"]["metadata"]["pairedRegion"] == []
    assert "pairedRegion" not in regions["global"]["metadata"]
    assert regions["westus3"]["metadata"]["pairedRegion"][0]["name"] == "eastus"
    assert regions["eastus"]["metadata"]["pairedRegion"][0]["name"] == "westus"
    assert "availabilityZoneMappings" not in regions["westus"]
    bad = api.get(f"/subscriptions/{emu.subscription}/locations", api_version="2026-10-01")
    assert bad.status_code == 400 and error_code(bad) == "InvalidApiVersionParameter"


# -- Recovery Services ---------------------------------------------------------------------------


def test_rs_crr_list_pages_and_ids(paged: EmulatorHandle) -> None:
    api = Api(paged)
    jobs = rs_crr_jobs(api, paged)
    assert [j["name"] for j in jobs] == paged.crr_job_ids()
    assert len(jobs) == 4
    for job in jobs:
        assert job["id"] == (
            f"/subscriptions/{paged.subscription}/providers/Microsoft.RecoveryServices/"
            f"locations/northeurope/backupJobs/{job['name']}"
        )
        assert job["type"] == "Microsoft.RecoveryServices/vaults/backupJobs"
        assert job["properties"]["operation"] == "CrossRegionRestore"
        assert "extendedInfo" not in job["properties"]
    statuses = {j["properties"]["status"] for j in jobs}
    assert statuses == {"InProgress", "Completed", "Failed"}
    # They are the paired region's: the vault's own list does not have them.
    own = {j["name"] for j in api.list_all()}
    assert own.isdisjoint(paged.crr_job_ids())


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("status eq 'Failed'", 1),
        ("operation eq 'CrossRegionRestore' and backupManagementType eq 'AzureWorkload'", 1),
        ("backupManagementType eq 'AzureIaasVM'", 3),
        ("operation eq 'Backup'", 0),
    ],
)
def test_rs_crr_filter(api: Api, emu: EmulatorHandle, filter_text: str, expected: int) -> None:
    assert len(rs_crr_jobs(api, emu, filter_text)) == expected


def test_rs_crr_job_details_and_progress(api: Api, emu: EmulatorHandle) -> None:
    jobs = rs_crr_jobs(api, emu)
    running = next(j for j in jobs if j["properties"]["status"] == "InProgress")
    failed = next(j for j in jobs if j["properties"]["status"] == "Failed")

    def detail(job_id: str) -> dict[str, Any]:
        response = api.post(
            crr_path(emu, single=True),
            json={"resourceId": rs_vault_id(emu), "jobName": job_id},
            api_version=PASSIVE,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    body = detail(running["name"])
    assert body["id"] == running["id"]
    ext = body["properties"]["extendedInfo"]
    assert ext["tasksList"][0]["taskId"] == "Transfer data from vault"
    assert ext["propertyBag"]["Vault name"] == emu.vault
    sql = detail(failed["name"])["properties"]
    assert sql["jobType"] == "AzureWorkloadJob"
    assert sql["errorDetails"][0]["errorCode"] == 510011
    assert sql["errorDetails"][0]["errorTitle"] == "WorkloadRestoreFailed"
    emu.advance(3 * 3600)
    assert detail(running["name"])["properties"]["status"] == "Completed"


def test_rs_crr_errors(api: Api, emu: EmulatorHandle) -> None:
    body = {"resourceId": rs_vault_id(emu)}
    wrong_region = api.post(crr_path(emu, "westeurope"), json=body, api_version=PASSIVE)
    assert wrong_region.status_code == 400
    assert "northeurope" in wrong_region.json()["error"]["message"]
    for version in ("2026-10-01", "2023-01-15", "2018-12-20"):
        response = api.post(crr_path(emu), json=body, api_version=version)
        assert response.status_code == (400 if version == "2026-10-01" else 200), version
    missing = api.post(crr_path(emu), json={}, api_version=PASSIVE)
    assert missing.status_code == 400 and error_code(missing) == "BMSUserErrorInvalidInput"
    unknown_vault = api.post(
        crr_path(emu), json={"resourceId": rs_vault_id(emu, "nope")}, api_version=PASSIVE
    )
    assert unknown_vault.status_code == 404 and error_code(unknown_vault) == "ResourceNotFound"
    unknown_job = api.post(
        crr_path(emu, single=True),
        json={**body, "jobName": "00000000-0000-0000-0000-000000000000"},
        api_version=PASSIVE,
    )
    assert unknown_job.status_code == 404
    emu.add_vault(vault="italy-vault", location="italynorth")
    unpaired = api.post(
        crr_path(emu, "westeurope"),
        json={"resourceId": rs_vault_id(emu, "italy-vault")},
        api_version=PASSIVE,
    )
    assert unpaired.status_code == 400
    assert "no secondary region" in unpaired.json()["error"]["message"]


def test_faults_apply_to_crr_routes(api: Api, emu: EmulatorHandle) -> None:
    emu.set_faults(1.0, "429")
    response = api.post(crr_path(emu), json={"resourceId": rs_vault_id(emu)}, api_version=PASSIVE)
    assert response.status_code == 429
    emu.set_faults(0.0)


# -- Backup vaults -------------------------------------------------------------------------------


def fetch(api: Api, emu: EmulatorHandle, body: dict[str, Any], **where: Any) -> requests.Response:
    return api.post(fetch_path(emu, **where), json=body, api_version=DPP)


def test_dpp_crr_list_and_job(api: Api, emu: EmulatorHandle) -> None:
    body = {"sourceRegion": "westeurope", "sourceBackupVaultId": bv_id(emu)}
    response = fetch(api, emu, body)
    assert response.status_code == 200
    listed = response.json()
    assert list(listed) == ["value"]
    jobs = listed["value"]
    assert [j["name"] for j in jobs] == emu.crr_job_ids(backup_vault=True)
    assert {j["properties"]["status"] for j in jobs} == {"InProgress", "Completed", "Failed"}
    for job in jobs:
        props = job["properties"]
        assert job["type"] == "Microsoft.DataProtection/BackupVaults/backupJobs"
        assert (
            "/providers/Microsoft.DataProtection/BackupVaults/demo-bvault/backupJobs/"
            in (job["id"])
        )
        assert props["operationCategory"] == "CrossRegionRestore"
        assert props["operation"] == "Restore"
        assert "isCrossRegionRestore" not in props and "extendedInfo" not in props
        assert None not in props.values()
    done = next(j for j in jobs if j["properties"]["status"] == "Completed")
    assert ":" in done["properties"]["duration"]  # a TimeSpan in the list
    running = next(j for j in jobs if j["properties"]["status"] == "InProgress")
    one = fetch(api, emu, {**body, "jobId": running["name"], "sourceRegion": "West Europe"},
                single=True)  # fmt: skip
    assert one.status_code == 200, one.text
    props = one.json()["properties"]
    assert props["duration"] == "PT0S" and "endTime" not in props
    assert props["extendedInfo"]["subTasks"][0]["taskName"] == "Trigger Restore"
    assert props["extendedInfo"]["recoveryDestination"].endswith("-restored")
    failed = next(j for j in jobs if j["properties"]["status"] == "Failed")
    errors = failed["properties"]["errorDetails"]
    assert errors[0]["code"] == "UserErrorDatabaseNameAlreadyInUse" and errors[0]["details"]
    emu.advance(3600)
    again = fetch(api, emu, {**body, "jobId": running["name"]}, single=True).json()
    assert again["properties"]["status"] == "Completed" and again["properties"]["endTime"]


def test_dpp_crr_errors(api: Api, emu: EmulatorHandle) -> None:
    body = {"sourceRegion": "westeurope", "sourceBackupVaultId": bv_id(emu)}
    wrong = fetch(api, emu, body, region="westus")
    assert wrong.status_code == 400
    error = wrong.json()["error"]
    assert error["additionalInfo"][0]["type"] == "UserFacingError" and error["target"] is None
    wrong_source = fetch(api, emu, {**body, "sourceRegion": "eastus"})
    assert wrong_source.status_code == 400
    missing = fetch(api, emu, {"sourceRegion": "westeurope"})
    assert missing.status_code == 400
    unknown_vault = fetch(api, emu, {**body, "sourceBackupVaultId": bv_id(emu) + "x"})
    assert unknown_vault.status_code == 404
    assert error_code(unknown_vault) == "UserErrorGenericResourceNotFound"
    unknown_job = fetch(
        api, emu, {**body, "jobId": "00000000-0000-0000-0000-000000000000"}, single=True
    )
    assert unknown_job.status_code == 404
    assert unknown_job.json()["error"]["details"] is None
    bad_version = api.post(fetch_path(emu), json=body, api_version=PASSIVE)
    assert bad_version.status_code == 400


def test_crr_jobs_are_deterministic_with_a_seed() -> None:
    with start_emulator(seed=9) as a, start_emulator(seed=9) as b:
        assert a.crr_job_ids() == b.crr_job_ids()
        assert a.crr_job_ids(backup_vault=True) == b.crr_job_ids(backup_vault=True)
    with start_emulator(seed=9, seed_data=False) as empty:
        assert empty.crr_job_ids() == [] and empty.crr_job_ids(backup_vault=True) == []
