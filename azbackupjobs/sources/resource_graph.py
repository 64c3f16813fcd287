"""Azure Resource Graph queries over the shared client's transport.

``POST {endpoint}/providers/Microsoft.ResourceGraph/resources`` with the query and its scope; the
answer comes in pages joined by ``$skipToken``. The requests go through ``BackupJobsClient``, so
retries, Retry-After, the security rules and the ``--debug`` trace are the same as for the vault
API. Resource Graph also meters each caller (``x-ms-user-quota-remaining`` queries left until
``x-ms-user-quota-resets-after``, ``hh:mm:ss``): when the quota is used up, the next query waits
for the reset instead of being refused. A throttled (429) answer is retried after the reset time
it carries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from azbackupjobs.arm.client import (
    MIN_PAUSE,
    BackupJobsClient,
    Response,
    RetryPolicy,
    parse_retry_after,
    pause,
)
from azbackupjobs.arm.paging import Page, follow_pages
from azbackupjobs.arm.settings import validate_api_version
from azbackupjobs.model.errors import ApiError, AuthError, UnexpectedResponseError
from azbackupjobs.sources.kql import Scope

GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
DEFAULT_GRAPH_API_VERSION = "2021-03-01"
GRAPH_API_VERSION_VARIABLE = "AZJOBS_GRAPH_API_VERSION"
PAGE_SIZE = 1000  # the most rows Resource Graph returns per page
MAX_SUBSCRIPTIONS = 1000  # per query: more are queried in batches
READER_HINT = (
    "Resource Graph shows the jobs of the subscriptions where the identity can read "
    "(Reader, or Backup Reader, on the subscriptions or a management group above "
    "them)"
)


def graph_api_version(env: Mapping[str, str]) -> str:
    """AZJOBS_GRAPH_API_VERSION, else the default (Resource Graph has its own api-versions)."""
    value = env.get(GRAPH_API_VERSION_VARIABLE, "").strip()
    return (
        validate_api_version(value, GRAPH_API_VERSION_VARIABLE)
        if value
        else (DEFAULT_GRAPH_API_VERSION)
    )


@dataclass
class Quota:
    """What the last answer said of the caller's quota."""

    remaining: int | None = None
    reset_at: float | None = None  # clock() when it resets
    answered_at: float = 0.0  # clock() of the answer that said so


class ResourceGraphClient:
    """Queries through ``client`` (its endpoint, credential, retries and hooks)."""

    def __init__(
        self,
        client: BackupJobsClient,
        *,
        api_version: str = DEFAULT_GRAPH_API_VERSION,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        notify: Callable[[str], None] | None = None,
        page_size: int = PAGE_SIZE,
        retry: RetryPolicy | None = None,
    ) -> None:
        """``retry``: the client's own policy unless given (a watch passes NO_RETRY and waits
        out failures in its loop)."""
        self.client = client
        self.retry = retry
        self.api_version = api_version
        self.sleep = sleep
        self.clock = clock
        self.notify = notify
        self.page_size = page_size
        self.quota = Quota()
        self.queries = 0  # requests sent (pages included)
        self.waited = 0.0  # seconds spent waiting for the quota
        self._limit_warned = False

    @property
    def url(self) -> str:
        return (
            f"{self.client.ctx.endpoint}{GRAPH_PATH}?api-version={quote(self.api_version, safe='')}"
        )

    # ----- queries ------------------------------------------------------------------------------
    def streams(
        self, query: str, scope: Scope, *, top: int | None = None
    ) -> list[Iterator[list[dict[str, Any]]]]:
        """One lazy stream of pages per batch of at most 1000 subscriptions (one stream unless
        more are named); nothing is sent before a stream is read."""
        batches: list[Scope] = [scope]
        if len(scope.subscriptions) > MAX_SUBSCRIPTIONS:
            subs = scope.subscriptions
            batches = [
                Scope(subs[i : i + MAX_SUBSCRIPTIONS])
                for i in range(0, len(subs), MAX_SUBSCRIPTIONS)
            ]
        return [self.pages(query, batch, top=top) for batch in batches]

    def pages(
        self, query: str, scope: Scope, *, top: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """The result rows page by page, following ``$skipToken`` (for one batch of scope)."""
        size = max(1, min(top or self.page_size, self.page_size))
        body: dict[str, Any] = {}
        if scope.subscriptions:
            body["subscriptions"] = list(scope.subscriptions)
        elif scope.management_groups:
            body["managementGroups"] = list(scope.management_groups)
        body["query"] = query

        def read(token: str | None) -> Page[dict[str, Any]]:
            options: dict[str, Any] = {"$top": size, "resultFormat": "objectArray"}
            if token is not None:
                options["$skipToken"] = token
            data, following = _read_page(self._post({**body, "options": options}))
            return Page(data, following)

        return follow_pages(
            None,
            read,
            _skip_token,
            what="the Resource Graph result",
            check=self.client.check_deadline,
        )

    # ----- one request --------------------------------------------------------------------------
    def _post(self, body: dict[str, Any]) -> Response:
        self._wait_for_quota()
        self.queries += 1
        try:
            resp = self.client.post_json(self.url, body, retry=self.retry)
        except AuthError as exc:
            if exc.status == 403:
                raise AuthError(
                    exc.message,
                    hint=READER_HINT,
                    status=exc.status,
                    code=exc.code,
                    request_id=exc.request_id,
                ) from None
            raise
        except ApiError as exc:
            if exc.code in {"InvalidApiVersionParameter", "NoRegisteredProviderFound"}:
                raise ApiError(
                    exc.message,
                    status=exc.status,
                    code=exc.code,
                    request_id=exc.request_id,
                    hint=f"Resource Graph refused api-version {self.api_version}; "
                    f"set {GRAPH_API_VERSION_VARIABLE} to one it lists",
                ) from None
            raise
        self._note_quota(resp)
        return resp

    def _wait_for_quota(self) -> None:
        """With the quota used up, wait for its reset: at least ``MIN_PAUSE`` after the answer
        that said so (a reset time of zero must not make a busy loop), at most the longest
        Retry-After honoured anywhere."""
        quota = self.quota
        if quota.remaining is None or quota.remaining > 0 or quota.reset_at is None:
            return
        quota.remaining = None
        ready_at = max(quota.reset_at, quota.answered_at + MIN_PAUSE)
        delay = pause(ready_at - self.clock(), default=0.0, floor=0.0)
        if delay <= 0:
            return
        if self.notify is not None:
            self.notify(f"Resource Graph quota used up; waiting {delay:.1f} s for it to reset")
        self.waited += delay
        self.sleep(delay)

    def _note_quota(self, resp: Response) -> None:
        remaining = resp.header("x-ms-user-quota-remaining")
        reset_header = resp.header("x-ms-user-quota-resets-after")
        # read as a Retry-After: a reset days away is cut to the longest wait honoured
        resets = parse_retry_after({"x-ms-user-quota-resets-after": reset_header or ""})
        try:
            self.quota.remaining = int(remaining) if remaining is not None else None
        except ValueError:
            self.quota.remaining = None
        self.quota.answered_at = self.clock()
        self.quota.reset_at = self.quota.answered_at + resets if resets is not None else None
        limit_hit = (resp.header("x-ms-tenant-subscription-limit-hit") or "").lower() == "true"
        if limit_hit and not self._limit_warned and self.notify is not None:
            self._limit_warned = True
            self.notify(
                "warning: the credential can read more subscriptions than Resource "
                "Graph queries at once; only the first ones were searched (name them "
                "with --subscriptions or --management-group)"
            )


def _read_page(resp: Response) -> tuple[list[dict[str, Any]], str | None]:
    body = resp.body
    where = f"(request id {resp.request_id})"
    if not isinstance(body, dict):
        raise UnexpectedResponseError(
            f"Resource Graph answered with something that is not a query result {where}",
            request_id=resp.request_id,
        )
    data = body.get("data")
    if isinstance(data, dict):
        raise UnexpectedResponseError(
            f"Resource Graph answered in table format, not as an array of objects {where}",
            request_id=resp.request_id,
        )
    if not isinstance(data, list):
        raise UnexpectedResponseError(
            f"the Resource Graph result has no 'data' array {where}", request_id=resp.request_id
        )
    token = body.get("$skipToken")
    if token == "":  # no next page
        token = None
    elif token is not None and not isinstance(token, str):
        raise UnexpectedResponseError(
            f"the Resource Graph $skipToken is not a string {where}", request_id=resp.request_id
        )
    truncated = str(body.get("resultTruncated", "false")).lower() == "true"
    if truncated and token is None:
        raise UnexpectedResponseError(
            f"Resource Graph cut the result short and offers no next page {where}",
            request_id=resp.request_id,
        )
    rows = [row for row in data if isinstance(row, dict)]
    return rows, token


def _skip_token(token: object) -> str | None:
    """The cursor of the next page: ``_read_page`` checked it is a string or None."""
    return token if isinstance(token, str) else None


def page_size_for(limit: int | None) -> int | None:
    """Rows per page to ask for with ``--limit``: no more than the limit needs."""
    if limit is None or limit <= 0:
        return None
    return min(limit, PAGE_SIZE)
