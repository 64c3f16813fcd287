"""Typed, immutable views of the ARM job payloads, parsed once from the wire JSON.

The service has sent many shapes over the years (see the README's notes on payloads): durations
as ISO 8601 or .NET TimeSpan, timestamps with 0-7 fractional digits, ``0001-01-01T00:00:00`` for
"unset", ``actionsInfo`` as ``[1]`` or ``["Cancellable"]``, explicit nulls, and job types that did
not exist when this was written. Parsing is therefore lenient field by field: a field of the wrong
type becomes "unknown" instead of an exception, and the raw dict is kept for JSON output.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from azbackupjobs.model.errors import UnexpectedResponseError


class JobStatus(StrEnum):
    """Job and task states, with the terminal set beside them."""

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


def normalize_job_kind(job_type: str | None) -> str:
    """``AzureIaaSVMJobV2`` and ``AzureIaaSVMJob`` are the same kind of job."""
    if not job_type:
        return "Unknown"
    return job_type[:-2] if job_type.endswith("V2") else job_type


def _actions(value: object) -> frozenset[str]:
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
    """One entry of ``extendedInfo.tasksList``; fields a job type lacks stay None."""

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


@dataclass(frozen=True)
class JobError:
    """One entry of ``errorDetails``; the code is an int on most job types and absent on MAB/DPM."""

    code: str | None
    title: str | None
    message: str | None
    recommendations: tuple[str, ...] = ()
    additional_details: str | None = None

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


@dataclass(frozen=True)
class Job:
    """A backup job resource. ``raw`` is the resource exactly as the service returned it."""

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

    @property
    def kind(self) -> str:
        return normalize_job_kind(self.job_type)

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def is_cancellable(self) -> bool:
        return "Cancellable" in self.actions

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
    def operation_kind(self) -> str:
        """``Backup (Full)`` -> ``Backup``: workload jobs add the backup type in parentheses."""
        op = (self.operation or "").strip()
        return op.split(" (", 1)[0] if op else ""

    @classmethod
    def from_dict(cls, data: object) -> Job:
        """Parse a job resource; only a body that is not a job at all is an error."""
        if not isinstance(data, dict):
            raise UnexpectedResponseError(
                f"expected a job resource (a JSON object), got {type(data).__name__}"
            )
        props = data.get("properties")
        if not isinstance(props, dict):
            raise UnexpectedResponseError("the job resource has no 'properties' object")
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

    def elapsed(self, now: datetime) -> timedelta | None:
        """Time the job has run: end - start when ended, else now - start (never negative)."""
        if self.start_time is None:
            return self.duration
        end = self.end_time if self.is_terminal and self.end_time else now
        delta = end - self.start_time
        if self.is_terminal and self.end_time is None and self.duration is not None:
            return self.duration
        return max(delta, timedelta(0))


def change_key(raw: Mapping[str, Any]) -> Any:
    """What counts as a change of a job: everything but ``properties.duration``.

    A running job's duration grows on every poll; without this every poll would be a "change".
    """
    props = raw.get("properties")
    if not isinstance(props, dict):
        return raw
    trimmed = {k: v for k, v in props.items() if k != "duration"}
    return {**raw, "properties": trimmed}


@dataclass(frozen=True)
class OperationStatus:
    """The body of ``operationsStatus/{id}`` or ``backupOperations/{id}``."""

    id: str
    status: str
    job_ids: tuple[str, ...]
    error_code: str | None
    error_message: str | None
    raw: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def is_done(self) -> bool:
        return self.status.lower() not in {"inprogress", "invalid", ""}

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
        job_ids: list[str] = []
        if isinstance(props.get("jobId"), str):
            job_ids.append(props["jobId"])
        job_ids.extend(j for j in _list(props.get("jobIds")) if isinstance(j, str))
        error = _dict(data.get("error"))
        status = _text(data.get("status"))
        if status is None:
            raise UnexpectedResponseError("the operation status has no 'status'")
        return cls(
            id=_text(data.get("id")) or _text(data.get("name")) or "",
            status=status,
            job_ids=tuple(dict.fromkeys(job_ids)),
            error_code=_text(error.get("code")),
            error_message=_text(error.get("message")),
            raw=data,
        )
