"""What every source of jobs offers, whatever it talks to.

A Recovery Services vault and Azure Resource Graph (every vault at once) are two sources today;
Backup vaults and the secondary region come next. Each turns its own HTTP into job resources, and
everything after the source (the poll loop, the list path, the views) is shared. A source hands
out the job resource as the service returned it (a dict, kept byte for byte for ``-o json``) and
parses it into the one ``Job`` model only when asked: scripts that print JSON never pay for the
model.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from azbackupjobs.arm.paging import Page, follow_pages
from azbackupjobs.model.errors import UnexpectedResponseError
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.sources.filters import Window

if TYPE_CHECKING:
    from azbackupjobs.arm.client import BackupJobsClient, Response, RetryPolicy
    from azbackupjobs.model.job import Job

_NO_START = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class JobQuery:
    """The filters of a job listing, validated and in the service's spelling. A source applies
    what it can on the server and the rest on the client; the caller cannot tell which."""

    window: Window
    statuses: tuple[str, ...] = ()
    operation: str | None = None
    management_type: str | None = None
    job_id: str | None = None
    entity: str | None = None
    # --type given as a Backup vault datasource type (lower case): ``Microsoft.Compute/disks``.
    datasource_types: tuple[str, ...] = ()
    # --vault-type with --fleet: only the jobs of that kind of vault (None: both).
    vault_kind: VaultKind | None = None


class JobSource(Protocol):
    """Where jobs come from. ``ref`` is how the source names one job: what ``ref_of`` gives for
    a listed job, or what the user typed (a GUID in the vault, or a job's full ARM id)."""

    @property
    def name(self) -> str:
        """What tables and messages call the place the jobs come from (``vault v1``)."""

    @property
    def spans_vaults(self) -> bool:
        """Its jobs come from many vaults, so that tables name each job's vault."""

    @property
    def can_cancel(self) -> bool:
        """Whether the service behind it can cancel a job."""

    def job_url(self, ref: str) -> str:
        """The job's canonical URL (where its details are read)."""

    def ref_of(self, raw: Mapping[str, Any]) -> str | None:
        """How to name a listed job to ``fetch_job`` (a list item has no tasks: its details
        are ``fetch_job(ref_of(item))``); None when the resource does not say."""

    def fetch_job(self, ref: str, *, retry: RetryPolicy | None = None) -> Response:
        """One read of the job with its details; the body is not checked (a poll loop decides
        what an unreadable answer means)."""

    def get_job(self, ref: str, *, retry: RetryPolicy | None = None) -> dict[str, Any]:
        """The job resource as returned (checked to be a JSON object)."""

    def jobs(
        self, query: JobQuery, *, retry: RetryPolicy | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The jobs matching ``query``, newest first, each once, fetched lazily page by page.
        A query the source cannot run is refused (``UsageError``) before the first request.
        ``limit``: at most that many will be read (a hint to size pages)."""

    def parse(self, raw: Mapping[str, Any]) -> Job:
        """The job resource as the one model (its ``raw`` is ``raw`` itself)."""

    def time_limit(self, seconds: float | None) -> AbstractContextManager[None]:
        """Every request the source sends inside the block is over within ``seconds`` (None:
        no limit of the caller's): a poll loop's deadline holds with requests in flight."""

    def tasks(self, raw: Mapping[str, Any]) -> list[Any]:
        """The job's tasks exactly as returned (``[]`` when it has none)."""

    def cancel(self, ref: str) -> Response:
        """Ask the service to cancel the job; the answer may start an operation to follow."""


def expect_object(body: Any, what: str, request_id: str | None = None) -> dict[str, Any]:
    """``body`` when it is a JSON object; otherwise an unexpected response naming ``what``."""
    if not isinstance(body, dict):
        kind = "nothing" if body is None else f"a JSON {type(body).__name__}"
        where = f" (request id {request_id})" if request_id else ""
        raise UnexpectedResponseError(
            f"expected a {what} (a JSON object), got {kind}{where}", request_id=request_id
        )
    return body


class ListEndpoint(Protocol):
    """What reads an ARM list: a source's ``request``, ``checked_url`` and transport."""

    @property
    def client(self) -> BackupJobsClient: ...

    @property
    def request(self) -> Callable[..., Response]: ...

    @property
    def checked_url(self) -> Callable[..., str]: ...


def arm_list_pages(
    source: ListEndpoint,
    url: str,
    what: str,
    *,
    retry: RetryPolicy | None = None,
    post: Mapping[str, Any] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """An ARM list (``{value, nextLink}``) page by page, lazily, through the one bounded pager:
    a nextLink is followed only on the endpoint's host, and the command's deadline holds.

    ``post``: the list is asked for with a POST of this body (the secondary region's lists
    read that way); its nextLinks are still followed with a GET, as the SDKs do. Such a POST
    only reads, so it is retried as a GET would be."""
    first = True

    def page(page_url: str) -> Page[dict[str, Any]]:
        nonlocal first
        if first and post is not None:
            resp = source.request("POST", page_url, retry=retry, body=dict(post), idempotent=True)
        else:
            resp = source.request("GET", page_url, retry=retry)
        first = False
        body = expect_object(resp.body, what, resp.request_id)
        value = body.get("value")
        if not isinstance(value, list):
            raise UnexpectedResponseError(
                f"the {what} has no 'value' array (request id {resp.request_id})",
                request_id=resp.request_id,
            )
        return Page([item for item in value if isinstance(item, dict)], body.get("nextLink"))

    def next_link(link: object) -> str | None:
        if link is None or link == "":
            return None
        if not isinstance(link, str):
            raise UnexpectedResponseError(f"the {what}'s nextLink is not a string")
        return source.checked_url(link, "nextLink")

    return follow_pages(
        url, page, next_link, what=f"the {what}", check=source.client.check_deadline
    )


# ----- streams of job resources ------------------------------------------------------------------
def start_key(raw: Mapping[str, Any]) -> datetime:
    """The merge key of job resources: the start time (jobs without one sort last)."""
    from azbackupjobs.model.job import parse_timestamp

    props = raw.get("properties")
    moment = parse_timestamp(props.get("startTime")) if isinstance(props, dict) else None
    return moment or _NO_START


def items(pages: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for page in pages:
        yield from page


def merge_newest_first(streams: list[Iterator[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Merge streams that each run newest first into one that does; lazy, page by page."""
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=start_key, reverse=True)


def once(jobs: Iterable[dict[str, Any]], *keys: str) -> Iterator[dict[str, Any]]:
    """Each job once, by the first of ``keys`` it has (any casing): the first sighting wins.

    A job shows up twice when it changed between two requests (two pages, two statuses, two
    windows that share their boundary second)."""
    seen: set[str] = set()
    for raw in jobs:
        key = next((raw.get(k) for k in keys if raw.get(k)), None)
        if isinstance(key, str):
            if key.lower() in seen:
                continue
            seen.add(key.lower())
        yield raw
