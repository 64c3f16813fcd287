"""What tests (and the banner) use to arrange and inspect Backup vaults, as ``emu.backup_vaults``.

It goes through the same service code as the HTTP routes, so a backup triggered here obeys the
same policy checks as one triggered over HTTP.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from . import dpp_versions
from .core import Emulator
from .dpp_model import DATASOURCES, DppJobSpec, build_dpp_job, protect, vault_id
from .dpp_render import Shape, dpp_job_body
from .dpp_seed import seed_backup_vault
from .dpp_service import BackupVaultService
from .scenarios import COMPLETED, FAILED, JobScenario, job_state
from .state import BACKUP_VAULT, VaultState


@dataclass(frozen=True)
class Where:
    subscription: str
    resource_group: str
    vault: str


class BackupVaultHandle:
    """Backup vaults of a running emulator; ``vault`` arguments default to the seed vault."""

    def __init__(self, service: BackupVaultService, default: Where) -> None:
        self.service = service
        self.default = default
        self.seed_jobs: list[JobScenario] = []

    @property
    def name(self) -> str:
        return self.default.vault

    # -- the job list ----------------------------------------------------------------------------
    @property
    def page_size(self) -> int | None:
        """Jobs per page of a Backup vault's job list (None: the emulator's page size)."""
        return self._emulator().backup_vault_page_size

    @page_size.setter
    def page_size(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or value < 1):
            raise ValueError(f"page size must be a whole number of at least 1, not {value!r}")
        self._emulator().backup_vault_page_size = value

    @property
    def oldest_first(self) -> bool:
        """List jobs oldest first, as the recorded lists of the real service do."""
        return self._emulator().backup_vault_oldest_first

    @oldest_first.setter
    def oldest_first(self, value: bool) -> None:
        self._emulator().backup_vault_oldest_first = value

    def _emulator(self) -> Emulator:
        return self.service.emulator

    def _vs(self, vault: str | None, resource_group: str | None) -> VaultState:
        d = self.default
        return self.service.vault(
            d.subscription, resource_group or d.resource_group, vault or d.vault
        )

    # -- arranging -------------------------------------------------------------------------------
    def create(
        self,
        vault: str | None = None,
        *,
        resource_group: str | None = None,
        subscription: str | None = None,
        location: str | None = None,
        seed: bool = True,
        with_jobs: bool = True,
        rng: random.Random | None = None,
    ) -> VaultState:
        """Create a Backup vault (with the seed instances, policies and, optionally, jobs),
        drawing from ``rng`` (default: the emulator's RNG)."""
        d = self.default
        emulator = self._emulator()
        state = emulator.state
        with state.lock:
            vs: VaultState = state.add_vault(
                subscription or d.subscription,
                resource_group or d.resource_group,
                vault or d.vault,
                BACKUP_VAULT,
                location,
            )
            if seed:
                with emulator.rng_lock:
                    jobs = seed_backup_vault(
                        rng or emulator.rng, vs, emulator.now(), with_jobs=with_jobs
                    )
                state.add_jobs(jobs)
                if vs.vault == d.vault and vs.resource_group == d.resource_group:
                    self.seed_jobs = jobs
        emulator.save()
        return vs

    def add_instance(
        self,
        datasource: str,
        name: str,
        *,
        source_group: str = "demo-rg",
        set_name: str | None = None,
        vault: str | None = None,
        resource_group: str | None = None,
    ) -> str:
        """Protect one more datasource (``disk``, ``blob``, ``aks``, ``pgflex``, ``pgsingle``,
        ``mysql``, ``adls``); returns the backup instance's name."""
        vs = self._vs(vault, resource_group)
        emulator = self._emulator()
        with emulator.state.lock, emulator.rng_lock:
            instance = protect(
                emulator.rng,
                vs,
                DATASOURCES[datasource],
                name=name,
                source_group=source_group,
                set_name=set_name,
            )
        emulator.save()
        return str(instance["name"])

    def add_job(
        self,
        instance: str,
        spec: DppJobSpec | None = None,
        *,
        start_offset: float = 0.0,
        vault: str | None = None,
        resource_group: str | None = None,
    ) -> str:
        """Add a job of ``instance`` starting ``start_offset`` seconds from now; its id."""
        vs = self._vs(vault, resource_group)
        emulator = self._emulator()
        with emulator.state.lock:
            found = self.service.instance(vs, instance)
            with emulator.rng_lock:
                job = build_dpp_job(
                    emulator.rng,
                    vs,
                    instance=found,
                    start=emulator.now() + start_offset,
                    spec=spec or DppJobSpec(),
                )
            emulator.state.add_jobs([job])
        emulator.save()
        return job.job_id

    def add_jobs(
        self,
        n: int,
        instance: str,
        *,
        vault: str | None = None,
        spacing: float = 60.0,
        failed_every: int = 0,
    ) -> list[str]:
        """``n`` finished scheduled backups of ``instance``, ``spacing`` seconds apart, newest
        ``spacing`` seconds ago; with ``failed_every`` N, every Nth of them failed."""
        return [
            self.add_job(
                instance,
                DppJobSpec(
                    seconds=30.0,
                    user_triggered=False,
                    supported_actions=(),
                    outcome=FAILED if failed_every and (i + 1) % failed_every == 0 else COMPLETED,
                ),
                start_offset=-spacing * (i + 1),
                vault=vault,
            )
            for i in range(n)
        ]

    # -- inspecting ------------------------------------------------------------------------------
    def job_ids(self, vault: str | None = None, resource_group: str | None = None) -> list[str]:
        """Ids in list order (newest first), including jobs that have not started yet."""
        vs = self._vs(vault, resource_group)
        with self._emulator().state.lock:
            return [job_id for _, job_id in vs.order]

    def instances(self, vault: str | None = None) -> dict[str, str]:
        """Friendly name -> backup instance name."""
        vs = self._vs(vault, None)
        return {i["properties"]["friendlyName"]: i["name"] for i in vs.items.values()}

    def job_body(
        self,
        job_id: str,
        *,
        shape: Shape = "get",
        api_version: str = dpp_versions.DEFAULT_VERSION,
        vault: str | None = None,
    ) -> dict[str, Any]:
        vs = self._vs(vault, None)
        now = self._emulator().now()
        with self._emulator().state.lock:
            s = self.service.job(vs, job_id, now)
            return dpp_job_body(
                s, job_state(s, now), shape=shape, dialect=dpp_versions.dialect_for(api_version)
            )

    def trigger_path(self, friendly: str, *, vault: str | None = None) -> str:
        """The path to POST (with ``?api-version=...`` and a ``backupRuleOptions`` body) to
        back up the instance named ``friendly`` now: the answer is 202 with an
        ``Azure-AsyncOperation`` whose ``properties.jobId`` is the job (``azjobs demo``)."""
        vs = self._vs(vault, None)
        name = self.instances(vault)[friendly]
        vault_path = vault_id(vs.subscription, vs.resource_group, vs.vault)
        return f"{vault_path}/backupInstances/{name}/backup"

    def trigger_backup(
        self, instance: str, rule: str, tag: str | None = None, *, vault: str | None = None
    ) -> tuple[str, str]:
        """What POST .../backupInstances/{bi}/backup does; (operation id, job id)."""
        vs = self._vs(vault, None)
        found = self.service.instance(vs, instance)
        body: dict[str, Any] = {"backupRuleOptions": {"ruleName": rule}}
        if tag is not None:
            body["backupRuleOptions"]["triggerOption"] = {"retentionTagOverride": tag}
        checked = self.service.check_backup_request(vs, found, body)
        op = self.service.trigger_backup(vs, found, checked, self._emulator().now())
        assert op.job_id is not None
        return op.op_id, op.job_id
