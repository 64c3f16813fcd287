"""One job, or its tasks, in the chosen format (``get``, ``list-tasks``, ``cancel``).

The json, ndjson and tsv forms print the resource as the service returned it and never build the
model: ``parse`` (the source's) runs only to draw a table, since scripts run these in loops and
every import is paid per call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azbackupjobs.view.output import Output
from azbackupjobs.view.rows import job_tsv_row, task_tsv_row

if TYPE_CHECKING:
    from azbackupjobs.model.job import Job

Parse = Callable[[Mapping[str, Any]], "Job"]


def show_job(out: Output, raw: dict[str, Any], parse: Parse) -> None:
    def table() -> Any:
        from azbackupjobs.view import render

        return render.job_view(parse(raw), datetime.now(UTC))

    out.show(raw, table=table, tsv=lambda: [job_tsv_row(raw)])


def show_tasks(out: Output, raw: dict[str, Any], tasks: list[Any], parse: Parse) -> None:
    """``tasks``: the job's tasks as returned (one ndjson line each)."""

    def table() -> Any:
        from azbackupjobs.view import render

        return render.tasks_only(parse(raw))

    out.show(
        tasks,
        table=table,
        tsv=lambda: [task_tsv_row(t) for t in tasks if isinstance(t, dict)],
        lines=lambda: tasks,
    )
