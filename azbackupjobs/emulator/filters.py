"""The ``$filter`` grammar of the jobs list: ``key eq 'value'`` clauses joined by `` and ``.

Only what the service accepts is accepted: the six keys, the ``eq`` operator, single-quoted
values, and the ``yyyy-MM-dd hh:mm:ss tt`` dates of the time window (at most 30 days long).
Anything else raises :class:`FilterError`, which the routes turn into the service's 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .scenarios import JobScenario
from .wire import parse_filter_date

MAX_WINDOW_SECONDS: Final = 30 * 86_400.0

JOB_STATUSES: Final = (
    "Invalid", "InProgress", "Completed", "Failed", "CompletedWithWarnings", "Cancelled",
    "Cancelling",
)  # fmt: skip
JOB_OPERATIONS: Final = (
    "Invalid", "Register", "UnRegister", "ConfigureBackup", "Backup", "Restore", "DisableBackup",
    "DeleteBackupData", "CrossRegionRestore", "Undelete", "UpdateCustomerManagedKey",
    "BackupDataMove", "MoveRecoveryPoint", "RestoreWithRehydrate",
)  # fmt: skip
BACKUP_MANAGEMENT_TYPES: Final = (
    "Invalid", "AzureIaasVM", "MAB", "DPM", "AzureBackupServer", "AzureSql", "AzureStorage",
    "AzureWorkload", "DefaultBackup",
)  # fmt: skip
_KEYS: Final = {
    k.lower(): k
    for k in ("status", "operation", "backupManagementType", "jobId", "startTime", "endTime")
}
_GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_CLAUSE_RE = re.compile(r"^\s*(?P<key>[A-Za-z]+)\s+(?P<op>[A-Za-z]+)\s+(?P<value>.*?)\s*$")
_AND_RE = re.compile(r"\s+and\s+", re.IGNORECASE)
_OR_RE = re.compile(r"\s+or\s+|^\s*not\s+|\(|\)", re.IGNORECASE)


class FilterError(ValueError):
    """A filter the service would refuse; the message is what the 400 says."""


@dataclass(frozen=True)
class JobFilter:
    status: str | None = None
    operation: str | None = None
    backup_management_type: str | None = None
    job_id: str | None = None
    start_time: float | None = None
    end_time: float | None = None

    def matches_static(self, s: JobScenario) -> bool:
        """Everything but the status, which depends on the time (see :meth:`matches_status`)."""
        if self.job_id is not None and s.job_id != self.job_id:
            return False
        if self.backup_management_type is not None and (
            (s.backup_management_type or "").lower() != self.backup_management_type
        ):
            return False
        if self.operation is not None:
            op = s.operation.lower()
            if op != self.operation and not op.startswith(self.operation + " ("):
                return False
        if self.start_time is not None and s.start < self.start_time:
            return False
        return not (self.end_time is not None and s.start > self.end_time)

    def matches_status(self, status: str) -> bool:
        return self.status is None or status.lower() == self.status


def _unquote(key: str, raw: str) -> str:
    if len(raw) < 2 or raw[0] != "'" or raw[-1] != "'":
        raise FilterError(
            f"Invalid filter: the value of '{key}' must be enclosed in single quotes, "
            f"as in {key} eq 'value'."
        )
    return raw[1:-1].replace("''", "'")


def _enum(key: str, value: str, allowed: tuple[str, ...]) -> str:
    lowered = {a.lower(): a for a in allowed}
    if value.lower() not in lowered:
        raise FilterError(
            f"Invalid filter: '{value}' is not a valid value for '{key}'. "
            f"Valid values are: {', '.join(allowed)}."
        )
    return value.lower()


def _date(key: str, value: str) -> float:
    try:
        return parse_filter_date(value)
    except ValueError:
        raise FilterError(
            f"Invalid filter: '{value}' is not a valid value for '{key}'. Dates must be UTC "
            "in the format 'yyyy-MM-dd hh:mm:ss tt', for example '2024-01-31 01:30:00 PM'."
        ) from None


def parse_clauses(text: str, keys: dict[str, str]) -> dict[str, str]:
    """``key eq 'value'`` clauses joined by `` and `` -> {key: value}; ``keys`` maps the
    lower-case keys accepted to their spelling. FilterError for anything else."""
    if _OR_RE.search(text):
        raise FilterError(
            "Invalid filter: only clauses of the form key eq 'value' joined by 'and' are "
            "supported ('or', 'not' and parentheses are not)."
        )
    values: dict[str, str] = {}
    for clause in _AND_RE.split(text.strip()):
        match = _CLAUSE_RE.match(clause)
        if not match:
            raise FilterError(f'Invalid filter: cannot parse the clause "{clause.strip()}".')
        key = keys.get(match["key"].lower())
        if key is None:
            raise FilterError(
                f"Invalid filter: '{match['key']}' is not a supported filter property. "
                f"Supported properties are: {', '.join(keys.values())}."
            )
        if match["op"].lower() != "eq":
            raise FilterError(
                f"Invalid filter: operator '{match['op']}' is not supported for '{key}'. "
                "Only 'eq' is supported."
            )
        if key in values:
            raise FilterError(f"Invalid filter: '{key}' is given more than once.")
        values[key] = _unquote(key, match["value"])
    return values


def parse_filter(text: str | None) -> JobFilter:
    """Parse a ``$filter`` value (already URL-decoded)."""
    if text is None or not text.strip():
        return JobFilter()
    values = parse_clauses(text, _KEYS)

    # An empty value means "any" (PowerShell sends operation eq '' and gets every job).
    given = {k: v for k, v in values.items() if v.strip()}
    job_id = given.get("jobId")
    if job_id is not None and not _GUID_RE.match(job_id):
        raise FilterError(f"Invalid filter: jobId '{job_id}' is not a GUID.")
    start = _date("startTime", given["startTime"]) if "startTime" in given else None
    end = _date("endTime", given["endTime"]) if "endTime" in given else None
    if start is not None and end is not None:
        if start > end:
            raise FilterError("Invalid filter: startTime must not be later than endTime.")
        if end - start > MAX_WINDOW_SECONDS:
            raise FilterError(
                "Invalid filter: the time range between startTime and endTime must not "
                "exceed 30 days."
            )
    return JobFilter(
        status=_enum("status", given["status"], JOB_STATUSES) if "status" in given else None,
        operation=(
            _enum("operation", given["operation"], JOB_OPERATIONS) if "operation" in given else None
        ),
        backup_management_type=(
            _enum("backupManagementType", given["backupManagementType"], BACKUP_MANAGEMENT_TYPES)
            if "backupManagementType" in given
            else None
        ),
        job_id=job_id.lower() if job_id else None,
        start_time=start,
        end_time=end,
    )
