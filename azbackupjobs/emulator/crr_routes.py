"""Secondary-region (cross-region restore) routes of both kinds of vault, and ARM's locations.

- ``GET /subscriptions/{s}/locations``: regions and their pairs (Microsoft.Resources).
- Recovery Services, passive-stamp api-versions only (2018-12-20, 2021-11-15, 2023-01-15):
  ``POST /subscriptions/{s}/providers/Microsoft.RecoveryServices/locations/{region}/backupCrrJobs``
  with ``{"resourceId": vaultId}`` (plus ``$filter`` as on the vault's list, nextLink paging:
  the link names the vault in its query, since clients follow it with a GET and no body),
  and ``.../backupCrrJob`` with ``{"resourceId", "jobName"}``; job ids come back under
  ``locations/{region}/backupJobs/{guid}``.
- Backup vaults: ``POST /subscriptions/{s}/resourceGroups/{rg}/providers/
  Microsoft.DataProtection/locations/{region}/fetchCrossRegionRestoreJob[s]`` with
  ``{jobId?, sourceRegion, sourceBackupVaultId}``.

``{region}`` must be the vault's paired region (from :mod:`.locations`); any other region is
refused with a 400 in each service's own shape (the exact wording is the emulator's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlencode

from . import dpp_versions, locations, tenancy
from .dpp_render import dpp_job_body
from .dpp_routes import check_version as check_dpp_version
from .dpp_service import NOT_FOUND_MESSAGE, rp_error, user_facing
from .limits import load_json
from .paging import next_link_query
from .render import job_body
from .replies import Reply, ServiceError, json_reply
from .scenarios import JobScenario, job_state
from .state import BACKUP_VAULT, DPP_CRR, RS_CRR, VaultState
from .versions import PASSIVE_STAMP_VERSIONS, dialect_for

if TYPE_CHECKING:
    from .routes import Match, Request, Router

_RS_PROVIDER: Final = "microsoft.recoveryservices"
_DPP_PROVIDER: Final = "microsoft.dataprotection"


Found = tuple[str, tuple[str, ...], str, dict[str, str]]


def match_crr(segs: list[str], low: list[str]) -> Found | None:
    """(name, methods, action, params) of a locations or CRR path, or None."""
    if len(low) == 3 and low[0] == "subscriptions" and low[2] == "locations":
        params = {"subscription": segs[1]}
        return "locations", ("GET",), "Microsoft.Resources/subscriptions/locations/read", params
    if (
        len(low) == 7
        and low[0] == "subscriptions"
        and low[2] == "providers"
        and low[3] == _RS_PROVIDER
        and low[4] == "locations"
        and low[6] in ("backupcrrjobs", "backupcrrjob")
    ):
        action = f"Microsoft.RecoveryServices/locations/{segs[6]}/action"
        params = {"subscription": segs[1], "region": segs[5]}
        if low[6] == "backupcrrjob":
            return "crr_rs_job", ("POST",), action, params
        # The SDKs follow the list's nextLink with a GET: the link carries the vault.
        return "crr_rs_list", ("POST", "GET"), action, params
    if (
        len(low) == 9
        and low[0] == "subscriptions"
        and low[2] == "resourcegroups"
        and low[4] == "providers"
        and low[5] == _DPP_PROVIDER
        and low[6] == "locations"
        and low[8] in ("fetchcrossregionrestorejob", "fetchcrossregionrestorejobs")
    ):
        name = "crr_dpp_list" if low[8].endswith("jobs") else "crr_dpp_job"
        params = {"subscription": segs[1], "resource_group": segs[3], "region": segs[7]}
        return name, ("POST",), f"Microsoft.DataProtection/locations/{segs[8]}/action", params
    return None


def _vault_id_parts(vault_id: str, provider: str, vault_type: str) -> tuple[str, str, str] | None:
    """(subscription, group, vault) of ``/subscriptions/s/resourceGroups/g/providers/P/T/v``."""
    parts = [unquote(p) for p in vault_id.split("/") if p]
    low = [p.lower() for p in parts]
    if (
        len(parts) != 8
        or low[0] != "subscriptions"
        or low[2] != "resourcegroups"
        or low[4] != "providers"
        or low[5] != provider
        or low[6] != vault_type
    ):
        return None
    return parts[1], parts[3], parts[7]


def _vault_path(vs: VaultState) -> str:
    return (
        f"/subscriptions/{vs.subscription}/resourceGroups/{vs.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{vs.vault}"
    )


class CrossRegionRoutes:
    """Replies of the locations and CRR routes; the Router has checked the token and verb."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.emulator = router.emulator

    def handle(self, req: Request, m: Match) -> Reply:
        if m.name == "locations":
            return self._locations(req, m)
        if m.name.startswith("crr_rs"):
            return self._recovery_services(req, m)
        return self._backup_vault(req, m)

    # -- ARM locations ---------------------------------------------------------------------------
    def _locations(self, req: Request, m: Match) -> Reply:
        version = req.api_version
        if version is None or not version.strip() or not tenancy.RESOURCES.is_supported(version):
            raise ServiceError(
                400,
                "InvalidApiVersionParameter" if version else "MissingApiVersionParameter",
                f"The api-version '{version or ''}' is invalid. The supported versions are "
                f"'{tenancy.RESOURCES.supported_list()}'.",
            )
        subscription = m.params["subscription"]
        self.emulator.check_subscription(subscription)
        return json_reply(200, locations.list_locations(subscription))

    # -- Recovery Services -----------------------------------------------------------------------
    def _body(self, req: Request) -> dict[str, Any]:
        try:
            data = load_json(req.body or b"null")
        except ValueError as err:
            raise ServiceError(
                400, "BMSUserErrorInvalidInput", f"Input provided for the call is invalid: {err}."
            ) from None
        if not isinstance(data, dict):
            raise ServiceError(
                400,
                "BMSUserErrorInvalidInput",
                "Input provided for the call is invalid: the body must be a CrrJobRequest.",
            )
        return data

    def _rs_vault(self, req: Request, m: Match) -> tuple[VaultState, str]:
        """(the source vault's CRR jobs, api-version) after every check the service makes."""
        version = req.api_version or ""
        if version.strip().lower() not in PASSIVE_STAMP_VERSIONS:
            raise ServiceError(
                400,
                "InvalidApiVersionParameter" if version else "MissingApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are "
                f"'{','.join(PASSIVE_STAMP_VERSIONS)}'.",
            )
        self.emulator.check_subscription(m.params["subscription"])
        body = self._body(req) if req.method == "POST" else {}
        resource_id = body.get("resourceId", req.query.get("resourceid"))
        parts = (
            _vault_id_parts(resource_id, _RS_PROVIDER, "vaults")
            if isinstance(resource_id, str)
            else None
        )
        if parts is None:
            raise ServiceError(
                400,
                "BMSUserErrorInvalidInput",
                "Input provided for the call is invalid: resourceId must be the ARM id of a "
                "Recovery Services vault.",
            )
        vs = self.emulator.vault(*parts)
        if parts[0].lower() != m.params["subscription"].lower():
            raise ServiceError(
                400,
                "BMSUserErrorInvalidInput",
                "Input provided for the call is invalid: the vault is not in this subscription.",
            )
        self._check_rs_region(vs, m.params["region"])
        store = self.emulator.state.add_vault(vs.subscription, vs.resource_group, vs.vault, RS_CRR)
        return store, version.strip()

    def _check_rs_region(self, vs: VaultState, region: str) -> None:
        paired = locations.paired_region(vs.location)
        if paired is None or locations.normalize(region) != paired:
            raise ServiceError(
                400,
                "BMSUserErrorCrossRegionRestoreInvalidRegion",
                f"Cross region restore jobs of vault '{vs.vault}' are kept in its secondary "
                f"region '{paired or 'none'}', not in '{region}'."
                if paired
                else f"Vault '{vs.vault}' in '{vs.location}' has no secondary region.",
            )

    def _rs_body(
        self, s: JobScenario, now: float, version: str, region: str, *, detail: bool
    ) -> dict[str, Any]:
        with self.emulator.state.lock:
            body = job_body(s, job_state(s, now), now, detail=detail, dialect=dialect_for(version))
        body["id"] = (
            f"/subscriptions/{s.subscription}/providers/Microsoft.RecoveryServices/locations/"
            f"{locations.normalize(region)}/backupJobs/{s.job_id}"
        )
        return body

    def _recovery_services(self, req: Request, m: Match) -> Reply:
        store, version = self._rs_vault(req, m)
        now = self.emulator.now()
        region = m.params["region"]
        if m.name == "crr_rs_job":
            name = self._body(req).get("jobName")
            s = self.emulator.job(store, name if isinstance(name, str) else "", now)
            return json_reply(200, self._rs_body(s, now, version, region, detail=True))
        filter_text = req.query.get("$filter")
        page, token = self.emulator.filtered_page(
            store, filter_text, req.query.get("$skiptoken"), now
        )
        body: dict[str, Any] = {
            "value": [self._rs_body(s, now, version, region, detail=False) for s, _ in page]
        }
        if token is not None:
            params = next_link_query(version, filter_text, token)
            params.append(("resourceId", _vault_path(store)))
            body["nextLink"] = f"{req.own_url}{req.path}?{urlencode(params)}"
        return json_reply(200, body)

    # -- Backup vaults ---------------------------------------------------------------------------
    def _backup_vault(self, req: Request, m: Match) -> Reply:
        version = check_dpp_version(req)
        p = m.params
        self.emulator.check_scope(p["subscription"], p["resource_group"])
        try:
            body = load_json(req.body or b"null")
        except ValueError as err:
            raise user_facing(
                400,
                "UserErrorInvalidRequestParameter",
                f"The request body is not valid JSON: {err}.",
                ["Send a CrossRegionRestoreJobRequest body."],
            ) from None
        if not isinstance(body, dict):
            body = {}
        vault_id, source = body.get("sourceBackupVaultId"), body.get("sourceRegion")
        parts = (
            _vault_id_parts(vault_id, _DPP_PROVIDER, "backupvaults")
            if isinstance(vault_id, str)
            else None
        )
        if parts is None or not isinstance(source, str):
            raise user_facing(
                400,
                "UserErrorMissingRequiredParameter",
                "Parameters sourceBackupVaultId (the ARM id of a Backup vault) and sourceRegion "
                "are required.",
                ["Provide the source Backup vault's ARM id and its region."],
            )
        vs = self.emulator.state.find_vault(*parts, BACKUP_VAULT)
        if vs is None:
            raise rp_error(404, "UserErrorGenericResourceNotFound", NOT_FOUND_MESSAGE)
        paired = locations.paired_region(vs.location)
        if locations.normalize(source) != locations.normalize(vs.location) or (
            paired is None or locations.normalize(p["region"]) != paired
        ):
            raise user_facing(
                400,
                "UserErrorCrossRegionRestoreInvalidRegion",
                f"Backup vault '{vs.vault}' is in '{vs.location}' and its cross region restore "
                f"jobs are in '{paired or 'no secondary region'}'; the request names source "
                f"region '{source}' and secondary region '{p['region']}'.",
                ["Send the request to the vault's paired region, with the vault's region as "
                 "sourceRegion."],
            )  # fmt: skip
        store = self.emulator.state.add_vault(vs.subscription, vs.resource_group, vs.vault, DPP_CRR)
        dialect = dpp_versions.dialect_for(version)
        now = self.emulator.now()
        if m.name == "crr_dpp_job":
            job_id = body.get("jobId")
            with self.emulator.state.lock:
                found = store.jobs.get(job_id.lower()) if isinstance(job_id, str) else None
                if found is None or found.start > now:
                    raise rp_error(404, "UserErrorGenericResourceNotFound", NOT_FOUND_MESSAGE)
                return json_reply(
                    200, dpp_job_body(found, job_state(found, now), shape="crr", dialect=dialect)
                )
        with self.emulator.state.lock:
            value = [
                dpp_job_body(s, job_state(s, now), shape="crr-list", dialect=dialect)
                for s in store.iter_from(None)
                if s.start <= now
            ]
        return json_reply(200, {"value": value})


__all__ = ["CrossRegionRoutes", "match_crr"]
