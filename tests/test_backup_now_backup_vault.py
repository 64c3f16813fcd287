"""``azjobs backup-now`` of a Backup vault's instance against a scripted service (strict
``responses``): finding the instance by each of its names, the rule and retention tag read from
its policy and checked before anything is sent, the one POST, the ``Inprogress`` operation
whose job is a full ARM id, and the refusals."""

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

from azbackupjobs.commands.backup_now import BackupNowOptions, BackupRefused, run_backup_now
from azbackupjobs.model.errors import ApiError, ExitCode, UsageError
from azbackupjobs.sources.backup_instances import choose_rule
from azbackupjobs.sources.protected_items import AmbiguousItem, ItemNotFound
from azbackupjobs.view.output import Environment
from tests.harness import fake_environment
from tests.harness.clock import FakeTime

SUB = "00000000-0000-0000-0000-0000000000aa"
RG = "rg1"
VAULT = "bvault1"
ENDPOINT = "https://management.azure.com"
API = "api-version=2026-06-01"
VAULT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DataProtection"
    f"/backupVaults/{VAULT}"
)
BASE = f"{ENDPOINT}{VAULT_ID}"
INSTANCES_URL = f"{BASE}/backupInstances?{API}"
GUID = "3d86d63c-2fa6-4016-b94b-f166bb9cad65"
OP = (
    "MGQ0NDgwMzEtZTZmYi00YzVjLWIzY2QtMDFlMGE2NjVkY2E1OzFjMThkZjE0"
    "LTRkZjYtNDNhYy1iMjhhLTJmN2RlNzRlOTk5Nw=="
)
STATUS_URL = f"{BASE}/operationStatus/{OP}?{API}&t=638440277931951614&c=x&s=y&h=z"
RESULT_URL = (
    f"{ENDPOINT}/subscriptions/{SUB}/providers/Microsoft.DataProtection/locations/westeurope"
    f"/operationResults/{OP}?{API}"
)
JOB_URL = f"{BASE}/backupJobs/{GUID}?{API}"
TOKEN = "test-token-value"
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def instance(
    friendly: str, datasource: str | None = None, *, policy: str = "diskpolicy"
) -> dict[str, Any]:
    """A backup instance as the service lists it."""
    name = f"{datasource or friendly}-{datasource or friendly}-15880e47-fca5-4e70-9830-25ef4f162b25"
    resource = datasource or friendly
    return {
        "id": f"{VAULT_ID}/backupInstances/{name}",
        "name": name,
        "type": "Microsoft.DataProtection/backupVaults/backupInstances",
        "properties": {
            "friendlyName": friendly,
            "dataSourceInfo": {
                "datasourceType": "Microsoft.Compute/disks",
                "objectType": "Datasource",
                "resourceID": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers"
                f"/Microsoft.Compute/disks/{resource}",
                "resourceName": resource,
                "resourceType": "Microsoft.Compute/disks",
            },
            "policyInfo": {"policyId": f"{VAULT_ID}/backupPolicies/{policy}"},
            "protectionStatus": {"status": "ProtectionConfigured"},
            "objectType": "BackupInstance",
        },
    }


def rule(name: str, *tags: tuple[str, bool]) -> dict[str, Any]:
    return {
        "name": name,
        "objectType": "AzureBackupRule",
        "backupParameters": {"backupType": "Incremental", "objectType": "AzureBackupParams"},
        "trigger": {
            "objectType": "ScheduleBasedTriggerContext",
            "schedule": {"repeatingTimeIntervals": ["R/2024-01-07T02:00:00+00:00/PT4H"]},
            "taggingCriteria": [
                {"isDefault": default, "taggingPriority": 99, "tagInfo": {"tagName": tag}}
                for tag, default in tags
            ],
        },
    }


def policy(*rules: dict[str, Any], name: str = "diskpolicy") -> dict[str, Any]:
    retention = {"name": "Default", "objectType": "AzureRetentionRule", "isDefault": True}
    return {
        "id": f"{VAULT_ID}/backupPolicies/{name}",
        "name": name,
        "type": "Microsoft.DataProtection/backupVaults/backupPolicies",
        "properties": {
            "policyRules": [*rules, retention],
            "datasourceTypes": ["Microsoft.Compute/disks"],
            "objectType": "BackupPolicy",
        },
    }


def policy_url(name: str = "diskpolicy") -> str:
    return f"{BASE}/backupPolicies/{name}?{API}"


def trigger_url(listed: dict[str, Any]) -> str:
    return f"{BASE}/backupInstances/{listed['name']}/backup?{API}"


def job(status: str = "InProgress") -> dict[str, Any]:
    return {
        "id": f"{VAULT_ID}/backupJobs/{GUID}",
        "name": GUID,
        "type": "Microsoft.DataProtection/backupVaults/backupJobs",
        "properties": {
            "backupInstanceFriendlyName": "disk1",
            "dataSourceName": "disk1",
            "dataSourceType": "Microsoft.Compute/disks",
            "operationCategory": "Backup",
            "operation": "Backup",
            "status": status,
            "isUserTriggered": True,
            "startTime": "2026-05-01T12:00:03Z",
            "duration": "PT1M",
            "supportedActions": [""],
            "extendedInfo": {"subTasks": []},
        },
    }


IN_PROGRESS = {
    "id": f"{VAULT_ID}/operationStatus/{OP}",
    "name": OP,
    "status": "Inprogress",
    "startTime": "2026-05-01T12:00:00Z",
    "endTime": "0001-01-01T00:00:00Z",
}
SUCCEEDED = {
    **IN_PROGRESS,
    "status": "Succeeded",
    "endTime": "2026-05-01T12:00:05Z",
    "properties": {
        "jobId": f"{VAULT_ID}/backupJobs/{GUID}",
        "objectType": "OperationJobExtendedInfo",
    },
}


def env_of(tmp_path: Any, **changes: str | None) -> Environment:
    """The scripted vault's environment; ``changes`` set (or, None, drop) variables."""
    variables = {
        "AZURE_SUBSCRIPTION_ID": SUB,
        "AZJOBS_RESOURCE_GROUP": RG,
        "AZJOBS_VAULT": VAULT,
        "AZJOBS_VAULT_TYPE": "backup",
        "AZJOBS_ACCESS_TOKEN": TOKEN,
        "AZURE_CONFIG_DIR": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path),
    }
    for name, value in changes.items():
        if value is None:
            variables.pop(name)
        else:
            variables[name] = value
    return fake_environment(variables)


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


def body_of(rule_name: str, tag: str) -> dict[str, Any]:
    return {
        "backupRuleOptions": {"ruleName": rule_name, "triggerOption": {"retentionTagOverride": tag}}
    }


def expect_trigger(
    rsps: responses.RequestsMock, listed: dict[str, Any], body: dict[str, Any]
) -> None:
    rsps.add(
        responses.POST,
        trigger_url(listed),
        status=202,
        headers={"Azure-AsyncOperation": STATUS_URL, "Location": RESULT_URL},
        match=[matchers.json_params_matcher(body, strict_match=True)],
    )


WEEKLY = rule("BackupWeekly", ("Default", True), ("Weekly", False))


# ----- the whole flow ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "named",
    ["DISK1", "disk-data-1", "disk-data-1-disk-data-1-15880e47-fca5-4e70-9830-25ef4f162b25"],
)
def test_an_instance_by_any_of_its_names_through_pages_prints_the_job(
    tmp_path: Any, named: str
) -> None:
    """Friendly name, datasource name and instance name all find it; the rule is the policy's
    only backup rule, the tag its default; the operation reads ``Inprogress``, then names
    the job by its full id."""
    disk1, other = instance("disk1", "disk-data-1"), instance("disk2")
    next_link = f"{BASE}/backupInstances?{API}&$skipToken=abc"
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [other], "nextLink": next_link})
        rsps.add(responses.GET, next_link, json={"value": [disk1]})
        rsps.add(responses.GET, policy_url(), json=policy(WEEKLY))
        expect_trigger(rsps, disk1, body_of("BackupWeekly", "Default"))
        rsps.add(responses.GET, STATUS_URL, json=IN_PROGRESS)
        rsps.add(responses.GET, STATUS_URL, json=SUCCEEDED)
        rsps.add(responses.GET, JOB_URL, json=job())
        code, out, err, fake = backup_now(tmp_path, named)
        posts = [c for c in rsps.calls if c.request.method == "POST"]
    assert code == ExitCode.OK
    assert json.loads(out) == job()  # as `get` prints it
    assert len(posts) == 1
    assert posts[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert fake.sleeps == [10.0, 10.0]  # no Retry-After in the 202: the operation interval
    assert "backup of disk1 requested" in err


def test_rule_and_tag_given_any_casing_are_sent_as_the_policy_spells_them(tmp_path: Any) -> None:
    disk1 = instance("disk1")
    daily = rule("BackupDaily", ("Default", True), ("Daily", False))
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [disk1]})
        rsps.add(responses.GET, policy_url(), json=policy(daily, WEEKLY))
        expect_trigger(rsps, disk1, body_of("BackupWeekly", "Weekly"))
        rsps.add(responses.GET, STATUS_URL, json=SUCCEEDED)
        rsps.add(responses.GET, JOB_URL, json=job())
        code, out, _, _ = backup_now(
            tmp_path, "disk1", rule="backupweekly", retention_tag="WEEKLY", output="tsv",
            query="name",
        )  # fmt: skip
    assert (code, out) == (ExitCode.OK, f"{GUID}\n")


def test_a_full_id_names_the_vault_and_a_200_with_the_job_needs_no_operation(
    tmp_path: Any,
) -> None:
    disk1 = instance("disk1")
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [instance("disk2"), disk1]})
        rsps.add(responses.GET, policy_url(), json=policy(WEEKLY))
        rsps.add(
            responses.POST,
            trigger_url(disk1),
            status=200,
            json={
                "jobId": f"{VAULT_ID}/backupJobs/{GUID}",
                "objectType": "OperationJobExtendedInfo",
            },
        )
        rsps.add(responses.GET, JOB_URL, json=job())
        text = disk1["id"].replace("/backupVaults/", "/BackupVaults/").lower()
        # The id names the vault and says its kind: no lookup.
        env = env_of(tmp_path, AZJOBS_VAULT=None, AZJOBS_VAULT_TYPE=None)
        code = run_backup_now(BackupNowOptions(item=text, output="json"), env, wall=lambda: NOW)
    assert code == ExitCode.OK


# ----- refused before anything is sent ------------------------------------------------------------
def test_an_ambiguous_name_lists_the_candidates(tmp_path: Any) -> None:
    a, b = instance("shared"), instance("shared", "shared-2")
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [a, instance("disk1"), b]})
        with pytest.raises(AmbiguousItem) as caught:
            backup_now(tmp_path, "Shared")
    assert caught.value.exit_code == ExitCode.USAGE
    assert a["id"] in caught.value.message and b["id"] in caught.value.message
    assert "Microsoft.Compute/disks" in caught.value.message


def test_no_such_instance_is_exit_3(tmp_path: Any) -> None:
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [instance("disk10")]})
        with pytest.raises(ItemNotFound) as caught:
            backup_now(tmp_path, "disk1")
    assert caught.value.exit_code == ExitCode.NOT_FOUND
    assert "no backup instance named 'disk1'" in caught.value.message


def test_several_backup_rules_need_rule_and_nothing_is_sent(tmp_path: Any) -> None:
    disk1 = instance("disk1")
    daily = rule("BackupDaily", ("Default", True))
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [disk1]})
        rsps.add(responses.GET, policy_url(), json=policy(daily, WEEKLY))
        with pytest.raises(UsageError) as caught:
            backup_now(tmp_path, "disk1")
        assert all(c.request.method == "GET" for c in rsps.calls)
    assert "2 backup rules (BackupDaily, BackupWeekly)" in caught.value.message
    assert "--rule" in caught.value.message and "nothing sent" in caught.value.message


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"rule": "BackupHourly"}, "no such backup rule \\(its backup rules: BackupWeekly\\)"),
        ({"retention_tag": "Yearly"}, "tags with Default, Weekly; nothing sent"),
    ],
)
def test_a_rule_or_tag_the_policy_lacks_is_refused_before_the_post(
    tmp_path: Any, extra: dict[str, Any], message: str
) -> None:
    disk1 = instance("disk1")
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [disk1]})
        rsps.add(responses.GET, policy_url(), json=policy(WEEKLY))
        with pytest.raises(UsageError, match=message):
            backup_now(tmp_path, "disk1", **extra)


@pytest.mark.parametrize(
    "extra",
    [
        {"retain_days": 7},
        {"backup_type": "Full"},
        {"item_type": "vm"},
        {"retain_until": "2030-01-01"},
    ],
)
def test_recovery_services_flags_on_a_backup_vault_send_nothing(
    tmp_path: Any, extra: dict[str, Any]
) -> None:
    with responses.RequestsMock() as rsps:
        with pytest.raises(UsageError, match=r"is a Backup vault; .*nothing sent"):
            backup_now(tmp_path, "disk1", **extra)
        assert not rsps.calls


def test_backup_vault_flags_on_a_recovery_services_vault_send_nothing(tmp_path: Any) -> None:
    env = env_of(tmp_path, AZJOBS_VAULT_TYPE="recovery-services")
    with responses.RequestsMock() as rsps:
        with pytest.raises(UsageError, match=r"--rule and --retention-tag: .* Recovery Services"):
            run_backup_now(
                BackupNowOptions(item="vm1", rule="Daily", retention_tag="Weekly"),
                env,
                wall=lambda: NOW,
            )
        assert not rsps.calls


def test_choose_rule_takes_the_rules_default_tag() -> None:
    """A rule whose default tagging criterion is not called Default: its own default."""
    custom = rule("Hourly", ("Weekly", False), ("Everyday", True))
    assert choose_rule(policy(custom), None, None, "disk1").tag == "Everyday"
    untagged = rule("Hourly")
    assert choose_rule(policy(untagged), None, None, "disk1").tag == "Default"
    assert choose_rule(policy(untagged), None, "Any", "disk1").tag == "Any"


# ----- the service refuses; the answer is lost ------------------------------------------------
def test_a_refused_backup_is_exit_1_in_one_line_with_the_recommendation(tmp_path: Any) -> None:
    disk1 = instance("disk1")
    message = "Another backup of the datasource is in progress."
    refusal = {
        "error": {
            "additionalInfo": [
                {
                    "type": "UserFacingError",
                    "info": {
                        "message": message,
                        "recommendedAction": ["Wait for it to complete,\nthen retry."],
                        "code": "UserErrorBackupOperationInProgress",
                        "isRetryable": False,
                        "isUserError": True,
                    },
                }
            ],
            "code": "UserErrorBackupOperationInProgress",
            "message": message,
            "target": None,
            "details": None,
        }
    }
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [disk1]})
        rsps.add(responses.GET, policy_url(), json=policy(WEEKLY))
        rsps.add(responses.POST, trigger_url(disk1), status=400, json=refusal)
        with pytest.raises(BackupRefused) as caught:
            backup_now(tmp_path, "disk1")
    text = caught.value.message
    assert caught.value.exit_code == ExitCode.ERROR
    assert text.startswith("the service refused to back up disk1: ")
    assert "UserErrorBackupOperationInProgress" in text and message in text
    assert "recommended: Wait for it to complete, then retry." in text
    assert "\n" not in text


def test_a_lost_answer_is_not_sent_again_the_instances_running_job_is_found(
    tmp_path: Any,
) -> None:
    disk1, disk2 = instance("disk1"), instance("disk2")
    running = job()
    running["properties"]["backupInstanceId"] = disk1["id"]
    elsewhere = job()
    elsewhere["name"] = "0e1e0281-1662-4cf9-bcfc-8b97eb11719d"
    elsewhere["properties"]["backupInstanceId"] = disk2["id"]
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [disk1, disk2]})
        rsps.add(responses.GET, policy_url(), json=policy(WEEKLY))
        rsps.add(responses.POST, trigger_url(disk1), body=requests.ReadTimeout())
        rsps.add(responses.GET, f"{BASE}/backupJobs?{API}", json={"value": [elsewhere, running]})
        rsps.add(responses.GET, JOB_URL, json=job())
        code, out, err, _ = backup_now(tmp_path, "disk1")
        posts = [c for c in rsps.calls if c.request.method == "POST"]
    assert code == ExitCode.OK and json.loads(out)["name"] == GUID
    assert len(posts) == 1
    assert "not sent again" in err and f"found the running backup job {GUID}" in err


@pytest.mark.parametrize("status", [429, 503])
def test_the_post_is_never_retried(tmp_path: Any, status: int) -> None:
    disk1 = instance("disk1")
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [disk1]})
        rsps.add(responses.GET, policy_url(), json=policy(WEEKLY))
        rsps.add(
            responses.POST,
            trigger_url(disk1),
            status=status,
            headers={"Retry-After": "1"},
            json={"error": {"code": "Busy", "message": "try later"}},
        )
        with pytest.raises(ApiError):
            backup_now(tmp_path, "disk1")
        assert [c.request.method for c in rsps.calls] == ["GET", "GET", "POST"]


def test_a_policy_of_another_vault_or_none_is_an_unexpected_response(tmp_path: Any) -> None:
    stray = instance("disk1")
    stray["properties"]["policyInfo"]["policyId"] = "/subscriptions/x/policies/p"
    with ordered() as rsps:
        rsps.add(responses.GET, INSTANCES_URL, json={"value": [stray]})
        with pytest.raises(ApiError, match=re.escape("names no backup policy")):
            backup_now(tmp_path, "disk1")
