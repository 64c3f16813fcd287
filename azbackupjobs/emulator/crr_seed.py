"""The seed cross-region-restore jobs: restores run in the vaults' paired region.

Recovery Services: a VM restore to disks still moving data, one that completed, a SQL
database restore that failed (as recorded: 510011 WorkloadRestoreFailed), and an older one
outside the default window. Backup vault: PostgreSQL restores, running, completed and failed
(with nested errorDetails). They are kept apart from the vaults' own jobs, as the service keeps
them: only the CRR endpoints of the paired region list them.
"""

from __future__ import annotations

import random
from typing import Any, Final

from .dpp_model import DppJobSpec, build_dpp_job, user_facing_error
from .factory import build_job
from .scenarios import FAILED, JobScenario, TaskPlan
from .state import DPP_CRR, RS_CRR, VaultState

MINUTE: Final = 60.0
HOUR: Final = 3600.0

DPP_CRR_FAILURE: Final = user_facing_error(
    "UserErrorDatabaseNameAlreadyInUse",
    "Database name already in use.",
    [
        "Use a different name for the database being restored as a database with the same "
        "name already exists on server."
    ],
    details=[
        user_facing_error(
            "UserErrorDatabaseNameAlreadyInUse",
            "Database name already in use.",
            ["Use a different name for the database being restored."],
            user_error=True,
        )
    ],
    user_error=True,
)


def _vault_bag(vs: VaultState) -> dict[str, str | None]:
    return {
        "Subscription Id of the vault": vs.subscription,
        "Resource Group Name of the vault": vs.resource_group,
        "Vault name": vs.vault,
    }


def seed_rs_crr(rng: random.Random, vs: VaultState, now: float) -> list[JobScenario]:
    """CRR jobs of the Recovery Services vault ``vs`` (not yet added to the state)."""
    where: dict[str, Any] = {
        "subscription": vs.subscription,
        "resource_group": vs.resource_group,
        "vault": vs.vault,
    }
    jobs: list[JobScenario] = []

    def vm_restore(offset: float, entity: str, minutes: float) -> JobScenario:
        job = build_job(
            rng,
            **where,
            operation="CrossRegionRestore",
            entity=entity,
            start=now + offset + rng.random(),
            tasks=[
                TaskPlan(
                    "Transfer data from vault",
                    minutes * MINUTE,
                    cancellable=False,
                    total_gb=127.0,
                )
            ],
        )
        job.bag.update(
            {"Target resource group": f"{vs.resource_group}-secondary", **_vault_bag(vs)}
        )
        job.internal_bag = {"AdHoc": "AdHoc", "restoreLocationType": "RestoreDisks"}
        jobs.append(job)
        return job

    vm_restore(-10 * MINUTE, "web-01", 45)
    vm_restore(-5 * HOUR, "app-02", 38)
    sql = build_job(
        rng,
        **where,
        job_type="AzureWorkloadJob",
        operation="CrossRegionRestore",
        entity="msdb [sql-vm-01]",
        start=now - 8 * HOUR + rng.random(),
        tasks=[TaskPlan("Transfer data from vault", 10.6 * MINUTE)],
        outcome=FAILED,
        errors=[
            {
                "code": 510011,
                "title": "WorkloadRestoreFailed",
                "message": "Restore has failed due to an unknown error.",
                "recommendations": [
                    "Wait for a few minutes and then try the operation again. If the issue "
                    "persists, please contact Microsoft support."
                ],
            }
        ],
    )
    sql.bag = {"Job Type": "Recovery to an alternate database", **_vault_bag(vs)}
    jobs.append(sql)
    vm_restore(-30 * HOUR, "web-02", 31)
    for job in jobs:
        job.collection = RS_CRR
    return jobs


def seed_dpp_crr(rng: random.Random, vs: VaultState, now: float) -> list[JobScenario]:
    """CRR jobs of the Backup vault ``vs``: restores of its PostgreSQL database."""
    instance = next(
        (i for i in vs.items.values() if i["emulator"]["datasource"] == "pgsingle"), None
    )
    if instance is None:
        return []
    info = instance["properties"]["dataSourceInfo"]
    target = info["resourceID"] + "-restored"
    jobs: list[JobScenario] = []
    for offset, spec in (
        (-3 * MINUTE, DppJobSpec(operation="Restore", seconds=5 * MINUTE)),
        (-6 * HOUR, DppJobSpec(operation="Restore", seconds=106.6)),
        (
            -9 * HOUR,
            DppJobSpec(
                operation="Restore", seconds=46.1, outcome=FAILED, error_details=(DPP_CRR_FAILURE,)
            ),
        ),
    ):
        cross = DppJobSpec(
            operation=spec.operation,
            seconds=spec.seconds,
            outcome=spec.outcome,
            error_details=spec.error_details,
            cross_region=True,
            restore_target=target,
        )
        jobs.append(
            build_dpp_job(
                rng,
                vs,
                instance=instance,
                start=now + offset + rng.random(),
                spec=cross,
                collection=DPP_CRR,
            )
        )
    return jobs
