"""What ``watch`` shows: the live frame (rich renderables) and the plain append-only lines.

Pure functions of a :class:`~azbackupjobs.follow.poll.Snapshot` and the current time; no I/O. The
live frame is rebuilt on every redraw (cheap), so the spinner, the elapsed time and the
"retrying in" countdown move between polls. The plain lines are for logs: one line per change, no
ANSI.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from azbackupjobs.follow.poll import Snapshot, Tracked, Trouble, detailed
from azbackupjobs.model.job import Job, JobStatus, JobTask
from azbackupjobs.model.text import clean, sanitize
from azbackupjobs.view.linetable_view import Cell, Column, LineTable
from azbackupjobs.view.render import (
    DASH,
    MAX_PANEL_ERRORS,
    MAX_RECOMMENDATIONS,
    MAX_TABLE_ROWS,
    error_panel,
    fmt_duration,
    fmt_task_duration,
    job_status_text,
    more_rows_note,
    progress_bar,
    property_bag_table,
    status_text,
    task_columns,
    task_details,
    title_of,
)

SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# The live frame is rebuilt several times a second and must fit the terminal: a job with more
# tasks shows this many, around the running one.
MAX_LIVE_TASKS = 30
SPINNER_FPS = 8.0
_TRANSFER_RE = re.compile(
    r"(?P<done>\d+(?:\.\d+)?)\s*(?P<du>[KMGTP]?B)s?\s*/\s*(?P<total>\d+(?:\.\d+)?)\s*"
    r"(?P<tu>[KMGTP]?B)s?",
    re.IGNORECASE,
)
_UNIT = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}


@dataclass(frozen=True)
class Now:
    """The moment a frame is drawn: the loop's clock (for ages and countdowns) and the wall
    clock (for job times)."""

    mono: float
    utc: datetime


# ----- small pieces ------------------------------------------------------------------------------
def spinner(mono: float) -> str:
    return SPINNER_FRAMES[int(mono * SPINNER_FPS) % len(SPINNER_FRAMES)]


def transfer_percent(details: str | None) -> float | None:
    """``120.58 GBs / 127 GBs Transferred`` -> 94.9; None when the text says no amounts."""
    if not details:
        return None
    match = _TRANSFER_RE.search(details)
    if not match:
        return None
    done = float(match["done"]) * 1024 ** _UNIT[match["du"].upper()]
    total = float(match["total"]) * 1024 ** _UNIT[match["tu"].upper()]
    if total <= 0:
        return None
    return float(max(0.0, min(100.0, done * 100 / total)))


def task_percent(task: JobTask) -> float | None:
    """The service's progressPercentage, else the share of bytes the task reports moved."""
    if task.progress_percentage is not None:
        return task.progress_percentage
    if task.status is JobStatus.COMPLETED and transfer_percent(task.execution_details) is not None:
        return 100.0
    return transfer_percent(task.execution_details)


def elapsed_of(tracked: Tracked, now: Now) -> timedelta | None:
    """How long the job has run: the service's own duration (immune to clock skew between
    here and the service) plus the time since we read it; else now - start."""
    job = tracked.job
    if job is None:
        return None
    if job.is_terminal:
        if job.duration is not None and job.duration >= timedelta(0):
            return job.duration
        if job.start_time and job.end_time:
            return max(job.end_time - job.start_time, timedelta(0))
        return None
    duration, read_at = tracked.duration, tracked.duration_at
    if duration is not None and duration >= timedelta(0) and read_at is not None:
        return duration + timedelta(seconds=max(now.mono - read_at, 0.0))
    return job.elapsed(now.utc)


def age(tracked: Tracked, now: Now) -> str:
    if tracked.last_update is None:
        return DASH
    seconds = max(now.mono - tracked.last_update, 0.0)
    return f"{fmt_duration(timedelta(seconds=int(seconds)))} ago"


def countdown(at: float | None, now: Now) -> int:
    return 0 if at is None else max(math.ceil(at - now.mono - 1e-3), 0)


def _status_cell(job: Job, now: Now) -> Text:
    text = Text()
    if job.is_terminal:
        text.append_text(job_status_text(job, symbol=True))
    else:
        text.append(spinner(now.mono) + " ", style="cyan")
        text.append_text(job_status_text(job))
    return text


def _unseen(tracked: Tracked, *, long: bool = False) -> str:
    """A job not read yet: not found so far (the service lags after a trigger), or no answer."""
    if tracked.missing_since is None:
        return "waiting for the service"
    if long:
        return "not visible yet: the service can take a minute to show a new job"
    return "not visible yet"


def current_task(job: Job) -> JobTask | None:
    for task in job.tasks:
        if task.status in (JobStatus.IN_PROGRESS, JobStatus.CANCELLING):
            return task
    return None


# ----- one job in detail -------------------------------------------------------------------------
def job_header(tracked: Tracked, now: Now) -> RenderableType:
    job = tracked.job
    if job is None:
        return Text.assemble(
            (spinner(now.mono) + " ", "cyan"),
            (f"Job {tracked.job_id}", "bold"),
            ("  " + _unseen(tracked, long=True), "dim"),
        )
    line = Text()
    line.append(title_of(job), style="bold")
    line.append("  ")
    line.append_text(_status_cell(job, now))
    facts = [f"elapsed {fmt_duration(elapsed_of(tracked, now))}"]
    if not job.is_terminal:
        facts.append(f"updated {age(tracked, now)}")
        if job.estimated_remaining is not None and job.estimated_remaining > timedelta(0):
            facts.append(f"~{fmt_duration(job.estimated_remaining)} left")
    line.append("  " + " · ".join(facts), style="dim")
    kind = " · ".join(
        clean(x) for x in (job.job_type, job.entity_type, job.workload_type, job.job_id) if x
    )
    parts: list[RenderableType] = [line, Text(kind, style="dim")]
    if job.progress_percentage is not None:
        parts.append(progress_bar(job.progress_percentage, width=40))
    return Group(*parts)


def shown_tasks(job: Job, limit: int = MAX_LIVE_TASKS) -> tuple[JobTask, ...]:
    """At most ``limit`` tasks: all of them, or a run of them around the running one."""
    tasks = job.tasks
    if len(tasks) <= limit:
        return tasks
    running = current_task(job)
    at = tasks.index(running) if running is not None else 0
    start = max(0, min(at - limit // 2, len(tasks) - limit))
    return tasks[start : start + limit]


def live_task_table(job: Job) -> Table:
    """Tasks with a bar where a percentage is known (given, or from bytes moved), else a state
    symbol; only the columns this job type has."""
    tasks = shown_tasks(job)
    cols = task_columns(tasks)
    percents = [task_percent(t) for t in tasks]
    table = Table(
        box=box.SIMPLE_HEAD,
        expand=False,
        show_edge=False,
        pad_edge=False,
        caption=more_rows_note(len(job.tasks) - len(tasks), "tasks"),
        caption_justify="left",
    )
    table.add_column("Task", overflow="fold")
    table.add_column("Status", no_wrap=True)
    has_bar = any(p is not None for p in percents)
    if has_bar:
        table.add_column("Progress", no_wrap=True)
    if cols["duration"]:
        table.add_column("Duration", justify="right", no_wrap=True)
    if cols["details"]:
        table.add_column("Details", overflow="fold")
    for task, pct in zip(tasks, percents, strict=True):
        row: list[RenderableType] = [
            Text(clean(task.task_id)),
            status_text(task.status, task.status_raw, symbol=True),
        ]
        if has_bar:
            row.append(progress_bar(pct) if pct is not None else Text(DASH, style="dim"))
        if cols["duration"]:
            row.append(Text(fmt_task_duration(task)))
        if cols["details"]:
            row.append(Text(task_details(task, job) or DASH))
        table.add_row(*row)
    return table


def job_detail(tracked: Tracked, now: Now) -> RenderableType:
    parts: list[RenderableType] = [job_header(tracked, now)]
    job = tracked.job
    if job is not None:
        if job.tasks:
            parts.append(live_task_table(job))
        if job.property_bag:
            parts.append(property_bag_table(job, title=None))
        panel = error_panel(job)
        if panel is not None:
            parts.append(panel)
    return Group(*parts)


# ----- several jobs ------------------------------------------------------------------------------
JOB_COLUMNS = (
    Column("Job"),
    Column("Status"),
    Column("Progress"),
    Column("Elapsed", justify="right"),
    Column("Updated", justify="right"),
)
# On a narrow terminal, in turn: long job names, long task names (a bar still fits), the job's
# operation (its name stays), the bars (their percentage stays), then any of them.
_SHRINK = ((0, 28), (2, 19), (0, 16), (2, 6), (0, 10), (1, 6))
ROW_BAR_WIDTH = 12


@dataclass(frozen=True)
class _RowParts:
    """What a row shows that only changes when the job does (cached per job read)."""

    title: Cell
    status: Cell  # with its symbol when the job has ended; the spinner goes before it otherwise
    task: str | None
    bar: Cell | None


# Rows of the job objects last drawn, by job id: a job is re-read (a new object) only when it
# changed, so most rows of a frame are rebuilt from here. Bounded by the jobs being watched.
_ROW_CACHE: dict[str, tuple[Job, _RowParts]] = {}
_ROW_CACHE_MAX = 4096


# The status cells drawn so far: a handful of distinct ones.
_STATUS_CELLS: dict[tuple[JobStatus, str | None, bool, bool], Cell] = {}


def _status_of(job: Job) -> Cell:
    key = (
        job.status,
        job.status_raw if job.status is JobStatus.UNKNOWN else None,
        job.is_terminal,
        job.was_cancelled,
    )
    cell = _STATUS_CELLS.get(key)
    if cell is None:
        if len(_STATUS_CELLS) >= 256:
            _STATUS_CELLS.clear()
        cell = _STATUS_CELLS[key] = Cell.from_text(job_status_text(job, symbol=job.is_terminal))
    return cell


def _bar_cell(percent: float) -> Cell:
    """:func:`render.progress_bar` as a cell (built directly: a row per job, redrawn often);
    its short form is the percentage alone."""
    pct = max(0.0, min(100.0, percent))
    filled = round(ROW_BAR_WIDTH * pct / 100)
    color = "green" if pct >= 100 else "cyan"
    label = f"{pct:5.1f}%"
    return Cell(
        ("━" * filled, color),
        ("━" * (ROW_BAR_WIDTH - filled), "grey35"),
        (" " + label, color),
        short=Cell((label.lstrip(), color)),
    )


def _row_parts(tracked: Tracked, job: Job) -> _RowParts:
    cached = _ROW_CACHE.get(tracked.job_id)
    if cached is not None and cached[0] is job:
        return cached[1]
    task = current_task(job)
    percent = job.progress_percentage
    if percent is None and task is not None:
        percent = task_percent(task)
    title = title_of(job)
    short_id = (clean(tracked.job_id[:8]), "bold dim")
    parts = _RowParts(
        # the short form, for narrow terminals: the name without the operation
        title=Cell(
            (title + " ", "bold"),
            short_id,
            short=Cell((title.partition(" of ")[2] + " ", "bold"), short_id),
        ),
        status=_status_of(job),
        task=clean(task.task_id) if task is not None else None,
        bar=None if percent is None else _bar_cell(percent),
    )
    if len(_ROW_CACHE) >= _ROW_CACHE_MAX:
        _ROW_CACHE.clear()
    _ROW_CACHE[tracked.job_id] = (job, parts)
    return parts


_DASH_CELL = Cell((DASH, ""))
_DIM_DASH_CELL = Cell((DASH, "dim"))


def job_row(tracked: Tracked, now: Now) -> tuple[Cell, ...]:
    """The compact row of one job: name, status, progress, elapsed, last update."""
    job = tracked.job
    spin = spinner(now.mono) + " "
    if job is None:
        return (
            Cell((clean(tracked.job_id), "")),
            Cell((spin + _unseen(tracked), "dim")),
            _DASH_CELL,
            _DASH_CELL,
            _DASH_CELL,
        )
    parts = _row_parts(tracked, job)
    # A job checked through the job list has no fresh progress: show its task instead.
    fresh = tracked.detail_at is not None and tracked.detail_at == tracked.last_update
    if parts.bar is not None and not job.is_terminal and fresh:
        progress = parts.bar
    elif parts.task is not None:
        progress = Cell((parts.task, "dim"))
        if not fresh and not job.is_terminal and tracked.detail_at is not None:
            read = timedelta(seconds=int(max(now.mono - tracked.detail_at, 0.0)))
            progress = progress + Cell((f" (as of {fmt_duration(read)} ago)", "dim"))
    else:
        progress = _DIM_DASH_CELL
    status = parts.status if job.is_terminal else Cell((spin, "cyan")) + parts.status
    return (
        parts.title,
        status,
        progress,
        Cell((fmt_duration(elapsed_of(tracked, now)), "")),
        Cell((age(tracked, now), "")) if not job.is_terminal else _DASH_CELL,
    )


def jobs_table(jobs: list[Tracked], now: Now) -> LineTable:
    """One compact row per job, each exactly one line (so the frame can count its height)."""
    return LineTable(JOB_COLUMNS, [job_row(t, now) for t in jobs], shrink=_SHRINK)


# ----- the frame ---------------------------------------------------------------------------------
def trouble_text(trouble: Trouble, retry_in: int) -> str:
    """``throttled: retrying in 20 s``."""
    return f"{trouble.reason}: retrying in {retry_in} s"


def status_line(snapshot: Snapshot, now: Now) -> Text:
    if snapshot.done:
        return Text()
    wait = countdown(snapshot.next_poll_at, now)
    if snapshot.trouble is not None:
        line = Text("⚠ " + trouble_text(snapshot.trouble, wait), style="yellow")
        if snapshot.trouble.failures > 1:
            line.append(f" (attempt {snapshot.trouble.failures})", style="dim")
        return line
    line = Text(f"next update in {wait} s", style="dim")
    line.append(" · Ctrl-C stops watching (the jobs keep running)", style="dim")
    return line


def detail_height(tracked: Tracked) -> int:
    """About how many lines :func:`job_detail` takes (to fit the terminal)."""
    job = tracked.job
    if job is None:
        return 1
    lines = 2 + (1 if job.progress_percentage is not None else 0)
    if job.tasks:
        tasks = len(shown_tasks(job))
        lines += 2 + tasks + (1 if tasks < len(job.tasks) else 0)
    if job.property_bag:
        lines += 2 + min(len(job.property_bag), MAX_TABLE_ROWS + 1)
    if job.errors or job.dynamic_error_message:
        errors = job.errors[:MAX_PANEL_ERRORS]
        lines += (
            2
            + sum(2 + min(len(e.recommendations), MAX_RECOMMENDATIONS + 1) for e in errors)
            + (1 if len(job.errors) > len(errors) else 0)
        )
    return lines


# Which rows a terminal too short for all of them shows: failures (the news people look for),
# the latest few other endings (so that a finish does not vanish at once), what is still running,
# then the other endings (cancelled and with warnings before completed), latest first.
RECENT_ENDED_ROWS = 3
# How the "+N more" line names the hidden rows, failures first.
_HIDDEN_LABELS = {
    JobStatus.FAILED: "failed",
    JobStatus.IN_PROGRESS: "running",
    JobStatus.CANCELLING: "cancelling",
    JobStatus.CANCELLED: "cancelled",
    JobStatus.COMPLETED_WITH_WARNINGS: "completed with warnings",
    JobStatus.COMPLETED: "completed",
}


def pick_rows(jobs: list[Tracked], room: int) -> list[Tracked]:
    """At most ``room`` of the jobs, in the order given (see ``RECENT_ENDED_ROWS``)."""
    if len(jobs) <= room:
        return list(jobs)
    failed: list[int] = []
    live: list[int] = []
    ended: list[int] = []
    for i, tracked in enumerate(jobs):
        job = tracked.job
        if job is None or not job.is_terminal:
            live.append(i)
        else:
            (failed if job.status is JobStatus.FAILED else ended).append(i)

    def latest(i: int) -> tuple[bool, float]:
        job = jobs[i].job
        assert job is not None
        end = job.end_time.timestamp() if job.end_time is not None else float("-inf")
        return (job.status is JobStatus.COMPLETED, -end)

    failed.sort(key=latest)
    ended.sort(key=latest)
    order = failed + ended[:RECENT_ENDED_ROWS] + live + ended[RECENT_ENDED_ROWS:]
    keep = set(order[: max(room, 0)])
    return [t for i, t in enumerate(jobs) if i in keep]


def _hidden_label(tracked: Tracked) -> str:
    job = tracked.job
    if job is None:
        return "not visible yet"
    label = _HIDDEN_LABELS.get(job.shown_status)
    if label is None:
        label = job.status_words() or "unknown"
    return label


def hidden_note(hidden: list[Tracked]) -> Text:
    """``(+153 more: 3 failed, 150 completed)``: rows left out for want of height, counted."""
    counts: dict[str, int] = {}
    for tracked in hidden:
        label = _hidden_label(tracked)
        counts[label] = counts.get(label, 0) + 1
    order = list(_HIDDEN_LABELS.values())
    labels = sorted(counts, key=lambda x: (order.index(x) if x in order else len(order), x))
    line = Text(f"(+{len(hidden)} more: ", style="dim", no_wrap=True, overflow="ellipsis")
    for n, label in enumerate(labels):
        if n:
            line.append(", ")
        line.append(f"{counts[label]} {label}", style="bold red" if label == "failed" else "")
    line.append(")")
    return line


def _fitting_details(jobs: list[Tracked], shown: list[Tracked], room: int) -> list[Tracked]:
    """The detailed jobs that fit in ``room`` lines below the rows, keeping a line for the
    note that says how many running jobs are left as rows only."""
    running = sum(1 for t in jobs if t.running)
    fitting: list[Tracked] = []
    for tracked in shown:
        need = detail_height(tracked) + 1  # and the blank line above it
        note = 1 if running > len(fitting) + 1 else 0
        if need + note > room:
            break
        room -= need
        fitting.append(tracked)
    return fitting


def frame(
    snapshot: Snapshot,
    now: Now,
    *,
    compact: bool = False,
    detail_limit: int = 3,
    height: int | None = None,
) -> RenderableType:
    """The whole live view: one job in detail, or a row per job plus the running ones (as
    many as fit in ``height`` lines, at most ``detail_limit``).

    With ``height`` (a live terminal) several jobs take at most that many lines while the watch
    runs: rows that do not fit are left out (failed and running ones last) and counted by
    status in one line. The final frame has every row: it stays in the scrollback as the record.
    """
    jobs = snapshot.jobs
    parts: list[RenderableType] = []
    tail: list[Text] = []
    if snapshot.trouble is not None and snapshot.trouble.failures > 2:
        tail.append(Text(snapshot.trouble.detail, style="dim"))
    line = status_line(snapshot, now)
    if line.plain:
        tail.append(line)
    if height is not None:
        for text in tail:  # one line each, so that the rows above can be counted
            text.no_wrap, text.overflow = True, "ellipsis"
    if len(jobs) == 1 and not compact:
        parts.append(job_detail(jobs[0], now))
    else:
        room = None if height is None else height - len(tail) - 2  # the heading and its rule
        rows = jobs
        if room is not None and len(jobs) > room and not snapshot.done:
            rows = pick_rows(jobs, max(room - 1, 1))  # and the "+N more" line
        parts.append(jobs_table(rows, now))
        if len(rows) < len(jobs):
            kept = {id(t) for t in rows}
            parts.append(hidden_note([t for t in jobs if id(t) not in kept]))
        elif not compact:
            shown = detailed(jobs, detail_limit)
            if room is not None:
                shown = _fitting_details(jobs, shown, room - len(jobs))
            for tracked in shown:
                parts.append(Text())
                parts.append(job_detail(tracked, now))
            hidden = sum(1 for t in jobs if t.running) - len(shown)
            if hidden > 0:
                parts.append(Text(f"({hidden} more running: rows only)", style="dim"))
    parts.extend(tail)
    return Group(*parts)


# ----- end of the watch --------------------------------------------------------------------------
def unseen_cause(trouble: Trouble | None, now: Now) -> str:
    """Why a job was never seen: the trouble every read met, named, or (no trouble) that the
    service did not show it."""
    if trouble is None:
        return "never became visible (the service answered 404 Not Found)"
    lasted = f"for {fmt_duration(timedelta(seconds=max(now.mono - trouble.since, 0.0)))}"
    reason = trouble.reason
    if reason == "throttled":
        return f"every read was throttled (HTTP 429) {lasted}"
    if reason == "unreadable response":
        return f"the service's answers were unreadable {lasted}"
    if reason.startswith("service error"):
        return f"every read met a {sanitize(reason, 60)} {lasted}"
    return f"every read failed ({sanitize(reason, 60)}) {lasted}"


def summary_line(
    tracked: Tracked, now: Now, *, timed_out: bool = False, trouble: Trouble | None = None
) -> str:
    """``Backup of vm1 Completed in 20m23s``; for a job never seen, why: ``trouble`` is the
    watch's last (a job never seen was never read, so it is that job's)."""
    job = tracked.job
    if job is None:
        suffix = " (timed out)" if timed_out else ""
        return f"Job {clean(tracked.job_id)}: {unseen_cause(trouble, now)}{suffix}"
    took = fmt_duration(elapsed_of(tracked, now))
    status = job.status_words(40)
    if job.is_terminal:
        return f"{title_of(job)} {status} in {took}"
    suffix = " (timed out)" if timed_out else ""
    return f"{title_of(job)} still {status} after {took}{suffix}"


def warning_text(job: Job) -> str:
    """The stderr warning of a CompletedWithWarnings job: the first error, in one line."""
    first = job.errors[0] if job.errors else None
    detail = ""
    if first is not None:
        head = " ".join(x for x in (first.code or "", first.title or "") if x)
        detail = ": " + sanitize(" ".join(x for x in (head, first.message or "") if x), 200)
    return f"{title_of(job)} completed with warnings{detail}"


# ----- plain lines (piped -o table) --------------------------------------------------------------
def _task_fact(task: JobTask) -> str:
    fact = f"{sanitize(task.task_id, 60)} {sanitize(task.status_raw or task.status.value, 30)}"
    pct = task_percent(task)
    if pct is not None and task.status is not JobStatus.COMPLETED:
        fact += f" {pct:.0f}%"
    if task.execution_details and task.status is not JobStatus.NOT_STARTED:
        fact += f" ({sanitize(task.execution_details, 80)})"
    return fact


def _task_key(task: JobTask) -> tuple[object, ...]:
    pct = task_percent(task)
    return (task.status, None if pct is None else int(pct), task.execution_details)


def plain_line(
    prev: Job | None, job: Job, now: Now, *, elapsed: timedelta | None = None, multi: bool = False
) -> str:
    """One log line for one change: what differs from ``prev`` (all of it on the first poll)."""
    stamp = now.utc.astimezone().strftime("%H:%M:%S")
    name = title_of(job) + (f" [{clean(job.job_id)[:8]}]" if multi else "")
    # Every line has one shape: time, job, status (with progress while it runs, with the
    # duration once it ended), then what changed since the line before.
    head = job.status_words(40)
    if job.is_terminal:
        head += f" in {fmt_duration(elapsed)}"
    else:
        percent = job.progress_percentage
        task = current_task(job)
        if percent is None and task is not None:
            percent = task_percent(task)
        if percent is not None:
            head += f", {percent:.0f}% done"
    facts: list[str] = [head]
    before = {t.task_id: _task_key(t) for t in prev.tasks} if prev is not None else {}
    for task in job.tasks:
        if prev is None and task.status is JobStatus.NOT_STARTED:
            continue
        if before.get(task.task_id) != _task_key(task):
            facts.append(_task_fact(task))
    if prev is not None:
        added = [k for k in job.property_bag if k not in prev.property_bag]
        if added:
            facts.append("new properties: " + ", ".join(sanitize(k, 40) for k in added))
    if job.errors and (prev is None or not prev.errors):
        first = job.errors[0]
        facts.append(
            "error "
            + sanitize(" ".join(x for x in (first.code or "", first.message or "") if x), 160)
        )
    return f"{stamp} {name}: " + "; ".join(facts)
