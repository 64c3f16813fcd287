"""The seed vault: one job of every type in every status, placed relative to the start time.

Start times are offsets from the emulator's start, so the default 24-hour list window shows them
(two jobs are older, to give the window something to exclude). Running jobs keep running: with
``--speed 60`` the in-progress ones end within a minute or two. The data is drawn from a seeded
RNG, so the same ``--seed`` gives the same job ids and values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .defaults import DEMO_VM
from .factory import build_job
from .scenarios import (
    COMPLETED_WITH_WARNINGS,
    FAILED,
    ErrorInfo,
    JobScenario,
    TaskPlan,
    job_state,
)

MINUTE = 60.0
HOUR = 3600.0

# VMs of the seed vault that can be backed up through the trigger route (DEMO_VM among them).
SEED_VMS = (DEMO_VM, "web-01", "web-02", "app-01", "app-02", "db-01", "build-agent", "test-vm")


@dataclass(frozen=True)
class SeedJob:
    """A seed job in one line, for the server banner and the tests."""

    job_id: str
    job_type: str
    operation: str
    status: str
    entity: str


def seed_jobs(
    rng: random.Random, now: float, subscription: str, resource_group: str, vault: str
) -> list[JobScenario]:
    """The seed vault's jobs at emulated time ``now``."""
    where: dict[str, Any] = {
        "subscription": subscription,
        "resource_group": resource_group,
        "vault": vault,
    }

    def at(offset: float) -> float:
        # Real start times have 7 fractional digits.
        return now + offset + rng.random()

    jobs: list[JobScenario] = []

    def add(offset: float, **kwargs: Any) -> JobScenario:
        job = build_job(rng, start=at(offset), **where, **kwargs)
        jobs.append(job)
        return job

    def vm_backup(
        offset: float, entity: str, snapshot: float, transfer: float, **kwargs: Any
    ) -> JobScenario:
        """A VM backup whose snapshot and transfer take that many seconds."""
        tasks = [("Take Snapshot", snapshot), ("Transfer data to vault", transfer)]
        return add(offset, entity=entity, tasks=tasks, **kwargs)

    # -- AzureIaaSVMJob backups --------------------------------------------------------------
    # Running, in the snapshot phase: cancellable.
    vm_backup(-4 * MINUTE, "web-01", 9 * MINUTE, 31 * MINUTE)
    # Running, in the transfer phase: cancellable (a cancel now ends CompletedWithWarnings).
    vm_backup(-25 * MINUTE, "app-01", 7.5 * MINUTE, 38 * MINUTE)
    # Cancelling (cancelled during the snapshot; becomes Cancelled a few minutes after start).
    cancelling = vm_backup(-3 * MINUTE, "db-01", 8 * MINUTE, 30 * MINUTE, cancel_seconds=5 * MINUTE)
    cancelling.cancel_at = now - 20.0
    vm_backup(-3 * HOUR, "web-02", 6.2 * MINUTE, 29 * MINUTE)
    # Failed at once: the VM is gone.
    vm_backup(-5 * HOUR, "old-vm", 1.6, 20 * MINUTE, outcome=FAILED, failed_task=0)
    # Cancelled during the transfer: the recorded CompletedWithWarnings shape (error 400158).
    cwd = vm_backup(-6 * HOUR, "build-agent", 5.1 * MINUTE, 40 * MINUTE)
    cwd.cancel_at = cwd.start + 9 * MINUTE + rng.random() * 10
    # Cancelled during the snapshot: status Cancelled, every task Cancelled.
    cancelled = vm_backup(
        -8 * HOUR, "test-vm", 8 * MINUTE, 30 * MINUTE, cancel_seconds=2.5 * MINUTE
    )
    cancelled.cancel_at = cancelled.start + 20.0 + rng.random()
    # Yesterday's scheduled backup of the demo VM (none of it is running: the demo can start one).
    vm_backup(-22 * HOUR, DEMO_VM, 4.3 * MINUTE, 21 * MINUTE, transfer_gb=None)

    # -- AzureIaaSVMJob restores -------------------------------------------------------------
    # Running, moving data: progressPercentage grows; not cancellable in this phase.
    add(
        -20 * MINUTE,
        entity="app-02",
        operation="Restore",
        tasks=[
            TaskPlan(
                "Transfer data from vault",
                70 * MINUTE,
                cancellable=False,
                total_gb=127.0,
                hidden_until_started=True,
            )
        ],
    )
    restore_ok = add(-10 * HOUR, entity="web-01", operation="Restore")
    restore_ok.tasks.append(
        TaskPlan("Create the restored virtual machine", 95.0, hidden_until_started=True)
    )
    restore_ok.bag["Job Type"] = "Recover VM to an alternate location"
    restore_ok.internal_bag = {"restoreLocationType": "AlternateLocation"}
    add(-12 * HOUR, entity="app-02", operation="Restore", outcome=FAILED)
    add(-14 * HOUR, entity="new-vm", operation="ConfigureBackup", duration=30.7342773)

    # -- AzureIaaSVMJobV2 ----------------------------------------------------------------------
    vm_backup(-16 * HOUR, "legacy-vm", 7 * MINUTE, 34 * MINUTE, job_type="AzureIaaSVMJobV2")

    # -- AzureWorkloadJob (SQL, SAP HANA) ------------------------------------------------------
    add(
        -2 * MINUTE,
        job_type="AzureWorkloadJob",
        operation="Backup (Full)",
        entity="msdb [sql-vm-01]",
        tasks=[("Transfer data to vault", 7 * MINUTE)],
    )
    add(
        -4 * HOUR,
        job_type="AzureWorkloadJob",
        operation="Backup (Full)",
        entity="salesdb [sql-vm-01]",
    )
    add(
        -7 * HOUR,
        job_type="AzureWorkloadJob",
        operation="Backup (Full)",
        entity="SYSTEMDB [hana-01]",
        workload_type="SAPHanaDatabase",
    )
    add(
        -9 * HOUR,
        job_type="AzureWorkloadJob",
        operation="Restore (Invalid)",
        entity="SYSTEMDB [hana-01]",
        workload_type="SAPHanaDatabase",
        outcome=FAILED,
        dynamic_error_message=(
            "[HanaHelper]: Src and Target are incompatible containers SDC/SystemDB"
        ),
    )

    # -- AzureStorageJob (Azure Files) -------------------------------------------------------
    add(
        -30.0,
        job_type="AzureStorageJob",
        entity="finance-share",
        tasks=[TaskPlan("Take Snapshot", 4 * MINUTE, hidden_until_started=True)],
    )
    add(-2 * HOUR, job_type="AzureStorageJob", entity="finance-share")
    add(
        -11 * HOUR,
        job_type="AzureStorageJob",
        operation="Restore",
        entity="hr-share",
        outcome=FAILED,
    )

    # -- MabJob, DpmJob (on-premises agents report finished jobs only) ------------------------
    add(-13 * HOUR, job_type="MabJob", entity="fileserver01")
    add(-15 * HOUR, job_type="MabJob", entity="laptop-042", outcome=FAILED)
    add(-17 * HOUR, job_type="DpmJob", entity="sql01.contoso.local")
    add(
        -18 * HOUR,
        job_type="DpmJob",
        entity="exchange01.contoso.local",
        workload_type="Exchange",
        outcome=COMPLETED_WITH_WARNINGS,
        errors=[
            ErrorInfo(
                None,
                None,
                "Some items of the data source were skipped.",
                ["Check the skipped items list on the DPM server."],
            )
        ],
    )

    # -- VaultJob ------------------------------------------------------------------------------
    add(-20 * HOUR, job_type="VaultJob", operation="UpdateCustomerManagedKey", entity=vault)

    # -- Outside the default 24-hour window ----------------------------------------------------
    vm_backup(-30 * HOUR, "web-02", 5 * MINUTE, 27 * MINUTE, legacy_id_casing=True)
    add(-3 * 24 * HOUR, entity="web-01", operation="DeleteBackupData", duration=112.683188)
    return jobs


def describe(jobs: list[JobScenario], now: float) -> list[SeedJob]:
    """One line per seed job: its id, type, operation and status at ``now``."""
    return [
        SeedJob(j.job_id, j.job_type, j.operation, job_state(j, now).status, j.entity) for j in jobs
    ]
