"""The Backup vault (Microsoft.DataProtection) routes: which path is which, and their replies.

``V = /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.DataProtection/backupVaults/{v}``
(any casing) serves ``V`` itself, ``V/backupJobs`` (nextLink paging, no ``$filter``: the service
has none), ``V/backupJobs/{id}``, ``V/backupInstances[/{bi}]``, ``V/backupPolicies[/{p}]``,
``POST V/backupInstances/{bi}/backup`` and ``V/operationStatus/{op}``; the subscription-level
``/subscriptions/{s}/providers/Microsoft.DataProtection/locations/{region}/operationStatus/{op}``
and ``.../operationResults/{op}`` serve the same operations, as the ``Location`` header of a
trigger points there. Cross-region-restore fetches live in :mod:`.crr_routes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from . import dpp_versions
from .dpp_model import PROVIDER, public_instance, vault_id
from .dpp_render import dpp_job_body
from .dpp_service import BackupVaultService, user_facing
from .limits import load_json
from .replies import Reply, ServiceError, empty_reply, json_reply
from .scenarios import job_state
from .state import Operation, VaultState
from .wire import UNSET_TIME, iso_timestamp

if TYPE_CHECKING:
    from .core import Emulator
    from .routes import Match, Request, Router

_ACTION: Final = "Microsoft.DataProtection/backupVaults/"


def match_dpp(
    segs: list[str], low: list[str]
) -> tuple[str, tuple[str, ...], str, dict[str, str]] | None:
    """(name, methods, action, params) of a DataProtection path, or None."""
    if len(low) < 6 or low[0] != "subscriptions":
        return None
    sub = segs[1]
    if low[2] == "providers" and low[3] == "microsoft.dataprotection" and low[4] == "locations":
        if len(low) == 8 and low[6] in ("operationstatus", "operationresults"):
            name = "dpp_location_status" if low[6] == "operationstatus" else "dpp_location_result"
            action = f"{PROVIDER}/locations/{segs[6]}/read"
            return name, ("GET",), action, {"subscription": sub, "region": segs[5], "op": segs[7]}
        return None
    if len(low) < 8 or low[2] != "resourcegroups" or low[4] != "providers":
        return None
    if low[5] != "microsoft.dataprotection" or low[6] != "backupvaults":
        return None
    base = {"subscription": sub, "resource_group": segs[3], "vault": segs[7]}
    rest, lrest = segs[8:], low[8:]
    n = len(rest)
    if n == 0:
        return "dpp_vault", ("GET",), f"{PROVIDER}/backupVaults/read", base
    head = lrest[0]
    if head == "backupjobs" and n in (1, 2):
        params = {**base, "job": rest[1]} if n == 2 else base
        return ("dpp_job" if n == 2 else "dpp_list"), ("GET",), _ACTION + "backupJobs/read", params
    if head == "backupinstances":
        if n == 1:
            return "dpp_instances", ("GET",), _ACTION + "backupInstances/read", base
        if n == 2:
            params = {**base, "instance": rest[1]}
            return "dpp_instance", ("GET",), _ACTION + "backupInstances/read", params
        if n == 3 and lrest[2] == "backup":
            params = {**base, "instance": rest[1]}
            return "dpp_trigger", ("POST",), _ACTION + "backupInstances/backup/action", params
    if head == "backuppolicies" and n in (1, 2):
        name = "dpp_policy" if n == 2 else "dpp_policies"
        params = {**base, "policy": rest[1]} if n == 2 else base
        return name, ("GET",), _ACTION + "backupPolicies/read", params
    if head == "operationstatus" and n == 2:
        params = {**base, "op": rest[1]}
        return "dpp_vault_status", ("GET",), _ACTION + "operationStatus/read", params
    return None


def _same_region(a: str, b: str) -> bool:
    """Region names compare without case and spaces (``West Europe`` is ``westeurope``)."""
    return a.replace(" ", "").lower() == b.replace(" ", "").lower()


class BackupVaultRoutes:
    """Replies of the Backup vault routes; the Router has checked the token and the verb."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.service = BackupVaultService(router.emulator)
        self._handlers: dict[str, Callable[[Request, Match, VaultState], Reply]] = {
            "dpp_vault": self._vault,
            "dpp_list": self._list,
            "dpp_job": self._job,
            "dpp_instances": self._instances,
            "dpp_instance": self._instance,
            "dpp_policies": self._policies,
            "dpp_policy": self._policy,
            "dpp_trigger": self._trigger,
            "dpp_vault_status": self._vault_status,
        }

    @property
    def emulator(self) -> Emulator:
        return self.router.emulator

    def handle(self, req: Request, m: Match) -> Reply:
        version = check_version(req)
        p = m.params
        if m.name in ("dpp_location_status", "dpp_location_result"):
            return self._location_operation(req, m, version)
        vs = self.service.vault(p["subscription"], p["resource_group"], p["vault"])
        return self._handlers[m.name](req, m, vs)

    # -- URLs ------------------------------------------------------------------------------------
    def vault_url(self, req: Request, vs: VaultState) -> str:
        return req.own_url + vault_id(vs.subscription, vs.resource_group, vs.vault)

    def _location_url(self, req: Request, vs: VaultState, what: str, op: Operation) -> str:
        return (
            f"{req.own_url}/subscriptions/{vs.subscription}/providers/{PROVIDER}/locations/"
            f"{vs.location}/{what}/{quote(op.op_id, safe='=+')}"
        )

    # -- vault, jobs ------------------------------------------------------------------------------
    def _vault(self, req: Request, m: Match, vs: VaultState) -> Reply:
        return json_reply(200, backup_vault_body(vs))

    def _list(self, req: Request, m: Match, vs: VaultState) -> Reply:
        now = self.emulator.now()
        dialect = dpp_versions.dialect_for(req.api_version or "")
        page, token = self.service.list_page(vs, req.query.get("$skiptoken"), now)
        body: dict[str, Any] = {
            "value": [dpp_job_body(s, st, shape="list", dialect=dialect) for s, st in page],
            "nextLink": None,
        }
        if token is not None:
            query = urlencode([("api-version", req.api_version or ""), ("$skipToken", token)])
            body["nextLink"] = f"{self.vault_url(req, vs)}/backupJobs?{query}"
        return json_reply(200, body)

    def _job(self, req: Request, m: Match, vs: VaultState) -> Reply:
        now = self.emulator.now()
        dialect = dpp_versions.dialect_for(req.api_version or "")
        with self.emulator.state.lock:
            s = self.service.job(vs, m.params["job"], now)
            body = dpp_job_body(s, job_state(s, now), shape="get", dialect=dialect)
        return json_reply(200, body)

    # -- instances and policies -------------------------------------------------------------------
    def _instances(self, req: Request, m: Match, vs: VaultState) -> Reply:
        with self.emulator.state.lock:
            value = [public_instance(i) for i in vs.items.values()]
        return json_reply(200, {"value": value, "nextLink": None})

    def _instance(self, req: Request, m: Match, vs: VaultState) -> Reply:
        return json_reply(200, public_instance(self.service.instance(vs, m.params["instance"])))

    def _policies(self, req: Request, m: Match, vs: VaultState) -> Reply:
        return json_reply(200, {"value": list(vs.policies.values()), "nextLink": None})

    def _policy(self, req: Request, m: Match, vs: VaultState) -> Reply:
        return json_reply(200, self.service.policy(vs, m.params["policy"]))

    # -- ad-hoc backup ----------------------------------------------------------------------------
    def _trigger(self, req: Request, m: Match, vs: VaultState) -> Reply:
        instance = self.service.instance(vs, m.params["instance"])
        try:
            body = load_json(req.body) if req.body.strip() else None
        except ValueError as err:
            raise user_facing(
                400,
                "UserErrorInvalidRequestParameter",
                f"The request body is not valid JSON: {err}.",
                ["Send an AdHocBackupRuleOptions body."],
            ) from None
        tag = self.service.check_backup_request(vs, instance, body)
        op = self.service.trigger_backup(vs, instance, tag, self.emulator.now())
        version = req.api_version or dpp_versions.DEFAULT_VERSION
        status_url = f"{self.vault_url(req, vs)}/operationStatus/{quote(op.op_id, safe='=+')}"
        return empty_reply(
            202,
            [
                ("Azure-AsyncOperation", f"{status_url}?api-version={version}"),
                (
                    "Location",
                    f"{self._location_url(req, vs, 'operationResults', op)}?api-version={version}",
                ),
                self.router.retry_after(),
            ],
        )

    # -- operations -------------------------------------------------------------------------------
    def _vault_status(self, req: Request, m: Match, vs: VaultState) -> Reply:
        op = self.service.operation(vs, m.params["op"])
        own_id = f"{vault_id(vs.subscription, vs.resource_group, vs.vault)}/operationStatus/"
        return json_reply(200, self._status_body(vs, op, own_id + op.op_id))

    def _location_operation(self, req: Request, m: Match, version: str) -> Reply:
        p = m.params
        vs, op = self.service.find_operation(p["subscription"], p["op"])
        if not _same_region(p["region"], vs.location):
            raise ServiceError(
                404,
                "UserErrorGenericResourceNotFound",
                "Azure resource does not exist. Please make sure required resources exist. If "
                "the issue persists, contact Microsoft support.",
                error={
                    "code": "UserErrorGenericResourceNotFound",
                    "message": f"The operation '{p['op']}' was not found in region "
                    f"'{p['region']}'.",
                    "target": None,
                    "details": None,
                },
            )
        if m.name == "dpp_location_status":
            own_id = (
                f"/subscriptions/{vs.subscription}/providers/{PROVIDER}/locations/"
                f"{vs.location}/operationStatus/{op.op_id}"
            )
            return json_reply(200, self._status_body(vs, op, own_id))
        if self.emulator.now() < op.done_at:
            return empty_reply(
                202,
                [
                    ("Location", f"{req.own_url}{req.path}?api-version={version}"),
                    self.router.retry_after(),
                ],
            )
        status_url = self._location_url(req, vs, "operationStatus", op)
        return json_reply(
            200,
            {"jobId": self._job_ref(vs, op), "objectType": "OperationJobExtendedInfo"},
            [("Azure-AsyncOperation", f"{status_url}?api-version={version}")],
        )

    def _job_ref(self, vs: VaultState, op: Operation) -> str:
        return f"{vault_id(vs.subscription, vs.resource_group, vs.vault)}/backupJobs/{op.job_id}"

    def _status_body(self, vs: VaultState, op: Operation, own_id: str) -> dict[str, Any]:
        """``Inprogress`` (lower-case p, as recorded) then ``Succeeded`` with the job's ARM id."""
        body: dict[str, Any] = {"id": own_id, "name": op.op_id}
        if self.emulator.now() < op.done_at:
            body.update(
                status="Inprogress", startTime=iso_timestamp(op.start), endTime=UNSET_TIME + "Z"
            )
            return body
        body.update(
            status="Succeeded",
            startTime=iso_timestamp(op.start),
            endTime=iso_timestamp(float(int(op.done_at) + 1)),
            properties={"jobId": self._job_ref(vs, op), "objectType": "OperationJobExtendedInfo"},
        )
        return body


def check_version(req: Request) -> str:
    """The request's DataProtection api-version, or ARM's 400."""
    return dpp_versions.BACKUP_VAULTS.require(req.api_version)


def backup_vault_body(vs: VaultState) -> dict[str, Any]:
    """The BackupVaultResource: what a client needs to tell the kind and the region."""
    return {
        "id": vault_id(vs.subscription, vs.resource_group, vs.vault),
        "name": vs.vault,
        "type": f"{PROVIDER}/backupVaults",
        "location": vs.location,
        "tags": {},
        "identity": {"type": "None"},
        "properties": {
            "provisioningState": "Succeeded",
            "resourceMoveState": "Unknown",
            "storageSettings": [{"datastoreType": "VaultStore", "type": "GeoRedundant"}],
            "securitySettings": {
                "softDeleteSettings": {"state": "On", "retentionDurationInDays": 14.0}
            },
            "featureSettings": {"crossRegionRestoreSettings": {"state": "Enabled"}},
            "isVaultProtectedByResourceGuard": False,
            "secureScore": "Adequate",
            "replicatedRegions": [],
        },
    }


__all__ = ["BackupVaultRoutes", "backup_vault_body", "check_version", "match_dpp"]
