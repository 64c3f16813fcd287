"""Protected items of a Recovery Services vault: VMs, Azure file shares, SQL and SAP HANA databases.

``GET V/backupProtectedItems`` lists them (``$filter`` on ``backupManagementType``,
``itemType``, ``policyName`` and ``friendlyName`` with ``eq``, as the service accepts; nextLink
paging), and their ids name the fabric, container and item that the backup trigger takes. A VM
item is derived from the vault's protected VMs, so every VM that can be backed up is listed; the
other items are stored in the vault's ``items`` with what the trigger needs to start their jobs
(under the ``emulator`` key, which is never sent).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Final

from .filters import FilterError, parse_clauses
from .replies import ServiceError
from .state import VaultState

RESOURCE_TYPE: Final = (
    "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems"
)
_FILTER_KEYS: Final = {
    k.lower(): k for k in ("backupManagementType", "itemType", "policyName", "friendlyName")
}
ITEM_TYPES: Final = (
    "VM", "FileFolder", "AzureSqlDb", "SQLDB", "Exchange", "Sharepoint", "VMwareVM",
    "SystemState", "Client", "GenericDataSource", "SQLDataBase", "AzureFileShare",
    "SAPHanaDatabase", "SAPAseDatabase", "SAPHanaDBInstance",
)  # fmt: skip
MANAGEMENT_TYPES: Final = (
    "AzureIaasVM", "MAB", "DPM", "AzureBackupServer", "AzureSql", "AzureStorage",
    "AzureWorkload", "DefaultBackup",
)  # fmt: skip
# The request objectType each kind of item takes (and the job type its backup runs as).
REQUEST_TYPES: Final = {
    "vm": "IaasVMBackupRequest",
    "share": "AzureFileShareBackupRequest",
    "sql": "AzureWorkloadBackupRequest",
    "hana": "AzureWorkloadBackupRequest",
}
# SQL and SAP HANA items of the seed vault: (friendly name, host VM, kind, instance/SID).
SEED_DATABASES: Final = (
    ("msdb", "sql-vm-01", "sql", "MSSQLSERVER"),
    ("salesdb", "sql-vm-01", "sql", "MSSQLSERVER"),
    ("SYSTEMDB", "hana-01", "hana", "HXE"),
)
SEED_SHARES: Final = (("finance-share", "demofilessa"), ("hr-share", "demofilessa"))


def vault_path(vs: VaultState) -> str:
    return (
        f"/subscriptions/{vs.subscription}/resourceGroups/{vs.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{vs.vault}"
    )


def _resource(
    vs: VaultState, container: str, item: str, props: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": f"{vault_path(vs)}/backupFabrics/Azure/protectionContainers/{container}"
        f"/protectedItems/{item}",
        "name": item,
        "type": RESOURCE_TYPE,
        "properties": props,
        "emulator": {"fabric": "Azure", "container": container, **extra},
    }


def _common(vs: VaultState, management: str, workload: str, source: str) -> dict[str, Any]:
    return {
        "backupManagementType": management,
        "workloadType": workload,
        "sourceResourceId": source,
        "policyId": f"{vault_path(vs)}/backupPolicies/DefaultPolicy",
        "policyName": "DefaultPolicy",
        "isScheduledForDeferredDelete": False,
        "isRehydrate": False,
        "isArchiveEnabled": False,
    }


def vm_item(vs: VaultState, vm: str) -> dict[str, Any]:
    rg = vs.resource_group
    vm_id = f"/subscriptions/{vs.subscription}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"  # noqa: E501
    props = {
        "friendlyName": vm,
        "virtualMachineId": vm_id,
        "protectionStatus": "Healthy",
        "protectionState": "Protected",
        "healthStatus": "Passed",
        "lastBackupStatus": "Completed",
        "protectedItemType": "Microsoft.Compute/virtualMachines",
        "containerName": f"iaasvmcontainerv2;{rg};{vm}",
        **_common(vs, "AzureIaasVM", "VM", vm_id),
    }
    return _resource(
        vs,
        f"IaasVMContainer;iaasvmcontainerv2;{rg};{vm}",
        f"VM;iaasvmcontainerv2;{rg};{vm}",
        props,
        {"kind": "vm", "entity": vm},
    )


def share_item(vs: VaultState, share: str, account: str) -> dict[str, Any]:
    rg = vs.resource_group
    account_id = f"/subscriptions/{vs.subscription}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}"  # noqa: E501
    props = {
        "friendlyName": share,
        "protectionStatus": "Healthy",
        "protectionState": "Protected",
        "healthStatus": "Passed",
        "lastBackupStatus": "Completed",
        "protectedItemType": "AzureFileShareProtectedItem",
        "containerName": f"StorageContainer;Storage;{rg};{account}",
        **_common(vs, "AzureStorage", "AzureFileShare", account_id),
    }
    return _resource(
        vs,
        f"StorageContainer;Storage;{rg};{account}",
        f"AzureFileShare;{share}",
        props,
        {"kind": "share", "entity": share},
    )


def database_item(vs: VaultState, name: str, host: str, kind: str, parent: str) -> dict[str, Any]:
    rg = vs.resource_group
    vm_id = f"/subscriptions/{vs.subscription}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{host}"  # noqa: E501
    sql = kind == "sql"
    workload = "SQLDataBase" if sql else "SAPHanaDatabase"
    item = (
        f"SQLDataBase;{parent.lower()};{name.lower()}"
        if sql
        else (f"SAPHanaDatabase;{parent.lower()};{name.lower()}")
    )
    props = {
        "friendlyName": name,
        "serverName": host,
        "parentName": parent,
        "parentType": "AzureVmWorkloadSQLInstance" if sql else "AzureVmWorkloadSAPHanaSystem",
        "protectionStatus": "Healthy",
        "protectionState": "Protected",
        "lastBackupStatus": "Healthy",
        "protectedItemHealthStatus": "Healthy",
        "protectedItemType": "AzureVmWorkloadSQLDatabase"
        if sql
        else "AzureVmWorkloadSAPHanaDatabase",
        "containerName": f"VMAppContainer;Compute;{rg};{host}",
        **_common(vs, "AzureWorkload", workload, vm_id),
    }
    return _resource(
        vs,
        f"VMAppContainer;Compute;{rg};{host}",
        item,
        props,
        {"kind": kind, "entity": f"{name} [{host}]", "workload": workload},
    )


def seed_items(vs: VaultState) -> None:
    """The seed vault's file shares and databases (its VMs come from ``protected_vms``)."""
    for share, account in SEED_SHARES:
        found = share_item(vs, share, account)
        vs.items[found["name"].lower()] = found
    for name, host, kind, parent in SEED_DATABASES:
        found = database_item(vs, name, host, kind, parent)
        vs.items[found["name"].lower()] = found


def all_items(vs: VaultState) -> list[dict[str, Any]]:
    """VMs (sorted by name), then the stored items in the order they were added."""
    vms = [vm_item(vs, vm) for _, vm in sorted(vs.protected_vms.items())]
    return vms + list(vs.items.values())


def find_item(vs: VaultState, fabric: str, container: str, item: str) -> dict[str, Any]:
    """The item the trigger path names, or the service's 404."""
    for found in all_items(vs):
        extra = found["emulator"]
        if (
            fabric.lower() == extra["fabric"].lower()
            and container.lower() == extra["container"].lower()
            and item.lower() == found["name"].lower()
        ):
            return found
    raise ServiceError(
        404,
        "BMSUserErrorDataSourceObjectNotFound",
        "Item not found. Selected item might have been deleted. Please check if item is "
        "registered to the vault.",
    )


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "emulator"}


@dataclass(frozen=True)
class ItemFilter:
    values: dict[str, str]

    def matches(self, item: dict[str, Any]) -> bool:
        props = item["properties"]
        fields = {
            "backupManagementType": props.get("backupManagementType"),
            "itemType": props.get("workloadType"),
            "policyName": props.get("policyName"),
            "friendlyName": props.get("friendlyName"),
        }
        return all(
            str(fields[key] or "").lower() == value.lower() for key, value in self.values.items()
        )


def parse_item_filter(text: str | None) -> ItemFilter:
    """The ``$filter`` of backupProtectedItems; the service's 400 for anything else."""
    if text is None or not text.strip():
        return ItemFilter({})
    try:
        values = parse_clauses(text, _FILTER_KEYS)
    except FilterError as err:
        raise ServiceError(400, "BMSUserErrorInvalidInput", str(err)) from None
    for key, allowed in (("itemType", ITEM_TYPES), ("backupManagementType", MANAGEMENT_TYPES)):
        value = values.get(key)
        if value is not None and value.lower() not in {a.lower() for a in allowed}:
            raise ServiceError(
                400,
                "BMSUserErrorInvalidInput",
                f"Invalid filter: '{value}' is not a valid value for '{key}'. Valid values are:"
                f" {', '.join(allowed)}.",
            )
    return ItemFilter({k: v for k, v in values.items() if v.strip()})


def encode_offset(offset: int) -> str:
    return base64.b64encode(f"protecteditems:{offset}".encode("ascii")).decode("ascii")


def decode_offset(token: str) -> int:
    try:
        text = base64.b64decode(token, validate=True).decode("ascii")
        prefix, _, number = text.partition(":")
        if prefix != "protecteditems" or not number.isdigit():
            raise ValueError(token)
        return int(number)
    except ValueError:
        raise ServiceError(
            400, "BMSUserErrorInvalidInput", "The continuation token ($skipToken) is not valid."
        ) from None


def list_page(
    vs: VaultState, flt: ItemFilter, token: str | None, page_size: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of matching items (without the emulator's own keys) and the next token."""
    matching = [public(i) for i in all_items(vs) if flt.matches(i)]
    offset = decode_offset(token) if token else 0
    page = matching[offset : offset + page_size]
    more = offset + page_size < len(matching)
    return page, encode_offset(offset + page_size) if more else None
