"""The jobs of a Recovery Services vault (``Microsoft.RecoveryServices/vaults/V/backupJobs``).

One job is one GET; the list is paged by ``nextLink`` and filtered on the server by a ``$filter``
that takes one status at a time and a window of at most 30 days. So a listing runs one request
stream per (window, status); the streams of a window are merged newest first by start time (a
k-way merge that pulls one page at a time from each), and windows run newest first. Nothing is
fetched ahead of what the reader pulls. The one filter the service lacks (``--entity``) is applied
here, on the client. Cancel and the vault's operations (``backupOperations``, ``operationsStatus``,
``operationResults``) live here too. All requests go through the transport (``arm.client``): its
retries, security rules and trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode

from azbackupjobs.arm.client import BackupJobsClient, Response, RetryPolicy
from azbackupjobs.model import ids
from azbackupjobs.model.errors import UsageError
from azbackupjobs.sources import filters
from azbackupjobs.sources.base import (
    JobQuery,
    arm_list_pages,
    expect_object,
    items,
    merge_newest_first,
    once,
)

if TYPE_CHECKING:
    from azbackupjobs.model.job import Job

# 13 requests per status at the service's 30-day limit; beyond a year, --fleet is the tool.
MAX_LIST_SPAN = timedelta(days=366)


@dataclass(frozen=True)
class ListPlan:
    """What a listing will ask, validated before any request: one filter per (window, status)."""

    window: filters.Window
    requests: tuple[tuple[str, ...], ...]  # per window, newest first: its filters
    entity: str | None


def refuse_datasource_types(query: JobQuery) -> None:
    if query.datasource_types:
        raise UsageError(
            f"--type {query.datasource_types[0]} is a Backup vault datasource type; a Recovery "
            "Services vault's jobs are filtered by backup management type ("
            + ", ".join(filters.MANAGEMENT_TYPES)
            + ")",
            hint="for a Backup vault, pass --vault-type backup",
        )


def plan(query: JobQuery) -> ListPlan:
    """The requests of ``query``; a window the vault API would need too many requests for is a
    usage error (before anything is sent)."""
    refuse_datasource_types(query)
    window = query.window
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
                    operation=query.operation,
                    management_type=query.management_type,
                    job_id=query.job_id,
                )
                for status in (query.statuses or (None,))
            )
        )
    entity = query.entity.strip() if query.entity and query.entity.strip() else None
    return ListPlan(window=window, requests=tuple(groups), entity=entity)


def _entity_matches(raw: Mapping[str, Any], needle: str) -> bool:
    props = raw.get("properties")
    name = props.get("entityFriendlyName") if isinstance(props, dict) else None
    return isinstance(name, str) and needle.casefold() in name.casefold()


def planned_jobs(
    planned: ListPlan, pages: Callable[[str | None], Iterator[list[dict[str, Any]]]]
) -> Iterator[dict[str, Any]]:
    """The jobs of ``planned``, newest first, each once: ``pages(filter)`` reads one filter's
    pages (the vault's list, or the secondary region's, which takes the same filters)."""

    def merged() -> Iterator[dict[str, Any]]:
        for group in planned.requests:
            yield from merge_newest_first([items(pages(f)) for f in group])

    for raw in once(merged(), "name", "id"):
        if planned.entity is None or _entity_matches(raw, planned.entity):
            yield raw


class RecoveryServicesSource:
    """The jobs API of the vault of ``client.ctx``, through ``client`` (the transport)."""

    spans_vaults = False
    can_cancel = True

    def __init__(self, client: BackupJobsClient) -> None:
        self.client = client
        self.ctx = client.ctx
        # The endpoints below send through the transport exactly as they did inside it.
        self.request = client.request
        self.checked_url = client.checked_url
        self.time_limit = client.time_limit

    @property
    def name(self) -> str:
        return f"vault {self.ctx.vault}"

    # ----- URLs -------------------------------------------------------------------------------
    def vault_url(self, *segments: str) -> str:
        path = self.ctx.vault_path + "".join("/" + quote(s, safe="") for s in segments)
        return f"{self.ctx.endpoint}{path}?api-version={quote(self.ctx.api_version)}"

    def job_url(self, ref: str, *more: str) -> str:
        """A job of this vault by its GUID, or any vault's job by its full ARM id (on this
        endpoint): every name validated and encoded."""
        if ref.startswith("/"):
            named = ids.parse_job_ref(ref)
            assert named.subscription and named.resource_group and named.vault
            ctx = replace(
                self.ctx,
                subscription=named.subscription,
                resource_group=named.resource_group,
                vault=named.vault,
            )
            path = ctx.vault_path + "".join(
                "/" + quote(s, safe="") for s in ("backupJobs", named.job_id, *more)
            )
            return f"{ctx.endpoint}{path}?api-version={quote(ctx.api_version)}"
        return self.vault_url("backupJobs", ref, *more)

    def operation_url(self, url_or_id: str) -> str:
        """An Azure-AsyncOperation / operationsStatus URL (checked: the endpoint's host only), or
        a ``backupOperations`` id of the vault (a GUID).

        Anything with a scheme is a URL, checked as one: a service-given ``HTTPS://...`` or
        ``ftp://...`` must not slip into the path as an "id".
        """
        text = url_or_id.strip()
        if text.startswith("/") or "://" in text:
            return self.checked_url(text, "operation")
        return self.vault_url("backupOperations", ids.validate_guid(text, "operation id"))

    def operation_target(self, url_or_id: str) -> tuple[str, Literal["location", "status"]]:
        """What ``watch --operation`` polls: a status URL, or the vault's backupOperations."""
        return self.operation_url(url_or_id), "status"

    # ----- one job ----------------------------------------------------------------------------
    def ref_of(self, raw: Mapping[str, Any]) -> str | None:
        name = raw.get("name")
        return name.lower() if isinstance(name, str) and ids.GUID_RE.match(name) else None

    def fetch_job(self, ref: str, *, retry: RetryPolicy | None = None) -> Response:
        return self.request("GET", self.job_url(ref), retry=retry)

    def get_job(self, job_id: str, *, retry: RetryPolicy | None = None) -> dict[str, Any]:
        """The job resource as returned (a dict; parse with ``Job.from_dict``)."""
        resp = self.request("GET", self.job_url(job_id), retry=retry)
        return expect_object(resp.body, "job resource", resp.request_id)

    def parse(self, raw: Mapping[str, Any]) -> Job:
        from azbackupjobs.model.job import Job

        return Job.from_dict(raw)

    def tasks(self, raw: Mapping[str, Any]) -> list[Any]:
        """``extendedInfo.tasksList`` exactly as returned; ``[]`` when the job type has none."""
        props = raw.get("properties")
        ext = props.get("extendedInfo") if isinstance(props, dict) else None
        found = ext.get("tasksList") if isinstance(ext, dict) else None
        return found if isinstance(found, list) else []

    # ----- the list ---------------------------------------------------------------------------
    def jobs(
        self, query: JobQuery, *, retry: RetryPolicy | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        return self._jobs(plan(query), retry)

    def _jobs(self, planned: ListPlan, retry: RetryPolicy | None) -> Iterator[dict[str, Any]]:
        return planned_jobs(planned, lambda f: self.iter_job_pages(f, retry=retry))

    def iter_job_pages(
        self, odata_filter: str | None = None, *, retry: RetryPolicy | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """The vault's jobs page by page, following nextLink (on the endpoint's host only)."""
        url = self.vault_url("backupJobs")
        if odata_filter:
            url += "&" + urlencode({"$filter": odata_filter}, quote_via=quote)
        return arm_list_pages(self, url, "job list", retry=retry)

    # ----- cancel and operations --------------------------------------------------------------
    def cancel(self, ref: str) -> Response:
        return self.trigger_cancel(ref)

    def trigger_cancel(self, job_id: str) -> Response:
        """POST cancel; 202 with a Location to poll."""
        return self.request(
            "POST",
            self.job_url(job_id, "cancel"),
            expect_json=False,
            ok=frozenset({200, 202, 204}),
        )

    def get_operation_result(self, url: str, *, retry: RetryPolicy | None = None) -> Response:
        """A Location URL: 202 while running, 200/204 when done."""
        return self.request(
            "GET",
            self.checked_url(url, "Location"),
            expect_json=False,
            ok=frozenset({200, 201, 202, 204}),
            retry=retry,
        )

    def get_operation_status(self, url_or_id: str, *, retry: RetryPolicy | None = None) -> Response:
        """An Azure-AsyncOperation / operationsStatus URL, or a backupOperations id of the
        vault: the operation's status (a JSON object) in the body."""
        resp = self.request("GET", self.operation_url(url_or_id), retry=retry)
        expect_object(resp.body, "operation status", resp.request_id)
        return resp

    def post(self, url: str) -> Response:
        """A POST to a vault-relative or endpoint URL (used by ``demo`` to trigger a backup)."""
        return self.request(
            "POST",
            self.checked_url(url, "trigger"),
            expect_json=False,
            ok=frozenset({200, 202, 204}),
        )
