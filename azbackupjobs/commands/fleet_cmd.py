"""``azjobs list --fleet``: the jobs of every vault in scope, through one Resource Graph query.

The filters of ``azjobs list`` become the query's ``where`` clauses (nothing is filtered here);
the rows come newest first, page by page, and print as they arrive in the same shape as ``azjobs
list`` prints a vault's jobs. ``--by vault|status|operation`` asks Resource Graph to count
instead, and prints a summary with a sentence for people ("3 failed backups in 2 vaults in the
last 24 h").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from azbackupjobs.arm import settings
from azbackupjobs.arm.client import RetryPolicy
from azbackupjobs.commands.common import CommonOptions, Session, make_output, open_session
from azbackupjobs.commands.list_jobs import ListOptions, checked_choices
from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.sources import kql as fleet
from azbackupjobs.sources.filters import resolve_window
from azbackupjobs.sources.fleet import ResourceGraphSource
from azbackupjobs.sources.resource_graph import ResourceGraphClient, graph_api_version
from azbackupjobs.view.listing import Heading, print_jobs, wanted
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


def open_fleet_session(opts: CommonOptions, env: Environment, out: Output) -> Session:
    """A session on the endpoint alone: no resource group or vault is resolved or needed."""
    ctx = settings.resolve_service_context(opts.flags, env.env)
    return open_session(opts, env, out=out, context=ctx)


def fleet_source(
    session: Session,
    env: Environment,
    scope: fleet.Scope,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    notify: Callable[[str], None] | None = None,
    retry: RetryPolicy | None = None,
) -> ResourceGraphSource:
    """The jobs of every vault in ``scope`` through Resource Graph, on the session's transport;
    a job's details through its vault's API."""
    out = session.out
    graph = ResourceGraphClient(
        session.client,
        api_version=graph_api_version(env.env),
        sleep=sleep,
        clock=clock,
        notify=notify if notify is not None else (lambda text: out.note(f"azjobs: {text}")),
        retry=retry,
    )
    return ResourceGraphSource(graph, scope, session.source)


# ----- the command --------------------------------------------------------------------------------
def run_fleet_command(
    opts: CommonOptions, lopts: ListOptions, fopts: FleetOptions, env: Environment, *, fleet: bool
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
    return run_fleet_list(opts, lopts, fopts, env)


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
) -> int:
    out = make_output(opts, env)
    plan = plan_fleet(opts, lopts, fopts, now=now or datetime.now(UTC), tz=tz)
    session = open_fleet_session(opts, env, out)
    try:
        source = fleet_source(session, env, plan.scope, sleep=sleep, clock=clock)
        if plan.by is not None:
            _print_summary(out, source, plan, plan.by)
        else:
            where = f"{plan.window_phrase} in {source.name}"
            heading = Heading(f"Jobs {where}", f"No jobs {where}.", noun="result")
            print_jobs(
                out,
                source.jobs(plan.filters, limit=wanted(out, plan.limit)),
                limit=plan.limit,
                parse=source.parse,
                heading=lambda: heading,
                vaults=source.spans_vaults,
            )
    finally:
        session.client.close()
    return ExitCode.OK


def _print_summary(out: Output, source: ResourceGraphSource, plan: FleetPlan, by: str) -> None:
    counts = source.counts(plan.filters, by)
    rows = fleet.summarize(counts, by)
    line = fleet.sentence(
        counts,
        window=plan.window_phrase,
        statuses=plan.filters.statuses,
        operation=plan.filters.operation,
    )

    def table() -> Any:
        from azbackupjobs.view.fleet_view import summary_view

        sentence = line[:1].upper() + line[1:]
        if not rows:
            out.note(f"{sentence} in {source.name}.")
            return None
        return summary_view(rows, by, where=source.name, sentence=sentence, width=out.console.width)

    def tsv() -> list[list[Any]]:
        from azbackupjobs.view.fleet_view import summary_tsv_rows

        return summary_tsv_rows(rows, by)

    out.show(rows, table=table, tsv=tsv, lines=lambda: rows)
