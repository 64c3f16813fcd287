"""Azure Resource Graph's ``POST /providers/Microsoft.ResourceGraph/resources``, over every vault.

The ``RecoveryServicesResources`` table holds one row per backup job of every vault the emulator
knows, of both kinds: ``{id, name, type, tenantId, kind, location, resourceGroup, subscriptionId,
managedBy, sku, plan, properties, tags, identity, zones, extendedLocation}``, ``properties`` being
what the vault's job list says of the job (Backup vault rows, of type
``microsoft.dataprotection/backupvaults/backupjobs``, also carry ``extendedInfo``). Queries are
read by :mod:`.kql` (a strict subset; anything else is ARG's 400 ``BadRequest`` with
``InvalidQuery`` details). As on ARG:

- the scope is ``subscriptions`` or ``managementGroups`` (not both), or, with neither, every
  subscription (the tenant); subscriptions the emulator does not know hold nothing;
- results come in pages of ``options.$top`` rows (at most 1000, default 100, and at most
  :attr:`ResourceGraph.page_size`) with a ``$skipToken`` for the next page;
- every answer carries ``x-ms-user-quota-remaining`` and ``x-ms-user-quota-resets-after``
  (``hh:mm:ss``): :attr:`ResourceGraph.quota` queries per :attr:`ResourceGraph.window` seconds
  of real time per caller; beyond it, 429 ``RateLimiting`` with those headers and no
  Retry-After;
- the table lags :attr:`ResourceGraph.lag` emulated seconds behind the vault API (0 by default),
  as ARG's copy of the jobs does.

Everything is deterministic: rows in vault order then list order, tokens derived from the query.
:attr:`ResourceGraph.requests` keeps the bodies of the last queries, for tests to check what was
asked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import dpp_versions, kql
from .core import GUID_RE, WALL_CLOCK_TOLERANCE, Emulator
from .defaults import DEFAULT_API_VERSION, DEFAULT_TENANT
from .dpp_render import dpp_job_body
from .limits import NestingError, load_json
from .render import job_body
from .replies import Reply, json_reply
from .scenarios import job_state
from .state import BACKUP_VAULT
from .versions import dialect_for

PATH = "/providers/Microsoft.ResourceGraph/resources"
TABLE = "RecoveryServicesResources"
ROW_TYPE = "microsoft.recoveryservices/vaults/backupjobs"
DPP_ROW_TYPE = "microsoft.dataprotection/backupvaults/backupjobs"
TENANT_ID = DEFAULT_TENANT
API_VERSIONS = (
    "2019-04-01",
    "2020-04-01-preview",
    "2021-03-01",
    "2021-06-01-preview",
    "2022-10-01",
    "2024-04-01",
)
COLUMNS = (
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
    "extendedLocation",
)
MAX_TOP = 1000
DEFAULT_TOP = 100
DEFAULT_QUOTA = 15
DEFAULT_WINDOW = 5.0
MAX_SNAPSHOTS = 16
_OPTION_KEYS = frozenset(
    {
        "$skiptoken",
        "$top",
        "$skip",
        "resultformat",
        "allowpartialscopes",
        "authorizationscopefilter",
    }
)
_INVALID_QUERY = (
    "Query is invalid. Please refer to the documentation for the Azure Resource "
    "Graph service and fix the error before retrying."
)
_THROTTLED = (
    "Client application has been throttled and should not attempt to repeat the "
    "request until an amount of time has elapsed. Please see "
    "https://aka.ms/resourcegraph-throttling for help."
)


class GraphError(Exception):
    """An ARG error answer: status, top-level code and the ``details`` entries."""

    def __init__(self, status: int, code: str, details: list[dict[str, Any]]) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.details = details


@dataclass
class _Window:
    start: float
    used: int


class Quota:
    """Queries per caller per window of real time (ARG's quota is about the caller's rate, not
    about the jobs, so it does not follow the emulated clock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def take(self, principal: str, limit: int, window: float) -> tuple[bool, int, float]:
        """(allowed, remaining after this query, seconds until the quota resets)."""
        now = self.clock()
        with self._lock:
            current = self._windows.get(principal)
            if current is None or now - current.start >= window:
                current = _Window(now, 0)
                self._windows[principal] = current
            allowed = current.used < limit
            if allowed:
                current.used += 1
            return allowed, max(limit - current.used, 0), max(current.start + window - now, 0.0)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


def format_resets_after(seconds: float, window: float) -> str:
    """``hh:mm:ss`` (rounded up); with a window shorter than a second, .NET's ``hh:mm:ss.fff``
    so that tests with tiny windows need not wait a whole second."""
    if window >= 1:
        whole = math.ceil(seconds - 1e-9)
        return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    ms = math.ceil(seconds * 1000 - 1e-6)
    return f"00:00:{ms // 1000:02d}.{ms % 1000:03d}0000"


class ResourceGraph:
    """The Resource Graph endpoint of one emulator; tests tune its public attributes."""

    def __init__(self, emulator: Emulator, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.emulator = emulator
        self.page_size = MAX_TOP
        self.lag = 0.0
        self.quota = DEFAULT_QUOTA
        self.window = DEFAULT_WINDOW
        # Management group id -> its subscriptions.
        self.management_groups: dict[str, list[str]] = {}
        # The bodies of the last queries (JSON as sent), for tests to check what was asked.
        self.requests: deque[Any] = deque(maxlen=1000)
        self._quota = Quota(clock)
        # Results by snapshot number: the pages of one query come from one evaluation, as
        # ARG's do (and a 20,000-job table is not queried again for every page).
        self._snapshots: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._snapshot_count = 0
        self._snapshot_lock = threading.Lock()

    def reset_quota(self) -> None:
        self._quota.reset()

    # -- the route ------------------------------------------------------------------------------
    def handle(self, body: bytes, api_version: str | None, principal: str) -> Reply:
        allowed, remaining, resets = self._quota.take(principal, self.quota, self.window)
        headers = [
            ("x-ms-user-quota-remaining", str(remaining)),
            ("x-ms-user-quota-resets-after", format_resets_after(resets, self.window)),
        ]
        try:
            if not allowed:
                raise GraphError(
                    429, "RateLimiting", [{"code": "RateLimiting", "message": _THROTTLED}]
                )
            result = self._answer(body, api_version)
        except GraphError as err:
            return json_reply(err.status, self._error_body(err), headers)
        return json_reply(200, result, headers)

    def _error_body(self, err: GraphError) -> dict[str, Any]:
        if err.code in {"MissingApiVersionParameter", "InvalidApiVersionParameter"}:
            return {"error": {"code": err.code, "message": err.details[0]["message"]}}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.emulator.now()))
        digest = hashlib.sha256(json.dumps(err.details).encode()).hexdigest()
        correlation = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        return {
            "error": {
                "code": err.code,
                "message": "Please provide below info when asking for support: timestamp = "
                f"{stamp}Z, correlationId = {correlation}.",
                "details": err.details,
            }
        }

    def _answer(self, raw: bytes, api_version: str | None) -> dict[str, Any]:
        try:
            self.requests.append(load_json(raw))
        except ValueError:
            self.requests.append(None)
        _check_version(api_version)
        request = _read_request(raw)
        try:
            query = kql.parse(request.query)
            if query.table != TABLE:
                raise kql.KqlError(
                    f"Table '{query.table}' is not supported here; use {TABLE}.", 1, 1, query.table
                )
            kql.check_columns(query, COLUMNS)
        except kql.KqlError as err:
            raise GraphError(
                400,
                "BadRequest",
                [
                    {"code": "InvalidQuery", "message": _INVALID_QUERY},
                    {
                        "code": "ParserFailure",
                        "message": err.message,
                        "line": err.line,
                        "characterPositionInLine": err.column,
                        "token": err.token,
                    },
                ],
            ) from None
        subscriptions = self._scope(request)
        digest = _digest(request)
        snapshot, offset = None, request.skip
        if request.skip_token is not None:
            snapshot, offset = _read_token(request.skip_token, digest)
        with self._snapshot_lock:
            rows = self._snapshots.get(snapshot) if snapshot is not None else None
        if rows is None:
            rows = kql.run(self._emulated_times(query), self._rows(subscriptions))
            with self._snapshot_lock:
                self._snapshot_count += 1
                snapshot = self._snapshot_count
                self._snapshots[snapshot] = rows
                while len(self._snapshots) > MAX_SNAPSHOTS:
                    self._snapshots.popitem(last=False)
        assert snapshot is not None
        return self._page(rows, request, offset, _Cursor(digest, snapshot))

    def _emulated_times(self, query: kql.Query, wall_now: float | None = None) -> kql.Query:
        """Make "now" mean the emulated now, as the vault list does (``client_window``): with
        time sped up or advanced, a client's "until now" is already in the emulated past. A
        datetime within WALL_CLOCK_TOLERANCE of the wall clock is read as the emulated now."""
        wall = time.time() if wall_now is None else wall_now
        now = self.emulator.now()
        if now - wall <= WALL_CLOCK_TOLERANCE:
            return query

        def shift(value: Any) -> Any:
            if isinstance(value, kql.Moment) and abs(value.seconds - wall) <= WALL_CLOCK_TOLERANCE:
                return kql.Moment(now)
            return value

        shifted: kql.Query = kql.map_literals(query, shift)
        return shifted

    def _scope(self, request: _GraphRequest) -> set[str] | None:
        """Lower-case subscriptions to look in; None for the whole tenant."""
        if request.management_groups:
            found: set[str] = set()
            known = {k.lower(): v for k, v in self.management_groups.items()}
            for group in request.management_groups:
                subs = known.get(group.lower())
                if subs is None:
                    raise GraphError(
                        404,
                        "ManagementGroupNotFound",
                        [
                            {
                                "code": "ManagementGroupNotFound",
                                "message": f"The management group '{group}' was not found, or the "
                                "caller has no access to it.",
                            }
                        ],
                    )
                found.update(s.lower() for s in subs)
            return found
        if request.subscriptions is not None:
            return {s.lower() for s in request.subscriptions}
        return None

    def _rows(self, subscriptions: set[str] | None) -> Iterator[dict[str, Any]]:
        """The table as ARG sees it ``lag`` seconds ago: the visible jobs of every Recovery
        Services vault (list shape), then of every Backup vault (with extendedInfo and a
        TimeSpan duration, lower-case type, empty location, as recorded)."""
        seen_at = self.emulator.now() - self.lag
        dialect = dialect_for(DEFAULT_API_VERSION)
        dpp_dialect = dpp_versions.dialect_for(dpp_versions.DEFAULT_VERSION)
        rows: list[dict[str, Any]] = []
        with self.emulator.state.lock:
            for vs in self.emulator.state.all_vaults():
                if subscriptions is not None and vs.subscription.lower() not in subscriptions:
                    continue
                dpp = vs.kind == BACKUP_VAULT
                group = vs.resource_group if dpp else vs.resource_group.lower()
                for s in vs.iter_from(None):
                    if s.start > seen_at:
                        continue
                    state = job_state(s, seen_at)
                    if dpp:
                        body = dpp_job_body(s, state, shape="graph", dialect=dpp_dialect)
                    else:
                        body = job_body(s, state, seen_at, detail=False, dialect=dialect)
                    rows.append(
                        {
                            "id": body["id"],
                            "name": body["name"],
                            "type": DPP_ROW_TYPE if dpp else ROW_TYPE,
                            "tenantId": TENANT_ID,
                            "kind": "",
                            "location": "" if dpp else vs.location,
                            "resourceGroup": group,
                            "subscriptionId": vs.subscription,
                            "managedBy": "",
                            "sku": None,
                            "plan": None,
                            "properties": body["properties"],
                            "tags": None,
                            "identity": None,
                            "zones": None,
                            "extendedLocation": None,
                        }
                    )
        return iter(rows)

    def _page(
        self, rows: list[dict[str, Any]], request: _GraphRequest, offset: int, cursor: _Cursor
    ) -> dict[str, Any]:
        size = min(request.top, self.page_size)
        page = rows[offset : offset + size]
        result: dict[str, Any] = {"totalRecords": len(rows), "count": len(page)}
        if request.result_format == "table":
            names = list(rows[0]) if rows else []
            result["data"] = {
                "columns": [{"name": n, "type": _column_type(rows, n)} for n in names],
                "rows": [[r.get(n) for n in names] for r in page],
            }
        else:
            result["data"] = page
        result["facets"] = []
        more = offset + len(page) < len(rows)
        result["resultTruncated"] = "false"
        if more:
            result["$skipToken"] = _token(offset + len(page), cursor)
        return result


# ----- the request ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _GraphRequest:
    query: str
    subscriptions: tuple[str, ...] | None
    management_groups: tuple[str, ...]
    skip_token: str | None
    top: int
    skip: int
    result_format: str


def _bad(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, "BadRequest", [{"code": code, "message": message}])


def _check_version(api_version: str | None) -> None:
    if api_version is None or not api_version.strip():
        raise GraphError(
            400,
            "MissingApiVersionParameter",
            [
                {
                    "message": "The api-version query parameter (?api-version=) is required "
                    "for all requests."
                }
            ],
        )
    if api_version.strip().lower() not in API_VERSIONS:
        raise GraphError(
            400,
            "InvalidApiVersionParameter",
            [
                {
                    "message": f"The api-version '{api_version}' is invalid. The supported "
                    f"versions are '{','.join(sorted(API_VERSIONS, reverse=True))}'."
                }
            ],
        )


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"'{what}' must be an array of strings.")
    return tuple(value)


def _read_request(raw: bytes) -> _GraphRequest:
    try:
        body: Any = load_json(raw or b"null")
    except NestingError as err:
        raise _bad(f"The request body is not acceptable: {err}.") from None
    except ValueError:
        raise _bad("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object with a 'query'.")
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _bad("The request has no 'query'.")
    subscriptions = body.get("subscriptions")
    groups = body.get("managementGroups")
    subs = _strings(subscriptions, "subscriptions") if subscriptions is not None else None
    mgs = _strings(groups, "managementGroups") if groups is not None else ()
    if subs is not None and mgs:
        raise _bad("Only one of 'subscriptions' and 'managementGroups' may be given.")
    for sub in subs or ():
        if not GUID_RE.match(sub):
            raise _bad(
                f"The subscription '{sub}' is not a valid subscription id.", "InvalidSubscriptionId"
            )
    options = body.get("options")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise _bad("'options' must be an object.")
    for key in options:
        if key.lower() not in _OPTION_KEYS:
            raise _bad(f"Unknown option '{key}'.")
    lowered = {k.lower(): v for k, v in options.items()}
    top = lowered.get("$top", DEFAULT_TOP)
    skip = lowered.get("$skip", 0)
    for name, value, low in (("$top", top, 1), ("$skip", skip, 0)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (name == "$top" and value > MAX_TOP)
        ):
            raise _bad(
                f"'{name}' must be a whole number"
                + (f" between 1 and {MAX_TOP}." if name == "$top" else " of at least 0.")
            )
    token = lowered.get("$skiptoken")
    if token is not None and not isinstance(token, str):
        raise _bad("'$skipToken' must be a string.")
    result_format = lowered.get("resultformat", "objectArray")
    if not isinstance(result_format, str) or result_format.lower() not in {"objectarray", "table"}:
        raise _bad("'resultFormat' must be 'objectArray' or 'table'.")
    return _GraphRequest(
        query,
        subs,
        mgs,
        token or None,
        top,
        skip,
        "table" if result_format.lower() == "table" else "objectArray",
    )


# ----- paging -----------------------------------------------------------------------------------
def _digest(request: _GraphRequest) -> str:
    """What a skip token is bound to: the query and the scope (as ARG, a token of another query
    is refused)."""
    scope = json.dumps([request.query, request.subscriptions, request.management_groups])
    return hashlib.sha256(scope.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class _Cursor:
    digest: str  # the query and scope a token belongs to
    snapshot: int  # the evaluation its pages come from


def _token(offset: int, cursor: _Cursor) -> str:
    data = {"o": offset, "q": cursor.digest, "s": cursor.snapshot}
    raw = json.dumps(data, separators=(",", ":")).encode("ascii")
    return "ew" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _read_token(token: str, digest: str) -> tuple[int | None, int]:
    """(snapshot, offset) of a token of this query; a 400 for anything else."""
    try:
        if not token.startswith("ew"):
            raise ValueError(token)
        payload = token[2:]
        data = load_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        offset, snapshot = data["o"], data.get("s")
        if (
            data["q"] != digest
            or not isinstance(offset, int)
            or offset < 0
            or not (snapshot is None or isinstance(snapshot, int))
        ):
            raise ValueError(token)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _bad("The $skipToken is not valid for this query.", "InvalidSkipToken") from None
    return snapshot, offset


def _column_type(rows: list[dict[str, Any]], name: str) -> str:
    for row in rows:
        value = row.get(name)
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "integer"
        if isinstance(value, str):
            return "string"
        if value is not None:
            return "object"
    return "string"
