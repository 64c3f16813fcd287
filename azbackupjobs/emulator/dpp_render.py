"""Backup vault job state -> the JSON body the DataProtection service sends.

The same job looks different by endpoint, as recorded: GET has an ISO 8601 duration and
``extendedInfo``; a list item a .NET TimeSpan and ``"extendedInfo": null``; Resource Graph rows
the TimeSpan with ``extendedInfo``; cross-region-restore fetches leave null keys out and spell
the type ``BackupVaults``. A running job reports ``PT0S`` and ``endTime: null``. Statuses are
``InProgress``/``Completed``/``Failed``, or ``Started``/``Succeeded`` for jobs that speak like
the spec examples.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from .dpp_model import JOB_TYPE, PROVIDER, SPEC_WORDS, vault_id
from .dpp_versions import DppDialect
from .scenarios import COMPLETED, FAILED, IN_PROGRESS, JobScenario, JobState
from .wire import iso_duration, iso_timestamp, timespan

RESOURCE_TYPE: Final = f"{PROVIDER}/backupVaults/backupJobs"
CRR_RESOURCE_TYPE: Final = f"{PROVIDER}/BackupVaults/backupJobs"
_SPEC_STATUS: Final = {IN_PROGRESS: "Started", COMPLETED: "Succeeded"}
_SENTINEL: Final = "0001-01-01T00:00:00"

Shape = Literal["get", "list", "graph", "crr", "crr-list"]


def dpp_job_id(s: JobScenario, *, crr: bool = False) -> str:
    vault = vault_id(s.subscription, s.resource_group, s.vault)
    if crr:
        vault = vault.replace("/backupVaults/", "/BackupVaults/")
    return f"{vault}/backupJobs/{s.job_id}"


def _status(s: JobScenario, status: str) -> str:
    if s.props.get("statusWords") == SPEC_WORDS:
        return _SPEC_STATUS.get(status, status)
    return status


def _etag(s: JobScenario, state: JobState) -> str:
    changed = state.end if state.end is not None else s.start + s.lead_seconds
    return f"W/\"datetime'{iso_timestamp(changed + 0.3).replace(':', '%3A')}'\""


def _sub_task(s: JobScenario, state: JobState) -> dict[str, Any]:
    p = s.props
    done = state.status in (COMPLETED, FAILED)
    details: dict[str, Any] | None = None
    if done:
        details = (
            {"DataTransferredInBytes": "0"}
            if s.operation == "Restore"
            else {
                "OriginalDatasourceSizeInBytes": p["sizeBytes"]
                if state.status == COMPLETED
                else "0"
            }
        )
        details.update(TaskId=s.activity_id, DatasourceType=p["dataSourceType"])
    return {
        "taskId": 1,
        "taskName": s.tasks[0].name if s.tasks else "Trigger Backup",
        "taskStatus": _status(s, state.status),
        "taskProgress": None,
        "additionalDetails": details,
    }


def _extended_info(s: JobScenario, state: JobState, dialect: DppDialect) -> dict[str, Any]:
    p = s.props
    restore = s.operation == "Restore"
    sentinel = _SENTINEL + ("Z" if dialect.sentinel_z else "")
    target = None
    if not restore and state.status == COMPLETED:
        target = {"recoveryPointID": p["recoveryPointId"], "recoveryPointTime": sentinel}
    source = None
    if restore and p.get("sourceRecoveryPointTime") is not None:
        source = {
            "recoveryPointID": p["recoveryPointId"],
            "recoveryPointTime": iso_timestamp(p["sourceRecoveryPointTime"]),
        }
    transferred = p.get("transferredBytes") if state.status == COMPLETED else None
    ext: dict[str, Any] = {"backupInstanceState": None}
    ext["dataTransferedInBytes" if dialect.misspelt_transfer else "dataTransferredInBytes"] = (
        transferred
    )
    ext.update(
        targetRecoverPoint=target,
        sourceRecoverPoint=source,
        recoveryDestination=p.get("recoveryDestination") if restore else None,
        subTasks=[_sub_task(s, state)],
        additionalDetails=None if restore else {"RetentionTag": p.get("retentionTag") or "Default"},
    )
    if dialect.warning_details:
        ext["warningDetails"] = None
    return ext


def dpp_job_body(
    s: JobScenario, state: JobState, *, shape: Shape, dialect: DppDialect
) -> dict[str, Any]:
    """The AzureBackupJobResource for ``shape`` (see the module docstring)."""
    p = s.props
    finished = state.end is not None
    seconds = state.duration if finished else 0.0
    list_like = shape in ("list", "graph", "crr-list")
    crr = shape in ("crr", "crr-list")
    failed = state.status == FAILED
    props: dict[str, Any] = {
        "activityID": s.activity_id,
        "subscriptionId": s.subscription,
        "backupInstanceId": p["backupInstanceId"],
        "policyId": p["policyId"],
        "dataSourceId": p["dataSourceId"],
        "vaultName": s.vault,
        "backupInstanceFriendlyName": s.entity,
        "policyName": p["policyName"],
        "sourceResourceGroup": p["sourceResourceGroup"],
        "dataSourceSetName": p.get("dataSourceSetName"),
        "dataSourceName": p["dataSourceName"],
        "sourceDataStoreName": None,
    }
    if dialect.store_type_and_crr_keys:
        props["sourceDataStoreType"] = p.get("sourceDataStoreType")
    props.update(
        destinationDataStoreName=p.get("destinationDataStoreName")
        if state.status == COMPLETED
        else None,
        progressEnabled=p["progressEnabled"],
        etag=_etag(s, state),
        sourceSubscriptionID=s.subscription,
        dataSourceLocation=p["dataSourceLocation"],
        startTime=iso_timestamp(s.start),
        endTime=iso_timestamp(state.end) if state.end is not None else None,
        dataSourceType=p["dataSourceType"],
        operationCategory=p["operationCategory"],
        operation=s.operation,
        status=_status(s, state.status),
        restoreType=None,
        isUserTriggered=p["isUserTriggered"],
        rehydrationPriority=None,
        supportedActions=list(p["supportedActions"]),
        duration=timespan(seconds) if list_like else iso_duration(seconds),
        progressUrl=None,
    )
    if dialect.store_type_and_crr_keys and not crr:
        props["isCrossRegionRestore"] = None
    props["errorDetails"] = list(p.get("errorDetails") or []) if failed else None
    props["extendedInfo"] = (
        None if shape in ("list", "crr-list") else _extended_info(s, state, dialect)
    )
    body: dict[str, Any] = {
        "properties": props,
        "id": dpp_job_id(s, crr=crr),
        "name": s.job_id,
        "type": CRR_RESOURCE_TYPE if crr else RESOURCE_TYPE,
    }
    if dialect.omit_nulls or crr:
        body = _without_nulls(body)
    return body


def _without_nulls(value: Any) -> Any:
    """The body with every null-valued key left out, as 2021-01-01 and CRR fetches send it."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def is_dpp_job(s: JobScenario) -> bool:
    return s.job_type == JOB_TYPE
