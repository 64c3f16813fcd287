"""Starting the emulator in-process, and the handle tests and the demo drive it with.

The handle is how a test arranges the world without real waiting: add jobs with a given
timeline (in any subscription, group or vault), trigger and cancel like a client would, jump the
emulated clock forward, turn faults on, and count what clients sent through the request log.
"""

from __future__ import annotations

import ipaddress
import math
import random
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from .clock import EmulatedClock
from .core import Emulator, TriggerTimeline
from .crr_seed import seed_dpp_crr, seed_rs_crr
from .defaults import (
    DEFAULT_API_VERSION,
    DEFAULT_BACKUP_VAULT,
    DEFAULT_IDENTITY_HEADER,
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_SUBSCRIPTION,
    DEFAULT_TENANT,
    DEFAULT_TOKEN,
    DEFAULT_VAULT,
    DEMO_DISK_GB,
    DEMO_SNAPSHOT_SECONDS,
    DEMO_TRANSFER_SECONDS,
    DEMO_VM,
)
from .dpp_handle import BackupVaultHandle, Where
from .dpp_service import BackupVaultService
from .factory import ErrorSpec, TaskSpec, as_task, build_job, family
from .faults import FaultPlan, parse_kinds, validate_rate
from .protected_items import seed_items
from .render import job_body
from .replies import ServiceError
from .routes import Router, operation_status_body
from .scenarios import JobScenario, TaskPlan, job_state, natural_end
from .seed import SEED_VMS, SeedJob, describe, seed_jobs
from .server import EmulatorHTTPServer, RateCounter, RequestLog, RequestRecord, ServerApp
from .state import DPP_CRR, RS_CRR, EmulatorState, VaultState
from .tls import Certificates, generate
from .versions import dialect_for

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,49}$")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def container_name(resource_group: str, vm: str) -> str:
    return f"IaasVMContainer;iaasvmcontainerv2;{resource_group};{vm}"


def protected_item_name(resource_group: str, vm: str) -> str:
    return f"VM;iaasvmcontainerv2;{resource_group};{vm}"


def demo_trigger_path(
    vm: str = DEMO_VM,
    *,
    subscription: str = DEFAULT_SUBSCRIPTION,
    resource_group: str = DEFAULT_RESOURCE_GROUP,
    vault: str = DEFAULT_VAULT,
) -> str:
    """The path to POST (with ``?api-version=...``) to start an on-demand backup of ``vm``.

    ``/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{vault}
    /backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;{rg};{vm}
    /protectedItems/VM;iaasvmcontainerv2;{rg};{vm}/backup`` (the body
    ``{"properties":{"objectType":"IaasVMBackupRequest"}}`` is optional). The answer is 202 with
    ``Azure-AsyncOperation`` (GET it until ``status`` is ``Succeeded``; ``properties.jobId`` is
    the job), ``Location`` and ``Retry-After``. ``vm`` must be a protected VM of the vault:
    :data:`DEMO_VM` and the seed VMs are.
    """
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{vault}/backupFabrics/Azure"
        f"/protectionContainers/{container_name(resource_group, vm)}"
        f"/protectedItems/{protected_item_name(resource_group, vm)}/backup"
    )


@dataclass(frozen=True)
class Options:
    """The validated options of one emulator (the CLI flags, one to one)."""

    host: str
    port: int
    speed: float
    seed: int | None
    faults: float
    fault_kinds: tuple[str, ...]
    page_size: int
    tls: bool
    state_file: Path | None
    token: str
    allow_remote: bool
    seed_data: bool
    log: TextIO | None
    slow_seconds: float
    # The seed Backup vault's name (in the seed resource group); the Recovery Services vault's
    # name makes one name that exists as both kinds.
    backup_vault: str = DEFAULT_BACKUP_VAULT

    @classmethod
    def build(
        cls,
        *,
        host: str,
        port: int,
        speed: float,
        seed: int | None,
        faults: float,
        fault_kinds: str | Iterable[str] | None,
        page_size: int,
        tls: bool,
        state_file: str | Path | None,
        token: str | None,
        allow_remote: bool,
        seed_data: bool,
        log: TextIO | None,
        slow_seconds: float,
        backup_vault: str = DEFAULT_BACKUP_VAULT,
    ) -> Options:
        """Check every option; a bad one raises ValueError with a one-line message."""
        if not isinstance(speed, (int, float)) or not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"speed must be a number greater than 0, not {speed!r}")
        try:
            rate = validate_rate(float(faults))
        except (TypeError, ValueError):
            raise ValueError(f"faults must be a share between 0 and 1, not {faults!r}") from None
        kinds = parse_kinds(fault_kinds)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"page size must be a whole number of at least 1, not {page_size!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {port!r}")
        if not host or not host.strip():
            raise ValueError("host must not be empty")
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"host {host!r} is not a loopback address; the emulator accepts any client that "
                "knows its fixed token, so serving beyond this machine needs --allow-remote"
            )
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("token must be a non-empty string without spaces")
        if slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")
        if not backup_vault or not _NAME_RE.match(backup_vault):
            raise ValueError(
                f"backup vault name {backup_vault!r} must be 2-50 letters, digits or hyphens"
            )
        return cls(
            host=host.strip().strip("[]"),
            port=port,
            speed=float(speed),
            seed=seed,
            faults=rate,
            fault_kinds=kinds,
            page_size=page_size,
            tls=tls,
            state_file=Path(state_file) if state_file is not None else None,
            token=token or DEFAULT_TOKEN,
            allow_remote=allow_remote,
            seed_data=seed_data,
            log=log,
            slow_seconds=slow_seconds,
            backup_vault=backup_vault,
        )


class EmulatorHandle:
    """A running emulator. Stop it with :meth:`stop` or use it as a context manager."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.token = options.token
        self.subscription = DEFAULT_SUBSCRIPTION
        self.tenant = DEFAULT_TENANT
        self.resource_group = DEFAULT_RESOURCE_GROUP
        self.vault = DEFAULT_VAULT
        self.backup_vault = options.backup_vault
        self.identity_header = DEFAULT_IDENTITY_HEADER
        self._state = EmulatorState(options.state_file)
        loaded = self._state.load()
        origin = None
        if loaded and self._state.saved_now is not None:
            # A restart continues the emulated time where it was, never earlier than the wall.
            origin = max(self._state.saved_now, datetime.now(UTC).timestamp())
        self.clock = EmulatedClock(options.speed, origin)
        # Without a seed every run gets new job and operation ids (a client must not come to
        # rely on them); the seed drawn is kept so that a run can be repeated with --seed.
        self.data_seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
        self._data_rng = random.Random(self.data_seed)
        self._core = Emulator(
            clock=self.clock,
            state=self._state,
            rng=self._data_rng,
            page_size=options.page_size,
            timeline=TriggerTimeline(DEMO_SNAPSHOT_SECONDS, DEMO_TRANSFER_SECONDS, DEMO_DISK_GB),
        )
        self._seed: list[JobScenario] = []
        # Backup vaults (Microsoft.DataProtection): tests arrange and inspect them here.
        self.backup_vaults = BackupVaultHandle(
            BackupVaultService(self._core),
            Where(self.subscription, self.resource_group, self.backup_vault),
        )
        if not loaded:
            self._create_default_vault(options.seed_data)
        self._faults = FaultPlan(options.faults, options.fault_kinds, options.seed)
        self._log = RequestLog(options.log)
        self._certs: Certificates | None = generate(options.host) if options.tls else None
        self._router = Router(self._core, token=self.token, identity_header=self.identity_header)
        # Azure Resource Graph over every vault: tests tune page_size, lag, quota, window and
        # management_groups on it.
        self.resource_graph = self._router.resource_graph
        context = self._certs.server_context() if self._certs is not None else None
        try:
            self._server = EmulatorHTTPServer((options.host, options.port), context)
        except BaseException:
            if self._certs is not None:
                self._certs.remove()
            raise
        self.port = int(self._server.server_address[1])
        self._server.app = self._app()
        self._thread = threading.Thread(
            target=self._server.run,
            name=f"azjobs-emulator-{self.port}",
            daemon=True,
        )
        self._stopped = False
        self._stop_lock = threading.Lock()
        self._core.save()
        self._thread.start()

    def _app(self) -> ServerApp:
        return ServerApp(
            router=self._router,
            faults=self._faults,
            log=self._log,
            clock=self.clock,
            base_url=self.url,
            slow_seconds=self.options.slow_seconds,
            tls=self.options.tls,
            rate=RateCounter(),
        )

    def _create_default_vault(self, seed_data: bool) -> None:
        vs = self._state.add_vault(self.subscription, self.resource_group, self.vault)
        for vm in SEED_VMS:
            vs.protected_vms[vm.lower()] = vm
        seed_items(vs)
        if seed_data:
            self._seed = seed_jobs(
                self._data_rng,
                self.clock.now(),
                self.subscription,
                self.resource_group,
                self.vault,
            )
            self._state.add_jobs(self._seed)
        # The Backup vault and the cross-region jobs draw from RNGs of their own, so that they
        # leave the ids and values of the Recovery Services seed (and of every job added
        # later) what they are for the same seed without them.
        bv = self.backup_vaults.create(
            with_jobs=seed_data, rng=random.Random(f"{self.data_seed}:backup-vault")
        )
        if seed_data:
            now = self.clock.now()
            crr_rng = random.Random(f"{self.data_seed}:secondary-region")
            self._state.add_jobs(seed_rs_crr(crr_rng, vs, now))
            self._state.add_jobs(seed_dpp_crr(crr_rng, bv, now))

    # -- addresses ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        scheme = "https" if self.options.tls else "http"
        host = self.options.host
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    @property
    def ca_bundle(self) -> str | None:
        return str(self._certs.ca_file) if self._certs is not None else None

    @property
    def identity_endpoint(self) -> str:
        return f"{self.url}/msi/token"

    @property
    def metadata_url(self) -> str:
        """The list form, which ``ARM_CLOUD_METADATA_URL`` readers (az, Az PowerShell) expect."""
        return f"{self.url}/metadata/endpoints?api-version=2019-05-01"

    def env(self) -> dict[str, str]:
        """The environment that points azjobs at this emulator."""
        values = {
            "AZJOBS_ENDPOINT": self.url,
            "AZJOBS_ACCESS_TOKEN": self.token,
            "AZURE_SUBSCRIPTION_ID": self.subscription,
            "AZJOBS_RESOURCE_GROUP": self.resource_group,
            "AZJOBS_VAULT": self.vault,
        }
        if self.ca_bundle is not None:
            values["REQUESTS_CA_BUNDLE"] = self.ca_bundle
        return values

    def sdk_env(self) -> dict[str, str]:
        """Extra environment for the Azure SDKs and the az CLI (managed identity, cloud)."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "ARM_CLOUD_METADATA_URL": self.metadata_url,
        }

    # -- lifecycle ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop serving, close open connections, write the state file; safe to call twice."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self._server.request_stop()
        self._thread.join(timeout=5)
        self._server.close_connections()
        self._server.server_close()
        self._core.save()
        if self._certs is not None:
            self._certs.remove()

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- time --------------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The emulated time."""
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def advance(self, seconds: float) -> None:
        """Move emulated time forward at once; jobs, operations and throttling follow."""
        self.clock.advance(seconds)

    # -- requests ----------------------------------------------------------------------------------
    @property
    def request_log(self) -> list[RequestRecord]:
        """Every request so far (a copy), oldest first."""
        return self._log.snapshot()

    def clear_request_log(self) -> None:
        self._log.clear()

    def set_faults(self, rate: float, kinds: str | Iterable[str] | None = None) -> None:
        """Change fault injection while running (same RNG: runs stay reproducible)."""
        self._faults.configure(validate_rate(rate), parse_kinds(kinds))

    # -- vaults and jobs ---------------------------------------------------------------------------
    def _where(
        self, subscription: str | None, resource_group: str | None, vault: str | None
    ) -> tuple[str, str, str]:
        return (
            subscription or self.subscription,
            resource_group or self.resource_group,
            vault or self.vault,
        )

    def add_vault(
        self,
        *,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
        vms: Sequence[str] = (),
        location: str | None = None,
    ) -> None:
        """Create a Recovery Services vault (and with it its subscription and resource group)
        with protected VMs, in ``location`` (default westeurope)."""
        sub, rg, name = self._where(subscription, resource_group, vault)
        with self._state.lock:
            vs = self._state.add_vault(sub, rg, name, location=location)
            for vm in vms:
                vs.protected_vms[vm.lower()] = vm
        self._core.save()

    def add_job(
        self,
        *,
        job_type: str = "AzureIaaSVMJob",
        operation: str = "Backup",
        entity: str = "vm1",
        tasks: Sequence[TaskSpec] | None = None,
        outcome: str = "Completed",
        start_offset: float = 0.0,
        duration: float | None = None,
        errors: Sequence[ErrorSpec] | None = None,
        failed_task: int | None = None,
        property_bag: Mapping[str, str | None] | None = None,
        cancellable: bool | None = None,
        cancel_after: float | None = None,
        cancel_seconds: float = 30.0,
        workload_type: str | None = None,
        transfer_gb: float | None = None,
        dynamic_error_message: str | None = None,
        job_id: str | None = None,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> str:
        """Add a job and return its id.

        ``tasks`` are (name, emulated seconds) pairs run in order (default: the job type's usual
        tasks); ``outcome`` is how it ends (Completed, Failed, CompletedWithWarnings), with
        ``errors`` (dicts with code/title/message/recommendations, or a default for the type);
        ``start_offset`` is relative to the emulated now (negative: in the past; positive: the
        job appears later). ``cancel_after`` records a cancel that many seconds after the start,
        for jobs that were cancelled. The vault is created if needed.
        """
        sub, rg, name = self._where(subscription, resource_group, vault)
        start = self.clock.now() + start_offset
        with self._state.lock:
            job = build_job(
                self._data_rng,
                subscription=sub,
                resource_group=rg,
                vault=name,
                job_type=job_type,
                operation=operation,
                entity=entity,
                start=start,
                tasks=tasks,
                outcome=outcome,
                duration=duration,
                errors=errors,
                failed_task=failed_task,
                property_bag=property_bag,
                cancellable=cancellable,
                job_id=job_id,
                workload_type=workload_type,
                transfer_gb=transfer_gb,
                cancel_seconds=cancel_seconds,
                dynamic_error_message=dynamic_error_message,
            )
            if cancel_after is not None:
                job.cancel_at = start + cancel_after
            if family(job_type) == "iaas":
                vs = self._state.add_vault(sub, rg, name)
                vs.protected_vms.setdefault(entity.lower(), entity)
            self._state.add_jobs([job])
        self._core.save()
        return job.job_id

    def add_jobs(
        self,
        n: int,
        *,
        job_type: str = "AzureIaaSVMJob",
        operation: str = "Backup",
        outcomes: Sequence[str] = ("Completed",),
        tasks: Sequence[TaskSpec] = (("Take Snapshot", 20.0), ("Transfer data to vault", 40.0)),
        spread_seconds: float = 23 * 3600.0,
        entity_prefix: str = "vm",
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> list[str]:
        """Add ``n`` finished jobs spread over the last ``spread_seconds`` (newest a minute ago),
        cycling through ``outcomes``. Fast enough for tens of thousands of jobs."""
        if n < 0:
            raise ValueError("n must not be negative")
        sub, rg, name = self._where(subscription, resource_group, vault)
        now = self.clock.now()
        plans = [as_task(t) for t in tasks]
        step = spread_seconds / max(n, 1)
        jobs: list[JobScenario] = []
        with self._state.lock:
            for i in range(n):
                jobs.append(
                    build_job(
                        self._data_rng,
                        subscription=sub,
                        resource_group=rg,
                        vault=name,
                        job_type=job_type,
                        operation=operation,
                        entity=f"{entity_prefix}{i:05d}",
                        start=now - 60.0 - i * step,
                        tasks=[
                            TaskPlan(
                                p.name, p.seconds, p.cancellable, p.total_gb, p.hidden_until_started
                            )
                            for p in plans
                        ],
                        outcome=outcomes[i % len(outcomes)],
                    )
                )
            ids = self._state.add_jobs(jobs)
        self._core.save()
        return ids

    def _vault_state(
        self, subscription: str | None, resource_group: str | None, vault: str | None
    ) -> VaultState:
        sub, rg, name = self._where(subscription, resource_group, vault)
        return self._core.vault(sub, rg, name)

    def trigger_backup(
        self,
        entity: str = DEMO_VM,
        *,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> tuple[str, str]:
        """What POST .../protectedItems/{item}/backup does for a VM; (operation id, job id).

        The job becomes visible TRIGGER_LATENCY_SECONDS later (emulated). A VM whose backup is
        still running raises :class:`ServiceError` (400 UserErrorBackupOperationInProgress)."""
        vs = self._vault_state(subscription, resource_group, vault)
        container = container_name(vs.resource_group, entity)
        item = protected_item_name(vs.resource_group, entity)
        vm = self._core.protected_vm(vs, "Azure", container, item)
        op = self._core.trigger_backup(vs, vm, self.clock.now(), container, item)
        assert op.job_id is not None
        return op.op_id, op.job_id

    def cancel_job(
        self,
        job_id: str,
        *,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> str:
        """What POST .../backupJobs/{id}/cancel does; returns the operation id.

        Raises :class:`~azbackupjobs.emulator.replies.ServiceError` when the service would
        answer 400/404."""
        vs = self._vault_state(subscription, resource_group, vault)
        now = self.clock.now()
        return self._core.cancel(vs, self._core.job(vs, job_id, now), now).op_id

    def job_body(
        self,
        job_id: str,
        *,
        detail: bool = True,
        api_version: str = DEFAULT_API_VERSION,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> dict[str, Any]:
        """The job resource the emulator would send now (GET shape, or list shape)."""
        vs = self._vault_state(subscription, resource_group, vault)
        now = self.clock.now()
        with self._state.lock:
            s = self._core.job(vs, job_id, now)
            return job_body(
                s, job_state(s, now), now, detail=detail, dialect=dialect_for(api_version)
            )

    def job_status(
        self,
        job_id: str,
        *,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> str:
        body = self.job_body(
            job_id,
            detail=False,
            subscription=subscription,
            resource_group=resource_group,
            vault=vault,
        )
        return str(body["properties"]["status"])

    def job_ids(
        self,
        *,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> list[str]:
        """Ids of the vault's jobs in list order (newest first), including not-yet-started ones."""
        vs = self._vault_state(subscription, resource_group, vault)
        with self._state.lock:
            return [job_id for _, job_id in vs.order]

    def operation_body(
        self,
        operation_id: str,
        *,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> dict[str, Any]:
        """The operation-status body (``backupOperations/{id}``) the emulator would send now."""
        vs = self._vault_state(subscription, resource_group, vault)
        return operation_status_body(self._core.operation(vs, operation_id), self.clock.now())

    def expected_end(
        self,
        job_id: str,
        *,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> datetime:
        """When the job ends (or ended): its outcome, or the end of a requested cancel."""
        vs = self._vault_state(subscription, resource_group, vault)
        with self._state.lock:
            s = self._state.find_job(vs, job_id)
            if s is None:
                raise KeyError(job_id)
            end = natural_end(s)
            if s.cancel_at is not None and s.cancel_at < end:
                end = s.cancel_at + s.cancel_seconds
        return datetime.fromtimestamp(end, UTC)

    def crr_job_ids(self, *, backup_vault: bool = False) -> list[str]:
        """Ids of the cross-region-restore jobs of the seed Recovery Services vault (or, with
        ``backup_vault``, of the seed Backup vault), newest first, as the paired region keeps
        them."""
        kind, name = (DPP_CRR, self.backup_vault) if backup_vault else (RS_CRR, self.vault)
        with self._state.lock:
            store = self._state.find_vault(self.subscription, self.resource_group, name, kind)
            return [job_id for _, job_id in store.order] if store is not None else []

    @property
    def seed_jobs(self) -> list[SeedJob]:
        """The seed vault's jobs as they are now (empty after loading a state file)."""
        return describe(self._seed, self.clock.now())


def launch(options: Options) -> EmulatorHandle:
    return EmulatorHandle(options)


__all__ = [
    "EmulatorHandle",
    "Options",
    "ServiceError",
    "container_name",
    "demo_trigger_path",
    "is_loopback",
    "launch",
    "protected_item_name",
]
