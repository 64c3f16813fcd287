"""ARM's side of every request: which route, which checks in which order, which reply.

Matching is case-insensitive (``/Subscriptions/``, ``microsoft.recoveryservices`` and
``backupoperations`` all work, as on ARM) and path segments are percent-decoded (clients send
``IaasVMContainer%3Biaasvmcontainerv2%3B...``). Checks run in ARM's order: bearer token, route,
verb, api-version, subscription, resource group, vault, then the resource itself. The bearer token
is the emulator's fixed token or one its managed-identity endpoint issued (see ``tokens``).
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlencode

from . import cloud, tenancy, tokens
from .core import Emulator, checked_filter
from .crr_routes import CrossRegionRoutes, match_crr
from .defaults import DEFAULT_API_VERSION, DEFAULT_TENANT, RETRY_AFTER_ACCEPTED
from .dpp_routes import BackupVaultRoutes, match_dpp
from .faults import scaled_retry_after
from .filters import parse_filter
from .paging import next_link_query
from .protected_items import list_page as items_page
from .protected_items import parse_item_filter
from .render import job_body
from .replies import Reply, ServiceError, empty_reply, json_reply
from .resource_graph import ResourceGraph
from .scenarios import JobScenario, job_state
from .state import Operation, VaultState
from .versions import CANCEL_ASYNC_OPERATION_VERSION, RECOVERY_SERVICES, dialect_for
from .wire import UNSET_TIME, iso_timestamp

_ACTION = "Microsoft.RecoveryServices/vaults/"
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-\[\]:]+$")


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    # Lower-case header names.
    headers: Mapping[str, str]
    body: bytes = b""
    # scheme://host:port of the emulator, for URLs when the Host header is unusable.
    base_url: str = ""
    query: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        # Query keys are case-insensitive ($skipToken / $skiptoken); the last value wins.
        self.query = {k.lower(): v for k, v in parse_qsl(self.query_string, keep_blank_values=True)}

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")

    def header(self, name: str) -> str | None:
        """Header names are case-insensitive; ``headers`` has them in lower case."""
        return self.headers.get(name.lower())

    @property
    def own_url(self) -> str:
        """The emulator as the client addressed it (what URLs in replies point at)."""
        host = self.header("Host")
        if host and _HOST_RE.match(host):
            scheme = self.base_url.split("://", 1)[0] or "http"
            return f"{scheme}://{host}"
        return self.base_url


@dataclass(frozen=True)
class Match:
    name: str
    methods: tuple[str, ...]
    action: str
    params: dict[str, str]
    # ARM requests need a bearer token and an api-version; metadata, identity and blobs do not.
    arm: bool = True
    # Metadata and the identity endpoint never get injected faults.
    exempt: bool = False


def match(path: str) -> Match | None:
    """Which route a path is, or None for an unknown path."""
    segs = [unquote(p) for p in path.split("/") if p]
    low = [s.lower() for s in segs]
    if low == ["metadata", "endpoints"]:
        return Match("metadata", ("GET",), "metadata", {}, arm=False, exempt=True)
    if "/" + "/".join(low) == cloud.MSI_PATH:
        return Match("identity", ("GET",), "identity", {}, arm=False, exempt=True)
    if len(low) == 2 and low[0] == "exportblobs":
        return Match("blob", ("GET",), "blob", {"name": segs[1]}, arm=False, exempt=True)
    if low == ["providers", "microsoft.resourcegraph", "resources"]:
        return Match("resource_graph", ("POST",), "Microsoft.ResourceGraph/resources/read", {})
    if low == ["subscriptions"]:
        return Match("subscriptions", ("GET",), "Microsoft.Resources/subscriptions/read", {})
    if len(low) == 2 and low[0] == "subscriptions":
        return Match(
            "subscription",
            ("GET",),
            "Microsoft.Resources/subscriptions/read",
            {"subscription": segs[1]},
        )
    if low == ["tenants"]:
        return Match("tenants", ("GET",), "Microsoft.Resources/tenants/read", {})
    found = match_dpp(segs, low) or match_crr(segs, low)
    if found is not None:
        return Match(*found)
    if (
        len(low) < 8
        or low[0] != "subscriptions"
        or low[2] != "resourcegroups"
        or low[4] != "providers"
        or low[5] != "microsoft.recoveryservices"
        or low[6] != "vaults"
    ):
        return None
    base = {"subscription": segs[1], "resource_group": segs[3], "vault": segs[7]}
    rest, low_rest = segs[8:], low[8:]
    n = len(rest)

    def route(name: str, methods: tuple[str, ...], action: str, **extra: str) -> Match:
        return Match(name, methods, _ACTION + action, {**base, **extra})

    if n == 0:
        return Match("vault", ("GET",), "Microsoft.RecoveryServices/vaults/read", base)
    head = low_rest[0]
    if head == "backupjobs":
        if n == 1:
            return route("list", ("GET",), "backupJobs/read")
        if n == 3 and low_rest[1] == "operationresults":
            return route(
                "export_result", ("GET",), "backupJobsExport/operationResults/read", op=rest[2]
            )
        if n == 2:
            return route("job", ("GET",), "backupJobs/read", job=rest[1])
        if n == 3 and low_rest[2] == "cancel":
            return route("cancel", ("POST",), "backupJobs/cancel/action", job=rest[1])
        if n == 4 and low_rest[2] == "operationresults":
            return route(
                "cancel_result",
                ("GET",),
                "backupJobs/operationResults/read",
                job=rest[1],
                op=rest[3],
            )
        if n == 4 and low_rest[2] == "operationsstatus":
            return route(
                "cancel_status",
                ("GET",),
                "backupJobs/operationsStatus/read",
                job=rest[1],
                op=rest[3],
            )
        return None
    if head == "backupprotecteditems" and n == 1:
        return route("items", ("GET",), "backupProtectedItems/read")
    if head == "backupjobsexport" and n == 1:
        return route("export", ("POST",), "backupJobsExport/action")
    if head == "backupoperations" and n == 2:
        return route("operation_status", ("GET",), "backupOperations/read", op=rest[1])
    if head == "backupoperationresults" and n == 2:
        return route("operation_result", ("GET",), "backupOperationResults/read", op=rest[1])
    if (
        head == "backupfabrics"
        and n in (7, 8)
        and low_rest[2] == "protectioncontainers"
        and low_rest[4] == "protecteditems"
    ):
        item = {"fabric": rest[1], "container": rest[3], "item": rest[5]}
        if n == 7 and low_rest[6] == "backup":
            return route(
                "trigger",
                ("POST",),
                "backupFabrics/protectionContainers/protectedItems/backup/action",
                **item,
            )
        if n == 8 and low_rest[6] == "operationsstatus":
            return route(
                "item_status",
                ("GET",),
                "backupFabrics/protectionContainers/protectedItems/operationsStatus/read",
                op=rest[7],
                **item,
            )
        if n == 8 and low_rest[6] == "operationresults":
            return route(
                "item_result",
                ("GET",),
                "backupFabrics/protectionContainers/protectedItems/operationResults/read",
                op=rest[7],
                **item,
            )
    return None


class Router:
    """Turns a request into a reply. Faults and sockets are the server's business."""

    def __init__(
        self,
        emulator: Emulator,
        *,
        token: str,
        identity_header: str,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.emulator = emulator
        self.token = token
        self.identity_header = identity_header
        # Token lifetimes are real time (the client's clock), not emulated time.
        self.wall_clock = wall_clock
        self.resource_graph = ResourceGraph(emulator)
        self.backup_vaults = BackupVaultRoutes(self)
        self.cross_region = CrossRegionRoutes(self)
        self._handlers: dict[str, Callable[[Request, Match, VaultState], Reply]] = {
            "vault": self._vault,
            "list": self._list,
            "job": self._job,
            "cancel": self._cancel,
            "cancel_result": self._cancel_result,
            "cancel_status": self._operation_status,
            "export": self._export,
            "export_result": self._export_result,
            "operation_status": self._operation_status,
            "operation_result": self._operation_result,
            "trigger": self._trigger,
            "items": self._items,
            "item_status": self._operation_status,
            "item_result": self._operation_result,
        }

    @property
    def speed(self) -> float:
        return self.emulator.clock.speed

    def handle(self, req: Request, m: Match | None) -> Reply:
        try:
            return self._handle(req, m)
        except ServiceError as err:
            return err.reply()
        except RecursionError:
            # A body or query nested past every explicit bound still gets a client error.
            return ServiceError(
                400,
                "InvalidRequestContent",
                "The request is nested too deeply to be processed.",
            ).reply()

    def authenticate(self, req: Request, m: Match | None) -> Reply | None:
        """The 401 for a request that needs a bearer token and lacks a valid one, else None.

        It reads the headers only, so that the server can refuse a request before reading (and
        buffering) its body.
        """
        if m is not None and not m.arm:
            return None
        try:
            self._check_auth(req)
        except ServiceError as err:
            return err.reply()
        return None

    def _handle(self, req: Request, m: Match | None) -> Reply:
        if m is not None and not m.arm:
            return self._side_endpoint(req, m)
        self._check_auth(req)
        if m is None:
            raise ServiceError(
                404,
                "NotFound",
                f"The requested path '{req.path}' does not match any route of the Backup jobs API.",
            )
        if req.method not in m.methods:
            raise ServiceError(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{req.method}'.",
                headers=[("Allow", ", ".join(m.methods))],
            )
        if m.name == "resource_graph":  # its own api-versions, quota and errors
            principal = req.header("Authorization") or ""
            return self.resource_graph.handle(req.body, req.api_version, principal)
        if m.name in tenancy.ROUTES:  # Microsoft.Resources, with its own api-versions
            return self._tenancy(req, m)
        if m.name.startswith("dpp_"):  # Microsoft.DataProtection, with its own api-versions
            return self.backup_vaults.handle(req, m)
        if m.name == "locations" or m.name.startswith("crr_"):  # each with its own versions
            return self.cross_region.handle(req, m)
        RECOVERY_SERVICES.require(req.api_version)
        p = m.params
        vs = self.emulator.vault(p["subscription"], p["resource_group"], p["vault"])
        return self._handlers[m.name](req, m, vs)

    # -- checks --------------------------------------------------------------------------------
    def _check_auth(self, req: Request) -> None:
        value = req.header("Authorization")
        code = "InvalidAuthenticationToken"
        if value is None:
            detail = "The authentication failed because of missing 'Authorization' header."
        elif not value.startswith("Bearer "):
            detail = "The 'Authorization' header is not a bearer token."
        elif hmac.compare_digest(value.encode("utf-8", "replace"), f"Bearer {self.token}".encode()):
            return
        else:
            claims = tokens.issued_claims(self.token, value[len("Bearer ") :].strip())
            if claims is None:
                detail = "The access token is invalid."
            else:
                code, detail = self._issued_token_problem(req, claims)
                if not code:
                    return
        raise ServiceError(
            401,
            code,
            detail,
            headers=[
                (
                    "WWW-Authenticate",
                    f'Bearer authorization_uri="{req.own_url}/", error="invalid_token", '
                    f'error_description="{detail}"',
                )
            ],
        )

    def _issued_token_problem(self, req: Request, claims: dict[str, object]) -> tuple[str, str]:
        """("", "") for a usable issued token, else ARM's error code and message."""
        now = self.wall_clock()
        exp = tokens.expiry(claims)
        if exp is None or exp <= now:
            shown = tokens.arm_time(exp) if exp is not None else "unknown"
            return (
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{shown}' is earlier than current UTC time "
                f"'{tokens.arm_time(now)}'.",
            )
        audience = claims.get("aud")
        if not tokens.audience_allowed(audience, (req.own_url, req.base_url)):
            # The audience is whatever the client asked for; it also goes into a header.
            shown_aud = "".join(c for c in str(audience) if c.isprintable() and c != '"')[:200]
            return (
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource "
                f"'{shown_aud}'. It should exactly match with one of the allowed audiences "
                f"{tokens.allowed_audiences_text()}.",
            )
        return "", ""

    # -- metadata, identity, export blobs (no bearer token) ----------------------------------------
    def _side_endpoint(self, req: Request, m: Match) -> Reply:
        if req.method not in m.methods:
            return json_reply(405, {"error": {"code": "MethodNotAllowed", "message": req.method}})
        if m.name == "metadata":
            return json_reply(200, cloud.metadata_document(req.own_url, req.api_version))
        if m.name == "identity":
            return cloud.identity_token(
                header=req.header("X-IDENTITY-HEADER"),
                expected_header=self.identity_header,
                resource=req.query.get("resource"),
                api_version=req.api_version,
                client_id=req.query.get("client_id"),
                issue=lambda resource, client_id: tokens.issue(
                    self.token,
                    audience=resource,
                    issuer=f"{req.own_url}/{DEFAULT_TENANT}/",
                    now=self.wall_clock(),
                    client_id=client_id,
                ),
            )
        return self._blob(req, m)

    # -- subscriptions and tenants -----------------------------------------------------------------
    def _tenancy(self, req: Request, m: Match) -> Reply:
        tenancy.RESOURCES.require(req.api_version)
        state = self.emulator.state
        if m.name == "subscriptions":
            return json_reply(200, tenancy.list_subscriptions(state))
        if m.name == "subscription":
            return json_reply(200, tenancy.get_subscription(state, m.params["subscription"]))
        return json_reply(200, tenancy.list_tenants())

    # -- URLs ------------------------------------------------------------------------------------
    def _vault_url(self, req: Request, vs: VaultState) -> str:
        return (
            f"{req.own_url}/subscriptions/{vs.subscription}/resourceGroups/{vs.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{vs.vault}"
        )

    def _version(self, req: Request) -> str:
        return req.api_version or DEFAULT_API_VERSION

    def retry_after(self) -> tuple[str, str]:
        """Retry-After of a 202: the service's 60 s, scaled to the emulated speed."""
        return self._retry_after()

    def _retry_after(self) -> tuple[str, str]:
        return ("Retry-After", str(scaled_retry_after(RETRY_AFTER_ACCEPTED, self.speed)))

    # -- vault and jobs ----------------------------------------------------------------------------
    def _vault(self, req: Request, m: Match, vs: VaultState) -> Reply:
        vault_id = self._vault_url(req, vs)[len(req.own_url) :]
        return json_reply(
            200,
            {
                "location": vs.location,
                "name": vs.vault,
                "etag": f"W/\"datetime'{iso_timestamp(self.emulator.now()).replace(':', '%3A')}'\"",
                "tags": {},
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateEndpointStateForBackup": "None",
                },
                "id": vault_id,
                "type": "Microsoft.RecoveryServices/vaults",
                "sku": {"name": "RS0", "tier": "Standard"},
            },
        )

    def _list(self, req: Request, m: Match, vs: VaultState) -> Reply:
        filter_text = req.query.get("$filter")
        now = self.emulator.now()
        dialect = dialect_for(self._version(req))
        page, token = self.emulator.filtered_page(vs, filter_text, req.query.get("$skiptoken"), now)
        body: dict[str, object] = {
            "value": [job_body(s, st, now, detail=False, dialect=dialect) for s, st in page]
        }
        if token is not None:
            query = urlencode(next_link_query(self._version(req), filter_text, token))
            body["nextLink"] = f"{self._vault_url(req, vs)}/backupJobs?{query}"
        return json_reply(200, body)

    def _job(self, req: Request, m: Match, vs: VaultState) -> Reply:
        now = self.emulator.now()
        s = self.emulator.job(vs, m.params["job"], now)
        return json_reply(200, self.render(s, now, self._version(req)))

    def render(self, s: JobScenario, now: float, api_version: str) -> dict[str, object]:
        with self.emulator.state.lock:
            return job_body(
                s, job_state(s, now), now, detail=True, dialect=dialect_for(api_version)
            )

    # -- cancel ----------------------------------------------------------------------------------
    def _cancel(self, req: Request, m: Match, vs: VaultState) -> Reply:
        now = self.emulator.now()
        s = self.emulator.job(vs, m.params["job"], now)
        op = self.emulator.cancel(vs, s, now)
        job_url = f"{self._vault_url(req, vs)}/backupJobs/{s.job_id}"
        return empty_reply(
            202,
            [
                (
                    "Location",
                    f"{job_url}/operationResults/{op.op_id}?api-version={self._version(req)}",
                ),
                (
                    "Azure-AsyncOperation",
                    f"{job_url}/operationsStatus/{op.op_id}?api-version={CANCEL_ASYNC_OPERATION_VERSION}",
                ),
                self._retry_after(),
            ],
        )

    def _cancel_result(self, req: Request, m: Match, vs: VaultState) -> Reply:
        # The job segment may be the job id or, as PowerShell sends it, the literal "Azure".
        op = self.emulator.operation(vs, m.params["op"])
        return self._result(req, op)

    # -- operations ------------------------------------------------------------------------------
    def _operation_status(self, req: Request, m: Match, vs: VaultState) -> Reply:
        op = self.emulator.operation(vs, m.params["op"])
        return json_reply(200, operation_status_body(op, self.emulator.now()))

    def _operation_result(self, req: Request, m: Match, vs: VaultState) -> Reply:
        return self._result(req, self.emulator.operation(vs, m.params["op"]))

    def _result(self, req: Request, op: Operation) -> Reply:
        """202 (pointing at itself) while the operation runs, then 204."""
        if self.emulator.now() < op.done_at:
            return empty_reply(
                202,
                [
                    ("Location", f"{req.own_url}{req.path}?api-version={self._version(req)}"),
                    self._retry_after(),
                ],
            )
        return empty_reply(204)

    # -- trigger backup ----------------------------------------------------------------------------
    def _trigger(self, req: Request, m: Match, vs: VaultState) -> Reply:
        p = m.params
        item = self.emulator.protected_item(vs, p["fabric"], p["container"], p["item"])
        op = self.emulator.backup_item(vs, item, req.body, self.emulator.now())
        item_url = (
            f"{self._vault_url(req, vs)}/backupFabrics/{p['fabric']}/protectionContainers/"
            f"{p['container']}/protectedItems/{p['item']}"
        )
        version = self._version(req)
        return empty_reply(
            202,
            [
                ("Location", f"{item_url}/operationResults/{op.op_id}?api-version={version}"),
                (
                    "Azure-AsyncOperation",
                    f"{item_url}/operationsStatus/{op.op_id}?api-version={version}",
                ),
                self._retry_after(),
            ],
        )

    # -- protected items -------------------------------------------------------------------------
    def _items(self, req: Request, m: Match, vs: VaultState) -> Reply:
        filter_text = req.query.get("$filter")
        flt = parse_item_filter(filter_text)
        with self.emulator.state.lock:
            page, token = items_page(vs, flt, req.query.get("$skiptoken"), self.emulator.page_size)
        body: dict[str, object] = {"value": page}
        if token is not None:
            query = urlencode(next_link_query(self._version(req), filter_text, token))
            body["nextLink"] = f"{self._vault_url(req, vs)}/backupProtectedItems?{query}"
        return json_reply(200, body)

    # -- export ----------------------------------------------------------------------------------
    def _export(self, req: Request, m: Match, vs: VaultState) -> Reply:
        filter_text = req.query.get("$filter")
        checked_filter(filter_text)
        op = self.emulator.export(vs, filter_text, self.emulator.now())
        return empty_reply(
            202,
            [
                ("Location", self._export_result_url(req, vs, op)),
                self._retry_after(),
            ],
        )

    def _export_result_url(self, req: Request, vs: VaultState, op: Operation) -> str:
        return (
            f"{self._vault_url(req, vs)}/backupJobs/operationResults/{op.op_id}"
            f"?api-version={self._version(req)}"
        )

    def _export_result(self, req: Request, m: Match, vs: VaultState) -> Reply:
        op = self.emulator.operation(vs, m.params["op"])
        if op.kind != "export":
            raise ServiceError(
                404,
                "BMSUserErrorOperationNotFound",
                f"The operation '{op.op_id}' is not an export of jobs.",
            )
        if self.emulator.now() < op.done_at:
            location = self._export_result_url(req, vs, op)
            retry = self._retry_after()
            return json_reply(
                202,
                {
                    "operation": {"objectType": "ExportJobsOperationResultInfo"},
                    "headers": {"Location": [location], "Retry-After": [retry[1]]},
                },
                [("Location", location), retry],
            )
        blob = f"{req.own_url}/exportblobs/exportjobsreport{op.op_id}.json"
        return json_reply(
            200,
            {
                "operation": {
                    "objectType": "ExportJobsOperationResultInfo",
                    "blobUrl": blob,
                    "blobSasKey": f"?sv=2014-02-14&sr=b&sig={op.signature}&sp=r",
                },
                "headers": {},
            },
        )

    def _blob(self, req: Request, m: Match) -> Reply:
        """The exported job list, served where blobUrl points (checked by its SAS signature)."""
        name = m.params["name"]
        prefix, suffix = "exportjobsreport", ".json"
        op_id = (
            name[len(prefix) : -len(suffix)]
            if name.startswith(prefix) and name.endswith(suffix)
            else ""
        )
        found = self.emulator.find_export(op_id) if op_id else None
        if found is None or req.query.get("sig") != found[1].signature:
            return json_reply(
                404,
                {
                    "error": {
                        "code": "BlobNotFound",
                        "message": "The specified blob does not exist.",
                    }
                },
            )
        vs, op = found
        now = self.emulator.now()
        flt = self.emulator.client_window(parse_filter(op.filter))
        dialect = dialect_for(DEFAULT_API_VERSION)
        with self.emulator.state.lock:
            jobs = [
                job_body(s, job_state(s, now), now, detail=False, dialect=dialect)
                for s in self.emulator.matching_jobs(vs, flt, now)
            ]
        return json_reply(200, jobs)


def operation_status_body(op: Operation, now: float) -> dict[str, object]:
    """InProgress: bare GUID id, ``endTime`` sentinel, no properties. Succeeded: the jobId in
    ``properties``; for a backup ``endTime`` equals ``startTime``, as recorded."""
    body: dict[str, object] = {"id": op.op_id, "name": op.op_id}
    if now < op.done_at:
        body.update(status="InProgress", startTime=iso_timestamp(op.start), endTime=UNSET_TIME)
        return body
    end = op.start if op.kind == "backup" else op.done_at
    body.update(status="Succeeded", startTime=iso_timestamp(op.start), endTime=iso_timestamp(end))
    if op.job_id is not None:
        body["properties"] = {"objectType": "OperationStatusJobExtendedInfo", "jobId": op.job_id}
    return body
