"""Helpers shared by the reliability suites: run the CLI in-process, run the installed console
script, and small local HTTP servers (scripted answers, stalls, a "foreign host" recorder)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs.arm.client import BackupJobsClient
from azbackupjobs.cli import app as cli

AZJOBS = str(Path(sys.executable).with_name("azjobs"))
SUB = "00000000-0000-0000-0000-0000000000aa"
RG = "rg1"
VAULT = "vault1"
ENDPOINT = "https://management.azure.com"
BASE = (
    f"{ENDPOINT}/subscriptions/{SUB}/resourceGroups/{RG}"
    f"/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
)
JOB = "00000000-0000-4000-8000-000000000001"
JOB_URL = f"{BASE}/backupJobs/{JOB}"
LIST_URL = f"{BASE}/backupJobs"
# Long and distinctive, like a real JWT: any appearance of it in output is a leak.
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzZWNyZXQiOiJ0b2tlbiJ9.c2lnbmF0dXJlLXNlY3JldA"
ESC = "\x1b"
C1_CSI = "\x9b"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def vault_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    """Point the in-process CLI at the scripted vault (the autouse fixture cleared the rest)."""
    values = {
        "AZURE_SUBSCRIPTION_ID": SUB,
        "AZJOBS_RESOURCE_GROUP": RG,
        "AZJOBS_VAULT": VAULT,
        "AZJOBS_ACCESS_TOKEN": TOKEN,
        "COLUMNS": "160",
    }
    values.update(extra)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Clients built from now on sleep in no time; returns the list of delays asked for."""
    slept: list[float] = []
    original = BackupJobsClient.__init__

    def init(self: BackupJobsClient, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("sleep", slept.append)
        original(self, *args, **kwargs)

    monkeypatch.setattr(BackupJobsClient, "__init__", init)
    return slept


def run_cli(args: list[str]) -> Result:
    """``cli.main(args)`` as the console script runs it (the Typer path), streams captured."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Result(code, out.getvalue(), err.getvalue())


def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text
        assert 'File "' not in text, text


def assert_no_raw_controls(*texts: str) -> None:
    """No escape character and no C1 CSI: service data cannot drive the terminal."""
    for text in texts:
        assert ESC not in text, repr(text[:500])
        assert C1_CSI not in text, repr(text[:500])


def assert_one_error_line(result: Result) -> None:
    """Exactly one ``azjobs: error:`` line; anything else on stderr is an ``azjobs:`` note."""
    errors = [line for line in result.err_lines if line.startswith("azjobs: error:")]
    assert len(errors) == 1, result.err
    for line in result.err_lines:
        assert line.startswith("azjobs: "), result.err


# ----- the installed console script ---------------------------------------------------------------
def child_env(values: dict[str, str], cache: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``azjobs`` child: this one without AZJOBS_*/AZURE_*, plus ``values``
    and a cache directory of its own (where the fast path keeps its option table)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZJOBS_", "AZURE_"))}
    if "AZJOBS_VAULT_TYPE" in os.environ:  # the kind of vault the test set-up names
        env["AZJOBS_VAULT_TYPE"] = os.environ["AZJOBS_VAULT_TYPE"]
    env.update(values)
    env.update(
        {
            "XDG_CACHE_HOME": str(cache),
            "XDG_CONFIG_HOME": str(cache / "config"),
            "AZURE_CONFIG_DIR": str(cache / "azure"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def spawn(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [AZJOBS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kwargs
    )


def run_azjobs(args: list[str], env: dict[str, str], timeout: float = 30.0) -> Result:
    proc = subprocess.run(
        [AZJOBS, *args], capture_output=True, env=env, timeout=timeout, check=False
    )
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


# ----- small local servers ------------------------------------------------------------------------
@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Answer = tuple[int, dict[str, str], bytes]


@dataclass
class LocalServer:
    """A loopback HTTP/1.1 server: ``answer(method, path)`` gives (status, headers, body), or
    None to stall until the server stops. Every request is recorded with its headers."""

    answer: Callable[[str, str], Answer | None]
    seen: list[Seen] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                owner.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
                owner.arrived.set()
                found = owner.answer(self.command, self.path)
                if found is None:
                    owner.stop_event.wait(30)
                    self.close_connection = True
                    return
                status, headers, body = found
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_DELETE = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def local_server(answer: Callable[[str, str], Answer | None]) -> Iterator[LocalServer]:
    server = LocalServer(answer)
    try:
        yield server
    finally:
        server.stop()


def json_answer(text: str, status: int = 200, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, text.encode("utf-8")


SGR_OR_CURSOR = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\")


# ----- a raw server, for answers no HTTP library would send ---------------------------------------
@dataclass
class RawServer:
    """A loopback TCP server that reads each request's head and hands the socket to ``reply``,
    which writes whatever bytes it likes (slowly, cut short, chunked without end) until
    ``stopping`` is set. ``requests`` counts the requests read."""

    reply: Callable[[Any, RawServer], None]
    requests: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        import socket

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Any) -> None:
        conn.settimeout(30)
        try:
            while not self.stopping.is_set():
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                self.requests += 1
                self.reply(conn, self)
        except OSError:
            pass
        finally:
            conn.close()

    def pause(self, seconds: float) -> bool:
        """Wait, unless the server is stopping (then False: the reply should end)."""
        return not self.stopping.wait(seconds)

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()


@contextlib.contextmanager
def raw_server(reply: Callable[[Any, RawServer], None]) -> Iterator[RawServer]:
    server = RawServer(reply)
    try:
        yield server
    finally:
        server.stop()


def _peak_rss(pid: int) -> int:
    """The process's resident high-water mark in KiB (``VmHWM``: since its exec, unlike
    ``ru_maxrss``, which keeps the peak of the parent it was forked from); 0 once it exited."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_measured(
    args: list[str], env: dict[str, str], limit: float = 60.0, stdout: Any = subprocess.PIPE
) -> tuple[Result, float, int]:
    """The installed azjobs, killed after ``limit`` seconds: its result, the wall time it took,
    and its peak memory (resident set, in MiB), read from /proc while it runs."""
    import time

    started = time.monotonic()
    proc = subprocess.Popen([AZJOBS, *args], stdout=stdout, stderr=subprocess.PIPE, env=env)
    streams: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        streams[name] = stream.read() if stream is not None else b""

    readers = [
        threading.Thread(target=drain, args=(name, stream), daemon=True)
        for name, stream in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    peak = 0
    while True:
        peak = max(peak, _peak_rss(proc.pid))  # before the wait: a zombie has no memory left
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > limit:
            proc.kill()
        time.sleep(0.005)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(10)
    result = Result(
        proc.returncode,
        streams.get("out", b"").decode("utf-8", "replace"),
        streams.get("err", b"").decode("utf-8", "replace"),
    )
    return result, wall, peak // 1024
