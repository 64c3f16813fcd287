"""Short names people use for the datasource types of Backup vault jobs.

A Backup vault job names what it protects by ARM resource type (``Microsoft.Compute/disks``);
tables show the name the Azure portal uses instead, in the column where a Recovery Services job
shows its backup management type. A type not listed here (a new workload) is shown as it came.
"""

from __future__ import annotations

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


def friendly_datasource_type(datasource_type: str | None) -> str | None:
    """``Microsoft.Compute/disks`` -> ``Azure Disk``; unknown types unchanged; None stays None."""
    if not datasource_type:
        return None
    return _FRIENDLY.get(datasource_type.strip().lower(), datasource_type)
