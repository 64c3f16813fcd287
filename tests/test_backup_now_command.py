"""``azjobs backup-now`` against a scripted service (``responses``): finding the item, the body
each kind of item takes, the retention, the refusals before anything is sent, the one POST that
is never sent twice, and the job printed or watched."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from azbackupjobs.cli import app as cli
from azbackupjobs.commands.backup_now import BackupNowOptions, BackupRefused, run_backup_now
from azbackupjobs.model.errors import ApiError, ExitCode, UsageError, WatchTimeout
from azbackupjobs.sources.protected_items import AmbiguousItem, ItemNotFound, matches_entity
from azbackupjobs.view.output import Environment
from tests.harness.clock import FakeTime

SUB = "00000000-0000-0000-0000-0000000000aa"
OTHER_SUB = "00000000-0000-0000-0000-0000000000bb"
RG = "rg1"
VAULT = "vault1"
ENDPOINT = "https://management.azure.com"
API = "api-version=2026-10-01"
VAULT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
)
BASE = f"{ENDPOINT}{VAULT_ID}"
ITEMS_URL = f"{BASE}/backupProtectedItems?{API}"
GUID = "73e47398-73a0-45fb-b56b-9997e6d84229"
OTHER_JOB = "0e1e0281-1662-4cf9-bcfc-8b97eb11719d"
OP = "df8f706d-a76d-4d6e-8050-cc91f0641f03"
TOKEN = "test-token-value"
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def item(kind: str, name: str, *, host: str = "sqlvm", vault_id: str = VAULT_ID) -> dict[str, Any]:
    """A protected item as the service lists it."""
    if kind == "vm":
        container, item_name = (
            f"IaasVMContainer;iaasvmcontainerv2;{RG};{name}",
            (f"VM;iaasvmcontainerv2;{RG};{name}"),
        )
        props = {"workloadType": "VM", "backupManagementType": "AzureIaasVM"}
        props["protectedItemType"] = "Microsoft.Compute/virtualMachines"
    elif kind == "fileshare":
        container, item_name = f"StorageContainer;Storage;{RG};sa1", f"AzureFileShare;{name}"
        props = {"workloadType": "AzureFileShare", "backupManagementType": "AzureStorage"}
    elif kind == "sql":
        container, item_name = (
            f"VMAppContainer;Compute;{RG};{host}",
            (f"SQLDataBase;mssqlserver;{name.lower()}"),
        )
        props = {"workloadType": "SQLDataBase", "backupManagementType": "AzureWorkload"}
    elif kind == "hana":
        container, item_name = (
            f"VMAppContainer;Compute;{RG};{host}",
            (f"SAPHanaDatabase;hxe;{name.lower()}"),
        )
        props = {"workloadType": "SAPHanaDatabase", "backupManagementType": "AzureWorkload"}
    else:
        container, item_name = "BackupServer;mabs1", f"MabFileFolderProtectedItem;{name}"
        props = {"workloadType": "FileFolder", "backupManagementType": "MAB"}
    return {
        "id": f"{vault_id}/backupFabrics/Azure/protectionContainers/{container}"
        f"/protectedItems/{item_name}",
        "name": item_name,
        "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/"
        "protectedItems",
        "properties": {"friendlyName": name, **props},
    }


def trigger_url(listed: dict[str, Any]) -> str:
    """The POST URL of an item: the names of its id, each encoded as one path segment."""
    parts = listed["id"].split("/")
    fabric, container, name = parts[10], parts[12], parts[14]
    enc = {";": "%3B"}

    def e(text: str) -> str:
        return "".join(enc.get(c, c) for c in text)

    return (
        f"{BASE}/backupFabrics/{e(fabric)}/protectionContainers/{e(container)}"
        f"/protectedItems/{e(name)}/backup?{API}"
    )


def status_url(listed: dict[str, Any]) -> str:
    return f"{ENDPOINT}{listed['id']}/operationsStatus/{OP}?api-version=2016-12-01"


JOB_URL = f"{BASE}/backupJobs/{GUID}?{API}"


def job(status: str = "InProgress", entity: str = "vm1", name: str = GUID) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{VAULT_ID}/backupJobs/{name}",
        "name": name,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": {
            "jobType": "AzureIaaSVMJob",
            "entityFriendlyName": entity,
            "backupManagementType": "AzureIaasVM",
            "operation": "Backup",
            "status": status,
            "startTime": "2026-05-01T12:00:03Z",
            "duration": "PT1M",
            "extendedInfo": {"tasksList": [], "propertyBag": {}},
        },
    }
    if status != "InProgress":
        body["properties"]["endTime"] = "2026-05-01T12:30:00Z"
    return body


def env_of(tmp_path: Any) -> Environment:
    return Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdout_isatty=False,
        stderr_isatty=False,
        stdin_isatty=False,
        env={
            "AZURE_SUBSCRIPTION_ID": SUB,
            "AZJOBS_RESOURCE_GROUP": RG,
            "AZJOBS_VAULT": VAULT,
            "AZJOBS_VAULT_TYPE": "recovery-services",
            "AZJOBS_ACCESS_TOKEN": TOKEN,
            "AZURE_CONFIG_DIR": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path),
            "XDG_CACHE_HOME": str(tmp_path),
        },
    )


def backup_now(tmp_path: Any, item_text: str, **kwargs: Any) -> tuple[int, str, str, FakeTime]:
    env = env_of(tmp_path)
    fake = FakeTime()
    kwargs.setdefault("output", "json")
    code = run_backup_now(
        BackupNowOptions(item=item_text, **kwargs),
        env,
        sleep=fake.sleep,
        clock=fake.clock,
        wall=lambda: NOW,
    )
    assert isinstance(env.stdout, io.StringIO) and isinstance(env.stderr, io.StringIO)
    return code, env.stdout.getvalue(), env.stderr.getvalue(), fake


def ordered() -> responses.RequestsMock:
    return responses.RequestsMock(registry=OrderedRegistry, assert_all_requests_are_fired=True)


def accepted(listed: dict[str, Any], retry_after: str = "60") -> dict[str, str]:
    return {
        "Azure-AsyncOperation": status_url(listed),
        "Location": status_url(listed).replace("operationsStatus", "operationResults"),
        "Retry-After": retry_after,
    }


def succeeded(job_id: str = GUID) -> dict[str, Any]:
    return {
        "id": OP,
        "name": OP,
        "status": "Succeeded",
        "startTime": "2026-05-01T12:00:00Z",
        "endTime": "2026-05-01T12:00:00Z",
        "properties": {"objectType": "OperationStatusJobExtendedInfo", "jobId": job_id},
    }


IN_PROGRESS = {"id": OP, "name": OP, "status": "InProgress", "endTime": "0001-01-01T00:00:00"}


def expect_trigger(
    rsps: responses.RequestsMock, listed: dict[str, Any], body: dict[str, Any]
) -> None:
    rsps.add(
        responses.POST,
        trigger_url(listed),
        status=202,
        headers=accepted(listed),
        match=[matchers.json_params_matcher(body, strict_match=True)],
    )


def vm_body(expiry: str = "2026-05-31T12:00:00Z") -> dict[str, Any]:
    return {
        "properties": {"objectType": "IaasVMBackupRequest", "recoveryPointExpiryTimeInUTC": expiry}
    }


# ----- the whole flow ---------------------------------------------------------------------------
def test_a_vm_by_name_any_casing_through_pages_prints_the_job(tmp_path: Any) -> None:
    vm1, other = item("vm", "vm1"), item("vm", "web-01")
    next_link = f"{BASE}/backupProtectedItems?{API}&$skiptoken=abc"
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [other], "nextLink": next_link})
        rsps.add(responses.GET, next_link, json={"value": [vm1]})
        expect_trigger(rsps, vm1, vm_body())
        rsps.add(responses.GET, status_url(vm1), json=IN_PROGRESS)
        rsps.add(responses.GET, status_url(vm1), json=succeeded())
        rsps.add(responses.GET, JOB_URL, json=job())
        code, out, err, fake = backup_now(tmp_path, "VM1")
        posts = [c for c in rsps.calls if c.request.method == "POST"]
    assert code == ExitCode.OK
    assert json.loads(out) == job()  # as `get` prints it
    assert len(posts) == 1
    assert posts[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert fake.sleeps == [60, 60]  # the 202's Retry-After stays in force
    assert "backup of vm1 requested" in err


def test_query_name_tsv_prints_the_job_guid(tmp_path: Any) -> None:
    vm1 = item("vm", "vm1")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        expect_trigger(rsps, vm1, vm_body())
        rsps.add(responses.GET, status_url(vm1), json=succeeded())
        rsps.add(responses.GET, JOB_URL, json=job())
        code, out, _, _ = backup_now(tmp_path, "vm1", output="tsv", query="name")
    assert (code, out) == (ExitCode.OK, f"{GUID}\n")


def test_a_job_not_visible_yet_is_waited_for(tmp_path: Any) -> None:
    vm1 = item("vm", "vm1")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        expect_trigger(rsps, vm1, vm_body())
        rsps.add(responses.GET, status_url(vm1), json=succeeded())
        rsps.add(responses.GET, JOB_URL, status=404, json={"error": {"code": "NotFound"}})
        rsps.add(responses.GET, JOB_URL, json=job())
        code, _, _, fake = backup_now(tmp_path, "vm1")
    assert code == ExitCode.OK and fake.sleeps == [60, 5.0]


def test_item_type_narrows_the_list_on_the_server(tmp_path: Any) -> None:
    db = item("sql", "salesdb")
    flt = "backupManagementType eq 'AzureWorkload' and itemType eq 'SQLDataBase'"
    with ordered() as rsps:
        rsps.add(
            responses.GET,
            f"{BASE}/backupProtectedItems",
            match=[matchers.query_param_matcher({"api-version": "2026-10-01", "$filter": flt})],
            json={"value": [db]},
        )
        body = {
            "properties": {
                "objectType": "AzureWorkloadBackupRequest",
                "backupType": "Full",
                "recoveryPointExpiryTimeInUTC": "2026-05-31T12:00:00Z",
            }
        }
        expect_trigger(rsps, db, body)
        rsps.add(responses.GET, status_url(db), json=succeeded())
        rsps.add(responses.GET, JOB_URL, json=job(entity="salesdb [sqlvm]"))
        code, _, _, _ = backup_now(tmp_path, "salesdb", item_type="SQL")
    assert code == ExitCode.OK


def test_a_full_id_names_the_vault_and_the_path(tmp_path: Any) -> None:
    other_vault = VAULT_ID.replace(SUB, OTHER_SUB).replace("vault1", "vault2")
    share = item("fileshare", "finance", vault_id=other_vault)
    base = f"{ENDPOINT}{other_vault}"
    with ordered() as rsps:
        rsps.add(
            responses.GET,
            f"{base}/backupProtectedItems?{API}",
            json={"value": [item("fileshare", "finance-2", vault_id=other_vault), share]},
        )
        rsps.add(
            responses.POST,
            trigger_url(share).replace(BASE, base),
            status=202,
            headers=accepted(share),
            match=[
                matchers.json_params_matcher(
                    {
                        "properties": {
                            "objectType": "AzureFileShareBackupRequest",
                            "recoveryPointExpiryTimeInUTC": "2026-05-08T12:00:00Z",
                        }
                    },
                    strict_match=True,
                )
            ],
        )
        rsps.add(responses.GET, status_url(share), json=succeeded())
        rsps.add(
            responses.GET,
            f"{base}/backupJobs/{GUID}?{API}",
            json=job(entity="finance"),
        )
        # Any casing: the id as a user may have copied it.
        text = (
            share["id"]
            .replace("/subscriptions/", "/Subscriptions/")
            .replace("protectedItems", "protecteditems")
        )
        code, _, _, _ = backup_now(tmp_path, text, retain_days=7)
    assert code == ExitCode.OK


# ----- finding the item ---------------------------------------------------------------------------
def test_an_ambiguous_name_lists_the_candidates(tmp_path: Any) -> None:
    a, b = item("sql", "msdb", host="sqlvm1"), item("sql", "msdb", host="sqlvm2")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [a, item("vm", "vm1"), b]})
        with pytest.raises(AmbiguousItem) as caught:
            backup_now(tmp_path, "MSDB")
    assert caught.value.exit_code == ExitCode.USAGE
    assert a["id"] in caught.value.message and b["id"] in caught.value.message
    assert "SQLDataBase" in caught.value.message
    assert caught.value.hint and "--item-type" in caught.value.hint


def test_no_such_item_is_exit_3(tmp_path: Any) -> None:
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [item("vm", "vm10")]})
        with pytest.raises(ItemNotFound) as caught:
            backup_now(tmp_path, "vm1")  # whole names only: vm10 is not vm1
    assert caught.value.exit_code == ExitCode.NOT_FOUND


def test_an_unknown_full_id_is_exit_3(tmp_path: Any) -> None:
    listed = item("vm", "vm1")
    missing = listed["id"].replace("vm1", "vm9")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [listed]})
        with pytest.raises(ItemNotFound):
            backup_now(tmp_path, missing)


def test_an_id_of_something_else_is_refused_before_any_request(tmp_path: Any) -> None:
    with responses.RequestsMock() as rsps:
        with pytest.raises(UsageError, match="not a protected item's id"):
            backup_now(tmp_path, f"{VAULT_ID}/backupJobs/{GUID}")
        with pytest.raises(UsageError, match="item name"):
            backup_now(tmp_path, item("vm", "vm1")["id"].rsplit("/", 1)[0] + "/..")
        assert not rsps.calls


def test_a_listed_item_of_another_vault_is_not_triggered(tmp_path: Any) -> None:
    stray = item("vm", "vm1", vault_id=VAULT_ID.replace("vault1", "vault2"))
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [stray]})
        with pytest.raises(ApiError, match="another vault"):
            backup_now(tmp_path, "vm1")


def test_entity_names_of_workload_jobs() -> None:
    assert matches_entity("msdb [sqlvm]", "MSDB")
    assert matches_entity("MSSQLSERVER/msdb [sqlvm]", "msdb")
    assert matches_entity("vm1", "VM1")
    assert not matches_entity("vm10", "vm1")


# ----- the body each kind takes -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "extra", "body"),
    [
        (
            "sql",
            {"backup_type": "log"},
            {"objectType": "AzureWorkloadBackupRequest", "backupType": "Log"},
        ),
        (
            "sql",
            {"backup_type": "copyonlyfull", "retain_until": "2026-06-15"},
            {
                "objectType": "AzureWorkloadBackupRequest",
                "backupType": "CopyOnlyFull",
                "recoveryPointExpiryTimeInUTC": "2026-06-16T00:00:00Z",
            },
        ),
        (
            "hana",
            {"backup_type": "Incremental"},
            {"objectType": "AzureWorkloadBackupRequest", "backupType": "Incremental"},
        ),
        (
            "hana",
            {"retain_until": "2026-07-01T08:30:00+02:00"},
            {
                "objectType": "AzureWorkloadBackupRequest",
                "backupType": "Full",
                "recoveryPointExpiryTimeInUTC": "2026-07-01T06:30:00Z",
            },
        ),
        (
            "vm",
            {"retain_days": 1},
            {
                "objectType": "IaasVMBackupRequest",
                "recoveryPointExpiryTimeInUTC": "2026-05-02T12:00:00Z",
            },
        ),
    ],
)
def test_each_kind_sends_its_body(
    tmp_path: Any, kind: str, extra: dict[str, Any], body: dict[str, Any]
) -> None:
    listed = item(kind, "db1")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [listed]})
        expect_trigger(rsps, listed, {"properties": body})
        rsps.add(responses.GET, status_url(listed), json=succeeded())
        rsps.add(responses.GET, JOB_URL, json=job(entity="db1"))
        code, _, _, _ = backup_now(tmp_path, "db1", **extra)
    assert code == ExitCode.OK


@pytest.mark.parametrize(
    ("kind", "extra", "message"),
    [
        ("sql", {"backup_type": "Incremental"}, "takes Full, Differential, Log, CopyOnlyFull"),
        ("vm", {"backup_type": "Full"}, "applies to SQL and SAP HANA"),
        ("fileshare", {"backup_type": "Log"}, "applies to SQL and SAP HANA"),
        ("sql", {"backup_type": "Differential", "retain_days": 5}, "policy says"),
        ("mab", {}, "azjobs backs up VMs"),
    ],
)
def test_what_the_item_does_not_take_is_refused_before_the_post(
    tmp_path: Any, kind: str, extra: dict[str, Any], message: str
) -> None:
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [item(kind, "x1")]})
        with pytest.raises(UsageError, match=message) as caught:
            backup_now(tmp_path, "x1", **extra)
        assert all(c.request.method == "GET" for c in rsps.calls)
    assert "nothing sent" in caught.value.message


# ----- retention and flags: refused before any request --------------------------------------------
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"retain_until": "2026-04-30"}, "not in the future"),
        ({"retain_until": "2026-05-01T11:59:00Z"}, "not in the future"),
        ({"retain_until": "2126-05-01"}, "at most 99 years"),
        ({"retain_until": "next tuesday"}, "cannot read"),
        ({"retain_days": 0}, "between 1 and"),
        ({"retain_days": 99 * 365 + 1}, "between 1 and"),
        ({"retain_days": 3, "retain_until": "2026-06-01"}, "give one of them"),
        ({"item_type": "disk"}, "--item-type"),
        ({"backup_type": "Weekly"}, "--backup-type"),
        ({"output": "yaml"}, "yaml"),
    ],
)
def test_bad_flags_send_nothing(tmp_path: Any, extra: dict[str, Any], message: str) -> None:
    with responses.RequestsMock() as rsps:
        with pytest.raises(UsageError, match=message):
            backup_now(tmp_path, "vm1", **extra)
        assert not rsps.calls


# ----- the service refuses; the answer is lost ------------------------------------------------
def test_a_refused_backup_is_exit_1_in_one_line(tmp_path: Any) -> None:
    vm1 = item("vm", "web-01")
    refusal = {
        "error": {
            "code": "UserErrorBackupOperationInProgress",
            "message": "Backup failed as another operation is currently in progress on this "
            "item. Please wait until the previous operation is completed, and then retry.",
        }
    }
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        rsps.add(responses.POST, trigger_url(vm1), status=400, json=refusal)
        with pytest.raises(BackupRefused) as caught:
            backup_now(tmp_path, "web-01")
    text = caught.value.message
    assert caught.value.exit_code == ExitCode.ERROR
    assert text.startswith("the service refused to back up web-01: ")
    assert "UserErrorBackupOperationInProgress" in text and "and then retry" in text
    assert "\n" not in text


@pytest.mark.parametrize("failure", [requests.ConnectionError("reset"), requests.ReadTimeout()])
def test_a_lost_answer_is_not_sent_again_the_running_job_is_found(
    tmp_path: Any, failure: Exception
) -> None:
    vm1 = item("vm", "vm1")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        rsps.add(responses.POST, trigger_url(vm1), body=failure)
        rsps.add(
            responses.GET,
            re.compile(re.escape(f"{BASE}/backupJobs?") + ".*"),
            json={"value": [job(entity="vm10", name=OTHER_JOB), job(entity="vm1")]},
        )
        rsps.add(responses.GET, JOB_URL, json=job())
        code, out, err, _ = backup_now(tmp_path, "vm1")
        posts = [c for c in rsps.calls if c.request.method == "POST"]
        listed = rsps.calls[2].request.url
    assert code == ExitCode.OK and json.loads(out)["name"] == GUID
    assert len(posts) == 1
    assert listed is not None and "InProgress" in listed and "Backup" in listed
    assert "not sent again" in err and f"found the running backup job {GUID}" in err


def test_a_lost_answer_without_a_running_job_is_exit_1_with_a_hint(tmp_path: Any) -> None:
    vm1 = item("vm", "vm1")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        rsps.add(responses.POST, trigger_url(vm1), body=requests.ConnectionError("reset"))
        rsps.add(
            responses.GET, re.compile(re.escape(f"{BASE}/backupJobs?") + ".*"), json={"value": []}
        )
        with pytest.raises(ApiError) as caught:
            backup_now(tmp_path, "vm1")
        posts = [c for c in rsps.calls if c.request.method == "POST"]
    assert len(posts) == 1
    assert caught.value.exit_code == ExitCode.ERROR
    assert caught.value.hint and "before trying again" in caught.value.hint


@pytest.mark.parametrize("status", [429, 503, 500])
def test_the_post_is_never_retried(tmp_path: Any, status: int) -> None:
    vm1 = item("vm", "vm1")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        rsps.add(
            responses.POST,
            trigger_url(vm1),
            status=status,
            headers={"Retry-After": "1"},
            json={"error": {"code": "Busy", "message": "try later"}},
        )
        with pytest.raises(ApiError):
            backup_now(tmp_path, "vm1")
        assert [c.request.method for c in rsps.calls] == ["GET", "POST"]


def test_a_failed_operation_is_exit_1(tmp_path: Any) -> None:
    vm1 = item("vm", "vm1")
    failed = {
        "id": OP,
        "name": OP,
        "status": "Failed",
        "error": {"code": "UserErrorVmNotFound", "message": "The VM is gone."},
    }
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        expect_trigger(rsps, vm1, vm_body())
        rsps.add(responses.GET, status_url(vm1), json=failed)
        with pytest.raises(ApiError, match="UserErrorVmNotFound: The VM is gone"):
            backup_now(tmp_path, "vm1")


def test_timeout_while_the_backup_starts_is_exit_5(tmp_path: Any) -> None:
    vm1 = item("vm", "vm1")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        expect_trigger(rsps, vm1, vm_body())
        with pytest.raises(WatchTimeout):
            backup_now(tmp_path, "vm1", timeout=30.0)  # Retry-After 60 is past it


# ----- --watch --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("end", "strict", "code"),
    [
        ("Completed", False, ExitCode.OK),
        ("Failed", False, ExitCode.JOB_FAILED),
        ("Cancelled", False, ExitCode.JOB_CANCELLED),
        ("CompletedWithWarnings", True, ExitCode.JOB_WARNINGS),
    ],
)
def test_watch_ends_with_watchs_exit_codes(
    tmp_path: Any, end: str, strict: bool, code: ExitCode
) -> None:
    vm1 = item("vm", "vm1")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [vm1]})
        expect_trigger(rsps, vm1, vm_body())
        rsps.add(responses.GET, status_url(vm1), json=succeeded())
        rsps.add(responses.GET, JOB_URL, json=job())
        rsps.add(responses.GET, JOB_URL, json=job(end))
        got, out, _, _ = backup_now(
            tmp_path, "vm1", watch=True, interval=1.0, strict=strict, output="ndjson"
        )
    assert got == code
    lines = [json.loads(line) for line in out.splitlines()]
    assert [x["properties"]["status"] for x in lines] == ["InProgress", end]


# ----- the command line ---------------------------------------------------------------------------
def _main(
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    for name, value in env_of(tmp_path).env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AZJOBS_OUTPUT", raising=False)
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    captured = capsys.readouterr()
    return int(caught.value.code or 0), captured.out, captured.err


def test_cli_exit_codes_and_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = item("vm", "dup"), item("sql", "dup")
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [a, b]})
        code, out, err = _main(["backup-now", "dup"], monkeypatch, tmp_path, capsys)
    assert code == ExitCode.USAGE and out == ""
    assert err.count("\n") == 1 and a["id"] in err and b["id"] in err
    with ordered() as rsps:
        rsps.add(responses.GET, ITEMS_URL, json={"value": [a]})
        code, out, err = _main(["backup-now", "nope"], monkeypatch, tmp_path, capsys)
    assert code == ExitCode.NOT_FOUND and err.count("\n") == 1
    with responses.RequestsMock():
        code, _, err = _main(
            ["backup-now", "vm1", "--retain-days", "x"], monkeypatch, tmp_path, capsys
        )
    assert code == ExitCode.USAGE


def test_cli_help_has_examples(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _main(["backup-now", "--help"], monkeypatch, tmp_path, capsys)
    assert code == 0
    assert "--retain-days" in out and "--watch" in out and "azjobs backup-now vm1" in out
