"""Short names people use for the datasource types of Backup vault jobs.

A Backup vault job names what it protects by ARM resource type (``Microsoft.Compute/disks``);
tables show the name the Azure portal uses instead, in the column where a Recovery Services job
shows its backup management type. A type not listed here (a new workload) is shown as it came.
``list --type`` takes the full type or a short name (``disk``, ``postgresql``), read here too.
"""

from __future__ import annotations

import re

# Keys in lower case: the service and Resource Graph do not agree on casing.
_FRIENDLY: dict[str, str] = {
    "microsoft.compute/disks": "Azure Disk",
    "microsoft.storage/storageaccounts/blobservices": "Azure Blob",
    "microsoft.storage/storageaccounts/adlsblobservices": "Azure Data Lake Storage",
    "microsoft.containerservice/managedclusters": "Azure Kubernetes Service",
    "microsoft.dbforpostgresql/servers/databases": "PostgreSQL server",
    "microsoft.dbforpostgresql/flexibleservers": "PostgreSQL flexible server",
    "microsoft.dbformysql/flexibleservers": "MySQL flexible server",
}
_PG_SINGLE = "microsoft.dbforpostgresql/servers/databases"
_PG_FLEX = "microsoft.dbforpostgresql/flexibleservers"
# Short names for ``--type``; a name may stand for several types (both PostgreSQL kinds).
SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "disk": ("microsoft.compute/disks",),
    "blob": ("microsoft.storage/storageaccounts/blobservices",),
    "adls": ("microsoft.storage/storageaccounts/adlsblobservices",),
    "aks": ("microsoft.containerservice/managedclusters",),
    "postgresql": (_PG_SINGLE, _PG_FLEX),
    "postgresql-flexible": (_PG_FLEX,),
    "postgresql-single": (_PG_SINGLE,),
    "mysql": ("microsoft.dbformysql/flexibleservers",),
}
_ALIASES: dict[str, str] = {
    "disks": "disk",
    "blobs": "blob",
    "kubernetes": "aks",
    "postgres": "postgresql",
    "pgflex": "postgresql-flexible",
    "pgsingle": "postgresql-single",
}
# A full resource type: Provider.Namespace/type[/subtype...].
_FULL_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9.]*/[A-Za-z][A-Za-z0-9]*(/[A-Za-z][A-Za-z0-9]*)*$")


def friendly_datasource_type(datasource_type: str | None) -> str | None:
    """``Microsoft.Compute/disks`` -> ``Azure Disk``; unknown types unchanged; None stays None."""
    if not datasource_type:
        return None
    return _FRIENDLY.get(datasource_type.strip().lower(), datasource_type)


def datasource_types(value: str) -> tuple[str, ...] | None:
    """The datasource types (lower case) ``--type`` names: a short name (``disk``, ``aks``,
    ``postgresql``...) or any full resource type (``Microsoft.Compute/disks``, or a new one);
    None when it is neither."""
    text = value.strip()
    key = text.lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key in SHORT_NAMES:
        return SHORT_NAMES[key]
    if _FULL_TYPE.fullmatch(text):
        return (text.lower(),)
    return None
