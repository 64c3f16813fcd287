"""Bad user input: each is refused with exit 2 and one clear line, before any request is sent.

In-process through the console entry with ``responses`` active and nothing registered, so that any
request at all would be recorded (and fail); a sample also runs through the installed console
script (its fast path for get and list) against a local server that counts requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from tests.harness import Result, finished, run_cli, run_cli_process, sent_url, spawn_cli
from tests.reliability.conftest import Figures
from tests.reliability.reliability_harness import (
    JOB,
    LIST_URL,
    SUB,
    TOKEN,
    assert_no_raw_controls,
    assert_no_traceback,
    json_answer,
    local_server,
    nonblank_lines,
    skip_waits,
    vault_env,
)

GUID_PREFIX = "00000000-0000-4000-8000-00000000000"
ARM_ID = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices"
    "/vaults/{vault}/backupJobs/{job}"
)

BAD_JOB_IDS = (
    "../x",
    "../../subscriptions",
    f"{JOB}/../x",
    f"{JOB}/..",
    "..",
    ".",
    "/",
    "",
    f"{JOB}?api-version=2016-12-01",
    f"{JOB}#x",
    "?",
    "#",
    f"{GUID_PREFIX}1%2e",
    "%2e%2e",
    "%2e%2e%2f",
    f"{GUID_PREFIX}%31",
    f"{JOB} x",
    f" {JOB} x",
    "a b",
    f"{JOB}'",
    "'",
    '"',
    f'"{JOB}"',
    f"{JOB}\nx",
    f"{JOB}\x00",
    f"{JOB}\x1b[2J",
    "\x1b]0;EVIL\x07",
    "００００００００-００００-４０００-８０００-０００００００００００１",
    f"{JOB}0",
    JOB[:-1],
    JOB.replace("-", ""),
    "{" + JOB + "}",
    f"urn:uuid:{JOB}",
    ARM_ID.format(sub=SUB, rg="rg/../x", vault="v1", job=JOB),
    ARM_ID.format(sub=SUB, rg="rg", vault="v1/../v2", job=JOB),
    ARM_ID.format(sub=SUB, rg="rg", vault="v1", job="../" + JOB),
    ARM_ID.format(sub="../x", rg="rg", vault="v1", job=JOB),
    ARM_ID.format(sub=SUB, rg="rg", vault="v 1", job=JOB),
    ARM_ID.format(sub=SUB, rg="rg", vault="v1", job=JOB) + "?x=1",
    ARM_ID.format(sub=SUB, rg="rg", vault="v1", job=JOB) + "/cancel",
    "https://management.azure.com" + ARM_ID.format(sub=SUB, rg="rg", vault="v1", job=JOB),
)
BAD_VAULTS = (
    "a/b",
    "../v",
    "v/..",
    "v?x",
    "v#x",
    "v%2fx",
    "v x",
    "v'",
    'v"',
    "v\\x",
    "v\n",
    "-v",
    "1vault",
    "v",
    "v" * 51,
    "vault\x00",
    "vault\x1b[2J",
    "vault.name",
)
BAD_GROUPS = (
    "rg/..",
    "..",
    ".",
    "rg.",
    "rg?x",
    "rg#",
    "rg%2F",
    "rg/x",
    "rg'",
    'rg"',
    "rg x",
    "rg\nx",
    "a" * 91,
    "rg\\x",
    "rg\x1b[2J",
)
BAD_SUBSCRIPTIONS = ("not-a-guid", "../", f"{SUB}/x", f"{SUB}?x", f"{SUB} x", "00000000")
ENDPOINTS = (
    "https://user:password@management.azure.com",
    "https://user@management.azure.com",
    "https://:secret@management.azure.com",
    "file:///etc/passwd",
    "ftp://management.azure.com",
    "javascript:alert(1)",
    "data:text/plain,x",
    "ws://127.0.0.1:1",
    "gopher://x",
    "http://example.com",
    "http://10.0.0.1",
    "http://169.254.169.254",
    "http://[fe80::1]",
    "http://localhost.example.com",
    "http://127.0.0.1.nip.io",
    "http://0x7f.1",
    "http://[::ffff:8.8.8.8]",
    "https://",
    "https:///path",
    "//management.azure.com",
    "management.azure.com",
    "https://management.azure.com?x=1",
    "https://management.azure.com#frag",
    "https://management.azure.com:99999",
    "https://management.azure.com:-1",
    "https://manage ment.azure.com",
    "https://management.azure.com\\@evil.example",
    "https://[::1",
    "https://evil.example\x00",
    "https://evil.example/\x1b[2J",
    "https://management.azure.com/'",
)
INTERVALS = (
    "-1",
    "0",
    "0.5",
    "0.999",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e9",
    "1e400",
    "99999999999999999999",
    "",
    " ",
    "abc",
    "3601",
    "2h",
    "1d",
    "10x",
    "--",
    "1 2",
    "\x1b[2J",
)
TIMEOUTS = ("0", "-5", "0s", "", "nan", "inf", "400d", "1e400", "367d", "abc", "5 m x", "-1h")
GRACES = ("-1", "x", "nan", "400d")
FILTER_VALUES = (
    ("--status", "InProgress' or status eq 'Failed"),
    ("--status", "InProgress'"),
    ("--status", "'"),
    ("--status", "InProgress) or (1 eq 1"),
    ("--status", "Completed,x'"),
    ("--operation", "Backup' or operation eq 'Restore"),
    ("--operation", "Backup'"),
    ("--type", "AzureIaasVM' and status eq 'Failed"),
    ("--type", "'"),
    ("--job-id", f"{JOB}' or jobId eq '"),
    ("--job-id", "'"),
    ("--job-id", f"{JOB}'"),
    ("--since", "2024-01-01' or '1' eq '1"),
    ("--until", "now'"),
    ("--since", "99999999999d"),
    ("--since", "0001-01-01"),
    ("--since", "x"),
    ("--until", "0001-01-01"),
    ("--until", "x"),
    ("--limit", "-1"),
)
ENVIRONMENT = (
    ("AZJOBS_OUTPUT", "xml"),
    ("AZJOBS_OUTPUT", "json\x1b[2J"),
    ("AZJOBS_ENDPOINT", "ftp://x"),
    ("AZJOBS_ENDPOINT", "http://evil.example"),
    ("AZJOBS_ENDPOINT", "https://u:p@management.azure.com"),
    ("AZJOBS_API_VERSION", "latest"),
    ("AZJOBS_API_VERSION", "2024-01-01&$filter=x"),
    ("AZJOBS_API_VERSION", "2024-01-01\nx"),
    ("AZJOBS_API_VERSION", "../2024-01-01"),
    ("AZJOBS_CLOUD", "Mars"),
    ("AZJOBS_VAULT", "a/b"),
    ("AZJOBS_VAULT", "../v"),
    ("AZJOBS_RESOURCE_GROUP", "../x"),
    ("AZJOBS_RESOURCE_GROUP", "rg?x"),
    ("AZURE_SUBSCRIPTION_ID", "xyz"),
    ("AZURE_SUBSCRIPTION_ID", f"{SUB}/../x"),
    ("AZJOBS_ACCESS_TOKEN", "two words"),
    ("AZJOBS_ACCESS_TOKEN", "tok\nen"),
    ("AZJOBS_ACCESS_TOKEN", "tok\x1b[2J"),
    ("AZJOBS_ACCESS_TOKEN", "tök"),
    ("AZJOBS_ACCESS_TOKEN", "tok中文"),
    ("AZJOBS_AUTH", "magic"),
    ("AZJOBS_PROFILE", "nope"),
    ("AZJOBS_CONFIG", "/nonexistent/azjobs.toml"),
)


def cases() -> Iterator[Any]:
    """(label, argv, environment) of every bad input."""
    for job in BAD_JOB_IDS:
        for command in ("get", "list-tasks", "watch", "cancel"):
            extra = ["--yes"] if command == "cancel" else []
            yield pytest.param([command, job, *extra], {}, id=f"job-{command}-{job[:30]!r}")
    for vault in BAD_VAULTS:
        for argv in (["get", JOB], ["list"], ["watch", JOB]):
            yield pytest.param([*argv, "--vault", vault], {}, id=f"vault-{vault!r}")
        if "\x00" not in vault:  # the environment cannot hold NUL
            yield pytest.param(["list"], {"AZJOBS_VAULT": vault}, id=f"vault-env-{vault!r}")
    for group in BAD_GROUPS:
        for argv in (["get", JOB], ["list"], ["cancel", JOB, "--yes"]):
            yield pytest.param([*argv, "-g", group], {}, id=f"group-{group!r}")
    for sub in BAD_SUBSCRIPTIONS:
        yield pytest.param(["list", "--subscription", sub], {}, id=f"sub-{sub!r}")
    for endpoint in ENDPOINTS:
        yield pytest.param(["get", JOB, "--endpoint", endpoint], {}, id=f"endpoint-{endpoint!r}")
        if "\x00" not in endpoint:
            yield pytest.param(
                ["list"], {"AZJOBS_ENDPOINT": endpoint}, id=f"endpoint-env-{endpoint!r}"
            )
    for value in INTERVALS:
        yield pytest.param(["watch", JOB, f"--interval={value}"], {}, id=f"interval-{value!r}")
        yield pytest.param(
            ["cancel", JOB, "--yes", "--wait", f"--interval={value}"],
            {},
            id=f"cancel-interval-{value!r}",
        )
    for value in TIMEOUTS:
        yield pytest.param(["watch", JOB, f"--timeout={value}"], {}, id=f"timeout-{value!r}")
        yield pytest.param(
            ["cancel", JOB, "--yes", f"--timeout={value}"], {}, id=f"cancel-timeout-{value!r}"
        )
    for value in GRACES:
        yield pytest.param(["watch", JOB, f"--grace={value}"], {}, id=f"grace-{value!r}")
    for flag, value in FILTER_VALUES:
        yield pytest.param(["list", f"{flag}={value}"], {}, id=f"filter-{flag}-{value!r}")
    for name, value in ENVIRONMENT:
        for argv in (["get", JOB], ["list"], ["watch", JOB]):
            yield pytest.param(argv, {name: value}, id=f"env-{name}-{value!r}")
    yield pytest.param(["get", JOB, "-o", "xml"], {}, id="output-flag")
    yield pytest.param(["list", "--query", "[[["], {}, id="query-malformed")
    yield pytest.param(["get", JOB, "--api-version", "2024-01-01&x=1"], {}, id="api-version")
    yield pytest.param(["get", JOB, "--cloud", "Mars"], {}, id="cloud")
    yield pytest.param(["watch"], {}, id="watch-nothing")
    yield pytest.param(["watch", JOB, "--all"], {}, id="watch-two-sources")
    yield pytest.param(["watch", "--operation", "not-a-url"], {}, id="operation-not-a-url")
    yield pytest.param(["watch", "--operation", "ftp://x/y"], {}, id="operation-ftp")
    yield pytest.param(["cancel", JOB], {}, id="cancel-without-yes-no-tty")


CASES = list(cases())


@pytest.fixture
def nothing_served(monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    """Every request is recorded and answered with a 404 that no command waits out, so that an
    input wrongly accepted fails the test at once instead of retrying."""
    vault_env(monkeypatch, AZJOBS_RESOURCE_GROUP="rg", AZJOBS_VAULT="vault1")
    # Not strict: the catch-all is there to be left unrequested (each test asserts that).
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.GET,
            re.compile(".*"),
            status=404,
            json={"error": {"code": "ResourceGroupNotFound", "message": "not here"}},
        )
        yield mock


def check_refused(result: Result) -> None:
    assert_no_traceback(result.stdout, result.stderr)
    assert_no_raw_controls(result.stdout, result.stderr)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stdout == ""
    lines = nonblank_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("azjobs: error: "), result.stderr
    assert TOKEN not in result.stderr


@pytest.mark.parametrize(("argv", "environment"), CASES)
def test_refused_before_any_request(
    argv: list[str],
    environment: dict[str, str],
    nothing_served: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    figures: Figures,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = run_cli(*argv, sleep=skip_waits)
    assert len(nothing_served.calls) == 0, [sent_url(c) for c in nothing_served.calls]
    check_refused(result)
    figures.bad_inputs += 1


def test_enough_bad_inputs() -> None:
    assert len(CASES) >= 300


# ----- accepted: odd but valid input is not refused, and goes where it should --------------------
@pytest.mark.parametrize("entity", ["a'b", "x' or status eq 'Failed", '"', "%27", "\\", "é"])
def test_entity_text_never_reaches_the_filter(
    entity: str, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    """--entity filters on this side: whatever it holds, the $filter sent is azjobs' own."""
    vault_env(monkeypatch)
    with responses.RequestsMock() as rsps:
        rsps.get(re.compile(re.escape(LIST_URL) + r"\?.*"), json={"value": []})
        result = run_cli("list", "--entity", entity, "-o", "json")
        assert result.exit_code == 0, result.stderr
        sent = parse_qs(urlsplit(sent_url(rsps.calls[0])).query)["$filter"][0]
    assert re.fullmatch(r"startTime eq '[0-9: APM-]+' and endTime eq '[0-9: APM-]+'", sent)
    figures.security_checks += 1


@pytest.mark.parametrize("since", ["366d", "8784h", "52w"])
def test_a_window_of_366_days_is_accepted(
    since: str, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    """The longest window the README allows, whatever the fraction of the current second."""
    vault_env(monkeypatch)
    with responses.RequestsMock() as rsps:
        rsps.get(re.compile(re.escape(LIST_URL) + r"\?.*"), json={"value": []})
        result = run_cli("list", "--since", since, "-o", "json")
        assert result.exit_code == 0, result.stderr
        assert len(rsps.calls) == 13  # thirteen 30-day windows at most
    figures.bad_inputs += 1


def test_ipv6_loopback_endpoint_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    vault_env(monkeypatch)
    with responses.RequestsMock() as rsps:
        rsps.get(
            re.compile(r"http://\[::1\]:8080/subscriptions/.*/backupJobs\?.*"), json={"value": []}
        )
        result = run_cli("list", "--endpoint", "http://[::1]:8080", "-o", "json")
        assert result.exit_code == 0, result.stderr
        assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://127.8.9.10:8080",
        "HTTP://LOCALHOST:8080/",
    ],
)
def test_loopback_endpoints_are_allowed(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    vault_env(monkeypatch)
    with responses.RequestsMock() as rsps:
        rsps.get(re.compile(r"http://[^/]+:8080/subscriptions/.*"), json={"value": []})
        assert run_cli("list", "--endpoint", endpoint, "-o", "json").exit_code == 0


# ----- the installed console script: the fast path refuses the same inputs ----------------------
SAMPLE = (
    ["get", "../x"],
    ["list-tasks", f"{GUID_PREFIX}%31"],
    ["get", JOB, "--vault", "a/b"],
    ["list", "-g", "rg/.."],
    ["list", "--status", "x' or '1"],
    ["get", JOB, "--endpoint", "http://example.com"],
    ["get", JOB, "--endpoint", "https://u:p@management.azure.com"],
    ["watch", JOB, "--interval", "0"],
)


def test_installed_console_script_refuses_before_sending(figures: Figures) -> None:
    with local_server(lambda method, path: json_answer('{"value": []}')) as server:
        env = {
            "AZJOBS_ENDPOINT": server.url,
            "AZJOBS_ACCESS_TOKEN": "local-token",
            "AZURE_SUBSCRIPTION_ID": SUB,
            "AZJOBS_RESOURCE_GROUP": "rg",
            "AZJOBS_VAULT": "vault1",
        }
        warm = run_cli_process("list", "-o", "json", env=env, timeout=30)
        assert warm.stdout.strip() == "[]"  # and the fast path's option table is written
        before = len(server.seen)
        procs = [spawn_cli(*argv, env=env) for argv in SAMPLE]
        for proc in procs:
            check_refused(finished(proc, timeout=30))
            figures.subprocess_runs += 1
            figures.bad_inputs += 1
        assert len(server.seen) == before, [s.path for s in server.seen[before:]]
