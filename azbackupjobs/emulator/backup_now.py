"""On-demand backups of Recovery Services protected items (``POST .../protectedItems/{i}/backup``).

The body is checked against the item: a VM takes ``IaasVMBackupRequest``, a file share
``AzureFileShareBackupRequest`` (both with an optional ``recoveryPointExpiryTimeInUTC`` in the
future), a SQL or SAP HANA database ``AzureWorkloadBackupRequest`` with a ``backupType``. An
item whose backup is still running is refused with the service's 400
``UserErrorBackupOperationInProgress``. Otherwise the job starts TRIGGER_LATENCY_SECONDS later
and an operation reports it (``operationsStatus`` / ``backupOperations``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from .factory import build_job
from .limits import NestingError, load_json
from .protected_items import REQUEST_TYPES
from .replies import ServiceError
from .scenarios import CANCELLING, IN_PROGRESS, Bag, JobScenario, TaskPlan, job_state
from .state import Operation, VaultState
from .wire import us_datetime

if TYPE_CHECKING:
    from .core import Emulator

# Emulated seconds between a backup trigger and its job appearing (operation status Succeeded).
TRIGGER_LATENCY_SECONDS: Final = 2.0
TRIGGERED_BY_USER: Final = {"IsInstantRpJob": "True", "AdHoc": "AdHoc"}
# backupType -> how the job's operation reads.
WORKLOAD_OPERATIONS: Final = {
    "full": "Backup (Full)",
    "differential": "Backup (Differential)",
    "log": "Backup (Log)",
    "copyonlyfull": "Backup (Copy Only Full)",
    "incremental": "Backup (Incremental)",
    "snapshotfull": "Backup (Snapshot Full)",
    "snapshotcopyonlyfull": "Backup (Snapshot Copy Only Full)",
}
BACKUP_TYPES: Final = (
    "Full", "Differential", "Log", "CopyOnlyFull", "Incremental", "SnapshotFull",
    "SnapshotCopyOnlyFull",
)  # fmt: skip
IN_PROGRESS_MESSAGE: Final = (
    "Backup failed as another operation is currently in progress on this item. Please wait "
    "until the previous operation is completed, and then retry."
)


@dataclass(frozen=True)
class BackupRequest:
    """What a valid trigger body asks for."""

    expiry: float | None = None
    backup_type: str | None = None


def _invalid(message: str) -> ServiceError:
    return ServiceError(
        400, "BMSUserErrorInvalidInput", f"Input provided for the call is invalid: {message}"
    )


def _expiry(value: Any, now: float) -> float:
    if not isinstance(value, str):
        raise _invalid("recoveryPointExpiryTimeInUTC must be a date and time in UTC.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _invalid(f"recoveryPointExpiryTimeInUTC '{value[:40]}' is not a date.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    epoch = moment.timestamp()
    if epoch <= now:
        raise _invalid("recoveryPointExpiryTimeInUTC must be later than the current time.")
    return epoch


def parse_backup_request(body: bytes, kind: str, now: float) -> BackupRequest:
    """The request in ``body`` for an item of ``kind`` ("vm", "share", "sql", "hana")."""
    expected = REQUEST_TYPES[kind]
    if not body.strip():
        if kind in ("sql", "hana"):
            raise _invalid(f"a {expected} with a backupType is required.")
        return BackupRequest()
    try:
        data: Any = load_json(body)
    except NestingError as err:
        raise _invalid(f"{err}.") from None
    except ValueError:
        raise _invalid("not JSON.") from None
    props = data.get("properties") if isinstance(data, dict) else None
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise _invalid("'properties' must be an object.")
    object_type = props.get("objectType")
    if object_type is not None and object_type != expected:
        raise _invalid(
            f"objectType '{object_type}' does not match the protected item (expected '{expected}')."
        )
    expiry_text = props.get("recoveryPointExpiryTimeInUTC")
    expiry = _expiry(expiry_text, now) if expiry_text is not None else None
    backup_type = props.get("backupType")
    if kind in ("sql", "hana"):
        if object_type is None:
            raise _invalid(f"objectType '{expected}' is required.")
        if not isinstance(backup_type, str) or backup_type.lower() not in WORKLOAD_OPERATIONS:
            raise _invalid(
                f"backupType '{backup_type}' is not valid; use one of {', '.join(BACKUP_TYPES)}."
            )
        compression = props.get("enableCompression")
        if compression is not None and not isinstance(compression, bool):
            raise _invalid("enableCompression must be true or false.")
    elif backup_type is not None:
        raise _invalid(f"backupType applies to workload items only, not to a {expected}.")
    return BackupRequest(expiry=expiry, backup_type=backup_type)


def busy(vs: VaultState, entity: str, now: float) -> bool:
    """Whether a backup of ``entity`` runs in the vault (a second one is refused)."""
    return any(
        j.entity.lower() == entity.lower()
        and j.operation.startswith("Backup")
        and j.start <= now
        and job_state(j, now).status in (IN_PROGRESS, CANCELLING)
        for j in vs.jobs.values()
    )


def _job(emulator: Emulator, vs: VaultState, item: dict[str, Any], request: BackupRequest,
         start: float) -> JobScenario:  # fmt: skip
    extra = item["emulator"]
    kind, entity = extra["kind"], extra["entity"]
    where: dict[str, Any] = {
        "subscription": vs.subscription,
        "resource_group": vs.resource_group,
        "vault": vs.vault,
    }
    rng = emulator.rng
    if kind == "vm":
        t = emulator.timeline
        job = build_job(
            rng,
            **where,
            entity=entity,
            start=start,
            tasks=[
                TaskPlan("Take Snapshot", t.snapshot_seconds),
                TaskPlan("Transfer data to vault", t.transfer_seconds, total_gb=t.disk_gb),
            ],
            backup_size_mb=round(t.disk_gb * 1024 * rng.uniform(0.08, 0.12)),
            staged_bag=True,
        )
        if request.expiry is not None:
            expiry: Bag = {"Recovery Point Expiry Time in UTC": us_datetime(request.expiry)}
            job.bag_steps = [(1, expiry)]
        job.internal_bag = dict(TRIGGERED_BY_USER)
        return job
    if kind == "share":
        job = build_job(rng, **where, job_type="AzureStorageJob", entity=entity, start=start)
        job.props["isUserTriggered"] = True
        return job
    operation = WORKLOAD_OPERATIONS[(request.backup_type or "full").lower()]
    job = build_job(
        rng,
        **where,
        job_type="AzureWorkloadJob",
        operation=operation,
        entity=entity,
        start=start,
        workload_type=extra["workload"],
    )
    return job


def start_backup(
    emulator: Emulator, vs: VaultState, item: dict[str, Any], request: BackupRequest, now: float
) -> Operation:
    """Create the job (starting a moment later) and the operation that reports it."""
    start = now + TRIGGER_LATENCY_SECONDS
    with emulator.state.lock:
        if busy(vs, item["emulator"]["entity"], now):
            raise ServiceError(400, "UserErrorBackupOperationInProgress", IN_PROGRESS_MESSAGE)
        with emulator.rng_lock:
            job = _job(emulator, vs, item, request, start)
        emulator.state.add_jobs([job])
        op = Operation(
            op_id=emulator.guid(),
            kind="backup",
            start=now,
            done_at=start,
            job_id=job.job_id,
            container=item["emulator"]["container"],
            item=item["name"],
        )
        vs.operations[op.op_id] = op
    emulator.save()
    return op
