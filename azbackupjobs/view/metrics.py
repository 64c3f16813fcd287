"""Backup jobs as Prometheus metrics: a snapshot of the jobs of a window, and its exposition.

A refresh reads every job of the window once and folds it into a ``JobsSnapshot`` (counts and,
per protected item or backup instance, the facts of its newest backup), so that the jobs
themselves are never all in memory. Scrapes render the snapshot through the official
prometheus-client library, with custom collectors over the snapshot rather than global mutable
gauges: a scrape always sees one whole refresh, never half of two.

The library formats about 30 µs per sample, two seconds for 20,000 items, so the jobs part of the
exposition is rendered once per snapshot and format (``Exposition``) and only the exporter's own
health, whose data age ticks with the clock, is rendered at each scrape and appended.

Conventions: the ``azjobs_`` prefix, base units (seconds), ``_timestamp_seconds`` for times,
``_total`` on counters only, and low-cardinality labels: a vault, an operation, a status, an item;
never a job id.
"""

from __future__ import annotations

import gzip
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from azbackupjobs import __version__
from azbackupjobs.model.errors import UnexpectedResponseError, UsageError
from azbackupjobs.model.job import Job, JobStatus
from azbackupjobs.model.text import clean, sanitize

FORMATS = ("prometheus", "openmetrics")
DEFAULT_FORMAT = "prometheus"
# What each --format asks prometheus-client for, as a scraper's Accept header would.
_ACCEPT = {
    "prometheus": "text/plain; version=0.0.4",
    "openmetrics": "application/openmetrics-text; version=1.0.0",
}
# What Prometheus asks for (OpenMetrics, gzipped): rendered ahead of its first scrape.
PROMETHEUS_ACCEPT = _ACCEPT["openmetrics"]
_EOF = b"# EOF\n"

VAULT_LABELS = ("subscription", "resource_group", "vault", "vault_type")
ITEM_LABELS = (*VAULT_LABELS, "item", "item_type")
REQUEST_CLASSES = ("2xx", "4xx", "5xx", "error")
THROTTLE_KINDS = ("429", "resource_graph_quota")
MAX_LABEL_LENGTH = 256

_VAULT_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/"
    r"(?P<provider>microsoft\.recoveryservices/vaults|microsoft\.dataprotection/backupvaults)"
    r"/(?P<vault>[^/]+)",
    re.IGNORECASE,
)
_VAULT_TYPES = {
    "microsoft.recoveryservices/vaults": "recovery-services",
    "microsoft.dataprotection/backupvaults": "backup",
}
# A status word the model does not know is shown as it came, if it looks like one.
_STATUS_WORD = re.compile(r"^[A-Za-z][A-Za-z ]{0,39}$")
_RUNNING = frozenset({JobStatus.IN_PROGRESS, JobStatus.CANCELLING})
_SUCCESS = frozenset({JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_WARNINGS})

Encoder = Callable[[Collector], bytes]


# ----- what a job is about ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VaultRef:
    subscription: str
    resource_group: str
    vault: str
    vault_type: str  # recovery-services | backup

    @property
    def labels(self) -> tuple[str, str, str, str]:
        return (self.subscription, self.resource_group, self.vault, self.vault_type)

    @property
    def key(self) -> tuple[str, ...]:
        """Ids come in any casing (``/Subscriptions/``, lower-cased by Resource Graph)."""
        return tuple(v.lower() for v in self.labels)


@dataclass(frozen=True, slots=True)
class ItemRef:
    """A protected item (Recovery Services) or backup instance (Backup vault), in its vault."""

    vault: VaultRef
    item: str
    item_type: str

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.vault.labels, self.item, self.item_type)

    @property
    def key(self) -> tuple[str, ...]:
        return (*self.vault.key, self.item.lower(), self.item_type.lower())


def _label(value: object) -> str:
    """Service text as a label value: printable, bounded (the library escapes the rest)."""
    text = clean(value)
    return text if len(text) <= MAX_LABEL_LENGTH else text[: MAX_LABEL_LENGTH - 1] + "…"


def vault_of(resource_id: str) -> VaultRef | None:
    """The vault (either kind) of a job's ARM id; None for an id that names none."""
    match = _VAULT_ID.match(resource_id or "")
    if match is None:
        return None
    return VaultRef(
        subscription=_label(match["sub"].lower()),
        resource_group=_label(match["rg"]),
        vault=_label(match["vault"]),
        vault_type=_VAULT_TYPES[match["provider"].lower()],
    )


def _prop(job: Job, name: str) -> str | None:
    props = job.raw.get("properties")
    value = props.get(name) if isinstance(props, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def item_of(job: Job) -> ItemRef | None:
    """The item a job is about, and its labels: the one place that knows which fields name it.

    Recovery Services jobs name their protected item in ``entityFriendlyName`` and its kind in
    ``backupManagementType``; Backup vault jobs name the backup instance's datasource in
    ``dataSourceName`` and ``dataSourceType``. A new kind of job adds its fields here.
    """
    vault = vault_of(job.id)
    if vault is None:
        return None
    name = job.entity or _prop(job, "dataSourceName") or _prop(job, "backupInstanceFriendlyName")
    kind = job.backup_management_type or _prop(job, "dataSourceType") or job.kind
    return ItemRef(vault, _label(name or "unknown"), _label(kind or "unknown"))


def status_of(job: Job) -> str:
    """The status label: the model's word, else the service's when it is a plain word."""
    if job.status is not JobStatus.UNKNOWN:
        return job.status.value
    raw = (job.status_raw or "").strip()
    return raw if _STATUS_WORD.match(raw) else JobStatus.UNKNOWN.value


def operation_of(job: Job) -> str:
    """``Backup (Full)`` and ``Backup (Log)`` are Backup: the operation without its detail."""
    op = job.operation_kind or _prop(job, "operationCategory") or "Unknown"
    return _label(op)


def is_running(job: Job) -> bool:
    """Running, as ``watch`` sees it: a job of unknown status has ended only with an end time."""
    if job.status in _RUNNING:
        return True
    return job.status is JobStatus.UNKNOWN and job.end_time is None


def is_success(job: Job) -> bool:
    """Completed or CompletedWithWarnings; not a VM backup that was cancelled into
    CompletedWithWarnings (error 400158): that is a cancellation."""
    return job.status in _SUCCESS and not job.was_cancelled


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _ended_at(job: Job) -> float | None:
    """When a finished job ended: its end time, else its start plus its duration."""
    if job.end_time is not None:
        return job.end_time.timestamp()
    if job.start_time is not None and job.duration is not None:
        return (job.start_time + job.duration).timestamp()
    return None


# ----- the snapshot -------------------------------------------------------------------------------
@dataclass(slots=True)
class ItemState:
    """One item: its newest backup job, and the end of its newest successful one."""

    ref: ItemRef
    last_start: float | None = None
    last_status: str = JobStatus.UNKNOWN.value
    last_duration: float | None = None
    last_progress: float | None = None  # 0..1, while that backup runs and the service says
    last_success: float | None = None


@dataclass(frozen=True)
class JobsSnapshot:
    """Everything a scrape shows of the jobs, folded from one refresh."""

    taken_at: float  # when the window ended (epoch seconds)
    window_seconds: float
    jobs: tuple[tuple[tuple[str, ...], int], ...] = ()  # vault labels + operation, status
    running: tuple[tuple[tuple[str, ...], int], ...] = ()  # vault labels + operation
    last_end: tuple[tuple[tuple[str, ...], float], ...] = ()  # vault labels + operation, status
    items: tuple[ItemState, ...] = ()
    unreadable: int = 0

    @property
    def total(self) -> int:
        return sum(n for _, n in self.jobs)


@dataclass(slots=True)
class _Counted:
    labels: tuple[str, ...]
    value: float = 0.0


@dataclass
class SnapshotBuilder:
    """Folds jobs into a snapshot one at a time, keeping nothing of the job itself.

    Keys lead with the vault's key tuple, one object per vault (``_vaults``), so that 20,000
    items cost their own names and little else.
    """

    taken_at: float
    window_seconds: float
    _seen: set[tuple[Any, ...]] = field(default_factory=set)
    _vaults: dict[tuple[str, ...], tuple[tuple[str, ...], VaultRef]] = field(default_factory=dict)
    _jobs: dict[tuple[Any, ...], _Counted] = field(default_factory=dict)
    _running: dict[tuple[Any, ...], _Counted] = field(default_factory=dict)
    _last_end: dict[tuple[Any, ...], _Counted] = field(default_factory=dict)
    _items: dict[tuple[Any, ...], ItemState] = field(default_factory=dict)
    unreadable: int = 0

    def add_raw(self, raw: object) -> None:
        """A job resource as the service sent it; one that does not parse is counted, not fatal."""
        try:
            job = Job.from_dict(raw)
        except UnexpectedResponseError:
            self.unreadable += 1
            return
        self.add(job)

    def add(self, job: Job) -> None:
        ref = item_of(job)
        if ref is None:
            self.unreadable += 1
            return
        found = ref.vault.key
        vault_key, vault = self._vaults.setdefault(found, (found, ref.vault))
        seen = (vault_key, job.job_id.lower())
        if seen in self._seen:  # a job on two pages, or in two windows: the first sighting wins
            return
        self._seen.add(seen)
        operation, status = operation_of(job), status_of(job)
        op_key = (vault_key, operation.lower())
        counted = self._jobs.setdefault(
            (*op_key, status.lower()), _Counted((*vault.labels, operation, status))
        )
        counted.value += 1
        running = self._running.setdefault(op_key, _Counted((*vault.labels, operation)))
        if is_running(job):
            running.value += 1
        else:
            ended = _ended_at(job)
            if ended is not None:
                last = self._last_end.setdefault(
                    (*op_key, status.lower()), _Counted((*vault.labels, operation, status), ended)
                )
                last.value = max(last.value, ended)
        if operation.lower() == "backup":
            item_key = (vault_key, ref.item.lower(), ref.item_type.lower())
            state = self._items.get(item_key)
            if state is None:
                state = self._items[item_key] = ItemState(ItemRef(vault, ref.item, ref.item_type))
            self._add_backup(job, state, status)

    def _add_backup(self, job: Job, state: ItemState, status: str) -> None:
        start = _epoch(job.start_time)
        if state.last_start is None or (start is not None and start > state.last_start):
            state.last_start = start
            state.last_status = status
            elapsed = job.elapsed(datetime.fromtimestamp(self.taken_at, tz=UTC))
            state.last_duration = elapsed.total_seconds() if elapsed is not None else None
            progress = job.progress_percentage if is_running(job) else None
            state.last_progress = (
                min(max(progress / 100.0, 0.0), 1.0) if progress is not None else None
            )
        if is_success(job):
            ended = _ended_at(job) or start
            if ended is not None and (state.last_success is None or ended > state.last_success):
                state.last_success = ended

    def build(self) -> JobsSnapshot:
        def rows(table: dict[tuple[Any, ...], _Counted]) -> Iterator[tuple[tuple[str, ...], Any]]:
            for key in sorted(table):
                yield table[key].labels, table[key].value

        return JobsSnapshot(
            taken_at=self.taken_at,
            window_seconds=self.window_seconds,
            jobs=tuple((labels, int(n)) for labels, n in rows(self._jobs)),
            running=tuple((labels, int(n)) for labels, n in rows(self._running)),
            last_end=tuple(rows(self._last_end)),
            items=tuple(self._items[key] for key in sorted(self._items)),
            unreadable=self.unreadable,
        )


def summarize(jobs: Iterable[object], *, taken_at: float, window_seconds: float) -> JobsSnapshot:
    """The snapshot of the job resources ``jobs`` (read lazily, one at a time)."""
    builder = SnapshotBuilder(taken_at=taken_at, window_seconds=window_seconds)
    for raw in jobs:
        builder.add_raw(raw)
    return builder.build()


# ----- the exporter's own health ------------------------------------------------------------------
@dataclass(frozen=True)
class ExporterHealth:
    """What the exporter says of itself: its refreshes and its traffic to Azure."""

    source: str  # vault | fleet
    refreshed_at: float | None = None  # when the last refresh attempt ended (epoch seconds)
    ok: bool = False  # whether it succeeded
    duration: float | None = None  # how long it took (seconds)
    data_at: float | None = None  # when the data served was read
    successes: int = 0
    failures: int = 0
    requests: Mapping[str, int] = field(default_factory=dict)  # class -> count
    throttles: Mapping[str, int] = field(default_factory=dict)  # kind -> count


def request_classes(requests: int, by_status: Mapping[int, int]) -> dict[str, int]:
    """Requests by class of answer: 2xx, 4xx, 5xx (others as they come), and ``error`` for
    the ones that got no HTTP answer at all (refused, reset, timed out)."""
    classes = dict.fromkeys(REQUEST_CLASSES, 0)
    answered = 0
    for status, n in by_status.items():
        name = f"{status // 100}xx"
        classes[name] = classes.get(name, 0) + n
        answered += n
    classes["error"] = max(requests - answered, 0)
    return classes


# ----- collectors ---------------------------------------------------------------------------------
class JobsCollector(Collector):
    """The job families of one snapshot."""

    def __init__(self, snapshot: JobsSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        labels = [*VAULT_LABELS, "operation", "status"]
        yield _labelled(
            "azjobs_jobs",
            "Jobs that started in the window, by vault, operation and status.",
            labels,
            snap.jobs,
        )
        yield _labelled(
            "azjobs_jobs_running",
            "Jobs of the window still running (InProgress or Cancelling), by vault and operation.",
            [*VAULT_LABELS, "operation"],
            snap.running,
        )
        yield _labelled(
            "azjobs_last_job_end_timestamp_seconds",
            "When the newest job of the window that ended in this status ended, by vault, "
            "operation and status.",
            labels,
            snap.last_end,
        )
        yield from self._items()

    def _items(self) -> Iterator[Metric]:
        """Four item families, built one at a time: 20,000 items make 80,000 samples."""
        items = self.snapshot.items
        yield _labelled(
            "azjobs_item_last_success_timestamp_seconds",
            "When the item's newest successful backup of the window ended (Completed or "
            "CompletedWithWarnings; 0: none in the window).",
            ITEM_LABELS,
            ((item.ref.labels, item.last_success or 0.0) for item in items),
        )
        yield _labelled(
            "azjobs_item_last_backup_status",
            "The status of the item's newest backup job (1 for that status).",
            [*ITEM_LABELS, "status"],
            (((*item.ref.labels, item.last_status), 1) for item in items),
        )
        yield _labelled(
            "azjobs_item_last_backup_duration_seconds",
            "How long the item's newest backup job ran (so far, while it runs).",
            ITEM_LABELS,
            _known(items, lambda item: item.last_duration),
        )
        yield _labelled(
            "azjobs_item_backup_progress_ratio",
            "Progress of the item's running backup, 0 to 1, where the service reports it.",
            ITEM_LABELS,
            _known(items, lambda item: item.last_progress),
        )


def _known(
    items: Iterable[ItemState], value: Callable[[ItemState], float | None]
) -> Iterator[tuple[Sequence[str], float]]:
    """One sample per item whose ``value`` is known: an unknown one is no sample, not 0."""
    for item in items:
        known = value(item)
        if known is not None:
            yield item.ref.labels, known


def _labelled(
    name: str,
    documentation: str,
    labels: Sequence[str],
    samples: Iterable[tuple[Sequence[str], float]],
) -> GaugeMetricFamily:
    """A gauge with labels, one sample per row: the snapshot already holds each family's rows,
    so every family is the same few lines of prometheus-client calls."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for values, value in samples:
        family.add_metric(list(values), value)
    return family


class HealthCollector(Collector):
    """The exporter's own families, as of ``now``."""

    def __init__(
        self, health: ExporterHealth, now: float, snapshot: JobsSnapshot | None = None
    ) -> None:
        self.health = health
        self.now = now
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        health = self.health
        info = InfoMetricFamily(
            "azjobs_exporter", "The azjobs version, and where it reads the jobs (vault or fleet)."
        )
        info.add_metric([], {"version": __version__, "source": health.source})
        yield info
        yield _gauge(
            "azjobs_exporter_last_refresh_timestamp_seconds",
            "When the last refresh from Azure ended.",
            health.refreshed_at,
        )
        yield _gauge(
            "azjobs_exporter_last_refresh_success",
            "Whether the last refresh from Azure succeeded (1) or failed (0).",
            1.0 if health.ok else 0.0,
        )
        yield _gauge(
            "azjobs_exporter_refresh_duration_seconds",
            "How long the last refresh from Azure took.",
            health.duration,
        )
        age = self.now - health.data_at if health.data_at is not None else None
        yield _gauge(
            "azjobs_exporter_data_age_seconds",
            "How old the job data served is (the time since its refresh began).",
            max(age, 0.0) if age is not None else None,
        )
        if self.snapshot is not None:
            yield _gauge(
                "azjobs_exporter_window_seconds",
                "The length of the window whose jobs are counted (--since).",
                self.snapshot.window_seconds,
            )
            yield _gauge(
                "azjobs_exporter_unreadable_jobs",
                "Jobs of the last refresh that could not be read, and are not counted.",
                float(self.snapshot.unreadable),
            )
        yield _counted(
            "azjobs_exporter_refreshes",
            "Refreshes from Azure, by result.",
            "result",
            {"success": health.successes, "failure": health.failures},
        )
        yield _counted(
            "azjobs_exporter_azure_requests",
            "HTTP requests sent to Azure, by class of answer (error: no answer at all).",
            "class",
            {**dict.fromkeys(REQUEST_CLASSES, 0), **health.requests},
            ordered=True,
        )
        yield _counted(
            "azjobs_exporter_throttles",
            "Times Azure throttled the exporter: 429 answers, and waits for the Resource Graph "
            "quota to reset.",
            "kind",
            {**dict.fromkeys(THROTTLE_KINDS, 0), **health.throttles},
            ordered=True,
        )


def _counted(
    name: str, documentation: str, label: str, counts: dict[str, int], *, ordered: bool = False
) -> CounterMetricFamily:
    """A counter with one label; ``ordered``: its samples sorted by label value."""
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value in sorted(counts) if ordered else counts:
        family.add_metric([value], counts[value])
    return family


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    """A gauge without labels; no sample when the value is not known yet."""
    family = GaugeMetricFamily(name, documentation)
    if value is not None:
        family.add_metric([], value)
    return family


# ----- exposition ---------------------------------------------------------------------------------
def encoder_for(fmt: str | None) -> tuple[Encoder, str]:
    """``--format``: the encoder and content type prometheus-client gives for it."""
    name = (fmt or DEFAULT_FORMAT).strip().lower()
    if name not in _ACCEPT:
        shown = sanitize(fmt, 40) or "(empty)"
        raise UsageError(f"--format: unknown format {shown!r}; use one of: {', '.join(FORMATS)}")
    return choose_encoder(_ACCEPT[name])


def encoder_for_accept(accept: str | None) -> tuple[Encoder, str]:
    """A scrape's ``Accept`` header, negotiated as prometheus-client's own handler does."""
    return choose_encoder(accept or "")


class _Family(Collector):
    """One family, rendered on its own: the library builds each exposition in memory whole,
    so 80,000 samples at once would cost their text four times over."""

    def __init__(self, family: Metric) -> None:
        self.family = family

    def collect(self) -> Iterator[Metric]:
        yield self.family


def _without_eof(text: bytes) -> bytes:
    return text[: -len(_EOF)] if text.endswith(_EOF) else text


class Exposition:
    """A snapshot's exposition: the jobs families rendered once per content type and kept (one
    chunk per family, and gzipped on demand), the health families rendered at each call. Safe
    to share between threads."""

    def __init__(self, snapshot: JobsSnapshot | None) -> None:
        self.snapshot = snapshot
        self._lock = threading.Lock()
        self._encoders: dict[str, Encoder] = {}
        self._plain: dict[str, tuple[bytes, ...]] = {}
        self._gzipped: dict[str, bytes] = {}

    def jobs_part(
        self, encoder: Encoder, content_type: str, *, gzipped: bool = False
    ) -> tuple[bytes, ...]:
        """The jobs families in this content type, without an OpenMetrics EOF (nothing before
        the first refresh). Rendered on first use, then kept."""
        if self.snapshot is None:
            return ()
        with self._lock:
            plain = self._plain.get(content_type)
            if plain is None:
                plain = tuple(
                    _without_eof(encoder(_Family(family)))
                    for family in JobsCollector(self.snapshot).collect()
                )
                self._plain[content_type] = plain
                self._encoders[content_type] = encoder
            if not gzipped:
                return plain
            packed = self._gzipped.get(content_type)
            if packed is None:
                packed = self._gzipped[content_type] = _gzip(plain)
            return (packed,)

    def asked(self) -> list[tuple[Encoder, str, bool]]:
        """What this exposition was rendered as: (encoder, content type, gzipped too)."""
        with self._lock:
            return [(enc, ct, ct in self._gzipped) for ct, enc in self._encoders.items()]

    def warm(self, asked: Iterable[tuple[Encoder, str, bool]]) -> None:
        """Render ahead (in the refresher, before publishing) what scrapers asked of the previous
        snapshot, so that their next scrape finds it ready."""
        for encoder, content_type, gzipped in asked:
            self.jobs_part(encoder, content_type, gzipped=gzipped)

    def chunks(
        self,
        encoder: Encoder,
        content_type: str,
        health: ExporterHealth,
        now: float,
        *,
        gzipped: bool = False,
    ) -> list[bytes]:
        """The whole exposition, in chunks to write one after the other (never joined: the jobs
        part of 20,000 items is some 14 MB): the kept jobs part and the health of this moment.

        Gzipped, it is two gzip members one after the other, which every gzip reader reads
        as one stream (RFC 1952): the big one compressed once per snapshot.
        """
        jobs = self.jobs_part(encoder, content_type, gzipped=gzipped)
        tail = encoder(HealthCollector(health, now, self.snapshot))
        return [*jobs, gzip.compress(tail, mtime=0) if gzipped else tail]

    def render(
        self,
        encoder: Encoder,
        content_type: str,
        health: ExporterHealth,
        now: float,
        *,
        gzipped: bool = False,
    ) -> bytes:
        """``chunks``, joined."""
        return b"".join(self.chunks(encoder, content_type, health, now, gzipped=gzipped))


def _gzip(chunks: Iterable[bytes]) -> bytes:
    """One gzip member of the chunks, compressed as a stream (no joined copy of them)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: the gzip container
    out = [packer.compress(chunk) for chunk in chunks]
    out.append(packer.flush())
    return b"".join(out)
