"""Named jobs that live in several places, read as one source.

The poll loop reads one source. When the jobs to follow come from different vaults, even of
different kinds (``azjobs demo`` follows a Recovery Services job and a Backup vault job in one
watch view), each job is still read by the source it came from: this routes every job to its
own source, and merges their listings newest first, so the loop and the views stay unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from azbackupjobs.model.errors import UsageError
from azbackupjobs.sources.base import JobQuery, JobSource, merge_newest_first

if TYPE_CHECKING:
    from azbackupjobs.arm.client import Response, RetryPolicy
    from azbackupjobs.model.job import Job


class SeveralSources:
    """``routes``: each source with the refs of the jobs it holds (as its ``fetch_job`` takes
    them). A ref is matched case-insensitively; a job resource by its ``name``."""

    spans_vaults = True

    def __init__(self, routes: Sequence[tuple[JobSource, Sequence[str]]]) -> None:
        if not routes:
            raise ValueError("no source to read jobs from")
        self.sources = [source for source, _ in routes]
        self._by_ref = {ref.lower(): source for source, refs in routes for ref in refs}

    @property
    def name(self) -> str:
        return " and ".join(source.name for source in self.sources)

    @property
    def can_cancel(self) -> bool:
        return all(source.can_cancel for source in self.sources)

    def _source(self, ref: str) -> JobSource:
        found = self._by_ref.get(ref.lower())
        if found is None:
            raise UsageError(f"job {ref} is not one of the jobs of {self.name}")
        return found

    def _source_of(self, raw: Mapping[str, Any]) -> JobSource:
        name = raw.get("name")
        found = self._by_ref.get(name.lower()) if isinstance(name, str) else None
        return found or self.sources[0]

    def job_url(self, ref: str) -> str:
        return self._source(ref).job_url(ref)

    def ref_of(self, raw: Mapping[str, Any]) -> str | None:
        return self._source_of(raw).ref_of(raw)

    def fetch_job(self, ref: str, *, retry: RetryPolicy | None = None) -> Response:
        return self._source(ref).fetch_job(ref, retry=retry)

    def get_job(self, ref: str, *, retry: RetryPolicy | None = None) -> dict[str, Any]:
        return self._source(ref).get_job(ref, retry=retry)

    def jobs(
        self, query: JobQuery, *, retry: RetryPolicy | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every source's matching jobs, merged newest first (each source's own stream is)."""
        return merge_newest_first(
            [source.jobs(query, retry=retry, limit=limit) for source in self.sources]
        )

    def parse(self, raw: Mapping[str, Any]) -> Job:
        return self._source_of(raw).parse(raw)

    def time_limit(self, seconds: float | None) -> AbstractContextManager[None]:
        """Every source's requests inside the block end within ``seconds``."""

        @contextmanager
        def limited() -> Iterator[None]:
            with ExitStack() as stack:
                for source in self.sources:
                    stack.enter_context(source.time_limit(seconds))
                yield

        return limited()

    def tasks(self, raw: Mapping[str, Any]) -> list[Any]:
        return self._source_of(raw).tasks(raw)

    def cancel(self, ref: str) -> Response:
        return self._source(ref).cancel(ref)
