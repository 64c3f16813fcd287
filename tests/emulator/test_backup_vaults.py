"""Backup vaults (Microsoft.DataProtection): jobs, paging, the recorded payload drift, errors,
vault lookups of both kinds, the ad-hoc backup chain and Resource Graph rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle, start_emulator
from azbackupjobs.emulator.dpp_model import DppJobSpec

DPP = "2026-06-01"
GRAPH = "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01"
DATASOURCE_TYPES = {
    "Microsoft.Compute/disks",
    "Microsoft.Storage/storageAccounts/blobServices",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.DBforPostgreSQL/servers/databases",
    "Microsoft.DBforMySQL/flexibleServers",
    "Microsoft.Storage/storageAccounts/adlsBlobServices",
}


def bv_path(emu: EmulatorHandle, vault: str | None = None, provider: str = "") -> str:
    provider = provider or "Microsoft.DataProtection/backupVaults"
    return (
        f"/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
        f"/providers/{provider}/{vault or emu.backup_vault}"
    )


@pytest.fixture
def paged() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=11, page_size=4) as handle:
        yield handle


def dpp_get(api: Api, path: str, version: str = DPP, **kwargs: Any) -> requests.Response:
    return api.get(path, api_version=version, **kwargs)


def all_jobs(api: Api, emu: EmulatorHandle, version: str = DPP) -> list[dict[str, Any]]:
    response = dpp_get(api, bv_path(emu) + "/backupJobs", version)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["value"]
    next_link = response.json()["nextLink"]
    pages = 1
    while next_link:
        assert pages < 50
        response = api.session.get(next_link, timeout=10)
        assert response.status_code == 200, response.text
        items += response.json()["value"]
        next_link = response.json()["nextLink"]
        pages += 1
    return items


# -- jobs ----------------------------------------------------------------------------------------


def test_list_pages_through_every_seed_job(paged: EmulatorHandle) -> None:
    api = Api(paged)
    first = dpp_get(api, bv_path(paged) + "/backupJobs").json()
    assert len(first["value"]) == 4 and "skipToken=" in first["nextLink"]
    items = all_jobs(api, paged)
    names = [j["name"] for j in items]
    assert names == paged.backup_vaults.job_ids()
    assert len(names) == len(set(names)) >= 15
    starts = [j["properties"]["startTime"] for j in items]
    assert starts == sorted(starts, reverse=True)
    assert {j["properties"]["dataSourceType"] for j in items} == DATASOURCE_TYPES
    # The service has no $filter: a filter changes nothing.
    filtered = dpp_get(api, bv_path(paged) + "/backupJobs", params={"$filter": "status eq 'x'"})
    assert filtered.json()["value"] == first["value"]


def test_list_items_have_timespan_durations_and_no_extended_info(
    api: Api, emu: EmulatorHandle
) -> None:
    items = all_jobs(api, emu)
    done = [j for j in items if j["properties"]["endTime"]]
    assert all(":" in j["properties"]["duration"] for j in done)
    assert all(j["properties"]["extendedInfo"] is None for j in items)
    assert all(j["type"] == "Microsoft.DataProtection/backupVaults/backupJobs" for j in items)


def test_get_shapes_statuses_and_drift(api: Api, emu: EmulatorHandle) -> None:
    items = all_jobs(api, emu)
    statuses = {j["properties"]["status"] for j in items}
    assert {"InProgress", "Completed", "Failed", "Started", "Succeeded"} <= statuses
    categories = {
        (j["properties"]["operationCategory"], j["properties"]["operation"]) for j in items
    }
    assert {("Backup", "Backup"), ("Restore", "Restore")} <= categories
    assert {j["properties"]["isUserTriggered"] for j in items} == {True, False}
    running = next(j for j in items if j["properties"]["status"] == "InProgress")
    body = dpp_get(api, bv_path(emu) + f"/backupJobs/{running['name']}").json()
    props = body["properties"]
    assert props["duration"] == "PT0S" and props["endTime"] is None
    sub_task = props["extendedInfo"]["subTasks"][0]
    assert sub_task["taskId"] == 1 and sub_task["taskStatus"] == "InProgress"
    assert sub_task["taskName"] in {"Trigger Backup", "Trigger Restore"}
    assert "dataTransferredInBytes" in props["extendedInfo"]
    assert props["extendedInfo"]["warningDetails"] is None
    assert props["policyName"] and props["backupInstanceFriendlyName"] and props["activityID"]
    # 2021-07-01 spells the transfer key with one r; 2021-01-01 leaves nulls out.
    old = dpp_get(api, bv_path(emu) + f"/backupJobs/{running['name']}", "2021-07-01").json()
    assert "dataTransferedInBytes" in old["properties"]["extendedInfo"]
    assert "warningDetails" not in old["properties"]["extendedInfo"]
    oldest = dpp_get(api, bv_path(emu) + f"/backupJobs/{running['name']}", "2021-01-01").json()
    assert "endTime" not in oldest["properties"] and "errorDetails" not in oldest["properties"]


def test_failed_job_has_nested_error_details(api: Api, emu: EmulatorHandle) -> None:
    items = all_jobs(api, emu)
    failed = [j for j in items if j["properties"]["status"] == "Failed"]
    assert failed
    pgflex = next(
        j for j in failed if j["properties"]["dataSourceType"].endswith("flexibleServers")
    )
    body = dpp_get(api, bv_path(emu) + f"/backupJobs/{pgflex['name']}").json()["properties"]
    error = body["errorDetails"][0]
    assert error["code"] == "PostgreSQLFlexServerError" and error["recommendedAction"]
    assert error["details"][0]["details"][0]["code"] == "InternalServerError"
    assert error["innerError"]["code"] == "NoInnerErrorFrom1PException"
    assert body["supportedActions"] == ["Cancellable"]
    assert body["extendedInfo"]["subTasks"][0]["taskStatus"] == "Failed"
    assert body["duration"].startswith("PT1M")


def test_jobs_progress_in_emulated_time(api: Api, emu: EmulatorHandle) -> None:
    running = [
        j["name"]
        for j in all_jobs(api, emu)
        if j["properties"]["status"] in ("InProgress", "Started")
    ]
    assert len(running) >= 3
    emu.advance(3600)
    for job_id in running:
        props = dpp_get(api, bv_path(emu) + f"/backupJobs/{job_id}").json()["properties"]
        assert props["status"] in ("Completed", "Succeeded")
        assert props["endTime"] and props["duration"] != "PT0S"
        assert props["extendedInfo"]["subTasks"][0]["additionalDetails"]["TaskId"]


def test_any_casing_and_errors(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.backup_vaults.job_ids()[0]
    odd = bv_path(emu, provider="microsoft.dataprotection/BACKUPVAULTS") + "/BackupJobs/" + job_id
    assert dpp_get(api, odd).status_code == 200
    missing = dpp_get(api, bv_path(emu) + "/backupJobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "code": "UserErrorGenericResourceNotFound",
            "message": "Azure resource does not exist. Please make sure required resources "
            "exist. If the issue persists, contact Microsoft support.",
            "target": None,
            "details": None,
        }
    }
    assert dpp_get(api, bv_path(emu) + "/backupJobs/not-a-guid").status_code == 404
    no_vault = dpp_get(api, bv_path(emu, "nope") + "/backupJobs")
    assert no_vault.status_code == 404 and error_code(no_vault) == "ResourceNotFound"
    no_group = dpp_get(api, bv_path(emu).replace("/demo-rg/", "/other-rg/") + "/backupJobs")
    assert no_group.json() == {
        "error": {
            "code": "ResourceGroupNotFound",
            "message": "Resource group 'other-rg' could not be found.",
        }
    }
    bad_version = dpp_get(api, bv_path(emu) + "/backupJobs", "2026-10-01")
    assert (
        bad_version.status_code == 400 and error_code(bad_version) == "InvalidApiVersionParameter"
    )
    assert "2026-06-01" in bad_version.json()["error"]["message"]
    assert api.request("DELETE", bv_path(emu) + "/backupJobs", api_version=DPP).status_code == 405


def test_lookup_and_version_errors_read_as_arm_writes_them(api: Api, emu: EmulatorHandle) -> None:
    no_vault = dpp_get(api, bv_path(emu, "nope") + "/backupJobs")
    assert no_vault.json() == {
        "error": {
            "code": "ResourceNotFound",
            "message": "The Resource 'Microsoft.DataProtection/backupVaults/nope' under resource "
            f"group '{emu.resource_group}' was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix",
        }
    }
    no_version = api.request("GET", bv_path(emu) + "/backupJobs", api_version=" ")
    assert no_version.status_code == 400
    assert no_version.json() == {
        "error": {
            "code": "MissingApiVersionParameter",
            "message": "The api-version query parameter (?api-version=) is required for all "
            "requests.",
        }
    }
    bad_version = dpp_get(api, bv_path(emu) + "/backupJobs", "2026-10-01")
    message = bad_version.json()["error"]["message"]
    assert message.startswith(
        "The api-version '2026-10-01' is invalid. The supported versions are '2026-08-31-preview,"
        "2026-06-01,2026-03-01,"
    )
    assert message.endswith(",2021-01-01'.")


def test_faults_apply_to_backup_vault_routes(emu: EmulatorHandle, api: Api) -> None:
    emu.set_faults(1.0, "503")
    response = dpp_get(api, bv_path(emu) + "/backupJobs")
    assert response.status_code == 503
    emu.set_faults(0.0)
    assert dpp_get(api, bv_path(emu) + "/backupJobs").status_code == 200


# -- vault lookups -------------------------------------------------------------------------------


def test_get_vault_resources_of_both_kinds(api: Api, emu: EmulatorHandle) -> None:
    rs = api.get(api.vault_path()).json()
    assert rs["type"] == "Microsoft.RecoveryServices/vaults"
    assert rs["name"] == emu.vault and rs["location"] == "westeurope"
    assert rs["id"] == api.vault_path()
    bv = dpp_get(api, bv_path(emu)).json()
    assert bv["type"] == "Microsoft.DataProtection/backupVaults"
    assert bv["name"] == emu.backup_vault and bv["location"] == "westeurope"
    assert bv["id"] == bv_path(emu)
    # Each kind is only found under its own provider.
    assert dpp_get(api, bv_path(emu, emu.vault)).status_code == 404
    assert api.get(api.vault_path(vault=emu.backup_vault)).status_code == 404


def test_one_name_as_both_kinds() -> None:
    with start_emulator(seed=2, backup_vault="demo-vault") as emu:
        api = Api(emu)
        rs = api.get(api.vault_path()).json()
        bv = dpp_get(api, bv_path(emu, "demo-vault")).json()
        assert rs["name"] == bv["name"] == "demo-vault"
        assert {rs["type"], bv["type"]} == {
            "Microsoft.RecoveryServices/vaults",
            "Microsoft.DataProtection/backupVaults",
        }
        assert dpp_get(api, bv_path(emu, "demo-vault") + "/backupJobs").json()["value"]
        assert api.get("/backupJobs").json()["value"]
    with pytest.raises(ValueError, match="backup vault name"):
        start_emulator(backup_vault="bad name")


# -- the ad-hoc backup chain ---------------------------------------------------------------------


def instances(api: Api, emu: EmulatorHandle) -> dict[str, dict[str, Any]]:
    response = dpp_get(api, bv_path(emu) + "/backupInstances")
    assert response.status_code == 200
    return {i["properties"]["friendlyName"]: i for i in response.json()["value"]}


def test_instances_and_policies(api: Api, emu: EmulatorHandle) -> None:
    found = instances(api, emu)
    assert set(found) == {
        "data-disk-01",
        "demoblobsa",
        "aks-prod/aks-prod-backup",
        "pgflex-orders",
        "pg-legacy/postgres",
        "mysql-shop",
        "datalakesa\\datalakesa",
    }
    disk = found["data-disk-01"]
    assert disk["properties"]["dataSourceInfo"]["datasourceType"] == "Microsoft.Compute/disks"
    assert "emulator" not in disk
    policy_id = disk["properties"]["policyInfo"]["policyId"]
    policy = dpp_get(api, policy_id).json()
    rules = policy["properties"]["policyRules"]
    backup_rule = next(r for r in rules if r["objectType"] == "AzureBackupRule")
    assert backup_rule["name"] == "BackupHourly"
    tags = [c["tagInfo"]["tagName"] for c in backup_rule["trigger"]["taggingCriteria"]]
    assert tags == ["Default"]
    one = dpp_get(api, bv_path(emu) + f"/backupInstances/{disk['name']}")
    assert one.json() == disk
    assert emu.backup_vaults.instances()["data-disk-01"] == disk["name"]


def test_trigger_backup_chain(api: Api, emu: EmulatorHandle) -> None:
    pg = instances(api, emu)["pg-legacy/postgres"]
    emu.advance(600)  # past the seed's own backup of it (a second one would be refused)
    body = {
        "backupRuleOptions": {
            "ruleName": "BackupWeekly",
            "triggerOption": {"retentionTagOverride": "Yearly"},
        }
    }
    trigger = api.post(bv_path(emu) + f"/backupInstances/{pg['name']}/backup", json=body,
                       api_version=DPP)  # fmt: skip
    assert trigger.status_code == 202 and trigger.content == b""
    status_url = trigger.headers["Azure-AsyncOperation"]
    result_url = trigger.headers["Location"]
    assert "/backupVaults/demo-bvault/operationStatus/" in status_url
    assert "/providers/Microsoft.DataProtection/locations/westeurope/operationResults/" in (
        result_url
    )
    first = api.session.get(status_url, timeout=5).json()
    assert first["status"] == "Inprogress" and first["endTime"] == "0001-01-01T00:00:00Z"
    assert api.session.get(result_url, timeout=5).status_code == 202
    emu.advance(5)
    done = api.session.get(status_url, timeout=5).json()
    assert done["status"] == "Succeeded"
    job_ref = done["properties"]["jobId"]
    assert done["properties"]["objectType"] == "OperationJobExtendedInfo"
    assert job_ref.startswith(bv_path(emu) + "/backupJobs/")
    result = api.session.get(result_url, timeout=5)
    assert result.status_code == 200 and result.json()["jobId"] == job_ref
    # The location-scoped status is the same operation.
    op_id = status_url.split("/operationStatus/")[1].split("?")[0]
    located = api.get(
        f"/subscriptions/{emu.subscription}/providers/Microsoft.DataProtection/locations/"
        f"westeurope/operationStatus/{op_id}",
        api_version=DPP,
    ).json()
    assert located["status"] == "Succeeded" and located["properties"]["jobId"] == job_ref
    elsewhere = api.get(
        f"/subscriptions/{emu.subscription}/providers/Microsoft.DataProtection/locations/"
        f"eastus/operationStatus/{op_id}",
        api_version=DPP,
    )
    assert elsewhere.status_code == 404
    job = dpp_get(api, job_ref).json()["properties"]
    assert job["status"] == "InProgress" and job["isUserTriggered"] is True
    assert job["extendedInfo"]["additionalDetails"] == {"RetentionTag": "Yearly"}
    emu.advance(3600)
    assert dpp_get(api, job_ref).json()["properties"]["status"] == "Completed"


def test_a_backup_while_one_runs_is_refused_in_the_user_facing_shape(
    api: Api, emu: EmulatorHandle
) -> None:
    pg = instances(api, emu)["pgflex-orders"]
    url = bv_path(emu) + f"/backupInstances/{pg['name']}/backup"
    body = {"backupRuleOptions": {"ruleName": "BackupWeekly"}}
    assert api.post(url, json=body, api_version=DPP).status_code == 202
    emu.advance(5)  # the job has started and runs for 15 minutes
    again = api.post(url, json=body, api_version=DPP)
    assert again.status_code == 400
    error = again.json()["error"]
    assert error["code"] == "UserErrorBackupOperationInProgress"
    info = error["additionalInfo"][0]["info"]
    assert info["recommendedAction"] and info["isUserError"] is True
    emu.advance(3600)
    assert api.post(url, json=body, api_version=DPP).status_code == 202


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"ruleName": "BackupDaily"}, "UserErrorInvalidBackupRuleName"),
        ({"ruleName": "Default"}, "UserErrorInvalidBackupRuleName"),
        (
            {"ruleName": "BackupHourly", "triggerOption": {"retentionTagOverride": "Yearly"}},
            "UserErrorInvalidRetentionTag",
        ),
        ({}, "UserErrorMissingRequiredParameter"),
    ],
)
def test_trigger_validates_rule_and_tag(
    api: Api, emu: EmulatorHandle, options: dict[str, Any], code: str
) -> None:
    disk = instances(api, emu)["data-disk-01"]
    before = len(emu.backup_vaults.job_ids())
    response = api.post(
        bv_path(emu) + f"/backupInstances/{disk['name']}/backup",
        json={"backupRuleOptions": options} if options else {},
        api_version=DPP,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["target"] is None
    assert error["additionalInfo"][0]["type"] == "UserFacingError"
    assert error["additionalInfo"][0]["info"]["code"] == code
    assert len(emu.backup_vaults.job_ids()) == before


def test_trigger_unknown_instance_is_404(api: Api, emu: EmulatorHandle) -> None:
    response = api.post(bv_path(emu) + "/backupInstances/nope/backup", json={}, api_version=DPP)
    assert response.status_code == 404
    assert error_code(response) == "UserErrorGenericResourceNotFound"


def test_handle_arranges_backup_vault_jobs(emu: EmulatorHandle) -> None:
    bvs = emu.backup_vaults
    name = bvs.add_instance("disk", "extra-disk")
    job_id = bvs.add_job(name, DppJobSpec(seconds=100.0, outcome="Failed"), start_offset=-10)
    assert bvs.job_ids()[0] == job_id
    assert bvs.job_body(job_id)["properties"]["status"] == "InProgress"
    emu.advance(200)
    assert bvs.job_body(job_id)["properties"]["status"] == "Failed"
    _, triggered = bvs.trigger_backup(name, "BackupHourly")
    emu.advance(5)
    assert bvs.job_body(triggered)["properties"]["backupInstanceFriendlyName"] == "extra-disk"


def test_seed_is_deterministic() -> None:
    with start_emulator(seed=4) as a, start_emulator(seed=4) as b:
        assert a.backup_vaults.job_ids() == b.backup_vaults.job_ids()
        assert a.backup_vaults.instances() == b.backup_vaults.instances()


def test_state_file_keeps_backup_vaults(tmp_path: Any) -> None:
    state = tmp_path / "state.json"
    with start_emulator(seed=1, state_file=state) as emu:
        ids = emu.backup_vaults.job_ids()
        names = emu.backup_vaults.instances()
    with start_emulator(state_file=state) as again:
        assert again.backup_vaults.job_ids() == ids
        assert again.backup_vaults.instances() == names


# -- Resource Graph ------------------------------------------------------------------------------

AZ_CLI_QUERY = (
    "RecoveryServicesResources | where type =~ 'microsoft.dataprotection/backupvaults/backupjobs'"
    "| extend vaultName = properties.vaultName| extend status = properties.status"
    "| extend operation = case( tolower(properties.operationCategory) startswith 'backup' and "
    "properties.isUserTriggered == 'true', strcat('OnDemand',properties.operationCategory), "
    "tolower(properties.operationCategory) startswith 'backup' and properties.isUserTriggered "
    "== 'false', strcat('Scheduled', properties.operationCategory), type =~ "
    "'microsoft.dataprotection/backupVaults/backupJobs', properties.operationCategory, "
    "'Invalid')| extend datasourceId = properties.dataSourceId "
    "| where properties.dataSourceType in~ ('Microsoft.Compute/disks')"
)


def graph(api: Api, emu: EmulatorHandle, query: str) -> list[dict[str, Any]]:
    response = api.post(
        emu.url + GRAPH,
        json={
            "subscriptions": [emu.subscription],
            "query": query,
            "options": {"$top": 1000, "$skip": 0, "resultFormat": "objectArray"},
        },
        api_version=None,
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def test_resource_graph_serves_the_az_cli_query(api: Api, emu: EmulatorHandle) -> None:
    rows = graph(api, emu, AZ_CLI_QUERY)
    assert rows
    for row in rows:
        assert row["type"] == "microsoft.dataprotection/backupvaults/backupjobs"
        assert row["location"] == "" and row["vaultName"] == emu.backup_vault
        assert row["properties"]["dataSourceType"] == "Microsoft.Compute/disks"
        assert row["datasourceId"] == row["properties"]["dataSourceId"]
        assert "extendedInfo" in row["properties"]
    operations = {r["operation"] for r in rows}
    assert {"OnDemandBackup", "ScheduledBackup", "Restore"} <= operations


def test_one_query_covers_both_kinds(api: Api, emu: EmulatorHandle) -> None:
    rows = graph(
        api,
        emu,
        "RecoveryServicesResources | where type in~ ("
        "'microsoft.recoveryservices/vaults/backupjobs', "
        "'microsoft.dataprotection/backupvaults/backupjobs') "
        "| summarize n = count() by type",
    )
    counts = {r["type"]: r["n"] for r in rows}
    assert counts == {
        "microsoft.recoveryservices/vaults/backupjobs": len(emu.job_ids()),
        "microsoft.dataprotection/backupvaults/backupjobs": len(emu.backup_vaults.job_ids()),
    }


def test_demo_disk_trigger_path(api: Api, emu: EmulatorHandle) -> None:
    from azbackupjobs.emulator import DEMO_DISK, DEMO_DISK_RULE

    emu.backup_vaults.add_instance("disk", DEMO_DISK)  # as the demo does
    path = emu.backup_vaults.trigger_path(DEMO_DISK)
    disk = instances(api, emu)[DEMO_DISK]
    assert path == bv_path(emu) + f"/backupInstances/{disk['name']}/backup"
    body = {"backupRuleOptions": {"ruleName": DEMO_DISK_RULE}}
    trigger = api.post(path, json=body, api_version=DPP)
    assert trigger.status_code == 202, trigger.text
    emu.advance(5)
    done = api.session.get(trigger.headers["Azure-AsyncOperation"], timeout=5).json()
    job = dpp_get(api, done["properties"]["jobId"]).json()["properties"]
    assert job["dataSourceName"] == DEMO_DISK and job["status"] == "InProgress"
    with pytest.raises(KeyError):
        emu.backup_vaults.trigger_path("no-such-disk")


def test_list_page_size_and_oldest_first_order(api: Api, emu: EmulatorHandle) -> None:
    disk = emu.backup_vaults.instances()["data-disk-01"]
    added = emu.backup_vaults.add_jobs(30, disk, spacing=7 * 24 * 3600.0, failed_every=10)
    newest_first = all_jobs(api, emu)
    emu.backup_vaults.page_size = 7
    first = dpp_get(api, bv_path(emu) + "/backupJobs").json()
    assert len(first["value"]) == 7 and first["nextLink"]
    assert [j["name"] for j in all_jobs(api, emu)] == [j["name"] for j in newest_first]

    emu.backup_vaults.oldest_first = True
    oldest_first = all_jobs(api, emu)
    assert [j["name"] for j in oldest_first] == [j["name"] for j in reversed(newest_first)]
    assert oldest_first[0]["name"] == added[-1]  # the job added furthest back comes first
    starts = [j["properties"]["startTime"] for j in oldest_first]
    assert starts == sorted(starts)
    failed = [j["name"] for j in oldest_first if j["properties"]["status"] == "Failed"]
    assert set(added[9::10]) <= set(failed)

    bad = dpp_get(api, bv_path(emu) + "/backupJobs", params={"$skipToken": "nonsense"})
    assert bad.status_code == 400
    with pytest.raises(ValueError):
        emu.backup_vaults.page_size = 0
