"""Default names and numbers of the emulator.

They live in one module so that the CLI, the demo, the tests and the README all point at the same
vault; ``azbackupjobs.emulator`` re-exports them.
"""

from __future__ import annotations

from typing import Final

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8765
DEFAULT_SPEED: Final = 1.0
# Real pages hold up to a few hundred jobs; a small page makes paging visible with the seed vault.
DEFAULT_PAGE_SIZE: Final = 20
DEFAULT_TOKEN: Final = "azjobs-emulator-token"  # noqa: S105 (a fixed, public test token)
# The secret App Service passes to its managed-identity endpoint; clients echo it in a header.
DEFAULT_IDENTITY_HEADER: Final = "azjobs-emulator-identity"
DEFAULT_SUBSCRIPTION: Final = "6d2f5a8e-1c4b-4f3a-9e7d-2b8c0a1f3e59"
# The directory (Azure AD tenant) the subscriptions, Resource Graph rows and issued tokens name.
DEFAULT_TENANT: Final = "4a1e6c2b-8d3f-4b7a-9e5c-1f2d3c4b5a69"
DEFAULT_RESOURCE_GROUP: Final = "demo-rg"
DEFAULT_VAULT: Final = "demo-vault"
# The seed Backup vault (Microsoft.DataProtection), in the same resource group.
DEFAULT_BACKUP_VAULT: Final = "demo-bvault"
DEFAULT_LOCATION: Final = "westeurope"

# The api-version the emulator writes into URLs it builds when the request carried none.
DEFAULT_API_VERSION: Final = "2026-10-01"

FAULT_KINDS: Final = ("429", "500", "503", "reset", "slow", "truncated")
# How long a "slow" fault holds the answer back, in real seconds.
DEFAULT_SLOW_SECONDS: Final = 3.0

# Retry-After the service sends, in service (emulated) seconds; divided by --speed on the wire.
RETRY_AFTER_ACCEPTED: Final = 60
RETRY_AFTER_THROTTLED: Final = 10

# The demo: a VM whose on-demand backup takes about 23 minutes of emulated time, i.e. about
# 23 seconds of real time at DEMO_SPEED.
DEMO_VM: Final = "demo-vm"
DEMO_SPEED: Final = 60.0
DEMO_DISK_GB: Final = 127.0
DEMO_SNAPSHOT_SECONDS: Final = 180.0
DEMO_TRANSFER_SECONDS: Final = 1200.0
# The demo's Backup vault job: an ad-hoc backup of a disk the demo protects first (the seed's
# disk is being backed up as the emulator starts, and a second backup would be refused), by its
# policy's backup rule (216 emulated seconds, a few real seconds at DEMO_SPEED).
DEMO_DISK: Final = "demo-disk"
DEMO_DISK_RULE: Final = "BackupHourly"
