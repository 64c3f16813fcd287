"""The api-versions of Microsoft.DataProtection (Backup vaults), and what each changes.

The job payload drifted with service deployments more than with api-versions; the emulator ties
each recorded spelling to the versions it was recorded with: 2021-01-01 leaves null keys out,
2021-07-01 to 2022-04-01 write ``dataTransferedInBytes`` (one r), later versions
``dataTransferredInBytes``; ``sourceDataStoreType`` and ``isCrossRegionRestore`` appear from
2023 and ``warningDetails`` from 2023-11-01. ``azure-mgmt-dataprotection`` 2.x sends 2026-06-01.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .api_versions import ApiVersions

STABLE_VERSIONS: Final = (
    "2026-06-01", "2026-03-01", "2025-09-01", "2025-07-01", "2025-02-01", "2025-01-01",
    "2024-04-01", "2024-03-01", "2023-12-01", "2023-11-01", "2023-05-01", "2023-01-01",
    "2022-12-01", "2022-05-01", "2022-04-01", "2022-03-01", "2022-01-01", "2021-07-01",
    "2021-01-01",
)  # fmt: skip
PREVIEW_VERSIONS: Final = (
    "2026-08-31-preview", "2025-09-01-preview", "2024-02-01-preview", "2023-08-01-preview",
    "2023-06-01-preview", "2022-11-01-preview", "2022-10-01-preview", "2022-09-01-preview",
    "2022-02-01-preview", "2021-10-01-preview", "2021-06-01-preview", "2021-02-01-preview",
)  # fmt: skip
SUPPORTED_VERSIONS: Final = STABLE_VERSIONS + PREVIEW_VERSIONS
BACKUP_VAULTS: Final = ApiVersions(SUPPORTED_VERSIONS)
DEFAULT_VERSION: Final = "2026-06-01"


@dataclass(frozen=True)
class DppDialect:
    """What an api-version changes in a Backup vault job body."""

    omit_nulls: bool
    misspelt_transfer: bool
    store_type_and_crr_keys: bool
    warning_details: bool
    sentinel_z: bool


def dialect_for(api_version: str) -> DppDialect:
    day = api_version.strip()[:10]
    return DppDialect(
        omit_nulls=day < "2021-07-01",
        misspelt_transfer="2021-07-01" <= day < "2022-05-01",
        store_type_and_crr_keys=day >= "2023-01-01",
        warning_details=day >= "2023-11-01",
        sentinel_z=day >= "2021-07-01",
    )
