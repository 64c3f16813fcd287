"""What an on-demand backup is taken of: a Recovery Services vault's protected items.

A protected item (a VM, an Azure file share, a SQL or SAP HANA database) is found by its
friendly name in ``backupProtectedItems`` (paged by nextLink, narrowed on the server by
``backupManagementType``/``itemType`` when the kind is known), or named by its full ARM id. The
backup is triggered at ``backupFabrics/{f}/protectionContainers/{c}/protectedItems/{i}/backup``:
those three names are read from the item's id as the service wrote it, never built from a
friendly name, because their spelling (``VM;iaasvmcontainerv2;rg;vm``) differs by kind and age.

The trigger starts a backup: a POST sent twice could start two. So it is sent exactly once
(``NO_RETRY``); when its answer is lost, ``running_backups`` tells what the service started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from azbackupjobs.arm.client import NO_RETRY, Response
from azbackupjobs.model import ids
from azbackupjobs.model.errors import (
    AzJobsError,
    ExitCode,
    UnexpectedResponseError,
    UsageError,
)
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources import filters
from azbackupjobs.sources.base import JobQuery, arm_list_pages
from azbackupjobs.sources.recovery_services import RecoveryServicesSource

Kind = Literal["vm", "fileshare", "sql", "hana"]

# --item-type -> (backupManagementType, itemType) of the list's $filter, as the service spells them.
ITEM_TYPES: Final[dict[Kind, tuple[str, str]]] = {
    "vm": ("AzureIaasVM", "VM"),
    "fileshare": ("AzureStorage", "AzureFileShare"),
    "sql": ("AzureWorkload", "SQLDataBase"),
    "hana": ("AzureWorkload", "SAPHanaDatabase"),
}
# The item's workloadType (or, on older payloads, protectedItemType) -> its kind.
_KIND_OF: Final[dict[str, Kind]] = {
    "vm": "vm",
    "microsoft.compute/virtualmachines": "vm",
    "microsoft.classiccompute/virtualmachines": "vm",
    "azurefileshare": "fileshare",
    "azurefileshareprotecteditem": "fileshare",
    "sqldatabase": "sql",
    "azurevmworkloadsqldatabase": "sql",
    "saphanadatabase": "hana",
    "azurevmworkloadsaphanadatabase": "hana",
}
# The request each kind takes (Backups_Trigger: IaasVMBackupRequest, AzureFileShareBackupRequest,
# AzureWorkloadBackupRequest).
REQUEST_TYPES: Final[dict[Kind, str]] = {
    "vm": "IaasVMBackupRequest",
    "fileshare": "AzureFileShareBackupRequest",
    "sql": "AzureWorkloadBackupRequest",
    "hana": "AzureWorkloadBackupRequest",
}
# The on-demand backup types each workload offers (the service's spelling).
BACKUP_TYPES: Final[dict[Kind, tuple[str, ...]]] = {
    "sql": ("Full", "Differential", "Log", "CopyOnlyFull"),
    "hana": ("Full", "Differential", "Log", "CopyOnlyFull", "Incremental"),
}
# Backup types whose recovery point is kept until a given time; the others (Differential, Log,
# Incremental) are kept as the item's policy says.
EXPIRING_BACKUP_TYPES: Final = frozenset({"full", "copyonlyfull"})
DEFAULT_BACKUP_TYPE: Final = "Full"
# The job operations a backup runs as: "Backup", or a workload's "Backup (Full)" and the like.
_BACKUP_OPERATION = re.compile(r"^backup\b", re.IGNORECASE)

_ITEM_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/microsoft\.recoveryservices/vaults/(?P<vault>[^/]+)"
    r"/backupfabrics/(?P<fabric>[^/]+)/protectioncontainers/(?P<container>[^/]+)"
    r"/protecteditems/(?P<item>[^/]+)/?$",
    re.IGNORECASE,
)
# Names the service gives containers and items: "IaasVMContainer;iaasvmcontainerv2;rg;vm".
_MAX_NAME = 260
# Candidates an ambiguous name lists in its error.
_MAX_SHOWN = 5


class ItemNotFound(AzJobsError):
    """No protected item of the vault has that name or id."""

    exit_code = ExitCode.NOT_FOUND


class AmbiguousItem(UsageError):
    """Several protected items answer to one friendly name: the user must say which."""


@dataclass(frozen=True)
class ItemRef:
    """A protected item named by its full ARM id: its vault and the three names of its path."""

    subscription: str
    resource_group: str
    vault: str
    fabric: str
    container: str
    item: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{self.vault}"
            f"/backupFabrics/{self.fabric}/protectionContainers/{self.container}"
            f"/protectedItems/{self.item}"
        )

    def vault_ref(self) -> ids.JobRef:
        """The vault the id names, in the form the context resolution reads (it wins over the
        flags and environment, as a job's id does)."""
        return ids.JobRef(
            job_id="",
            subscription=self.subscription,
            resource_group=self.resource_group,
            vault=self.vault,
            vault_kind=VaultKind.RECOVERY_SERVICES,
        )


def path_name(value: str, what: str) -> str:
    """A name from a resource id (a fabric, container, item, backup instance or policy), fit
    to be one encoded URL path segment."""
    if (
        not value
        or len(value) > _MAX_NAME
        or value in {".", ".."}
        or not value.isprintable()
        or any(ch in value for ch in "/\\?#%")
    ):
        raise UsageError(f"the {what} name {sanitize(value, 80)!r} in the id is not valid")
    return value


def parse_item_id(text: str) -> ItemRef | None:
    """The item a full ARM id names (any casing), every name validated; None when ``text`` is
    not a protected item's id at all (a friendly name)."""
    match = _ITEM_ID_RE.fullmatch(text.strip())
    if match is None:
        if text.strip().startswith("/subscriptions/") or text.strip().startswith("/Subscriptions/"):
            raise UsageError(
                f"{sanitize(text, 120)!r} is not a protected item's id "
                "(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.RecoveryServices/"
                "vaults/VAULT/backupFabrics/Azure/protectionContainers/C/protectedItems/I, or "
                "Microsoft.DataProtection/backupVaults/VAULT/backupInstances/I)"
            )
        return None
    return ItemRef(
        subscription=ids.validate_subscription(match["sub"]),
        resource_group=ids.validate_resource_group(match["rg"]),
        vault=ids.validate_vault(match["vault"]),
        fabric=path_name(match["fabric"], "fabric"),
        container=path_name(match["container"], "container"),
        item=path_name(match["item"], "item"),
    )


@dataclass(frozen=True)
class ProtectedItem:
    """One protected item as listed: what the trigger needs, and the resource as returned."""

    ref: ItemRef
    friendly_name: str
    kind: Kind | None  # None: a kind azjobs does not back up (MAB, DPM, SAP ASE...)
    type_label: str  # the service's words for its type, for messages
    management_type: str
    raw: Mapping[str, Any]

    @property
    def id(self) -> str:
        text = self.raw.get("id")
        return text if isinstance(text, str) else self.ref.id

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ProtectedItem | None:
        """The item, or None when the entry is not one (no id under a vault's protected items)."""
        rid = raw.get("id")
        match = _ITEM_ID_RE.fullmatch(rid.strip()) if isinstance(rid, str) else None
        if match is None:
            return None
        try:
            ref = parse_item_id(rid) if isinstance(rid, str) else None
        except UsageError:
            return None
        if ref is None:
            return None
        props = raw.get("properties")
        props = props if isinstance(props, dict) else {}
        workload = _text(props.get("workloadType"))
        item_type = _text(props.get("protectedItemType"))
        kind = _KIND_OF.get((workload or "").lower()) or _KIND_OF.get((item_type or "").lower())
        return cls(
            ref=ref,
            friendly_name=_text(props.get("friendlyName")) or ref.item,
            kind=kind,
            type_label=workload or item_type or "unknown type",
            management_type=_text(props.get("backupManagementType")) or "",
            raw=raw,
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def normalize_kind(value: str) -> Kind:
    """An ``--item-type`` value, any casing."""
    key = value.strip().lower()
    for kind in ITEM_TYPES:
        if kind == key:
            return kind
    raise UsageError(f"--item-type: {sanitize(value, 40)!r} is not one of {', '.join(ITEM_TYPES)}")


def normalize_backup_type(value: str) -> str:
    """A ``--backup-type`` value in the service's spelling (any casing accepted)."""
    every = dict.fromkeys(t for types in BACKUP_TYPES.values() for t in types)
    for known in every:
        if known.lower() == value.strip().lower():
            return known
    raise UsageError(f"--backup-type: {sanitize(value, 40)!r} is not one of {', '.join(every)}")


def backup_body(
    item: ProtectedItem, *, expiry: datetime | None, backup_type: str | None
) -> dict[str, Any]:
    """The Backups_Trigger body the item's kind takes. ``expiry``: when the recovery point may
    go (left out where the kind keeps it as its policy says); ``backup_type``: a workload's."""
    kind = supported_kind(item)
    props: dict[str, Any] = {"objectType": REQUEST_TYPES[kind]}
    if kind in BACKUP_TYPES:
        chosen = backup_type or DEFAULT_BACKUP_TYPE
        if chosen not in BACKUP_TYPES[kind]:
            raise UsageError(
                f"--backup-type {chosen}: {item.friendly_name} ({item.type_label}) takes "
                f"{', '.join(BACKUP_TYPES[kind])}; nothing sent"
            )
        props["backupType"] = chosen
        if chosen.lower() not in EXPIRING_BACKUP_TYPES:
            expiry = None
    elif backup_type is not None:
        raise UsageError(
            f"--backup-type applies to SQL and SAP HANA databases; {item.friendly_name} is an "
            f"item of type {item.type_label}; nothing sent"
        )
    if expiry is not None:
        props["recoveryPointExpiryTimeInUTC"] = expiry.astimezone(UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return {"properties": props}


def supported_kind(item: ProtectedItem) -> Kind:
    if item.kind is None:
        raise UsageError(
            f"{item.friendly_name} is an item of type {item.type_label} "
            f"({item.management_type or 'unknown'} management): azjobs backs up VMs, Azure "
            "file shares, SQL and SAP HANA databases; nothing sent"
        )
    return item.kind


def matches_entity(entity: str, friendly_name: str) -> bool:
    """Whether a job's ``entityFriendlyName`` is the item's: ``vm1``, ``msdb [sqlvm]``,
    ``MSSQLSERVER/msdb [sqlvm]`` all name the database ``msdb``."""
    name = entity.strip()
    if name.endswith("]") and " [" in name:
        name = name[: name.rindex(" [")]
    name = name.rsplit("/", 1)[-1]
    return name.casefold() == friendly_name.strip().casefold()


class ProtectedItems:
    """The protected items of the vault of ``source``, and their backup trigger."""

    def __init__(self, source: RecoveryServicesSource) -> None:
        self.source = source

    def list_url(self, kind: Kind | None) -> str:
        url = self.source.vault_url("backupProtectedItems")
        if kind is not None:
            management, item_type = ITEM_TYPES[kind]
            text = f"backupManagementType eq '{management}' and itemType eq '{item_type}'"
            url += "&" + urlencode({"$filter": text}, quote_via=quote)
        return url

    def items(self, kind: Kind | None = None) -> Iterator[ProtectedItem]:
        """Every protected item (of ``kind``), page by page."""
        pages = arm_list_pages(self.source, self.list_url(kind), "protected item list")
        for page in pages:
            for raw in page:
                item = ProtectedItem.from_dict(raw)
                if item is not None and (kind is None or item.kind == kind):
                    yield item

    def resolve(self, text: str, kind: Kind | None = None) -> ProtectedItem:
        """The one item ``text`` names: its full id, or its friendly name (any casing)."""
        ref = parse_item_id(text)
        if ref is not None:
            wanted = ref.id.lower()
            for item in self.items(kind):
                if item.ref.id.lower() == wanted:
                    return item
            raise ItemNotFound(f"no protected item {sanitize(text, 200)} in {self.source.name}")
        name = text.strip().casefold()
        found = [item for item in self.items(kind) if item.friendly_name.casefold() == name]
        if not found:
            what = f" of type {kind}" if kind else ""
            raise ItemNotFound(
                f"no protected item{what} named {sanitize(text, 80)!r} in {self.source.name}",
                hint="list them with the portal or `az backup item list`; names are matched "
                "whole, any casing",
            )
        if len(found) > 1:
            shown = "; ".join(
                f"{sanitize(i.id, 300)} ({sanitize(i.type_label, 40)})" for i in found[:_MAX_SHOWN]
            )
            more = f"; and {len(found) - _MAX_SHOWN} more" if len(found) > _MAX_SHOWN else ""
            raise AmbiguousItem(
                f"{len(found)} protected items are named {sanitize(text, 80)!r}: {shown}{more}",
                hint="pass --item-type, or the item's full id",
            )
        return self._checked(found[0])

    def _checked(self, item: ProtectedItem) -> ProtectedItem:
        """A listed item must live in this vault: its id's names go into the trigger's path."""
        ctx = self.source.ctx
        ref = item.ref
        if (ref.subscription, ref.resource_group.lower(), ref.vault.lower()) != (
            ctx.subscription.lower(),
            ctx.resource_group.lower(),
            ctx.vault.lower(),
        ):
            raise UnexpectedResponseError(
                f"the vault listed a protected item of another vault: {sanitize(item.id, 200)}"
            )
        return item

    def trigger_url(self, item: ProtectedItem) -> str:
        ref = item.ref
        return self.source.vault_url(
            "backupFabrics",
            ref.fabric,
            "protectionContainers",
            ref.container,
            "protectedItems",
            ref.item,
            "backup",
        )

    def trigger(self, item: ProtectedItem, body: Mapping[str, Any]) -> Response:
        """POST the backup, exactly once: 202 with the operation to follow."""
        return self.source.request(
            "POST",
            self.trigger_url(item),
            body=dict(body),
            expect_json=False,
            ok=frozenset({200, 202, 204}),
            retry=NO_RETRY,
        )

    def running_backups(self, item: ProtectedItem, window: filters.Window) -> list[dict[str, Any]]:
        """The item's backup jobs that are running and started within ``window``, newest
        first: what a trigger whose answer was lost may have started."""
        query = JobQuery(
            window=window,
            statuses=("InProgress",),
            operation="Backup",
            management_type=item.management_type or None,
        )
        found: list[dict[str, Any]] = []
        for raw in self.source.jobs(query):
            props = raw.get("properties")
            props = props if isinstance(props, dict) else {}
            entity = _text(props.get("entityFriendlyName")) or ""
            operation = _text(props.get("operation")) or ""
            if matches_entity(entity, item.friendly_name) and _BACKUP_OPERATION.match(operation):
                found.append(raw)
        return found
