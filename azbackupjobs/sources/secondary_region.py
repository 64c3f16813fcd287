"""The jobs that cross-region restores run in a vault's paired region, for both kinds of vault.

A cross-region restore runs in the vault's secondary (paired) region, and its job is not in the
vault's job list: each service keeps it under a ``locations/{pairedRegion}`` endpoint, read with
POSTs whose body names the vault.

- Recovery Services (passive-stamp api-versions only): ``POST /subscriptions/S/providers/
  Microsoft.RecoveryServices/locations/R/backupCrrJobs`` with ``{"resourceId": vaultId}`` and
  the vault list's own ``$filter`` (one request stream per window and status, as
  ``recovery_services.plan`` builds them), nextLinks followed with GETs; one job is
  ``.../backupCrrJob`` with ``{"resourceId", "jobName"}``.
- Backup vaults: ``POST /subscriptions/S/resourceGroups/G/providers/Microsoft.DataProtection/
  locations/R/fetchCrossRegionRestoreJobs`` (and ``...Job`` for one) with ``{jobId?,
  sourceRegion, sourceBackupVaultId}``; no server filter, so the Backup vault source's client-side
  filters apply.

The jobs are the primary sources' jobs in every other way: the same model, tasks and filters,
borrowed from them. The paired region is looked up (``arm.regions``) only when a request is
about to be sent, so that every usage error comes first. These POSTs count against ARM's write
quota: the poll loop slows down when the answers say it runs low (``follow.pacing``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from azbackupjobs.arm.client import BackupJobsClient, Response, RetryPolicy
from azbackupjobs.arm.regions import Regions
from azbackupjobs.model import ids
from azbackupjobs.model.errors import UsageError
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.sources import backup_vault, recovery_services
from azbackupjobs.sources.base import JobQuery, arm_list_pages, expect_object

if TYPE_CHECKING:
    from azbackupjobs.model.job import Job

# The api-versions the Recovery Services passive stamp accepts (the vault's own are refused).
PASSIVE_STAMP_API_VERSIONS = ("2018-12-20", "2021-11-15", "2023-01-15")
PASSIVE_STAMP_API_VERSION = "2023-01-15"

Pages = Iterator[list[dict[str, Any]]]


def passive_stamp_version(ctx_version: str, given: bool) -> str:
    """``--api-version`` when it is a passive-stamp version, else the newest of them."""
    if given and ctx_version.strip() in PASSIVE_STAMP_API_VERSIONS:
        return ctx_version.strip()
    return PASSIVE_STAMP_API_VERSION


class SecondaryRegionSource:
    """The cross-region restore jobs of the vault of ``client.ctx`` (a vault of ``kind``),
    in the region ``regions()`` names (called once, before the first request)."""

    spans_vaults = False
    can_cancel = False

    def __init__(
        self, client: BackupJobsClient, kind: VaultKind, regions: Callable[[], Regions]
    ) -> None:
        self.client = client
        self.ctx = client.ctx
        self.kind = kind
        self._regions_of = regions
        self.primary: recovery_services.RecoveryServicesSource | backup_vault.BackupVaultSource
        if kind is VaultKind.BACKUP:
            self.primary = backup_vault.BackupVaultSource(client)
            self.api_version = self.primary.api_version
        else:
            self.primary = recovery_services.RecoveryServicesSource(client)
            source = self.ctx.sources.get("api_version")
            given = source is not None and source.source != "default"
            self.api_version = passive_stamp_version(self.ctx.api_version, given)
        self.request = client.request
        self.time_limit = client.time_limit

    @functools.cached_property
    def regions(self) -> Regions:
        return self._regions_of()

    @property
    def name(self) -> str:
        region = self.__dict__.get("regions")
        where = f" {region.paired}" if isinstance(region, Regions) else ""
        return f"{self.primary.name} (secondary region{where})"

    def checked_url(self, url: str, what: str) -> str:
        return self.client.checked_url(url, what, api_version=self.api_version)

    # ----- requests ---------------------------------------------------------------------------
    def _vault_id(self) -> str:
        """The vault's ARM id as the bodies name it (its names are validated, unencoded)."""
        provider = (
            "Microsoft.DataProtection/backupVaults"
            if self.kind is VaultKind.BACKUP
            else "Microsoft.RecoveryServices/vaults"
        )
        ctx = self.ctx
        return (
            f"/subscriptions/{ctx.subscription}/resourceGroups/{ctx.resource_group}"
            f"/providers/{provider}/{ctx.vault}"
        )

    def _url(self, action: str) -> str:
        ctx = self.ctx
        scope = f"/subscriptions/{quote(ctx.subscription, safe='')}"
        if self.kind is VaultKind.BACKUP:
            scope += f"/resourceGroups/{quote(ctx.resource_group, safe='')}"
            provider = "Microsoft.DataProtection"
        else:
            provider = "Microsoft.RecoveryServices"
        region = quote(self.regions.paired, safe="")
        return (
            f"{ctx.endpoint}{scope}/providers/{provider}/locations/{region}/{action}"
            f"?api-version={quote(self.api_version)}"
        )

    def _body(self, job_id: str | None = None) -> dict[str, Any]:
        if self.kind is VaultKind.BACKUP:
            body: dict[str, Any] = {} if job_id is None else {"jobId": job_id}
            body["sourceRegion"] = self.regions.source
            body["sourceBackupVaultId"] = self._vault_id()
            return body
        body = {"resourceId": self._vault_id()}
        if job_id is not None:
            body["jobName"] = job_id
        return body

    def job_url(self, ref: str) -> str:
        """Where one job is read (with a POST naming it in the body)."""
        self._guid(ref)
        single = "fetchCrossRegionRestoreJob" if self.kind is VaultKind.BACKUP else "backupCrrJob"
        return self._url(single)

    @staticmethod
    def _guid(ref: str) -> str:
        """A job's GUID, from a GUID or a cross-region restore job's full id."""
        return ids.parse_job_ref(ref).job_id

    # ----- one job ----------------------------------------------------------------------------
    def ref_of(self, raw: Mapping[str, Any]) -> str | None:
        return self.primary.ref_of(raw)

    def fetch_job(self, ref: str, *, retry: RetryPolicy | None = None) -> Response:
        guid = self._guid(ref)
        return self.request(
            "POST", self.job_url(guid), body=self._body(guid), idempotent=True, retry=retry
        )

    def get_job(self, ref: str, *, retry: RetryPolicy | None = None) -> dict[str, Any]:
        resp = self.fetch_job(ref, retry=retry)
        return expect_object(resp.body, "job resource", resp.request_id)

    def parse(self, raw: Mapping[str, Any]) -> Job:
        return self.primary.parse(raw)

    def tasks(self, raw: Mapping[str, Any]) -> list[Any]:
        return self.primary.tasks(raw)

    def cancel(self, ref: str) -> Response:
        raise UsageError(
            f"job {ref} runs in the secondary region: azjobs cannot cancel a cross-region "
            "restore job; nothing sent"
        )

    # ----- the list ---------------------------------------------------------------------------
    def jobs(
        self, query: JobQuery, *, retry: RetryPolicy | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every usage error before the paired region is looked up (a request)."""
        if self.kind is VaultKind.BACKUP:
            return backup_vault.filtered_jobs(
                lambda: self.iter_job_pages(retry=retry), query, limit, self.name
            )
        planned = recovery_services.plan(query)
        return recovery_services.planned_jobs(
            planned, lambda f: self.iter_job_pages(f, retry=retry)
        )

    def iter_job_pages(
        self, odata_filter: str | None = None, *, retry: RetryPolicy | None = None
    ) -> Pages:
        """The region's jobs of this vault page by page: a POST, then nextLinks (on the
        endpoint's host only)."""
        if self.kind is VaultKind.BACKUP:
            url = self._url("fetchCrossRegionRestoreJobs")
        else:
            url = self._url("backupCrrJobs")
            if odata_filter:
                url += "&" + urlencode({"$filter": odata_filter}, quote_via=quote)
        return arm_list_pages(self, url, "job list", retry=retry, post=self._body())
