"""The ``--by`` summaries of ``list --fleet``: tables and tsv rows. Pure; no I/O.

(The fleet's job tables are ``list_view.jobs_table(vaults=True)``, as for one vault.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from azbackupjobs.model.job import JobStatus
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources.filters import STATUSES
from azbackupjobs.view.list_view import WIDE, table_frame
from azbackupjobs.view.render import DASH, STATUS_STYLES, status_text


def status_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The statuses that occur in the rows, in the usual order (unknown ones last)."""
    seen: dict[str, None] = {}
    for row in rows:
        for status in row.get("statuses", {}):
            seen.setdefault(status, None)
    known = [s for s in STATUSES if s in seen]
    return known + sorted(s for s in seen if s not in STATUSES)


# Short headers for narrow terminals.
_SHORT_STATUS = {
    "InProgress": "Running",
    "Completed": "Done",
    "CompletedWithWarnings": "Warnings",
    "Failed": "Failed",
    "Cancelling": "Cancelling",
    "Cancelled": "Cancelled",
}


def _status_header(status: str, *, short: bool = False) -> Text:
    label = _SHORT_STATUS.get(status, status) if short else status
    return Text(sanitize(label, 30), style=STATUS_STYLES[JobStatus.parse(status)])


def _count(value: int, status: str | None = None) -> Text:
    if not value:
        return Text("·", style="dim")
    style = STATUS_STYLES[JobStatus.parse(status)] if status else ""
    return Text(str(value), style=style)


def summary_table(
    rows: Sequence[Mapping[str, Any]],
    by: str,
    *,
    title: str | None = None,
    caption: str | None = None,
    width: int | None = None,
) -> Table:
    """``--by vault``: a row per vault and a column per status; ``--by status``: jobs and
    vaults per status; ``--by operation``: a row per operation and a column per status.
    Below ``WIDE`` columns the subscription is left out and the status headers are short."""
    narrow = width is not None and width < WIDE
    table = table_frame(title, caption)
    if by == "status":
        table.add_column("Status", no_wrap=True)
        table.add_column("Jobs", justify="right")
        table.add_column("Vaults", justify="right")
        for row in rows:
            status = str(row["status"])
            table.add_row(
                status_text(JobStatus.parse(status), status, symbol=True),
                Text(str(row["jobs"])),
                Text(str(row["vaults"])),
            )
        return table
    statuses = status_columns(rows)
    name_width = 16 if narrow else None
    if by == "vault":
        table.add_column(
            "Vault", overflow="ellipsis" if narrow else "fold", no_wrap=narrow, min_width=name_width
        )
        if not narrow:
            table.add_column("Subscription", no_wrap=True)
    else:
        table.add_column(
            "Operation",
            overflow="ellipsis" if narrow else "fold",
            no_wrap=narrow,
            min_width=name_width,
        )
        table.add_column("Vaults", justify="right", no_wrap=True, min_width=6)
    table.add_column("Jobs", justify="right")
    for status in statuses:
        table.add_column(_status_header(status, short=narrow), justify="right", no_wrap=True)
    for row in rows:
        counts = row.get("statuses", {})
        if by == "vault":
            head = [Text(sanitize(f"{row['resourceGroup']}/{row['vault']}", 120))]
            if not narrow:
                head.append(Text(sanitize(str(row["subscriptionId"]), 40)))
        else:
            head = [Text(sanitize(str(row["operation"]), 60) or DASH), Text(str(row["vaults"]))]
        table.add_row(
            *head, Text(str(row["jobs"])), *(_count(int(counts.get(s, 0)), s) for s in statuses)
        )
    return table


def summary_tsv_rows(rows: Sequence[Mapping[str, Any]], by: str) -> list[list[Any]]:
    """The documented tsv columns: vault: subscriptionId, resourceGroup, vault, jobs and one
    count per status (InProgress, Completed, CompletedWithWarnings, Failed, Cancelling,
    Cancelled); status: status, jobs, vaults; operation: operation, jobs, vaults and the
    status counts."""
    out: list[list[Any]] = []
    for row in rows:
        counts = row.get("statuses", {})
        per_status = [counts.get(s, 0) for s in STATUSES]
        if by == "vault":
            out.append(
                [
                    row["subscriptionId"],
                    row["resourceGroup"],
                    row["vault"],
                    row["jobs"],
                    *per_status,
                ]
            )
        elif by == "status":
            out.append([row["status"], row["jobs"], row["vaults"]])
        else:
            out.append([row["operation"], row["jobs"], row["vaults"], *per_status])
    return out


def summary_view(
    rows: Sequence[Mapping[str, Any]], by: str, *, where: str, sentence: str, width: int | None
) -> Group:
    """The table of ``--by`` with its title and sentence as lines of their own (a narrow table
    would wrap them)."""
    return Group(
        Text(f"Jobs by {by} in {where}", style="bold"),
        summary_table(rows, by, width=width),
        Text(sentence),
    )
