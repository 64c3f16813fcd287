"""The table of listed jobs: a pure function from parsed jobs to a rich ``Table``. No I/O.

The full job GUID is what every other command takes, so it is never shortened; the other
columns make room for it on narrower terminals instead: operation, entity and its type
go under the id, and the duration under the start. Jobs of many vaults (``--fleet``) name each
job's vault: a GUID alone does not say where a job runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from azbackupjobs.model import ids
from azbackupjobs.model.job import Job
from azbackupjobs.model.text import clean, sanitize
from azbackupjobs.view.render import DASH, fmt_duration, job_status_text

JOB_COLUMNS = ("Job id", "Operation", "Status", "Entity", "Type", "Start", "Duration")
VAULT_JOB_COLUMNS = ("Vault", "Job id", "Operation", "Status", "Entity", "Start", "Duration")
WIDE = 150  # every column side by side from here; below, stacked (fits 80 columns)
GUID_WIDTH = 36
START_WIDTH = len("2024-05-01 12:00")


def _cell(value: str | None) -> Text:
    return Text(clean(value) if value else DASH)


def job_duration(job: Job) -> str:
    """The duration the service reports (elapsed so far for a running job), never a guess."""
    if job.duration is not None:
        return fmt_duration(job.duration)
    if job.duration_is_placeholder:  # a running Backup vault job says 00:00:00
        return DASH
    return clean(job.duration_raw) or DASH


def local_start(job: Job, pattern: str) -> str:
    if job.start_time is None:
        return DASH
    return job.start_time.astimezone().strftime(pattern)


def table_frame(title: str | None, caption: str | None) -> Table:
    """The look of every job listing (``list`` and ``--fleet``): no box edges, left titles."""
    return Table(
        title=title,
        title_justify="left",
        caption=caption,
        caption_justify="left",
        box=box.SIMPLE_HEAVY,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
        expand=False,
    )


def vault_label(job: Job) -> str:
    """``group/vault`` of the job's id (the subscription is in the JSON output)."""
    found = ids.vault_of_id(job.id)
    return f"{found[1]}/{found[2]}" if found else DASH


def _what(job: Job) -> str:
    what = f"{sanitize(job.operation or 'Job', 40)} of {sanitize(job.entity or DASH, 60)}"
    if job.entity_type:
        what += f" · {sanitize(job.entity_type, 30)}"
    return what


def _what_where(job: Job) -> str:
    return (
        f"{sanitize(job.operation or 'Job', 40)} of {sanitize(job.entity or DASH, 50)}"
        f" · {sanitize(vault_label(job), 80)}"
    )


def stacked_jobs_table(
    table: Table, jobs: Sequence[Job], width: int, describe: Callable[[Job], str]
) -> Table:
    """The narrow layout: ``describe(job)`` goes dim under the full id, the duration under the
    start; the id column takes what the status and start columns leave."""
    rows = []
    for job in jobs:
        ident = Text(clean(job.job_id) or DASH)
        ident.append("\n" + describe(job), style="dim")
        when = Text(local_start(job, "%Y-%m-%d %H:%M"))
        when.append("\n" + job_duration(job), style="dim")
        rows.append((ident, job_status_text(job, symbol=True, narrow=True), when))
    # The first column takes what the status and start columns leave (2 between columns).
    status_width = max((line.cell_len for r in rows for line in r[1].split()), default=6)
    spare = width - status_width - START_WIDTH - 4
    longest = max((line.cell_len for r in rows for line in r[0].split()), default=0)
    table.add_column(
        "Job", no_wrap=True, overflow="ellipsis", width=max(GUID_WIDTH, min(longest, spare))
    )
    table.add_column("Status", no_wrap=True)
    table.add_column("Start", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def jobs_table(
    jobs: Sequence[Job],
    *,
    width: int | None = None,
    title: str | None = None,
    caption: str | None = None,
    vaults: bool = False,
) -> Table:
    """One row per job: id, operation, status, entity, management type, start (local time),
    duration; with ``vaults`` the vault first instead of the type. ``width`` is the terminal's:
    below ``WIDE`` columns, the operation, entity and type (or vault) go under the id, and the
    duration under the start, so that 80 columns suffice."""
    table = table_frame(title, caption)
    if width is not None and width < WIDE:
        return stacked_jobs_table(table, jobs, width, _what_where if vaults else _what)
    for name in VAULT_JOB_COLUMNS if vaults else JOB_COLUMNS:
        if name == "Job id":
            table.add_column(name, no_wrap=True, min_width=GUID_WIDTH)
        elif name in {"Status", "Start"}:
            table.add_column(name, no_wrap=True)
        elif name == "Duration":
            table.add_column(name, justify="right", no_wrap=True)
        else:
            table.add_column(name, overflow="fold")
    for job in jobs:
        row = [
            _cell(job.job_id),
            _cell(job.operation),
            job_status_text(job, symbol=True),
            _cell(job.entity),
        ]
        if vaults:
            row.insert(0, Text(sanitize(vault_label(job), 120)))
        else:
            row.append(_cell(job.entity_type))
        table.add_row(
            *row,
            Text(local_start(job, "%Y-%m-%d %H:%M:%S")),
            Text(job_duration(job)),
        )
    return table
