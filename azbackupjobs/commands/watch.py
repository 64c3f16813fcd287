"""``azjobs watch``: follow jobs until they end, in the form the reader needs.

On a terminal a live view redrawn in place; piped with ``-o table`` plain append-only lines; with
``-o ndjson`` one line per change; with ``-o json`` (or ``tsv``) the final resources. Every form
runs the same poll loop (``azbackupjobs.follow.poll``) and ends with the same exit code. The jobs
come from the command line, from an operation (``--operation``), or from the vault (``--all``).
``cancel --wait`` and ``demo`` reuse :func:`watch_jobs`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from azbackupjobs.arm.client import NO_RETRY, parse_retry_after, pause
from azbackupjobs.commands.common import CommonOptions, Session, make_output, open_session
from azbackupjobs.follow.poll import (
    DEFAULT_GRACE,
    DEFAULT_INTERVAL,
    LAST_LOOK_SECONDS,
    PollPolicy,
    Snapshot,
    Tracked,
    failure_delay,
    outcome,
    poll_jobs,
    transient_reason,
    worst,
)
from azbackupjobs.model import ids
from azbackupjobs.model.errors import (
    AzJobsError,
    CommandTimeout,
    ExitCode,
    NotFoundError,
    OperationFailedError,
    UnexpectedResponseError,
    UsageError,
    WatchTimeout,
)
from azbackupjobs.model.job import Job, JobStatus, OperationStatus
from azbackupjobs.model.text import sanitize
from azbackupjobs.view.output import Environment, Output

# How often the live view redraws between polls (spinner, elapsed time, countdown).
LIVE_REFRESH_SECONDS = 0.25
# How far back ``--all`` looks for running jobs (long restores run for more than a day).
ALL_JOBS_WINDOW = timedelta(days=7)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Wall = Callable[[], datetime]
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WatchOptions:
    """How to watch. ``array``: JSON output as an array (default: when several jobs)."""

    interval: float = DEFAULT_INTERVAL
    timeout: float | None = None
    strict: bool = False
    fail_fast: bool = False
    grace: float = DEFAULT_GRACE
    compact: bool = False
    bell: bool = False
    array: bool | None = None
    detail_limit: int = 3
    summary: bool = True


@dataclass(frozen=True)
class WatchRequest:
    """What ``azjobs watch`` was asked: jobs, an operation, or every running job."""

    common: CommonOptions
    options: WatchOptions
    jobs: tuple[str, ...] = ()
    operation: str | None = None
    all_jobs: bool = False


# ----- the entry point of the command ------------------------------------------------------------
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
    ref = _context_ref(request)
    opts = request.options
    # Every request of the watch (finding the jobs included) ends by the deadline; the poll
    # loop gives its own requests what is left of it (``time_left``).
    timeout = None if opts.timeout is None else opts.timeout + LAST_LOOK_SECONDS
    session = open_session(request.common, env, ref, out=out, timeout=timeout)
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
                out.note(f"azjobs: no job is in progress in vault {session.ctx.vault}")
        else:
            job_ids = [ids.parse_job_ref(j).job_id for j in request.jobs]
        if opts.timeout is not None:
            opts = replace(opts, timeout=max(opts.timeout - (clock() - started), 0.001))
        return watch_jobs(session, job_ids, opts, sleep=sleep, clock=clock, wall=wall)
    except CommandTimeout:
        raise WatchTimeout(
            f"--timeout elapsed ({request.options.timeout:g} s) before the jobs to watch were known"
        ) from None
    finally:
        session.client.close()


def _context_ref(request: WatchRequest) -> ids.JobRef | None:
    """The vault named by full ARM ids (all in one vault) or by the operation URL's path."""
    named: list[ids.JobRef] = []
    for text in request.jobs:
        ref = ids.parse_job_ref(text)
        if ref.vault is not None:
            named.append(ref)
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


# ----- where the jobs come from ------------------------------------------------------------------
def resolve_operation(
    session: Session,
    url_or_id: str,
    *,
    interval: float = DEFAULT_INTERVAL,
    timeout: float | None = None,
    grace: float = DEFAULT_GRACE,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    rng: random.Random | None = None,
) -> list[str]:
    """The job ids an operation started, once it has: poll its status while InProgress,
    honouring Retry-After; Succeeded -> ``properties.jobId``/``jobIds``; Failed or Canceled ->
    ``OperationFailedError`` with the operation's error (exit 1)."""
    client = session.client
    text = url_or_id.strip()
    if text.lower().startswith(("http://", "https://", "/")):
        url = client.checked_url(text, "operation")
    else:
        url = client.vault_url("backupOperations", ids.validate_guid(text, "operation id"))
    rng = rng or random.Random()
    started = clock()
    deadline = None if timeout is None else started + timeout
    failures = 0
    announced = False
    while True:
        delay = interval
        try:
            resp = client.request("GET", url, retry=NO_RETRY)
            status = OperationStatus.from_dict(resp.body)
        except NotFoundError:
            if clock() - started >= grace:
                raise
            failures = 0
        except AzJobsError as exc:
            reason = transient_reason(exc)
            if reason is None:
                raise
            failures += 1
            delay = failure_delay(interval, failures, exc, rng)
            session.out.note(f"azjobs: {reason}: retrying in {delay:.0f} s")
        else:
            failures = 0
            if status.succeeded:
                return _operation_jobs(status)
            if status.is_done:
                raise OperationFailedError(_operation_failure(status, text))
            delay = pause(parse_retry_after(resp.headers), default=interval)
            if not announced:
                session.out.note(
                    f"azjobs: operation {sanitize(status.id or text, 80)} is "
                    f"{sanitize(status.status, 20)}; waiting for it to start its job"
                )
                announced = True
        now = clock()
        if deadline is not None and now + delay > deadline:
            if deadline > now:
                sleep(deadline - now)
            raise WatchTimeout(
                f"--timeout elapsed while waiting for operation {sanitize(text, 80)} "
                "to start its job"
            )
        sleep(delay)


def _operation_jobs(status: OperationStatus) -> list[str]:
    if not status.job_ids:
        raise UnexpectedResponseError(
            f"operation {sanitize(status.id, 80)} succeeded but names no job "
            "(no properties.jobId or jobIds)"
        )
    found: list[str] = []
    for job_id in status.job_ids:
        if not ids.GUID_RE.match(job_id):
            raise UnexpectedResponseError(
                f"operation {sanitize(status.id, 80)} names a job id that is not a GUID: "
                f"{sanitize(job_id, 60)!r}"
            )
        found.append(job_id.lower())
    return found


def _operation_failure(status: OperationStatus, text: str) -> str:
    what = f"operation {sanitize(status.id or text, 80)} ended {sanitize(status.status, 20)}"
    detail = ": ".join(sanitize(x, 300) for x in (status.error_code, status.error_message) if x)
    return f"{what}: {detail}" if detail else what


def in_progress_job_ids(session: Session, now: datetime) -> list[str]:
    """Every InProgress or Cancelling job of the vault that started in the last seven days."""
    from azbackupjobs.sources.filters import Window, build_filter

    window = Window(
        (now - ALL_JOBS_WINDOW).replace(microsecond=0),
        (now + timedelta(days=1)).replace(microsecond=0),
    )
    found: list[str] = []
    for status in ("InProgress", "Cancelling"):
        for page in session.client.iter_job_pages(build_filter(window, status=status)):
            for item in page:
                name = item.get("name")
                if isinstance(name, str) and ids.GUID_RE.match(name):
                    found.append(name.lower())
    return list(dict.fromkeys(found))


# ----- watching ----------------------------------------------------------------------------------
def watch_jobs(
    session: Session,
    job_ids: list[str],
    opts: WatchOptions,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    wall: Wall = utc_now,
    rng: random.Random | None = None,
) -> int:
    """Follow ``job_ids`` until they end; print per ``session.out.format``; return the exit code
    (6 over 7 over 8 over 0 by the jobs' outcomes, 5 when the timeout came first)."""
    out = session.out
    job_ids = list(dict.fromkeys(job_ids))
    if not job_ids:  # --all with nothing running: an empty array, nothing to watch
        if out.format == "json" or (out.is_table and out.query is not None):
            out.json([])
        return int(ExitCode.OK)
    # --debug traces go to stderr as they happen: they would tear a live frame apart, so the
    # watch prints plain lines then.
    live = out.live and out.query is None and session.client.hooks.debug is None
    policy = PollPolicy(
        interval=opts.interval,
        timeout=opts.timeout,
        grace=opts.grace,
        strict=opts.strict,
        fail_fast=opts.fail_fast,
        detail_limit=0 if (opts.compact or not live) else opts.detail_limit,
        refresh_rows=live,
    )

    def start(with_sleep: Sleep) -> Iterator[Snapshot]:
        return poll_jobs(session.client, job_ids, policy, clock=clock, sleep=with_sleep, rng=rng)

    view = _View(out, opts, clock, wall, multi=len(job_ids) > 1)
    last = view.live(start, sleep) if live else view.stream(start(sleep))
    return view.finish(last, job_ids)


class _View:
    """The printing side of one watch."""

    def __init__(
        self, out: Output, opts: WatchOptions, clock: Clock, wall: Wall, *, multi: bool
    ) -> None:
        self.out = out
        self.opts = opts
        self.clock = clock
        self.wall = wall
        self.multi = multi
        self._trouble_shown: str | None = None
        self._missing_shown: set[str] = set()
        self._previous: dict[str, Job] = {}
        self.was_live = False

    def now(self) -> Any:
        from azbackupjobs.view.watch_view import Now

        return Now(self.clock(), self.wall())

    # ----- a terminal ------------------------------------------------------------------------
    def live(self, start: Callable[[Sleep], Iterator[Snapshot]], sleep: Sleep) -> Snapshot | None:
        """Redraw in place once per poll, and lightly in between (spinner, countdown)."""
        from azbackupjobs.view import watch_view

        opts = self.opts
        self.was_live = True

        console = self.out.console

        def draw(snapshot: Snapshot) -> Any:
            return watch_view.frame(
                snapshot,
                self.now(),
                compact=opts.compact,
                detail_limit=opts.detail_limit,
                height=console.size.height,
            )

        def last_frame(snapshot: Snapshot) -> Any:
            # The last frame stays, without the "next update" line.
            return draw(replace(snapshot, finished=True, trouble=None))

        return live_view(
            console,
            "reading the job…",
            start,
            draw,
            sleep=sleep,
            clock=self.clock,
            step=LIVE_REFRESH_SECONDS,
            last_frame=last_frame,
        )

    # ----- pipes and scripts -----------------------------------------------------------------
    def stream(self, snapshots: Iterator[Snapshot]) -> Snapshot | None:
        from rich.text import Text

        from azbackupjobs.view import watch_view

        out = self.out
        plain = out.is_table and out.query is None
        last: Snapshot | None = None
        for snapshot in snapshots:
            last = snapshot
            now = self.now()
            for job in snapshot.changed:
                # By identity: the service's ``name`` may differ from the id asked for (casing).
                tracked = next((t for t in snapshot.jobs if t.job is job), None)
                key = tracked.job_id if tracked is not None else job.job_id
                if out.format == "ndjson":
                    out.ndjson(dict(job.raw))
                elif plain:
                    line = watch_view.plain_line(
                        self._previous.get(key),
                        job,
                        now,
                        elapsed=watch_view.elapsed_of(tracked, now) if tracked else None,
                        multi=self.multi,
                    )
                    out.render(Text(line, no_wrap=True, overflow="ignore"))
                self._previous[key] = job
            self._notes(snapshot, now)
        return last

    def _notes(self, snapshot: Snapshot, now: Any) -> None:
        """Passing trouble and not-yet-visible jobs, once each, on stderr."""
        from azbackupjobs.view.watch_view import countdown, trouble_text

        trouble = snapshot.trouble
        if trouble is None:
            self._trouble_shown = None
        elif not snapshot.done and (
            self._trouble_shown != trouble.reason or trouble.failures % 5 == 0
        ):
            self._trouble_shown = trouble.reason
            self.out.note("azjobs: " + trouble_text(trouble, countdown(snapshot.next_poll_at, now)))
        for tracked in snapshot.jobs:
            if tracked.missing_since is not None and tracked.job_id not in self._missing_shown:
                self._missing_shown.add(tracked.job_id)
                self.out.note(
                    f"azjobs: job {tracked.job_id} is not visible yet; waiting for "
                    "the service to show it"
                )

    # ----- the end -----------------------------------------------------------------------------
    def finish(self, last: Snapshot | None, job_ids: list[str]) -> int:
        from rich.text import Text

        from azbackupjobs.view import watch_view

        out = self.out
        opts = self.opts
        jobs: list[Tracked] = last.jobs if last is not None else []
        seen = [t.job for t in jobs if t.job is not None]
        timed_out = last is not None and last.timed_out
        now = self.now()

        as_array = opts.array if opts.array is not None else len(job_ids) > 1
        final: Any = (
            [dict(j.raw) for j in seen] if as_array else (dict(seen[0].raw) if seen else None)
        )
        print_final(out, final, seen)

        ended = [t.job for t in jobs if t.job is not None and t.job.is_terminal]
        code = ExitCode.TIMEOUT if timed_out else worst([outcome(j, opts.strict) for j in ended])

        summary = self._summary(jobs, now, timed_out)
        if opts.summary and summary:
            if self.was_live:
                out.render(Text(summary, style=_summary_style(code)))
            elif out.format == "table" and out.query is None:
                if self.multi or timed_out:
                    out.render(Text(summary, no_wrap=True, overflow="ignore"))
            else:
                out.note(summary)
        for job in ended:
            if job.status is JobStatus.COMPLETED_WITH_WARNINGS and not job.was_cancelled:
                text = watch_view.warning_text(job)
                if opts.strict:
                    out.note(f"azjobs: {text} (--strict: exit 8)")
                else:
                    out.warn(text)
        if timed_out:
            still = sum(1 for t in jobs if not t.ended)
            out.note(
                f"azjobs: --timeout elapsed with {still} job(s) still running (they keep running)"
            )
        elif last is not None and last.stopped_early:
            out.note(
                "azjobs: --fail-fast: stopped at the first failure (the other jobs keep running)"
            )
        if opts.bell:
            ring_bell(out.env)
        return int(code)

    def _summary(self, jobs: list[Tracked], now: Any, timed_out: bool) -> str:
        from azbackupjobs.view.watch_view import summary_line

        if not jobs:
            return ""
        if len(jobs) == 1:
            return summary_line(jobs[0], now, timed_out=timed_out)
        counts: dict[str, int] = {}
        for tracked in jobs:
            job = tracked.job
            label = (
                "not visible"
                if job is None
                else job.status_raw or job.status.value
                if job.is_terminal
                else "still running"
            )
            counts[label] = counts.get(label, 0) + 1
        text = ", ".join(f"{n} {sanitize(label, 30)}" for label, n in counts.items())
        return f"{len(jobs)} jobs: {text}" + (" (timed out)" if timed_out else "")


# ----- shared with ``watch --fleet`` -------------------------------------------------------------
def refreshing_sleep(sleep: Sleep, clock: Clock, step: float, redraw: Callable[[], None]) -> Sleep:
    """A sleep that calls ``redraw`` every ``step`` seconds meanwhile, so that a live view's
    spinner, elapsed time and countdown move between polls."""

    def nap(seconds: float) -> None:
        end = clock() + seconds
        while True:
            left = end - clock()
            if left <= 0:
                return
            sleep(min(left, step))
            redraw()

    return nap


def live_view(
    console: Any,
    placeholder: str,
    start: Callable[[Sleep], Iterator[T]],
    draw: Callable[[T], Any],
    *,
    sleep: Sleep,
    clock: Clock,
    step: float,
    last_frame: Callable[[T], Any] | None = None,
) -> T | None:
    """Show ``draw(item)`` in place for each item that ``start(sleep)`` yields, redrawing the
    latest every ``step`` seconds in between; returns the last item. Interrupted, the view
    keeps ``last_frame(item)`` when given (the output stays readable after Ctrl+C)."""
    from rich.live import Live
    from rich.text import Text

    current: T | None = None
    live = Live(
        Text(placeholder, style="dim"),
        console=console,
        auto_refresh=False,
        transient=False,
        screen=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )

    def redraw() -> None:
        if current is not None:
            live.update(draw(current), refresh=True)

    with live:
        try:
            for item in start(refreshing_sleep(sleep, clock, step, redraw)):
                current = item
                live.update(draw(item), refresh=True)
        except BaseException:
            if current is not None and last_frame is not None:
                live.update(last_frame(current))
            raise
    return current


def print_final(out: Output, final: Any, jobs: Sequence[Job]) -> None:
    """The watched jobs' last resources for ``-o json`` (or a query) and ``-o tsv``; the other
    forms printed as the watch went. ``final`` is what JSON prints (None: nothing to print)."""
    if final is None:
        return
    if out.format == "json" or (out.format == "table" and out.query is not None):
        out.json(final)
    elif out.format == "tsv":
        from azbackupjobs.view.rows import job_tsv_row

        out.data(final, tsv_rows=[job_tsv_row(dict(j.raw)) for j in jobs])


def ring_bell(env: Environment) -> None:
    """``--bell``: on whichever of stdout and stderr is a terminal (never into a pipe)."""
    stream = env.stdout if env.stdout_isatty else env.stderr if env.stderr_isatty else None
    if stream is not None:
        try:
            stream.write("\a")
            stream.flush()
        except OSError:
            pass


def _summary_style(code: ExitCode) -> str:
    return {
        ExitCode.OK: "bold green",
        ExitCode.JOB_FAILED: "bold red",
        ExitCode.JOB_CANCELLED: "bold magenta",
        ExitCode.JOB_WARNINGS: "bold yellow",
        ExitCode.TIMEOUT: "bold yellow",
    }.get(code, "bold")
