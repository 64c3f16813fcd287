"""The ``$filter`` of the jobs list, and the time window it covers.

The service understands a small OData subset: ``key eq 'value'`` clauses joined by `` and ``,
with times in UTC written ``yyyy-MM-dd hh:mm:ss tt`` (12-hour clock, en-US AM/PM). It accepts a
window of at most 30 days, so longer windows are split here. Every value that reaches a clause
comes from a fixed list (status, operation, management type), is a validated GUID, or is a time
this module formatted itself: no user text, and so no quote, can reach the filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from azbackupjobs.model import ids
from azbackupjobs.model.errors import UsageError
from azbackupjobs.model.text import sanitize

# The service's spelling of the filterable values (JobStatus, JobOperationType and
# BackupManagementType of the REST API, without their "Invalid" placeholder).
STATUSES: tuple[str, ...] = (
    "InProgress",
    "Completed",
    "CompletedWithWarnings",
    "Failed",
    "Cancelling",
    "Cancelled",
)
OPERATIONS: tuple[str, ...] = (
    "Backup",
    "Restore",
    "ConfigureBackup",
    "DisableBackup",
    "DeleteBackupData",
    "CrossRegionRestore",
    "Undelete",
    "UpdateCustomerManagedKey",
    "Register",
    "UnRegister",
)
MANAGEMENT_TYPES: tuple[str, ...] = (
    "AzureIaasVM",
    "AzureStorage",
    "AzureWorkload",
    "MAB",
    "DPM",
    "AzureBackupServer",
    "AzureSql",
    "DefaultBackup",
)
# Spellings people type that mean the same value (operation statuses spell "Canceled").
_ALIASES: dict[str, str] = {"canceled": "Cancelled", "canceling": "Cancelling"}

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=30)
_RELATIVE = re.compile(r"^(?P<amount>\d{1,12})\s*(?P<unit>[smhdw])$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# What may appear inside quotes in a clause: a last line of defence, never expected to trip.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9: -]+$")


def _key(value: str) -> str:
    return re.sub(r"[\s_-]", "", value).lower()


def normalize_choice(value: str, choices: Sequence[str], flag: str) -> str:
    """Any casing (and ``-``/``_`` separators) in, the service's spelling out; else exit 2."""
    wanted = _key(value)
    for choice in choices:
        if _key(choice) == wanted:
            return choice
    alias = _ALIASES.get(wanted)
    if alias is not None and alias in choices:
        return alias
    shown = sanitize(value, 60) or "(empty)"
    raise UsageError(f"{flag}: unknown value {shown!r}; use one of: {', '.join(choices)}")


def normalize_statuses(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated and comma-separated ``--status`` values, validated, without duplicates."""
    found: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            status = normalize_choice(part, STATUSES, "--status")
            if status not in found:
                found.append(status)
    return tuple(found)


def normalize_operation(value: str) -> str:
    return normalize_choice(value, OPERATIONS, "--operation")


def normalize_management_type(value: str) -> str:
    return normalize_choice(value, MANAGEMENT_TYPES, "--type")


# ----- time -------------------------------------------------------------------------------------
def service_time(moment: datetime) -> str:
    """``yyyy-MM-dd hh:mm:ss tt`` in UTC, as the service (and its .NET clients) write it.

    Built by hand rather than with ``%I %p``: ``%p`` follows the C library's locale, and the
    service wants the en-US ``AM``/``PM``. Midnight is ``12:00:00 AM``, noon ``12:00:00 PM``.
    """
    utc = moment.astimezone(UTC)
    hour12 = utc.hour % 12 or 12
    meridiem = "AM" if utc.hour < 12 else "PM"
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
        f"{hour12:02d}:{utc.minute:02d}:{utc.second:02d} {meridiem}"
    )


def parse_when(
    value: str,
    flag: str,
    *,
    now: datetime,
    tz: tzinfo | None = None,
    end_of_day: bool = False,
) -> datetime:
    """``90m``/``24h``/``7d``/``2w`` ago, ``now``, or an ISO date or date-time; aware, UTC.

    A date or time without a zone is local time (``tz``, else the system's zone). A bare date is
    the start of that day, or, with ``end_of_day`` (``--until``), the end of it: ``--until
    2024-05-01`` includes the whole of May 1st.
    """
    text = value.strip()
    if text.lower() == "now":
        return now.astimezone(UTC)
    relative = _RELATIVE.match(text)
    if relative:
        amount = int(relative["amount"])
        unit = _UNITS[relative["unit"].lower()]
        return (now - timedelta(**{unit: amount})).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        shown = sanitize(value, 60) or "(empty)"
        raise UsageError(
            f"{flag}: cannot read {shown!r} as a time; use 90m, 24h, 7d, 2w, now, a date "
            "(2024-05-01) or a date and time (2024-05-01T14:30, 2024-05-01T12:30Z)"
        ) from None
    if _DATE_ONLY.match(text) and end_of_day:
        parsed += timedelta(days=1)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz) if tz is not None else parsed.astimezone()
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """A time window ``[start, end]``, both aware datetimes in UTC. ``asked``: its span as
    asked for, before the ends were rounded out to whole seconds (``--since 366d`` is 366 days,
    not 366 days and the second the rounding adds)."""

    start: datetime
    end: datetime
    asked: timedelta | None = None

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    @property
    def asked_span(self) -> timedelta:
        return self.span if self.asked is None else self.asked


def resolve_window(
    since: str | None,
    until: str | None,
    *,
    now: datetime,
    tz: tzinfo | None = None,
) -> Window:
    """The window asked for: the 24 hours before ``--until`` (default now) unless ``--since``.

    Dates at the very ends of the calendar (year 1, year 9999) are refused as usage errors.

    The service reads whole seconds, so the start is floored and the end rounded up: a job that
    started in the last fraction of a second is still inside, and split windows stay exact.
    """
    try:
        end = (
            parse_when(until, "--until", now=now, tz=tz, end_of_day=True)
            if until
            else (now.astimezone(UTC))
        )
        asked_end = end
        if end.microsecond:
            end = end.replace(microsecond=0) + timedelta(seconds=1)
        start = parse_when(since, "--since", now=now, tz=tz) if since else end - DEFAULT_WINDOW
        asked = asked_end - start if since else None
    except (OverflowError, ValueError):  # ValueError: year 1 in a zone east of UTC, etc.
        raise UsageError(
            "--since/--until: the time is outside the calendar azjobs can handle"
        ) from None
    start = start.replace(microsecond=0)
    if start.year <= 1 or end.year >= 9999:  # nothing to list there, and no room to compute
        raise UsageError("--since/--until: the time is outside the calendar azjobs can handle")
    if start >= end:
        raise UsageError(
            f"--since ({start:%Y-%m-%d %H:%M:%S} UTC) must be before --until "
            f"({end:%Y-%m-%d %H:%M:%S} UTC)"
        )
    return Window(start, end, asked)


def split_window(window: Window, max_span: timedelta = MAX_WINDOW) -> list[Window]:
    """Windows the service accepts (at most ``max_span`` each), newest first, end to start."""
    parts: list[Window] = []
    end = window.end
    while end > window.start:
        try:
            start = max(window.start, end - max_span)
        except OverflowError:  # within max_span of year 1
            start = window.start
        parts.append(Window(start, end))
        end = start
    return parts


# ----- the filter ------------------------------------------------------------------------------
def _clause(key: str, value: str) -> str:
    if not _SAFE_VALUE.match(value):  # pragma: no cover - values are validated before
        raise UsageError(f"refusing to put {sanitize(value, 40)!r} into a filter")
    return f"{key} eq '{value}'"


def build_filter(
    window: Window | None = None,
    *,
    status: str | None = None,
    operation: str | None = None,
    management_type: str | None = None,
    job_id: str | None = None,
) -> str:
    """The ``$filter`` value (not yet URL-encoded), clauses in the order of the API's examples."""
    clauses: list[str] = []
    if window is not None:
        clauses.append(_clause("startTime", service_time(window.start)))
        clauses.append(_clause("endTime", service_time(window.end)))
    if operation is not None:
        clauses.append(_clause("operation", normalize_operation(operation)))
    if management_type is not None:
        clauses.append(_clause("backupManagementType", normalize_management_type(management_type)))
    if status is not None:
        clauses.append(_clause("status", normalize_choice(status, STATUSES, "--status")))
    if job_id is not None:
        clauses.append(_clause("jobId", ids.validate_guid(job_id.strip(), "--job-id")))
    return " and ".join(clauses)
