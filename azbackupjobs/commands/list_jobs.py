"""``azjobs list``: the vault's jobs in a time window, newest first, streamed as pages arrive.

The vault's source (``sources.recovery_services``) reads them lazily, page by page, newest first;
the one list path (``view.listing``) prints them, as it prints ``--fleet``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from azbackupjobs.commands.common import CommonOptions, make_output, open_session
from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.sources import filters
from azbackupjobs.sources import recovery_services as vault
from azbackupjobs.sources.base import JobQuery, JobSource
from azbackupjobs.view.listing import Heading, print_jobs
from azbackupjobs.view.output import Environment, Output


@dataclass(frozen=True)
class ListOptions:
    statuses: tuple[str, ...] = ()
    operation: str | None = None
    management_type: str | None = None
    job_id: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None  # None: every job (the table: the newest 100); 0: every job
    entity: str | None = None


def checked_choices(lopts: ListOptions) -> tuple[tuple[str, ...], str | None, str | None]:
    """``--status``, ``--operation`` and ``--type`` in the service's spelling, with ``--limit``
    checked: the flags that the vault list and ``--fleet`` read alike."""
    statuses = filters.normalize_statuses(lopts.statuses)
    operation = filters.normalize_operation(lopts.operation) if lopts.operation else None
    mtype = (
        filters.normalize_management_type(lopts.management_type) if lopts.management_type else None
    )
    if lopts.limit is not None and lopts.limit < 0:
        raise UsageError(f"--limit: {lopts.limit} is negative; use 0 for no limit")
    return statuses, operation, mtype


def vault_query(lopts: ListOptions, *, now: datetime, tz: tzinfo | None = None) -> JobQuery:
    """The flags as a query of the vault (usage errors here, before any request)."""
    statuses, operation, mtype = checked_choices(lopts)
    window = filters.resolve_window(lopts.since, lopts.until, now=now, tz=tz)
    entity = lopts.entity.strip() if lopts.entity and lopts.entity.strip() else None
    return JobQuery(window, statuses, operation, mtype, lopts.job_id, entity)


def plan_list(lopts: ListOptions, *, now: datetime, tz: tzinfo | None = None) -> vault.ListPlan:
    """Validate the flags and build the vault's filters, before any request."""
    return vault.plan(vault_query(lopts, now=now, tz=tz))


def run_list(
    opts: CommonOptions,
    lopts: ListOptions,
    env: Environment,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> int:
    out = make_output(opts, env)
    query = vault_query(lopts, now=now or datetime.now(UTC), tz=tz)
    vault.plan(query)  # a window the vault API cannot be asked for fails before anything else
    session = open_session(opts, env, out=out)
    newest: list[dict[str, Any]] = []
    try:
        jobs = _tap(session.source.jobs(query), newest)
        _print(out, session.source, jobs, lopts.limit, lambda: _vault_heading(query.window))
    finally:
        session.client.close()
    from azbackupjobs.arm import job_cache as completion

    # The newest jobs shown feed shell completion of JOB arguments; an unfiltered listing also
    # tells it that the vault's recent jobs are known.
    unfiltered = not (
        lopts.statuses or lopts.operation or lopts.management_type or lopts.job_id or query.entity
    )
    completion.record_jobs(session.ctx, newest, complete_listing=unfiltered, env=env.env)
    return ExitCode.OK


def _print(
    out: Output,
    source: JobSource,
    jobs: Iterator[dict[str, Any]],
    limit: int | None,
    heading: Callable[[], Heading],
) -> None:
    """The one list path, whatever the source."""
    print_jobs(
        out, jobs, limit=limit, parse=source.parse, heading=heading, vaults=source.spans_vaults
    )


def _vault_heading(window: filters.Window) -> Heading:
    from azbackupjobs.view.render import fmt_time

    span = f"{fmt_time(window.start)} to {fmt_time(window.end)}"
    return Heading(title=f"Jobs from {span}", empty=f"No jobs from {span}.")


def _tap(
    items: Iterator[dict[str, Any]], keep: list[dict[str, Any]], most: int = 50
) -> Iterator[dict[str, Any]]:
    """Pass items through, keeping the first ``most`` (what the completion cache holds)."""
    for item in items:
        if len(keep) < most:
            keep.append(item)
        yield item


# ----- the command --------------------------------------------------------------------------------
def run_list_command(opts: CommonOptions, values: Mapping[str, Any], env: Environment) -> int:
    """What ``azjobs list`` does with its parsed flags (named as in cli.py), shared by the Typer
    command and the start-up fast path so that the two cannot differ: the vault list, or the
    Resource Graph form when any fleet flag is given."""
    lopts = ListOptions(
        statuses=tuple(values.get("status") or ()),
        operation=values.get("operation"),
        management_type=values.get("backup_type"),
        job_id=values.get("job_id"),
        since=values.get("since"),
        until=values.get("until"),
        limit=values.get("limit"),
        entity=values.get("entity"),
    )
    fleet = bool(values.get("fleet"))
    if (
        fleet
        or values.get("subscriptions")
        or values.get("management_group") is not None
        or values.get("by") is not None
    ):
        from azbackupjobs.commands.fleet_cmd import FleetOptions, run_fleet_command

        fopts = FleetOptions(
            tuple(values.get("subscriptions") or ()),
            values.get("management_group"),
            values.get("by"),
        )
        return run_fleet_command(opts, lopts, fopts, env, fleet=fleet)
    return run_list(opts, lopts, env)
