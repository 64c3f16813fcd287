"""Backup jobs across a fleet of vaults: the Resource Graph (KQL) queries, and their rows read back
as job resources.

Azure Resource Graph keeps every vault's jobs in its ``RecoveryServicesResources`` table, so one
query covers hundreds of vaults. The filters of ``azjobs list`` are compiled into that query (pushed
down, not applied to the rows here). No user text reaches the query unchecked: statuses,
operations and management types come from fixed lists, a job id is a validated GUID, times are
formatted here, and the one free text (``--entity``) goes through :func:`kql_string`, which writes a
KQL string literal that cannot end early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azbackupjobs.model import ids
from azbackupjobs.model.errors import UnexpectedResponseError, UsageError
from azbackupjobs.model.kinds import VaultKind, vault_kind_of
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.filters import STATUSES, Window

TABLE = "RecoveryServicesResources"
ROW_TYPE = "microsoft.recoveryservices/vaults/backupjobs"
JOB_RESOURCE_TYPE = "Microsoft.RecoveryServices/vaults/backupJobs"
# Backup vault jobs live in the same table; one query covers both kinds.
BACKUP_VAULT_ROW_TYPE = "microsoft.dataprotection/backupvaults/backupjobs"
BACKUP_VAULT_JOB_RESOURCE_TYPE = "Microsoft.DataProtection/backupVaults/backupJobs"
ROW_TYPES: dict[VaultKind, str] = {
    VaultKind.RECOVERY_SERVICES: ROW_TYPE,
    VaultKind.BACKUP: BACKUP_VAULT_ROW_TYPE,
}
# The Backup vault API's words for the same states (its spec writes Started and Succeeded).
_STATUS_SYNONYMS: dict[str, tuple[str, ...]] = {
    "InProgress": ("Started",),
    "Completed": ("Succeeded",),
}
# A datasource type as ``--type`` gives it (validated by model.datasources): safe in a literal.
_DATASOURCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9.]*(/[a-z][a-z0-9]*)+$")
BY_CHOICES = ("vault", "status", "operation")
MAX_ENTITY_LENGTH = 256
# Management group ids: letters, digits, '-', '_', '.', '(' and ')', up to 90 characters.
MANAGEMENT_GROUP_RE = re.compile(r"^[-\w.()]{1,90}$", re.ASCII)
# The columns of a job row, as ``azjobs`` projects them.
ROW_COLUMNS = (
    "id",
    "name",
    "type",
    "tenantId",
    "location",
    "resourceGroup",
    "subscriptionId",
    "properties",
)


# ----- literals ---------------------------------------------------------------------------------
def kql_string(value: str) -> str:
    """A single-quoted KQL string literal holding exactly ``value``.

    Inside single quotes KQL reads a backslash as an escape, so both the backslash and the quote
    are escaped; control characters (which no entity name holds) are refused rather than encoded.
    """
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029" for ch in value):
        raise UsageError(
            f"refusing to put {sanitize(value, 40)!r} into a query: it holds control characters"
        )
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def kql_datetime(moment: datetime) -> str:
    """``datetime(2024-05-01T12:00:00Z)``: UTC, whole seconds."""
    utc = moment.astimezone(UTC)
    return f"datetime({utc:%Y-%m-%dT%H:%M:%S}Z)"


def _enum_literal(value: str, choices: Sequence[str]) -> str:
    """A value from a fixed list, checked once more at the last moment (never expected to trip)."""
    if value not in choices:  # pragma: no cover - callers normalise first
        raise UsageError(f"refusing to put {sanitize(value, 40)!r} into a query")
    return kql_string(value)


# ----- what to ask ------------------------------------------------------------------------------
# The filters of ``azjobs list``, as every source takes them.
FleetFilters = JobQuery


def validate_entity(value: str | None) -> str | None:
    """``--entity`` text: stripped, at most 256 characters, no control characters."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > MAX_ENTITY_LENGTH:
        raise UsageError(f"--entity: at most {MAX_ENTITY_LENGTH} characters")
    kql_string(text)  # refuses control characters, with the same message as the query would
    return text


def _status_clause(filters: FleetFilters) -> str | None:
    if not filters.statuses:
        return None
    words: list[str] = []
    for status in filters.statuses:
        words.append(_enum_literal(status, STATUSES))
        words += [kql_string(w) for w in _STATUS_SYNONYMS.get(status, ())]
    return f"status in~ ({', '.join(words)})"


def _where_clauses(filters: FleetFilters, *, with_status: bool = True) -> list[str]:
    from azbackupjobs.sources.filters import MANAGEMENT_TYPES, OPERATIONS

    clauses = [
        f"startTime >= {kql_datetime(filters.window.start)} and "
        f"startTime <= {kql_datetime(filters.window.end)}"
    ]
    status = _status_clause(filters) if with_status else None
    if status is not None:
        clauses.append(status)
    if filters.operation is not None:
        # Workload jobs write the backup type after the operation: "Backup (Full)".
        exact = _enum_literal(filters.operation, OPERATIONS)
        prefix = kql_string(filters.operation + " (")
        # Backup vault jobs say CrossRegionRestore in operationCategory (operation: Restore).
        clauses.append(
            f"operation =~ {exact} or operation startswith {prefix} or "
            f"tostring(properties.operationCategory) =~ {exact}"
        )
    if filters.management_type is not None:
        value = _enum_literal(filters.management_type, MANAGEMENT_TYPES)
        clauses.append(f"tostring(properties.backupManagementType) =~ {value}")
    if filters.datasource_types:
        for found in filters.datasource_types:
            if not _DATASOURCE_TYPE_RE.fullmatch(found):  # pragma: no cover - validated before
                raise UsageError(f"refusing to put {sanitize(found, 40)!r} into a query")
        listed = ", ".join(kql_string(t) for t in filters.datasource_types)
        clauses.append(f"tostring(properties.dataSourceType) in~ ({listed})")
    if filters.job_id is not None:
        clauses.append(f"name =~ {kql_string(ids.validate_guid(filters.job_id, '--job-id'))}")
    if filters.entity is not None:
        clauses.append(f"entity contains {kql_string(filters.entity)}")
    return clauses


def _extends(filters: FleetFilters, more: str = "") -> str:
    """The columns a query's clauses read beyond the head's: ``entity`` is what a Recovery
    Services job calls its entity and a Backup vault job its datasource (a newline apart, which
    no ``--entity`` text holds, so that a match cannot span both)."""
    if filters.entity is None:
        return more
    return (
        more + ", entity = strcat(tostring(properties.entityFriendlyName), '\\n', "
        "tostring(properties.dataSourceName))"
    )


def _type_clause(kind: VaultKind | None) -> str:
    """Both kinds of job, or the one ``--vault-type`` names."""
    if kind is not None:
        return f"| where type =~ {kql_string(ROW_TYPES[kind])}"
    listed = ", ".join(kql_string(t) for t in ROW_TYPES.values())
    return f"| where type in~ ({listed})"


def _head(extra_extends: str = "", kind: VaultKind | None = None) -> list[str]:
    return [
        TABLE,
        _type_clause(kind),
        "| extend startTime = todatetime(properties.startTime), status = "
        "tostring(properties.status), operation = tostring(properties.operation)" + extra_extends,
    ]


def jobs_query(filters: FleetFilters) -> str:
    """The jobs, newest first (ties by id, so that pages are stable), as job rows."""
    lines = _head(_extends(filters), kind=filters.vault_kind)
    lines += [f"| where {clause}" for clause in _where_clauses(filters)]
    lines += [
        "| order by startTime desc, id asc",
        "| project " + ", ".join(ROW_COLUMNS),
    ]
    return "\n".join(lines)


def summary_query(filters: FleetFilters, by: str) -> str:
    """Counts per vault and status (``--by vault`` and ``--by status``), or per vault, operation
    and status (``--by operation``): enough to say how many vaults each count spans."""
    if by not in BY_CHOICES:  # pragma: no cover - validated by normalize_by
        raise UsageError(f"--by: unknown value {sanitize(by, 30)!r}")
    lines = _head(
        _extends(filters, ", vault = tostring(split(id, '/')[8])"), kind=filters.vault_kind
    )
    lines += [f"| where {clause}" for clause in _where_clauses(filters)]
    keys = ["subscriptionId", "resourceGroup", "vault"]
    if by == "operation":
        keys.append("operation")
    keys.append("status")
    lines += [
        "| summarize jobs = count() by " + ", ".join(keys),
        "| order by " + ", ".join(f"{k} asc" for k in keys),
    ]
    return "\n".join(lines)


def running_query(
    filters: FleetFilters, *, ended_since: datetime | None, pending: Sequence[str] = ()
) -> str:
    """``watch --fleet``: the jobs in ``filters.statuses`` (running ones), plus those that ended
    since ``ended_since`` and the ``pending`` ids (jobs seen running whose end is not visible
    yet), so that one query per tick also tells how the watched jobs ended."""
    lines = _head(
        _extends(filters, ", endTime = todatetime(properties.endTime)"), kind=filters.vault_kind
    )
    lines += [f"| where {clause}" for clause in _where_clauses(filters, with_status=False)]
    running = _status_clause(filters)
    wanted = [f"({running})"] if running else []
    if ended_since is not None:
        wanted.append(f"endTime >= {kql_datetime(ended_since)}")
    if pending:
        listed = ", ".join(kql_string(ids.validate_guid(p, "job id")) for p in pending)
        wanted.append(f"name in~ ({listed})")
    if wanted:
        lines.append("| where " + " or ".join(wanted))
    lines += [
        "| order by startTime desc, id asc",
        "| project " + ", ".join(ROW_COLUMNS),
    ]
    return "\n".join(lines)


# ----- scope ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """Where Resource Graph looks: subscriptions, management groups, or (both empty) every
    subscription the identity can read in its tenant."""

    subscriptions: tuple[str, ...] = ()
    management_groups: tuple[str, ...] = ()

    @property
    def describe(self) -> str:
        if self.subscriptions:
            n = len(self.subscriptions)
            return f"{n} subscription{'s' if n != 1 else ''}"
        if self.management_groups:
            return "management group " + ", ".join(self.management_groups)
        return "every subscription the credential can read"


def parse_scope(subscriptions: Iterable[str] | None, management_group: str | None) -> Scope:
    """``--subscriptions S1,S2`` (repeatable) or ``--management-group MG``, validated."""
    subs: list[str] = []
    for value in subscriptions or ():
        for part in value.split(","):
            if part.strip():
                sub = ids.validate_guid(part.strip(), "--subscriptions: subscription id")
                if sub not in subs:
                    subs.append(sub)
    if subscriptions and not subs:
        raise UsageError("--subscriptions: no subscription id given")
    group = management_group.strip() if management_group is not None else None
    if group is not None and not MANAGEMENT_GROUP_RE.fullmatch(group):
        raise UsageError(
            f"--management-group: {sanitize(management_group or '', 60)!r} is not a "
            "management group id (1-90 letters, digits, '-', '_', '.', '(' or ')')"
        )
    if subs and group:
        raise UsageError("--subscriptions and --management-group exclude each other")
    return Scope(tuple(subs), (group,) if group else ())


def normalize_by(value: str) -> str:
    text = value.strip().lower()
    if text not in BY_CHOICES:
        raise UsageError(
            f"--by: unknown value {sanitize(value, 30)!r}; use one of: " + ", ".join(BY_CHOICES)
        )
    return text


# ----- rows -> job resources ------------------------------------------------------------------
def row_to_job(row: Any) -> dict[str, Any]:
    """The job resource (as ``azjobs list`` prints it) that a Resource Graph row describes.

    Resource Graph writes the type in lower case; the resource carries the service's spelling,
    so that the output of ``--fleet`` and of a vault's list are the same shape.
    """
    if not isinstance(row, dict):
        raise UnexpectedResponseError("a Resource Graph row is not a JSON object")
    props = row.get("properties")
    resource_id = row.get("id")
    if not isinstance(props, dict) or not isinstance(resource_id, str):
        raise UnexpectedResponseError("a Resource Graph row has no job 'id' and 'properties'")
    name = row.get("name")
    if not isinstance(name, str) or not name:
        name = resource_id.rstrip("/").rsplit("/", 1)[-1]
    backup = vault_kind_of(resource_id, row.get("type")) is VaultKind.BACKUP
    kind = BACKUP_VAULT_JOB_RESOURCE_TYPE if backup else JOB_RESOURCE_TYPE
    return {"id": resource_id, "name": name, "type": kind, "properties": props}


def vault_of(job: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(subscription, resource group, vault) named by a job resource's id."""
    resource_id = job.get("id")
    return ids.vault_of_id(resource_id) if isinstance(resource_id, str) else None


# ----- summaries ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Count:
    """One row of a summary query: ``jobs`` jobs of one vault in one status (and operation)."""

    subscription: str
    resource_group: str
    vault: str
    status: str
    jobs: int
    operation: str | None = None

    @property
    def vault_key(self) -> tuple[str, str, str]:
        return self.subscription.lower(), self.resource_group.lower(), self.vault.lower()


def read_count(row: Any) -> Count:
    if not isinstance(row, dict):
        raise UnexpectedResponseError("a Resource Graph summary row is not a JSON object")
    jobs = row.get("jobs")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise UnexpectedResponseError("a Resource Graph summary row has no count of jobs")

    def text(key: str) -> str:
        value = row.get(key)
        return value if isinstance(value, str) else ""

    operation = row.get("operation")
    return Count(
        text("subscriptionId"),
        text("resourceGroup"),
        text("vault"),
        text("status") or "Unknown",
        jobs,
        operation if isinstance(operation, str) else None,
    )


def _status_order(status: str) -> tuple[int, str]:
    lowered = [s.lower() for s in STATUSES]
    key = status.lower()
    return (lowered.index(key) if key in lowered else len(lowered), key)


def statuses_seen(counts: Iterable[Count]) -> list[str]:
    """The statuses present, in the order of the status list (unknown ones last)."""
    seen: dict[str, str] = {}
    for c in counts:
        seen.setdefault(c.status.lower(), c.status)
    return [seen[k] for k in sorted(seen, key=_status_order)]


def summarize(counts: Sequence[Count], by: str) -> list[dict[str, Any]]:
    """The summary rows printed by ``--by`` (JSON shape, newest-first independent):

    - vault: ``{subscriptionId, resourceGroup, vault, jobs, statuses: {status: n}}``
    - status: ``{status, jobs, vaults}``
    - operation: ``{operation, jobs, vaults, statuses: {status: n}}``
    """
    order = statuses_seen(counts)
    if by == "status":
        by_status: dict[str, tuple[int, set[tuple[str, str, str]]]] = {}
        for c in counts:
            total, vaults = by_status.get(c.status.lower(), (0, set()))
            by_status[c.status.lower()] = (total + c.jobs, vaults | {c.vault_key})
        return [
            {"status": s, "jobs": by_status[s.lower()][0], "vaults": len(by_status[s.lower()][1])}
            for s in order
        ]
    groups: dict[Any, dict[str, Any]] = {}
    for c in counts:
        if by == "vault":
            key: Any = c.vault_key
            entry = groups.setdefault(
                key,
                {
                    "subscriptionId": c.subscription,
                    "resourceGroup": c.resource_group,
                    "vault": c.vault,
                    "jobs": 0,
                    "statuses": {},
                },
            )
        else:
            op = c.operation or ""
            key = op.lower()
            entry = groups.setdefault(
                key, {"operation": op, "jobs": 0, "vaults": set(), "statuses": {}}
            )
            entry["vaults"].add(c.vault_key)
        entry["jobs"] += c.jobs
        entry["statuses"][c.status] = entry["statuses"].get(c.status, 0) + c.jobs
    rows = []
    for key in sorted(groups):
        entry = groups[key]
        entry["statuses"] = {
            s: entry["statuses"][s] for s in sorted(entry["statuses"], key=_status_order)
        }
        if by == "operation":
            entry["vaults"] = len(entry["vaults"])
        rows.append(entry)
    return rows


_ADJECTIVE_BEFORE = {
    "failed": "failed",
    "completed": "completed",
    "cancelled": "cancelled",
    "cancelling": "cancelling",
}
_PHRASE_AFTER = {"inprogress": "in progress", "completedwithwarnings": "completed with warnings"}


def _noun(operation: str | None, n: int) -> str:
    base = {"backup": "backup", "restore": "restore"}.get((operation or "").lower(), "job")
    return base + ("" if n == 1 else "s")


def _jobs_phrase(n: int, status: str | None, operation: str | None) -> str:
    noun = _noun(operation, n)
    key = (status or "").lower()
    if key in _ADJECTIVE_BEFORE:
        return f"{n} {_ADJECTIVE_BEFORE[key]} {noun}"
    if key in _PHRASE_AFTER:
        return f"{n} {noun} {_PHRASE_AFTER[key]}"
    return f"{n} {noun}" + (f" {sanitize(status, 30)}" if status else "")


def _vaults(n: int) -> str:
    return f"{n} vault{'s' if n != 1 else ''}"


def window_phrase(window: Window, *, until_now: bool) -> str:
    """``in the last 24 h``, ``in the last 7 days``, or ``from ... to ... UTC``."""
    if until_now:
        span = window.span
        seconds = int(span.total_seconds())
        if span >= timedelta(days=2) and seconds % 86400 == 0:
            return f"in the last {seconds // 86400} days"
        if seconds % 3600 == 0:
            return f"in the last {seconds // 3600} h"
        if seconds % 60 == 0:
            return f"in the last {seconds // 60} min"
    return f"from {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC"


def sentence(
    counts: Sequence[Count],
    *,
    window: str,
    statuses: Sequence[str] = (),
    operation: str | None = None,
) -> str:
    """One line for people: ``3 failed backups in 2 vaults in the last 24 h (40 backups in 12
    vaults in all)``; with one ``--status``, that status; without failures, says so."""
    total = sum(c.jobs for c in counts)
    vaults = {c.vault_key for c in counts}
    if total == 0:
        return f"no {_noun(operation, 0)} {window}"
    if len(statuses) == 1:
        return f"{_jobs_phrase(total, statuses[0], operation)} in {_vaults(len(vaults))} {window}"
    failed = [c for c in counts if c.status.lower() == "failed"]
    all_of = f"{_jobs_phrase(total, None, operation)} in {_vaults(len(vaults))}"
    if failed:
        n = sum(c.jobs for c in failed)
        where = {c.vault_key for c in failed}
        head = f"{_jobs_phrase(n, 'Failed', operation)} in {_vaults(len(where))} {window}"
        return f"{head} ({all_of} in all)"
    if statuses:
        return f"{all_of} {window}"
    return f"{all_of} {window}, none failed"
