"""The Backup service itself: lookups, listing, cancel, trigger and export, over the state.

HTTP details (paths, headers, api-versions) stay in ``routes``; this module speaks in vaults,
jobs and operations, and raises :class:`~.replies.ServiceError` with the service's error codes.
The test handle calls the same methods, so a job cancelled through the handle goes through the
same rules as one cancelled over HTTP.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from .backup_now import BackupRequest, parse_backup_request, start_backup
from .clock import EmulatedClock
from .factory import new_guid
from .filters import FilterError, JobFilter, parse_filter
from .paging import decode_token, encode_token
from .protected_items import find_item
from .replies import ServiceError
from .scenarios import IN_PROGRESS, RECOVERY_SERVICES, JobScenario, JobState, job_state
from .state import BACKUP_VAULT, EmulatorState, Operation, VaultState, sort_key

GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

# The ARM resource type of each kind of vault, as a 404 names it.
_RESOURCE_TYPES = {
    RECOVERY_SERVICES: "Microsoft.RecoveryServices/vaults",
    BACKUP_VAULT: "Microsoft.DataProtection/backupVaults",
}

EXPORT_SECONDS = 15.0
# How close to the wall clock a filter's endTime must be to mean "now" (see client_window).
WALL_CLOCK_TOLERANCE = 120.0


@dataclass(frozen=True)
class TriggerTimeline:
    """The tasks of a backup started through the trigger route (the demo's job)."""

    snapshot_seconds: float
    transfer_seconds: float
    disk_gb: float


def checked_filter(text: str | None) -> JobFilter:
    """The jobs ``$filter``, or the service's 400 for one it cannot read."""
    try:
        return parse_filter(text)
    except FilterError as err:
        raise ServiceError(400, "BMSUserErrorInvalidInput", str(err)) from None


class Emulator:
    """The emulated Backup service behind every route and the test handle."""

    def __init__(
        self,
        *,
        clock: EmulatedClock,
        state: EmulatorState,
        rng: random.Random,
        page_size: int,
        timeline: TriggerTimeline,
    ) -> None:
        self.clock = clock
        self.state = state
        self.rng = rng
        self.page_size = page_size
        # A Backup vault's job list: its page size (None: ``page_size``) and order (the recorded
        # lists of the real service run oldest first; the emulator's default is newest first).
        self.backup_vault_page_size: int | None = None
        self.backup_vault_oldest_first = False
        self.timeline = timeline
        self._rng_lock = threading.Lock()

    def now(self) -> float:
        return self.clock.now()

    def guid(self) -> str:
        with self._rng_lock:
            return new_guid(self.rng)

    def save(self) -> None:
        self.state.save(self.now())

    # -- lookups ---------------------------------------------------------------------------------
    @property
    def rng_lock(self) -> threading.Lock:
        """Held while drawing from ``rng`` (ids and values of new jobs)."""
        return self._rng_lock

    def check_subscription(self, subscription: str) -> None:
        """ARM's 400 for a malformed subscription id, 404 for one without vaults."""
        if not GUID_RE.match(subscription):
            raise ServiceError(
                400,
                "InvalidSubscriptionId",
                f"The provided subscription identifier '{subscription}' is malformed or invalid.",
            )
        if not self.state.has_subscription(subscription):
            raise ServiceError(
                404,
                "SubscriptionNotFound",
                f"The subscription '{subscription}' could not be found.",
            )

    def check_scope(self, subscription: str, resource_group: str) -> None:
        """:meth:`check_subscription`, then ARM's 404 for a resource group without vaults."""
        self.check_subscription(subscription)
        if not self.state.has_resource_group(subscription, resource_group):
            raise ServiceError(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{resource_group}' could not be found.",
            )

    def vault(
        self, subscription: str, resource_group: str, vault: str, kind: str = RECOVERY_SERVICES
    ) -> VaultState:
        """The vault of that kind, or the 400/404 ARM answers for a bad subscription, group or
        vault."""
        self.check_scope(subscription, resource_group)
        found = self.state.find_vault(subscription, resource_group, vault, kind)
        if found is None:
            raise ServiceError(
                404,
                "ResourceNotFound",
                f"The Resource '{_RESOURCE_TYPES[kind]}/{vault}' under resource group "
                f"'{resource_group}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix",
            )
        return found

    def job(self, vs: VaultState, name: str, now: float) -> JobScenario:
        """A job that exists at ``now``; a job whose start is still ahead is not there yet."""
        if not GUID_RE.match(name):
            raise ServiceError(
                400,
                "BMSUserErrorInvalidInput",
                f"Input provided for the call is invalid. The job id '{name}' is not a valid GUID.",
            )
        with self.state.lock:
            found = self.state.find_job(vs, name)
            if found is None or found.start > now:
                raise ServiceError(
                    404,
                    "BMSUserErrorJobNotFound",
                    f"The job '{name.lower()}' was not found in vault '{vs.vault}'. It may have "
                    "been removed, or belong to another vault.",
                )
            return found

    def operation(self, vs: VaultState, op_id: str) -> Operation:
        found = vs.operations.get(op_id.lower())
        if found is None:
            raise ServiceError(
                404,
                "BMSUserErrorOperationNotFound",
                f"The operation '{op_id}' was not found in vault '{vs.vault}'.",
            )
        return found

    # -- list ------------------------------------------------------------------------------------
    def filtered_page(
        self, vs: VaultState, filter_text: str | None, token: str | None, now: float
    ) -> tuple[list[tuple[JobScenario, JobState]], str | None]:
        """A page of the jobs list as the vault and its secondary region both serve it:
        ``$filter`` checked and read against the client's clock, ``page_size`` jobs."""
        flt = checked_filter(filter_text)
        return self.list_page(vs, self.client_window(flt), token, self.page_size, now)

    def list_page(
        self, vs: VaultState, flt: JobFilter, token: str | None, page_size: int, now: float
    ) -> tuple[list[tuple[JobScenario, JobState]], str | None]:
        """One page in list order and the token of the next matching job (None at the end)."""
        position: tuple[int, str] | None = None
        if token:
            try:
                ticks, job_id = decode_token(token)
            except ValueError:
                raise ServiceError(
                    400,
                    "BMSUserErrorInvalidInput",
                    "The continuation token ($skipToken) is not valid.",
                ) from None
            position = (-ticks, job_id)
        page: list[tuple[JobScenario, JobState]] = []
        with self.state.lock:
            for s, state in self._matching(vs, flt, position, now):
                if len(page) == page_size:
                    ticks = -sort_key(s)[0]
                    return page, encode_token(ticks, s.job_id)
                page.append((s, state))
        return page, None

    def _matching(
        self, vs: VaultState, flt: JobFilter, position: tuple[int, str] | None, now: float
    ) -> Iterator[tuple[JobScenario, JobState]]:
        for s in vs.iter_from(position):
            if s.start > now:
                continue  # not started yet: not visible
            if flt.start_time is not None and s.start < flt.start_time:
                return  # sorted newest first: everything after is older still
            if not flt.matches_static(s):
                continue
            state = job_state(s, now)
            if flt.matches_status(state.status):
                yield s, state

    def client_window(self, flt: JobFilter, wall_now: float | None = None) -> JobFilter:
        """Make "until now" mean the emulated now.

        With time sped up (or advanced by a test) the emulated clock runs ahead of the wall
        clock, so a client asking for "the last 24 hours" computes an endTime that is already
        in the emulated past and would miss every job started since. An endTime within
        WALL_CLOCK_TOLERANCE of the wall clock is read as the emulated now; any other endTime
        (one computed from the emulated clock, or a past date) is left alone.
        """
        if flt.end_time is None:
            return flt
        wall = time.time() if wall_now is None else wall_now
        now = self.now()
        ahead = now - wall > WALL_CLOCK_TOLERANCE
        if ahead and abs(flt.end_time - wall) <= WALL_CLOCK_TOLERANCE:
            return replace(flt, end_time=now)
        return flt

    def matching_jobs(self, vs: VaultState, flt: JobFilter, now: float) -> list[JobScenario]:
        with self.state.lock:
            return [s for s, _ in self._matching(vs, flt, None, now)]

    # -- cancel ----------------------------------------------------------------------------------
    def cancel(self, vs: VaultState, s: JobScenario, now: float) -> Operation:
        """Start cancelling; a job that is not running, or is in a phase that cannot be
        interrupted, is refused with the service's 400."""
        with self.state.lock:
            state = job_state(s, now)
            if state.status != IN_PROGRESS:
                raise ServiceError(
                    400,
                    "BMSUserErrorJobNotCancellable",
                    f"The job '{s.job_id}' cannot be cancelled because it is in the "
                    f"'{state.status}' state. Only jobs in progress can be cancelled.",
                )
            if not state.cancellable:
                phase = f" ('{state.running_task.plan.name}')" if state.running_task else ""
                raise ServiceError(
                    400,
                    "BMSUserErrorJobNotCancellable",
                    f"The job '{s.job_id}' cannot be cancelled in its current phase{phase}. "
                    "Wait for the job to complete.",
                )
            op = Operation(
                op_id=self.guid(),
                kind="cancel",
                start=now,
                done_at=now + s.cancel_seconds,
                job_id=s.job_id,
            )
            s.cancel_at = now
            s.cancel_operation = op.op_id
            vs.operations[op.op_id] = op
        self.save()
        return op

    # -- trigger backup ----------------------------------------------------------------------------
    def protected_item(
        self, vs: VaultState, fabric: str, container: str, item: str
    ) -> dict[str, Any]:
        """The protected item a path names (VM, file share, database), or the service's 404."""
        return find_item(vs, fabric, container, item)

    def protected_vm(self, vs: VaultState, fabric: str, container: str, item: str) -> str:
        """The VM a protected-item path names, or the service's 404 for an unknown item."""
        found = find_item(vs, fabric, container, item)
        if found["emulator"]["kind"] != "vm":
            raise ServiceError(
                404,
                "BMSUserErrorDataSourceObjectNotFound",
                "Item not found. Selected item might have been deleted. Please check if item is "
                "registered to the vault.",
            )
        return str(found["emulator"]["entity"])

    def backup_item(
        self, vs: VaultState, item: dict[str, Any], body: bytes, now: float
    ) -> Operation:
        """What the trigger route does: check the body against the item, then start the job."""
        request = parse_backup_request(body, item["emulator"]["kind"], now)
        return start_backup(self, vs, item, request, now)

    def trigger_backup(
        self, vs: VaultState, vm: str, now: float, container: str, item: str
    ) -> Operation:
        """An on-demand backup of a protected VM with an empty body (see :mod:`.backup_now`)."""
        found = find_item(vs, "Azure", container, item)
        return start_backup(self, vs, found, BackupRequest(), now)

    # -- export ----------------------------------------------------------------------------------
    def export(self, vs: VaultState, filter_text: str | None, now: float) -> Operation:
        with self._rng_lock:
            signature = f"{self.rng.getrandbits(256):064x}"
        op = Operation(
            op_id=self.guid(),
            kind="export",
            start=now,
            done_at=now + EXPORT_SECONDS,
            filter=filter_text,
            signature=signature,
        )
        with self.state.lock:
            vs.operations[op.op_id] = op
        self.save()
        return op

    def find_export(self, op_id: str) -> tuple[VaultState, Operation] | None:
        with self.state.lock:
            for vs in self.state.vaults.values():
                op = vs.operations.get(op_id.lower())
                if op is not None and op.kind == "export":
                    return vs, op
        return None
