"""``azjobs list``: jobs in a time window, newest first, streamed as pages arrive.

The jobs come from the vault (``sources.recovery_services``) or, with ``--fleet``, from every
vault in scope at once (``sources.fleet``, through Resource Graph); either way the same filters
apply and the same list path prints them (``view.listing``). ``--fleet --by vault|status|
operation`` counts instead, and prints a summary with a sentence for people ("3 failed backups
in 2 vaults in the last 24 h").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from azbackupjobs.commands.common import (
    CommonOptions,
    SecondaryRegion,
    make_output,
    open_session,
    refuse_secondary,
    refuse_vault_flags,
)
from azbackupjobs.commands.options import ListCommandOptions
from azbackupjobs.commands.shared.fleet import FleetOptions, fleet_scope, open_fleet
from azbackupjobs.model import ids
from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.sources import filters, kql
from azbackupjobs.sources import recovery_services as vault
from azbackupjobs.sources.base import JobQuery, JobSource
from azbackupjobs.view.listing import Heading, print_jobs, wanted
from azbackupjobs.view.output import Environment, Output

if TYPE_CHECKING:
    from azbackupjobs.sources.fleet import ResourceGraphSource

Sleep = Callable[[float], None]
Clock = Callable[[], float]


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
    checked: the flags that the vault list and ``--fleet`` read alike. A ``--type`` that is a
    Backup vault datasource type is not here but in ``datasource_types``."""
    statuses = filters.normalize_statuses(lopts.statuses)
    operation = filters.normalize_operation(lopts.operation) if lopts.operation else None
    mtype = None
    if lopts.management_type and not datasource_types(lopts):
        mtype = filters.normalize_management_type(lopts.management_type)
    if lopts.limit is not None and lopts.limit < 0:
        raise UsageError(f"--limit: {lopts.limit} is negative; use 0 for no limit")
    return statuses, operation, mtype


def datasource_types(lopts: ListOptions) -> tuple[str, ...]:
    """``--type`` as Backup vault datasource types (``disk``, ``Microsoft.Compute/disks``);
    ``()`` when it names a Recovery Services backup management type or nothing."""
    from azbackupjobs.model.datasources import datasource_types as named

    value = lopts.management_type
    if not value:
        return ()
    try:
        filters.normalize_management_type(value)
    except UsageError:
        found = named(value)
        if found is None:
            raise UsageError(
                f"--type: unknown value {value.strip()[:60]!r}; use a backup management type ("
                + ", ".join(filters.MANAGEMENT_TYPES)
                + ") or a Backup vault datasource type (disk, blob, adls, aks, postgresql, "
                "mysql, or the full type such as Microsoft.Compute/disks)"
            ) from None
        return found
    return ()


def vault_query(lopts: ListOptions, *, now: datetime, tz: tzinfo | None = None) -> JobQuery:
    """The flags as a query of the vault (usage errors here, before any request)."""
    statuses, operation, mtype = checked_choices(lopts)
    window = filters.resolve_window(lopts.since, lopts.until, now=now, tz=tz)
    entity = lopts.entity.strip() if lopts.entity and lopts.entity.strip() else None
    if lopts.job_id is not None:  # either kind of vault takes a GUID only
        ids.validate_guid(lopts.job_id.strip(), "--job-id")
    return JobQuery(
        window, statuses, operation, mtype, lopts.job_id, entity, datasource_types(lopts)
    )


def plan_list(lopts: ListOptions, *, now: datetime, tz: tzinfo | None = None) -> vault.ListPlan:
    """Validate the flags and build the vault's filters, before any request."""
    return vault.plan(vault_query(lopts, now=now, tz=tz))


def check_query(query: JobQuery, kind: VaultKind | None) -> None:
    """What a vault of ``kind`` cannot be asked (before any request; None: either kind)."""
    if kind is VaultKind.BACKUP:
        from azbackupjobs.sources.backup_vault import refuse_management_type

        refuse_management_type(query, "a Backup vault")
        return
    if kind is VaultKind.RECOVERY_SERVICES:
        vault.plan(query)


def run_list(
    opts: CommonOptions,
    lopts: ListOptions,
    env: Environment,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    timeout: float | None = None,
    secondary: SecondaryRegion | None = None,
) -> int:
    """``secondary``: the vault's cross-region restore jobs (same filters, same output)."""
    out = make_output(opts, env)
    query = vault_query(lopts, now=now or datetime.now(UTC), tz=tz)
    session = open_session(opts, env, out=out, timeout=timeout, secondary=secondary)
    newest: list[dict[str, Any]] = []
    try:
        # What the vault cannot be asked fails before any request when the kind is known, and
        # before the first job request otherwise (the kind may take one look at the vault).
        check_query(query, session.ctx.vault_kind)
        source = session.source
        check_query(query, session.kind)
        jobs = _tap(source.jobs(query, limit=wanted(out, lopts.limit)), newest)
        _print(out, source, jobs, lopts.limit, lambda: _vault_heading(query.window))
    finally:
        session.client.close()
    from azbackupjobs.arm import job_cache as completion

    # The newest jobs shown feed shell completion of JOB arguments; an unfiltered listing also
    # tells it that the vault's recent jobs are known.
    unfiltered = not (
        lopts.statuses
        or lopts.operation
        or lopts.management_type
        or lopts.job_id
        or query.entity
        or query.datasource_types
    )
    if secondary is not None:
        return ExitCode.OK  # the completion cache knows the vaults' own jobs only
    # Under the vault's path of its kind, which a look at the vault may have told.
    ctx = replace(session.ctx, vault_kind=session.kind)
    completion.record_jobs(ctx, newest, complete_listing=unfiltered, env=env.env)
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


# ----- --fleet ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FleetPlan:
    """Everything validated before any request."""

    filters: JobQuery
    scope: kql.Scope
    by: str | None
    limit: int | None
    window_phrase: str


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
    by = kql.normalize_by(fopts.by) if fopts.by is not None else None
    if by is not None and lopts.limit is not None:
        raise UsageError("--limit does not apply to --by (a summary counts every job)")
    window = filters.resolve_window(lopts.since, lopts.until, now=now, tz=tz)
    job_id = lopts.job_id.strip() if lopts.job_id else None
    query = JobQuery(
        window,
        statuses,
        operation,
        mtype,
        job_id,
        kql.validate_entity(lopts.entity),
        datasource_types(lopts),
    )
    kql.jobs_query(query)  # refuses a malformed --job-id before anything is sent
    until_now = lopts.until is None or lopts.until.strip().lower() == "now"
    return FleetPlan(
        query,
        fleet_scope(opts, fopts),
        by,
        lopts.limit,
        kql.window_phrase(window, until_now=until_now),
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
    session, source = open_fleet(
        opts, env, out, plan.scope, sleep=sleep, clock=clock, timeout=timeout
    )
    try:
        if plan.by is not None:
            _print_summary(out, source, plan, plan.by)
        else:
            where = f"{plan.window_phrase} in {source.name}"
            jobs = source.jobs(plan.filters, limit=wanted(out, plan.limit))
            heading = Heading(f"Jobs {where}", f"No jobs {where}.", noun="result")
            _print(out, source, jobs, plan.limit, lambda: heading)
    finally:
        session.client.close()
    return ExitCode.OK


def _print_summary(out: Output, source: ResourceGraphSource, plan: FleetPlan, by: str) -> None:
    counts = source.counts(plan.filters, by)
    rows = kql.summarize(counts, by)
    line = kql.sentence(
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


# ----- the command --------------------------------------------------------------------------------
def list_filters(opts: ListCommandOptions) -> ListOptions:
    """The filters of ``azjobs list``, which the vault list and ``--fleet`` read alike."""
    return ListOptions(
        statuses=opts.status,
        operation=opts.operation,
        management_type=opts.backup_type,
        job_id=opts.job_id,
        since=opts.since,
        until=opts.until,
        limit=opts.limit,
        entity=opts.entity,
    )


def run(opts: ListCommandOptions, env: Environment) -> int:
    """``azjobs list`` without fleet flags (with them, ``run_fleet`` runs instead)."""
    return run_list(opts, list_filters(opts), env, timeout=opts.timeout, secondary=opts.secondary())


def run_fleet(opts: ListCommandOptions, env: Environment) -> int:
    """``azjobs list`` given any fleet flag."""
    refuse_secondary(opts, "--fleet")
    fopts = FleetOptions(opts.subscriptions, opts.management_group, opts.by)
    return run_fleet_command(
        opts, list_filters(opts), fopts, env, fleet=opts.fleet, timeout=opts.timeout
    )
