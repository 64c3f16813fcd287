"""The seed Backup vault: one backup instance per datasource kind, their policies, and jobs.

Jobs cover every datasource kind, backups and restores, scheduled and on-demand, running,
completed and failed (a PostgreSQL flexible server backup with the recorded three-level nested
errorDetails, a disk restore refused by the target), plus two jobs that speak like the spec
examples (``Started``/``Succeeded``). Start times are offsets from the emulator's start; the
running ones end within minutes of emulated time.
"""

from __future__ import annotations

import random
from typing import Any, Final

from .dpp_model import (
    DATASOURCES,
    SPEC_WORDS,
    DppJobSpec,
    build_dpp_job,
    protect,
    user_facing_error,
)
from .scenarios import FAILED, JobScenario
from .state import VaultState

MINUTE: Final = 60.0
HOUR: Final = 3600.0
# The seed instances: (datasource kind, datasource name, source resource group, set name).
SEED_INSTANCES: Final = (
    ("disk", "data-disk-01", "demo-rg", None),
    ("blob", "demoblobsa", "demo-rg", None),
    ("aks", "aks-prod", "aks-rg", "aks-prod"),
    ("pgflex", "pgflex-orders", "db-rg", None),
    ("pgsingle", "postgres", "db-rg", "pg-legacy"),
    ("mysql", "mysql-shop", "db-rg", None),
    ("adls", "datalakesa", "demo-rg", "datalakesa"),
)

PGFLEX_FAILURE: Final = user_facing_error(
    "PostgreSQLFlexServerError",
    "Current operation has failed due to server error.",
    [
        "Refer https://aka.ms/DBforPostgreSQLFlexTroubleshoot for more details on innerError "
        "and take suggested steps to fix the issue. If the issue persists, contact Microsoft "
        "support."
    ],
    details=[
        user_facing_error(
            "PostgreSQLFlexServerError",
            "Current operation has failed due to server error.",
            [
                "Refer https://aka.ms/DBforPostgreSQLFlexTroubleshoot for more details on "
                "innerError and take suggested steps to fix the issue. If the issue persists, "
                "contact Microsoft support."
            ],
            details=[
                user_facing_error(
                    "InternalServerError",
                    "Internal Server Error",
                    ["Refer https://aka.ms/AzureBackupTroubleshootFailures for more details."],
                )
            ],
            inner={
                "code": "NoInnerErrorFrom1PException",
                "additionalInfo": {
                    "DetailedNonLocalisedMessage": "Service request failed.\r\nStatus: 500 "
                    "(Internal Server Error)\r\n\r\nContent:\r\n"
                    '{"Message":"An error has occurred."}\r\n'
                },
                "embeddedInnerError": None,
            },
        )
    ],
    inner={
        "code": "NoInnerErrorFrom1PException",
        "additionalInfo": {
            "DetailedNonLocalisedMessage": "Service request failed.\r\nStatus: 500 (Internal "
            'Server Error)\r\n\r\nContent:\r\n{"Message":"An error has occurred."}\r\n'
        },
        "embeddedInnerError": None,
    },
)

DISK_RESTORE_FAILURE: Final = user_facing_error(
    "UserErrorDiskAlreadyExists",
    "A disk with the same name already exists in the target resource group.",
    [
        "Choose a different name for the restored disk, or delete the existing disk and retry "
        "the operation."
    ],
    details=[
        user_facing_error(
            "UserErrorDiskAlreadyExists",
            "A disk with the same name already exists in the target resource group.",
            ["Choose a different name for the restored disk."],
            user_error=True,
        )
    ],
    user_error=True,
)


def seed_backup_vault(
    rng: random.Random, vs: VaultState, now: float, *, with_jobs: bool = True
) -> list[JobScenario]:
    """Fill ``vs`` with the seed instances and policies; return the seed jobs (not yet added)."""
    by_kind: dict[str, dict[str, Any]] = {}
    for kind, name, group, set_name in SEED_INSTANCES:
        by_kind[kind] = protect(
            rng, vs, DATASOURCES[kind], name=name, source_group=group, set_name=set_name
        )
    if not with_jobs:
        return []
    jobs: list[JobScenario] = []

    def add(kind: str, offset: float, spec: DppJobSpec) -> None:
        jobs.append(
            build_dpp_job(
                rng,
                vs,
                instance=by_kind[kind],
                start=now + offset + rng.random(),
                spec=spec,
            )
        )

    def target(kind: str, suffix: str) -> str:
        info = by_kind[kind]["properties"]["dataSourceInfo"]
        return f"{info['resourceID']}{suffix}"

    scheduled = DppJobSpec(user_triggered=False, supported_actions=())
    # Running now.
    add("disk", -1 * MINUTE, DppJobSpec(seconds=3.6 * MINUTE, retention_tag="default"))
    add(
        "blob",
        -2 * MINUTE,
        DppJobSpec(operation="Restore", seconds=7 * MINUTE, restore_target=target("blob", "")),
    )
    add(
        "mysql",
        -1.5 * MINUTE,
        DppJobSpec(
            operation="Restore", seconds=5 * MINUTE, restore_target=target("mysql", "-restored")
        ),
    )
    add("pgsingle", -30.0, DppJobSpec(seconds=4 * MINUTE, status_words=SPEC_WORDS))
    # Finished.
    add(
        "pgflex",
        -2 * HOUR,
        DppJobSpec(
            seconds=94.4,
            outcome=FAILED,
            supported_actions=("Cancellable",),
            error_details=(PGFLEX_FAILURE,),
        ),
    )
    add("disk", -3 * HOUR, DppJobSpec(seconds=229.2, user_triggered=False, supported_actions=()))
    add("blob", -5 * HOUR, scheduled)
    add("aks", -6 * HOUR, DppJobSpec(seconds=216.5))
    add(
        "aks",
        -7 * HOUR,
        DppJobSpec(operation="Restore", seconds=219.0, restore_target=target("aks", "")),
    )
    add("mysql", -8 * HOUR, DppJobSpec(seconds=124.5, transferred_bytes=616490449.0))
    add(
        "adls",
        -9 * HOUR,
        DppJobSpec(operation="Restore", seconds=383.2, restore_target=target("adls", "target")),
    )
    add("pgflex", -10 * HOUR, DppJobSpec(seconds=900.0, supported_actions=("Cancellable",)))
    add(
        "pgsingle",
        -12 * HOUR,
        DppJobSpec(seconds=130.0, status_words=SPEC_WORDS, retention_tag="Weekly"),
    )
    add(
        "disk",
        -14 * HOUR,
        DppJobSpec(
            operation="Restore",
            seconds=61.0,
            outcome=FAILED,
            restore_target=target("disk", "-restored"),
            error_details=(DISK_RESTORE_FAILURE,),
        ),
    )
    # Outside the last 24 hours.
    add("disk", -30 * HOUR, DppJobSpec(seconds=231.0, user_triggered=False, supported_actions=()))
    return jobs
