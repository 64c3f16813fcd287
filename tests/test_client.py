"""The REST client over a mocked transport (``responses``): URLs, headers, retries, errors, paging,
the security rules for service-given URLs, and the debug trace."""

from __future__ import annotations

import email.utils
import json
import random
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from azbackupjobs import __version__
from azbackupjobs.arm import settings
from azbackupjobs.arm.auth import AccessToken, CredentialTokenProvider, StaticTokenProvider
from azbackupjobs.arm.client import (
    NO_RETRY,
    USER_AGENT,
    BackupJobsClient,
    Hooks,
    RetryNotice,
    RetryPolicy,
    arm_error,
    parse_retry_after,
)
from azbackupjobs.model.errors import (
    ApiError,
    AuthError,
    EndpointUnreachable,
    ExitCode,
    NetworkError,
    NotFoundError,
    SecurityError,
    UnexpectedResponseError,
)
from azbackupjobs.sources.recovery_services import RecoveryServicesSource
from tests.harness import sent_url

FIXTURES = Path(__file__).parent / "fixtures"
SUB = "00000000-0000-0000-0000-000000000000"
JOB = "73e47398-73a0-45fb-b56b-9997e6d84229"
OP = "df8f706d-a76d-4d6e-8050-cc91f0641f03"
ARM = "https://management.azure.com"
VAULT_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/my-rg/providers/Microsoft.RecoveryServices"
    "/vaults/my-vault"
)
JOB_URL = f"{ARM}{VAULT_PATH}/backupJobs/{JOB}"
LIST_URL = f"{ARM}{VAULT_PATH}/backupJobs"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.c2VjcmV0LXRva2Vu.sig-secret-value"


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / "recorded" / name).read_text(encoding="utf-8"))


def recorded_text(name: str) -> str:
    return (FIXTURES / "recorded" / name).read_text(encoding="utf-8")


def make_ctx(**overrides: Any) -> settings.Context:
    values: dict[str, Any] = {
        "subscription": SUB,
        "resource_group": "my-rg",
        "vault": "my-vault",
        "cloud": settings.CLOUDS["azurecloud"],
        "endpoint": ARM,
        "api_version": "2026-10-01",
    }
    values.update(overrides)
    return settings.Context(**values)


class Recorder:
    """Collects what the client would have slept, traced and announced."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.debug: list[str] = []
        self.notices: list[RetryNotice] = []


def make_client(
    recorder: Recorder,
    *,
    tokens: Any = None,
    retry: RetryPolicy | None = None,
    **ctx: Any,
) -> BackupJobsClient:
    return BackupJobsClient(
        make_ctx(**ctx),
        tokens or StaticTokenProvider(TOKEN),
        retry=retry or RetryPolicy(),
        hooks=Hooks(debug=recorder.debug.append, on_retry=recorder.notices.append),
        sleep=recorder.sleeps.append,
        rng=random.Random(7),
    )


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def client(rec: Recorder) -> BackupJobsClient:
    return make_client(rec)


def jobs(client: BackupJobsClient) -> RecoveryServicesSource:
    """The vault's job endpoints, over the transport under test."""
    return RecoveryServicesSource(client)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


# ----- URLs and headers -------------------------------------------------------------------------


def test_get_job_url_headers_and_body(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    body = recorded("iaasvm_backup_completed_2023.json")
    rsps.get(JOB_URL, json=body)
    assert jobs(client).get_job(JOB) == body
    request = rsps.calls[0].request
    assert request.url == f"{JOB_URL}?api-version=2026-10-01"
    assert request.headers["User-Agent"] == f"azjobs/{__version__}" == USER_AGENT
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    uuid.UUID(request.headers["x-ms-client-request-id"])


def test_a_fresh_request_id_per_request(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    rsps.get(JOB_URL, status=503, json={"error": {"code": "ServerTimeout", "message": "t"}})
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    jobs(client).get_job(JOB)
    jobs(client).get_job(JOB)
    ids = [c.request.headers["x-ms-client-request-id"] for c in rsps.calls]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_names_are_encoded_into_the_path(rsps: responses.RequestsMock, rec: Recorder) -> None:
    client = make_client(rec, resource_group="rg.(1)_x", api_version="2026-02-01-preview")
    url = jobs(client).vault_url("backupOperations", "../x?y#z")
    assert url == (
        f"{ARM}/subscriptions/{SUB}/resourceGroups/rg.%281%29_x/providers"
        "/Microsoft.RecoveryServices/vaults/my-vault/backupOperations/..%2Fx%3Fy%23z"
        "?api-version=2026-02-01-preview"
    )
    assert (
        jobs(client)
        .job_url(JOB, "cancel")
        .endswith(f"/backupJobs/{JOB}/cancel?api-version=2026-02-01-preview")
    )


def test_endpoint_with_port_and_path(rsps: responses.RequestsMock, rec: Recorder) -> None:
    client = make_client(rec, endpoint="http://127.0.0.1:8443/arm")
    assert jobs(client).job_url(JOB).startswith(f"http://127.0.0.1:8443/arm/subscriptions/{SUB}/")


# ----- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_get_retries_transient_statuses(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient, status: int
) -> None:
    rsps.get(JOB_URL, status=status, json={"error": {"code": "Busy", "message": "busy"}})
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    assert jobs(client).get_job(JOB)["name"] == JOB
    assert len(rsps.calls) == 2
    assert len(rec.sleeps) == 1 and 0.5 <= rec.sleeps[0] <= 1.0
    assert rec.notices[0].status == status and rec.notices[0].attempt == 1
    assert client.stats.retries == 1 and client.stats.by_status == {status: 1, 200: 1}


def test_backoff_grows_and_attempts_are_bounded(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(JOB_URL, status=500, json={"error": {"code": "InternalServerError", "message": "x"}})
    with pytest.raises(ApiError) as info:
        jobs(client).get_job(JOB)
    assert len(rsps.calls) == 4  # RetryPolicy().attempts counts the first try
    assert len(rec.sleeps) == 3
    for attempt, delay in enumerate(rec.sleeps, start=1):
        ceiling = 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling
    assert info.value.status == 500 and info.value.exit_code == ExitCode.ERROR
    assert [n.reason for n in rec.notices] == ["HTTP 500"] * 3


def test_retry_policy_is_configurable(rsps: responses.RequestsMock, rec: Recorder) -> None:
    rsps.get(JOB_URL, status=503, json={"error": {"code": "ServerTimeout", "message": "x"}})
    client = make_client(rec, retry=RetryPolicy(attempts=2, base_delay=0.1, max_delay=0.1))
    with pytest.raises(ApiError):
        jobs(client).get_job(JOB)
    assert len(rsps.calls) == 2 and len(rec.sleeps) == 1 and rec.sleeps[0] <= 0.1
    rsps.calls.reset()
    with pytest.raises(ApiError):
        jobs(client).get_job(JOB, retry=NO_RETRY)
    assert len(rsps.calls) == 1


def test_retry_after_seconds(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(
        JOB_URL,
        status=429,
        headers={"Retry-After": "17"},
        json={"error": {"code": "TooManyRequests", "message": "slow down"}},
    )
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    jobs(client).get_job(JOB)
    assert rec.sleeps == [17.0]
    assert rec.notices[0].reason == "throttled"


def test_retry_after_http_date(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    rsps.get(
        JOB_URL,
        status=503,
        headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)},
        json={"error": {"code": "ServerTimeout", "message": "x"}},
    )
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    jobs(client).get_job(JOB)
    assert 60 < rec.sleeps[0] <= 121  # wide bounds: the wall clock moves while the test runs


def test_retry_after_from_the_429_message(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(
        JOB_URL,
        status=429,
        body=recorded_text("job_get_429_throttled.json"),
        content_type="application/json",
    )
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    jobs(client).get_job(JOB)
    assert rec.sleeps == [324.0]


def test_retry_after_is_capped(rsps: responses.RequestsMock, rec: Recorder) -> None:
    client = make_client(rec, retry=RetryPolicy(max_retry_after=30))
    rsps.get(
        JOB_URL,
        status=429,
        headers={"Retry-After": "3600"},
        json={"error": {"code": "TooManyRequests", "message": "x"}},
    )
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    jobs(client).get_job(JOB)
    assert rec.sleeps == [30]


def test_throttled_to_the_end_reports_the_wait(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(
        JOB_URL,
        status=429,
        body=recorded_text("job_get_429_throttled.json"),
        content_type="application/json",
    )
    with pytest.raises(ApiError) as info:
        jobs(client).get_job(JOB)
    assert info.value.retry_after == 324.0
    assert info.value.code == "ResourceRequestsThrottled"
    assert "try again after '324' seconds" in one_line(info.value)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"retry-after": "5"}, "", 5.0),
        ({"retry-after": " 2.5 "}, "", 2.5),
        ({"retry-after": "-3"}, "", 0.0),
        ({"retry-after-ms": "1500"}, "", 1.5),
        ({"x-ms-retry-after-ms": "250", "retry-after": "9"}, "", 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, "", 30.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, "", 0.0),
        ({"retry-after": "soon"}, "", None),
        ({}, "Please try again after '324' seconds.", 324.0),
        ({}, "Please try again after 12 seconds", 12.0),
        ({}, "nothing here", None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], body: str, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC).timestamp()
    assert parse_retry_after(headers, body, now=now) == expected


def test_connection_errors_are_retried(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    """Once the endpoint has answered in this run, a lost connection is a passing fault."""
    client.answered = True
    rsps.get(JOB_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    rsps.get(JOB_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    assert jobs(client).get_job(JOB)["name"] == JOB
    assert len(rec.sleeps) == 2
    assert [n.reason for n in rec.notices] == ["connection lost", "connection lost"]


def test_connection_errors_in_the_end_are_network_errors(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    client.answered = True
    rsps.get(
        JOB_URL,
        body=requests.exceptions.ConnectionError(
            "HTTPSConnectionPool: Max retries exceeded ([Errno 111] Connection refused)"
        ),
    )
    with pytest.raises(NetworkError) as info:
        jobs(client).get_job(JOB)
    text = one_line(info.value)
    assert "connection refused" in text and "request id" in text
    assert info.value.exit_code == ExitCode.ERROR
    assert len(rsps.calls) == 4


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            requests.exceptions.ConnectionError(
                "HTTPSConnectionPool: Max retries exceeded ([Errno 111] Connection refused)"
            ),
            "connection refused",
        ),
        (
            requests.exceptions.ConnectionError(
                "Failed to resolve 'managment.azure.com' ([Errno -2] Name or service not known)"
            ),
            "host name not found",
        ),
        (requests.exceptions.ConnectTimeout("connect timed out"), "connection timed out"),
    ],
)
def test_an_endpoint_that_never_answered_fails_at_once_with_a_hint(
    rsps: responses.RequestsMock,
    rec: Recorder,
    client: BackupJobsClient,
    error: Exception,
    reason: str,
) -> None:
    rsps.get(JOB_URL, body=error)
    with pytest.raises(EndpointUnreachable) as info:
        jobs(client).get_job(JOB)
    assert f"cannot reach management.azure.com: {reason}" in one_line(info.value)
    assert "AZJOBS_ENDPOINT" in (info.value.hint or "")
    assert info.value.exit_code == ExitCode.ERROR
    assert len(rsps.calls) == 1 and rec.sleeps == []


def test_a_tls_verification_failure_is_not_retried_even_after_answers(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    client.answered = True
    rsps.get(
        JOB_URL,
        body=requests.exceptions.SSLError(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
        ),
    )
    with pytest.raises(EndpointUnreachable) as info:
        jobs(client).get_job(JOB)
    assert "TLS certificate verification failed" in one_line(info.value)
    assert "REQUESTS_CA_BUNDLE" in (info.value.hint or "")
    assert len(rsps.calls) == 1 and rec.sleeps == []


def test_post_is_not_retried_on_500(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.post(
        f"{JOB_URL}/cancel",
        status=500,
        json={"error": {"code": "InternalServerError", "message": "x"}},
    )
    with pytest.raises(ApiError):
        jobs(client).trigger_cancel(JOB)
    assert len(rsps.calls) == 1 and rec.sleeps == []


def test_post_is_not_retried_on_connection_errors(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.post(f"{JOB_URL}/cancel", body=requests.exceptions.ConnectionError("reset by peer"))
    with pytest.raises(NetworkError):
        jobs(client).trigger_cancel(JOB)
    assert len(rsps.calls) == 1 and rec.sleeps == []


def test_post_is_retried_when_throttled(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    """A 429 or 503 means the request was not processed, so sending it again is safe."""
    rsps.post(
        f"{JOB_URL}/cancel",
        status=429,
        headers={"Retry-After": "2"},
        json={"error": {"code": "TooManyRequests", "message": "x"}},
    )
    rsps.post(f"{JOB_URL}/cancel", status=202, headers={"Location": f"{JOB_URL}/op"})
    assert jobs(client).trigger_cancel(JOB).status == 202
    assert rec.sleeps == [2.0]


# ----- error mapping ----------------------------------------------------------------------------


def test_404_is_not_found_with_the_request_id(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(
        JOB_URL,
        status=404,
        json={
            "error": {
                "code": "ResourceNotFound",
                "message": (
                    "The Resource 'Microsoft.RecoveryServices/vaults/my-vault' was not found."
                ),
            }
        },
    )
    with pytest.raises(NotFoundError) as info:
        jobs(client).get_job(JOB)
    exc = info.value
    sent_id = rsps.calls[0].request.headers["x-ms-client-request-id"]
    assert exc.exit_code == ExitCode.NOT_FOUND and int(ExitCode.NOT_FOUND) == 3
    assert exc.status == 404 and exc.code == "ResourceNotFound" and exc.request_id == sent_id
    assert sent_id in one_line(exc) and "ResourceNotFound" in str(exc)
    assert len(rsps.calls) == 1 and rec.sleeps == []  # never retried


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures(rsps: responses.RequestsMock, client: BackupJobsClient, status: int) -> None:
    code = "InvalidAuthenticationToken" if status == 401 else "AuthorizationFailed"
    rsps.get(JOB_URL, status=status, json={"error": {"code": code, "message": "denied"}})
    with pytest.raises(AuthError) as info:
        jobs(client).get_job(JOB)
    assert info.value.exit_code == ExitCode.AUTH and int(ExitCode.AUTH) == 4
    assert info.value.hint and ("az login" in info.value.hint or "Backup Reader" in info.value.hint)
    assert len(rsps.calls) == 1  # a static token cannot be renewed: no second try
    assert TOKEN not in str(info.value)


class FakeCredential:
    """Hands out tok-1, tok-2, ... and counts calls (stands in for azure-identity)."""

    def __init__(self, lifetime: float = 3600) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lifetime = lifetime

    def get_token(self, *scopes: str) -> AccessToken:
        self.calls.append(scopes)
        return AccessToken(f"tok-{len(self.calls)}", 1_000_000.0 + self.lifetime)


def test_401_renews_the_token_once_then_succeeds(
    rsps: responses.RequestsMock, rec: Recorder
) -> None:
    credential = FakeCredential()
    tokens = CredentialTokenProvider(
        "scope/.default", lambda: credential, clock=lambda: 1_000_000.0
    )
    client = make_client(rec, tokens=tokens)
    rsps.get(
        JOB_URL,
        status=401,
        json={"error": {"code": "ExpiredAuthenticationToken", "message": "expired"}},
    )
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    jobs(client).get_job(JOB)
    assert [c.request.headers["Authorization"] for c in rsps.calls] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert rec.sleeps == []


def test_401_twice_is_an_auth_error(rsps: responses.RequestsMock, rec: Recorder) -> None:
    credential = FakeCredential()
    tokens = CredentialTokenProvider("s", lambda: credential, clock=lambda: 1_000_000.0)
    client = make_client(rec, tokens=tokens)
    rsps.get(
        JOB_URL, status=401, json={"error": {"code": "InvalidAuthenticationToken", "message": "no"}}
    )
    with pytest.raises(AuthError):
        jobs(client).get_job(JOB)
    assert len(rsps.calls) == 2 and len(credential.calls) == 2


def test_unsupported_api_version(rsps: responses.RequestsMock, rec: Recorder) -> None:
    client = make_client(rec, api_version="2099-01-01")
    message = (
        "The resource type 'vaults' could not be found in the namespace "
        "'Microsoft.RecoveryServices' for api version '2099-01-01'. The supported "
        "api-versions are '2016-06-01,2020-02-02,2021-01-01,2023-04-01,2024-04-01,"
        "2024-04-30-preview,2025-08-01,2026-02-01,2026-10-01'."
    )
    rsps.get(
        JOB_URL,
        status=400,
        json={"error": {"code": "InvalidApiVersionParameter", "message": message}},
    )
    with pytest.raises(ApiError) as info:
        jobs(client).get_job(JOB)
    exc = info.value
    assert exc.exit_code == ExitCode.ERROR and exc.code == "InvalidApiVersionParameter"
    assert "could not be found" in one_line(exc)
    assert exc.hint is not None
    assert "2026-10-01, 2026-02-01, 2025-08-01" in exc.hint and "--api-version" in exc.hint
    assert "2099-01-01 was refused" in exc.hint
    assert len(rsps.calls) == 1


def test_unsupported_api_version_without_a_list(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    rsps.get(
        JOB_URL,
        status=400,
        json={"error": {"code": "NoRegisteredProviderFound", "message": "No registered provider."}},
    )
    with pytest.raises(ApiError) as info:
        jobs(client).get_job(JOB)
    assert info.value.hint and "--api-version" in info.value.hint


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("job_get_429_throttled.json", 429, "ResourceRequestsThrottled"),
        ("job_get_500_internalservererror.json", 500, "InternalServerError"),
        ("job_get_500_cloudstorageunexpectederror.json", 500, "CloudStorageUnexpectedError"),
        ("job_get_503_servertimeout.json", 503, "ServerTimeout"),
        ("job_get_504_gatewaytimeout.json", 504, "GatewayTimeout"),
        ("backupoperations_502.json", 502, None),
        ("backupoperations_500_legacy_nulls.json", 500, "RestApiInternalError"),
        ("crr_job_500_legacy_error_shape.json", 500, "RestApiInternalError"),
    ],
)
def test_recorded_error_bodies(
    rsps: responses.RequestsMock, client: BackupJobsClient, name: str, status: int, code: str | None
) -> None:
    text = recorded_text(name)
    expected_code, expected_message = arm_error(json.loads(text))
    if code is not None:
        assert expected_code == code
    rsps.get(JOB_URL, status=status, body=text, content_type="application/json")
    with pytest.raises(ApiError) as info:
        jobs(client).get_job(JOB)
    exc = info.value
    line = one_line(exc)
    assert exc.status == status and exc.code == expected_code
    assert line.startswith(f"HTTP {status} ")
    if expected_message:
        assert " ".join(expected_message.split())[:60] in line
    else:
        assert "(no message)" in line


def test_legacy_error_shapes() -> None:
    assert arm_error(
        {"ErrorCode": "RestApiInternalError", "Message": {"Language": "en-US", "Value": "boom"}}
    ) == ("RestApiInternalError", "boom")
    assert arm_error(
        {
            "error": {
                "code": "X",
                "message": "a\r\nb",
                "target": None,
                "details": None,
                "innerError": None,
            }
        }
    ) == ("X", "a\r\nb")
    assert arm_error({"code": 42, "message": "flat"}) == ("42", "flat")
    assert arm_error({"error": {"code": True, "message": ["x"]}}) == (None, None)
    assert arm_error("text") == (None, None)


def test_2018_error_message_becomes_one_line(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    rsps.get(
        JOB_URL,
        status=500,
        body=recorded_text("backupoperations_500_legacy_nulls.json"),
        content_type="application/json",
    )
    with pytest.raises(ApiError) as info:
        jobs(client).get_job(JOB, retry=NO_RETRY)
    assert "internal error. Wait for a few minutes" in one_line(info.value)


HTML_502 = """<!DOCTYPE html><html><head><title>502 Bad Gateway</title>
<style>body { color: red }</style><script>var x = "<b>";</script></head>
<body><h1>Bad Gateway</h1><p>The proxy received an invalid\r\nresponse\x1b[31m.</p></body></html>"""


def test_html_error_page(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(JOB_URL, status=502, body=HTML_502, content_type="text/html")
    with pytest.raises(ApiError) as info:
        jobs(client).get_job(JOB)
    line = one_line(info.value)
    assert "Bad Gateway" in line and "invalid response" in line
    assert "<" not in line and "color: red" not in line and "\x1b" not in line
    assert len(line) < 300
    assert len(rsps.calls) == 4  # 502 is transient


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "needle"),
    [
        (500, "", {}, ApiError, "(empty body)"),
        (200, "", {}, UnexpectedResponseError, "empty body"),
        (200, '{"id": "x", "properties": {"st', {}, UnexpectedResponseError, "not valid JSON"),
        (200, "[1, 2]", {}, UnexpectedResponseError, "a JSON list"),
        (200, "null", {}, UnexpectedResponseError, "got nothing"),
        (200, "<html>maintenance</html>", {}, UnexpectedResponseError, "maintenance"),
        (302, "", {"Location": "https://login.example/"}, UnexpectedResponseError, "redirect"),
        (418, "teapot\x00\x07", {}, ApiError, "teapot??"),
    ],
)
def test_bodies_that_are_not_what_the_api_promises(
    rsps: responses.RequestsMock,
    client: BackupJobsClient,
    status: int,
    body: str,
    headers: dict[str, str],
    error: type[Exception],
    needle: str,
) -> None:
    rsps.get(JOB_URL, status=status, body=body, headers=headers)
    with pytest.raises(error) as info:
        jobs(client).get_job(JOB, retry=NO_RETRY)
    line = one_line(info.value)
    assert needle in line and "request id" in line


def test_truncated_body_against_content_length(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(JOB_URL, body=b'{"id": "x", "prop', headers={"Content-Length": "4000"})
    with pytest.raises(NetworkError) as info:
        jobs(client).get_job(JOB, retry=RetryPolicy(attempts=2))
    assert "dropped while reading" in one_line(info.value)
    assert len(rsps.calls) == 2  # a cut connection is worth another try


def test_content_length_mismatch_detected_by_the_client(rec: Recorder) -> None:
    """A transport that hands over fewer bytes than declared (no urllib3 check in between)."""

    class ShortSession(requests.Session):
        def request(
            self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
        ) -> requests.Response:
            resp = requests.Response()
            resp.status_code = 200
            resp._content = b'{"id":'
            resp.headers["Content-Length"] = "200"
            return resp

    client = BackupJobsClient(
        make_ctx(),
        StaticTokenProvider(TOKEN),
        session=ShortSession(),
        sleep=rec.sleeps.append,
        retry=NO_RETRY,
    )
    with pytest.raises(NetworkError) as info:
        jobs(client).get_job(JOB)
    assert "cut short (6 of 200 bytes" in one_line(info.value)


# ----- paging and service-given URLs ------------------------------------------------------------


def test_list_follows_next_link(rsps: responses.RequestsMock, client: BackupJobsClient) -> None:
    page1 = recorded("list_unfiltered_3jobs_2023.json")
    page2 = recorded("list_filter_status_inprogress_2023.json")
    skip = "%3c%3fxml+version%3d%221.0%22%3f%3e%0d%0a%24skiptoken"
    next_link = f"{LIST_URL}?api-version=2017-07-01&%24skiptoken={skip}"
    rsps.get(
        LIST_URL,
        json={**page1, "nextLink": next_link},
        match=[
            matchers.query_param_matcher(
                {"api-version": "2026-10-01", "$filter": "status eq 'InProgress'"}
            )
        ],
    )
    rsps.get(
        LIST_URL,
        json=page2,
        match=[
            matchers.query_param_matcher(
                {"api-version": "2017-07-01", "$skiptoken": '<?xml version="1.0"?>\r\n$skiptoken'}
            )
        ],
    )
    pages = list(jobs(client).iter_job_pages("status eq 'InProgress'"))
    assert [len(p) for p in pages] == [3, 1]
    assert "%24filter=status%20eq%20%27InProgress%27" in sent_url(rsps.calls[0])
    # the service's URL is followed verbatim: its own api-version, its own encoding (the
    # transport may only change the case of percent escapes)
    assert sent_url(rsps.calls[1]).lower() == next_link.lower()


def test_list_next_link_null_and_empty_pages(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    rsps.get(LIST_URL, json=recorded("ps2016_list_empty_nextlink_null.json"))
    assert list(jobs(client).iter_job_pages()) == [[]]


def test_relative_next_link_gets_the_api_version(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    rsps.get(
        LIST_URL,
        json={"value": [], "nextLink": f"{VAULT_PATH}/backupJobs?$skiptoken=a"},
        match=[matchers.query_param_matcher({"api-version": "2026-10-01"})],
    )
    rsps.get(
        LIST_URL,
        json={"value": [{"id": "x", "properties": {}}]},
        match=[matchers.query_param_matcher({"api-version": "2026-10-01", "$skiptoken": "a"})],
    )
    assert [len(p) for p in jobs(client).iter_job_pages()] == [0, 1]


@pytest.mark.parametrize(
    "next_link",
    [
        "https://evil.example.com/subscriptions/x/backupJobs?api-version=1",
        "https://management.azure.com.evil.example/backupJobs",
        "https://user:pass@management.azure.com/backupJobs",
        "https://management.azure.com:8443/backupJobs",
        "http://management.azure.com/backupJobs",
        "//evil.example.com/backupJobs",
        "ftp://management.azure.com/backupJobs",
    ],
)
def test_next_link_elsewhere_is_refused_without_sending_the_token(
    rsps: responses.RequestsMock, client: BackupJobsClient, next_link: str
) -> None:
    rsps.get(LIST_URL, json={"value": [], "nextLink": next_link})
    pages = jobs(client).iter_job_pages()
    assert next(pages) == []
    with pytest.raises(UnexpectedResponseError) as info:
        next(pages)
    assert info.value.exit_code == ExitCode.ERROR
    assert len(rsps.calls) == 1  # nothing was sent anywhere else
    assert TOKEN not in str(info.value)
    one_line(info.value)


def test_next_link_with_the_default_port_is_the_same_host(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    rsps.get(
        LIST_URL,
        json={
            "value": [],
            "nextLink": f"https://MANAGEMENT.azure.com:443{VAULT_PATH}/backupJobs?page=2",
        },
        match=[matchers.query_param_matcher({"api-version": "2026-10-01"})],
    )
    rsps.get(
        LIST_URL,
        json={"value": []},
        match=[matchers.query_param_matcher({"api-version": "2026-10-01", "page": "2"})],
    )
    assert len(list(jobs(client).iter_job_pages())) == 2


def test_http_next_link_on_a_loopback_endpoint(rsps: responses.RequestsMock, rec: Recorder) -> None:
    client = make_client(rec, endpoint="http://127.0.0.1:8080")
    base = f"http://127.0.0.1:8080{VAULT_PATH}/backupJobs"
    rsps.get(
        base,
        json={"value": [], "nextLink": f"{base}?api-version=2026-10-01&p=2"},
        match=[matchers.query_param_matcher({"api-version": "2026-10-01"})],
    )
    rsps.get(
        base,
        json={"value": []},
        match=[matchers.query_param_matcher({"api-version": "2026-10-01", "p": "2"})],
    )
    assert len(list(jobs(client).iter_job_pages())) == 2


def test_next_link_loop_is_detected(rsps: responses.RequestsMock, client: BackupJobsClient) -> None:
    page2 = f"{LIST_URL}?api-version=2026-10-01&p=2"
    first = f"{LIST_URL}?api-version=2026-10-01"
    rsps.get(
        LIST_URL,
        json={"value": [], "nextLink": page2},
        match=[matchers.query_param_matcher({"api-version": "2026-10-01"})],
    )
    rsps.get(
        LIST_URL,
        json={"value": [], "nextLink": first},
        match=[matchers.query_param_matcher({"api-version": "2026-10-01", "p": "2"})],
    )
    with pytest.raises(UnexpectedResponseError) as info:
        list(jobs(client).iter_job_pages())
    assert "already read" in str(info.value)
    assert len(rsps.calls) == 2


def test_next_link_self_loop_is_detected(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    rsps.get(LIST_URL, json={"value": [], "nextLink": f"{LIST_URL}?api-version=2026-10-01"})
    with pytest.raises(UnexpectedResponseError):
        list(jobs(client).iter_job_pages())
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("body", [{"value": None}, {"value": [], "nextLink": 5}, []])
def test_malformed_list_pages(
    rsps: responses.RequestsMock, client: BackupJobsClient, body: Any
) -> None:
    rsps.get(LIST_URL, json=body)
    with pytest.raises(UnexpectedResponseError):
        list(jobs(client).iter_job_pages())


def test_operation_status_by_id_and_by_url(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    body = recorded("backupoperations_succeeded_jobid_2023.json")
    op_url = f"{ARM}{VAULT_PATH}/backupOperations/{OP}"
    rsps.get(op_url, json=body)
    assert jobs(client).get_operation_status(OP).body == body
    assert (
        jobs(client).get_operation_status(f"{op_url}?api-version=2019-05-13-preview").body == body
    )
    assert sent_url(rsps.calls[1]).endswith("api-version=2019-05-13-preview")
    with pytest.raises(UnexpectedResponseError):
        jobs(client).get_operation_status("https://elsewhere.example/op")
    assert len(rsps.calls) == 2


def test_signed_location_urls_are_followed_verbatim(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    location = (
        f"{JOB_URL}/operationResults/op?api-version=2024-10-01&t=638728558109081593"
        "&c=MIIHhz%2Bab%3D%3D&s=sig%2F1&h=hash"
    )
    rsps.get(f"{JOB_URL}/operationResults/op", status=204)
    assert jobs(client).get_operation_result(location).status == 204
    assert sent_url(rsps.calls[0]) == location


# ----- the debug trace --------------------------------------------------------------------------


def test_debug_trace_redacts_secrets(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(
        JOB_URL,
        status=503,
        json={"error": {"code": "ServerTimeout", "message": f"bad token {TOKEN}"}},
    )
    rsps.get(JOB_URL, json=recorded("iaasvm_backup_completed_2023.json"))
    jobs(client).get_job(JOB)
    trace = "\n".join(rec.debug)
    assert TOKEN not in trace and "sig-secret-value" not in trace
    assert "Bearer" not in trace or "Bearer <redacted>" in trace
    assert re.search(r"> GET https://management\.azure\.com/.+backupJobs/" + JOB, trace)
    assert "< 503" in trace and "< 200" in trace and "retry 1/3" in trace
    for call in rsps.calls:
        assert call.request.headers["x-ms-client-request-id"] in trace


def test_errors_never_carry_the_token(
    rsps: responses.RequestsMock, client: BackupJobsClient
) -> None:
    rsps.get(
        JOB_URL,
        status=400,
        json={"error": {"code": "BadRequest", "message": f"Bearer {TOKEN} is odd"}},
    )
    rsps.get(f"{JOB_URL}x", status=400, body=f"<p>echo {TOKEN}</p>")
    with pytest.raises(ApiError) as info:
        jobs(client).get_job(JOB)
    assert TOKEN not in str(info.value) and "<redacted>" in str(info.value)
    with pytest.raises(ApiError) as info:
        client.request("GET", f"{JOB_URL}x")
    assert TOKEN not in str(info.value)


def test_signed_query_parameters_are_redacted_in_the_trace(
    rsps: responses.RequestsMock, rec: Recorder, client: BackupJobsClient
) -> None:
    rsps.get(f"{JOB_URL}/operationResults/op", status=202)
    jobs(client).get_operation_result(
        f"{JOB_URL}/operationResults/op?api-version=1&c=CERTDATA&s=SIGNATURE&h=HASH"
    )
    trace = "\n".join(rec.debug)
    assert "CERTDATA" not in trace and "SIGNATURE" not in trace and "HASH" not in trace


def test_security_error_is_a_usage_error() -> None:
    assert SecurityError("x").exit_code == ExitCode.USAGE
