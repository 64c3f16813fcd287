"""Typed, immutable views of the ARM job payloads, parsed once from the wire JSON.

One model for both kinds of vault: a Recovery Services vault job and a Backup vault
(Microsoft.DataProtection) job fill the same normalized fields (entity, operation, status,
times, tasks, errors, details), and a Backup vault job adds what only it has (datasource type,
policy, data transferred, ...). The raw dict is kept for byte-faithful JSON output.

The services have sent many shapes over the years (see the README's notes on payloads): durations
as ISO 8601 or .NET TimeSpan (with a day part past 24 hours), timestamps with 0-7 fractional
digits, ``0001-01-01T00:00:00`` (with or without ``Z``) for "unset", ``actionsInfo`` as ``[1]`` or
``["Cancellable"]``, ``supportedActions`` as ``[""]``, explicit nulls or omitted keys, misspelt
keys, and job types that did not exist when this was written. Parsing is therefore lenient field
by field: a field of the wrong type becomes "unknown" instead of an exception.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from azbackupjobs.model.datasources import friendly_datasource_type
from azbackupjobs.model.errors import UnexpectedResponseError
from azbackupjobs.model.kinds import VaultKind, is_backup_vault_job
from azbackupjobs.model.text import sanitize


class JobStatus(StrEnum):
    """Job and task states, with the terminal set beside them.

    Backup vault jobs say InProgress/Completed, but their API documents Started/Succeeded: both
    spellings mean the same state. Any other word is UNKNOWN (the job keeps the word itself).
    """

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    COMPLETED_WITH_WARNINGS = "CompletedWithWarnings"
    FAILED = "Failed"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"
    NOT_STARTED = "NotStarted"
    INVALID = "Invalid"
    UNKNOWN = "Unknown"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @classmethod
    def parse(cls, value: object) -> JobStatus:
        """Map a wire value to a state; unknown or odd values (new states, bad types) -> UNKNOWN."""
        if isinstance(value, str):
            found = _STATUS_BY_LOWER.get(value.strip().lower())
            if found is not None:
                return found
        return cls.UNKNOWN


_TERMINAL = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_WARNINGS,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    }
)
_STATUS_BY_LOWER = {s.value.lower(): s for s in JobStatus}
# Operation statuses spell it "Canceled"; jobs spell it "Cancelled".
_STATUS_BY_LOWER["canceled"] = JobStatus.CANCELLED
# The Backup vault API's documented words for running and completed.
_STATUS_BY_LOWER["started"] = JobStatus.IN_PROGRESS
_STATUS_BY_LOWER["succeeded"] = JobStatus.COMPLETED

# Error code the service uses for a VM backup that was cancelled but ends CompletedWithWarnings.
JOB_CANCELLED_ERROR_CODE = 400158
_ACTIONS_BY_INT = {0: "Invalid", 1: "Cancellable", 2: "Retriable"}

_ISO_DURATION_RE = re.compile(
    r"^(?P<sign>[-+])?P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_TIMESPAN_RE = re.compile(
    r"^(?P<sign>-)?(?:(?P<days>\d+)[.:])?(?P<hours>\d{1,2}):(?P<minutes>\d{2}):(?P<seconds>\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?$"
)
_TIMESTAMP_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_duration(value: object) -> timedelta | None:
    """ISO 8601 (``PT41M30.75S``, ``P1DT5H``, ``-PT4M``) or .NET (``[-][d.]hh:mm:ss[.fffffff]``)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    iso = _ISO_DURATION_RE.match(text)
    if iso and text.upper() not in {"P", "PT", "-P", "+P", "-PT", "+PT"} and not text.endswith("T"):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v and k != "sign"}
        try:
            delta = timedelta(
                weeks=parts.get("weeks", 0.0),
                days=parts.get("days", 0.0),
                hours=parts.get("hours", 0.0),
                minutes=parts.get("minutes", 0.0),
                seconds=parts.get("seconds", 0.0),
            )
        except OverflowError:  # beyond timedelta's ~2.7 million years: not a real duration
            return None
        return -delta if iso["sign"] == "-" else delta
    span = _TIMESPAN_RE.match(text)
    if span:
        fraction = span["fraction"] or "0"
        try:
            delta = timedelta(
                days=int(span["days"] or 0),
                hours=int(span["hours"]),
                minutes=int(span["minutes"]),
                seconds=int(span["seconds"]),
                microseconds=round(int(fraction) / 10 ** len(fraction) * 1_000_000),
            )
        except (OverflowError, ValueError):  # too large, or too many digits for int()
            return None
        return -delta if span["sign"] else delta
    return None


def parse_timestamp(value: object) -> datetime | None:
    """A UTC-aware datetime; year 1 (the service's "unset") and unparsable values -> None."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP_RE.match(value.strip())
    if not match:
        return None
    if match["date"].startswith("0001-"):
        return None
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    time_part = match["time"] if match["time"].count(":") == 2 else match["time"] + ":00"
    zone = match["zone"] or "Z"
    if zone.upper() == "Z":
        zone = "+00:00"
    elif ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{time_part}.{fraction}{zone}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # bad fields, or an offset that leaves years 1-9999
        return None


def _text(value: object) -> str | None:
    """A display string for scalars of any type (numbers as codes, etc.)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _float(value: object) -> float | None:
    """A finite number from a number or numeric string; NaN and infinities are not progress."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    elif isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _int(value: object) -> int | None:
    """A whole number from a number or numeric string (byte counts come as ``616490449.0`` and
    as ``"4294967296"``); negative, fractional or odd values are not a count."""
    number = _float(value)
    if number is None or number < 0 or number != int(number):
        return None
    return int(number)


def _bool(value: object) -> bool | None:
    """JSON booleans, and the strings Resource Graph compares them with."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def _percent(value: object) -> float | None:
    """A percentage given as a number or as text, ``"45"`` or ``"45%"``."""
    if isinstance(value, str):
        value = value.strip().removesuffix("%")
    return _float(value)


def _has_ended(status: JobStatus, end: datetime | None) -> bool:
    """The terminal states end a job; a state nobody knows, only an end time does."""
    if status is JobStatus.UNKNOWN:
        return end is not None
    return status.is_terminal


def _ended(start: datetime | None, end: datetime | None) -> datetime | None:
    """An end before the start is a placeholder, not a time.

    2016-era responses put ``2001-01-01T00:00:00Z`` in the endTime of running jobs.
    """
    if start is not None and end is not None and end < start:
        return None
    return end


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _string_map(value: object) -> dict[str, str | None]:
    """propertyBag-like maps: keys kept verbatim (trailing spaces and all), values as text."""
    result: dict[str, str | None] = {}
    for key, item in _dict(value).items():
        if item is None or isinstance(item, str):
            result[str(key)] = item
        elif isinstance(item, (dict, list)):
            import json

            result[str(key)] = json.dumps(item, ensure_ascii=False)
        else:
            result[str(key)] = _text(item)
    return result


_RESOURCE_GROUP_RE = re.compile(r"/resourcegroups/([^/]+)", re.IGNORECASE)


def _resource_group_of(resource_id: str | None) -> str | None:
    match = _RESOURCE_GROUP_RE.search(resource_id or "")
    return match[1] if match else None


def normalize_job_kind(job_type: str | None) -> str:
    """``AzureIaaSVMJobV2`` and ``AzureIaaSVMJob`` are the same kind of job."""
    if not job_type:
        return "Unknown"
    return job_type[:-2] if job_type.endswith("V2") else job_type


def _actions(value: object) -> frozenset[str]:
    """``actionsInfo``/``supportedActions``: ``[1]``, ``["Cancellable"]``; ``[""]`` is none."""
    actions: set[str] = set()
    items = value if isinstance(value, list) else [value] if value is not None else []
    for item in items:
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            actions.add(_ACTIONS_BY_INT.get(item, str(item)))
        elif isinstance(item, str) and item.strip():
            name = item.strip()
            actions.add(name[0].upper() + name[1:])
    return frozenset(actions)


@dataclass(frozen=True)
class JobTask:
    """One task of a job: an entry of a Recovery Services job's ``extendedInfo.tasksList`` or of
    a Backup vault job's ``extendedInfo.subTasks``; fields a job type lacks stay None.

    ``task_id`` is the task's name in both (``Take Snapshot``, ``Trigger Backup``): Recovery
    Services calls the name taskId, Backup vaults number their tasks and name them taskName.
    """

    task_id: str
    status: JobStatus
    status_raw: str | None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: timedelta | None = None
    duration_raw: str | None = None
    progress_percentage: float | None = None
    execution_details: str | None = None
    instance_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # A Backup vault subtask's additionalDetails (OriginalDatasourceSizeInBytes, ...).
    details: Mapping[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: object) -> JobTask:
        item = _dict(data)
        status_raw = _text(item.get("status"))
        start = parse_timestamp(item.get("startTime"))
        return cls(
            task_id=_text(item.get("taskId")) or _text(item.get("name")) or "(unnamed task)",
            status=JobStatus.parse(status_raw),
            status_raw=status_raw,
            start_time=start,
            end_time=_ended(start, parse_timestamp(item.get("endTime"))),
            duration=parse_duration(item.get("duration")),
            duration_raw=_text(item.get("duration")),
            progress_percentage=_float(item.get("progressPercentage")),
            execution_details=_text(item.get("taskExecutionDetails")),
            instance_id=_text(item.get("instanceId")),
            raw=item,
        )

    @classmethod
    def from_subtask(cls, data: object) -> JobTask:
        """A Backup vault job's subtask: ``{taskId: 1, taskName, taskStatus, taskProgress,
        additionalDetails}``."""
        item = _dict(data)
        status_raw = _text(item.get("taskStatus"))
        return cls(
            task_id=_text(item.get("taskName")) or _text(item.get("taskId")) or "(unnamed task)",
            status=JobStatus.parse(status_raw),
            status_raw=status_raw,
            progress_percentage=_percent(item.get("taskProgress")),
            raw=item,
            details=_string_map(item.get("additionalDetails")),
        )


# A Backup vault error nests its details (three levels deep in recordings); deeper or wider
# than this is not read, so that no payload can make parsing or rendering unbounded.
MAX_ERROR_DEPTH = 6
MAX_ERROR_DETAILS = 20


@dataclass(frozen=True)
class JobError:
    """One entry of ``errorDetails``; the code is an int on most job types and absent on MAB/DPM.

    A Backup vault reports UserFacingErrors instead: a string code, ``recommendedAction``, the
    inner error's text (kept as ``additional_details``) and nested ``details``.
    """

    code: str | None
    title: str | None
    message: str | None
    recommendations: tuple[str, ...] = ()
    additional_details: str | None = None
    details: tuple[JobError, ...] = ()

    @classmethod
    def from_dict(cls, data: object) -> JobError:
        item = _dict(data)
        recs = tuple(r.strip() for r in (_text(x) for x in _list(item.get("recommendations"))) if r)
        return cls(
            code=_text(item.get("errorCode")),
            title=_text(item.get("errorTitle")) or None,
            message=_text(item.get("errorString")) or _text(item.get("message")),
            recommendations=tuple(r for r in recs if r),
            additional_details=_text(item.get("additionalDetails")) or None,
        )

    @classmethod
    def from_user_facing_error(cls, data: object, depth: int = 0) -> JobError:
        """A Backup vault's UserFacingError: ``{code, message, recommendedAction[], details[],
        innerError {code, additionalInfo {...}}, target, isRetryable, isUserError}``."""
        item = _dict(data)
        recs = (_text(x) for x in _list(item.get("recommendedAction")))
        inner = _dict(_dict(item.get("innerError")).get("additionalInfo"))
        # The inner error's text (DetailedNonLocalisedMessage) often says what actually failed.
        inner_text = "\n".join(v for v in (_text(x) for x in inner.values()) if v and v.strip())
        nested = _list(item.get("details"))[:MAX_ERROR_DETAILS] if depth < MAX_ERROR_DEPTH else []
        return cls(
            code=_text(item.get("code")) or None,
            title=None,
            message=_text(item.get("message")) or None,
            recommendations=tuple(r.strip() for r in recs if r and r.strip()),
            additional_details=inner_text or None,
            details=tuple(cls.from_user_facing_error(d, depth + 1) for d in nested),
        )


@dataclass(frozen=True)
class BackupVaultJobInfo:
    """What only a Backup vault job has, beside the fields every job fills.

    Kept in one object so that a Recovery Services job (most jobs, parsed by the thousand from
    lists) pays for one empty field, not for a dozen.
    """

    datasource_type: str | None = None
    datasource_id: str | None = None
    datasource_resource_group: str | None = None
    backup_instance: str | None = None
    policy_name: str | None = None
    is_user_triggered: bool | None = None
    data_transferred_bytes: int | None = None
    is_cross_region_restore: bool | None = None
    restore_type: str | None = None
    recovery_point_time: datetime | None = None
    recovery_destination: str | None = None
    warnings: tuple[JobError, ...] = ()

    @property
    def datasource_label(self) -> str | None:
        """The datasource type's short name (``Azure Disk``), or the type as it came."""
        return friendly_datasource_type(self.datasource_type)

    @property
    def trigger(self) -> str | None:
        """``on demand`` or ``scheduled`` (``isUserTriggered``)."""
        if self.is_user_triggered is None:
            return None
        return "on demand" if self.is_user_triggered else "scheduled"


@dataclass(frozen=True)
class Job:
    """A backup job resource of either kind of vault. ``raw`` is the resource exactly as the
    service returned it.

    For a Backup vault job, ``entity`` is the datasource's name, ``job_type``,
    ``backup_management_type`` and ``workload_type`` are None, and ``backup_vault`` holds what
    only such jobs have; ``entity_type`` names what the entity is for both kinds.
    """

    id: str
    job_id: str
    job_type: str | None
    status: JobStatus
    status_raw: str | None
    entity: str | None
    operation: str | None
    backup_management_type: str | None
    workload_type: str | None
    start_time: datetime | None
    end_time: datetime | None
    duration: timedelta | None
    duration_raw: str | None
    activity_id: str | None
    actions: frozenset[str]
    errors: tuple[JobError, ...]
    tasks: tuple[JobTask, ...]
    property_bag: Mapping[str, str | None]
    internal_property_bag: Mapping[str, str | None]
    progress_percentage: float | None
    estimated_remaining: timedelta | None
    estimated_remaining_raw: str | None
    dynamic_error_message: str | None
    has_extended_info: bool
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    backup_vault: BackupVaultJobInfo | None = None

    @property
    def kind(self) -> str:
        return normalize_job_kind(self.job_type)

    @property
    def vault_kind(self) -> VaultKind:
        return VaultKind.RECOVERY_SERVICES if self.backup_vault is None else VaultKind.BACKUP

    @property
    def is_backup_vault(self) -> bool:
        return self.backup_vault is not None

    @property
    def status_label(self) -> str:
        """The status word to show: the normalized state, or the word itself when unknown."""
        if self.status is JobStatus.UNKNOWN and self.status_raw:
            return self.status_raw
        return self.status.value

    @property
    def is_terminal(self) -> bool:
        """Ended. A status word nobody knows counts as ended only once there is an end time."""
        return _has_ended(self.status, self.end_time)

    @property
    def is_cancellable(self) -> bool:
        """Backup vaults have no cancel, whatever their ``supportedActions`` say."""
        return not self.is_backup_vault and "Cancellable" in self.actions

    @property
    def entity_type(self) -> str | None:
        """What the entity is: the backup management type of a Recovery Services job, the
        datasource type's short name of a Backup vault job (``Azure Disk``)."""
        if self.backup_vault is not None:
            return self.backup_vault.datasource_label
        return self.backup_management_type

    @property
    def duration_is_placeholder(self) -> bool:
        """A Backup vault reports ``PT0S`` (``00:00:00`` in lists) for every running job: that
        is no measurement, so ``duration`` is None although the wire had a value."""
        return (
            self.is_backup_vault
            and self.duration is None
            and not self.is_terminal
            and parse_duration(self.duration_raw) == timedelta(0)
        )

    @property
    def was_cancelled(self) -> bool:
        """Cancelled, or the VM-backup form: CompletedWithWarnings with error 400158."""
        if self.status is JobStatus.CANCELLED:
            return True
        return self.status is JobStatus.COMPLETED_WITH_WARNINGS and any(
            e.code == str(JOB_CANCELLED_ERROR_CODE)
            or (e.title or "").lower() == "userjobsuccessfullycancelled"
            or (e.title or "").lower() == "usererrorjobsuccessfullycancelled"
            for e in self.errors
        )

    @property
    def shown_status(self) -> JobStatus:
        """The status people should read: Cancelled for the VM-backup form of a cancellation,
        so that symbols and colours agree with the exit code (7)."""
        return JobStatus.CANCELLED if self.was_cancelled else self.status

    def status_words(self, limit: int = 30) -> str:
        """The status as every row, line and message shows it: the word as sent (cleaned, at
        most ``limit`` characters), and for a VM backup cancelled into CompletedWithWarnings
        ``Cancelled (CompletedWithWarnings, 400158)``, which says both what happened and what
        the service sent."""
        word = sanitize(self.status_raw or self.status.value, limit)
        if self.was_cancelled and self.status is not JobStatus.CANCELLED:
            return f"Cancelled ({word}, {JOB_CANCELLED_ERROR_CODE})"
        return word

    @property
    def operation_kind(self) -> str:
        """``Backup (Full)`` -> ``Backup``: workload jobs add the backup type in parentheses."""
        op = (self.operation or "").strip()
        return op.split(" (", 1)[0] if op else ""

    @classmethod
    def from_dict(cls, data: object) -> Job:
        """Parse a job resource of either kind; only a body that is not a job at all is an
        error."""
        if not isinstance(data, dict):
            raise UnexpectedResponseError(
                f"expected a job resource (a JSON object), got {type(data).__name__}"
            )
        props = data.get("properties")
        if not isinstance(props, dict):
            raise UnexpectedResponseError("the job resource has no 'properties' object")
        if is_backup_vault_job(data):
            return cls._from_backup_vault(data, props)
        ext_raw = props.get("extendedInfo")
        ext = _dict(ext_raw)
        resource_id = _text(data.get("id")) or ""
        name = _text(data.get("name")) or resource_id.rsplit("/", 1)[-1]
        status_raw = _text(props.get("status"))
        start = parse_timestamp(props.get("startTime"))
        return cls(
            id=resource_id,
            job_id=name,
            job_type=_text(props.get("jobType")),
            status=JobStatus.parse(status_raw),
            status_raw=status_raw,
            entity=_text(props.get("entityFriendlyName")),
            operation=_text(props.get("operation")),
            backup_management_type=_text(props.get("backupManagementType")),
            workload_type=_text(props.get("workloadType")),
            start_time=start,
            end_time=_ended(start, parse_timestamp(props.get("endTime"))),
            duration=parse_duration(props.get("duration")),
            duration_raw=_text(props.get("duration")),
            activity_id=_text(props.get("activityId")),
            actions=_actions(props.get("actionsInfo")),
            errors=tuple(JobError.from_dict(e) for e in _list(props.get("errorDetails"))),
            tasks=tuple(JobTask.from_dict(t) for t in _list(ext.get("tasksList"))),
            property_bag=_string_map(ext.get("propertyBag")),
            internal_property_bag=_string_map(ext.get("internalPropertyBag")),
            progress_percentage=_float(ext.get("progressPercentage")),
            estimated_remaining=parse_duration(ext.get("estimatedRemainingDuration")),
            estimated_remaining_raw=_text(ext.get("estimatedRemainingDuration")),
            dynamic_error_message=_text(ext.get("dynamicErrorMessage")) or None,
            has_extended_info=isinstance(ext_raw, dict),
            raw=data,
        )

    @classmethod
    def _from_backup_vault(cls, data: dict[str, Any], props: dict[str, Any]) -> Job:
        """A Backup vault (Microsoft.DataProtection) job: every key optional, since api-version
        2021-01-01 omits null keys and later versions send them as null; list items have
        ``extendedInfo: null``."""
        ext_raw = props.get("extendedInfo")
        ext = _dict(ext_raw)
        resource_id = _text(data.get("id")) or ""
        name = _text(data.get("name")) or resource_id.rsplit("/", 1)[-1]
        status_raw = _text(props.get("status"))
        status = JobStatus.parse(status_raw)
        start = parse_timestamp(props.get("startTime"))
        end = _ended(start, parse_timestamp(props.get("endTime")))
        duration_raw = _text(props.get("duration"))
        duration = parse_duration(duration_raw)
        if duration == timedelta(0) and not _has_ended(status, end):
            duration = None  # the service's placeholder while a job runs, not a measurement
        category = _text(props.get("operationCategory")) or None
        source_id = _text(props.get("dataSourceId")) or None
        crr = _bool(props.get("isCrossRegionRestore"))
        if category is not None and category.lower() == "crossregionrestore":
            crr = True
        point = _dict(ext.get("sourceRecoverPoint")) or _dict(ext.get("targetRecoverPoint"))
        transferred = ext.get("dataTransferredInBytes")
        if transferred is None:
            transferred = ext.get("dataTransferedInBytes")  # the 2021-2022 spelling
        return cls(
            id=resource_id,
            job_id=name,
            job_type=None,
            status=status,
            status_raw=status_raw,
            entity=_entity(props),
            # operationCategory says CrossRegionRestore where operation says only Restore.
            operation=category or _text(props.get("operation")),
            backup_management_type=None,
            workload_type=None,
            start_time=start,
            end_time=end,
            duration=duration,
            duration_raw=duration_raw,
            activity_id=_text(props.get("activityID")) or _text(props.get("activityId")),
            actions=_actions(props.get("supportedActions")),
            errors=_user_facing_errors(props.get("errorDetails")),
            tasks=tuple(JobTask.from_subtask(t) for t in _list(ext.get("subTasks"))),
            property_bag=_string_map(ext.get("additionalDetails")),
            internal_property_bag={},
            progress_percentage=None,
            estimated_remaining=None,
            estimated_remaining_raw=None,
            dynamic_error_message=None,
            has_extended_info=isinstance(ext_raw, dict),
            raw=data,
            backup_vault=BackupVaultJobInfo(
                datasource_type=_text(props.get("dataSourceType")) or None,
                datasource_id=source_id,
                datasource_resource_group=_resource_group_of(source_id)
                or _text(props.get("sourceResourceGroup"))
                or None,
                backup_instance=_text(props.get("backupInstanceFriendlyName")) or None,
                policy_name=_text(props.get("policyName")) or None,
                is_user_triggered=_bool(props.get("isUserTriggered")),
                data_transferred_bytes=_int(transferred),
                is_cross_region_restore=crr,
                restore_type=_text(props.get("restoreType")) or None,
                recovery_point_time=parse_timestamp(point.get("recoveryPointTime")),
                recovery_destination=_text(ext.get("recoveryDestination")) or None,
                warnings=_user_facing_errors(ext.get("warningDetails")),
            ),
        )

    def elapsed(self, now: datetime) -> timedelta | None:
        """Time the job has run: end - start when ended, else now - start (never negative)."""
        if self.start_time is None:
            return self.duration
        end = self.end_time if self.is_terminal and self.end_time else now
        delta = end - self.start_time
        if self.is_terminal and self.end_time is None and self.duration is not None:
            return self.duration
        return max(delta, timedelta(0))


def _entity(props: Mapping[str, Any]) -> str | None:
    """A Backup vault job's datasource name; with its set when that says more (a PostgreSQL
    database is ``server/db``, whereas a disk's set, if any, is the disk itself)."""
    name = _text(props.get("dataSourceName")) or None
    group = _text(props.get("dataSourceSetName")) or None
    if name is None:
        return _text(props.get("backupInstanceFriendlyName")) or group
    if group is not None and group != name:
        return f"{group}/{name}"
    return name


def _user_facing_errors(value: object) -> tuple[JobError, ...]:
    return tuple(JobError.from_user_facing_error(e) for e in _list(value))


# Values that tick with the clock or with every write of the record, not with what the job does:
# the job's own, its extendedInfo's, and each task's (``tasksList`` of a Recovery Services job,
# ``subTasks`` of a Backup vault job). The one rule of what a change is, for every reader.
_TICKING_PROPERTIES = frozenset({"duration", "etag"})
_TICKING_EXTENDED = frozenset({"estimatedRemainingDuration"})
_TICKING_TASK = frozenset({"duration", "estimatedRemainingDuration"})
_TASK_LISTS = ("tasksList", "subTasks")


def _without(data: Mapping[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def change_key(raw: Mapping[str, Any]) -> Any:
    """What counts as a change of a job: everything but the values that only tick with the
    clock (durations and the estimated time remaining, the job's and each task's) and a Backup
    vault job's ``etag``.

    A running job's durations grow on every poll; a line per poll of ``watch -o ndjson`` would
    bury the three that a person would call changes. Status, progress, end time, errors and
    property bags stay in the key, as does anything not known to tick.
    """
    props = raw.get("properties")
    if not isinstance(props, dict):
        return raw
    trimmed = _without(props, _TICKING_PROPERTIES)
    ext = props.get("extendedInfo")
    if isinstance(ext, dict):
        ext_trimmed = _without(ext, _TICKING_EXTENDED)
        for name in _TASK_LISTS:
            tasks = ext.get(name)
            if isinstance(tasks, list):
                ext_trimmed[name] = [
                    _without(t, _TICKING_TASK) if isinstance(t, dict) else t for t in tasks
                ]
        trimmed["extendedInfo"] = ext_trimmed
    return {**raw, "properties": trimmed}


# Operation words that mean "not finished yet": Recovery Services says InProgress, Backup vaults
# say Inprogress (lower-case p), ARM's generic ones are Accepted and Running.
_OPERATION_RUNNING = frozenset({"inprogress", "invalid", "", "accepted", "running", "started"})


@dataclass(frozen=True)
class OperationStatus:
    """The body of an operation: Recovery Services ``operationsStatus/{id}`` or
    ``backupOperations/{id}``, Backup vault ``operationStatus/{id}`` (``properties.jobId`` a
    full ARM job id) or ``operationResults/{id}`` (``{jobId, objectType}``, no status: a result
    is only given once the operation succeeded).

    ``job_ids`` are kept as sent, a GUID or a job's full ARM id; ``ids.parse_job_ref`` reads
    either.
    """

    id: str
    status: str
    job_ids: tuple[str, ...]
    error_code: str | None
    error_message: str | None
    raw: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def is_done(self) -> bool:
        return self.status.lower() not in _OPERATION_RUNNING

    @property
    def succeeded(self) -> bool:
        return self.status.lower() == "succeeded"

    @classmethod
    def from_dict(cls, data: object) -> OperationStatus:
        if not isinstance(data, dict):
            raise UnexpectedResponseError(
                f"expected an operation status (a JSON object), got {type(data).__name__}"
            )
        props = _dict(data.get("properties"))
        status = _text(data.get("status"))
        if status is None and ("objectType" in data or isinstance(data.get("jobId"), str)):
            # An operationResults body: the result itself, there only once it succeeded.
            props, status = data, "Succeeded"
        if status is None:
            raise UnexpectedResponseError("the operation status has no 'status'")
        job_ids: list[str] = []
        if isinstance(props.get("jobId"), str):
            job_ids.append(props["jobId"])
        job_ids.extend(j for j in _list(props.get("jobIds")) if isinstance(j, str))
        error = _dict(data.get("error"))
        return cls(
            id=_text(data.get("id")) or _text(data.get("name")) or "",
            status=status,
            job_ids=tuple(dict.fromkeys(j for j in job_ids if j.strip())),
            error_code=_text(error.get("code")),
            error_message=_text(error.get("message")) or _user_facing_message(error),
            raw=data,
        )


def _user_facing_message(error: Mapping[str, Any]) -> str | None:
    """The message of the first UserFacingError in an ARM error's ``additionalInfo``."""
    for item in _list(error.get("additionalInfo")):
        message = _text(_dict(_dict(item).get("info")).get("message"))
        if message:
            return message
    return None
