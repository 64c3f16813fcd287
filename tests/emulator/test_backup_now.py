"""Recovery Services on-demand backups: protected items (list, $filter, paging) and the trigger
for each kind of item, with its body checked and a running backup refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle, start_emulator


def items(api: Api, filter_text: str | None = None) -> list[dict[str, Any]]:
    params = {"$filter": filter_text} if filter_text else {}
    response = api.get("/backupProtectedItems", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["value"]
    next_link = response.json().get("nextLink")
    pages = 1
    while next_link:
        assert pages < 20
        response = api.session.get(next_link, timeout=10)
        assert response.status_code == 200, response.text
        found += response.json()["value"]
        next_link = response.json().get("nextLink")
        pages += 1
    return found


def by_name(api: Api) -> dict[str, dict[str, Any]]:
    return {i["properties"]["friendlyName"]: i for i in items(api)}


def trigger(api: Api, item: dict[str, Any], body: Any = None) -> requests.Response:
    path = item["id"].replace(";", "%3B") + "/backup"
    return api.post(path, json=body) if body is not None else api.post(path)


def job_of(api: Api, emu: EmulatorHandle, response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    assert "/protectedItems/" in response.headers["Location"]
    status_url = response.headers["Azure-AsyncOperation"]
    assert api.session.get(status_url, timeout=5).json()["status"] == "InProgress"
    emu.advance(3)
    status = api.session.get(status_url, timeout=5).json()
    assert status["status"] == "Succeeded"
    job_id = status["properties"]["jobId"]
    op_id = status_url.split("/operationsStatus/")[1].split("?")[0]
    assert api.get(f"/backupOperations/{op_id}").json()["properties"]["jobId"] == job_id
    return api.job(job_id)


@pytest.fixture
def paged() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=5, page_size=4) as handle:
        yield handle


def test_items_of_every_kind(api: Api, emu: EmulatorHandle) -> None:
    found = by_name(api)
    assert {"demo-vm", "web-01", "finance-share", "hr-share", "msdb", "salesdb", "SYSTEMDB"} <= set(
        found
    )
    vm = found["demo-vm"]
    assert vm["name"] == "VM;iaasvmcontainerv2;demo-rg;demo-vm"
    assert "/protectionContainers/IaasVMContainer;iaasvmcontainerv2;demo-rg;demo-vm/" in vm["id"]
    assert vm["properties"]["protectedItemType"] == "Microsoft.Compute/virtualMachines"
    assert vm["properties"]["workloadType"] == "VM"
    share = found["hr-share"]["properties"]
    assert share["protectedItemType"] == "AzureFileShareProtectedItem"
    assert share["workloadType"] == "AzureFileShare"
    sql = found["salesdb"]
    assert sql["name"] == "SQLDataBase;mssqlserver;salesdb"
    assert "/protectionContainers/VMAppContainer;Compute;demo-rg;sql-vm-01/" in sql["id"]
    assert sql["properties"]["protectedItemType"] == "AzureVmWorkloadSQLDatabase"
    hana = found["SYSTEMDB"]["properties"]
    assert hana["workloadType"] == "SAPHanaDatabase" and hana["serverName"] == "hana-01"
    assert all("emulator" not in i for i in found.values())
    assert all(
        i["type"] == "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/"
        "protectedItems"
        for i in found.values()
    )


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'", 8),
        ("itemType eq 'SQLDataBase'", 2),
        ("backupManagementType eq 'AzureWorkload' and itemType eq 'SAPHanaDatabase'", 1),
        ("backupManagementType eq 'AzureStorage'", 2),
        ("friendlyName eq 'hr-share'", 1),
        ("itemType eq 'SAPAseDatabase'", 0),
    ],
)
def test_filter(paged: EmulatorHandle, filter_text: str, expected: int) -> None:
    assert len(items(Api(paged), filter_text)) == expected


@pytest.mark.parametrize(
    "filter_text",
    ["itemType eq 'Nope'", "status eq 'x'", "itemType ne 'VM'", "itemType eq 'VM' or x eq 'y'"],
)
def test_bad_filter_is_400(api: Api, filter_text: str) -> None:
    response = api.get("/backupProtectedItems", params={"$filter": filter_text})
    assert response.status_code == 400
    assert error_code(response) == "BMSUserErrorInvalidInput"


def test_paging_follows_next_link(paged: EmulatorHandle) -> None:
    api = Api(paged)
    first = api.get("/backupProtectedItems").json()
    assert len(first["value"]) == 4 and "skiptoken=" in first["nextLink"]
    all_items = items(api)
    assert len(all_items) == 13 == len({i["id"] for i in all_items})
    vms = items(api, "itemType eq 'VM'")
    assert len(vms) == 8


def test_file_share_backup(api: Api, emu: EmulatorHandle) -> None:
    share = by_name(api)["hr-share"]
    expiry = (emu.now() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "properties": {
            "objectType": "AzureFileShareBackupRequest",
            "recoveryPointExpiryTimeInUTC": expiry,
        }
    }
    job = job_of(api, emu, trigger(api, share, body))
    props = job["properties"]
    assert props["jobType"] == "AzureStorageJob" and props["entityFriendlyName"] == "hr-share"
    assert props["operation"] == "Backup" and props["status"] == "InProgress"
    assert props["isUserTriggered"] is True
    emu.advance(600)
    assert api.job(job["name"])["properties"]["status"] == "Completed"


@pytest.mark.parametrize(
    ("name", "backup_type", "operation"),
    [
        ("salesdb", "Log", "Backup (Log)"),
        ("salesdb", "CopyOnlyFull", "Backup (Copy Only Full)"),
        ("SYSTEMDB", "Full", "Backup (Full)"),
    ],
)
def test_workload_backup(
    api: Api, emu: EmulatorHandle, name: str, backup_type: str, operation: str
) -> None:
    item = by_name(api)[name]
    body = {"properties": {"objectType": "AzureWorkloadBackupRequest", "backupType": backup_type}}
    props = job_of(api, emu, trigger(api, item, body))["properties"]
    assert props["jobType"] == "AzureWorkloadJob" and props["operation"] == operation
    host = item["properties"]["serverName"]
    assert props["entityFriendlyName"] == f"{name} [{host}]"
    assert props["workloadType"] == item["properties"]["workloadType"]


def test_vm_backup_with_expiry(api: Api, emu: EmulatorHandle) -> None:
    vm = by_name(api)["web-02"]
    expiry = emu.now() + timedelta(days=45)
    body = {
        "properties": {
            "objectType": "IaasVMBackupRequest",
            "recoveryPointExpiryTimeInUTC": expiry.isoformat().replace("+00:00", "Z"),
        }
    }
    job = job_of(api, emu, trigger(api, vm, body))
    emu.advance(400)  # past the snapshot
    bag = api.job(job["name"])["properties"]["extendedInfo"]["propertyBag"]
    shown = datetime.strptime(bag["Recovery Point Expiry Time in UTC"], "%m/%d/%Y %I:%M:%S %p")
    assert abs(shown.replace(tzinfo=UTC) - expiry) < timedelta(seconds=1)


@pytest.mark.parametrize(
    ("name", "body", "fragment"),
    [
        ("salesdb", None, "backupType is required"),
        ("salesdb", {"properties": {"objectType": "AzureWorkloadBackupRequest"}}, "backupType"),
        (
            "salesdb",
            {"properties": {"objectType": "AzureWorkloadBackupRequest", "backupType": "Weekly"}},
            "backupType",
        ),
        ("salesdb", {"properties": {"objectType": "IaasVMBackupRequest"}}, "objectType"),
        ("hr-share", {"properties": {"objectType": "AzureWorkloadBackupRequest"}}, "objectType"),
        (
            "hr-share",
            {
                "properties": {
                    "objectType": "AzureFileShareBackupRequest",
                    "recoveryPointExpiryTimeInUTC": "2001-01-01T00:00:00Z",
                }
            },
            "later than",
        ),
        (
            "web-02",
            {"properties": {"objectType": "IaasVMBackupRequest", "backupType": "Full"}},
            "workload items only",
        ),
        (
            "web-02",
            {"properties": {"recoveryPointExpiryTimeInUTC": "tomorrow"}},
            "not a date",
        ),
    ],
)
def test_trigger_checks_the_body(
    api: Api, emu: EmulatorHandle, name: str, body: Any, fragment: str
) -> None:
    before = emu.job_ids()
    response = trigger(api, by_name(api)[name], body)
    assert response.status_code == 400, response.text
    assert error_code(response) == "BMSUserErrorInvalidInput"
    assert fragment in response.json()["error"]["message"]
    assert emu.job_ids() == before


def test_running_backup_is_refused(api: Api, emu: EmulatorHandle) -> None:
    # The seed vault has backups of msdb and finance-share running.
    body = {"properties": {"objectType": "AzureWorkloadBackupRequest", "backupType": "Full"}}
    for name, request in (("msdb", body), ("finance-share", None), ("web-01", None)):
        response = trigger(api, by_name(api)[name], request)
        assert response.status_code == 400, name
        assert response.json()["error"]["code"] == "UserErrorBackupOperationInProgress"
    emu.advance(3 * 3600)
    job_of(api, emu, trigger(api, by_name(api)["msdb"], body))


def test_unknown_item_is_404(api: Api) -> None:
    path = (
        api.vault_path()
        + "/backupFabrics/Azure/protectionContainers/"
        + quote("VMAppContainer;Compute;demo-rg;sql-vm-01")
        + "/protectedItems/"
        + quote("SQLDataBase;mssqlserver;nope")
        + "/backup"
    )
    response = api.post(path, json={})
    assert response.status_code == 404
    assert error_code(response) == "BMSUserErrorDataSourceObjectNotFound"


def test_faults_apply_to_protected_items(api: Api, emu: EmulatorHandle) -> None:
    emu.set_faults(1.0, "500")
    assert api.get("/backupProtectedItems").status_code == 500
    emu.set_faults(0.0)


# -- the official SDK ----------------------------------------------------------------------------


def test_sdk_lists_items_and_triggers_a_workload_backup() -> None:
    import azure.mgmt.recoveryservicesbackup as sdk
    from azure.mgmt.recoveryservicesbackup import models
    from sdk_credential import EmulatorCredential

    with start_emulator(tls=True, seed=8, page_size=3) as emu:
        client = sdk.RecoveryServicesBackupClient(
            EmulatorCredential(emu.token),
            emu.subscription,
            base_url=emu.url,
            credential_scopes=[emu.url + "/.default"],
            connection_verify=emu.ca_bundle,
            retry_total=0,
        )
        try:
            found = list(
                client.backup_protected_items.list(
                    emu.vault,
                    emu.resource_group,
                    filter="backupManagementType eq 'AzureWorkload' and itemType eq 'SQLDataBase'",
                )
            )
            # SDK 11 resolves one level of discriminator only: the service's
            # "AzureVmWorkloadSQLDatabase" items come back as the base ProtectedItem, whose
            # fields are read by their REST names.
            properties = [i.properties for i in found]
            assert all(p is not None for p in properties)
            assert {p["friendlyName"] for p in properties if p} == {"msdb", "salesdb"}
            assert {p["protectedItemType"] for p in properties if p} == {
                "AzureVmWorkloadSQLDatabase"
            }
            everything = list(client.backup_protected_items.list(emu.vault, emu.resource_group))
            assert len(everything) == 13
            salesdb = next(
                i for i in found if i.properties and i.properties["friendlyName"] == "salesdb"
            )
            assert salesdb.id is not None and salesdb.name is not None
            container = salesdb.id.split("/protectionContainers/")[1].split("/")[0]
            request = models.BackupRequestResource(
                properties=models.AzureWorkloadBackupRequest(backup_type="Differential")
            )
            client.backups.trigger(
                emu.vault, emu.resource_group, "Azure", container, salesdb.name, request
            )
            emu.advance(3)
            newest = emu.job_body(emu.job_ids()[0])["properties"]
            assert newest["entityFriendlyName"] == "salesdb [sql-vm-01]"
            assert newest["operation"] == "Backup (Differential)"
        finally:
            client.close()
