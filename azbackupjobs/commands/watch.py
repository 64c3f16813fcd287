"""``azjobs watch``: follow jobs until they end, in the form the reader needs.

The jobs come from the command line, from an operation (``--operation``), from the vault
(``--all``), or with ``--fleet`` from every vault in scope (whatever runs there, through
Resource Graph). Every form runs the one poll loop (``follow.poll``) and the one watch view
(``view.watching``), and ends with the same exit codes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from azbackupjobs.arm.client import NO_RETRY
from azbackupjobs.commands.common import (
    CommonOptions,
    Session,
    job_ref,
    make_output,
    open_session,
    refuse_secondary,
    refuse_vault_flags,
    secondary_region,
)
from azbackupjobs.commands.options import WatchCommandOptions
from azbackupjobs.commands.shared.fleet import FleetOptions, fleet_scope, open_fleet
from azbackupjobs.commands.shared.operations import resolve_operation
from azbackupjobs.commands.shared.watching import (
    Clock,
    Sleep,
    Wall,
    WatchOptions,
    utc_now,
    watch_jobs,
)
from azbackupjobs.follow.fleet import RUNNING_STATUSES, FleetWatchOptions, fleet_poller
from azbackupjobs.follow.poll import LAST_LOOK_SECONDS, parse_duration_arg
from azbackupjobs.model import ids
from azbackupjobs.model.errors import CommandTimeout, UsageError, WatchTimeout
from azbackupjobs.model.kinds import vault_kind_of
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.filters import Window, normalize_statuses, parse_when
from azbackupjobs.view.output import Environment

# What the tests and ``cli`` name through this module.
__all__ = [
    "FleetWatchRequest",
    "WatchOptions",
    "WatchRequest",
    "in_progress_job_ids",
    "resolve_operation",
    "run_fleet_watch",
    "run_fleet_watch_command",
    "run_watch",
    "watch_jobs",
]

# How far back ``--all`` looks for running jobs (long restores run for more than a day).
ALL_JOBS_WINDOW = timedelta(days=7)
# ``watch --fleet``: long restores run for more than a day; jobs that start while the watch runs
# are watched too, so the window has no real end.
FLEET_DEFAULT_SINCE = "7d"
OPEN_END = timedelta(days=400)


@dataclass(frozen=True)
class WatchRequest:
    """What ``azjobs watch`` was asked: jobs, an operation, or every running job."""

    common: CommonOptions
    options: WatchOptions
    jobs: tuple[str, ...] = ()
    operation: str | None = None
    all_jobs: bool = False
    # --secondary-region / --paired-region: the vault's cross-region restore jobs.
    secondary_region: bool = False
    paired_region: str | None = None


# ----- the entry point of the command ------------------------------------------------------------
def parse_grace(value: str) -> float:
    return parse_duration_arg(value, "--grace")


def watch_options(opts: WatchCommandOptions) -> WatchOptions:
    """How to watch, from the command line (``watch --fleet`` reads the same flags)."""
    return WatchOptions(
        interval=opts.poll_interval,
        timeout=opts.timeout,
        grace=opts.grace,
        strict=opts.strict,
        fail_fast=opts.fail_fast,
        compact=opts.compact,
        bell=opts.bell,
    )


def run(opts: WatchCommandOptions, env: Environment) -> int:
    """``azjobs watch`` without fleet flags (with them, ``run_fleet`` runs instead)."""
    request = WatchRequest(
        common=opts,
        options=watch_options(opts),
        jobs=opts.jobs,
        operation=opts.operation,
        all_jobs=opts.all_jobs,
        secondary_region=opts.secondary_region,
        paired_region=opts.paired_region,
    )
    return run_watch(request, env)


def run_watch(
    request: WatchRequest,
    env: Environment,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    wall: Wall = utc_now,
) -> int:
    sources = sum((bool(request.jobs), request.operation is not None, request.all_jobs))
    if sources != 1:
        raise UsageError(
            "name the jobs to watch: JOB arguments, --operation URL_OR_ID, or --all (one of them)"
        )
    out = make_output(request.common, env)
    refs = tuple(job_ref(j, secondary=True) for j in request.jobs)
    ref = _context_ref(request, refs)
    secondary = secondary_region(request.secondary_region, request.paired_region, refs)
    if secondary is not None and request.operation is not None:
        raise UsageError(
            "--operation follows an operation of the vault's own region; it does not apply "
            "to the secondary region (watch the cross-region restore job by its id)"
        )
    opts = request.options
    # Every request of the watch (finding the jobs included) ends by the deadline; the poll
    # loop gives its own requests what is left of it (``time_left``).
    timeout = None if opts.timeout is None else opts.timeout + LAST_LOOK_SECONDS
    session = open_session(request.common, env, ref, out=out, timeout=timeout, secondary=secondary)
    started = clock()
    try:
        if request.operation is not None:
            job_ids = resolve_operation(
                session,
                request.operation,
                interval=opts.interval,
                timeout=opts.timeout,
                grace=opts.grace,
                sleep=sleep,
                clock=clock,
            )
        elif request.all_jobs:
            job_ids = in_progress_job_ids(session, wall())
            opts = replace(opts, array=True if opts.array is None else opts.array)
            if not job_ids:
                out.note(f"azjobs: no job is in progress in {session.source.name}")
        else:
            job_ids = [r.job_id for r in refs]
        if opts.timeout is not None:
            opts = replace(opts, timeout=max(opts.timeout - (clock() - started), 0.001))
        return watch_jobs(session, job_ids, opts, sleep=sleep, clock=clock, wall=wall)
    except CommandTimeout:
        raise WatchTimeout(
            f"--timeout elapsed ({request.options.timeout:g} s) before the jobs to watch were known"
        ) from None
    finally:
        session.client.close()


def _context_ref(request: WatchRequest, refs: tuple[ids.JobRef, ...]) -> ids.JobRef | None:
    """The vault named by full ARM ids ``refs`` (all in one vault) or by the operation URL's
    path."""
    named: list[ids.JobRef] = []
    for ref in refs:
        if ref.vault is not None:
            named.append(ref)
        elif ref.secondary:  # names the subscription and kind (and region), not the vault
            return ref
    if request.operation is not None:
        op = request.operation.strip()
        if op.lower().startswith(("http://", "https://", "/")):
            vault = ids.vault_of_id(urlsplit(op).path)
            if vault is not None:
                try:
                    named.append(
                        ids.JobRef(
                            job_id="",
                            subscription=ids.validate_subscription(vault[0]),
                            resource_group=ids.validate_resource_group(vault[1]),
                            vault=ids.validate_vault(vault[2]),
                            vault_kind=vault_kind_of(urlsplit(op).path),
                        )
                    )
                except UsageError as exc:
                    raise UsageError(f"--operation: {exc.message}") from None
        elif not ids.GUID_RE.match(op):
            raise UsageError(
                f"--operation: {sanitize(op, 80)!r} is neither an operation URL "
                "(Azure-AsyncOperation or operationsStatus) nor an operation id (a GUID)"
            )
    if not named:
        return None

    def vault_key(ref: ids.JobRef) -> tuple[str, ...]:  # ARM names ignore case
        return tuple((x or "").lower() for x in (ref.subscription, ref.resource_group, ref.vault))

    if len({vault_key(ref) for ref in named}) > 1:
        raise UsageError("the jobs to watch must all be in one vault")
    return named[0]


def in_progress_job_ids(session: Session, now: datetime) -> list[str]:
    """Every InProgress or Cancelling job of the vault that started in the last seven days,
    newest first."""
    window = Window(
        (now - ALL_JOBS_WINDOW).replace(microsecond=0),
        (now + timedelta(days=1)).replace(microsecond=0),
    )
    source = session.source
    found = [source.ref_of(raw) for raw in source.jobs(JobQuery(window, RUNNING_STATUSES))]
    return list(dict.fromkeys(ref for ref in found if ref is not None))


# ----- --fleet ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FleetWatchRequest:
    common: CommonOptions
    fleet: FleetOptions = field(default_factory=FleetOptions)
    statuses: tuple[str, ...] = ()
    since: str | None = None
    options: FleetWatchOptions = field(default_factory=FleetWatchOptions)
    bell: bool = False


def check_request(
    request: FleetWatchRequest,
    *,
    jobs: tuple[str, ...] = (),
    operation: str | None = None,
    all_jobs: bool = False,
    compact: bool = False,
    fail_fast: bool = False,
) -> None:
    """What ``watch --fleet`` cannot combine with (usage errors, before anything is sent)."""
    named = [
        flag
        for flag, given in (
            ("JOB arguments", bool(jobs)),
            ("--operation", operation is not None),
            ("--all", all_jobs),
            ("--compact", compact),
            ("--fail-fast", fail_fast),
        )
        if given
    ]
    if named:
        raise UsageError(
            f"--fleet watches the running jobs of every vault in scope; "
            f"{', '.join(named)} {'does' if len(named) == 1 else 'do'} not apply"
        )
    refuse_vault_flags(request.common)


def watch_statuses(values: tuple[str, ...]) -> tuple[str, ...]:
    statuses = normalize_statuses(values) or RUNNING_STATUSES
    ended = [s for s in statuses if s not in RUNNING_STATUSES]
    if ended:
        raise UsageError(
            f"--status {ended[0]}: watch --fleet follows running jobs "
            f"({', '.join(RUNNING_STATUSES)}); for ended ones use "
            f"azjobs list --fleet --status {ended[0]}"
        )
    return statuses


def run_fleet(opts: WatchCommandOptions, env: Environment) -> int:
    """``azjobs watch`` given any fleet flag."""
    refuse_secondary(opts, "--fleet")
    return run_fleet_watch_command(
        opts,
        watch_options(opts),
        env,
        fleet=opts.fleet,
        subscriptions=opts.subscriptions,
        management_group=opts.management_group,
        statuses=opts.fleet_status,
        since=opts.since,
        details=opts.details,
        jobs=opts.jobs,
        operation=opts.operation,
        all_jobs=opts.all_jobs,
    )


def run_fleet_watch_command(
    common: CommonOptions,
    wopts: WatchOptions,
    env: Environment,
    *,
    fleet: bool,
    subscriptions: tuple[str, ...],
    management_group: str | None,
    statuses: tuple[str, ...],
    since: str | None,
    details: bool,
    jobs: tuple[str, ...] = (),
    operation: str | None = None,
    all_jobs: bool = False,
) -> int:
    """``azjobs watch`` given a fleet flag: ``--fleet`` itself is required with the others."""
    if not fleet:
        named = [
            flag
            for flag, given in (
                ("--subscriptions", bool(subscriptions)),
                ("--management-group", management_group is not None),
                ("--status", bool(statuses)),
                ("--since", since is not None),
                ("--details", details),
            )
            if given
        ]
        raise UsageError(
            f"{' and '.join(named)} {'needs' if len(named) == 1 else 'need'} "
            f"--fleet (azjobs watch --fleet {' '.join(named)} ...)"
        )
    request = FleetWatchRequest(
        common=common,
        fleet=FleetOptions(subscriptions, management_group),
        statuses=statuses,
        since=since,
        options=FleetWatchOptions(
            interval=wopts.interval, timeout=wopts.timeout, strict=wopts.strict, details=details
        ),
        bell=wopts.bell,
    )
    check_request(
        request,
        jobs=jobs,
        operation=operation,
        all_jobs=all_jobs,
        compact=wopts.compact,
        fail_fast=wopts.fail_fast,
    )
    return run_fleet_watch(request, env)


def run_fleet_watch(
    request: FleetWatchRequest,
    env: Environment,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    wall: Wall = utc_now,
) -> int:
    from azbackupjobs.view.fleet_watch_view import FleetPresenter
    from azbackupjobs.view.watching import watch_view

    common = request.common
    out = make_output(common, env)
    check_request(request)
    statuses = watch_statuses(request.statuses)
    now = wall()
    since = request.since or FLEET_DEFAULT_SINCE
    start = parse_when(since, "--since", now=now).replace(microsecond=0)
    if start >= now:
        raise UsageError("--since must be in the past")
    query = JobQuery(Window(start, now + OPEN_END), statuses)
    scope = fleet_scope(common, request.fleet)
    # --debug traces would tear a live frame apart: plain lines then.
    live = out.live and not common.debug
    # A live frame would be torn by notes on stderr; failures show in its header instead.
    session, source = open_fleet(
        common,
        env,
        out,
        scope,
        sleep=sleep,
        clock=clock,
        notify=(lambda _text: None) if live else None,
        retry=NO_RETRY,
    )
    try:
        poller = fleet_poller(source, query, request.options, clock=clock, wall=wall, sleep=sleep)
        return watch_view(
            out,
            poller.run,
            FleetPresenter(source.name),
            live=live,
            strict=request.options.strict,
            bell=request.bell,
            sleep=sleep,
            clock=clock,
            wall=wall,
        )
    finally:
        session.client.close()
