"""A hostile server, and the mistakes of a first run: azjobs ends, in bounded time, requests and
memory, with one clear line, whatever the server does.

- Lists that never end (empty pages with new links, in the vault API and in Resource Graph):
  a run of empty pages or the page cap ends them; a deadline is checked between pages.
- ``Retry-After`` of 0, ``nan``, ``-5``, ``inf`` or a year: no loop asks sooner than a second
  (or its interval) after the answer, nor waits longer than an hour.
- A server that trickles its answer or never gives one: every request has an overall limit, a
  command's ``--timeout`` covers its requests and retries, and ``watch --timeout`` includes
  the request in flight.
- An endpoint that never answered (refused, TLS): exit 1 within seconds, with a hint.
- A body larger than 16 MiB: refused, read no further.
- A token refused mid-watch is really renewed (a fresh credential, the 401's claims).
- stdout closed or full; config and cache paths that are FIFOs or devices.

Every case adds to the ``hostile server`` figure of the reliability summary.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from azbackupjobs.arm import paging
from azbackupjobs.arm.auth import CredentialTokenProvider, StaticTokenProvider
from azbackupjobs.arm.client import (
    MAX_RETRY_AFTER,
    MIN_PAUSE,
    NO_RETRY,
    BackupJobsClient,
    parse_retry_after,
    pause,
)
from azbackupjobs.arm.settings import ContextFlags, resolve_context
from azbackupjobs.arm.transport import MAX_BODY_BYTES, Deadline
from azbackupjobs.cli.guard import report
from azbackupjobs.commands.cancel import CancelOptions, run_cancel
from azbackupjobs.commands.common import CommonOptions, Session, open_session
from azbackupjobs.commands.watch import WatchOptions, WatchRequest, run_watch, watch_jobs
from azbackupjobs.emulator import EmulatorHandle
from azbackupjobs.follow.pacing import failure_delay
from azbackupjobs.model.errors import (
    ApiError,
    CommandTimeout,
    EndpointUnreachable,
    ExitCode,
    RequestTimeout,
)
from azbackupjobs.sources.recovery_services import RecoveryServicesSource
from azbackupjobs.view.output import Environment, Output
from tests.harness import (
    AZJOBS,
    EmulatorFactory,
    child_environment,
    fake_environment,
    run_cli,
    run_cli_process,
    sent_url,
    strict_mock,
)
from tests.reliability.conftest import Figures
from tests.reliability.corpus import job_body
from tests.reliability.reliability_harness import (
    BASE,
    JOB,
    JOB_URL,
    LIST_URL,
    SUB,
    Answer,
    RawServer,
    assert_no_traceback,
    assert_one_error_line,
    json_answer,
    local_server,
    raw_server,
    run_measured,
    vault_env,
)

pytestmark = pytest.mark.e2e

OP = "df8f706d-a76d-4d6e-8050-cc91f0641f03"
OP_URL = f"{BASE}/backupOperations/{OP}"
RUNNING = job_body("InProgress")
DONE = job_body("Completed", endTime="2023-12-21T06:12:05.1Z")
VAULT_PATH = BASE.split("management.azure.com", 1)[1]
HOSTILE_RETRY_AFTER = ["0", "nan", "-5", "inf", "NaN", "1e400", "31536000", "-0"]


def local_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "AZJOBS_ENDPOINT": url,
        "AZJOBS_ACCESS_TOKEN": "local-token",
        "AZURE_SUBSCRIPTION_ID": SUB,
        "AZJOBS_RESOURCE_GROUP": "rg1",
        "AZJOBS_VAULT": "vault1",
        "AZJOBS_VAULT_TYPE": "recovery-services",
        **extra,
    }


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert math.isfinite(seconds) and seconds >= 0, seconds  # a number time.sleep takes
        self.sleeps.append(seconds)
        self.now += seconds


def memory_env() -> Environment:
    return fake_environment(
        {
            "AZURE_SUBSCRIPTION_ID": SUB,
            "AZJOBS_RESOURCE_GROUP": "rg1",
            "AZJOBS_VAULT": "vault1",
            "AZJOBS_VAULT_TYPE": "recovery-services",
            "AZJOBS_ACCESS_TOKEN": "local-token",
        }
    )


def client_for(url: str, **kwargs: Any) -> BackupJobsClient:
    ctx = resolve_context(
        ContextFlags(subscription=SUB, resource_group="rg1", vault="vault1", endpoint=url), {}
    )
    return BackupJobsClient(ctx, StaticTokenProvider("local-token"), **kwargs)


@pytest.fixture
def counted(figures: Figures) -> Iterator[None]:
    yield
    figures.hostile_cases += 1


# ----- lists that never end -----------------------------------------------------------------------
def endless(server_url: Callable[[], str]) -> Callable[[str, str], Answer]:
    count = {"n": 0}

    def answer(method: str, path: str) -> Answer:
        count["n"] += 1
        if method == "POST":  # Resource Graph: an empty page and a new $skipToken, forever
            return json_answer(json.dumps({"data": [], "$skipToken": f"t{count['n']}"}))
        query = f"api-version=2026-10-01&$skiptoken={count['n']}"
        link = f"{server_url()}{VAULT_PATH}/backupJobs?{query}"
        return json_answer(json.dumps({"value": [], "nextLink": link}))

    return answer


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize(
    "argv",
    [
        ["list", "-o", "json"],
        ["list", "-o", "ndjson", "--since", "90d"],
        ["watch", "--all", "--timeout", "10", "-o", "json"],
        ["list", "--fleet", "-o", "json"],
        ["watch", "--fleet", "--timeout", "10", "-o", "ndjson"],
    ],
    ids=["list", "list-90d", "watch-all", "list-fleet", "watch-fleet"],
)
def test_a_list_of_empty_pages_without_end_stops_at_once(argv: list[str]) -> None:
    holder: dict[str, str] = {}
    with local_server(endless(lambda: holder["url"])) as server:
        holder["url"] = server.url
        result, wall, _ = run_measured(argv, local_env(server.url), limit=60)
        sent = len(server.seen)
    assert result.exit_code == ExitCode.ERROR, result.stderr
    assert_no_traceback(result.stdout, result.stderr)
    assert_one_error_line(result)
    assert "empty pages in a row" in result.stderr
    assert sent <= paging.MAX_EMPTY_RUN + 1, sent  # before: 680 requests in 30 s, no end
    assert wall < 20


@pytest.mark.usefixtures("counted")
def test_a_list_that_never_ends_stops_at_the_page_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages that are not empty, each with a new link: the page cap ends them with a hint."""
    monkeypatch.setattr(paging, "MAX_PAGES", 30)
    vault_env(monkeypatch)
    served = {"n": 0}

    def page(request: Any) -> tuple[int, dict[str, str], str]:
        served["n"] += 1
        item = {**DONE, "name": f"00000000-0000-4000-8000-{served['n']:012d}"}
        link = f"{LIST_URL}?api-version=2026-10-01&$skiptoken={served['n']}"
        return 200, {}, json.dumps({"value": [item], "nextLink": link})

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, re.compile(re.escape(LIST_URL) + r"\?.*"), page)
        result = run_cli("list", "-o", "ndjson")
    assert result.exit_code == ExitCode.ERROR
    assert_one_error_line(result)
    assert "goes on past 30 pages" in result.stderr and "narrow the list" in result.stderr
    assert served["n"] == 30
    assert len(result.stdout.splitlines()) == 30  # what arrived was streamed


@pytest.mark.usefixtures("counted")
def test_the_deadline_is_checked_between_pages() -> None:
    """A command's --timeout ends a list between pages, without a request past it."""
    holder: dict[str, str] = {}

    def answer(method: str, path: str) -> Answer:
        time.sleep(0.3)
        n = path.count("x") + 1
        link = f"{holder['url']}{VAULT_PATH}/backupJobs?api-version=2026-10-01&$skiptoken={'x' * n}"
        return json_answer(json.dumps({"value": [DONE], "nextLink": link}))

    with local_server(answer) as server:
        holder["url"] = server.url
        client = client_for(server.url, deadline=Deadline.after(1.0))
        started = time.monotonic()
        with pytest.raises(CommandTimeout) as info:
            for _ in RecoveryServicesSource(client).iter_job_pages():
                pass
        assert time.monotonic() - started < 3
        assert len(server.seen) <= 5
    assert info.value.exit_code == ExitCode.ERROR
    assert "timed out after 1 s" in info.value.message


# ----- Retry-After --------------------------------------------------------------------------------
@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("value", HOSTILE_RETRY_AFTER)
def test_parse_retry_after_always_gives_a_number_to_sleep_on(value: str) -> None:
    for name in ("Retry-After", "retry-after-ms", "x-ms-retry-after-ms"):
        seconds = parse_retry_after({name.lower(): value})
        assert seconds is None or 0 <= seconds <= MAX_RETRY_AFTER, (name, seconds)
        delay = pause(seconds, default=10.0)
        assert MIN_PAUSE <= delay <= MAX_RETRY_AFTER


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("value", HOSTILE_RETRY_AFTER)
def test_watch_operation_polls_no_sooner_than_a_second(value: str) -> None:
    fake = FakeTime()
    pending = (200, {"Retry-After": value}, json.dumps({"id": OP, "status": "InProgress"}))
    with strict_mock() as rsps:
        rsps.add_callback(responses.GET, re.compile(re.escape(OP_URL) + r"\?.*"), lambda r: pending)
        request = WatchRequest(
            CommonOptions(output="json", endpoint="https://management.azure.com"),
            WatchOptions(interval=5, timeout=60),
            operation=OP,
        )
        with pytest.raises(Exception) as info:
            run_watch(request, memory_env(), sleep=fake.sleep, clock=fake.clock)
        polls = len(rsps.calls)
    assert getattr(info.value, "exit_code", None) == ExitCode.TIMEOUT, info.value
    assert all(MIN_PAUSE <= s <= MAX_RETRY_AFTER for s in fake.sleeps), fake.sleeps
    # before: Retry-After 0 made 115 GETs in 5 s; nan and inf ended in an unexpected error
    assert polls <= 60 / MIN_PAUSE + 1


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("value", HOSTILE_RETRY_AFTER)
def test_cancel_polls_its_operation_no_sooner_than_a_second(value: str) -> None:
    fake = FakeTime()
    location = f"{JOB_URL}/operationResults/op1?api-version=2026-10-01"
    # Not strict: a Retry-After past --timeout ends the wait before the first poll of the
    # operation, which is then never requested.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(re.compile(re.escape(JOB_URL) + r"\?.*"), json=RUNNING)
        rsps.post(
            re.compile(re.escape(JOB_URL) + r"/cancel\?.*"),
            status=202,
            headers={"Location": location, "Retry-After": value},
        )
        rsps.get(
            re.compile(re.escape(JOB_URL) + r"/operationResults/.*"),
            status=202,
            headers={"Location": location, "Retry-After": value},
        )
        with pytest.raises(Exception) as info:
            run_cancel(
                JOB,
                CommonOptions(output="json", endpoint="https://management.azure.com"),
                CancelOptions(yes=True, timeout="30"),
                memory_env(),
                sleep=fake.sleep,
                clock=fake.clock,
            )
        polls = len([c for c in rsps.calls if "operationResults" in sent_url(c)])
    assert getattr(info.value, "exit_code", None) == ExitCode.TIMEOUT, info.value
    assert all(s >= MIN_PAUSE for s in fake.sleeps[:-1]), fake.sleeps  # the last: to the deadline
    assert polls <= 30 / MIN_PAUSE + 1  # before: 96 GETs in 5 s


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("retry_after", [1e9, float("inf"), float("nan"), -5.0, 0.0])
def test_failure_waits_are_floored_and_capped(retry_after: float) -> None:
    """The wait of watch --operation and watch --fleet after a failure."""
    import random

    error = ApiError("throttled", status=429, retry_after=retry_after)
    for failures in (1, 3, 20):
        delay = failure_delay(5.0, failures, error, random.Random(1))
        assert 5.0 * 0.95 <= delay <= MAX_RETRY_AFTER


# ----- servers that trickle, or never answer ------------------------------------------------------
def trickle_body(conn: Any, server: RawServer) -> None:
    """Headers at once, then the body one byte at a time, every 0.2 s."""
    body = json.dumps(RUNNING).encode()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    for byte in body:
        if not server.pause(0.2):
            return
        conn.sendall(bytes([byte]))


def trickle_head(conn: Any, server: RawServer) -> None:
    """The status line and headers themselves, one byte every 0.2 s."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"x" * 500:
        if not server.pause(0.2):
            return
        conn.sendall(bytes([byte]))


def silent(conn: Any, server: RawServer) -> None:
    server.pause(30)


@pytest.mark.usefixtures("counted")
def test_a_trickled_body_is_cut_at_the_request_limit() -> None:
    with raw_server(trickle_body) as server:
        client = client_for(server.url, request_time_limit=1.0, retry=NO_RETRY)
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as info:
            RecoveryServicesSource(client).get_job(JOB)
        took = time.monotonic() - started
    assert took < 3, took  # before: held until the last byte (the timeout is per socket read)
    assert "timed out after 1 s" in info.value.message


@pytest.mark.usefixtures("counted")
def test_trickled_headers_are_cut_too() -> None:
    with raw_server(trickle_head) as server:
        client = client_for(server.url, request_time_limit=1.0)
        started = time.monotonic()
        with pytest.raises(EndpointUnreachable) as info:
            RecoveryServicesSource(client).get_job(JOB)
        took = time.monotonic() - started
    assert took < 3, took
    assert "no answer from 127.0.0.1" in info.value.message and "within 1 s" in info.value.message
    assert "emulator" in (info.value.hint or "")
    assert server.requests == 1  # an endpoint that never answered is not asked again


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("reply", [silent, trickle_body], ids=["silent", "trickle"])
def test_a_command_timeout_covers_every_request_and_is_exit_1(reply: Any) -> None:
    """What ``get``/``list --timeout`` give ``open_session``: one deadline for the command."""
    with raw_server(reply) as server:
        opts = CommonOptions(endpoint=server.url, output="json")
        session = open_session(opts, memory_env(), timeout=1.5)
        started = time.monotonic()
        with pytest.raises(CommandTimeout) as info:
            session.source.get_job(JOB)
        took = time.monotonic() - started
    assert took < 3.5, took
    assert info.value.exit_code == ExitCode.ERROR
    line = io.StringIO()
    report(info.value, line)
    assert line.getvalue().startswith("azjobs: error: timed out after 1.5 s")
    assert line.getvalue().count("\n") == 1


@pytest.mark.usefixtures("counted")
def test_a_retry_that_would_pass_the_deadline_is_not_waited_for() -> None:
    def busy(method: str, path: str) -> Answer:
        body = '{"error": {"code": "ServerBusy", "message": "busy"}}'
        return json_answer(body, 503, **{"Retry-After": "30"})

    with local_server(busy) as server:
        client = client_for(server.url, deadline=Deadline.after(5.0))
        started = time.monotonic()
        with pytest.raises(CommandTimeout) as info:
            RecoveryServicesSource(client).get_job(JOB)
        assert time.monotonic() - started < 3
        assert len(server.seen) == 1
    assert "timed out after 5 s; the last try: HTTP 503 ServerBusy" in info.value.message


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("first", ["answered", "never"])
def test_watch_timeout_includes_the_request_in_flight(first: str) -> None:
    """--timeout 2: the watch ends about then (exit 5), even inside a request that hangs."""
    body = json.dumps(RUNNING).encode()
    seen = {"n": 0}

    def reply(conn: Any, server: RawServer) -> None:
        seen["n"] += 1
        if first == "answered" and seen["n"] == 1:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            return
        server.pause(30)

    with raw_server(reply) as server:
        argv = ["watch", JOB, "--timeout", "2", "--interval", "1", "-o", "json"]
        result, wall, _ = run_measured(argv, local_env(server.url), limit=30)
    assert result.exit_code == ExitCode.TIMEOUT, result.stderr
    assert_no_traceback(result.stdout, result.stderr)
    assert wall < 9, wall  # 2 s, a last look of at most 2 s, and the start; before: 60 s
    if first == "answered":
        assert json.loads(result.stdout)["properties"]["status"] == "InProgress"


# ----- an endpoint that never answered ------------------------------------------------------------
@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize(
    "argv",
    [["get", JOB], ["list"], ["watch", JOB], ["watch", "--all"], ["list", "--fleet"]],
    ids=["get", "list", "watch", "watch-all", "list-fleet"],
)
def test_a_refused_first_connection_fails_within_seconds(argv: list[str]) -> None:
    env = local_env(f"http://127.0.0.1:{closed_port()}")
    result, wall, _ = run_measured([*argv, "-o", "json"], env, limit=60)
    assert result.exit_code == ExitCode.ERROR, result.stderr
    assert_one_error_line(result)
    assert "connection refused" in result.stderr
    assert "is the emulator running" in result.stderr and "AZJOBS_ENDPOINT" in result.stderr
    assert "retrying" not in result.stderr
    assert wall < 10, wall  # before: watch retried forever, "connection lost"


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("argv", [["get", JOB], ["watch", JOB]], ids=["get", "watch"])
def test_a_tls_verification_failure_is_said_at_once(
    argv: list[str], emulator_factory: EmulatorFactory
) -> None:
    emu = emulator_factory(seed=9, seed_data=False, tls=True)
    values = {k: v for k, v in emu.env().items() if k != "REQUESTS_CA_BUNDLE"}
    result, wall, _ = run_measured([*argv, "-o", "json"], values, limit=60)
    answered = len(emu.request_log)
    assert result.exit_code == ExitCode.ERROR, result.stderr
    assert_one_error_line(result)
    assert "TLS certificate verification failed" in result.stderr
    assert "REQUESTS_CA_BUNDLE" in result.stderr
    assert "retrying" not in result.stderr and answered == 0
    assert wall < 10, wall


# ----- too big ------------------------------------------------------------------------------------
def huge(conn: Any, server: RawServer, *, chunked: bool) -> None:
    """A 48 MiB job body: with its length declared, or chunked (its size known only by reading)."""
    piece = b"a" * (1024 * 1024)
    head = b'{"name": "x", "properties": {"status": "InProgress", "x": "'
    if not chunked:
        size = len(head) + 48 * len(piece) + 3
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode() + head)
    else:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        conn.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
    try:
        for _ in range(48):
            if server.stopping.is_set():
                return
            if chunked:
                conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                conn.sendall(piece)
        conn.sendall(b'5\r\n"}}\r\n\r\n0\r\n\r\n' if chunked else b'"}}')
    except OSError:
        pass  # the client stopped reading, as it should


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_body_past_16_mib_is_refused_and_not_read(chunked: bool) -> None:
    with raw_server(lambda conn, server: huge(conn, server, chunked=chunked)) as server:
        result, wall, peak = run_measured(
            ["get", JOB, "-o", "json"], local_env(server.url), limit=60
        )
    assert result.exit_code == ExitCode.ERROR, result.stderr
    assert_one_error_line(result)
    assert f"larger than {MAX_BODY_BYTES // 1048576} MiB" in result.stderr
    assert peak < 120, peak  # before: a 50 MB body took 240-310 MB
    assert wall < 20


# ----- a token refused mid-watch ------------------------------------------------------------------
class FakeCredential:
    """Like azure-identity's credentials: it keeps the token it got and hands it out again."""

    made = 0

    def __init__(self) -> None:
        FakeCredential.made += 1
        self.token = f"token-{FakeCredential.made}"
        self.claims: list[str | None] = []

    def get_token(self, scope: str, claims: str | None = None) -> Any:
        self.claims.append(claims)

        class Token:
            token = self.token
            expires_on = time.time() + 3600

        return Token()


@pytest.mark.usefixtures("counted")
def test_a_token_refused_mid_watch_is_really_renewed(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeCredential.made = 0
    credentials: list[FakeCredential] = []

    def factory() -> FakeCredential:
        credentials.append(FakeCredential())
        return credentials[-1]

    polls = {"n": 0}

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        polls["n"] += 1
        auth = request.headers["Authorization"]
        if auth == "Bearer token-1" and polls["n"] > 1:  # revoked after the first poll
            return 401, {}, '{"error": {"code": "InvalidAuthenticationToken", "message": "x"}}'
        body = RUNNING if polls["n"] < 4 else DONE
        return 200, {}, json.dumps(body)

    fake = FakeTime()
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, re.compile(re.escape(JOB_URL) + r"\?.*"), answer)
        ctx = resolve_context(
            ContextFlags(
                subscription=SUB,
                resource_group="rg1",
                vault="vault1",
                endpoint="https://management.azure.com",
                vault_type="recovery-services",
            ),
            {},
        )
        provider = CredentialTokenProvider(ctx.scope, factory)
        client = BackupJobsClient(ctx, provider, sleep=fake.sleep)
        env = memory_env()
        session = Session(env, Output(env, "json"), ctx, client)
        code = watch_jobs(
            session, [JOB], WatchOptions(interval=5), sleep=fake.sleep, clock=fake.clock
        )
        sent = [c.request.headers["Authorization"] for c in rsps.calls]
    assert code == ExitCode.OK  # before: exit 4, the same refused token sent again
    assert len(credentials) == 2
    assert sent[:3] == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


@pytest.mark.usefixtures("counted")
def test_a_claims_challenge_goes_with_the_renewal() -> None:
    claims = '{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}'
    encoded = base64.b64encode(claims.encode()).decode()
    challenge = (
        'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
        f'error="insufficient_claims", claims="{encoded}"'
    )
    credentials: list[FakeCredential] = []

    def factory() -> FakeCredential:
        credentials.append(FakeCredential())
        return credentials[-1]

    with responses.RequestsMock() as rsps:
        rsps.get(
            re.compile(re.escape(JOB_URL) + r"\?.*"),
            status=401,
            headers={"WWW-Authenticate": challenge},
            json={"error": {"code": "InvalidAuthenticationToken", "message": "x"}},
        )
        rsps.get(re.compile(re.escape(JOB_URL) + r"\?.*"), json=RUNNING)
        client = client_for("https://management.azure.com")
        client.tokens = CredentialTokenProvider(client.ctx.scope, factory)
        assert RecoveryServicesSource(client).get_job(JOB)["name"] == JOB
    assert [c.claims for c in credentials] == [[None], [claims]]


# ----- stdout closed or full ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def quiet_vault(module_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    emu = module_emulator_factory(seed=10, seed_data=False)
    emu.add_jobs(40, outcomes=("Completed", "Failed"))
    return emu


@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("fastpath", ["1", "0"], ids=["fast", "typer"])
@pytest.mark.parametrize(
    "argv", [["get", "JOB", "-o", "json"], ["list", "-o", "json"], ["list", "-o", "table"]]
)
def test_closed_stdout_is_a_quiet_exit_and_full_stdout_one_line(
    quiet_vault: EmulatorHandle, argv: list[str], fastpath: str
) -> None:
    job = json.loads(run_cli_process("list", "-o", "json", env=quiet_vault.env()).stdout)
    argv = [job[0]["name"] if a == "JOB" else a for a in argv]
    env = child_environment({**quiet_vault.env(), "AZJOBS_FASTPATH": fastpath})
    closed = subprocess.run(  # azjobs ... >&-
        [*AZJOBS, *argv],
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert (closed.returncode, closed.stderr) == (0, b""), closed.stderr
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*AZJOBS, *argv], stdout=full, stderr=subprocess.PIPE, env=env, timeout=60, check=False
        )
    err = done.stderr.decode()
    assert done.returncode == ExitCode.ERROR, err
    assert err == "azjobs: error: cannot write output: No space left on device\n"


# ----- files that are not files -------------------------------------------------------------------
@pytest.mark.usefixtures("counted")
@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory", "too-large"])
def test_a_config_path_that_is_not_a_small_file_is_exit_2(kind: str, tmp_path: Path) -> None:
    if kind == "dev-zero":
        path = "/dev/zero"
    elif kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    elif kind == "directory":
        path = str(tmp_path)
    else:
        path = str(tmp_path / "config.toml")
        Path(path).write_text("# " + "x" * (2 * 1024 * 1024) + "\n")
    env = local_env(f"http://127.0.0.1:{closed_port()}", AZJOBS_CONFIG=path)
    result, wall, peak = run_measured(["get", JOB, "-o", "json"], env, limit=30)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert_one_error_line(result)
    assert "config file" in result.stderr
    assert wall < 10 and peak < 120, (wall, peak)  # before: /dev/zero took all memory; FIFO hung


@pytest.mark.usefixtures("counted")
def test_fifos_where_caches_and_az_files_are_read_are_ignored(
    emulator_factory: EmulatorFactory,
) -> None:
    emu = emulator_factory(seed=11, seed_data=False)
    job = emu.add_job(entity="vm-fifo")
    env = child_environment()  # this test's own, empty, az and cache directories
    azure = Path(env["AZURE_CONFIG_DIR"])
    azure.mkdir(parents=True, exist_ok=True)
    os.mkfifo(azure / "azureProfile.json")
    os.mkfifo(azure / "config")
    cache = Path(env["XDG_CACHE_HOME"]) / "azjobs"
    cache.mkdir(parents=True, mode=0o700, exist_ok=True)
    os.mkfifo(cache / "jobs.json")
    os.mkfifo(cache / "cli-spec.json")
    result, wall, _ = run_measured(["get", job, "-o", "json"], emu.env(), limit=30)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name"] == job
    assert wall < 10
