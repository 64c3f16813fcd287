"""``metrics --serve``: ``/metrics`` and ``/healthz`` over the standard library's HTTP server.

A scrape only reads what the refresher last published (``MetricsApp.current``) and never waits on
Azure. The format follows the scrape's ``Accept`` header as prometheus-client's own handler
negotiates it, gzipped when the scraper accepts gzip (Prometheus does). Everything is bounded: a
connection that says nothing for ``REQUEST_TIMEOUT`` seconds is dropped, at most
``MAX_CONNECTIONS`` are served at once (the next get 503 at once), one request per connection.

The listening address is loopback unless named otherwise: the jobs name vaults, resource groups
and protected items, which are not for everyone on the network.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from azbackupjobs import __version__
from azbackupjobs.arm.settings import is_loopback_host
from azbackupjobs.follow.refresh import Refresher, RefreshState
from azbackupjobs.model.errors import AzJobsError, UsageError
from azbackupjobs.model.text import sanitize
from azbackupjobs.view.metrics import ExporterHealth, Exposition, encoder_for_accept

DEFAULT_HOST = "127.0.0.1"
REQUEST_TIMEOUT = 10.0
MAX_CONNECTIONS = 16
_INDEX = (
    "azjobs metrics exporter\n\n"
    "/metrics  the Backup jobs and the exporter's own health (Prometheus or OpenMetrics text)\n"
    "/healthz  200 while refreshes from Azure succeed, else 503\n"
)


@dataclass(frozen=True)
class Health:
    ok: bool
    text: str


@dataclass(frozen=True)
class MetricsApp:
    """What the server serves: callables, so that each request reads the latest of each."""

    current: Callable[[], tuple[Exposition, ExporterHealth]]
    health: Callable[[], Health]
    clock: Callable[[], float]


def app_for(
    refresher: Refresher[Exposition],
    health_of: Callable[[RefreshState[Exposition]], ExporterHealth],
) -> MetricsApp:
    """Serve what ``refresher`` last published; ``health_of`` adds the exporter's counters."""

    def current() -> tuple[Exposition, ExporterHealth]:
        state = refresher.state
        return state.value or Exposition(None), health_of(state)

    return MetricsApp(
        current=current,
        health=lambda: healthz(refresher, refresher.wall()),
        clock=refresher.wall,
    )


def healthz(refresher: Refresher[Exposition], now: float) -> Health:
    """200 while a refresh succeeded within the last two intervals (one failure is a blip; the
    data served meanwhile is the last good one), 503 after that, with the reason."""
    state = refresher.state
    if refresher.fresh(now) and state.succeeded_at is not None:
        text = f"ok: the last successful refresh ended {now - state.succeeded_at:.0f} s ago"
        if not state.ok:
            text += f"; the latest failed: {state.error}"
        return Health(True, text)
    since = f"{now - state.succeeded_at:.0f} s ago" if state.succeeded_at is not None else "never"
    return Health(False, f"stale: the last successful refresh ended {since}; {state.error}")


# ----- the address ------------------------------------------------------------------------------
def parse_listen(value: str) -> tuple[str, int]:
    """``--serve HOST:PORT``: ``:9464`` (loopback), ``127.0.0.1:9464``, ``0.0.0.0:9464``,
    ``[::1]:9464``, ``localhost:9464``; port 0 picks a free one. Host names other than
    localhost are refused: a bind address is an address."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or len(port_text) > 5:
        raise UsageError(
            f"--serve: {sanitize(value, 60)!r} is not HOST:PORT "
            "(for example :9464, 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464)"
        )
    port = int(port_text)
    if port > 65535:
        raise UsageError(f"--serve: port {port} is out of range (0-65535)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        return DEFAULT_HOST, port
    if host.lower() == "localhost":
        return DEFAULT_HOST, port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(
            f"--serve: {sanitize(host, 60)!r} is not an IP address "
            "(use 127.0.0.1, ::1, 0.0.0.0 or an address of this machine)"
        ) from None
    return str(address), port


def is_loopback(host: str) -> bool:
    return is_loopback_host(host)


# ----- the server ---------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: MetricsApp, max_connections: int) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(max_connections)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A scraper that hangs up mid-answer (its scrape timeout) is routine: nothing to say.
        Anything else is one line on stderr, never the base class's traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        sys.stderr.write(
            "azjobs: a request to the metrics server failed: "
            f"{type(exc).__name__}: {sanitize(exc, 200)}\n"
        )
        sys.stderr.flush()


def _refuse_busy(request: socket.socket) -> None:
    try:
        request.settimeout(1.0)
        request.sendall(
            b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 5\r\nRetry-After: 1\r\n\r\nbusy\n"
        )
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT  # on the socket: a silent client cannot hold a thread
    server_version = f"azjobs/{__version__}"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        path = urlsplit(self.path).path
        app = self.server.app
        if path == "/metrics":
            accept = self.headers.get("Accept")
            encoder, content_type = encoder_for_accept(accept)
            gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "").lower()
            exposition, health = app.current()
            chunks = exposition.chunks(encoder, content_type, health, app.clock(), gzipped=gzipped)
            self._send(200, content_type, chunks, with_body, gzipped=gzipped)
        elif path == "/healthz":
            state = app.health()
            self._send(
                200 if state.ok else 503,
                "text/plain; charset=utf-8",
                [(state.text + "\n").encode("utf-8")],
                with_body,
            )
        elif path == "/":
            self._send(200, "text/plain; charset=utf-8", [_INDEX.encode("utf-8")], with_body)
        else:
            self._send(404, "text/plain; charset=utf-8", [b"not found: try /metrics\n"], with_body)

    def _send(
        self,
        status: int,
        content_type: str,
        chunks: list[bytes],
        with_body: bool,
        *,
        gzipped: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(sum(len(c) for c in chunks)))
        self.send_header("Cache-Control", "no-store")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        if with_body:
            for chunk in chunks:
                self.wfile.write(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a scrape every few seconds must not fill the service's log."""


class MetricsServer:
    """A bound server; ``start`` serves in a daemon thread, ``close`` stops it."""

    def __init__(
        self, host: str, port: int, app: MetricsApp, *, max_connections: int = MAX_CONNECTIONS
    ) -> None:
        try:
            self._server = _Server((host, port), app, max_connections)
        except OSError as exc:
            raise AzJobsError(
                f"--serve: cannot listen on {_show(host, port)}: {exc.strerror or exc}",
                hint="pick another port, or stop what listens there",
            ) from None
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{_show(self.host, self.port)}/metrics"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.25},
            name=f"azjobs-metrics-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._server.shutdown()  # returns once serve_forever has (within a poll interval)
            self._thread.join(timeout)
        self._server.server_close()


def _show(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
