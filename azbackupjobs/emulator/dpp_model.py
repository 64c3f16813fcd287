"""Backup vault resources: datasource kinds, backup instances, policies and their jobs.

Everything here is plain data (dicts that go straight into the state file): a backup instance
knows its datasource and policy, a policy its backup rules and retention tags, and a job copies
what it shows of both when it is created, so that rendering it needs no lookup. Jobs are
:class:`~.scenarios.JobScenario` with one task ("Trigger Backup" or "Trigger Restore"), so they
progress in emulated time exactly like Recovery Services jobs do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Final

from .factory import new_guid
from .scenarios import COMPLETED, JobScenario, TaskPlan
from .state import BACKUP_VAULT, VaultState

JOB_TYPE: Final = "AzureBackupJob"
PROVIDER: Final = "Microsoft.DataProtection"
# How statuses are spelt: as the service sends them, or as the spec examples show them.
SERVICE_WORDS: Final = "service"
SPEC_WORDS: Final = "spec"


@dataclass(frozen=True)
class Datasource:
    """One kind of datasource a Backup vault protects, with its recorded particulars."""

    key: str
    datasource_type: str
    # The ARM type of the resource the datasource id points at (a blob container's account).
    resource_type: str
    policy: str
    rule: str
    tags: tuple[str, ...]
    data_store: str
    destination_store: str | None
    progress_enabled: bool
    size_bytes: int
    # A datasource that lives inside another: the set's name (AKS cluster, PostgreSQL server).
    nested: bool = False
    friendly_separator: str = "/"


DATASOURCES: Final = {
    d.key: d
    for d in (
        Datasource("disk", "Microsoft.Compute/disks", "Microsoft.Compute/disks", "diskpolicy",
                   "BackupHourly", ("Default",), "OperationalStore", "OperationalTierStore",
                   False, 4294967296),
        Datasource("blob", "Microsoft.Storage/storageAccounts/blobServices",
                   "Microsoft.Storage/storageAccounts", "blobpolicy", "BackupDaily",
                   ("Default",), "VaultStore", "VaultStore", False, 104857600),
        Datasource("aks", "Microsoft.ContainerService/managedClusters",
                   "Microsoft.ContainerService/managedClusters", "akspolicy", "BackupHourly",
                   ("Default",), "OperationalStore", None, False, 1, nested=True),
        Datasource("pgflex", "Microsoft.DBforPostgreSQL/flexibleServers",
                   "Microsoft.DBforPostgreSQL/flexibleServers", "pgflexpolicy", "BackupWeekly",
                   ("Default", "Weekly"), "VaultStore", "VaultStore", True, 0),
        Datasource("pgsingle", "Microsoft.DBforPostgreSQL/servers/databases",
                   "Microsoft.DBforPostgreSQL/servers/databases", "osspolicy", "BackupWeekly",
                   ("Default", "Weekly", "Yearly"), "VaultStore", None, True, 31457280,
                   nested=True),
        Datasource("mysql", "Microsoft.DBforMySQL/flexibleServers",
                   "Microsoft.DBforMySQL/flexibleServers", "mysqlpolicy", "BackupDaily",
                   ("Default",), "VaultStore", "VaultStore", True, 616490449),
        Datasource("adls", "Microsoft.Storage/storageAccounts/adlsBlobServices",
                   "Microsoft.Storage/storageAccounts", "adlspolicy", "BackupDaily",
                   ("Default", "Monthly"), "VaultStore", "VaultStore", False, 52428800,
                   nested=True, friendly_separator="\\"),
    )
}  # fmt: skip


def vault_id(subscription: str, resource_group: str, vault: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/{PROVIDER}/backupVaults/{vault}"
    )


def policy_body(
    subscription: str, resource_group: str, vault: str, ds: Datasource
) -> dict[str, Any]:
    """A BaseBackupPolicyResource with one backup rule (tagging its retention tags) and the
    retention rules those tags point at."""
    tagging = [
        {
            "tagInfo": {"tagName": tag, "id": f"{tag}_"},
            "taggingPriority": 99 if tag == "Default" else 20 + i,
            "isDefault": tag == "Default",
        }
        for i, tag in enumerate(ds.tags)
    ]
    retention = [
        {
            "name": tag,
            "objectType": "AzureRetentionRule",
            "isDefault": tag == "Default",
            "lifecycles": [
                {
                    "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": "P30D"},
                    "sourceDataStore": {
                        "dataStoreType": ds.data_store,
                        "objectType": "DataStoreInfoBase",
                    },
                    "targetDataStoreCopySettings": [],
                }
            ],
        }
        for tag in ds.tags
    ]
    return {
        "name": ds.policy,
        "id": f"{vault_id(subscription, resource_group, vault)}/backupPolicies/{ds.policy}",
        "type": f"{PROVIDER}/backupVaults/backupPolicies",
        "properties": {
            "policyRules": [
                {
                    "name": ds.rule,
                    "objectType": "AzureBackupRule",
                    "backupParameters": {
                        "backupType": "Incremental" if ds.key == "disk" else "Full",
                        "objectType": "AzureBackupParams",
                    },
                    "dataStore": {
                        "dataStoreType": ds.data_store,
                        "objectType": "DataStoreInfoBase",
                    },
                    "trigger": {
                        "objectType": "ScheduleBasedTriggerContext",
                        "schedule": {
                            "repeatingTimeIntervals": ["R/2024-01-07T02:00:00+00:00/P1W"],
                            "timeZone": "UTC",
                        },
                        "taggingCriteria": tagging,
                    },
                },
                *retention,
            ],
            "datasourceTypes": [ds.datasource_type],
            "objectType": "BackupPolicy",
        },
    }


def policy_tags(policy: dict[str, Any], rule_name: str) -> list[str] | None:
    """The retention tags a backup rule of the policy may use, or None without such a rule."""
    for rule in policy["properties"]["policyRules"]:
        if (
            rule.get("objectType") == "AzureBackupRule"
            and rule["name"].lower() == rule_name.lower()
        ):
            return [c["tagInfo"]["tagName"] for c in rule["trigger"]["taggingCriteria"]]
    return None


def backup_rules(policy: dict[str, Any]) -> list[str]:
    return [
        r["name"]
        for r in policy["properties"]["policyRules"]
        if r["objectType"] == "AzureBackupRule"
    ]


def instance_body(
    rng: random.Random,
    vs: VaultState,
    *,
    ds: Datasource,
    name: str,
    source_group: str,
    set_name: str | None = None,
    friendly_suffix: str | None = None,
) -> dict[str, Any]:
    """A BackupInstanceResource of the Backup vault ``vs`` for datasource ``name`` (inside
    ``set_name`` when nested)."""
    parent = set_name or name
    base = f"/subscriptions/{vs.subscription}/resourceGroups/{source_group}/providers"
    if ds.key == "pgsingle":
        resource_id = f"{base}/Microsoft.DBforPostgreSQL/servers/{parent}/databases/{name}"
    else:
        resource_id = f"{base}/{ds.resource_type}/{parent}"
    if ds.key == "aks":
        friendly = f"{parent}/{friendly_suffix or parent + '-backup'}"
    elif ds.nested:
        friendly = f"{parent}{ds.friendly_separator}{name}"
    else:
        friendly = name
    instance = f"{parent}-{name}-{new_guid(rng)}"
    info: dict[str, Any] = {
        "datasourceType": ds.datasource_type,
        "objectType": "Datasource",
        "resourceID": resource_id,
        "resourceLocation": vs.location,
        "resourceName": name,
        "resourceType": ds.resource_type,
        "resourceUri": resource_id,
    }
    props: dict[str, Any] = {
        "friendlyName": friendly,
        "dataSourceInfo": info,
    }
    if ds.nested:
        set_id = resource_id.rsplit("/databases/", 1)[0] if ds.key == "pgsingle" else resource_id
        props["dataSourceSetInfo"] = {**info, "resourceID": set_id, "resourceName": parent,
                                      "resourceUri": set_id}  # fmt: skip
    vault_path = vault_id(vs.subscription, vs.resource_group, vs.vault)
    props.update(
        policyInfo={
            "policyId": f"{vault_path}/backupPolicies/{ds.policy}",
            "policyVersion": "",
        },
        protectionStatus={"status": "ProtectionConfigured"},
        currentProtectionState="ProtectionConfigured",
        provisioningState="Succeeded",
        objectType="BackupInstance",
    )
    return {
        "name": instance,
        "id": f"{vault_path}/backupInstances/{instance}",
        "type": f"{PROVIDER}/backupVaults/backupInstances",
        "tags": None,
        "properties": props,
        # Not part of the resource: what jobs of this instance need (stripped when rendered).
        "emulator": {
            "datasource": ds.key,
            "sourceResourceGroup": source_group,
            "setName": set_name if ds.nested else None,
        },
    }


def protect(
    rng: random.Random,
    vs: VaultState,
    ds: Datasource,
    *,
    name: str,
    source_group: str,
    set_name: str | None = None,
) -> dict[str, Any]:
    """Add a backup instance of ``ds`` to the Backup vault ``vs`` and return it.

    The vault gets the datasource's policy too, as an instance cannot exist without it; a policy
    the vault already has is kept.
    """
    instance = instance_body(
        rng, vs, ds=ds, name=name, source_group=source_group, set_name=set_name
    )
    vs.items[instance["name"].lower()] = instance
    vs.policies.setdefault(
        ds.policy.lower(), policy_body(vs.subscription, vs.resource_group, vs.vault, ds)
    )
    return instance


def public_instance(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance as the service returns it."""
    return {k: v for k, v in instance.items() if k != "emulator"}


@dataclass(frozen=True)
class DppJobSpec:
    """How one Backup vault job goes; the defaults are a successful on-demand backup."""

    operation: str = "Backup"  # or "Restore"
    seconds: float = 216.0
    outcome: str = COMPLETED
    user_triggered: bool = True
    retention_tag: str | None = "Default"
    status_words: str = SERVICE_WORDS
    supported_actions: tuple[str, ...] = ("",)
    error_details: tuple[dict[str, Any], ...] = ()
    cross_region: bool = False
    restore_target: str | None = None
    transferred_bytes: float | None = None


def build_dpp_job(
    rng: random.Random,
    vs: VaultState,
    *,
    instance: dict[str, Any],
    start: float,
    spec: DppJobSpec,
    collection: str = BACKUP_VAULT,
    job_id: str | None = None,
) -> JobScenario:
    """A job of ``instance`` in the Backup vault ``vs`` starting at ``start``, as ``spec`` says."""
    ds = DATASOURCES[instance["emulator"]["datasource"]]
    info = instance["properties"]["dataSourceInfo"]
    restore = spec.operation == "Restore"
    task = "Trigger Restore" if restore else "Trigger Backup"
    activity = new_guid(rng)
    s = JobScenario(
        job_id=(job_id or new_guid(rng)).lower(),
        subscription=vs.subscription,
        resource_group=vs.resource_group,
        vault=vs.vault,
        job_type=JOB_TYPE,
        operation=spec.operation,
        entity=instance["properties"]["friendlyName"],
        start=start,
        activity_id=activity,
        tasks=[TaskPlan(task, spec.seconds)],
        outcome=spec.outcome,
        lead_seconds=0.2 + rng.random() * 0.2,
        tail_seconds=0.2 + rng.random() * 0.3,
        cancellable=False,
        collection=collection,
    )
    point_id = f"{rng.getrandbits(128):032x}"
    s.props = {
        "backupInstanceId": instance["id"],
        "backupInstanceName": instance["name"],
        "policyId": instance["properties"]["policyInfo"]["policyId"],
        "policyName": ds.policy,
        "dataSourceId": info["resourceID"],
        "dataSourceName": info["resourceName"],
        "dataSourceSetName": instance["emulator"]["setName"],
        "dataSourceType": ds.datasource_type,
        "dataSourceLocation": vs.location,
        "sourceResourceGroup": instance["emulator"]["sourceResourceGroup"],
        "operationCategory": "CrossRegionRestore" if spec.cross_region else spec.operation,
        "isUserTriggered": spec.user_triggered,
        "progressEnabled": ds.progress_enabled,
        "supportedActions": list(spec.supported_actions),
        "statusWords": spec.status_words,
        "retentionTag": None if restore else spec.retention_tag,
        "policyRuleName": None if restore else ds.rule,
        "sizeBytes": str(ds.size_bytes),
        "destinationDataStoreName": None if restore else ds.destination_store,
        "sourceDataStoreType": ds.data_store if restore and ds.key != "pgsingle" else None,
        "recoveryPointId": point_id,
        "sourceRecoveryPointTime": start - 14 * 3600 - rng.random() * 3600 if restore else None,
        "recoveryDestination": spec.restore_target,
        "transferredBytes": spec.transferred_bytes,
        "errorDetails": [dict(e) for e in spec.error_details],
    }
    return s


def user_facing_error(
    code: str,
    message: str,
    actions: list[str],
    *,
    details: list[dict[str, Any]] | None = None,
    inner: dict[str, Any] | None = None,
    user_error: bool = False,
) -> dict[str, Any]:
    """A UserFacingError as job errorDetails nest them (details recurse, innerError optional)."""
    return {
        "message": message,
        "recommendedAction": actions,
        "details": details,
        "code": code,
        "target": "",
        "innerError": inner,
        "isRetryable": False,
        "isUserError": user_error,
        "properties": None,
    }
