"""Pure functions from models to rich renderables (and to plain text lines). No I/O.

Every string that comes from the service passes through ``text.clean`` before it reaches a
renderable, and is wrapped in ``Text`` so that rich never interprets it as markup.

Jobs of both kinds of vault render through the same functions: where a Recovery Services job
shows its entity, job type and management type, a Backup vault job shows its datasource (name,
type, resource group), policy, data transferred and recovery point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from azbackupjobs.model.job import BackupVaultJobInfo, Job, JobError, JobStatus, JobTask
from azbackupjobs.model.text import clean, sanitize
from azbackupjobs.view.rows import job_tsv_row, task_tsv_row  # noqa: F401  (re-exported)

DASH = "—"
# Laying out a table costs rich most of a millisecond per row: a job with thousands of tasks or
# properties would take seconds to show, and nobody reads that many rows on a terminal. Tables
# show this many and say how many more there are (json and tsv print them all).
MAX_TABLE_ROWS = 200
# The error panel: jobs report one to three errors with a few recommendations each.
MAX_PANEL_ERRORS = 10
MAX_RECOMMENDATIONS = 20
# Backup vault errors nest (each level often repeating the one above): at most this many are
# shown in one panel, whatever the nesting. An inner error's text can be a whole HTTP exchange:
# its first lines say what failed, the rest is headers.
MAX_PANEL_ENTRIES = 30
MAX_DETAIL_LINES = 8
_BINARY_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")

STATUS_STYLES: dict[JobStatus, str] = {
    JobStatus.COMPLETED: "bold green",
    JobStatus.COMPLETED_WITH_WARNINGS: "bold yellow",
    JobStatus.FAILED: "bold red",
    JobStatus.CANCELLED: "bold magenta",
    JobStatus.CANCELLING: "yellow",
    JobStatus.IN_PROGRESS: "bold cyan",
    JobStatus.NOT_STARTED: "dim",
    JobStatus.INVALID: "red",
    JobStatus.UNKNOWN: "white",
}
STATUS_SYMBOLS: dict[JobStatus, str] = {
    JobStatus.COMPLETED: "✔",
    JobStatus.COMPLETED_WITH_WARNINGS: "⚠",
    JobStatus.FAILED: "✖",
    JobStatus.CANCELLED: "⊘",
    JobStatus.CANCELLING: "⊘",
    JobStatus.IN_PROGRESS: "▶",
    JobStatus.NOT_STARTED: "○",
    JobStatus.INVALID: "?",
    JobStatus.UNKNOWN: "?",
}


def fmt_duration(delta: timedelta | None) -> str:
    """Compact human durations: 3.9s, 20m23s, 1h02m, 1d05h44m."""
    if delta is None:
        return DASH
    total = delta.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total < 10 and total != int(total):
        return f"{sign}{total:.1f}s"
    seconds = int(total)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d{hours:02d}h{minutes:02d}m"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{sign}{minutes}m{secs:02d}s"
    return f"{sign}{secs}s"


def fmt_bytes(count: int | None) -> str:
    """Binary units to one decimal: 616490449 -> 587.9 MiB; small counts in bytes."""
    if count is None:
        return DASH
    if count < 1024:
        return f"{count} B"
    exponent = 1
    while exponent < len(_BINARY_UNITS) and count >= 1024 ** (exponent + 1):
        exponent += 1
    return f"{count / 1024**exponent:.1f} {_BINARY_UNITS[exponent - 1]}"


def fmt_time(moment: datetime | None, *, utc: bool = False) -> str:
    """Local time (the user's clock) to the second; unset times are a dash, never year 1."""
    if moment is None:
        return DASH
    try:
        shown = moment.astimezone(UTC) if utc else moment.astimezone()
    except (OverflowError, OSError, ValueError):  # near year 1 or 9999 in the local zone
        shown = moment.astimezone(UTC)
    return shown.strftime("%Y-%m-%d %H:%M:%S")


def status_text(status: JobStatus, raw: str | None = None, *, symbol: bool = False) -> Text:
    """The normalized word (Started shows as InProgress); an unknown word as it came."""
    label = clean(raw) if status is JobStatus.UNKNOWN and raw else status.value
    if symbol:
        label = f"{STATUS_SYMBOLS[status]} {label}"
    return Text(label, style=STATUS_STYLES[status])


def job_status_text(job: Job, *, symbol: bool = False, narrow: bool = False) -> Text:
    """A job's status cell: :meth:`Job.status_words` (a cancelled VM backup reads Cancelled,
    whatever word the service ended it with), styled as the status people should read.
    ``narrow`` breaks what the service sent onto lines of its own, for 80-column tables."""
    shown = job.shown_status
    if job.status is JobStatus.UNKNOWN or shown is not job.status:
        label = job.status_words()
        if narrow and shown is not job.status:
            label = label.replace(" (", "\n(", 1).replace(", ", ",\n", 1)
    else:
        label = shown.value
    if symbol:
        label = f"{STATUS_SYMBOLS[shown]} {label}"
    return Text(label, style=STATUS_STYLES[shown])


def title_of(job: Job) -> str:
    """``Backup of vm1``: how people name a job."""
    op = sanitize(job.operation or "Job", 60)
    entity = sanitize(job.entity or job.job_id, 80)
    return f"{op} of {entity}"


def _t(value: Any) -> Text:
    return Text(clean(value) if value not in (None, "") else DASH)


def _lines(value: object) -> list[str]:
    """The non-empty lines of a multi-line service string, cleaned and stripped.

    Recommendations arrive with CRLF line breaks and deep indentation; their line structure
    (lists of cases) is worth keeping, their indentation is not.
    """
    return [line.strip() for line in clean(value, keep_newlines=True).splitlines() if line.strip()]


def datasource_type_text(info: BackupVaultJobInfo) -> Text:
    """``Azure Disk (Microsoft.Compute/disks)``: the short name people use, and the type."""
    label, raw = info.datasource_label, info.datasource_type
    if not raw:
        return Text(DASH)
    text = Text(clean(label))
    if label != raw:
        text.append(f" ({clean(raw)})", style="dim")
    return text


def operation_text(job: Job) -> Text:
    """The operation, with how a Backup vault job was started: ``Backup · scheduled``."""
    text = _t(job.operation)
    info = job.backup_vault
    if info is not None:
        if info.trigger:
            text.append(f" · {info.trigger}", style="dim")
        if info.is_cross_region_restore and job.operation_kind.lower() != "crossregionrestore":
            text.append(" · cross-region", style="dim")
    return text


def _backup_vault_rows(grid: Table, job: Job, info: BackupVaultJobInfo) -> None:
    """What a Backup vault job says about its datasource, in place of an entity."""
    grid.add_row("Datasource", _t(job.entity))
    grid.add_row("Datasource type", datasource_type_text(info))
    grid.add_row("Resource group", _t(info.datasource_resource_group))
    # PostgreSQL names its instance server\db where the datasource is server/db: the same.
    if info.backup_instance and info.backup_instance.replace("\\", "/") != job.entity:
        grid.add_row("Backup instance", _t(info.backup_instance))
    grid.add_row("Operation", operation_text(job))


def _backup_vault_outcome_rows(grid: Table, info: BackupVaultJobInfo) -> None:
    if info.policy_name:
        grid.add_row("Policy", _t(info.policy_name))
    if info.data_transferred_bytes is not None:
        moved = Text(fmt_bytes(info.data_transferred_bytes))
        if info.data_transferred_bytes >= 1024:
            moved.append(f" ({info.data_transferred_bytes:,} bytes)", style="dim")
        grid.add_row("Data transferred", moved)
    if info.recovery_point_time is not None:
        grid.add_row("Recovery point", Text(fmt_time(info.recovery_point_time)))
    if info.recovery_destination:
        grid.add_row("Restored to", _t(info.recovery_destination))
    if info.restore_type:
        grid.add_row("Restore type", _t(info.restore_type))


def duration_text(job: Job, now: datetime | None = None) -> Text:
    """The service's duration; with ``now``, the time so far of a job that reports none."""
    duration = job.duration if job.duration is not None or now is None else job.elapsed(now)
    if duration is not None:
        return Text(fmt_duration(duration))
    if job.duration_is_placeholder:
        return Text(DASH)
    return Text(clean(job.duration_raw) or DASH)


def summary_table(job: Job, now: datetime | None = None) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    info = job.backup_vault
    if info is not None:
        _backup_vault_rows(grid, job, info)
    else:
        grid.add_row("Entity", _t(job.entity))
        grid.add_row("Operation", _t(job.operation))
    status = status_text(job.status, job.status_raw, symbol=True)
    if job.was_cancelled and job.status is not JobStatus.CANCELLED:
        status.append(" (cancelled)", style="dim")
    grid.add_row("Status", status)
    if info is None:
        grid.add_row("Job type", _t(job.job_type))
        grid.add_row("Management type", _t(job.backup_management_type))
        if job.workload_type:
            grid.add_row("Workload", _t(job.workload_type))
    grid.add_row("Start", Text(fmt_time(job.start_time)))
    grid.add_row("End", Text(fmt_time(job.end_time)))
    grid.add_row("Duration", duration_text(job, now))
    if info is not None:
        _backup_vault_outcome_rows(grid, info)
    if job.progress_percentage is not None:
        grid.add_row("Progress", progress_bar(job.progress_percentage))
    # An ended job keeps its last estimate (often PT0S): not worth a line.
    if not job.is_terminal and (job.estimated_remaining is not None or job.estimated_remaining_raw):
        remaining = (
            fmt_duration(job.estimated_remaining)
            if job.estimated_remaining is not None
            else clean(job.estimated_remaining_raw)
        )
        grid.add_row("Remaining (est.)", Text(remaining))
    # A Backup vault has no cancel even where supportedActions says Cancellable: not shown.
    if job.actions and info is None:
        grid.add_row("Actions", Text(", ".join(sorted(clean(a) for a in job.actions))))
    grid.add_row("Activity id", _t(job.activity_id))
    grid.add_row("Job id", _t(job.job_id))
    return grid


def fmt_task_duration(task: JobTask) -> str:
    """The service reports ``PT0S`` for most tasks, even finished ones: show that as unknown."""
    if task.duration is None:
        return clean(task.duration_raw) or DASH
    if not task.duration:
        return DASH
    return fmt_duration(task.duration)


def progress_bar(percent: float, width: int = 20) -> Text:
    """A bar made of text (so it also renders in plain logs and screenshots)."""
    pct = max(0.0, min(100.0, percent))
    filled = round(width * pct / 100)
    bar = Text("━" * filled, style="green" if pct >= 100 else "cyan")
    bar.append("━" * (width - filled), style="grey35")
    bar.append(f" {pct:5.1f}%")
    return bar


def task_columns(tasks: tuple[JobTask, ...]) -> dict[str, bool]:
    """Only the columns this job type has: Storage/Workload tasks have just a name and status."""
    return {
        "progress": any(t.progress_percentage is not None for t in tasks),
        "start": any("startTime" in t.raw for t in tasks),
        "end": any("endTime" in t.raw for t in tasks),
        "duration": any("duration" in t.raw for t in tasks),
        "details": any(t.execution_details or t.details for t in tasks),
    }


_CAMEL_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _detail_label(key: str) -> str:
    """``OriginalDatasourceSizeInBytes`` -> ``Original datasource size``."""
    words = _CAMEL_BREAK.sub(" ", key.strip().removesuffix("InBytes")).strip()
    return words[:1].upper() + words[1:].lower() if " " in words else words


def task_details(task: JobTask, job: Job | None = None) -> str:
    """A task's details in one cell: its execution details, or a Backup vault subtask's
    additionalDetails one per line, sizes in bytes made readable and values the job already
    shows (its activity id, its datasource type) left out."""
    if task.execution_details:
        return clean(task.execution_details)
    known: set[str] = set()
    if job is not None:
        known.update(x for x in (job.activity_id,) if x)
        if job.backup_vault is not None and job.backup_vault.datasource_type:
            known.add(job.backup_vault.datasource_type)
    lines = []
    for key, value in task.details.items():
        if value is None or not value.strip() or value in known:
            continue
        shown = clean(value)
        if key.strip().endswith("InBytes") and value.strip().isdigit():
            shown = fmt_bytes(int(value.strip()))
        lines.append(f"{clean(_detail_label(key)) or repr(key)}: {shown}")
    return "\n".join(lines)


def more_rows_note(hidden: int, noun: str) -> Text | None:
    """The caption of a table cut at ``MAX_TABLE_ROWS`` (None when nothing was left out)."""
    if hidden <= 0:
        return None
    return Text(f"… {hidden} more {noun} (-o json or -o tsv lists them all)", style="dim")


def task_table(job: Job, *, title: str | None = "Tasks") -> Table:
    tasks = job.tasks[:MAX_TABLE_ROWS]
    cols = task_columns(tasks)
    # A Text title: a plain str would be parsed as rich markup, and titles carry service data.
    table = Table(
        title=Text(title, style="table.title") if title is not None else None,
        title_justify="left",
        caption=more_rows_note(len(job.tasks) - len(tasks), "tasks"),
        caption_justify="left",
        box=box.SIMPLE_HEAVY,
        expand=False,
    )
    table.add_column("Task", overflow="fold")
    table.add_column("Status", no_wrap=True)
    if cols["progress"]:
        table.add_column("Progress", no_wrap=True)
    if cols["start"]:
        table.add_column("Start", no_wrap=True)
    if cols["end"]:
        table.add_column("End", no_wrap=True)
    if cols["duration"]:
        table.add_column("Duration", justify="right", no_wrap=True)
    if cols["details"]:
        table.add_column("Details", overflow="fold")
    for task in tasks:
        row: list[RenderableType] = [
            _t(task.task_id),
            status_text(task.status, task.status_raw, symbol=True),
        ]
        if cols["progress"]:
            row.append(
                progress_bar(task.progress_percentage)
                if task.progress_percentage is not None
                else Text(DASH)
            )
        if cols["start"]:
            row.append(Text(fmt_time(task.start_time)))
        if cols["end"]:
            row.append(Text(fmt_time(task.end_time)))
        if cols["duration"]:
            row.append(Text(fmt_task_duration(task)))
        if cols["details"]:
            row.append(Text(task_details(task, job) or DASH))
        table.add_row(*row)
    return table


def property_bag_table(job: Job, *, title: str | None = "Properties") -> Table:
    items = list(job.property_bag.items())
    table = Table(
        title=Text(title, style="table.title") if title is not None else None,
        title_justify="left",
        caption=more_rows_note(len(items) - MAX_TABLE_ROWS, "properties"),
        caption_justify="left",
        box=box.SIMPLE_HEAVY,
        show_header=False,
    )
    table.add_column("Key", style="bold", overflow="fold")
    table.add_column("Value", overflow="fold")
    for key, value in items[:MAX_TABLE_ROWS]:
        table.add_row(Text(clean(key).strip() or repr(key)), _t(value))
    return table


def _recommendations(error: JobError) -> list[RenderableType]:
    if not error.recommendations:
        return []
    # A grid gives wrapped recommendations a hanging indent under their bullet.
    recs = Table.grid(padding=(0, 1))
    recs.add_column(no_wrap=True)
    recs.add_column(overflow="fold")
    for rec in error.recommendations[:MAX_RECOMMENDATIONS]:
        recs.add_row(Text("  •", style="yellow"), Text("\n".join(_lines(rec))))
    rows: list[RenderableType] = [recs]
    more = len(error.recommendations) - MAX_RECOMMENDATIONS
    if more > 0:
        rows.append(Text(f"  … {more} more recommendations (-o json shows them all)", style="dim"))
    return rows


def _detail_text(value: str) -> Text:
    """An error's additional details, dim, cut to its first ``MAX_DETAIL_LINES`` lines."""
    lines = _lines(value)
    text = Text("\n".join(lines[:MAX_DETAIL_LINES]), style="dim")
    if len(lines) > MAX_DETAIL_LINES:
        text.append(f"\n… {len(lines) - MAX_DETAIL_LINES} more lines (-o json shows them all)")
    return text


def _said(error: JobError) -> tuple[object, ...]:
    """What an error says, its nested details aside."""
    return (error.code, error.title, error.message, error.recommendations, error.additional_details)


@dataclass
class _Panel:
    """What one error panel has shown: Backup vault errors repeat themselves (a detail that
    copies its parent, the same generic leaf under every branch), and nest without end."""

    room: int = MAX_PANEL_ENTRIES
    shown: set[tuple[object, ...]] = field(default_factory=set)


def _error_rows(error: JobError, panel: _Panel, *, top: bool = False) -> list[RenderableType]:
    """One error and its nested details, each level indented under the one it details. A
    nested error already shown in the panel is not shown again; its own details still are.
    The top-level errors are shown as sent."""
    said = _said(error)
    if not top and said in panel.shown:
        return _nested_rows(error, panel)
    if panel.room <= 0:
        return []
    panel.room -= 1
    panel.shown.add(said)
    rows: list[RenderableType] = []
    head = " ".join(x for x in (clean(error.code or ""), clean(error.title or "")) if x)
    if head:
        rows.append(Text(head, style="bold"))
    rows.append(Text("\n".join(_lines(error.message)) or "(no message)"))
    rows.extend(_recommendations(error))
    if error.additional_details:
        rows.append(_detail_text(error.additional_details))
    nested = _nested_rows(error, panel)
    if nested:
        rows.append(Padding(Group(*nested), (1, 0, 0, 2)))
    return rows


def _nested_rows(error: JobError, panel: _Panel) -> list[RenderableType]:
    rows: list[RenderableType] = []
    for detail in error.details:
        block = _error_rows(detail, panel)
        if block:
            if rows:
                rows.append(Text(""))
            rows.extend(block)
    return rows


def _errors_panel(
    errors: tuple[JobError, ...], extra: str | None, *, title: str, style: str
) -> Panel | None:
    if not errors and not extra:
        return None
    rows: list[RenderableType] = []
    panel = _Panel()
    for error in errors[:MAX_PANEL_ERRORS]:
        block = _error_rows(error, panel, top=True)
        if block and rows:
            rows.append(Text(""))
        rows.extend(block)
    if len(errors) > MAX_PANEL_ERRORS:
        rows.append(
            Text(
                f"… {len(errors) - MAX_PANEL_ERRORS} more errors (-o json shows them all)",
                style="dim",
            )
        )
    elif panel.room <= 0:
        rows.append(Text("… more error details (-o json shows them all)", style="dim"))
    if extra:
        if rows:
            rows.append(Text(""))
        rows.append(Text("\n".join(_lines(extra))))
    return Panel(Group(*rows), title=title, title_align="left", border_style=style, expand=False)


def error_panel(job: Job) -> Panel | None:
    """errorDetails with recommendations; also shown for CompletedWithWarnings jobs."""
    warned = job.status is JobStatus.COMPLETED_WITH_WARNINGS
    return _errors_panel(
        job.errors,
        job.dynamic_error_message,
        title="Warnings" if warned else "Error",
        style="yellow" if warned else "red",
    )


def warning_panel(job: Job) -> Panel | None:
    """A Backup vault job's ``warningDetails``."""
    if job.backup_vault is None:
        return None
    return _errors_panel(job.backup_vault.warnings, None, title="Warnings", style="yellow")


def job_view(job: Job, now: datetime | None = None) -> RenderableType:
    """Everything ``get`` shows: summary, tasks, propertyBag (a Backup vault job's
    additionalDetails), errors and warnings."""
    parts: list[RenderableType] = [
        Text(title_of(job), style="bold"),
        summary_table(job, now),
        Text(""),
    ]
    if job.tasks:
        parts.append(task_table(job))
    if job.property_bag:
        title = "Additional details" if job.is_backup_vault else "Properties"
        parts.append(property_bag_table(job, title=title))
    for panel in (error_panel(job), warning_panel(job)):
        if panel is not None:
            parts.append(panel)
    if len(parts) == 3:  # nothing after the summary: no trailing blank line
        parts.pop()
    return Group(*parts)


def tasks_only(job: Job) -> RenderableType:
    if not job.tasks:
        return Text(f"{title_of(job)} has no tasks.", style="dim")
    return task_table(job, title=title_of(job))
