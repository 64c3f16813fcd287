"""The one list path: listed jobs, from any source, printed as they arrive or drawn as a table.

Scripts get every job in the chosen format, each printed as soon as its page arrives (``-o
json`` writes the array item by item), and ``--limit`` stops the reading, and so the requests.
People get a table of the newest jobs: without ``--limit`` the newest ``TABLE_DEFAULT_LIMIT``,
saying when there are more. Nothing here imports rich or the job model unless a table is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azbackupjobs.model import ids
from azbackupjobs.model.errors import UnexpectedResponseError
from azbackupjobs.view.output import Output
from azbackupjobs.view.rows import job_tsv_row

if TYPE_CHECKING:
    from azbackupjobs.model.job import Job

# The table is for people: without --limit it shows the newest jobs only, and says so.
TABLE_DEFAULT_LIMIT = 100

Parse = Callable[[Mapping[str, Any]], "Job"]


@dataclass(frozen=True)
class Heading:
    """How a table of listed jobs reads: its title, the note when nothing matched, and what a
    warning calls the listing (``a job in the list is not readable``)."""

    title: str
    empty: str
    noun: str = "list"


def limited(items: Iterator[dict[str, Any]], limit: int) -> Iterator[dict[str, Any]]:
    """At most ``limit`` items (0: all); stops pulling, and so requesting, at the limit."""
    if limit <= 0:
        yield from items
        return
    for count, item in enumerate(items, start=1):
        yield item
        if count >= limit:
            return


def wanted(out: Output, limit: int | None) -> int | None:
    """How many jobs the output will show, for a source to size its pages: ``--limit``, or for
    a table the default and one more (to know whether there are more); None: all."""
    if limit is None and out.drawn:
        return TABLE_DEFAULT_LIMIT + 1
    return limit


def table_jobs(
    out: Output, jobs: Iterator[dict[str, Any]], limit: int | None, parse: Parse, noun: str
) -> tuple[list[Job], bool]:
    """The jobs a table shows, and whether older ones were left out. A job that does not parse
    is named on stderr and skipped: one odd item must not hide the others."""
    if limit is None:
        rows = list(limited(jobs, TABLE_DEFAULT_LIMIT + 1))
        more = len(rows) > TABLE_DEFAULT_LIMIT
        rows = rows[:TABLE_DEFAULT_LIMIT]
    else:
        rows, more = list(limited(jobs, limit)), False
    shown: list[Job] = []
    for raw in rows:
        try:
            shown.append(parse(raw))
        except UnexpectedResponseError as exc:
            out.warn(f"a job in the {noun} is not readable ({exc.message}); not shown")
    return shown, more


def print_jobs(
    out: Output,
    jobs: Iterator[dict[str, Any]],
    *,
    limit: int | None,
    parse: Parse,
    heading: Callable[[], Heading],
    vaults: bool = False,
) -> None:
    """Listed jobs (newest first, as the source gives them) in the chosen format; ``vaults``:
    they come from many vaults, so that the table names each one's vault."""

    def table() -> Any:
        from azbackupjobs.view.list_view import jobs_table

        head = heading()
        shown, more = table_jobs(out, jobs, limit, parse, head.noun)
        if not shown:
            out.note(head.empty)
            return None
        caption = f"{len(shown)} job{'s' if len(shown) != 1 else ''}"
        if vaults:
            places = {ids.vault_of_id(j.id) for j in shown}
            caption += f" in {len(places)} vault{'s' if len(places) != 1 else ''}"
        caption += ", newest first"
        if more:
            caption += "; older ones not shown (--limit 0 shows all)"
        return jobs_table(
            shown, width=out.console.width, title=head.title, caption=caption, vaults=vaults
        )

    out.stream(limited(jobs, limit or 0), table=table, tsv_row=job_tsv_row)
