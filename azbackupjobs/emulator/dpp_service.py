"""The DataProtection service behind Backup vault routes: lookups, the job list, ad-hoc backups.

An ad-hoc backup of an instance whose backup still runs is refused, as a Recovery Services
item's is (the code and wording are the emulator's: no refusal of this kind was recorded).

It shares the clock, the state, the seeded RNG and the page size with the Recovery Services
service (:class:`~.core.Emulator`), and raises :class:`~.replies.ServiceError` in the
DataProtection RP's shapes: ``{"error": {"code", "message", "target": null, "details": null}}``
for a missing resource, the UserFacingError envelope for a refused request.
"""

from __future__ import annotations

import base64
import bisect
from typing import Any, Final

from .backup_now import IN_PROGRESS_MESSAGE, TRIGGER_LATENCY_SECONDS, busy
from .core import GUID_RE, Emulator
from .dpp_model import DppJobSpec, backup_rules, build_dpp_job, policy_tags
from .filters import JobFilter
from .paging import decode_token, encode_token
from .replies import ServiceError
from .scenarios import JobScenario, JobState, job_state
from .state import BACKUP_VAULT, Operation, VaultState, sort_key

# How long an ad-hoc backup runs (emulated seconds) by datasource; the recordings' durations.
BACKUP_SECONDS: Final = {
    "disk": 216.0, "blob": 95.0, "aks": 216.0, "pgflex": 900.0, "pgsingle": 130.0,
    "mysql": 125.0, "adls": 380.0,
}  # fmt: skip
NOT_FOUND_MESSAGE: Final = (
    "Azure resource does not exist. Please make sure required resources exist. If the issue "
    "persists, contact Microsoft support."
)


def rp_error(status: int, code: str, message: str) -> ServiceError:
    """The DataProtection RP's short error form (``target`` and ``details`` null)."""
    return ServiceError(
        status,
        code,
        message,
        error={"code": code, "message": message, "target": None, "details": None},
    )


def user_facing(status: int, code: str, message: str, actions: list[str]) -> ServiceError:
    """The DataProtection RP's UserFacingError envelope (as its 400s and 500s carry it)."""
    info = {
        "message": message,
        "recommendedAction": actions,
        "details": None,
        "code": code,
        "target": "",
        "innerError": None,
        "isRetryable": False,
        "isUserError": True,
        "properties": None,
    }
    return ServiceError(
        status,
        code,
        message,
        error={
            "additionalInfo": [{"type": "UserFacingError", "info": info}],
            "code": code,
            "message": message,
            "target": None,
            "details": None,
        },
    )


def operation_id(first: str, second: str) -> str:
    """The RP's operation ids: base64 of ``"<guid>;<guid>"``."""
    return base64.b64encode(f"{first};{second}".encode("ascii")).decode("ascii")


class BackupVaultService:
    """Backup vaults of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.state = emulator.state

    # -- lookups ---------------------------------------------------------------------------------
    def vault(self, subscription: str, resource_group: str, vault: str) -> VaultState:
        """The Backup vault, or ARM's 400/404 for the subscription, the group or the vault."""
        return self.emulator.vault(subscription, resource_group, vault, BACKUP_VAULT)

    def job(self, vs: VaultState, name: str, now: float) -> JobScenario:
        with self.state.lock:
            found = self.state.find_job(vs, name) if GUID_RE.match(name) else None
            if found is None or found.start > now:
                raise rp_error(404, "UserErrorGenericResourceNotFound", NOT_FOUND_MESSAGE)
            return found

    def instance(self, vs: VaultState, name: str) -> dict[str, Any]:
        found = vs.items.get(name.lower())
        if found is None:
            raise rp_error(404, "UserErrorGenericResourceNotFound", NOT_FOUND_MESSAGE)
        return found

    def policy(self, vs: VaultState, name: str) -> dict[str, Any]:
        found = vs.policies.get(name.lower())
        if found is None:
            raise rp_error(404, "UserErrorGenericResourceNotFound", NOT_FOUND_MESSAGE)
        return found

    def list_page(
        self, vs: VaultState, token: str | None, now: float
    ) -> tuple[list[tuple[JobScenario, JobState]], str | None]:
        """One page (the service has no $filter: every visible job, newest first unless
        ``oldest_first``)."""
        size = self.emulator.backup_vault_page_size or self.emulator.page_size
        try:
            if self.emulator.backup_vault_oldest_first:
                return self._oldest_first_page(vs, token, size, now)
            return self.emulator.list_page(vs, JobFilter(), token, size, now)
        except (ServiceError, ValueError):
            raise rp_error(
                400, "UserErrorInvalidRequestParameter", "The continuation token is not valid."
            ) from None

    def _oldest_first_page(
        self, vs: VaultState, token: str | None, size: int, now: float
    ) -> tuple[list[tuple[JobScenario, JobState]], str | None]:
        """Keyset paging backwards through the list order: the token names the next job."""
        with self.state.lock:
            index = len(vs.order) - 1
            if token:
                ticks, job_id = decode_token(token)
                index = bisect.bisect_left(vs.order, (-ticks, job_id))
                if index >= len(vs.order) or vs.order[index] != (-ticks, job_id):
                    raise ValueError("no such job")
            page: list[tuple[JobScenario, JobState]] = []
            for _, job_id in reversed(vs.order[: index + 1]):
                s = vs.jobs[job_id]
                if s.start > now:
                    continue  # not started yet: not visible
                if len(page) == size:
                    ticks = -sort_key(s)[0]
                    return page, encode_token(ticks, s.job_id)
                page.append((s, job_state(s, now)))
        return page, None

    # -- ad-hoc backup ---------------------------------------------------------------------------
    def check_backup_request(self, vs: VaultState, instance: dict[str, Any], body: Any) -> str:
        """The retention tag of a valid ``backupRuleOptions`` body; the RP's 400 otherwise."""
        options = body.get("backupRuleOptions") if isinstance(body, dict) else None
        if not isinstance(options, dict) or not isinstance(options.get("ruleName"), str):
            raise user_facing(
                400,
                "UserErrorMissingRequiredParameter",
                "Parameter backupRuleOptions.ruleName is missing in the request.",
                ["Provide the name of a backup rule of the backup instance's policy."],
            )
        trigger = options.get("triggerOption") or {}
        tag = trigger.get("retentionTagOverride") if isinstance(trigger, dict) else None
        policy_name = instance["properties"]["policyInfo"]["policyId"].rsplit("/", 1)[-1]
        policy = self.policy(vs, policy_name)
        tags = policy_tags(policy, options["ruleName"])
        if tags is None:
            raise user_facing(
                400,
                "UserErrorInvalidBackupRuleName",
                f"Backup rule '{options['ruleName']}' is not present in policy "
                f"'{policy['name']}'. Backup rules of the policy: "
                f"{', '.join(backup_rules(policy))}.",
                ["Use the name of a backup rule of the policy assigned to the backup instance."],
            )
        if tag is None:
            return "Default"
        if not isinstance(tag, str) or tag.lower() not in {t.lower() for t in tags}:
            raise user_facing(
                400,
                "UserErrorInvalidRetentionTag",
                f"Retention tag '{tag}' is not defined in backup rule '{options['ruleName']}' "
                f"of policy '{policy['name']}'. Tags of the rule: {', '.join(tags)}.",
                ["Use a retention tag (tagging criteria) of the backup rule."],
            )
        return tag

    def trigger_backup(
        self, vs: VaultState, instance: dict[str, Any], tag: str, now: float
    ) -> Operation:
        """Start the job a moment later; the operation reports it as a full ARM id."""
        start = now + TRIGGER_LATENCY_SECONDS
        ds = instance["emulator"]["datasource"]
        with self.state.lock:
            if busy(vs, instance["properties"]["friendlyName"], now):
                raise user_facing(
                    400,
                    "UserErrorBackupOperationInProgress",
                    IN_PROGRESS_MESSAGE,
                    ["Wait for the backup in progress to complete, then retry."],
                )
            with self.emulator.rng_lock:
                job = build_dpp_job(
                    self.emulator.rng,
                    vs,
                    instance=instance,
                    start=start,
                    spec=DppJobSpec(seconds=BACKUP_SECONDS.get(ds, 200.0), retention_tag=tag),
                )
            self.state.add_jobs([job])
            op = Operation(
                op_id=operation_id(self.emulator.guid(), self.emulator.guid()),
                kind="dpp-backup",
                start=now,
                done_at=start,
                job_id=job.job_id,
                item=instance["name"],
            )
            vs.operations[op.op_id] = op
        self.emulator.save()
        return op

    def operation(self, vs: VaultState, op_id: str) -> Operation:
        found = vs.operations.get(op_id)
        if found is None or not found.kind.startswith("dpp"):
            raise rp_error(404, "UserErrorGenericResourceNotFound", NOT_FOUND_MESSAGE)
        return found

    def find_operation(self, subscription: str, op_id: str) -> tuple[VaultState, Operation]:
        """An operation of any Backup vault of the subscription (the ``locations/`` URLs)."""
        self.emulator.check_subscription(subscription)
        with self.state.lock:
            for vs in self.state.all_vaults((BACKUP_VAULT,)):
                found = vs.operations.get(op_id)
                if vs.subscription.lower() == subscription.lower() and found is not None:
                    return vs, found
        raise rp_error(404, "UserErrorGenericResourceNotFound", NOT_FOUND_MESSAGE)
