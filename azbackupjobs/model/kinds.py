"""The two kinds of vault Azure Backup keeps jobs in, and how a resource names its kind.

Recovery Services vaults (``Microsoft.RecoveryServices/vaults``) and Backup vaults
(``Microsoft.DataProtection/backupVaults``) return differently shaped job resources. The kind is
read from the resource id or type, which the service spells in several casings
(``backupVaults``, ``BackupVaults``, ``Backupvaults``, all lower case in Resource Graph), so the
test is case-insensitive. Kept free of other imports: the tsv rows use it without the model.
"""

from __future__ import annotations

from enum import StrEnum


class VaultKind(StrEnum):
    """The values are the spellings of ``--vault-type``."""

    RECOVERY_SERVICES = "recovery-services"
    BACKUP = "backup"


_BACKUP_MARK = "microsoft.dataprotection/"
_RECOVERY_SERVICES_MARK = "microsoft.recoveryservices/"


def vault_kind_of(resource_id: object, resource_type: object = None) -> VaultKind | None:
    """The kind a resource id (checked first) or type names; None when neither names one.

    The id comes first because some readers rewrite the type (Resource Graph rows are given the
    Recovery Services job type whatever they hold), while the id is the service's own.
    """
    for text in (resource_id, resource_type):
        if isinstance(text, str):
            lowered = text.lower()
            if _BACKUP_MARK in lowered:
                return VaultKind.BACKUP
            if _RECOVERY_SERVICES_MARK in lowered:
                return VaultKind.RECOVERY_SERVICES
    return None


def is_backup_vault_job(raw: object) -> bool:
    """Whether a job resource (a raw dict) comes from a Backup vault.

    Without an id or type that names a provider, the shape decides: only Backup vault jobs
    have ``dataSourceType`` or ``operationCategory`` and no ``jobType``.
    """
    if not isinstance(raw, dict):
        return False
    kind = vault_kind_of(raw.get("id"), raw.get("type"))
    if kind is not None:
        return kind is VaultKind.BACKUP
    props = raw.get("properties")
    return (
        isinstance(props, dict)
        and "jobType" not in props
        and ("dataSourceType" in props or "operationCategory" in props)
    )
