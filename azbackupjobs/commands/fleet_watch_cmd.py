"""``azjobs watch --fleet``: a live table of the jobs running across the fleet.

One Resource Graph query per tick (``azbackupjobs.follow.fleet``); vault requests only with
``--details``. On a terminal a live view; piped with ``-o table`` one plain line per job that
starts or ends; ``-o ndjson`` the job resource each time it changes; ``-o json``/``tsv`` the
watched jobs at the end. The watch ends when no job runs any more, with ``azjobs watch``'s exit
codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from azbackupjobs.arm.client import NO_RETRY
from azbackupjobs.commands.common import CommonOptions, make_output
from azbackupjobs.commands.fleet_cmd import (
    FleetOptions,
    fleet_scope,
    graph_client,
    open_fleet_session,
    refuse_vault_flags,
)
from azbackupjobs.commands.options import WatchCommandOptions
from azbackupjobs.commands.watch import (
    LIVE_REFRESH_SECONDS,
    Clock,
    Sleep,
    Wall,
    WatchOptions,
    live_view,
    print_final,
    ring_bell,
    utc_now,
    watch_options,
)
from azbackupjobs.follow.fleet import (
    RUNNING_STATUSES,
    FleetTick,
    FleetWatcher,
    FleetWatchOptions,
    job_key,
    summary,
)
from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.model.job import Job
from azbackupjobs.sources import kql as fleet
from azbackupjobs.sources.filters import Window, normalize_statuses, parse_when
from azbackupjobs.view.output import Environment, Output

DEFAULT_SINCE = "7d"  # long restores run for more than a day
# Jobs that start while the watch runs are watched too: the window has no real end.
OPEN_END = timedelta(days=400)


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


def run(opts: WatchCommandOptions, env: Environment) -> int:
    """``azjobs watch`` given any fleet flag."""
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
    common = request.common
    out = make_output(common, env)
    check_request(request)
    statuses = watch_statuses(request.statuses)
    now = wall()
    start = parse_when(request.since or DEFAULT_SINCE, "--since", now=now).replace(microsecond=0)
    if start >= now:
        raise UsageError("--since must be in the past")
    filters = fleet.FleetFilters(Window(start, now + OPEN_END), statuses)
    scope = fleet_scope(common, request.fleet)
    session = open_fleet_session(common, env, out)
    live = out.live and out.query is None and session.client.hooks.debug is None
    try:
        # A live frame would be torn by notes on stderr; failures show in its header instead.
        graph = graph_client(
            session,
            env,
            sleep=sleep,
            clock=clock,
            notify=(lambda _text: None) if live else None,
            retry=NO_RETRY,
        )
        watcher = FleetWatcher(
            graph,
            filters,
            scope,
            request.options,
            clock=clock,
            wall=wall,
            sleep=sleep,
            vault_client=session.client if request.options.details else None,
        )
        view = _View(out, clock, wall)
        last = view.live(watcher.ticks, sleep) if live else view.stream(watcher.ticks(sleep))
        return view.finish(last, request, scope)
    finally:
        session.client.close()


class _View:
    def __init__(self, out: Output, clock: Clock, wall: Wall) -> None:
        self.out = out
        self.clock = clock
        self.wall = wall
        self.was_live = False
        self._trouble_shown: str | None = None

    def live(self, ticks: Callable[[Sleep], Iterator[FleetTick]], sleep: Sleep) -> FleetTick | None:
        from azbackupjobs.view.fleet_view import watch_frame
        from azbackupjobs.view.watch_view import spinner

        self.was_live = True
        console = self.out.console

        def draw(tick: FleetTick) -> Any:
            next_in = None
            if tick.next_poll_at is not None:
                next_in = max(0, round(tick.next_poll_at - self.clock()))
            return watch_frame(
                tick,
                width=console.width,
                height=console.size.height,
                next_in=next_in,
                spin="" if tick.done or tick.timed_out else spinner(self.clock()),
            )

        return live_view(
            console,
            "querying Resource Graph…",
            ticks,
            draw,
            sleep=sleep,
            clock=self.clock,
            step=LIVE_REFRESH_SECONDS,
        )

    def stream(self, ticks: Iterator[FleetTick]) -> FleetTick | None:
        from rich.text import Text

        from azbackupjobs.view.fleet_view import watch_event_line

        out = self.out
        plain = out.is_table and out.query is None
        last: FleetTick | None = None
        for tick in ticks:
            last = tick
            if out.format == "ndjson":
                for job in tick.changed:
                    out.ndjson(dict(job.raw))
            elif plain:
                at = self.wall()
                event = "running" if tick.ticks == 1 else "started"
                for job in reversed(tick.newly_started):
                    line = watch_event_line(event, job, at)
                    out.render(Text(line, no_wrap=True, overflow="ignore"))
                for job in tick.newly_ended:
                    out.render(
                        Text(watch_event_line("ended", job, at), no_wrap=True, overflow="ignore")
                    )
            if tick.trouble != self._trouble_shown:
                self._trouble_shown = tick.trouble
                if tick.trouble:
                    out.note(f"azjobs: Resource Graph: {tick.trouble}; retrying")
        return last

    def finish(self, last: FleetTick | None, request: FleetWatchRequest, scope: fleet.Scope) -> int:
        from rich.text import Text

        out = self.out
        watched: list[Job] = []
        if last is not None:
            watched = list(last.ended) + [last.details.get(job_key(j), j) for j in last.running]
        print_final(out, [dict(j.raw) for j in watched], watched)
        code = last.exit_code_for(request.options.strict) if last is not None else ExitCode.OK
        if last is not None and last.ticks == 1 and last.done and not last.ended:
            line = f"no job is running in {scope.describe}"
        else:
            line = summary(last)
        if self.was_live:
            out.render(Text(line, style="bold"))
        elif out.format == "table" and out.query is None:
            out.render(Text(line, no_wrap=True, overflow="ignore"))
        else:
            out.note(f"azjobs: {line}")
        if last is not None and last.timed_out:
            out.note(
                f"azjobs: --timeout elapsed with {len(last.running)} job(s) still running "
                "(they keep running)"
            )
        if request.bell:
            ring_bell(out.env)
        return int(code)
