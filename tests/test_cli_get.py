"""``azjobs get`` and ``azjobs list-tasks`` from the outside: every output mode, every exit code.

Commands run in-process through the console script's entry (``run_cli``: the fast path and the
Typer app, both of which map errors to exit codes), with HTTP mocked by ``responses``.
"""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import responses

from azbackupjobs import __version__
from azbackupjobs.cli import app as cli
from tests.harness import AZJOBS_SCRIPT, PYTHON_M, run_cli, run_cli_process, sent_url

FIXTURES = Path(__file__).parent / "fixtures"
SUB = "00000000-0000-0000-0000-000000000000"
ARM = "https://management.azure.com"
VAULT_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/my-rg/providers/Microsoft.RecoveryServices"
    "/vaults/my-vault"
)
TOKEN = "opaque-secret-token-value"
BASE_ENV = {
    "AZJOBS_ACCESS_TOKEN": TOKEN,
    "AZURE_SUBSCRIPTION_ID": SUB,
    "AZJOBS_RESOURCE_GROUP": "my-rg",
    "AZJOBS_VAULT": "my-vault",
}
RECORDED_JOBS = sorted(
    p.name
    for p in (FIXTURES / "recorded").glob("*.json")
    if '"jobType"' in p.read_text(encoding="utf-8")
    and not p.name.startswith(("list_", "ps2016_list", "ps2017_list"))
)


def fixture_text(rel: str) -> str:
    return (FIXTURES / rel).read_text(encoding="utf-8")


def job_url(job_id: str, base: str = ARM, vault_path: str = VAULT_PATH) -> str:
    return f"{base}{vault_path}/backupJobs/{job_id}"


@pytest.fixture(autouse=True)
def vault(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run of this module points at the mocked vault, with a token."""
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(params=[True, False], ids=["console", "typer"])
def fast_path(request: pytest.FixtureRequest) -> bool:
    """Both ways into a command: the console script's fast path (plain ``get``/``list-tasks``
    take it) and the Typer app, where everything else goes."""
    value = request.param
    assert isinstance(value, bool)
    return value


@pytest.fixture
def sleeps() -> list[float]:
    """The client's waits between retries, recorded instead of slept (``run_cli(sleep=...)``)."""
    return []


def serve(rsps: responses.RequestsMock, rel: str, **kwargs: Any) -> dict[str, Any]:
    """Register a GET of the job in fixture ``rel``; return the job."""
    text = fixture_text(rel)
    job: dict[str, Any] = json.loads(text)
    rsps.get(job_url(job["name"]), body=text, content_type="application/json", **kwargs)
    return job


def pairs(text: str) -> Any:
    """JSON with key order kept, so that "exactly as returned" includes the order."""
    return json.loads(text, object_pairs_hook=list)


# ----- get: output modes ------------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDED_JOBS)
def test_get_json_is_the_resource_exactly_as_returned(
    rsps: responses.RequestsMock, name: str
) -> None:
    job = serve(rsps, f"recorded/{name}")
    run = run_cli("get", job["name"], fast_path=True)  # json is the default when piped
    assert run.exit_code == 0, run.stderr
    assert pairs(run.stdout) == pairs(fixture_text(f"recorded/{name}"))
    assert run.stderr == ""


@pytest.mark.parametrize("name", RECORDED_JOBS)
def test_get_table_renders_every_recorded_job(rsps: responses.RequestsMock, name: str) -> None:
    job = serve(rsps, f"recorded/{name}")
    run = run_cli("get", job["name"], "-o", "table", fast_path=True)
    assert run.exit_code == 0, run.stderr
    assert "Status" in run.stdout and job["name"] in run.stdout
    assert "\x1b" not in run.stdout  # piped: no escape sequences
    assert "0001-01-01" not in run.stdout and "2001-01-01" not in run.stdout  # unset times
    assert run.stderr == ""


def test_get_table_contents(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_restore_inprogress_progress.json")
    out = run_cli("get", job["name"], "-o", "table", fast_path=fast_path).stdout
    for needle in (
        "Restore of clitest-vm000003",
        "Entity",
        "clitest-vm000003",
        "Operation",
        "InProgress",
        "AzureIaaSVMJob",
        "AzureIaasVM",
        "2023-12-21 06:34:55",
        "End",
        "—",
        "Duration",
        "35m21s",
        "94.0%",
        "Remaining (est.)",
        "1m37s",
        "05b238c7-9fcb-11ee-832b-644ed7a2823f",
        "Transfer data from vault",
        "120.58 GBs / 127 GBs Transferred",
        "Properties",
        "Recover disks",
        "Recovery point time",
        "12/21/2023 5:52:09 AM",
    ):
        assert needle in out, needle


def test_get_table_error_panel(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_failed_errordetails.json")
    out = run_cli("get", job["name"], "-o", "table", fast_path=fast_path).stdout
    assert "Error" in out and "400136" in out and "UserErrorVmNotFoundV2" in out
    assert "•" in out  # recommendations


def test_get_table_on_a_terminal_is_the_default_and_coloured(
    fast_path: bool, rsps: responses.RequestsMock
) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_failed_errordetails.json")
    run = run_cli("get", job["name"], env={"COLUMNS": "120"}, tty=True, fast_path=fast_path)
    assert run.exit_code == 0
    assert "Entity" in run.stdout
    assert re.search(r"\x1b\[[0-9;]*31", run.stdout)  # Failed in red


def test_no_color_is_honoured(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_failed_errordetails.json")
    run = run_cli(
        "get", job["name"], env={"COLUMNS": "120", "NO_COLOR": "1"}, tty=True, fast_path=fast_path
    )
    assert run.exit_code == 0 and "Entity" in run.stdout
    colour = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")
    assert not colour.search(run.stdout)


def test_get_ndjson_is_one_compact_line(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/hana_restore_invalid_failed.json")
    run = run_cli("get", job["name"], "-o", "ndjson", fast_path=fast_path)
    assert run.exit_code == 0
    assert run.stdout.count("\n") == 1 and run.stdout.endswith("\n")
    assert pairs(run.stdout) == pairs(fixture_text("recorded/hana_restore_invalid_failed.json"))
    assert ": " not in run.stdout.split('"errorString"')[0]  # compact separators


def test_get_tsv_documented_columns(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = run_cli("get", job["name"], "-o", "tsv", fast_path=fast_path)
    assert run.exit_code == 0
    assert run.stdout.endswith("\n") and run.stdout.count("\n") == 1
    props = job["properties"]
    assert run.stdout.rstrip("\n").split("\t") == [
        job["name"],
        props["status"],
        props["operation"],
        props["entityFriendlyName"],
        props["jobType"],
        props["backupManagementType"],
        props["startTime"],
        props["endTime"],
        props["duration"],
    ]


def test_get_tsv_missing_end_time_is_an_empty_cell(
    fast_path: bool, rsps: responses.RequestsMock
) -> None:
    job = serve(rsps, "recorded/afs_backup_inprogress.json")
    cells = (
        run_cli("get", job["name"], "-o", "tsv", fast_path=fast_path)
        .stdout.rstrip("\n")
        .split("\t")
    )
    assert len(cells) == 9 and cells[7] == "" and cells[1] == "InProgress"


def test_get_tsv_documented_in_help() -> None:
    run = run_cli("get", "--help", fast_path=True)
    assert run.exit_code == 0
    flat = " ".join(run.stdout.split())
    assert (
        "tsv columns: name, status, operation, entityFriendlyName, jobType, "
        "backupManagementType, startTime, endTime, duration"
    ) in flat
    assert "azjobs get" in flat  # an example


@pytest.mark.parametrize(
    ("fmt", "query", "expected"),
    [
        ("tsv", "properties.status", "Completed\n"),
        ("json", "properties.status", '"Completed"\n'),
        ("ndjson", "properties.status", '"Completed"\n'),
        ("table", "properties.status", '"Completed"\n'),
        (
            "tsv",
            "properties.extendedInfo.tasksList[].taskId",
            "Take Snapshot\nTransfer data to vault\n",
        ),
        ("tsv", "properties.nothing", "\n"),
        (
            "json",
            "{s: properties.status, n: name}",
            '{\n  "s": "Completed",\n  "n": "73e47398-73a0-45fb-b56b-9997e6d84229"\n}\n',
        ),
        ("tsv", "properties.extendedInfo.propertyBag", "bag"),
        ("tsv", "properties.extendedInfo.tasksList[0]", "task"),
    ],
)
def test_get_query(
    fast_path: bool, rsps: responses.RequestsMock, fmt: str, query: str, expected: str
) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = run_cli("get", job["name"], "-o", fmt, "--query", query, fast_path=fast_path)
    assert run.exit_code == 0, run.stderr
    ext = job["properties"]["extendedInfo"]
    if expected == "bag":  # an object: its values, in order, on one line
        expected = "\t".join(ext["propertyBag"].values()) + "\n"
    elif expected == "task":
        expected = "\t".join(ext["tasksList"][0].values()) + "\n"
    assert run.stdout == expected


def test_output_from_the_environment(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = run_cli("get", job["name"], env={"AZJOBS_OUTPUT": "NDJSON"}, fast_path=fast_path)
    assert run.exit_code == 0 and run.stdout.count("\n") == 1
    run = run_cli(
        "get", job["name"], "-o", "tsv", env={"AZJOBS_OUTPUT": "json"}, fast_path=fast_path
    )
    assert "\t" in run.stdout  # the flag wins


def test_job_arm_id_names_the_vault(fast_path: bool, rsps: responses.RequestsMock) -> None:
    text = fixture_text("recorded/iaasvm_backup_completed_taskid_casing_2019.json")
    job = json.loads(text)
    other_sub = "11111111-2222-3333-4444-555555555555"
    path = (
        f"/subscriptions/{other_sub}/resourceGroups/Other-RG/providers/"
        "Microsoft.RecoveryServices/vaults/other-vault"
    )
    rsps.get(job_url(job["name"], vault_path=path), body=text)
    arm_id = (
        f"/Subscriptions/{other_sub}/resourceGroups/Other-RG/providers/"
        f"microsoft.recoveryservices/vaults/other-vault/backupJobs/{job['name']}"
    )
    run = run_cli("get", arm_id, "-o", "json", fast_path=fast_path)
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["name"] == job["name"]
    assert sent_url(rsps.calls[0]).startswith(f"{ARM}{path}/backupJobs/")


def test_cloud_selects_endpoint(fast_path: bool, rsps: responses.RequestsMock) -> None:
    text = fixture_text("recorded/iaasvm_backup_completed_2023.json")
    job = json.loads(text)
    rsps.get(job_url(job["name"], base="https://management.chinacloudapi.cn"), body=text)
    run = run_cli("get", job["name"], "--cloud", "AzureChinaCloud", fast_path=fast_path)
    assert run.exit_code == 0, run.stderr


def test_endpoint_and_api_version_flags(fast_path: bool, rsps: responses.RequestsMock) -> None:
    text = fixture_text("recorded/iaasvm_backup_completed_2023.json")
    job = json.loads(text)
    rsps.get(job_url(job["name"], base="http://127.0.0.1:8080"), body=text)
    run = run_cli(
        "get",
        job["name"],
        "--endpoint",
        "http://127.0.0.1:8080",
        "--api-version",
        "2019-05-13",
        fast_path=fast_path,
    )
    assert run.exit_code == 0, run.stderr
    assert sent_url(rsps.calls[0]).endswith("?api-version=2019-05-13")


def test_debug_traces_to_stderr_and_never_prints_the_token(
    fast_path: bool, rsps: responses.RequestsMock
) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = run_cli("get", job["name"], "--debug", "-o", "json", fast_path=fast_path)
    assert run.exit_code == 0
    assert json.loads(run.stdout)["name"] == job["name"]  # stdout is still only data
    assert "debug: > GET https://management.azure.com/" in run.stderr
    assert "debug: < 200" in run.stderr
    assert TOKEN not in run.stderr and TOKEN not in run.stdout


# ----- list-tasks -------------------------------------------------------------------------------


def test_list_tasks_json_is_the_tasks_list_as_returned(
    fast_path: bool, rsps: responses.RequestsMock
) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = run_cli("list-tasks", job["name"], "-o", "json", fast_path=fast_path)
    assert run.exit_code == 0
    expected = pairs(fixture_text("recorded/iaasvm_backup_completed_2023.json"))
    props = dict(expected)["properties"]
    tasks = dict(dict(props)["extendedInfo"])["tasksList"]
    assert pairs(run.stdout) == tasks


@pytest.mark.parametrize(
    "rel",
    [
        "recorded/iaasvm_configurebackup_completed.json",  # "tasksList": []
        "synthetic/vault_updatecmk_completed.json",  # no tasksList at all
        "recorded/afs_restore_completed.json",
    ],
)
def test_list_tasks_json_is_empty_array_when_none(
    fast_path: bool, rsps: responses.RequestsMock, rel: str
) -> None:
    job = serve(rsps, rel)
    run = run_cli("list-tasks", job["name"], "-o", "json", fast_path=fast_path)
    assert run.exit_code == 0 and run.stdout == "[]\n"
    assert run_cli("list-tasks", job["name"], "-o", "ndjson", fast_path=fast_path).stdout == ""
    assert run_cli("list-tasks", job["name"], "-o", "tsv", fast_path=fast_path).stdout == ""
    table = run_cli("list-tasks", job["name"], "-o", "table", fast_path=fast_path)
    assert table.exit_code == 0 and "has no tasks" in table.stdout


def test_list_tasks_ndjson_one_line_per_task(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_restore_completed_alternatelocation.json")
    run = run_cli("list-tasks", job["name"], "-o", "ndjson", fast_path=fast_path)
    lines = run.stdout.splitlines()
    tasks = job["properties"]["extendedInfo"]["tasksList"]
    assert [json.loads(line) for line in lines] == tasks


def test_list_tasks_tsv_documented_columns(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_restore_inprogress_progress.json")
    run = run_cli("list-tasks", job["name"], "-o", "tsv", fast_path=fast_path)
    assert run.stdout.splitlines() == [
        "Transfer data from vault\tInProgress\t\t\t\tPT0S\t120.58 GBs / 127 GBs Transferred"
    ]
    flat = " ".join(run_cli("list-tasks", "--help", fast_path=fast_path).stdout.split())
    assert (
        "tsv columns: taskId, status, progressPercentage, startTime, endTime, duration, "
        "taskExecutionDetails"
    ) in flat


def test_list_tasks_query(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = run_cli(
        "list-tasks", job["name"], "--query", "[].status", "-o", "tsv", fast_path=fast_path
    )
    assert run.stdout == "Completed\nCompleted\n"
    run = run_cli(
        "list-tasks",
        job["name"],
        "--query",
        "[?status=='Completed'].taskId",
        "-o",
        "json",
        fast_path=fast_path,
    )
    assert json.loads(run.stdout) == ["Take Snapshot", "Transfer data to vault"]


def test_list_tasks_table(fast_path: bool, rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = run_cli("list-tasks", job["name"], "-o", "table", fast_path=fast_path)
    assert run.exit_code == 0
    assert "Backup of clitest-vm000003" in run.stdout and "Take Snapshot" in run.stdout
    assert "Properties" not in run.stdout  # tasks only


def test_list_tasks_storage_job_columns(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/afs_backup_completed.json")
    out = run_cli("list-tasks", job["name"], "-o", "table", fast_path=True).stdout
    assert "Take Snapshot" in out
    header = next(line for line in out.splitlines() if "Task" in line and "Status" in line)
    assert "Start" not in header and "Duration" not in header  # only the columns it has


# ----- exit codes and error lines ---------------------------------------------------------------

JOB = "73e47398-73a0-45fb-b56b-9997e6d84229"


@pytest.mark.parametrize("command", ["get", "list-tasks"])
@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["not-a-guid"], {}, "not a GUID"),
        ([f"{JOB}/../x"], {}, "not a GUID"),
        ([f"{JOB}?api-version=1"], {}, "not a GUID"),
        ([JOB, "-o", "yaml"], {}, "unknown output format 'yaml'"),
        ([JOB], {"AZJOBS_OUTPUT": "xml"}, "AZJOBS_OUTPUT"),
        ([JOB, "--query", "[[["], {}, "malformed JMESPath"),
        ([JOB, "--query", "properties.status |"], {}, "--query"),
        ([JOB], {"AZJOBS_VAULT": ""}, "--vault-name/-v or AZJOBS_VAULT"),
        ([JOB], {"AZURE_SUBSCRIPTION_ID": ""}, "--subscription or AZURE_SUBSCRIPTION_ID"),
        ([JOB, "-g", "bad group/.."], {}, "resource group name"),
        ([JOB, "-v", "v"], {}, "vault name"),
        ([JOB, "--endpoint", "http://management.azure.com"], {}, "--endpoint"),
        ([JOB, "--endpoint", "https://u:p@management.azure.com"], {}, "credentials"),
        ([JOB], {"AZJOBS_ENDPOINT": "ftp://x"}, "AZJOBS_ENDPOINT"),
        ([JOB, "--api-version", "latest"], {}, "--api-version"),
        ([JOB, "--cloud", "Mars"], {}, "unknown cloud"),
        ([JOB], {"AZJOBS_ACCESS_TOKEN": "two words"}, "AZJOBS_ACCESS_TOKEN"),
    ],
)
def test_usage_errors_exit_2_before_any_request(
    fast_path: bool,
    rsps: responses.RequestsMock,
    command: str,
    args: list[str],
    env: dict[str, str],
    needle: str,
) -> None:
    run = run_cli(command, *args, env=env, fast_path=fast_path)
    assert run.exit_code == 2
    run.one_error_line(needle)
    assert len(rsps.calls) == 0


def test_missing_context_names_every_flag_and_variable(
    fast_path: bool, rsps: responses.RequestsMock
) -> None:
    run = run_cli(
        "get",
        JOB,
        env={"AZURE_SUBSCRIPTION_ID": "", "AZJOBS_RESOURCE_GROUP": "", "AZJOBS_VAULT": ""},
        fast_path=fast_path,
    )
    line = run.one_error_line()
    assert run.exit_code == 2
    for needle in (
        "--subscription",
        "AZURE_SUBSCRIPTION_ID",
        "--resource-group/-g",
        "AZJOBS_RESOURCE_GROUP",
        "--vault-name/-v",
        "AZJOBS_VAULT",
        "hint:",
    ):
        assert needle in line


@pytest.mark.parametrize("command", ["get", "list-tasks"])
@pytest.mark.parametrize(
    ("status", "body", "code", "needle"),
    [
        (
            404,
            {"error": {"code": "ResourceNotFound", "message": "The vault was not found."}},
            3,
            "ResourceNotFound",
        ),
        (
            401,
            {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}},
            4,
            "az login",
        ),
        (
            403,
            {"error": {"code": "AuthorizationFailed", "message": "no access"}},
            4,
            "Backup Reader",
        ),
        (
            400,
            {"error": {"code": "BMSUserErrorInvalidInput", "message": "Input is invalid."}},
            1,
            "BMSUserErrorInvalidInput",
        ),
        (
            400,
            {
                "error": {
                    "code": "InvalidApiVersionParameter",
                    "message": "The api-version '2026-10-01' is invalid. The supported versions "
                    "are '2025-08-01,2026-02-01'.",
                }
            },
            1,
            "the service lists 2026-02-01",
        ),
    ],
)
def test_http_errors_map_to_exit_codes(
    fast_path: bool,
    rsps: responses.RequestsMock,
    command: str,
    status: int,
    body: dict[str, Any],
    code: int,
    needle: str,
) -> None:
    rsps.get(job_url(JOB), status=status, json=body)
    run = run_cli(command, JOB, fast_path=fast_path)
    assert run.exit_code == code
    line = run.one_error_line(needle)
    sent_id = rsps.calls[0].request.headers["x-ms-client-request-id"]
    assert sent_id in line
    assert TOKEN not in line


def test_server_errors_retry_then_exit_1(
    fast_path: bool, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.get(job_url(JOB), status=503, body=fixture_text("recorded/job_get_503_servertimeout.json"))
    run = run_cli("get", JOB, fast_path=fast_path, sleep=sleeps.append)
    assert run.exit_code == 1 and run.stdout == ""
    assert len(rsps.calls) == 4 and len(sleeps) == 3
    assert len([line for line in run.stderr_lines if "retrying in" in line]) == 3
    errors = [line for line in run.stderr_lines if line.startswith("azjobs: error:")]
    assert len(errors) == 1 and run.stderr_lines[-1] == errors[0]
    assert "ServerTimeout" in errors[0]
    assert "Traceback" not in run.stderr


def test_retry_then_success_exit_0(
    fast_path: bool, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.get(job_url(JOB), status=429, body=fixture_text("recorded/job_get_429_throttled.json"))
    text = fixture_text("recorded/iaasvm_backup_completed_2023.json")
    rsps.get(job_url(JOB), body=text)
    run = run_cli("get", JOB, fast_path=fast_path, sleep=sleeps.append)
    assert run.exit_code == 0 and pairs(run.stdout) == pairs(text)
    assert sleeps == [324.0]  # the wait the 429 message asked for
    assert run.stderr == "azjobs: throttled; retrying in 324.0 s\n"  # stderr only


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("<html><body><h1>502 Bad Gateway</h1></body></html>", "not valid JSON"),
        ('{"id": "x", "properties": {"sta', "not valid JSON"),
        ("", "empty body"),
        ("[]", "JSON list"),
        ('{"id": "x"}', "no 'properties' object"),
    ],
)
def test_unexpected_bodies_exit_1(
    fast_path: bool, rsps: responses.RequestsMock, body: str, needle: str
) -> None:
    rsps.get(job_url(JOB), body=body)
    run = run_cli("get", JOB, fast_path=fast_path)
    assert run.exit_code == 1
    run.one_error_line(needle)


def test_connection_refused_exit_1(
    fast_path: bool, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    import requests

    rsps.get(
        job_url(JOB, base="http://127.0.0.1:9"),
        body=requests.exceptions.ConnectionError("[Errno 111] Connection refused"),
    )
    run = run_cli(
        "get", JOB, "--endpoint", "http://127.0.0.1:9", fast_path=fast_path, sleep=sleeps.append
    )
    # An endpoint that has never answered is not retried: it is the wrong one, or not running.
    assert run.exit_code == 1 and sleeps == [] and len(rsps.calls) == 1
    assert "connection refused" in run.stderr_lines[-1]
    assert "is the emulator running" in run.stderr_lines[-1]
    errors = [line for line in run.stderr_lines if line.startswith("azjobs: error:")]
    assert len(errors) == 1 and "Traceback" not in run.stderr


def test_no_credential_exit_4(
    fast_path: bool, rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing:
        def __init__(self, **kwargs: Any) -> None:
            pass

        def get_token(self, *scopes: str) -> Any:
            raise RuntimeError(
                "DefaultAzureCredential failed to retrieve a token from the "
                "included credentials.\nAttempted credentials: ..."
            )

    fake = types.ModuleType("azure.identity")
    fake.DefaultAzureCredential = Failing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azure.identity", fake)
    run = run_cli("get", JOB, env={"AZJOBS_ACCESS_TOKEN": ""}, fast_path=fast_path)
    assert run.exit_code == 4
    line = run.one_error_line("no Azure credential available")
    assert "az login" in line and "AZJOBS_ACCESS_TOKEN" in line
    assert len(rsps.calls) == 0


def test_unexpected_exception_is_one_line_exit_1(rsps: responses.RequestsMock) -> None:
    with mock.patch("azbackupjobs.commands.get.run", side_effect=RuntimeError("boom\nx")):
        run = run_cli("get", JOB, fast_path=True)
    assert run.exit_code == 1
    run.one_error_line("unexpected RuntimeError: boom x")


def test_click_usage_errors_exit_2(rsps: responses.RequestsMock) -> None:
    for args in (["get"], ["get", JOB, "--bogus"], ["nosuch"], ["get", JOB, "-o"]):
        run = run_cli(*args, fast_path=True)
        assert run.exit_code == 2, args
        assert "Traceback" not in run.stderr and run.stdout == ""
    assert len(rsps.calls) == 0


# ----- entry points -----------------------------------------------------------------------------


def test_console_runs_take_the_fast_path(rsps: responses.RequestsMock) -> None:
    """Guards the ``fast_path`` matrix: "console" really exercises the fast path's own parser."""
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    with mock.patch.object(cli, "main", side_effect=AssertionError("went through Typer")):
        run = run_cli("get", job["name"], "-o", "tsv", fast_path=True)
    assert run.exit_code == 0 and run.stdout.startswith(job["name"] + "\t"), run.stderr


def test_version() -> None:
    run = run_cli("--version", fast_path=True)
    assert run.exit_code == 0 and run.stdout == f"azjobs {__version__}\n"


def test_python_dash_m_help(tmp_path: Path) -> None:
    proc = run_cli_process("--help", program=PYTHON_M, cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert "get" in proc.stdout and "list-tasks" in proc.stdout
    assert "Exit codes" in " ".join(proc.stdout.split())
    assert proc.stderr == ""


def test_console_script_version(tmp_path: Path) -> None:
    assert Path(AZJOBS_SCRIPT).is_file()  # pip installs it beside this interpreter
    proc = run_cli_process("--version", cwd=tmp_path)
    assert proc == (0, f"azjobs {__version__}\n", "")
