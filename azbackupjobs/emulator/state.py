"""What the emulator knows: vaults of both kinds, their jobs, protected items and operations.

Recovery Services vaults and Backup vaults live side by side (a name may exist as both kinds in
one resource group), and so do the jobs that cross-region restores run in a vault's paired
region: each is a *collection* (see ``COLLECTIONS``) of :class:`VaultState` keyed like the
vault. A job knows its collection (``JobScenario.collection``).

One lock guards everything; handlers hold it only to read scenarios or record a change, never
while writing to a socket. Jobs of a vault are kept sorted by the list order (newest start
first), so a page of a 20,000-job list costs a binary search and a short scan. With a state
file, every change is written atomically (temporary file + ``os.replace``), so a crash or a
Ctrl-C never leaves a half-written file behind.
"""

from __future__ import annotations

import bisect
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .defaults import DEFAULT_LOCATION
from .scenarios import RECOVERY_SERVICES, JobScenario
from .wire import TICKS_PER_SECOND

STATE_FORMAT = 1
BACKUP_VAULT = "dpp"
RS_CRR = "rs-crr"
DPP_CRR = "dpp-crr"
# Recovery Services vaults, Backup vaults, and the cross-region-restore jobs of each kind.
COLLECTIONS = (RECOVERY_SERVICES, BACKUP_VAULT, RS_CRR, DPP_CRR)
# The collections that are vaults (and so make a subscription and a resource group exist).
VAULT_KINDS = (RECOVERY_SERVICES, BACKUP_VAULT)

VaultKey = tuple[str, str, str]


def vault_key(subscription: str, resource_group: str, vault: str) -> VaultKey:
    """ARM names are case-insensitive; keys are lower case, displays keep the given case."""
    return subscription.lower(), resource_group.lower(), vault.lower()


def sort_key(s: JobScenario) -> tuple[int, str]:
    """List order: newest start first, ties by job id."""
    return -round(s.start * TICKS_PER_SECOND), s.job_id


@dataclass
class Operation:
    """An asynchronous operation: a backup trigger, a cancel or an export."""

    op_id: str
    kind: str  # "backup" | "cancel" | "export"
    start: float
    done_at: float
    job_id: str | None = None
    # The protected item a backup was triggered on (for its operationsStatus URLs).
    container: str | None = None
    item: str | None = None
    # Export: the filter it ran with and the signature its blob URL carries.
    filter: str | None = None
    signature: str | None = None


@dataclass
class VaultState:
    subscription: str
    resource_group: str
    vault: str
    kind: str = RECOVERY_SERVICES
    location: str = DEFAULT_LOCATION
    jobs: dict[str, JobScenario] = field(default_factory=dict)
    order: list[tuple[int, str]] = field(default_factory=list)
    # Lower-case VM name -> VM name, for the VMs whose backup can be triggered.
    protected_vms: dict[str, str] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    # Protected items (Recovery Services) or backup instances and policies (Backup vaults):
    # lower-case name -> the resource's own data, as JSON-ready dicts.
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def iter_from(self, position: tuple[int, str] | None) -> Iterator[JobScenario]:
        """Jobs in list order, starting at ``position`` (a sort key) or at the top."""
        index = 0 if position is None else bisect.bisect_left(self.order, position)
        for _, job_id in self.order[index:]:
            yield self.jobs[job_id]


class EmulatorState:
    """All vaults; thread-safe; optionally persisted to a JSON file."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None) -> None:
        self.lock = threading.RLock()
        self.collections: dict[str, dict[VaultKey, VaultState]] = {c: {} for c in COLLECTIONS}
        # The Recovery Services vaults (the collection most code is about).
        self.vaults: dict[VaultKey, VaultState] = self.collections[RECOVERY_SERVICES]
        self.state_file = Path(state_file) if state_file is not None else None
        # The emulated time at the last save; a restart continues from there.
        self.saved_now: float | None = None

    # -- vaults ----------------------------------------------------------------------------------
    def add_vault(
        self,
        subscription: str,
        resource_group: str,
        vault: str,
        kind: str = RECOVERY_SERVICES,
        location: str | None = None,
    ) -> VaultState:
        key = vault_key(subscription, resource_group, vault)
        with self.lock:
            store = self.collections[kind]
            found = store.get(key)
            if found is None:
                found = VaultState(
                    subscription, resource_group, vault, kind, location or DEFAULT_LOCATION
                )
                store[key] = found
            elif location is not None:
                found.location = location
            return found

    def find_vault(
        self, subscription: str, resource_group: str, vault: str, kind: str = RECOVERY_SERVICES
    ) -> VaultState | None:
        return self.collections[kind].get(vault_key(subscription, resource_group, vault))

    def all_vaults(self, kinds: Iterable[str] = VAULT_KINDS) -> list[VaultState]:
        with self.lock:
            return [vs for kind in kinds for vs in self.collections[kind].values()]

    def has_subscription(self, subscription: str) -> bool:
        sub = subscription.lower()
        return any(k[0] == sub for kind in VAULT_KINDS for k in self.collections[kind])

    def has_resource_group(self, subscription: str, resource_group: str) -> bool:
        sub, rg = subscription.lower(), resource_group.lower()
        return any(
            k[0] == sub and k[1] == rg for kind in VAULT_KINDS for k in self.collections[kind]
        )

    # -- jobs ----------------------------------------------------------------------------------
    def add_jobs(self, jobs: Iterable[JobScenario]) -> list[str]:
        """Add jobs (creating their vaults); one sort for a batch, bisect for a single job."""
        added: list[str] = []
        with self.lock:
            touched: dict[tuple[str, str, str, str], VaultState] = {}
            batch = list(jobs)
            for job in batch:
                vs = self.add_vault(job.subscription, job.resource_group, job.vault, job.collection)
                if job.job_id in vs.jobs:
                    raise ValueError(f"job {job.job_id} already exists in vault {vs.vault}")
                vs.jobs[job.job_id] = job
                if len(batch) == 1:
                    bisect.insort(vs.order, sort_key(job))
                else:
                    vs.order.append(sort_key(job))
                    key = vault_key(job.subscription, job.resource_group, job.vault)
                    touched[(job.collection, *key)] = vs
                added.append(job.job_id)
            for vs in touched.values():
                vs.order.sort()
        return added

    def find_job(self, vs: VaultState, job_id: str) -> JobScenario | None:
        return vs.jobs.get(job_id.lower())

    def all_jobs(self) -> Iterator[JobScenario]:
        """Every job of every Recovery Services vault."""
        for vs in list(self.vaults.values()):
            yield from list(vs.jobs.values())

    # -- persistence ----------------------------------------------------------------------------
    def to_json(self, now: float) -> dict[str, Any]:
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "emulatedNow": now,
                "vaults": [
                    {
                        "subscription": vs.subscription,
                        "resourceGroup": vs.resource_group,
                        "vault": vs.vault,
                        "kind": vs.kind,
                        "location": vs.location,
                        "protectedVms": sorted(vs.protected_vms.values()),
                        "items": list(vs.items.values()),
                        "policies": list(vs.policies.values()),
                        "jobs": [vs.jobs[job_id].to_json() for _, job_id in vs.order],
                        "operations": [asdict(op) for op in vs.operations.values()],
                    }
                    for store in self.collections.values()
                    for vs in store.values()
                ],
            }

    def save(self, now: float) -> None:
        """Write the state file atomically; a no-op without one."""
        if self.state_file is None:
            return
        data = json.dumps(self.to_json(now), separators=(",", ":")).encode("utf-8")
        target = self.state_file
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self) -> bool:
        """Read the state file if it exists; False when there is none yet."""
        if self.state_file is None or not self.state_file.exists():
            return False
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            if data.get("format") != STATE_FORMAT:
                raise ValueError(f"unknown format {data.get('format')!r}")
            with self.lock:
                for item in data["vaults"]:
                    kind = item.get("kind", RECOVERY_SERVICES)
                    if kind not in self.collections:
                        raise ValueError(f"unknown vault kind {kind!r}")
                    vs = self.add_vault(
                        item["subscription"],
                        item["resourceGroup"],
                        item["vault"],
                        kind,
                        item.get("location"),
                    )
                    for vm in item.get("protectedVms", []):
                        vs.protected_vms[vm.lower()] = vm
                    for resource in item.get("items", []):
                        vs.items[str(resource["name"]).lower()] = resource
                    for policy in item.get("policies", []):
                        vs.policies[str(policy["name"]).lower()] = policy
                    self.add_jobs(JobScenario.from_json(j) for j in item.get("jobs", []))
                    for op in item.get("operations", []):
                        vs.operations[op["op_id"]] = Operation(**op)
                self.saved_now = float(data["emulatedNow"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"cannot read emulator state file {self.state_file}: {exc}") from None
        return True
