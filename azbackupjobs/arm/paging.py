"""Following the pages of a list, with an end whatever the service sends.

ARM lists (nextLink) and Resource Graph ($skipToken) both hand out a cursor to the next page.
A service that never stops handing one out (each page empty, each cursor new) would be followed
forever, so ``follow_pages`` stops with a clear error after ``MAX_PAGES`` pages, after
``MAX_EMPTY_RUN`` empty pages in a row that still point further, or when a cursor comes back;
``check`` runs before each page so that a command's deadline is honoured between pages too.
Each source says how to read one page; the rules are here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from azbackupjobs.model.errors import UnexpectedResponseError

# Pages of one list. A vault's jobs of one 30-day window, or a Resource Graph query, at 1000
# rows a page (fewer for the vault API), stay far below this.
MAX_PAGES = 1000
# Empty pages in a row that still point to a next one: a real service may send a few while it
# searches its partitions; an endless run is a service paging without end.
MAX_EMPTY_RUN = 20

C = TypeVar("C", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page's items, and what it says of the next page as the service sent it: ``follow``
    makes a cursor of that (or None on the last page) only once the items are out, so that a
    page is seen even when its link is then refused."""

    items: list[T]
    next: object = None


class PagingError(UnexpectedResponseError):
    """The service kept handing out pages past every sensible end."""


def follow_pages(
    first: C,
    read: Callable[[C], Page[T]],
    follow: Callable[[object], C | None],
    *,
    what: str,
    check: Callable[[], None] | None = None,
    max_pages: int | None = None,
    max_empty_run: int | None = None,
) -> Iterator[list[T]]:
    """The items of each page, from ``first`` on, as ``read`` gives them; ``follow`` turns a
    page's link into the next cursor; ``what`` names the list in errors ("the job list").
    The limits default to ``MAX_PAGES`` and ``MAX_EMPTY_RUN`` as they are when paging starts."""
    max_pages = MAX_PAGES if max_pages is None else max_pages
    max_empty_run = MAX_EMPTY_RUN if max_empty_run is None else max_empty_run
    cursor: C = first
    seen: set[C] = {first}
    pages = 0
    empty_run = 0
    while True:
        if check is not None:
            check()
        page = read(cursor)
        pages += 1
        yield page.items
        following = follow(page.next)
        if following is None:
            return
        if following in seen:
            raise PagingError(f"{what}'s next-page link points back to a page already read")
        empty_run = 0 if page.items else empty_run + 1
        if empty_run >= max_empty_run:
            raise PagingError(
                f"{what}: {empty_run} empty pages in a row, each pointing to another one; "
                "stopped (the service seems to page without end)"
            )
        if pages >= max_pages:
            raise PagingError(
                f"{what} goes on past {max_pages} pages; stopped",
                hint="narrow the list (a shorter --since window, --status, --limit)",
            )
        seen.add(following)
        cursor = following
