"""Build job scenarios with the defaults each job type has in real payloads.

The seed vault, ``EmulatorHandle.add_job`` and the backup trigger all go through
:func:`build_job`, so a job added by a test looks like one the service would return: container
names, propertyBag keys, task names, error shapes and the way a cancel ends all come from here.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .render import IAAS_TYPES, JOB_TYPES, STORAGE_TYPES, WORKLOAD_TYPES
from .scenarios import (
    COMPLETED_WITH_WARNINGS,
    FAILED,
    OUTCOMES,
    Bag,
    ErrorInfo,
    JobScenario,
    TaskPlan,
)
from .wire import iso_timestamp, us_datetime

TaskSpec = TaskPlan | tuple[str, float]
ErrorSpec = ErrorInfo | Mapping[str, Any]

DAY = 86_400.0

JOB_CANCELLED_WARNING = ErrorInfo(
    code=400158,
    title="UserErrorJobSuccessfullyCancelled",
    message="Job is cancelled.",
    recommendations=[],
)

_DEFAULT_ERRORS: dict[tuple[str, str], ErrorInfo] = {
    ("iaas", "Backup"): ErrorInfo(
        400136,
        "UserErrorVmNotFoundV2",
        "Virtual machine doesn't exist.",
        [
            "Please make sure that virtual machine exists or select a different virtual machine."
            " For more details, please refer to http://aka.ms/UserErrorVmNotFoundV2"
        ],
    ),
    ("iaas", "Restore"): ErrorInfo(
        400048,
        "UserErrorBCMRestoreStorageAccountNotFound",
        "Storage Account specified for Restore operation doesn't exist.",
        [
            "Make sure that the storage account specified in restore operation exists till "
            "restore operation is completed. If you have deleted the specified storage account,"
            " please use a different storage account and retry the operation. "
        ],
    ),
    ("storage", ""): ErrorInfo(
        1073871825,
        None,
        "Microsoft Azure Backup encountered an internal error.",
        [
            "Wait for a few minutes and then try the operation again. If the issue persists, "
            "please contact Microsoft support."
        ],
    ),
    ("workload", "Backup"): ErrorInfo(
        510008,
        "OperationCancelledBecauseConflictingOperationRunningUserError",
        "The operation was cancelled because a conflicting operation is already running on "
        "the same database.",
        ["Wait for the conflicting operation to complete, then retry the operation."],
    ),
    ("workload", "Restore"): ErrorInfo(
        520512,
        "UserErrorIncompatibleSrcTargetSystemsForRestore",
        "The source and target systems for restore are incompatible.",
        [
            "\r\n      Ensure that your restore scenario is not one of the possible incompatible"
            " restores listed below:\r\n      Case 1: SYSTEMDB cannot be renamed during restore."
            "\r\n      For more information, refer to the note 1642148 in the SAP support "
            "launchpad (launchpad.support.sap.com).\r\n    "
        ],
    ),
    ("agent", ""): ErrorInfo(
        None,
        None,
        "The backup operation failed because the replica is inconsistent.",
        ["Run a consistency check on the data source, then run the backup again."],
    ),
    ("vault", ""): ErrorInfo(
        100246,
        None,
        "The vault could not access the key in the key vault.",
        [
            "Make sure that the vault's managed identity has get, wrapKey and unwrapKey "
            "permissions on the key vault, then retry the operation."
        ],
    ),
}


def new_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def family(job_type: str) -> str:
    if job_type in IAAS_TYPES:
        return "iaas"
    if job_type in STORAGE_TYPES:
        return "storage"
    if job_type in WORKLOAD_TYPES:
        return "workload"
    if job_type in ("MabJob", "DpmJob"):
        return "agent"
    if job_type == "VaultJob":
        return "vault"
    return "other"


def _base_operation(operation: str) -> str:
    """``Backup (Full)`` -> ``Backup``; ``RestoreWithRehydrate`` -> ``Restore``."""
    head = operation.split(" (", 1)[0]
    return "Restore" if head.startswith("Restore") or head == "CrossRegionRestore" else head


def default_error(job_type: str, operation: str) -> ErrorInfo:
    fam = family(job_type)
    op = _base_operation(operation)
    return (
        _DEFAULT_ERRORS.get((fam, op))
        or _DEFAULT_ERRORS.get((fam, ""))
        or _DEFAULT_ERRORS.get((fam, "Backup"))
        or _DEFAULT_ERRORS[("iaas", "Backup")]
    )


def as_error(spec: ErrorSpec) -> ErrorInfo:
    if isinstance(spec, ErrorInfo):
        return spec
    return ErrorInfo(
        code=spec.get("code", spec.get("errorCode")),
        title=spec.get("title", spec.get("errorTitle")),
        message=str(spec.get("message", spec.get("errorString", ""))),
        recommendations=list(spec.get("recommendations", [])),
        additional_details=spec.get("additional_details", spec.get("additionalDetails")),
    )


def as_task(spec: TaskSpec) -> TaskPlan:
    if isinstance(spec, TaskPlan):
        return spec
    name, seconds = spec
    return TaskPlan(str(name), float(seconds))


def _vm_name(entity: str) -> str:
    return entity.split(" [", 1)[0]


def _host_of(entity: str) -> str:
    """``msdb [sql-vm-01]`` -> ``sql-vm-01``."""
    if "[" in entity and entity.endswith("]"):
        return entity.rsplit("[", 1)[1][:-1]
    return entity


def _expiry(start: float) -> str:
    """Recovery points of the default policy expire 30 days later, at midnight UTC."""
    return us_datetime((start + 30 * DAY) // DAY * DAY)


def build_job(
    rng: random.Random,
    *,
    subscription: str,
    resource_group: str,
    vault: str,
    job_type: str = "AzureIaaSVMJob",
    operation: str = "Backup",
    entity: str = "vm1",
    start: float,
    tasks: Sequence[TaskSpec] | None = None,
    outcome: str = "Completed",
    duration: float | None = None,
    errors: Sequence[ErrorSpec] | None = None,
    failed_task: int | None = None,
    property_bag: Mapping[str, str | None] | None = None,
    cancellable: bool | None = None,
    job_id: str | None = None,
    workload_type: str | None = None,
    transfer_gb: float | None = None,
    backup_size_mb: int | None = None,
    cancel_seconds: float = 30.0,
    legacy_id_casing: bool = False,
    dynamic_error_message: str | None = None,
    internal_property_bag: Mapping[str, str] | None = None,
    staged_bag: bool = False,
) -> JobScenario:
    """A scenario for ``job_type``/``operation`` on ``entity``, filled with realistic defaults.

    ``tasks`` are (name, seconds) pairs or TaskPlans; without them the job type's usual tasks
    are used. ``duration`` sets the length of a job without tasks (ConfigureBackup, VaultJob...).
    ``staged_bag`` makes an IaaS backup's propertyBag fill in step by step (the recovery point
    expiry once the snapshot is taken), as older service versions reported it; current ones
    report the expiry from the start.
    """
    if job_type not in JOB_TYPES:
        raise ValueError(f"unknown job type {job_type!r}; known: {', '.join(sorted(JOB_TYPES))}")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(sorted(OUTCOMES))}, not {outcome!r}")
    fam = family(job_type)
    op = _base_operation(operation)
    s = JobScenario(
        job_id=(job_id or new_guid(rng)).lower(),
        subscription=subscription,
        resource_group=resource_group,
        vault=vault,
        job_type=job_type,
        operation=operation,
        entity=entity,
        start=start,
        activity_id=new_guid(rng),
        outcome=outcome,
        failed_task=failed_task,
        cancel_seconds=cancel_seconds,
        legacy_id_casing=legacy_id_casing,
        dynamic_error_message=dynamic_error_message,
        # Real timings are never round: sub-second jitter on the service's own steps.
        lead_seconds=1.2 + rng.random() * 0.3,
        tail_seconds=0.7 + rng.random() * 0.3,
    )
    plans = [as_task(t) for t in tasks] if tasks is not None else None
    if fam == "iaas":
        _iaas(s, rng, op, plans, transfer_gb, backup_size_mb, staged_bag)
    elif fam == "storage":
        _storage(s, rng, op, plans)
    elif fam == "workload":
        _workload(s, rng, op, plans, workload_type)
    elif fam == "agent":
        _agent(s, rng, plans, workload_type)
    else:
        _vault_job(s)
    if duration is not None and not s.tasks:
        s.lead_seconds, s.tail_seconds = max(0.0, duration), 0.0
    if outcome in (FAILED, COMPLETED_WITH_WARNINGS):
        s.errors = [as_error(e) for e in errors] if errors else [default_error(job_type, operation)]
    elif errors:
        s.errors = [as_error(e) for e in errors]
    if property_bag:
        s.bag.update(property_bag)
    if internal_property_bag is not None:
        s.internal_bag = dict(internal_property_bag)
    if cancellable is not None:
        s.cancellable = cancellable
    return s


def _iaas(
    s: JobScenario,
    rng: random.Random,
    op: str,
    plans: list[TaskPlan] | None,
    transfer_gb: float | None,
    backup_size_mb: int | None,
    staged_bag: bool,
) -> None:
    vm = _vm_name(s.entity)
    s.backup_management_type = "AzureIaasVM"
    s.props = {
        "containerName": f"iaasvmcontainerv2;{s.resource_group};{vm}",
        "virtualMachineVersion": "Compute",
    }
    if op == "Backup":
        s.tasks = (
            plans
            if plans is not None
            else [
                TaskPlan("Take Snapshot", 300 + rng.uniform(0, 240)),
                TaskPlan("Transfer data to vault", 1500 + rng.uniform(0, 900)),
            ]
        )
        if transfer_gb is not None:
            for task in s.tasks:
                if task.name.lower().startswith("transfer"):
                    task.total_gb = transfer_gb
        s.task_times = True
        expiry: Bag = {"Recovery Point Expiry Time in UTC": _expiry(s.start)}
        s.bag = {"VM Name": vm}
        if staged_bag:
            s.bag_steps = [(1, expiry)]
        else:
            s.bag.update(expiry)
        size = backup_size_mb if backup_size_mb is not None else rng.randrange(2_000, 40_000)
        s.bag_success = {"Backup Size": f"{size} MB"}
        s.bag_failure = {"Backup Size": "0 MB"}
        s.internal_bag = {"IsInstantRpJob": "True"}
        s.cancel_partial_outcome = COMPLETED_WITH_WARNINGS
        s.cancel_errors = [JOB_CANCELLED_WARNING]
    elif op == "Restore":
        total = transfer_gb if transfer_gb is not None else 127.0
        s.tasks = (
            plans
            if plans is not None
            else [
                TaskPlan(
                    "Transfer data from vault",
                    1800 + rng.uniform(0, 900),
                    cancellable=False,
                    total_gb=total,
                    hidden_until_started=True,
                )
            ]
        )
        s.lead_seconds = 45 + rng.uniform(0, 30)
        s.progress = True
        account = f"restore{rng.randrange(1000, 9999)}"
        s.bag = {
            "Job Type": "Recover disks",
            "Target VM Name": f"{vm}-restored",
            "Target Storage Account Name": account,
            "Recovery point time ": us_datetime(s.start - 4 * 3600),
        }
        container = f"{vm}-{rng.getrandbits(64):016x}"
        blob = f"config-{vm}-{s.job_id}.json"
        s.bag_success = {
            "Config Blob Name": blob,
            "Config Blob Container Name": container,
            "Config Blob Uri": f"https://{account}.blob.core.windows.net/{container}/{blob}",
            "Template Blob Uri": (
                f"https://{account}.blob.core.windows.net/{container}/azuredeploy{s.job_id}.json"
            ),
        }
        s.internal_bag = {"restoreLocationType": "RestoreDisks"}
    else:
        s.tasks = plans or []
        s.lead_seconds, s.tail_seconds = 30 + rng.uniform(0, 90), 0.0
        s.bag = {"VM Name": vm}
        if op == "ConfigureBackup":
            s.bag["Policy Name"] = "DefaultPolicy"
        if op == "Undelete":
            s.bag["Undelete flag"] = "True"
        s.cancellable = False


def _storage(s: JobScenario, rng: random.Random, op: str, plans: list[TaskPlan] | None) -> None:
    account = f"files{rng.randrange(10000, 99999)}"
    s.backup_management_type = "AzureStorage"
    s.props = {
        "storageAccountName": account,
        "storageAccountVersion": "MicrosoftStorage",
        "isUserTriggered": False,
    }
    if op == "Backup":
        s.tasks = (
            plans
            if plans is not None
            else [TaskPlan("Take Snapshot", 3 + rng.uniform(0, 20), hidden_until_started=True)]
        )
        s.lead_seconds = 0.8
        s.bag = {"File Share Name": s.entity}
        s.bag_success = {
            "Data Transferred (in MB)": "0",
            "Whether job is adhoc or scheduled.": "True",
        }
    else:
        # Every recorded Azure Files restore has an empty task list.
        s.tasks = plans or []
        s.lead_seconds, s.tail_seconds = 30 + rng.uniform(0, 300), 0.0
        s.bag = {
            "Source File Share Name": s.entity,
            "Source Storage Account Name": account,
            "Job Type": "Recovering to the original file share",
            "RestoreDestination": f"{account}/{s.entity}/",
            "Data Transferred (in MB)": "0",
            "Number Of Restored Files": "0",
            "Number Of Skipped Files": "0",
            "Number Of Failed Files": "0",
        }
        point = {"RestoreRecoveryPointTime": us_datetime(s.start - 6 * 3600)}
        s.bag_success = {**point, "Number Of Restored Files": str(rng.randrange(10, 5000))}
        s.bag_failure = dict(point)


def _workload(
    s: JobScenario,
    rng: random.Random,
    op: str,
    plans: list[TaskPlan] | None,
    workload_type: str | None,
) -> None:
    s.backup_management_type = "AzureWorkload"
    kind = workload_type or (
        "SAPHanaDatabase" if s.entity.upper().startswith(("SYSTEMDB", "HXE")) else "SQLDataBase"
    )
    s.props = {"workloadType": kind, "isUserTriggered": True}
    transferred = f"{rng.uniform(10, 2000):.4f}"
    if op == "Restore":
        s.tasks = (
            plans
            if plans is not None
            else [TaskPlan("Transfer data from vault", 120 + rng.uniform(0, 400))]
        )
        s.bag = {
            "Job Type": "Restore as files"
            if kind == "SQLDataBase"
            else "Recovery to the original database"
        }
        s.bag_success = {
            "Data Transferred (in MB)": transferred,
            "RestoreRecoveryPointTime": _workload_point(s.start - 5 * 3600),
            "RestoreDestination": "C:" if kind == "SQLDataBase" else f"{_host_of(s.entity)}./HXE",
        }
        s.bag_failure = {
            "Data Transferred (in MB)": "0",
            "RestoreDestination": s.bag_success["RestoreDestination"],
        }
    else:
        s.tasks = (
            plans
            if plans is not None
            else [TaskPlan("Transfer data to vault", 100 + rng.uniform(0, 200))]
        )
        s.bag_success = {"Data Transferred (in MB)": transferred}


def _workload_point(epoch: float) -> str:
    """Workload restores write recovery point times as ``2023-05-11 14:39:25Z``."""
    return iso_timestamp(int(epoch)).replace("T", " ")


def _agent(
    s: JobScenario, rng: random.Random, plans: list[TaskPlan] | None, workload_type: str | None
) -> None:
    host = _host_of(s.entity).lower()
    server = host if "." in host else f"{host}.contoso.local"
    if s.job_type == "MabJob":
        s.backup_management_type = "MAB"
        s.props = {
            "mabServerName": server,
            "mabServerType": "Windows",
            "workloadType": workload_type or "FileFolder",
        }
    else:
        s.backup_management_type = "DPM"
        s.props = {
            "dpmServerName": f"dpm{rng.randrange(1, 9):02d}.contoso.local",
            "containerName": server,
            "containerType": "DPMContainer",
            "workloadType": workload_type or "SQLDB",
        }
    s.tasks = (
        plans
        if plans is not None
        else [TaskPlan("Transfer data to vault", 600 + rng.uniform(0, 1800))]
    )
    s.bag_success = {"Data Transferred (in MB)": f"{rng.uniform(100, 9000):.2f}"}


def _vault_job(s: JobScenario) -> None:
    # Vault jobs have no task list at all; their length is the lead time.
    s.tasks = []
    s.lead_seconds, s.tail_seconds = 45.0 + s.lead_seconds, 0.0
    s.bag = {"Vault Name": s.vault}
    s.cancellable = False
