"""The transport of every ARM request, over one ``requests.Session``.

It owns the transport rules: the security checks on every URL it follows, retries with backoff
that honour ``Retry-After`` (read and bounded by ``parse_retry_after`` and ``pause``, the rule
every loop shares), the bounds of each exchange in time and size (``transport``), the command's
deadline, the mapping of HTTP failures to typed errors, and the ``--debug`` trace with secrets
redacted. It returns plain JSON; what the URLs and bodies mean is the sources' business
(``azbackupjobs.sources``). It never prints.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from azbackupjobs import __version__
from azbackupjobs.arm.auth import TokenProvider, claims_challenge
from azbackupjobs.arm.settings import Context, is_loopback_host
from azbackupjobs.arm.transport import (
    MAX_BODY_BYTES,
    REQUEST_TIME_LIMIT,
    BodyTooLarge,
    Deadline,
    OutOfTime,
    Watchdog,
    connect_failure,
    new_session,
    read_body,
    tls_failure,
)
from azbackupjobs.model.errors import (
    ApiError,
    AuthError,
    CommandTimeout,
    EndpointUnreachable,
    NetworkError,
    NotFoundError,
    RequestTimeout,
    ResponseTooLarge,
    SecurityError,
    UnexpectedResponseError,
)
from azbackupjobs.model.text import sanitize

USER_AGENT = f"azjobs/{__version__}"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_RETRY_AFTER_IN_MESSAGE = re.compile(r"try again after\s+'?(\d+(?:\.\d+)?)'?\s*second", re.I)
_SIGNED_QUERY = re.compile(r"(?i)([?&](?:sig|s|c|h|t|skoid|sktid|se)=)[^&\s]+")
_API_VERSION_IN_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:-preview)?\b")
_TIMESPAN = re.compile(
    r"(?:(?P<d>\d{1,4})\.)?(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d{1,7})?)"
)
_DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_ERROR_EXCERPT = 160
# ARM payloads nest a few levels deep; a body nested deeper than this is refused as unreadable,
# so that no renderer or encoder downstream ever meets Python's recursion limit.
MAX_JSON_DEPTH = 100
# No poll, retry or quota wait comes sooner than this after the answer that asked for it: a
# ``Retry-After: 0`` (or a reset time already past) must not turn a loop into a busy one.
MIN_PAUSE = 1.0
# Nor later than this: a Retry-After of a year is a broken value, not a plan.
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request tries. ``attempts`` counts the first try."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 120.0
    max_retry_after: float = 600.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter on the upper half: 1, 2, 4, ... up to max_delay."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(attempt - 1, 0)))
        return float(ceiling / 2 + rng.random() * ceiling / 2)


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class RetryNotice:
    """Told to the caller before sleeping, so a live view can say "throttled: retrying in 20 s"."""

    reason: str
    delay: float
    attempt: int
    status: int | None = None


@dataclass
class Hooks:
    debug: Callable[[str], None] | None = None
    on_retry: Callable[[RetryNotice], None] | None = None


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: Any
    request_id: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Stats:
    """Counts kept for the reliability and performance reports."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    slept: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)


def new_request_id() -> str:
    """A random (version 4) UUID for x-ms-client-request-id, without importing ``uuid``: that
    module imports ``platform`` and costs a few milliseconds of every run's start-up."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_retry_after(
    headers: Mapping[str, str], body_text: str = "", now: float | None = None
) -> float | None:
    """Seconds to wait: Retry-After (seconds or HTTP date), -ms variants, or the 429 message.

    A value that is not a finite number (``nan``, ``inf``) is unreadable (None); a negative one
    or a date in the past is 0; more than ``MAX_RETRY_AFTER`` is cut to it. So every caller gets
    a number it can sleep on.
    """
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            seconds = _finite(value)
            if seconds is not None:
                return _bounded(seconds / 1000.0)
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        seconds = _finite(value)
        if seconds is not None:
            return _bounded(seconds)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            when = None
        if when is not None:
            current = time.time() if now is None else now
            try:
                return _bounded(when.timestamp() - current)
            except (OverflowError, ValueError, OSError):
                return None
    quota_reset = parse_timespan(headers.get("x-ms-user-quota-resets-after"))
    if quota_reset is not None:  # Resource Graph's throttling answers carry this instead
        return _bounded(quota_reset)
    match = _RETRY_AFTER_IN_MESSAGE.search(body_text or "")
    if match:
        return _bounded(float(match.group(1)))
    return None


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _bounded(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def pause(
    retry_after: float | None,
    *,
    default: float,
    floor: float = MIN_PAUSE,
    cap: float = MAX_RETRY_AFTER,
) -> float:
    """How long a loop waits before asking again: the service's Retry-After when it gave one,
    else ``default``; never less than ``floor`` (the loop's own pace), never more than ``cap``.

    The one rule every loop shares (retries, operation polls, watch, Resource Graph), so that no
    answer can make one of them spin or stall.
    """
    wanted = default if retry_after is None or not math.isfinite(retry_after) else retry_after
    return float(min(max(wanted, floor, 0.0), cap))


def parse_timespan(value: str | None) -> float | None:
    """Seconds of a ``[d.]hh:mm:ss[.fffffff]`` header value (Resource Graph's
    ``x-ms-user-quota-resets-after``); None when absent or malformed."""
    match = _TIMESPAN.fullmatch(value.strip()) if value else None
    if match is None:
        return None
    days, hours, minutes, seconds = (float(match[k] or 0) for k in ("d", "h", "m", "s"))
    if minutes >= 60 or seconds >= 60:
        return None
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


class JsonTooDeep(ValueError):
    """A JSON body nested deeper than ``MAX_JSON_DEPTH`` (or than ``json`` itself can read)."""


def _nesting_exceeds(value: Any, limit: int) -> bool:
    """True when containers nest more than ``limit`` levels; iterative, so any depth is safe."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def parse_json(text: str) -> Any:
    """``json.loads`` that raises ValueError for anything unreadable, deep nesting included
    (``json`` raises RecursionError there, which must not escape as an unexpected error)."""
    try:
        body = json.loads(text)
    except RecursionError:
        raise JsonTooDeep(f"nested more than {MAX_JSON_DEPTH} levels deep") from None
    if isinstance(body, (dict, list)) and _nesting_exceeds(body, MAX_JSON_DEPTH):
        raise JsonTooDeep(f"nested more than {MAX_JSON_DEPTH} levels deep")
    return body


def _excerpt(raw: str, redact: Callable[[str], str] = str) -> str:
    """A short excerpt of a non-JSON body (HTML error pages become their visible text).

    ``redact`` runs after the tags are gone (its ``<redacted>`` would look like one) and before
    the text is cut short (a secret cut in half would no longer match).
    """
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", raw)
    text = re.sub(r"<[^>]+>", " ", text)
    return sanitize(redact(text), 100) or "(empty body)"


def arm_error(body: Any) -> tuple[str | None, str | None]:
    """(code, message) from the ARM envelope, the legacy ``ErrorCode``/``Message``, or flat."""
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
    elif "ErrorCode" in body or "Message" in body:
        code, message = body.get("ErrorCode"), body.get("Message")
        if isinstance(message, dict):
            message = message.get("Value")
    else:
        code, message = body.get("code"), body.get("message")
    return (
        str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else None,
        message if isinstance(message, str) else None,
    )


class BackupJobsClient:
    """Requests to the endpoint of ``ctx``, with ``tokens`` for auth."""

    def __init__(
        self,
        ctx: Context,
        tokens: TokenProvider,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy = RetryPolicy(),
        hooks: Hooks | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = (10.0, 60.0),
        rng: random.Random | None = None,
        deadline: Deadline | None = None,
        request_time_limit: float = REQUEST_TIME_LIMIT,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        """``timeout``: (connect, read) of each socket operation; ``request_time_limit``: all of
        one request, body included; ``deadline``: all of the command's requests and retries
        (``--timeout``); ``max_body``: the largest body read."""
        self.ctx = ctx
        self.tokens = tokens
        self.session = session or new_session()
        self.session.trust_env = True
        self.retry = retry
        self.hooks = hooks or Hooks()
        self.sleep = sleep
        self.timeout = timeout
        self.rng = rng or random.Random()
        self.deadline = deadline
        self.request_time_limit = request_time_limit
        self.max_body = max_body
        self.stats = Stats()
        # Whether the endpoint has answered in this run: until it has, a failure to connect
        # is a wrong endpoint or a server that is not running, not a passing fault.
        self.answered = False
        self._until: float | None = None  # the time_limit() in force
        base = urlsplit(ctx.endpoint)
        self._origin = _origin(base.scheme, base.hostname, base.port)
        self._netloc = base.netloc
        # Plain http is allowed to loopback addresses only; a proxy from HTTP_PROXY/ALL_PROXY
        # would carry the request, bearer token and all, in clear text to another host.
        self._proxies: dict[str, Any] | None = (  # None values: requests' "no proxy"
            {"http": None, "all": None} if self._origin[0] == "http" else None
        )

    # ----- URLs -------------------------------------------------------------------------------
    def checked_url(self, url: str, what: str, *, api_version: str | None = None) -> str:
        """A service-given URL, allowed only on the endpoint's own scheme, host and port.
        ``api_version``: what to add when the URL names none (default: the context's)."""
        text = url.strip()
        if text.startswith("/") and not text.startswith("//"):
            text = self.ctx.endpoint + text
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise UnexpectedResponseError(f"the {what} URL is not a valid URL") from None
        origin = _origin(parts.scheme, parts.hostname, port)
        if parts.username or parts.password or origin != self._origin:
            raise UnexpectedResponseError(
                f"refusing to follow the {what} URL to {sanitize(parts.hostname or '?', 80)}: "
                "it is not on the endpoint's host",
                hint="the token is only ever sent to the configured endpoint",
            )
        if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname or ""):
            raise SecurityError(f"refusing to follow the {what} URL over plain http")
        # The query is kept byte for byte (skip tokens and signatures must not be re-encoded);
        # only a missing api-version is added.
        query = parts.query
        if not any(k.lower() == "api-version" for k, _ in parse_qsl(query, keep_blank_values=True)):
            extra = urlencode({"api-version": api_version or self.ctx.api_version})
            query = f"{query}&{extra}" if query else extra
        # Same origin, so the endpoint's own spelling of it: the request goes exactly there.
        return urlunsplit((self._origin[0], self._netloc, parts.path, query, ""))

    # ----- transport --------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        for secret in self.tokens.secrets:
            if secret:
                text = text.replace(secret, "<redacted>")
        return _SIGNED_QUERY.sub(r"\1<redacted>", text)

    def _trace(self, text: str) -> None:
        if self.hooks.debug is not None:
            self.hooks.debug(self._redact(text))

    def check_deadline(self) -> None:
        """Between pages: raise when the time of the loop (``time_limit``) or of the command has
        run out, before asking for another page."""
        if self._until is not None:
            if time.monotonic() >= self._until:
                raise RequestTimeout("the time given to this poll ran out between pages")
        elif self.deadline is not None and self.deadline.remaining() <= 0:
            raise self._command_timeout()

    def _command_timeout(self, last: str | None = None) -> CommandTimeout:
        assert self.deadline is not None
        text = f"timed out after {self.deadline.seconds:g} s"
        if last:
            text += f"; the last try: {last}"
        return CommandTimeout(text, hint="--timeout sets how long the command may take")

    @contextlib.contextmanager
    def time_limit(self, seconds: float | None) -> Iterator[None]:
        """Every request in the block (retries, pages) is over within ``seconds`` from now.

        For a loop that keeps its own deadline (``watch --timeout``): inside the block the
        loop's limit stands in for the command's, and running out is a ``RequestTimeout`` the
        loop may wait out and then end on its own terms. None: no limit of the loop's.
        """
        previous = self._until
        if seconds is not None:
            until = time.monotonic() + max(seconds, 0.0)
            self._until = until if previous is None else min(previous, until)
        try:
            yield
        finally:
            self._until = previous

    def request(
        self,
        method: str,
        url: str,
        *,
        retry: RetryPolicy | None = None,
        expect_json: bool = True,
        ok: frozenset[int] = frozenset({200}),
        body: Any | None = None,
        idempotent: bool = False,
    ) -> Response:
        """Send with retries; return the response for an ``ok`` status, else raise a typed error.

        ``body`` is sent as JSON. ``idempotent`` retries a POST like a GET (a query that only
        reads, such as Resource Graph's); other POSTs are retried on 429 and 503 only.
        """
        policy = retry or self.retry
        until = self._until
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            try:
                return self._send_once(
                    method, url, expect_json=expect_json, ok=ok, payload=body, until=until
                )
            except AuthError as exc:
                if exc.status == 401 and not refreshed and self.tokens.invalidate(exc.claims):
                    refreshed = True  # a token expired or revoked mid-watch: renew once
                    continue
                raise
            except (NetworkError, ApiError) as exc:
                transient = isinstance(exc, NetworkError) or exc.status in RETRYABLE_STATUS
                if method != "GET" and not idempotent and exc.status not in {429, 503}:
                    transient = False
                if isinstance(exc, RequestTimeout):
                    transient = False  # it took all of its time: the next try would as well
                if not transient or attempt >= policy.attempts:
                    raise
                backoff = policy.backoff(attempt, self.rng)
                delay = pause(
                    exc.retry_after, default=backoff, floor=backoff, cap=policy.max_retry_after
                )
                self._check_wait(delay, until, exc)
                reason = (
                    "throttled"
                    if exc.status == 429
                    else "connection lost"
                    if isinstance(exc, NetworkError)
                    else f"HTTP {exc.status}"
                )
                self.stats.retries += 1
                if self.hooks.on_retry is not None:
                    self.hooks.on_retry(RetryNotice(reason, delay, attempt, exc.status))
                self._trace(f"retry {attempt}/{policy.attempts - 1} in {delay:.1f}s ({reason})")
                self.stats.slept += delay
                self.sleep(delay)

    def _check_wait(self, delay: float, until: float | None, exc: ApiError) -> None:
        """A retry that could only start after the command's deadline (or the call's limit) is
        not waited for: the failure is reported now."""
        now = time.monotonic()
        if until is not None:
            if now + delay >= until:
                raise exc
        elif self.deadline is not None and now + delay >= self.deadline.at:
            raise self._command_timeout(exc.message) from None

    def _request_end(self, until: float | None) -> tuple[float, str]:
        """When the next request must be over, and which limit that is: a loop's own limit
        (``time_limit``) stands in for the command's deadline."""
        ends = [(time.monotonic() + self.request_time_limit, "request")]
        if until is not None:
            ends.append((until, "call"))
        elif self.deadline is not None:
            ends.append((self.deadline.at, "command"))
        return min(ends)

    def _out_of_time(
        self, method: str, binding: str, request_id: str, limit: float
    ) -> ApiError | CommandTimeout:
        """The error of a request that ran out of time, by the limit that ended it: the
        command's (``CommandTimeout``), a loop's or the request's own (``RequestTimeout``), or
        the request's own on an endpoint that never answered (``EndpointUnreachable``)."""
        if binding == "command":
            return self._command_timeout(f"{method} still had no complete answer")
        limit = self.request_time_limit if binding == "request" else round(limit, 1)
        if binding == "request" and not self.answered:
            return EndpointUnreachable(
                f"no answer from {self._host_label()} within {limit:g} s (request id {request_id})",
                request_id=request_id,
                hint=self._reach_hint(),
            )
        return RequestTimeout(
            f"{method} timed out after {limit:g} s (request id {request_id})",
            request_id=request_id,
        )

    def _host_label(self) -> str:
        return sanitize(self._netloc, 80) or "the endpoint"

    def _reach_hint(self) -> str:
        if is_loopback_host(self._origin[1]):
            return (
                "is the emulator running (`azjobs emulator`)? is AZJOBS_ENDPOINT (or --endpoint) "
                "its address?"
            )
        return "is AZJOBS_ENDPOINT (or --endpoint) right? check the network and any proxy"

    def _unreachable(self, exc: BaseException, request_id: str) -> EndpointUnreachable | None:
        """A failure that no retry fixes: TLS verification, or no connection at all to an
        endpoint that has not answered in this run."""
        if tls_failure(exc):
            return EndpointUnreachable(
                f"TLS certificate verification failed for {self._host_label()} "
                f"(request id {request_id})",
                request_id=request_id,
                hint="set REQUESTS_CA_BUNDLE to the CA bundle of a private CA or proxy, "
                "or check --endpoint",
            )
        reason = connect_failure(exc)
        if reason is None or self.answered:
            return None
        return EndpointUnreachable(
            f"cannot reach {self._host_label()}: {reason} (request id {request_id})",
            request_id=request_id,
            hint=self._reach_hint(),
        )

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        expect_json: bool,
        ok: frozenset[int],
        payload: Any | None = None,
        until: float | None = None,
    ) -> Response:
        request_id = new_request_id()
        end, binding = self._request_end(until)
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise self._out_of_time(method, binding, request_id, 0.0)
        token = self.tokens.get()
        headers = {
            "Authorization": f"Bearer {token.token}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "x-ms-client-request-id": request_id,
            "x-ms-return-client-request-id": "true",
        }
        extra: dict[str, Any] = {}
        if payload is not None:
            headers["Content-Type"] = "application/json"
            extra["data"] = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self._trace(f"> {method} {url}  (x-ms-client-request-id: {request_id})")
        if self.hooks.debug is not None:
            for name, value in headers.items():
                shown = "Bearer <redacted>" if name == "Authorization" else value
                self._trace(f">   {name}: {shown}")
            if "data" in extra:  # a query body (Resource Graph); it holds no secret
                self._trace(">   body: " + sanitize(extra["data"].decode("utf-8"), 4000))
        self.stats.requests += 1
        started = time.monotonic()
        resp, raw = self._exchange(method, url, headers, extra, request_id, end, binding)
        elapsed_ms = (time.monotonic() - started) * 1000
        status = resp.status_code
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        lowered = {k.lower(): v for k, v in resp.headers.items()}
        self._trace(
            f"< {status} {resp.reason or ''} ({elapsed_ms:.0f} ms, {len(raw)} bytes, "
            f"x-ms-request-id: {lowered.get('x-ms-request-id', '-')})"
        )
        declared = lowered.get("content-length")
        if declared and declared.isdigit() and int(declared) != len(raw):
            raise NetworkError(
                f"the response was cut short ({len(raw)} of {declared} bytes; "
                f"request id {request_id})",
                status=status,
                request_id=request_id,
            )
        text = raw.decode("utf-8", errors="replace")
        del raw  # the text is all that is kept: a large body is not held twice
        if status in ok:
            return Response(
                status, lowered, self._json_body(status, text, request_id, expect_json), request_id
            )
        raise self._error(status, lowered, text, request_id)

    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        extra: dict[str, Any],
        request_id: str,
        end: float,
        binding: str,
    ) -> tuple[requests.Response, bytearray]:
        """One request and its whole body, over by ``end`` (monotonic) whatever the server does
        (the ``Watchdog``), the body no larger than ``max_body``; failures as typed errors."""
        remaining = end - time.monotonic()
        resp: requests.Response | None = None
        with Watchdog(remaining) as watchdog:
            try:
                resp = self.session.request(
                    method,
                    url,
                    headers=headers,
                    timeout=(min(self.timeout[0], remaining), min(self.timeout[1], remaining)),
                    allow_redirects=False,
                    proxies=self._proxies,
                    stream=True,
                    **extra,
                )
                self.answered = True
                raw = read_body(resp, until=end, limit=self.max_body)
            except BodyTooLarge as exc:
                assert resp is not None
                resp.close()  # not worth reading the rest to keep the connection
                raise self._too_large(exc, resp.status_code, request_id) from None
            except OutOfTime:
                if resp is not None:
                    resp.close()
                raise self._out_of_time(method, binding, request_id, remaining) from None
            except requests.exceptions.RequestException as exc:
                if resp is not None:
                    resp.close()
                if watchdog.fired or time.monotonic() >= end:
                    raise self._out_of_time(method, binding, request_id, remaining) from None
                unreachable = self._unreachable(exc, request_id)
                if unreachable is not None:
                    raise unreachable from None
                raise self._network_error(exc, method, request_id) from None
            if watchdog.fired:  # it fired as the last byte came: the connection is unusable
                resp.close()
        return resp, raw

    def _json_body(self, status: int, text: str, request_id: str, expect_json: bool) -> Any:
        if expect_json and text.strip():
            try:
                return parse_json(text)
            except JsonTooDeep as exc:
                raise UnexpectedResponseError(
                    f"HTTP {status} with a JSON body {exc} (request id {request_id})",
                    status=status,
                    request_id=request_id,
                ) from None
            except ValueError:
                raise UnexpectedResponseError(
                    f"HTTP {status} with a body that is not valid JSON: "
                    f"{_excerpt(text, self._redact)!r} (request id {request_id})",
                    status=status,
                    request_id=request_id,
                ) from None
        if expect_json and status == 200:
            raise UnexpectedResponseError(
                f"HTTP {status} with an empty body (request id {request_id})",
                status=status,
                request_id=request_id,
            )
        return None

    def _too_large(self, exc: BodyTooLarge, status: int, request_id: str) -> ResponseTooLarge:
        """Not transient (no status on purpose): the same request would get the same body."""
        size = f" ({exc.size / 1048576:.1f} MiB)" if exc.size is not None else ""
        return ResponseTooLarge(
            f"HTTP {status} with a body larger than {self.max_body / 1048576:g} MiB{size}, "
            f"the most azjobs reads (request id {request_id})",
            request_id=request_id,
        )

    def _network_error(
        self, exc: requests.exceptions.RequestException, method: str, request_id: str
    ) -> NetworkError:
        if isinstance(exc, requests.exceptions.Timeout):
            return NetworkError(
                f"{method} timed out (request id {request_id})", request_id=request_id
            )
        if isinstance(
            exc,
            (
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
        ):
            return NetworkError(
                f"connection failed: {sanitize(self._redact(_root_cause(exc)), 140)} "
                f"(request id {request_id})",
                request_id=request_id,
            )
        return NetworkError(
            f"request failed: {sanitize(self._redact(str(exc)), 140)} (request id {request_id})",
            request_id=request_id,
        )

    def _error(
        self, status: int, headers: Mapping[str, str], text: str, request_id: str
    ) -> ApiError:
        try:
            body = parse_json(text) if text.strip() else None
        except ValueError:
            body = None
        code, message = arm_error(body)
        if message is None and code is None:
            detail = _excerpt(text, self._redact)
        else:
            shown = sanitize(self._redact(message or ""), 300) or "(no message)"
            detail = f"{sanitize(self._redact(code or 'error'), 100)}: {shown}"
            more = _error_details(body)
            if more:  # Resource Graph puts the reason there, and a support blurb in message
                detail += f" ({sanitize(self._redact(more), 300)})"
        retry_after = parse_retry_after(headers, message or text)
        text_line = f"HTTP {status} {detail} (request id {request_id})"
        kwargs: dict[str, Any] = {
            "status": status,
            "code": code,
            "request_id": request_id,
            "retry_after": retry_after,
        }
        if status == 404:
            return NotFoundError(text_line, **kwargs)
        if status == 401:
            refused = AuthError(
                text_line,
                hint="the token was refused; run `az login` or renew AZJOBS_ACCESS_TOKEN",
                **kwargs,
            )
            refused.claims = claims_challenge(headers.get("www-authenticate"))
            return refused
        if status == 403:
            return AuthError(
                text_line,
                hint="the identity needs a role such as Backup Reader on the vault "
                "(Backup Operator to cancel)",
                **kwargs,
            )
        if status == 400 and code in {
            "InvalidApiVersionParameter",
            "NoRegisteredProviderFound",
            "InvalidResourceType",
        }:
            return ApiError(text_line, hint=self._api_version_hint(message or ""), **kwargs)
        if 300 <= status < 400:
            return UnexpectedResponseError(f"unexpected redirect: {text_line}", **kwargs)
        return ApiError(text_line, **kwargs)

    def _api_version_hint(self, message: str) -> str:
        """Name the versions the service lists: the message may be cut short when shown."""
        requested = self.ctx.api_version
        listed = dict.fromkeys(v for v in _API_VERSION_IN_TEXT.findall(message) if v != requested)
        if not listed:
            return (
                f"api-version {requested} was refused; pass --api-version (or set "
                "AZJOBS_API_VERSION) with a version the service supports"
            )
        stable = sorted((v for v in listed if not v.endswith("-preview")), reverse=True)
        shown = (stable or sorted(listed, reverse=True))[:5]
        return (
            f"api-version {requested} was refused; the service lists "
            f"{', '.join(shown)}{', ...' if len(listed) > len(shown) else ''}; "
            "pass one with --api-version or AZJOBS_API_VERSION"
        )

    # ----- API ------------------------------------------------------------------------------
    def post_json(self, url: str, body: Any, *, retry: RetryPolicy | None = None) -> Response:
        """POST a JSON body to a URL on the endpoint's host and read a JSON answer (200).

        For queries that only read (Resource Graph), so transient failures are retried as for
        a GET. The body is traced with ``--debug``; it must hold no secret.
        """
        checked = self.checked_url(url, "query")
        return self.request("POST", checked, body=body, idempotent=True, retry=retry)

    def close(self) -> None:
        self.session.close()


def _error_details(body: Any) -> str:
    """``code: message`` of the first entries of an ARM error's ``details``, when there are,
    and the recommended action of a DataProtection UserFacingError (``additionalInfo``)."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    parts: list[str] = []
    for item in details if isinstance(details, list) else []:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            code = item.get("code")
            prefix = f"{code}: " if isinstance(code, str) and code != item["message"] else ""
            parts.append(prefix + item["message"])
        if len(parts) == 2:
            break
    advice = _recommended_action(error)
    if advice:
        parts.append(f"recommended: {advice}")
    return "; ".join(parts)


def _recommended_action(error: Any) -> str:
    """The first UserFacingError's ``recommendedAction`` (a list of sentences, or one)."""
    extra = error.get("additionalInfo") if isinstance(error, dict) else None
    for entry in extra if isinstance(extra, list) else []:
        info = entry.get("info") if isinstance(entry, dict) else None
        actions = info.get("recommendedAction") if isinstance(info, dict) else None
        if isinstance(actions, str):
            actions = [actions]
        if isinstance(actions, list):
            said = [a.strip() for a in actions if isinstance(a, str) and a.strip()]
            if said:
                return " ".join(said[:2])
    return ""


def _origin(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port made explicit, for comparisons."""
    scheme = scheme.lower()
    return scheme, (host or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while seen.__context__ is not None and seen.__context__ is not seen:
        seen = seen.__context__
    for candidate in (exc, seen):
        text = str(candidate)
        if "Connection refused" in text:
            return "connection refused"
        if "reset by peer" in text or "RemoteDisconnected" in text or "aborted" in text.lower():
            return "connection reset by the server"
        if "IncompleteRead" in text or "Connection broken" in text:
            return "connection dropped while reading the response"
        if "Name or service not known" in text or "nodename nor servname" in text:
            return "host name not found"
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in text:
            return "TLS certificate verification failed (set REQUESTS_CA_BUNDLE for a private CA)"
    return type(exc).__name__ + ": " + str(exc)
