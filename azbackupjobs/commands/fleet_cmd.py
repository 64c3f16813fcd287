"""``azjobs list --fleet``: the jobs of every vault in scope, through one Resource Graph query.

The filters of ``azjobs list`` become the query's ``where`` clauses (nothing is filtered here);
the rows come newest first, page by page, and print as they arrive in the same shape as ``azjobs
list`` prints a vault's jobs. ``--by vault|status|operation`` asks Resource Graph to count
instead, and prints a summary with a sentence for people ("3 failed backups in 2 vaults in the
last 24 h").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from azbackupjobs.arm import settings
from azbackupjobs.arm.client import RetryPolicy
from azbackupjobs.commands.common import CommonOptions, Session, make_output, open_session
from azbackupjobs.commands.list_jobs import (
    TABLE_DEFAULT_LIMIT,
    ListOptions,
    checked_choices,
    list_filters,
    merge_newest_first,
    print_job_stream,
    table_jobs,
)
from azbackupjobs.commands.options import ListCommandOptions
from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.sources import kql as fleet
from azbackupjobs.sources.filters import resolve_window
from azbackupjobs.sources.resource_graph import (
    ResourceGraphClient,
    graph_api_version,
    page_size_for,
)
from azbackupjobs.view.output import Environment, Output

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class FleetOptions:
    """Where ``--fleet`` looks, and whether it counts (``--by``)."""

    subscriptions: tuple[str, ...] = ()  # --subscriptions values (repeatable, comma-separated)
    management_group: str | None = None
    by: str | None = None


@dataclass(frozen=True)
class FleetPlan:
    """Everything validated before any request."""

    filters: fleet.FleetFilters
    scope: fleet.Scope
    by: str | None
    limit: int | None
    window_phrase: str


def refuse_vault_flags(opts: CommonOptions) -> None:
    """``--fleet`` spans vaults: a group or vault flag would be silently meaningless."""
    given = [
        flag
        for flag, value in (("--resource-group", opts.resource_group), ("--vault-name", opts.vault))
        if value
    ]
    if given:
        verb = "does" if len(given) == 1 else "do"
        raise UsageError(
            f"--fleet covers every vault in scope; {' and '.join(given)} {verb} "
            "not apply (narrow with --subscriptions or --management-group)"
        )


def fleet_scope(opts: CommonOptions, fopts: FleetOptions) -> fleet.Scope:
    """--subscriptions / --subscription / --management-group; none: the whole tenant."""
    named = list(fopts.subscriptions)
    if opts.subscription:
        named.append(opts.subscription)
    return fleet.parse_scope(named or None, fopts.management_group)


def plan_fleet(
    opts: CommonOptions,
    lopts: ListOptions,
    fopts: FleetOptions,
    *,
    now: datetime,
    tz: tzinfo | None = None,
) -> FleetPlan:
    refuse_vault_flags(opts)
    statuses, operation, mtype = checked_choices(lopts)
    by = fleet.normalize_by(fopts.by) if fopts.by is not None else None
    if by is not None and lopts.limit is not None:
        raise UsageError("--limit does not apply to --by (a summary counts every job)")
    window = resolve_window(lopts.since, lopts.until, now=now, tz=tz)
    job_id = lopts.job_id.strip() if lopts.job_id else None
    filters = fleet.FleetFilters(
        window=window,
        statuses=statuses,
        operation=operation,
        management_type=mtype,
        job_id=job_id,
        entity=fleet.validate_entity(lopts.entity),
    )
    fleet.jobs_query(filters)  # refuses a malformed --job-id before anything is sent
    until_now = lopts.until is None or lopts.until.strip().lower() == "now"
    return FleetPlan(
        filters,
        fleet_scope(opts, fopts),
        by,
        lopts.limit,
        fleet.window_phrase(window, until_now=until_now),
    )


def open_fleet_session(
    opts: CommonOptions, env: Environment, out: Output, *, timeout: float | None = None
) -> Session:
    """A session on the endpoint alone: no resource group or vault is resolved or needed."""
    ctx = settings.resolve_service_context(opts.flags, env.env)
    return open_session(opts, env, out=out, context=ctx, timeout=timeout)


def graph_client(
    session: Session,
    env: Environment,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    notify: Callable[[str], None] | None = None,
    retry: RetryPolicy | None = None,
) -> ResourceGraphClient:
    out = session.out
    return ResourceGraphClient(
        session.client,
        api_version=graph_api_version(env.env),
        sleep=sleep,
        clock=clock,
        notify=notify if notify is not None else (lambda text: out.note(f"azjobs: {text}")),
        retry=retry,
    )


# ----- rows ---------------------------------------------------------------------------------------
def _rows(pages: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for page in pages:
        for row in page:
            yield fleet.row_to_job(row)


def iter_fleet_jobs(
    graph: ResourceGraphClient, query: str, scope: fleet.Scope, *, top: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every job the query returns, newest first, once (a job updated between two pages can
    show up on both: the first sighting wins)."""
    streams = [_rows(s) for s in graph.streams(query, scope, top=top)]
    seen: set[str] = set()
    for job in merge_newest_first(streams):
        key = str(job["id"]).lower()
        if key in seen:
            continue
        seen.add(key)
        yield job


# ----- the command --------------------------------------------------------------------------------
def run(opts: ListCommandOptions, env: Environment) -> int:
    """``azjobs list`` given any fleet flag."""
    fopts = FleetOptions(opts.subscriptions, opts.management_group, opts.by)
    return run_fleet_command(
        opts, list_filters(opts), fopts, env, fleet=opts.fleet, timeout=opts.timeout
    )


def run_fleet_command(
    opts: CommonOptions,
    lopts: ListOptions,
    fopts: FleetOptions,
    env: Environment,
    *,
    fleet: bool,
    timeout: float | None = None,
) -> int:
    """``azjobs list`` given a fleet flag: ``--fleet`` itself is required with the others."""
    if not fleet:
        named = [
            flag
            for flag, given in (
                ("--subscriptions", bool(fopts.subscriptions)),
                ("--management-group", fopts.management_group is not None),
                ("--by", fopts.by is not None),
            )
            if given
        ]
        raise UsageError(
            f"{' and '.join(named)} {'needs' if len(named) == 1 else 'need'} "
            "--fleet "
            f"(azjobs list --fleet {' '.join(named)} ...)"
        )
    return run_fleet_list(opts, lopts, fopts, env, timeout=timeout)


def run_fleet_list(
    opts: CommonOptions,
    lopts: ListOptions,
    fopts: FleetOptions,
    env: Environment,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    timeout: float | None = None,
) -> int:
    out = make_output(opts, env)
    plan = plan_fleet(opts, lopts, fopts, now=now or datetime.now(UTC), tz=tz)
    session = open_fleet_session(opts, env, out, timeout=timeout)
    try:
        graph = graph_client(session, env, sleep=sleep, clock=clock)
        if plan.by is not None:
            _print_summary(out, graph, plan)
        else:
            top = page_size_for(
                plan.limit
                if plan.limit is not None or not out.is_table
                else TABLE_DEFAULT_LIMIT + 1
            )
            jobs = iter_fleet_jobs(graph, fleet.jobs_query(plan.filters), plan.scope, top=top)
            _print_jobs(out, jobs, plan)
    finally:
        session.client.close()
    return ExitCode.OK


def _print_jobs(out: Output, jobs: Iterator[dict[str, Any]], plan: FleetPlan) -> None:
    if out.is_table and out.query is None:
        _print_table(out, jobs, plan)
        return
    print_job_stream(out, jobs, plan.limit)


def _print_table(out: Output, jobs: Iterator[dict[str, Any]], plan: FleetPlan) -> None:
    from azbackupjobs.view.fleet_view import fleet_jobs_table

    shown, more = table_jobs(out, jobs, plan.limit, source="result")
    where = plan.scope.describe
    if not shown:
        out.note(f"No jobs {plan.window_phrase} in {where}.")
        return
    vaults = {fleet.vault_of(j.raw) for j in shown}
    caption = (
        f"{len(shown)} job{'s' if len(shown) != 1 else ''} in {len(vaults)} "
        f"vault{'s' if len(vaults) != 1 else ''}, newest first"
    )
    if more:
        caption += "; older ones not shown (--limit 0 shows all)"
    out.render(
        fleet_jobs_table(
            shown,
            width=out.console.width,
            title=f"Jobs {plan.window_phrase} in {where}",
            caption=caption,
        )
    )


def _print_summary(out: Output, graph: ResourceGraphClient, plan: FleetPlan) -> None:
    from azbackupjobs.view.fleet_view import summary_tsv_rows

    assert plan.by is not None
    query = fleet.summary_query(plan.filters, plan.by)
    counts = [
        fleet.read_count(row)
        for stream in graph.streams(query, plan.scope)
        for page in stream
        for row in page
    ]
    rows = fleet.summarize(counts, plan.by)
    line = fleet.sentence(
        counts,
        window=plan.window_phrase,
        statuses=plan.filters.statuses,
        operation=plan.filters.operation,
    )
    if out.is_table and out.query is None:
        from rich.console import Group
        from rich.text import Text

        from azbackupjobs.view.fleet_view import summary_table

        sentence = line[:1].upper() + line[1:]
        if not rows:
            out.note(f"{sentence} in {plan.scope.describe}.")
            return
        # Title and sentence as lines of their own: a narrow table would wrap them.
        out.render(
            Group(
                Text(f"Jobs by {plan.by} in {plan.scope.describe}", style="bold"),
                summary_table(rows, plan.by, width=out.console.width),
                Text(sentence),
            )
        )
        return
    if out.format == "ndjson":
        out.ndjson_items(rows)
    elif out.format == "tsv":
        out.data(rows, tsv_rows=summary_tsv_rows(rows, plan.by))
    else:
        out.json(rows)
