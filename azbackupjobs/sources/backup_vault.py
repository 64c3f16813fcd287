"""The jobs of a Backup vault (``Microsoft.DataProtection/backupVaults/V/backupJobs``).

One job is one GET. The list has no ``$filter`` at all (the service takes none), so every flag
of ``azjobs list`` is applied here, on the client, as pages arrive. The service documents no
order: the recorded lists run oldest first, the emulator newest first. The first page tells:

- newest first: jobs stream as they come; paging stops once ``limit`` jobs matched, or once a
  job started before the window (every later one is older still);
- otherwise: every page is read, the matching jobs kept (the newest ``limit`` of them when a
  limit is given, so memory stays bounded), and they come out newest first at the end.

A Backup vault has no cancel. Its operations (a trigger's ``Azure-AsyncOperation``, vault-scoped
``operationStatus/{id}``, and the region-scoped ``locations/{region}/operationStatus|
operationResults/{id}``) are read here; their ``jobId`` is a full ARM id.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

from azbackupjobs.arm.client import BackupJobsClient, Response, RetryPolicy
from azbackupjobs.model import ids
from azbackupjobs.model.errors import NotFoundError, UsageError
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.sources.base import JobQuery, arm_list_pages, expect_object, start_key

if TYPE_CHECKING:
    from azbackupjobs.model.job import Job

Match = Callable[[Mapping[str, Any]], bool]

# What ``--status`` (the service's Recovery Services spelling) means in a Backup vault's words.
_STATUS_WORDS: dict[str, frozenset[str]] = {
    "inprogress": frozenset({"inprogress", "started"}),
    "completed": frozenset({"completed", "succeeded"}),
    "cancelled": frozenset({"cancelled", "canceled"}),
}


def refuse_management_type(query: JobQuery, where: str) -> None:
    if query.management_type is not None:
        raise UsageError(
            f"--type {query.management_type} is a Recovery Services backup management type; "
            f"{where} holds Backup vault jobs",
            hint="use a datasource type: disk, blob, adls, aks, postgresql, mysql, or the full "
            "type (Microsoft.Compute/disks)",
        )


def _props(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    props = raw.get("properties")
    return props if isinstance(props, dict) else {}


def _lower(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def matcher(query: JobQuery) -> Match:
    """The query as a test of one job resource (every flag, since the service filters none)."""
    statuses = frozenset().union(
        *(_STATUS_WORDS.get(s.lower(), frozenset({s.lower()})) for s in query.statuses)
    )
    operation = query.operation.lower() if query.operation else None
    types = frozenset(query.datasource_types)
    job_id = query.job_id.strip().lower() if query.job_id else None
    entity = query.entity.casefold() if query.entity else None
    window = query.window

    def matches(raw: Mapping[str, Any]) -> bool:
        props = _props(raw)
        start = start_key(raw)
        if not window.start <= start <= window.end:
            return False
        if statuses and _lower(props.get("status")) not in statuses:
            return False
        if operation is not None and operation not in (
            _lower(props.get("operation")),
            _lower(props.get("operationCategory")),
        ):
            return False
        if types and _lower(props.get("dataSourceType")) not in types:
            return False
        if job_id is not None and _lower(raw.get("name")) != job_id:
            return False
        if entity is not None:
            names = (props.get("dataSourceName"), props.get("backupInstanceFriendlyName"))
            if not any(isinstance(n, str) and entity in n.casefold() for n in names):
                return False
        return True

    return matches


def _newest_first(page: list[dict[str, Any]]) -> bool:
    keys = [start_key(raw) for raw in page]
    return all(a >= b for a, b in itertools.pairwise(keys))


def select(
    pages: Iterator[list[dict[str, Any]]],
    matches: Match,
    *,
    since: datetime,
    limit: int | None,
) -> Iterator[dict[str, Any]]:
    """The matching jobs of ``pages``, newest first, reading no more pages than needed."""
    first = next(pages, None)
    if first is None:
        return
    if _newest_first(first):
        found = 0
        for page in itertools.chain([first], pages):
            for raw in page:
                if start_key(raw) < since:
                    return  # newest first: every later job started before the window too
                if matches(raw):
                    yield raw
                    found += 1
                    if limit is not None and found >= limit:
                        return
        return
    # Oldest first (or no order): the newest matches are only known at the end.
    counter = itertools.count()
    kept: list[tuple[datetime, int, dict[str, Any]]] = []
    for page in itertools.chain([first], pages):
        for raw in page:
            if not matches(raw):
                continue
            entry = (start_key(raw), next(counter), raw)
            if limit is None:
                kept.append(entry)
            elif len(kept) < limit:
                heapq.heappush(kept, entry)
            else:
                heapq.heappushpop(kept, entry)
    kept.sort(key=lambda e: (e[0], e[1]), reverse=True)
    for _, _, raw in kept:
        yield raw


def filtered_jobs(
    pages: Callable[[], Iterator[list[dict[str, Any]]]],
    query: JobQuery,
    limit: int | None,
    where: str,
) -> Iterator[dict[str, Any]]:
    """The jobs of ``pages()`` that match ``query``, filtered here since the service takes no
    filter: the query's usage errors first, then ``pages`` is called (its first request) only
    when the jobs are read. ``where`` names the list in messages."""
    refuse_management_type(query, where)
    if query.job_id is not None:
        ids.validate_guid(query.job_id.strip(), "--job-id")

    def lazily() -> Iterator[list[dict[str, Any]]]:
        yield from pages()

    return select(lazily(), matcher(query), since=query.window.start, limit=limit or None)


class BackupVaultSource:
    """The jobs API of the Backup vault of ``client.ctx``, through ``client`` (the transport)."""

    spans_vaults = False
    can_cancel = False
    kind = VaultKind.BACKUP

    def __init__(self, client: BackupJobsClient) -> None:
        self.client = client
        self.ctx = client.ctx
        self.api_version = client.ctx.api_version_of(VaultKind.BACKUP)
        self.request = client.request
        self.time_limit = client.time_limit

    @property
    def name(self) -> str:
        return f"Backup vault {self.ctx.vault}"

    # ----- URLs -------------------------------------------------------------------------------
    def _url(self, vault_path: str, *segments: str) -> str:
        path = vault_path + "".join("/" + quote(s, safe="") for s in segments)
        return f"{self.ctx.endpoint}{path}?api-version={quote(self.api_version)}"

    def vault_url(self, *segments: str) -> str:
        return self._url(self.ctx.vault_path_of(VaultKind.BACKUP), *segments)

    def checked_url(self, url: str, what: str) -> str:
        return self.client.checked_url(url, what, api_version=self.api_version)

    def job_url(self, ref: str) -> str:
        """A job of this vault by its GUID, or any Backup vault's job by its full ARM id (on
        this endpoint): every name validated and encoded."""
        if not ref.startswith("/"):
            return self.vault_url("backupJobs", ids.validate_guid(ref, "job id"))
        named = ids.parse_job_ref(ref)
        if named.vault_kind is not VaultKind.BACKUP or named.secondary:
            raise UsageError(f"job {named.job_id} is not a job of a Backup vault")
        assert named.subscription and named.resource_group and named.vault
        ctx = replace(
            self.ctx,
            subscription=named.subscription,
            resource_group=named.resource_group,
            vault=named.vault,
        )
        return self._url(ctx.vault_path_of(VaultKind.BACKUP), "backupJobs", named.job_id)

    def operation_url(self, url_or_id: str) -> str:
        """A trigger's operation URL (``operationStatus`` of the vault or of a region, or an
        ``operationResults`` Location), checked: the endpoint's host only. A Backup vault has
        no operation list to look a bare id up in."""
        text = url_or_id.strip()
        if text.startswith("/") or "://" in text:
            return self.checked_url(text, "operation")
        raise UsageError(
            f"--operation: a Backup vault operation is named by its URL (the trigger's "
            f"Azure-AsyncOperation or Location header), not by an id ({self.name})"
        )

    def operation_target(self, url_or_id: str) -> tuple[str, Literal["location", "status"]]:
        """What ``watch --operation`` polls: an ``operationResults`` Location (202 while
        running, then the job id), or an ``operationStatus`` URL."""
        url = self.operation_url(url_or_id)
        path = urlsplit(url).path.lower()
        return url, "location" if "/operationresults/" in path else "status"

    # ----- one job ----------------------------------------------------------------------------
    def ref_of(self, raw: Mapping[str, Any]) -> str | None:
        name = raw.get("name")
        return name.lower() if isinstance(name, str) and ids.GUID_RE.match(name) else None

    def fetch_job(self, ref: str, *, retry: RetryPolicy | None = None) -> Response:
        return self.request("GET", self.job_url(ref), retry=retry)

    def get_job(self, ref: str, *, retry: RetryPolicy | None = None) -> dict[str, Any]:
        """The job resource as returned. A cross-region restore job's id names the vault as
        its own jobs' ids do, but the vault does not know it: a 404 says where to look."""
        try:
            resp = self.fetch_job(ref, retry=retry)
        except NotFoundError as exc:
            exc.hint = exc.hint or (
                "a cross-region restore job is read in the paired region: add --secondary-region"
            )
            raise
        return expect_object(resp.body, "job resource", resp.request_id)

    def parse(self, raw: Mapping[str, Any]) -> Job:
        from azbackupjobs.model.job import Job

        return Job.from_dict(raw)

    def tasks(self, raw: Mapping[str, Any]) -> list[Any]:
        """``extendedInfo.subTasks`` exactly as returned; ``[]`` when there are none."""
        ext = _props(raw).get("extendedInfo")
        found = ext.get("subTasks") if isinstance(ext, dict) else None
        return found if isinstance(found, list) else []

    def cancel(self, ref: str) -> Response:
        raise UsageError(f"job {ref} is in {self.name}: Backup vaults have no cancel; nothing sent")

    # ----- the list ---------------------------------------------------------------------------
    def jobs(
        self, query: JobQuery, *, retry: RetryPolicy | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        return filtered_jobs(lambda: self.iter_job_pages(retry=retry), query, limit, self.name)

    def iter_job_pages(self, *, retry: RetryPolicy | None = None) -> Iterator[list[dict[str, Any]]]:
        """The vault's jobs page by page, following nextLink (on the endpoint's host only);
        lazily: no page is asked for before the reader wants it."""
        return arm_list_pages(self, self.vault_url("backupJobs"), "job list", retry=retry)

    # ----- operations -------------------------------------------------------------------------
    def get_operation_result(self, url: str, *, retry: RetryPolicy | None = None) -> Response:
        """A Location (``operationResults``) URL: 202 while running, 200 with the job id."""
        return self.request(
            "GET",
            self.checked_url(url, "Location"),
            ok=frozenset({200, 201, 202, 204}),
            retry=retry,
        )

    def get_operation_status(self, url_or_id: str, *, retry: RetryPolicy | None = None) -> Response:
        """An ``operationStatus`` or ``operationResults`` URL: a JSON body either way (a
        result body is there only once the operation succeeded)."""
        resp = self.request("GET", self.operation_url(url_or_id), retry=retry)
        expect_object(resp.body, "operation status", resp.request_id)
        return resp

    def post(self, url: str, body: Any | None = None) -> Response:
        """A POST to a vault-relative or endpoint URL (``demo`` triggers a backup with it);
        ``body`` is sent as JSON (an ad-hoc backup names its rule there)."""
        return self.request(
            "POST",
            self.checked_url(url, "trigger"),
            expect_json=False,
            ok=frozenset({200, 202, 204}),
            body=body,
        )
