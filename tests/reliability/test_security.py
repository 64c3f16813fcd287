"""Security: the token stays secret, and goes nowhere but the endpoint.

- It never appears on stdout or stderr: not with --debug, not when an error body, a header or a
  nextLink echoes it back, and --debug shows ``Authorization: Bearer <redacted>``.
- It is never sent over plain http to a host that is not loopback, a proxy included.
- A nextLink, Location or Azure-AsyncOperation URL on another host (or scheme, or port) is
  refused before anything is sent there: list paging, watch --all, cancel, watch --operation,
  and the demo's operation.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from azbackupjobs.cli.guard import report
from azbackupjobs.commands.common import CommonOptions
from azbackupjobs.commands.watch import WatchOptions, WatchRequest, run_watch
from azbackupjobs.emulator import routes as emulator_routes
from azbackupjobs.model.errors import AzJobsError
from tests.harness import (
    EmulatorFactory,
    Result,
    fake_environment,
    run_cli,
    run_cli_process,
    sent_url,
)
from tests.reliability.conftest import Figures
from tests.reliability.corpus import job_body
from tests.reliability.reliability_harness import (
    BASE,
    ENDPOINT,
    JOB,
    JOB_URL,
    LIST_URL,
    SUB,
    TOKEN,
    assert_no_traceback,
    json_answer,
    local_server,
    skip_waits,
    vault_env,
)

OP = "df8f706d-a76d-4d6e-8050-cc91f0641f03"
RUNNING = job_body("InProgress")
DONE = job_body("Completed", endTime="2023-12-21T06:12:05.1Z")
# Other hosts, schemes and ports, and spellings that try to pass for the endpoint's host.
FOREIGN = (
    "https://evil.example/backupJobs?x=1",
    "https://management.azure.com.evil.example/backupJobs",
    "https://management.azure.com@evil.example/backupJobs",
    "https://evil.example\\@management.azure.com/backupJobs",
    "https://evil.example%2f@management.azure.com/backupJobs",
    "//evil.example/backupJobs",
    "HTTPS://EVIL.EXAMPLE/backupJobs",
    "https://management.azure.com:8443/backupJobs",
    "http://management.azure.com/backupJobs",
    "ftp://management.azure.com/backupJobs",
    "https://[::1]/backupJobs",
    "https://management.azure.com:notaport/backupJobs",
)


def assert_secret(result: Result) -> None:
    assert_no_traceback(result.stdout, result.stderr)
    assert TOKEN not in result.stdout and TOKEN not in result.stderr
    # not even a good part of it
    for part in TOKEN.split("."):
        assert part not in result.stdout and part not in result.stderr


def foreign_calls(rsps: responses.RequestsMock) -> list[str]:
    return [sent_url(c) for c in rsps.calls if not sent_url(c).startswith(ENDPOINT + "/")]


@pytest.fixture
def rsps(monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    """The scripted vault, and a recorder of whatever is sent to any other host. Every response
    a test registers must be requested; the recorder must not be (``foreign_calls``)."""
    vault_env(monkeypatch)
    # Not asserted by responses: the recorder is there to stay unrequested; the test's own
    # responses are checked below instead.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        # Anything sent anywhere else is answered (and so recorded): the tests check it is not.
        recorder = mock.add_callback(
            responses.GET,
            re.compile(r"(?!https://management\.azure\.com/).*"),
            callback=lambda request: (200, {}, "{}"),
        )
        yield mock
        unrequested = [r for r in mock.registered() if r is not recorder and not r.call_count]
        assert unrequested == [], unrequested


# ----- the token on stdout and stderr ------------------------------------------------------------
ECHOES: tuple[tuple[int, Any, dict[str, str]], ...] = (
    (
        401,
        {
            "error": {
                "code": "InvalidAuthenticationToken",
                "message": f"The access token 'Bearer {TOKEN}' is invalid.",
            }
        },
        {},
    ),
    (403, f"<html><body><p>Authorization: Bearer {TOKEN}</p></body></html>", {}),
    (400, {"error": {"code": f"Bearer {TOKEN}", "message": "echoed in the code"}}, {}),
    (
        404,
        {
            "error": {
                "code": "NotFound",
                "message": "no",
                "details": [{"code": "Echo", "message": f"Authorization: Bearer {TOKEN}"}],
            }
        },
        {},
    ),
    (200, f"<html>proxy page: Authorization: Bearer {TOKEN}</html>", {}),
    (500, {"ErrorCode": "X", "Message": {"Value": f"header was Bearer {TOKEN}"}}, {}),
    (429, {"error": {"code": "Throttled", "message": f"try again, {TOKEN}"}}, {"Retry-After": "1"}),
    (302, "", {"Location": f"https://evil.example/?token={TOKEN}"}),
    (200, "{not json " + TOKEN, {"x-ms-request-id": TOKEN}),
)


@pytest.mark.parametrize(
    ("status", "body", "headers"), ECHOES, ids=[f"{e[0]}-{n}" for n, e in enumerate(ECHOES)]
)
@pytest.mark.parametrize("command", ["get", "list-tasks", "list", "watch", "cancel"])
def test_echoed_token_never_printed(
    status: int,
    body: Any,
    headers: dict[str, str],
    command: str,
    rsps: responses.RequestsMock,
    figures: Figures,
) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    rsps.add(
        responses.GET,
        re.compile(re.escape(BASE) + r"/backupJobs.*"),
        body=text,
        status=status,
        headers=headers,
        content_type="application/json",
    )
    argv = {
        "get": ["get", JOB],
        "list-tasks": ["list-tasks", JOB],
        "list": ["list"],
        "cancel": ["cancel", JOB, "--yes"],
    }
    for debug in ([], ["--debug"]):
        if command == "watch":  # in-process with a fake clock: transient errors wait no time
            result = watch_in_process(debug=bool(debug))
        else:
            result = run_cli(*argv[command], "-o", "json", *debug, sleep=skip_waits)
        assert result.exit_code != 0
        assert_secret(result)
        if debug:
            assert "Authorization: Bearer <redacted>" in result.stderr
        figures.security_checks += 1
    assert foreign_calls(rsps) == []


def watch_in_process(*, debug: bool) -> Result:
    """``azjobs watch JOB --timeout 5 -o json``, the clock faked (retries take no time)."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += max(seconds, 0.0)

    env = fake_environment(os.environ, sleep=sleep)
    request = WatchRequest(
        common=CommonOptions(output="json", debug=debug),
        options=WatchOptions(interval=1.0, timeout=5.0),
        jobs=(JOB,),
    )
    try:
        code = run_watch(request, env, sleep=sleep, clock=lambda: clock[0])
    except AzJobsError as exc:
        report(exc, env.stderr)
        code = int(exc.exit_code)
    return Result(int(code), env.out, env.err)


def test_debug_traces_headers_redacted_through_a_whole_cancel(
    rsps: responses.RequestsMock, figures: Figures
) -> None:
    """Every request of a cancel with --wait: the job, the POST, its Location (which carries
    the token in its query, as a careless service might), and the polls."""
    location = f"{JOB_URL}/operationResults/{OP}?api-version=2016-12-01&token={TOKEN}"
    rsps.add(responses.GET, re.compile(re.escape(JOB_URL) + r"\?api"), json=RUNNING)
    rsps.add(responses.GET, re.compile(re.escape(JOB_URL) + r"\?api"), json=DONE)
    rsps.add(
        responses.POST,
        re.compile(re.escape(JOB_URL) + r"/cancel\?.*"),
        status=202,
        headers={"Location": location, "Retry-After": "0"},
    )
    rsps.add(responses.GET, re.compile(re.escape(JOB_URL) + r"/operationResults/.*"), status=204)
    result = run_cli("cancel", JOB, "--yes", "-o", "json", "--debug", sleep=skip_waits)
    assert result.exit_code == 0, result.stderr
    assert_secret(result)
    trace = [line for line in result.stderr.splitlines() if line.startswith("debug: ")]
    requests_traced = [line for line in trace if line.startswith("debug: > ") and "://" in line]
    auth_lines = [line for line in trace if "Authorization:" in line]
    assert len(requests_traced) == len(auth_lines) >= 4
    assert all(line.endswith("Authorization: Bearer <redacted>") for line in auth_lines)
    assert any("token=<redacted>" in line for line in trace)  # the Location, traced
    figures.security_checks += 1


def test_token_in_a_next_link_is_not_printed(
    rsps: responses.RequestsMock, figures: Figures
) -> None:
    next_link = f"{LIST_URL}?api-version=2017-07-01&$skiptoken={TOKEN}"
    second = dict(DONE, name="00000000-0000-4000-8000-000000000002")
    rsps.add(
        responses.GET,
        re.compile(re.escape(LIST_URL) + r"\?(?!.*skiptoken).*"),
        json={"value": [DONE], "nextLink": next_link},
    )
    rsps.add(
        responses.GET,
        re.compile(re.escape(LIST_URL) + r"\?.*skiptoken.*"),
        json={"value": [second]},
    )
    for fmt in ("json", "table", "tsv"):
        result = run_cli("list", "-o", fmt, "--debug", sleep=skip_waits)
        assert result.exit_code == 0, result.stderr
        assert_secret(result)
        assert "skiptoken=<redacted>" in result.stderr or "%24skiptoken=<redacted>" in result.stderr
        figures.security_checks += 1


# ----- foreign URLs -------------------------------------------------------------------------------
def check_refused(result: Result, rsps: responses.RequestsMock) -> None:
    assert_secret(result)
    assert result.exit_code in (1, 2), result.stderr
    assert foreign_calls(rsps) == []
    errors = [line for line in result.stderr.splitlines() if line.startswith("azjobs: error:")]
    assert len(errors) == 1, result.stderr
    assert re.search(r"refusing|not a valid URL|neither an operation URL", errors[0]), errors[0]


@pytest.mark.parametrize("url", FOREIGN)
def test_foreign_next_link_refused(
    url: str, rsps: responses.RequestsMock, figures: Figures
) -> None:
    rsps.add(
        responses.GET,
        re.compile(re.escape(LIST_URL) + r"\?.*"),
        json={"value": [RUNNING], "nextLink": url},
    )
    for argv in (["list", "-o", "ndjson"], ["list", "-o", "table"], ["watch", "--all"]):
        result = run_cli(*argv, sleep=skip_waits)
        check_refused(result, rsps)
        figures.security_checks += 1


@pytest.mark.parametrize("url", FOREIGN)
@pytest.mark.parametrize("header", ["Location", "Azure-AsyncOperation"])
def test_foreign_cancel_operation_refused(
    url: str, header: str, rsps: responses.RequestsMock, figures: Figures
) -> None:
    rsps.add(responses.GET, re.compile(re.escape(JOB_URL) + r"\?.*"), json=RUNNING)
    rsps.add(
        responses.POST,
        re.compile(re.escape(JOB_URL) + r"/cancel\?.*"),
        status=202,
        headers={header: url, "Retry-After": "0"},
    )
    result = run_cli("cancel", JOB, "--yes", "-o", "json", sleep=skip_waits)
    check_refused(result, rsps)
    figures.security_checks += 1


@pytest.mark.parametrize("url", FOREIGN)
def test_foreign_operation_url_refused(
    url: str, rsps: responses.RequestsMock, figures: Figures
) -> None:
    operation = url.replace(
        "/backupJobs",
        f"/subscriptions/{SUB}/resourceGroups/rg1/providers"
        f"/Microsoft.RecoveryServices/vaults/vault1/backupOperations/{OP}",
    )
    result = run_cli("watch", "--operation", operation, "-o", "json", sleep=skip_waits)
    check_refused(result, rsps)
    figures.security_checks += 1


def test_cancel_builds_its_urls_from_the_id_given(
    rsps: responses.RequestsMock, figures: Figures
) -> None:
    """The service's ``name`` of the job never goes into a URL: the id the user gave does."""
    hostile = {**RUNNING, "name": "../../../providers/evil"}
    rsps.add(responses.GET, re.compile(re.escape(JOB_URL) + r"\?.*"), json=hostile)
    posted = rsps.add(responses.POST, re.compile(re.escape(JOB_URL) + r"/cancel\?.*"), status=204)
    result = run_cli("cancel", JOB, "--yes", "-o", "json", sleep=skip_waits)
    assert result.exit_code == 0, result.stderr
    assert posted.call_count == 1
    assert all(sent_url(c).startswith(JOB_URL) for c in rsps.calls), rsps.calls
    figures.security_checks += 1


def test_redirects_are_not_followed(rsps: responses.RequestsMock, figures: Figures) -> None:
    statuses = iter((301, 302, 307, 308))
    rsps.add_callback(
        responses.GET,
        re.compile(re.escape(BASE) + r"/backupJobs.*"),
        callback=lambda request: (next(statuses), {"Location": "https://evil.example/steal"}, ""),
    )
    for _ in range(4):
        result = run_cli("get", JOB, "-o", "json", sleep=skip_waits)
        assert result.exit_code == 1 and "redirect" in result.stderr, result.stderr
        assert_secret(result)
        assert foreign_calls(rsps) == []
        figures.security_checks += 1


# ----- the real thing: the demo, and plain http through a proxy ----------------------------------
def test_demo_refuses_an_operation_on_another_host(
    monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    """The emulator is made to answer the backup trigger with an Azure-AsyncOperation on another
    port (another origin): the demo stops, and that other server never sees a request."""
    with local_server(lambda method, path: json_answer('{"status": "Succeeded"}')) as other:
        original = emulator_routes.Router._trigger

        def trigger(self: Any, req: Any, m: Any, vs: Any) -> Any:
            reply = original(self, req, m, vs)
            headers = [
                (
                    name,
                    other.url + value[value.index("/subscriptions") :]
                    if name == "Azure-AsyncOperation"
                    else value,
                )
                for name, value in reply.headers
            ]
            return type(reply)(reply.status, reply.body, headers, reply.content_type)

        monkeypatch.setattr(emulator_routes.Router, "_trigger", trigger)
        result = run_cli("demo", "-o", "json", "--speed", "600", sleep=skip_waits)
        assert result.exit_code == 1, result.stderr
        assert "refusing to follow the operation URL" in result.stderr
        assert_no_traceback(result.stdout, result.stderr)
        assert other.seen == []
        figures.security_checks += 1


def test_no_proxy_for_plain_http(emulator_factory: EmulatorFactory, figures: Figures) -> None:
    """HTTP_PROXY would carry a plain-http request, bearer token and all, to the proxy's host:
    requests to the (loopback) http endpoint go direct."""
    emu = emulator_factory(seed_data=False)
    with local_server(lambda method, path: json_answer('{"value": []}')) as proxy:
        env = {
            **emu.env(),
            "HTTP_PROXY": proxy.url,
            "http_proxy": proxy.url,
            "ALL_PROXY": proxy.url,
            "all_proxy": proxy.url,
            "NO_PROXY": "",
            "no_proxy": "",
        }
        for argv in (["list", "-o", "json"], ["watch", "--all", "-o", "json"]):
            result = run_cli_process(*argv, env=env, timeout=30)
            assert result.exit_code == 0, result.stderr
            figures.security_checks += 1
            figures.subprocess_runs += 1
        assert proxy.seen == []
        assert len(emu.request_log) >= 3
