"""``azjobs get`` and ``azjobs list-tasks``: one job, one GET.

The json, ndjson and tsv paths print the resource as returned and never build the model
(``view.jobs``): scripts run these in loops and every import is paid per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azbackupjobs.commands.common import RegionOptions, job_ref, make_output, open_session
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.view.jobs import show_job, show_tasks
from azbackupjobs.view.output import Environment, Output

if TYPE_CHECKING:
    from azbackupjobs.commands.common import JobsSource


@dataclass(frozen=True, kw_only=True)
class GetOptions(RegionOptions):
    """``azjobs get`` and ``azjobs list-tasks``: the vault flags, one JOB (of the vault's own
    region or, with ``--secondary-region`` or a cross-region restore job's id, of its paired
    region), and the run's overall deadline in seconds (``--timeout``)."""

    job: str
    timeout: float | None = None


def _fetch(opts: GetOptions, env: Environment) -> tuple[Output, dict[str, Any], JobsSource]:
    out = make_output(opts, env)
    ref = job_ref(opts.job, secondary=True)
    secondary = opts.secondary(ref)
    session = open_session(opts, env, ref, out=out, timeout=opts.timeout, secondary=secondary)
    source = session.source
    try:
        raw = source.get_job(ref.job_id)
    finally:
        session.client.close()
    if not isinstance(raw.get("properties"), dict):
        source.parse(raw)  # not a job resource: raises the model's UnexpectedResponseError
    return out, raw, source


def run(opts: GetOptions, env: Environment) -> int:
    out, raw, source = _fetch(opts, env)
    show_job(out, raw, source.parse)
    return ExitCode.OK


def run_list_tasks(opts: GetOptions, env: Environment) -> int:
    out, raw, source = _fetch(opts, env)
    show_tasks(out, raw, source.tasks(raw), source.parse)
    return ExitCode.OK
