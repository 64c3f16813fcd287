"""Bounds on one HTTP exchange, whatever the server does: time, size, and what a failure means.

A socket timeout bounds each read, not the request: a server that sends one byte every two
seconds never trips it. So every request runs under a ``Watchdog`` that shuts the connection's
socket down when the request's time is up, in whatever phase it is (waiting for headers,
trickling them, or the body). The connections of ``new_session()`` tell the watchdog which
socket they use; a session without them (a test's mock) still has its body read in chunks with
the deadline checked in between. Bodies are read incrementally and refused past
``MAX_BODY_BYTES``, so a hostile answer cannot take the process's memory.

``connect_failure`` tells the failures that happened before any connection (refused, unknown
host, connect timeout, TLS) from those of a service that answered (reset, cut short): the client
retries the latter, and the former only once the endpoint has answered in this run.
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# The largest response body azjobs reads. A job resource is a few kilobytes, a page of a job
# list or of a Resource Graph query a few megabytes at most.
MAX_BODY_BYTES = 16 * 1024 * 1024
# How long one request may take in all (connect, headers, body) when nothing sets a shorter
# limit: as long as the longest socket read used to be allowed to wait.
REQUEST_TIME_LIMIT = 60.0
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Deadline:
    """The point of the monotonic clock by which a whole command must end, and the limit as the
    user gave it (for the message)."""

    at: float
    seconds: float

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, seconds)

    def remaining(self, now: float | None = None) -> float:
        return self.at - (time.monotonic() if now is None else now)


class BodyTooLarge(Exception):
    """The body (declared or read so far) passed the limit."""

    def __init__(self, size: int | None) -> None:
        super().__init__(size)
        self.size = size


class OutOfTime(Exception):
    """The body was still arriving when the request's time ran out."""


# ----- the watchdog -------------------------------------------------------------------------------
_local = threading.local()


class _Monitor:
    """One thread that fires every watchdog whose time is up.

    A thread per request (``threading.Timer``) costs a thread start and its scheduling on every
    request, which a list of a thousand pages pays a thousand times; here a request only pushes
    its deadline on a heap. Watchdogs that ended are dropped when their deadline comes up.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watchdog]] = []
        self._count = 0
        self._thread: threading.Thread | None = None

    def watch(self, at: float, dog: Watchdog) -> None:
        with self._cond:
            self._count += 1
            heapq.heappush(self._heap, (at, self._count, dog))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="azjobs-watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is dog:  # a new earliest deadline: wake the thread up
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                at, _, dog = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                dog.fire()


_MONITOR = _Monitor()


class Watchdog:
    """Shuts down the socket of the request in flight on this thread after ``seconds``.

    Used as a context manager around one request and its body. ``fired`` tells the caller that
    a failure it sees was the watchdog's doing (a timeout), not the server's.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self.done = False
        self._seconds = max(seconds, 0.0)
        self._lock = threading.Lock()
        self._connection: Any = None

    def __enter__(self) -> Watchdog:
        _local.watchdog = self
        _MONITOR.watch(time.monotonic() + self._seconds, self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.done = True
            self._connection = None
        _local.watchdog = None

    def attach(self, connection: Any) -> None:
        with self._lock:
            if self.done:
                return
            self._connection = connection
            if self.fired:
                _shut(connection)

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            if self._connection is not None:
                _shut(self._connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _attach(connection: Any) -> None:
    watchdog: Watchdog | None = getattr(_local, "watchdog", None)
    if watchdog is not None:
        watchdog.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)  # a kept-alive connection is not connected again
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _attach(self)  # the TLS handshake is bounded too
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections that report their socket to the ``Watchdog``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def new_session() -> requests.Session:
    session = requests.Session()
    adapter = WatchedAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


# ----- the body ----------------------------------------------------------------------------------
def read_body(resp: requests.Response, *, until: float, limit: int = MAX_BODY_BYTES) -> bytearray:
    """The whole body, read in chunks: refused past ``limit`` bytes (a declared length is checked
    before reading anything), and given up at ``until`` (monotonic)."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared))
    if resp.raw is None:  # a session that read the body already (a test's, an adapter's)
        content = resp.content or b""
        if len(content) > limit:
            raise BodyTooLarge(len(content))
        return bytearray(content)
    body = bytearray()
    for chunk in resp.iter_content(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(None)
        if time.monotonic() >= until:
            raise OutOfTime()
    return body


# ----- what a failure means ---------------------------------------------------------------------
_NO_CONNECTION_TEXT = (
    "connection refused",
    "name or service not known",
    "nodename nor servname",
    "failed to resolve",
    "temporary failure in name resolution",
    "getaddrinfo failed",
    "no address associated",
    "no route to host",
    "network is unreachable",
)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (urllib3's ``reason``, ``args``) and its context."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(found) < 20:
        item = todo.pop()
        if any(item is seen for seen in found):
            continue
        found.append(item)
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        todo.extend(arg for arg in item.args if isinstance(arg, BaseException))
        for linked in (item.__cause__, item.__context__):
            if linked is not None:
                todo.append(linked)
    return found


def tls_failure(exc: BaseException) -> bool:
    """The endpoint's TLS certificate failed verification: no retry makes it pass."""
    return any(
        "CERTIFICATE_VERIFY_FAILED" in str(item) or "certificate verify failed" in str(item)
        for item in _chain(exc)
    )


def connect_failure(exc: BaseException) -> str | None:
    """Why no connection was made (refused, unknown host, connect timeout, TLS), or None when
    the failure came after one was (reset, cut short, read timeout)."""
    from urllib3.exceptions import ConnectTimeoutError

    if tls_failure(exc):
        return "TLS certificate verification failed"
    chain = _chain(exc)
    text = " ".join(str(item) for item in chain).lower()
    if "connection refused" in text:
        return "connection refused"
    if any(needle in text for needle in _NO_CONNECTION_TEXT[1:6]):
        return "host name not found"
    if any(needle in text for needle in _NO_CONNECTION_TEXT[6:]):
        return "network unreachable"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    # urllib3's NewConnectionError is a ConnectTimeoutError too: the texts above come first.
    if isinstance(exc, requests.exceptions.ConnectTimeout) or any(
        isinstance(item, ConnectTimeoutError) for item in chain
    ):
        return "connection timed out"
    return None
