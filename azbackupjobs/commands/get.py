"""``azjobs get`` and ``azjobs list-tasks``: one job, one GET.

The json, ndjson and tsv paths print the resource as returned and never build the model:
``models`` is imported only for tables (and for a body that is not a job, to refuse it with the
model's own message), since scripts run these in loops and every import is paid per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azbackupjobs.commands.common import CommonOptions, make_output, open_session
from azbackupjobs.model import ids
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.view.output import Environment, Output

if TYPE_CHECKING:
    from azbackupjobs.model.job import Job


@dataclass(frozen=True, kw_only=True)
class GetOptions(CommonOptions):
    """``azjobs get`` and ``azjobs list-tasks``: the vault flags, one JOB, and the run's
    overall deadline in seconds (``--timeout``)."""

    job: str
    timeout: float | None = None


def _fetch(opts: GetOptions, env: Environment) -> tuple[Output, dict[str, Any]]:
    out = make_output(opts, env)
    ref = ids.parse_job_ref(opts.job)
    session = open_session(opts, env, ref, out=out, timeout=opts.timeout)
    try:
        raw = session.client.get_job(ref.job_id)
    finally:
        session.client.close()
    if not isinstance(raw.get("properties"), dict):
        _model(raw)  # not a job resource: raises the model's UnexpectedResponseError
    return out, raw


def _model(raw: dict[str, Any]) -> Job:
    from azbackupjobs.model.job import Job

    return Job.from_dict(raw)


def raw_tasks(raw: dict[str, Any]) -> list[Any]:
    """``extendedInfo.tasksList`` exactly as returned; ``[]`` when the job type has none."""
    props = raw.get("properties")
    ext = props.get("extendedInfo") if isinstance(props, dict) else None
    tasks = ext.get("tasksList") if isinstance(ext, dict) else None
    return tasks if isinstance(tasks, list) else []


def run(opts: GetOptions, env: Environment) -> int:
    out, raw = _fetch(opts, env)
    if out.is_table and out.query is None:
        from azbackupjobs.view import render

        out.render(render.job_view(_model(raw), datetime.now(UTC)))
    elif out.format == "table":
        out.json(raw)
    else:
        from azbackupjobs.view.rows import job_tsv_row

        out.data(raw, tsv_rows=[job_tsv_row(raw)])
    return ExitCode.OK


def run_list_tasks(opts: GetOptions, env: Environment) -> int:
    out, raw = _fetch(opts, env)
    tasks = raw_tasks(raw)
    if out.is_table and out.query is None:
        from azbackupjobs.view import render

        out.render(render.tasks_only(_model(raw)))
    elif out.format == "ndjson":
        out.ndjson_items(tasks)
    elif out.format == "table":
        out.json(tasks)
    else:
        from azbackupjobs.view.rows import task_tsv_row

        out.data(tasks, tsv_rows=[task_tsv_row(t) for t in tasks if isinstance(t, dict)])
    return ExitCode.OK
