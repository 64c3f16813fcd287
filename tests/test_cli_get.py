"""``azjobs get`` and ``azjobs list-tasks`` from the outside: every output mode, every exit code.

Commands run through ``cli.main`` (the console-script entry point, which maps errors to exit
codes) inside typer's ``CliRunner`` isolation, with HTTP mocked by ``responses``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import responses
from typer.testing import CliRunner

from azbackupjobs import __version__
from azbackupjobs import main as fastpath
from azbackupjobs.arm.client import BackupJobsClient
from azbackupjobs.cli import app as cli
from azbackupjobs.view.output import Environment

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


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def assert_one_error_line(self, needle: str = "") -> str:
        """The error contract: one stderr line, no traceback, nothing on stdout."""
        assert self.out == "", self.out
        assert "Traceback" not in self.err
        assert len(self.err_lines) == 1, self.err
        line = self.err_lines[0]
        assert line.startswith("azjobs: error: "), line
        assert needle in line, line
        return line


_VIA = ["console"]  # set by the ``via`` fixture for the tests that run both ways


def azjobs(
    *args: str, env: dict[str, str] | None = None, tty: bool = False, via: str | None = None
) -> Run:
    """Run ``azjobs ARGS`` in-process; ``tty`` makes stdout look like a terminal.

    ``via="console"`` enters where the console script does (``fastpath.main``: plain
    ``get``/``list-tasks`` take the fast path); ``via="typer"`` runs the Typer app
    (``cli.main``), where everything else goes.
    """
    via = via or _VIA[0]
    runner = CliRunner()
    old_sigterm = signal.getsignal(signal.SIGTERM)
    merged = {**BASE_ENV, **(env or {})}
    merged = {k: v for k, v in merged.items() if v is not None}
    patch: contextlib.AbstractContextManager[Any] = (
        mock.patch.object(
            Environment,
            "from_system",
            classmethod(
                lambda cls: Environment(
                    stdout=sys.stdout,
                    stderr=sys.stderr,
                    stdout_isatty=True,
                    stderr_isatty=False,
                    stdin_isatty=False,
                    env=os.environ,
                )
            ),
        )
        if tty
        else contextlib.nullcontext()
    )
    try:
        with runner.isolation(env=merged) as (out, err, _), patch:
            code = 0
            try:
                if via == "console":
                    fastpath.main(list(args))
                else:
                    cli.main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    finally:
        signal.signal(signal.SIGTERM, old_sigterm)
    return Run(code, stdout, stderr)


@pytest.fixture(params=["console", "typer"])
def via(request: pytest.FixtureRequest) -> Iterator[str]:
    """Both ways into a command: the console script's fast path and the Typer app."""
    value = request.param
    assert isinstance(value, str)
    _VIA[0] = value
    yield value
    _VIA[0] = "console"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked


@pytest.fixture
def sleeps() -> Iterator[list[float]]:
    """The client's waits between retries, recorded instead of slept."""
    slept: list[float] = []
    defaults = BackupJobsClient.__init__.__kwdefaults__
    assert defaults is not None and "sleep" in defaults
    with mock.patch.dict(defaults, {"sleep": slept.append}):
        yield slept


def serve(rsps: responses.RequestsMock, rel: str, **kwargs: Any) -> dict[str, Any]:
    """Register a GET of the job in fixture ``rel``; return the job."""
    text = fixture_text(rel)
    job = json.loads(text)
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
    run = azjobs("get", job["name"])  # json is the default when piped
    assert run.code == 0, run.err
    assert pairs(run.out) == pairs(fixture_text(f"recorded/{name}"))
    assert run.err == ""


@pytest.mark.parametrize("name", RECORDED_JOBS)
def test_get_table_renders_every_recorded_job(rsps: responses.RequestsMock, name: str) -> None:
    job = serve(rsps, f"recorded/{name}")
    run = azjobs("get", job["name"], "-o", "table")
    assert run.code == 0, run.err
    assert "Status" in run.out and job["name"] in run.out
    assert "\x1b" not in run.out  # piped: no escape sequences
    assert "0001-01-01" not in run.out and "2001-01-01" not in run.out  # unset times
    assert run.err == ""


@pytest.mark.usefixtures("via")
def test_get_table_contents(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_restore_inprogress_progress.json")
    out = azjobs("get", job["name"], "-o", "table").out
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


@pytest.mark.usefixtures("via")
def test_get_table_error_panel(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_failed_errordetails.json")
    out = azjobs("get", job["name"], "-o", "table").out
    assert "Error" in out and "400136" in out and "UserErrorVmNotFoundV2" in out
    assert "•" in out  # recommendations


@pytest.mark.usefixtures("via")
def test_get_table_on_a_terminal_is_the_default_and_coloured(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_failed_errordetails.json")
    run = azjobs("get", job["name"], env={"COLUMNS": "120"}, tty=True)
    assert run.code == 0
    assert "Entity" in run.out
    assert re.search(r"\x1b\[[0-9;]*31", run.out)  # Failed in red


@pytest.mark.usefixtures("via")
def test_no_color_is_honoured(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_failed_errordetails.json")
    run = azjobs("get", job["name"], env={"COLUMNS": "120", "NO_COLOR": "1"}, tty=True)
    assert run.code == 0 and "Entity" in run.out
    colour = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")
    assert not colour.search(run.out)


@pytest.mark.usefixtures("via")
def test_get_ndjson_is_one_compact_line(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/hana_restore_invalid_failed.json")
    run = azjobs("get", job["name"], "-o", "ndjson")
    assert run.code == 0
    assert run.out.count("\n") == 1 and run.out.endswith("\n")
    assert pairs(run.out) == pairs(fixture_text("recorded/hana_restore_invalid_failed.json"))
    assert ": " not in run.out.split('"errorString"')[0]  # compact separators


@pytest.mark.usefixtures("via")
def test_get_tsv_documented_columns(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = azjobs("get", job["name"], "-o", "tsv")
    assert run.code == 0
    assert run.out.endswith("\n") and run.out.count("\n") == 1
    props = job["properties"]
    assert run.out.rstrip("\n").split("\t") == [
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


@pytest.mark.usefixtures("via")
def test_get_tsv_missing_end_time_is_an_empty_cell(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/afs_backup_inprogress.json")
    cells = azjobs("get", job["name"], "-o", "tsv").out.rstrip("\n").split("\t")
    assert len(cells) == 9 and cells[7] == "" and cells[1] == "InProgress"


def test_get_tsv_documented_in_help() -> None:
    run = azjobs("get", "--help")
    assert run.code == 0
    flat = " ".join(run.out.split())
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
@pytest.mark.usefixtures("via")
def test_get_query(rsps: responses.RequestsMock, fmt: str, query: str, expected: str) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = azjobs("get", job["name"], "-o", fmt, "--query", query)
    assert run.code == 0, run.err
    ext = job["properties"]["extendedInfo"]
    if expected == "bag":  # an object: its values, in order, on one line
        expected = "\t".join(ext["propertyBag"].values()) + "\n"
    elif expected == "task":
        expected = "\t".join(ext["tasksList"][0].values()) + "\n"
    assert run.out == expected


@pytest.mark.usefixtures("via")
def test_output_from_the_environment(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = azjobs("get", job["name"], env={"AZJOBS_OUTPUT": "NDJSON"})
    assert run.code == 0 and run.out.count("\n") == 1
    run = azjobs("get", job["name"], "-o", "tsv", env={"AZJOBS_OUTPUT": "json"})
    assert "\t" in run.out  # the flag wins


@pytest.mark.usefixtures("via")
def test_job_arm_id_names_the_vault(rsps: responses.RequestsMock) -> None:
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
    run = azjobs("get", arm_id, "-o", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["name"] == job["name"]
    assert rsps.calls[0].request.url.startswith(f"{ARM}{path}/backupJobs/")


@pytest.mark.usefixtures("via")
def test_cloud_selects_endpoint(rsps: responses.RequestsMock) -> None:
    text = fixture_text("recorded/iaasvm_backup_completed_2023.json")
    job = json.loads(text)
    rsps.get(job_url(job["name"], base="https://management.chinacloudapi.cn"), body=text)
    run = azjobs("get", job["name"], "--cloud", "AzureChinaCloud")
    assert run.code == 0, run.err


@pytest.mark.usefixtures("via")
def test_endpoint_and_api_version_flags(rsps: responses.RequestsMock) -> None:
    text = fixture_text("recorded/iaasvm_backup_completed_2023.json")
    job = json.loads(text)
    rsps.get(job_url(job["name"], base="http://127.0.0.1:8080"), body=text)
    run = azjobs(
        "get", job["name"], "--endpoint", "http://127.0.0.1:8080", "--api-version", "2019-05-13"
    )
    assert run.code == 0, run.err
    assert rsps.calls[0].request.url.endswith("?api-version=2019-05-13")


@pytest.mark.usefixtures("via")
def test_debug_traces_to_stderr_and_never_prints_the_token(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = azjobs("get", job["name"], "--debug", "-o", "json")
    assert run.code == 0
    assert json.loads(run.out)["name"] == job["name"]  # stdout is still only data
    assert "debug: > GET https://management.azure.com/" in run.err
    assert "debug: < 200" in run.err
    assert TOKEN not in run.err and TOKEN not in run.out


# ----- list-tasks -------------------------------------------------------------------------------


@pytest.mark.usefixtures("via")
def test_list_tasks_json_is_the_tasks_list_as_returned(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = azjobs("list-tasks", job["name"], "-o", "json")
    assert run.code == 0
    expected = pairs(fixture_text("recorded/iaasvm_backup_completed_2023.json"))
    props = dict(expected)["properties"]
    tasks = dict(dict(props)["extendedInfo"])["tasksList"]
    assert pairs(run.out) == tasks


@pytest.mark.parametrize(
    "rel",
    [
        "recorded/iaasvm_configurebackup_completed.json",  # "tasksList": []
        "synthetic/vault_updatecmk_completed.json",  # no tasksList at all
        "recorded/afs_restore_completed.json",
    ],
)
@pytest.mark.usefixtures("via")
def test_list_tasks_json_is_empty_array_when_none(rsps: responses.RequestsMock, rel: str) -> None:
    job = serve(rsps, rel)
    run = azjobs("list-tasks", job["name"], "-o", "json")
    assert run.code == 0 and run.out == "[]\n"
    assert azjobs("list-tasks", job["name"], "-o", "ndjson").out == ""
    assert azjobs("list-tasks", job["name"], "-o", "tsv").out == ""
    table = azjobs("list-tasks", job["name"], "-o", "table")
    assert table.code == 0 and "has no tasks" in table.out


@pytest.mark.usefixtures("via")
def test_list_tasks_ndjson_one_line_per_task(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_restore_completed_alternatelocation.json")
    run = azjobs("list-tasks", job["name"], "-o", "ndjson")
    lines = run.out.splitlines()
    tasks = job["properties"]["extendedInfo"]["tasksList"]
    assert [json.loads(line) for line in lines] == tasks


@pytest.mark.usefixtures("via")
def test_list_tasks_tsv_documented_columns(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_restore_inprogress_progress.json")
    run = azjobs("list-tasks", job["name"], "-o", "tsv")
    assert run.out.splitlines() == [
        "Transfer data from vault\tInProgress\t\t\t\tPT0S\t120.58 GBs / 127 GBs Transferred"
    ]
    flat = " ".join(azjobs("list-tasks", "--help").out.split())
    assert (
        "tsv columns: taskId, status, progressPercentage, startTime, endTime, duration, "
        "taskExecutionDetails"
    ) in flat


@pytest.mark.usefixtures("via")
def test_list_tasks_query(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = azjobs("list-tasks", job["name"], "--query", "[].status", "-o", "tsv")
    assert run.out == "Completed\nCompleted\n"
    run = azjobs(
        "list-tasks", job["name"], "--query", "[?status=='Completed'].taskId", "-o", "json"
    )
    assert json.loads(run.out) == ["Take Snapshot", "Transfer data to vault"]


@pytest.mark.usefixtures("via")
def test_list_tasks_table(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    run = azjobs("list-tasks", job["name"], "-o", "table")
    assert run.code == 0
    assert "Backup of clitest-vm000003" in run.out and "Take Snapshot" in run.out
    assert "Properties" not in run.out  # tasks only


def test_list_tasks_storage_job_columns(rsps: responses.RequestsMock) -> None:
    job = serve(rsps, "recorded/afs_backup_completed.json")
    out = azjobs("list-tasks", job["name"], "-o", "table").out
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
@pytest.mark.usefixtures("via")
def test_usage_errors_exit_2_before_any_request(
    rsps: responses.RequestsMock,
    command: str,
    args: list[str],
    env: dict[str, str],
    needle: str,
) -> None:
    run = azjobs(command, *args, env=env)
    assert run.code == 2
    run.assert_one_error_line(needle)
    assert len(rsps.calls) == 0


@pytest.mark.usefixtures("via")
def test_missing_context_names_every_flag_and_variable(rsps: responses.RequestsMock) -> None:
    run = azjobs(
        "get",
        JOB,
        env={"AZURE_SUBSCRIPTION_ID": "", "AZJOBS_RESOURCE_GROUP": "", "AZJOBS_VAULT": ""},
    )
    line = run.assert_one_error_line()
    assert run.code == 2
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
@pytest.mark.usefixtures("via")
def test_http_errors_map_to_exit_codes(
    rsps: responses.RequestsMock,
    command: str,
    status: int,
    body: dict[str, Any],
    code: int,
    needle: str,
) -> None:
    rsps.get(job_url(JOB), status=status, json=body)
    run = azjobs(command, JOB)
    assert run.code == code
    line = run.assert_one_error_line(needle)
    sent_id = rsps.calls[0].request.headers["x-ms-client-request-id"]
    assert sent_id in line
    assert TOKEN not in line


@pytest.mark.usefixtures("via")
def test_server_errors_retry_then_exit_1(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.get(job_url(JOB), status=503, body=fixture_text("recorded/job_get_503_servertimeout.json"))
    run = azjobs("get", JOB)
    assert run.code == 1 and run.out == ""
    assert len(rsps.calls) == 4 and len(sleeps) == 3
    assert len([line for line in run.err_lines if "retrying in" in line]) == 3
    errors = [line for line in run.err_lines if line.startswith("azjobs: error:")]
    assert len(errors) == 1 and run.err_lines[-1] == errors[0]
    assert "ServerTimeout" in errors[0]
    assert "Traceback" not in run.err


@pytest.mark.usefixtures("via")
def test_retry_then_success_exit_0(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.get(job_url(JOB), status=429, body=fixture_text("recorded/job_get_429_throttled.json"))
    text = fixture_text("recorded/iaasvm_backup_completed_2023.json")
    rsps.get(job_url(JOB), body=text)
    run = azjobs("get", JOB)
    assert run.code == 0 and pairs(run.out) == pairs(text)
    assert sleeps == [324.0]  # the wait the 429 message asked for
    assert run.err == "azjobs: throttled; retrying in 324.0 s\n"  # stderr only


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
@pytest.mark.usefixtures("via")
def test_unexpected_bodies_exit_1(rsps: responses.RequestsMock, body: str, needle: str) -> None:
    rsps.get(job_url(JOB), body=body)
    run = azjobs("get", JOB)
    assert run.code == 1
    run.assert_one_error_line(needle)


@pytest.mark.usefixtures("via")
def test_connection_refused_exit_1(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    import requests

    rsps.get(
        job_url(JOB, base="http://127.0.0.1:9"),
        body=requests.exceptions.ConnectionError("[Errno 111] Connection refused"),
    )
    run = azjobs("get", JOB, "--endpoint", "http://127.0.0.1:9")
    # An endpoint that has never answered is not retried: it is the wrong one, or not running.
    assert run.code == 1 and sleeps == [] and len(rsps.calls) == 1
    assert "connection refused" in run.err_lines[-1]
    assert "is the emulator running" in run.err_lines[-1]
    errors = [line for line in run.err_lines if line.startswith("azjobs: error:")]
    assert len(errors) == 1 and "Traceback" not in run.err


@pytest.mark.usefixtures("via")
def test_no_credential_exit_4(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
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
    run = azjobs("get", JOB, env={"AZJOBS_ACCESS_TOKEN": ""})
    assert run.code == 4
    line = run.assert_one_error_line("no Azure credential available")
    assert "az login" in line and "AZJOBS_ACCESS_TOKEN" in line
    assert len(rsps.calls) == 0


def test_unexpected_exception_is_one_line_exit_1(rsps: responses.RequestsMock) -> None:
    with mock.patch("azbackupjobs.commands.get.run", side_effect=RuntimeError("boom\nx")):
        run = azjobs("get", JOB)
    assert run.code == 1
    run.assert_one_error_line("unexpected RuntimeError: boom x")


def test_click_usage_errors_exit_2(rsps: responses.RequestsMock) -> None:
    for args in (["get"], ["get", JOB, "--bogus"], ["nosuch"], ["get", JOB, "-o"]):
        run = azjobs(*args)
        assert run.code == 2, args
        assert "Traceback" not in run.err and run.out == ""
    assert len(rsps.calls) == 0


# ----- entry points -----------------------------------------------------------------------------


def test_console_runs_take_the_fast_path(rsps: responses.RequestsMock) -> None:
    """Guards the ``via`` matrix: "console" really exercises the fast path's own parser."""
    job = serve(rsps, "recorded/iaasvm_backup_completed_2023.json")
    with mock.patch.object(cli, "main", side_effect=AssertionError("went through Typer")):
        run = azjobs("get", job["name"], "-o", "tsv", via="console")
    assert run.code == 0 and run.out.startswith(job["name"] + "\t"), run.err


def test_version() -> None:
    run = azjobs("--version")
    assert run.code == 0 and run.out == f"azjobs {__version__}\n"


def test_python_dash_m_help(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "azbackupjobs", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "get" in proc.stdout and "list-tasks" in proc.stdout
    assert "Exit codes" in " ".join(proc.stdout.split())
    assert proc.stderr == ""


def test_console_script_version(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("azjobs")
    found = str(script) if script.exists() else shutil.which("azjobs")
    if found is None:
        pytest.skip("the azjobs console script is not installed")
    proc = subprocess.run(
        [found, "--version"], check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"azjobs {__version__}\n", "")
