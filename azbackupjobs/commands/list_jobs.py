"""``azjobs list``: the vault's jobs in a time window, newest first, streamed as pages arrive.

The service filters by one status at a time and by windows of at most 30 days. So one request
stream runs per (window, status); the streams of a window are merged newest first by start time
(a k-way merge that pulls one page at a time from each), and windows run newest first. Nothing
is fetched ahead of what the output needs: ``--limit`` stops the requests, ``-o ndjson`` prints
each job as soon as its page arrives, and ``-o json`` writes the array item by item.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from azbackupjobs.commands.common import CommonOptions, make_output, open_session
from azbackupjobs.model.errors import ExitCode, UnexpectedResponseError, UsageError
from azbackupjobs.model.job import parse_timestamp
from azbackupjobs.sources import filters
from azbackupjobs.view.output import Environment, Output

if TYPE_CHECKING:
    from azbackupjobs.model.job import Job

# The table is for people: without --limit it shows the newest jobs only, and says so.
TABLE_DEFAULT_LIMIT = 100
_NO_START = datetime.min.replace(tzinfo=UTC)


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


@dataclass(frozen=True)
class ListPlan:
    """What will be asked, validated before any request: one filter per (window, status)."""

    window: filters.Window
    requests: tuple[tuple[str, ...], ...]  # per window, newest first: its filters
    entity: str | None


# 13 requests per status at the service's 30-day limit; beyond a year, --fleet is the tool.
MAX_LIST_SPAN = timedelta(days=366)


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


def plan_list(lopts: ListOptions, *, now: datetime, tz: tzinfo | None = None) -> ListPlan:
    """Validate the flags and build the filters (usage errors here, before any request)."""
    statuses, operation, mtype = checked_choices(lopts)
    window = filters.resolve_window(lopts.since, lopts.until, now=now, tz=tz)
    if window.asked_span > MAX_LIST_SPAN:
        days = window.asked_span.days
        length = f"{days}-day" if window.asked_span == timedelta(days=days) else "longer"
        raise UsageError(
            f"--since/--until: a {length} window would take "
            f"{len(filters.split_window(window))} requests per status; the vault API is asked "
            f"for at most {MAX_LIST_SPAN.days} days at a time",
            hint="narrow the window, or use --fleet (one Resource Graph query)",
        )
    groups: list[tuple[str, ...]] = []
    for part in filters.split_window(window):
        groups.append(
            tuple(
                filters.build_filter(
                    part,
                    status=status,
                    operation=operation,
                    management_type=mtype,
                    job_id=lopts.job_id,
                )
                for status in (statuses or (None,))
            )
        )
    entity = lopts.entity.strip() if lopts.entity and lopts.entity.strip() else None
    return ListPlan(window=window, requests=tuple(groups), entity=entity)


def start_key(raw: dict[str, Any]) -> datetime:
    """The merge key: the job's start time (jobs without one sort last)."""
    props = raw.get("properties")
    moment = parse_timestamp(props.get("startTime")) if isinstance(props, dict) else None
    return moment or _NO_START


def _items(pages: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for page in pages:
        yield from page


def merge_newest_first(streams: list[Iterator[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Merge streams that each run newest first into one that does; lazy, page by page."""
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=start_key, reverse=True)


def _entity_matches(raw: dict[str, Any], needle: str) -> bool:
    props = raw.get("properties")
    name = props.get("entityFriendlyName") if isinstance(props, dict) else None
    return isinstance(name, str) and needle.casefold() in name.casefold()


def iter_jobs(
    fetch: Callable[[str], Iterable[list[dict[str, Any]]]], plan: ListPlan
) -> Iterator[dict[str, Any]]:
    """Every job of the plan once, newest first; ``fetch(filter)`` yields pages lazily.

    A job can show up twice: in two windows that share their boundary second, or under two
    statuses when it changed between requests. The first (newest) sighting wins.
    """
    seen: set[str] = set()
    for group in plan.requests:
        streams = [_items(fetch(odata_filter)) for odata_filter in group]
        for raw in merge_newest_first(streams):
            key = raw.get("name") or raw.get("id")
            if isinstance(key, str):
                if key.lower() in seen:
                    continue
                seen.add(key.lower())
            if plan.entity is not None and not _entity_matches(raw, plan.entity):
                continue
            yield raw


def limited(items: Iterator[dict[str, Any]], limit: int) -> Iterator[dict[str, Any]]:
    """At most ``limit`` items (0: all); stops pulling, and so requesting, at the limit."""
    if limit <= 0:
        yield from items
        return
    for count, item in enumerate(items, start=1):
        yield item
        if count >= limit:
            return


def run_list(
    opts: CommonOptions,
    lopts: ListOptions,
    env: Environment,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> int:
    out = make_output(opts, env)
    plan = plan_list(lopts, now=now or datetime.now(UTC), tz=tz)
    session = open_session(opts, env, out=out)
    newest: list[dict[str, Any]] = []
    try:
        jobs = _tap(iter_jobs(session.client.iter_job_pages, plan), newest)
        _print(out, jobs, plan, lopts.limit)
    finally:
        session.client.close()
    from azbackupjobs.arm import job_cache as completion

    # The newest jobs shown feed shell completion of JOB arguments; an unfiltered listing also
    # tells it that the vault's recent jobs are known.
    unfiltered = not (
        lopts.statuses or lopts.operation or lopts.management_type or lopts.job_id or plan.entity
    )
    completion.record_jobs(session.ctx, newest, complete_listing=unfiltered, env=env.env)
    return ExitCode.OK


def _tap(
    items: Iterator[dict[str, Any]], keep: list[dict[str, Any]], most: int = 50
) -> Iterator[dict[str, Any]]:
    """Pass items through, keeping the first ``most`` (what the completion cache holds)."""
    for item in items:
        if len(keep) < most:
            keep.append(item)
        yield item


def _print(
    out: Output,
    jobs: Iterator[dict[str, Any]],
    plan: ListPlan,
    limit: int | None,
) -> None:
    if out.is_table and out.query is None:
        _print_table(out, jobs, plan, limit)
        return
    print_job_stream(out, jobs, limit)


def print_job_stream(out: Output, jobs: Iterator[dict[str, Any]], limit: int | None) -> None:
    """Jobs as data (every format but the plain table), each printed as it arrives.

    Shared by ``azjobs list`` and ``azjobs list --fleet``: the same jobs print the same way.
    """
    selected = limited(jobs, limit or 0)
    if out.query is not None:
        # A JMESPath expression applies to the whole array, as with the az CLI: no streaming.
        everything = list(selected)
        if out.format == "ndjson":
            out.ndjson_items(everything)
        elif out.format == "tsv":
            out.tsv(everything)
        else:
            out.json(everything)
    elif out.format == "ndjson":
        for raw in selected:
            out.ndjson(raw)
    elif out.format == "tsv":
        from azbackupjobs.view.rows import job_tsv_row

        for raw in selected:
            out.tsv([job_tsv_row(raw)])
    else:
        out.json_array(selected)


def table_jobs(
    out: Output, jobs: Iterator[dict[str, Any]], limit: int | None, *, source: str = "list"
) -> tuple[list[Job], bool]:
    """The jobs a table shows, and whether older ones were left out.

    Without ``--limit`` the table stops at ``TABLE_DEFAULT_LIMIT`` jobs (people read it; the
    other formats are for scripts). A job that does not parse is named on stderr and skipped:
    one odd item must not hide the others.
    """
    from azbackupjobs.model.job import Job

    if limit is None:
        # The default cap: one more than shown, to know whether to say that there are more.
        rows = list(limited(jobs, TABLE_DEFAULT_LIMIT + 1))
        more = len(rows) > TABLE_DEFAULT_LIMIT
        rows = rows[:TABLE_DEFAULT_LIMIT]
    else:
        rows, more = list(limited(jobs, limit)), False
    shown: list[Job] = []
    for raw in rows:
        try:
            shown.append(Job.from_dict(raw))
        except UnexpectedResponseError as exc:
            out.warn(f"a job in the {source} is not readable ({exc.message}); not shown")
    return shown, more


def _print_table(
    out: Output, jobs: Iterator[dict[str, Any]], plan: ListPlan, limit: int | None
) -> None:
    from azbackupjobs.view.list_view import jobs_table
    from azbackupjobs.view.render import fmt_time

    shown, more = table_jobs(out, jobs, limit)
    span = f"{fmt_time(plan.window.start)} to {fmt_time(plan.window.end)}"
    if not shown:
        out.note(f"No jobs from {span}.")
        return
    caption = f"{len(shown)} job{'s' if len(shown) != 1 else ''}, newest first"
    if more:
        caption += "; older ones not shown (--limit 0 shows all)"
    out.render(
        jobs_table(shown, width=out.console.width, title=f"Jobs from {span}", caption=caption)
    )


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
