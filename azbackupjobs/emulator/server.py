"""HTTP plumbing: a threading HTTP/1.1 server with keep-alive, TLS, faults and a request log.

Every response leaves in one ``sendall`` (status line, headers and body together) on a socket
with TCP_NODELAY: split writes meet Nagle's algorithm and the client's delayed ACK and cost
~40 ms per request on keep-alive connections. TLS handshakes happen in the connection's own
thread, so a slow client cannot hold up the accept loop.
"""

from __future__ import annotations

import contextlib
import math
import selectors
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from . import intake
from .clock import EmulatedClock
from .defaults import DEFAULT_LOCATION, RETRY_AFTER_THROTTLED
from .faults import EARLY_RETRY, FaultPlan, scaled_retry_after
from .limits import MAX_BODY_BYTES
from .replies import Reply, ServiceError, json_reply
from .routes import Match, Request, Router, match
from .wire import arm_error, http_date

_DEFAULT_ACTION = "Microsoft.RecoveryServices/vaults/backupJobs/read"
# Idle keep-alive connections are closed after this many seconds.
IDLE_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it; ``status`` is None when the connection was reset."""

    method: str
    path: str
    query: str
    status: int | None
    fault: str | None
    time: float  # wall clock (epoch seconds) at arrival
    emulated_time: float
    duration: float  # seconds spent preparing the answer
    client: str

    def line(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.time))
        target = self.path + (f"?{self.query}" if self.query else "")
        status = "reset" if self.status is None else str(self.status)
        fault = f" [fault {self.fault}]" if self.fault else ""
        return f"{stamp} {self.method} {target} -> {status}{fault} {self.duration * 1000:.0f}ms"


class RequestLog:
    """Thread-safe list of :class:`RequestRecord`, with an optional line-per-request sink."""

    def __init__(self, sink: TextIO | None = None) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self.sink = sink

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
            if self.sink is not None:
                try:
                    self.sink.write(record.line() + "\n")
                    self.sink.flush()
                except (OSError, ValueError):
                    self.sink = None

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class RateCounter:
    """``x-ms-ratelimit-remaining-subscription-resource-requests``: counts down per emulated
    hour from 449 and, as recorded, goes to -1 without any request failing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hour = -1
        self._count = 0

    def next(self, now: float) -> int:
        with self._lock:
            hour = int(now // 3600)
            if hour != self._hour:
                self._hour, self._count = hour, 0
            self._count += 1
            return max(-1, 450 - self._count)


@dataclass
class ServerApp:
    """What the request handler needs; one per emulator."""

    router: Router
    faults: FaultPlan
    log: RequestLog
    clock: EmulatedClock
    base_url: str
    slow_seconds: float
    tls: bool
    rate: RateCounter


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Kestrel"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SECONDS
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """The request log replaces http.server's stderr lines."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # -- one request -----------------------------------------------------------------------------
    def _leave_body(self, length: int) -> None:
        """A request answered without its body: drain a small one so that the connection can
        carry the next request; close the connection after the reply on anything bigger."""
        if length == intake.CHUNKED or length > MAX_BODY_BYTES:
            self.close_connection = True
        else:
            intake.discard(self.rfile, length)

    def _fault(
        self, req: Request, m: Match | None, emulated: float
    ) -> tuple[str | None, Reply | None]:
        """The injected fault for this request, and the reply it makes (None: answer late or
        drop the connection). Exempt routes never get one."""
        app = self.server.app
        if m is not None and m.exempt:
            return None, None
        principal = req.header("Authorization") or self.client_address[0]
        left = app.faults.throttled_for(principal, emulated)
        if left is not None:
            return EARLY_RETRY, self._throttled(m, math.ceil(left / app.clock.speed))
        fault = app.faults.choose()
        if fault == "429":
            seconds = scaled_retry_after(RETRY_AFTER_THROTTLED, app.clock.speed)
            app.faults.throttle(principal, emulated + seconds * app.clock.speed)
            return fault, self._throttled(m, seconds)
        if fault in ("500", "503"):
            return fault, self._server_error(int(fault), req)
        return fault, None

    def _dispatch(self) -> None:
        """One request, in this order: the framing of its body (headers only), injected faults,
        the bearer token (headers only), then and only then the body, capped; then the answer.
        Nothing is buffered for a client that is refused."""
        app = self.server.app
        started = time.monotonic()
        arrived = time.time()
        emulated = app.clock.now()
        path, _, query = self.path.partition("?")
        headers = {name.lower(): value for name, value in self.headers.items()}
        req = Request(self.command, path, query, headers, b"", base_url=app.base_url)
        m = match(path)
        fault: str | None = None
        reply: Reply | None = None
        try:
            length = intake.declared_length(
                self.headers.get_all("Content-Length") or [],
                self.headers.get("Transfer-Encoding"),
            )
        except ServiceError as err:
            self.close_connection = True
            reply = err.reply()
        else:
            fault, reply = self._fault(req, m, emulated)
            if fault == "reset":
                # Recorded before anything is sent, so that a client that got its answer
                # finds its request in the log.
                self._record(req, None, fault, arrived, emulated, started)
                self._reset()
                return
            if reply is None:
                reply = app.router.authenticate(req, m)
            try:
                if reply is not None:
                    self._leave_body(length)
                else:
                    req.body = intake.read_body(self.rfile, length, MAX_BODY_BYTES)
            except ServiceError as err:
                self.close_connection = True
                reply = err.reply()
            except (ValueError, OSError):
                self.close_connection = True
                return
        if reply is None:
            if fault == "slow":
                time.sleep(app.slow_seconds)
            reply = self._answer(req, m)
        data = self._serialize(req, reply)
        self._record(req, reply.status, fault, arrived, emulated, started)
        if fault == "truncated":
            cut = len(data) - len(reply.body) // 2 if reply.body else len(data) // 2
            self._send(data[:cut])
            self.close_connection = True
        else:
            self._send(data)

    def _answer(self, req: Request, m: Match | None) -> Reply:
        try:
            return self.server.app.router.handle(req, m)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return json_reply(500, arm_error("InternalServerError", "The emulator failed."))

    def _throttled(self, m: Match | None, seconds: int) -> Reply:
        action = m.action if m is not None and m.arm else _DEFAULT_ACTION
        return json_reply(
            429,
            arm_error(
                "ResourceRequestsThrottled",
                f"Number of requests for action '{action}' exceeded the limit of '150' for time "
                f"interval '01:00:00'. Please try again after '{seconds}' seconds.",
            ),
            [("Retry-After", str(seconds)), ("x-ms-failure-cause", "gateway")],
        )

    def _server_error(self, status: int, req: Request) -> Reply:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.server.app.clock.now()))
        tracking = str(uuid.uuid4())
        parts = [p for p in req.path.split("/") if p]
        sub = parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""
        diagnostic = (
            f"Diagnostic information: timestamp '{stamp}', subscription id '{sub}', tracking id "
            f"'{tracking}', request correlation id '{tracking}'."
        )
        if status == 500:
            body = arm_error(
                "InternalServerError", f"Encountered internal server error. {diagnostic}"
            )
        else:
            body = arm_error("ServerTimeout", f"The request timed out. {diagnostic}")
        return json_reply(status, body, [("x-ms-failure-cause", "gateway")])

    def _serialize(self, req: Request, reply: Reply) -> bytes:
        app = self.server.app
        now = app.clock.now()
        request_id = str(uuid.uuid4())
        try:
            reason = HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Unknown"
        headers: list[tuple[str, str]] = [
            ("Cache-Control", "no-cache"),
            ("Pragma", "no-cache"),
        ]
        if reply.content_type:
            headers.append(("Content-Type", reply.content_type))
        headers += [("Expires", "-1"), *reply.headers]
        headers += [
            ("x-ms-request-id", request_id),
            ("x-ms-correlation-request-id", request_id),
        ]
        client_request_id = req.header("x-ms-client-request-id")
        if client_request_id:
            headers.append(("x-ms-client-request-id", client_request_id))
        if req.method == "GET" and "/providers/" in req.path.lower():
            headers.append(
                ("x-ms-ratelimit-remaining-subscription-resource-requests", str(app.rate.next(now)))
            )
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        headers += [
            ("x-ms-routing-request-id", f"{DEFAULT_LOCATION.upper()}:{stamp}:{request_id}"),
            ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
            ("X-Content-Type-Options", "nosniff"),
            ("Server", "Kestrel"),
            ("Date", http_date(now)),
            ("Content-Length", str(len(reply.body))),
        ]
        if self.close_connection:
            headers.append(("Connection", "close"))
        head = f"HTTP/1.1 {reply.status} {reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        body = b"" if req.method == "HEAD" else reply.body
        return head.encode("latin-1") + body

    def _send(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        """Drop the connection without an answer: SO_LINGER 0 makes close() send a RST."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _record(
        self,
        req: Request,
        status: int | None,
        fault: str | None,
        arrived: float,
        emulated: float,
        started: float,
    ) -> None:
        self.server.app.log.add(
            RequestRecord(
                method=req.method,
                path=req.path,
                query=req.query_string,
                status=status,
                fault=fault,
                time=arrived,
                emulated_time=emulated,
                duration=time.monotonic() - started,
                client=f"{self.client_address[0]}:{self.client_address[1]}",
            )
        )


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    # Set by the owner before serve_forever() starts.
    app: ServerApp

    def __init__(self, address: tuple[str, int], ssl_context: ssl.SSLContext | None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._stopping = False
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__(address, _Handler)

    def run(self) -> None:
        """Accept connections until :meth:`request_stop`; unlike serve_forever() there is no
        polling interval, so stopping is immediate (tests start and stop hundreds of these)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_reader:
                        return
                    self._accept_one()

    def _accept_one(self) -> None:
        try:
            request, client_address = self.get_request()
        except OSError:
            return
        try:
            self.process_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
            self.shutdown_request(request)

    def request_stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can take seconds; not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(10.0)
            request.do_handshake()
            request.settimeout(None)
        super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Dropped connections and failed handshakes are routine; anything else is a bug."""
        error = sys.exc_info()[1]
        if isinstance(error, (OSError, ssl.SSLError, TimeoutError)):
            return
        traceback.print_exc(file=sys.stderr)

    def close_connections(self) -> None:
        """Wake the threads waiting on idle keep-alive connections so that stop() is prompt."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
