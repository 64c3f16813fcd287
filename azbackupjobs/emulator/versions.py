"""The api-versions the emulator accepts, and what each changes in the payloads.

Real clients send many versions against the same paths (the official SDK 2026-10-01, the az CLI
2026-08-01, documentation 2016-12-01..2019-05-13, service-built URLs 2017-07-01 or the
``2019-05-13-preview`` of Azure-AsyncOperation headers); the jobs payload is the same across them
except for two details reproduced here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .api_versions import ApiVersions

STABLE_VERSIONS: Final = (
    "2026-10-01", "2026-08-01", "2026-02-01", "2026-01-01", "2025-08-01", "2025-02-01",
    "2025-01-01", "2024-10-01", "2024-04-01", "2024-02-01", "2024-01-01", "2023-08-01",
    "2023-06-01", "2023-04-01", "2023-02-01", "2023-01-01", "2022-10-01", "2022-04-01",
    "2022-03-01", "2022-02-01", "2022-01-01", "2021-12-01", "2021-10-01", "2021-08-01",
    "2021-07-01", "2021-06-01", "2021-04-01", "2021-03-01", "2021-02-10", "2021-02-01",
    "2021-01-01", "2020-12-01", "2020-10-01", "2020-07-01", "2020-02-02", "2019-06-15",
    "2019-05-13", "2017-07-01", "2016-12-01",
)  # fmt: skip
# The Cross-Region-Restore ("passive stamp") versions.
PASSIVE_STAMP_VERSIONS: Final = ("2023-01-15", "2021-11-15", "2018-12-20")
PREVIEW_VERSIONS: Final = (
    "2026-03-31-preview", "2026-01-31-preview", "2025-02-28-preview", "2024-11-01-preview",
    "2024-07-30-preview", "2024-04-30-preview", "2022-09-30-preview", "2022-09-01-preview",
    "2022-06-01-preview", "2021-02-01-preview", "2019-05-13-preview",
)  # fmt: skip
SUPPORTED_VERSIONS: Final = STABLE_VERSIONS + PASSIVE_STAMP_VERSIONS + PREVIEW_VERSIONS
RECOVERY_SERVICES: Final = ApiVersions(SUPPORTED_VERSIONS)
is_supported: Final = RECOVERY_SERVICES.is_supported
supported_list: Final = RECOVERY_SERVICES.supported_list

# The service writes this fixed old preview version into the Azure-AsyncOperation URL of a cancel.
CANCEL_ASYNC_OPERATION_VERSION: Final = "2019-05-13-preview"


@dataclass(frozen=True)
class Dialect:
    """What an api-version changes in a job body."""

    timespan_durations: bool
    numeric_actions: bool


def dialect_for(api_version: str) -> Dialect:
    """Durations are .NET TimeSpans before 2017-07-01; ``actionsInfo`` is ``[1]`` before 2023-02-01.

    The 2021-11-15 passive-stamp version already sent ``["Cancellable"]``.
    """
    day = api_version.strip()[:10]
    return Dialect(
        timespan_durations=day < "2017-07-01",
        numeric_actions=day < "2023-02-01" and day != "2021-11-15",
    )
