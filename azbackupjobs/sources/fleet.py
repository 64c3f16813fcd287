"""Every vault's jobs at once, through Azure Resource Graph.

Resource Graph keeps the jobs of every vault in scope in one table, so one query answers what
would take a request per vault. The filters of a listing become the query's ``where`` clauses
(``sources.kql``): nothing is filtered on the client. A row carries no tasks: a job's details
come from its own vault's API, by the ARM id the row names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from azbackupjobs.arm.client import Response, RetryPolicy
from azbackupjobs.model.kinds import VaultKind, vault_kind_of
from azbackupjobs.sources import kql
from azbackupjobs.sources.backup_vault import BackupVaultSource
from azbackupjobs.sources.base import JobQuery, merge_newest_first, once
from azbackupjobs.sources.recovery_services import RecoveryServicesSource
from azbackupjobs.sources.resource_graph import ResourceGraphClient, page_size_for

if TYPE_CHECKING:
    from azbackupjobs.model.job import Job


def _rows(pages: Iterator[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for page in pages:
        for row in page:
            yield kql.row_to_job(row)


class ResourceGraphSource:
    """The jobs of every vault in ``scope``, of both kinds (``kind`` narrows it to one); a
    job's details are read through the source of its own kind of vault, by its ARM id."""

    spans_vaults = True
    can_cancel = True

    def __init__(
        self,
        graph: ResourceGraphClient,
        scope: kql.Scope,
        vault: RecoveryServicesSource,
        *,
        kind: VaultKind | None = None,
    ) -> None:
        self.graph = graph
        self.scope = scope
        self.vault = vault
        self.backup_vault = BackupVaultSource(vault.client)
        self.kind = kind
        # The queries and the details reads share one transport, and so one limit.
        self.time_limit = graph.client.time_limit

    @property
    def name(self) -> str:
        return self.scope.describe

    def _vault_of(self, ref: object) -> RecoveryServicesSource | BackupVaultSource:
        """The source that reads a job of the kind its id (or resource) names."""
        if vault_kind_of(ref) is VaultKind.BACKUP or (
            isinstance(ref, Mapping) and vault_kind_of(ref.get("id")) is VaultKind.BACKUP
        ):
            return self.backup_vault
        return self.vault

    # ----- one job, through its vault's API ---------------------------------------------------
    def job_url(self, ref: str) -> str:
        return self._vault_of(ref).job_url(ref)

    def ref_of(self, raw: Mapping[str, Any]) -> str | None:
        resource_id = raw.get("id")
        return resource_id if isinstance(resource_id, str) and resource_id else None

    def fetch_job(self, ref: str, *, retry: RetryPolicy | None = None) -> Response:
        return self._vault_of(ref).fetch_job(ref, retry=retry)

    def get_job(self, ref: str, *, retry: RetryPolicy | None = None) -> dict[str, Any]:
        return self._vault_of(ref).get_job(ref, retry=retry)

    def cancel(self, ref: str) -> Response:
        return self._vault_of(ref).cancel(ref)

    def parse(self, raw: Mapping[str, Any]) -> Job:
        from azbackupjobs.model.job import Job

        return Job.from_dict(raw)

    def tasks(self, raw: Mapping[str, Any]) -> list[Any]:
        return self._vault_of(raw).tasks(raw)

    # ----- queries ----------------------------------------------------------------------------
    def _narrowed(self, query: JobQuery) -> JobQuery:
        """``query`` with the source's kind of vault, when it has one (``--vault-type``)."""
        if self.kind is None or query.vault_kind is not None:
            return query
        return replace(query, vault_kind=self.kind)

    def jobs(
        self, query: JobQuery, *, retry: RetryPolicy | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every job the query returns, newest first, once (a job updated between two pages
        can show up on both: the first sighting wins)."""
        text = kql.jobs_query(
            self._narrowed(query)
        )  # refuses a malformed --job-id before anything is sent
        streams = self.graph.streams(text, self.scope, top=page_size_for(limit))
        return once(merge_newest_first([_rows(s) for s in streams]), "id")

    def running(
        self, query: JobQuery, *, ended_since: datetime | None, pending: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """The jobs in ``query.statuses`` (running ones), those that ended since
        ``ended_since``, and the ``pending`` ids: one query that tells a watch what changed."""
        text = kql.running_query(self._narrowed(query), ended_since=ended_since, pending=pending)
        streams = self.graph.streams(text, self.scope)
        return once((job for s in streams for job in _rows(s)), "id")

    def counts(self, query: JobQuery, by: str) -> list[kql.Count]:
        """``--by``: the jobs counted per vault and status (and operation)."""
        text = kql.summary_query(self._narrowed(query), by)
        return [
            kql.read_count(row)
            for stream in self.graph.streams(text, self.scope)
            for page in stream
            for row in page
        ]
