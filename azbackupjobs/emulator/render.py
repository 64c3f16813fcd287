"""Job state -> the JSON body the service sends, per job type.

Key order, which keys exist and when, and the spelling of each value follow the recorded
payloads: IaaS VM tasks carry times and durations, Azure Files and workload tasks only
``taskId``/``status``, MAB and DPM tasks times but no progress, vault jobs no tasks at all; list
items never carry ``extendedInfo``; ``actionsInfo`` is only there while the job can be cancelled.
"""

from __future__ import annotations

from typing import Any, Final

from .scenarios import (
    CANCELLED,
    COMPLETED,
    ErrorInfo,
    JobScenario,
    JobState,
    TaskState,
    errors_of,
    progress_percentage,
    property_bag,
    remaining_seconds,
)
from .versions import Dialect
from .wire import UNSET_TIME, gigabytes, iso_duration, iso_timestamp, timespan

RESOURCE_TYPE: Final = "Microsoft.RecoveryServices/vaults/backupJobs"

IAAS_TYPES: Final = frozenset({"AzureIaaSVMJob", "AzureIaaSVMJobV2"})
STORAGE_TYPES: Final = frozenset({"AzureStorageJob", "AzureStorageJobV2"})
WORKLOAD_TYPES: Final = frozenset({"AzureWorkloadJob", "AzureWorkloadJobV2"})
AGENT_TYPES: Final = frozenset({"MabJob", "DpmJob"})
VAULT_TYPES: Final = frozenset({"VaultJob"})
JOB_TYPES: Final = IAAS_TYPES | STORAGE_TYPES | WORKLOAD_TYPES | AGENT_TYPES | VAULT_TYPES

_IAAS_LAYOUT = (
    "actionsInfo", "containerName", "duration", "errorDetails", "virtualMachineVersion",
    "extendedInfo",
)  # fmt: skip
_STORAGE_LAYOUT = (
    "actionsInfo", "duration", "errorDetails", "storageAccountName", "storageAccountVersion",
    "extendedInfo", "isUserTriggered",
)  # fmt: skip
_WORKLOAD_LAYOUT = (
    "actionsInfo", "workloadType", "duration", "errorDetails", "extendedInfo", "isUserTriggered",
)  # fmt: skip
_MAB_LAYOUT = (
    "actionsInfo", "duration", "mabServerName", "mabServerType", "workloadType", "errorDetails",
    "extendedInfo",
)  # fmt: skip
_DPM_LAYOUT = (
    "actionsInfo", "duration", "dpmServerName", "containerName", "containerType", "workloadType",
    "errorDetails", "extendedInfo",
)  # fmt: skip
_GENERIC_LAYOUT = ("actionsInfo", "duration", "errorDetails", "extendedInfo")


def _layout(job_type: str) -> tuple[str, ...]:
    if job_type in IAAS_TYPES:
        return _IAAS_LAYOUT
    if job_type in STORAGE_TYPES:
        return _STORAGE_LAYOUT
    if job_type in WORKLOAD_TYPES:
        return _WORKLOAD_LAYOUT
    if job_type == "MabJob":
        return _MAB_LAYOUT
    if job_type == "DpmJob":
        return _DPM_LAYOUT
    return _GENERIC_LAYOUT


def job_resource_id(s: JobScenario) -> str:
    subs = "Subscriptions" if s.legacy_id_casing else "subscriptions"
    return (
        f"/{subs}/{s.subscription}/resourceGroups/{s.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{s.vault}/backupJobs/{s.job_id}"
    )


def _duration(seconds: float, dialect: Dialect) -> str:
    return timespan(seconds) if dialect.timespan_durations else iso_duration(seconds)


def _error(job_type: str, e: ErrorInfo) -> dict[str, Any]:
    """IaaS puts errorTitle before errorString, workload after; Azure Files has no title;
    MAB and DPM have no code either."""
    if job_type in IAAS_TYPES:
        return {
            "errorCode": e.code,
            "errorTitle": e.title or "",
            "errorString": e.message,
            "recommendations": list(e.recommendations),
        }
    if job_type in WORKLOAD_TYPES:
        body: dict[str, Any] = {
            "errorCode": e.code,
            "errorString": e.message,
            "errorTitle": e.title or "",
            "recommendations": list(e.recommendations),
        }
        if e.additional_details is not None:
            body["additionalDetails"] = e.additional_details
        return body
    if job_type in AGENT_TYPES:
        return {"errorString": e.message, "recommendations": list(e.recommendations)}
    return {
        "errorCode": e.code,
        "errorString": e.message,
        "recommendations": list(e.recommendations),
    }


def _time_or_unset(value: float | None) -> str:
    return iso_timestamp(value) if value is not None else UNSET_TIME


def _task(s: JobScenario, t: TaskState, now: float, dialect: Dialect) -> dict[str, Any]:
    if s.job_type in STORAGE_TYPES or s.job_type in WORKLOAD_TYPES:
        return {"taskId": t.plan.name, "status": t.status}
    if s.job_type in AGENT_TYPES or (s.job_type in IAAS_TYPES and s.task_times):
        end = t.end if t.end is not None else now
        seconds = 0.0 if t.start is None else end - t.start
        body: dict[str, Any] = {
            "taskId": t.plan.name,
            "startTime": _time_or_unset(t.start),
            "endTime": _time_or_unset(t.end),
            "duration": _duration(seconds, dialect),
            "status": t.status,
        }
    else:
        # IaaS restores (and older backups) report "PT0S" for every task, even finished ones.
        body = {"taskId": t.plan.name, "duration": _duration(0.0, dialect), "status": t.status}
    if s.job_type in IAAS_TYPES and t.plan.total_gb is not None and t.start is not None:
        total = t.plan.total_gb
        done = total if t.status == COMPLETED else total * t.fraction
        body["taskExecutionDetails"] = f"{gigabytes(done)} / {gigabytes(total)} Transferred"
    return body


def _visible_tasks(state: JobState) -> list[TaskState]:
    return [t for t in state.tasks if t.start is not None or not t.plan.hidden_until_started]


def _extended_info(s: JobScenario, state: JobState, now: float, dialect: Dialect) -> dict[str, Any]:
    ext: dict[str, Any] = {}
    if s.job_type not in VAULT_TYPES:
        ext["tasksList"] = [_task(s, t, now, dialect) for t in _visible_tasks(state)]
    ext["propertyBag"] = property_bag(s, state)
    if s.job_type in IAAS_TYPES:
        if s.internal_bag is not None:
            ext["internalPropertyBag"] = dict(s.internal_bag)
        if s.progress:
            percent = progress_percentage(state)
            if percent is not None:
                ext["progressPercentage"] = percent
            remaining = remaining_seconds(state)
            if remaining is not None:
                ext["estimatedRemainingDuration"] = _duration(remaining, dialect)
    # The free-text error of a workload failure, once the job has failed.
    failed = state.ended_by == "outcome" and state.status not in (COMPLETED, CANCELLED)
    if s.dynamic_error_message is not None and failed:
        ext["dynamicErrorMessage"] = s.dynamic_error_message
    return ext


def job_body(
    s: JobScenario, state: JobState, now: float, *, detail: bool, dialect: Dialect
) -> dict[str, Any]:
    """The JobResource; ``detail`` adds extendedInfo, as GET does and lists do not."""
    values: dict[str, Any] = dict(s.props)
    if state.cancellable:
        values["actionsInfo"] = [1] if dialect.numeric_actions else ["Cancellable"]
    values["duration"] = _duration(state.duration, dialect)
    errors = errors_of(s, state)
    if errors:
        values["errorDetails"] = [_error(s.job_type, e) for e in errors]
    if detail:
        values["extendedInfo"] = _extended_info(s, state, now, dialect)

    props: dict[str, Any] = {"jobType": s.job_type}
    for key in _layout(s.job_type):
        if key in values:
            props[key] = values.pop(key)
    props.update(values)
    props["entityFriendlyName"] = s.entity
    if s.backup_management_type is not None:
        props["backupManagementType"] = s.backup_management_type
    props["operation"] = s.operation
    props["status"] = state.status
    props["startTime"] = iso_timestamp(s.start)
    if state.end is not None:
        props["endTime"] = iso_timestamp(state.end)
    props["activityId"] = s.activity_id
    return {
        "id": job_resource_id(s),
        "name": s.job_id,
        "type": RESOURCE_TYPE,
        "properties": props,
    }
