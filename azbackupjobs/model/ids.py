"""Parse and validate job references and the names that go into URL paths.

A job is named by its GUID or by its full ARM id, of either kind of vault; the id may use any
casing the services return (``/Subscriptions/``, ``microsoft.recoveryservices``,
``BackupVaults``). A cross-region restore job's id names the (secondary) region it runs in
instead of a vault. Everything that ends up in a URL path is validated here, before any request
is sent, so that no user input can change the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from azbackupjobs.model.errors import UsageError
from azbackupjobs.model.kinds import VaultKind

# Always use ``fullmatch`` with these: ``$`` also matches before a trailing newline, which would
# let "name\n" into a URL path.
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
GUID_RE = re.compile(rf"^{_GUID}$")
# Resource group names: letters, digits, '_', '-', '.', '(' and ')'; 1-90 chars; not ending in '.'.
RESOURCE_GROUP_RE = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
# Vault names (Recovery Services and Backup vaults alike): 2-50 chars, letters, digits and
# hyphens, starting with a letter.
VAULT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,49}$")
# Azure region names as ARM ids spell them: eastus2euap, centraluseuap, usgovvirginia.
REGION_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,49}$")
_JOB_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/microsoft\.recoveryservices/vaults/(?P<vault>[^/]+)"
    r"/backupjobs/(?P<job>[^/]+)/?$",
    re.IGNORECASE,
)
_BACKUP_VAULT_JOB_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/microsoft\.dataprotection/backupvaults/(?P<vault>[^/]+)"
    r"/backupjobs/(?P<job>[^/]+)/?$",
    re.IGNORECASE,
)
# Cross-region restore jobs live under the secondary region, not under a vault:
# /subscriptions/S/providers/Microsoft.RecoveryServices/locations/REGION/backupJobs/GUID, and
# the same under Microsoft.DataProtection, whose cross-region calls are resource-group scoped.
_SECONDARY_JOB_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)(?:/resourcegroups/(?P<rg>[^/]+))?"
    r"/providers/(?P<provider>microsoft\.recoveryservices|microsoft\.dataprotection)"
    r"/locations/(?P<region>[^/]+)/backupjobs/(?P<job>[^/]+)/?$",
    re.IGNORECASE,
)
_VAULT_KIND_OF_ID_RE = {
    _JOB_ID_RE: VaultKind.RECOVERY_SERVICES,
    _BACKUP_VAULT_JOB_ID_RE: VaultKind.BACKUP,
}
_VAULT_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/(?:microsoft\.recoveryservices/vaults|microsoft\.dataprotection/backupvaults)"
    r"/(?P<vault>[^/]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class JobRef:
    """A job named by the user; the context parts are set only when a full ARM id named them.

    ``vault_kind`` is None when the reference does not say (a bare GUID). A cross-region
    restore job's id names its ``region`` (the secondary one) and no vault: ``secondary``.
    """

    job_id: str
    subscription: str | None = None
    resource_group: str | None = None
    vault: str | None = None
    vault_kind: VaultKind | None = None
    region: str | None = None
    secondary: bool = False


def _printable(value: str) -> str:
    """Echo user input in an error message without letting control characters through."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value)
    return cleaned if len(cleaned) <= 120 else cleaned[:117] + "..."


def validate_guid(value: str, what: str) -> str:
    """Return the GUID in lower case, or refuse it with a usage error naming ``what``."""
    if not GUID_RE.fullmatch(value):
        raise UsageError(
            f"{what} {_printable(value)!r} is not a GUID "
            "(expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
        )
    return value.lower()


def validate_subscription(value: str) -> str:
    return validate_guid(value, "subscription id")


def validate_resource_group(value: str) -> str:
    if not RESOURCE_GROUP_RE.fullmatch(value):
        raise UsageError(
            f"resource group name {_printable(value)!r} is not valid "
            "(1-90 letters, digits, '_', '-', '.', '(' or ')'; not ending in '.')"
        )
    return value


def validate_vault(value: str) -> str:
    if not VAULT_RE.fullmatch(value):
        raise UsageError(
            f"vault name {_printable(value)!r} is not valid "
            "(2-50 letters, digits or '-', starting with a letter)"
        )
    return value


def validate_region(value: str) -> str:
    """Return the region name in lower case (ARM's spelling), or refuse it."""
    if not REGION_RE.fullmatch(value):
        raise UsageError(
            f"region name {_printable(value)!r} is not valid "
            "(2-50 letters and digits, starting with a letter, e.g. westeurope)"
        )
    return value.lower()


def parse_job_ref(value: str) -> JobRef:
    """Read a JOB argument: a job GUID, or the job's full ARM id of either kind of vault, or a
    cross-region restore job's id (which names the secondary region)."""
    text = value.strip()
    if not text.startswith("/"):
        return JobRef(job_id=validate_guid(text, "job id"))
    for pattern, kind in _VAULT_KIND_OF_ID_RE.items():
        match = pattern.fullmatch(text)
        if match:
            return JobRef(
                job_id=validate_guid(match["job"], "job id"),
                subscription=validate_subscription(match["sub"]),
                resource_group=validate_resource_group(match["rg"]),
                vault=validate_vault(match["vault"]),
                vault_kind=kind,
            )
    match = _SECONDARY_JOB_ID_RE.fullmatch(text)
    if match:
        kind = (
            VaultKind.BACKUP
            if match["provider"].lower() == "microsoft.dataprotection"
            else VaultKind.RECOVERY_SERVICES
        )
        return JobRef(
            job_id=validate_guid(match["job"], "job id"),
            subscription=validate_subscription(match["sub"]),
            resource_group=validate_resource_group(match["rg"]) if match["rg"] else None,
            vault_kind=kind,
            region=validate_region(match["region"]),
            secondary=True,
        )
    raise UsageError(
        f"job {_printable(value)!r} is neither a job GUID nor a job's ARM id "
        "(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.RecoveryServices"
        "/vaults/VAULT/backupJobs/GUID, or Microsoft.DataProtection/backupVaults/VAULT/...)"
    )


def vault_of_id(resource_id: str) -> tuple[str, str, str] | None:
    """(subscription, resource group, vault) of any id below a vault of either kind, or None
    (``model.kinds.vault_kind_of`` tells the kind)."""
    match = _VAULT_ID_RE.match(resource_id or "")
    if not match:
        return None
    return match["sub"], match["rg"], match["vault"]
