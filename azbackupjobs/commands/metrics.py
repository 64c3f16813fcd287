"""``azjobs metrics``: the jobs of a vault, or of the fleet, as Prometheus metrics.

Once (the default): one refresh, one exposition on stdout or, with ``--write FILE``, into a file
replaced atomically (node_exporter's textfile collector, under cron or a systemd timer). Served
(``--serve HOST:PORT``): the first refresh in the foreground (a wrong vault or credential ends the
command with its exit code), then ``/metrics`` and ``/healthz`` on loopback unless told otherwise,
refreshed in the background every ``--refresh`` so that a scrape never waits on Azure.

The jobs come from the same places as ``azjobs list`` reads them: the vault's job list over the
window (one request stream per 30 days, no status filter), or with ``--fleet`` the Resource Graph
query ``azjobs list --fleet`` sends. Everything here is wiring: the snapshot and exposition are in
``view.metrics``, the server in ``view.metrics_http``, the background loop in ``follow.refresh``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azbackupjobs.arm import settings
from azbackupjobs.commands.common import (
    CommonOptions,
    Session,
    open_session,
    refuse_vault_flags,
)
from azbackupjobs.follow.refresh import (
    DEFAULT_REFRESH,
    Refresher,
    RefreshState,
    parse_refresh,
    stoppable_sleep,
)
from azbackupjobs.model.errors import ApiError, AzJobsError, ExitCode, UsageError
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources import filters
from azbackupjobs.sources import kql as fleet
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.resource_graph import ResourceGraphClient, graph_api_version
from azbackupjobs.view.metrics import (
    PROMETHEUS_ACCEPT,
    ExporterHealth,
    Exposition,
    encoder_for,
    encoder_for_accept,
    request_classes,
    summarize,
)
from azbackupjobs.view.metrics_http import MetricsServer, app_for, is_loopback, parse_listen
from azbackupjobs.view.output import Environment, Output

DEFAULT_SINCE = "24h"
# Every refresh reads the whole window again: a month of jobs is already a lot of reading.
MAX_WINDOW = timedelta(days=31)
# Resource Graph's quota resets every few seconds; a longer wait means something else is wrong.
MAX_QUOTA_WAIT = 60.0


@dataclass(frozen=True, kw_only=True)
class MetricsFlags:
    """The flags of ``azjobs metrics`` beyond the vault flags, declared once for the command
    line's options and for a run's."""

    fleet: bool = False
    subscriptions: tuple[str, ...] = ()
    management_group: str | None = None
    since: str | None = None
    format: str | None = None
    write: str | None = None
    serve: str | None = None
    refresh: str | None = None


@dataclass(frozen=True, kw_only=True)
class MetricsOptions(MetricsFlags):
    """A run: the flags, and the vault flags apart in ``common`` (what a session opens with)."""

    common: CommonOptions = field(default_factory=CommonOptions)


@dataclass(frozen=True, kw_only=True)
class MetricsCommandOptions(CommonOptions, MetricsFlags):
    """``azjobs metrics`` as the command line gives it (no --query: the output is metrics)."""


def run(opts: MetricsCommandOptions, env: Environment) -> int:
    flags = {f.name: getattr(opts, f.name) for f in fields(MetricsFlags)}
    return run_metrics(MetricsOptions(common=opts, **flags), env)


@dataclass(frozen=True)
class MetricsPlan:
    """Everything validated before any request."""

    format: str | None
    write: Path | None
    listen: tuple[str, int] | None
    refresh: float
    since: str
    scope: fleet.Scope | None  # None: the vault


def plan_metrics(opts: MetricsOptions, *, now: datetime) -> MetricsPlan:
    """Refuse bad and contradictory flags (exit 2) before anything is sent or bound."""
    if opts.serve is not None and opts.write is not None:
        raise UsageError("--write and --serve exclude each other: write a file once, or serve")
    if opts.serve is not None and opts.format is not None:
        raise UsageError(
            "--format does not apply to --serve: each scrape's Accept header picks the format"
        )
    if opts.refresh is not None and opts.serve is None:
        raise UsageError("--refresh applies to --serve (a single run refreshes once)")
    encoder_for(opts.format)  # an unknown format is refused here
    listen = parse_listen(opts.serve) if opts.serve is not None else None
    refresh = parse_refresh(opts.refresh) if opts.refresh is not None else DEFAULT_REFRESH
    since = opts.since.strip() if opts.since and opts.since.strip() else DEFAULT_SINCE
    window = filters.resolve_window(since, None, now=now)
    if listen is not None and not _relative(since):
        raise UsageError(
            f"--since: {sanitize(since, 40)!r} is a fixed time; with --serve the window slides "
            "with each refresh, so give a duration such as 24h or 7d"
        )
    if window.span > MAX_WINDOW:
        raise UsageError(
            f"--since: a {window.span.days}-day window is more than metrics reads at every "
            f"refresh (at most {MAX_WINDOW.days} days)"
        )
    return MetricsPlan(
        format=opts.format,
        write=_checked_target(opts.write) if opts.write is not None else None,
        listen=listen,
        refresh=refresh,
        since=since,
        scope=_scope(opts),
    )


def _relative(since: str) -> bool:
    return since[:1].isdigit() and since[-1:].lower() in "smhdw"


def _scope(opts: MetricsOptions) -> fleet.Scope | None:
    common = opts.common
    if not opts.fleet:
        named = [
            flag
            for flag, given in (
                ("--subscriptions", bool(opts.subscriptions)),
                ("--management-group", opts.management_group is not None),
            )
            if given
        ]
        if named:
            verb = "needs" if len(named) == 1 else "need"
            raise UsageError(f"{' and '.join(named)} {verb} --fleet")
        return None
    refuse_vault_flags(common)
    named = list(opts.subscriptions)
    if common.subscription:
        named.append(common.subscription)
    return fleet.parse_scope(named or None, opts.management_group)


def _checked_target(value: str) -> Path:
    """``--write FILE``: a file in a directory that exists and can be written."""
    if not value.strip():
        raise UsageError("--write: no file name given")
    path = Path(value).expanduser()
    shown = sanitize(str(path), 200)
    if path.is_dir():
        raise UsageError(f"--write: {shown} is a directory; name a file in it (azjobs.prom)")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"--write: the directory {sanitize(str(parent), 200)} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--write: cannot create files in {sanitize(str(parent), 200)}")
    return path


# ----- where the jobs come from ------------------------------------------------------------------
class Exporter:
    """One session to Azure, reused by every refresh, and what the exporter counts of it."""

    def __init__(self, session: Session, plan: MetricsPlan, env: Environment) -> None:
        self.session = session
        self.plan = plan
        self.stop = threading.Event()
        self.sleep = stoppable_sleep(self.stop)
        session.client.sleep = self.sleep  # retries wait, but a stop cuts them short
        self.quota_waits = 0
        self.graph: ResourceGraphClient | None = None
        if plan.scope is not None:
            out = session.out
            self.graph = ResourceGraphClient(
                session.client,
                api_version=graph_api_version(env.env),
                sleep=self._quota_sleep,
                notify=lambda text: out.note(f"azjobs: {text}"),
            )
        self.previous: Exposition | None = None
        self.warm_first = False

    @property
    def source(self) -> str:
        return "vault" if self.plan.scope is None else "fleet"

    def _quota_sleep(self, seconds: float) -> None:
        self.quota_waits += 1
        if seconds > MAX_QUOTA_WAIT:
            raise ApiError(
                f"the Resource Graph quota resets only in {seconds:.0f} s; this refresh gives up"
            )
        self.sleep(seconds)

    def jobs(self, window: filters.Window) -> Iterator[object]:
        """The job resources of the window, lazily, page by page."""
        if self.graph is None or self.plan.scope is None:
            yield from self.session.source.jobs(JobQuery(window=window))
            return
        # Both kinds of vault (one query), or the one --vault-type names; the kind is a label.
        query = fleet.jobs_query(
            fleet.FleetFilters(window=window, vault_kind=self.session.ctx.vault_kind)
        )
        for stream in self.graph.streams(query, self.plan.scope):
            for page in stream:
                for row in page:
                    try:
                        yield fleet.row_to_job(row)
                    except AzJobsError:
                        yield row  # counted as unreadable by the snapshot

    def load(self) -> Exposition:
        """One refresh: read the window's jobs into a new exposition, rendered ahead for what
        scrapers asked of the previous one."""
        window = filters.resolve_window(self.plan.since, None, now=datetime.now(UTC))
        snapshot = summarize(
            self.jobs(window),
            taken_at=window.end.timestamp(),
            window_seconds=window.span.total_seconds(),
        )
        exposition = Exposition(snapshot)
        if self.previous is not None:
            exposition.warm(self.previous.asked())
        elif self.warm_first:
            encoder, content_type = encoder_for_accept(PROMETHEUS_ACCEPT)
            exposition.warm([(encoder, content_type, True)])
        self.previous = exposition
        return exposition

    def health(self, state: RefreshState[Exposition]) -> ExporterHealth:
        stats = self.session.client.stats
        by_status = dict(stats.by_status)
        return ExporterHealth(
            source=self.source,
            refreshed_at=state.attempted_at,
            ok=state.ok,
            duration=state.duration,
            data_at=state.value_at,
            successes=state.successes,
            failures=state.failures,
            requests=request_classes(stats.requests, by_status),
            throttles={"429": by_status.get(429, 0), "resource_graph_quota": self.quota_waits},
        )

    def close(self) -> None:
        self.stop.set()
        self.session.client.close()


def open_exporter(opts: MetricsOptions, plan: MetricsPlan, env: Environment) -> Exporter:
    out = Output(env, "json")  # notes only: the exposition is not one of the output formats
    context = (
        settings.resolve_service_context(opts.common.flags, env.env)
        if plan.scope is not None
        else None
    )
    session = open_session(opts.common, env, out=out, context=context)
    return Exporter(session, plan, env)


# ----- the command --------------------------------------------------------------------------------
def run_metrics(opts: MetricsOptions, env: Environment, *, now: datetime | None = None) -> int:
    plan = plan_metrics(opts, now=now or datetime.now(UTC))
    exporter = open_exporter(opts, plan, env)
    try:
        if plan.listen is None:
            return _once(exporter, plan, env)
        return _serve(exporter, plan, env)
    finally:
        exporter.close()


def _once(exporter: Exporter, plan: MetricsPlan, env: Environment) -> int:
    refresher: Refresher[Exposition] = Refresher(exporter.load, plan.refresh)
    state = refresher.refresh(raise_errors=True)
    assert state.value is not None
    encoder, content_type = encoder_for(plan.format)
    chunks = state.value.chunks(encoder, content_type, exporter.health(state), time.time())
    if plan.write is None:
        for chunk in chunks:
            env.stdout.write(chunk.decode("utf-8"))
        env.stdout.flush()
        return ExitCode.OK
    from azbackupjobs.arm.token_cache import write_atomic

    try:
        write_atomic(plan.write, chunks, mode=0o644)
    except OSError as exc:
        raise AzJobsError(
            f"--write: cannot write {sanitize(str(plan.write), 200)}: {exc.strerror or exc}"
        ) from None
    return ExitCode.OK


def _serve(exporter: Exporter, plan: MetricsPlan, env: Environment) -> int:
    assert plan.listen is not None
    out = exporter.session.out
    host, port = plan.listen
    refresher: Refresher[Exposition] = Refresher(
        exporter.load,
        plan.refresh,
        stop=exporter.stop,
        report=lambda text: out.note(f"azjobs: {text}"),
    )

    server = MetricsServer(host, port, app_for(refresher, exporter.health))
    serving = False
    try:
        exporter.warm_first = True
        refresher.refresh(raise_errors=True)
        if not is_loopback(host):
            out.warn(
                f"serving on {host}, not loopback: anyone who can reach port {server.port} "
                "can read the names of your vaults and protected items"
            )
        server.start()
        refresher.start()
        serving = True
        out.note(
            f"azjobs: serving {server.url} and /healthz, refreshing every "
            f"{_duration(plan.refresh)}; Ctrl-C to stop"
        )
        # Until SIGTERM or Ctrl-C (guarded() turns them into 143 and 130), or a stop asked by
        # whoever runs this in a thread.
        while not exporter.stop.wait(3600):
            pass
        return ExitCode.OK
    finally:
        refresher.close()
        server.close()
        if serving:
            out.note("azjobs: metrics server stopped")


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{seconds:g}s"
