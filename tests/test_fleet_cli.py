"""``azjobs list --fleet`` in-process against the emulator: jobs of several subscriptions and
vaults, every output format, the filters pushed into the query, summaries, usage errors, and the
fast path giving the same answers as Typer."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from azbackupjobs.cli.fastparse import parse
from azbackupjobs.emulator import EmulatorHandle, kql
from tests.harness import EmulatorFactory, Result, run_cli

SUB_A = "11111111-1111-4111-8111-111111111111"
SUB_B = "22222222-2222-4222-8222-222222222222"
SHORT = [("Take Snapshot", 30.0)]


@pytest.fixture(scope="module")
def emu(module_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    handle = module_emulator_factory(seed=31, seed_data=False, speed=1e-6)
    handle.add_job(
        entity="vm-a1",
        outcome="Failed",
        start_offset=-7200,
        tasks=SHORT,
        subscription=SUB_A,
        resource_group="rg-a",
        vault="vault-a",
    )
    handle.add_job(
        entity="vm-a2",
        start_offset=-5400,
        tasks=SHORT,
        subscription=SUB_A,
        resource_group="rg-a",
        vault="vault-a",
    )
    handle.add_job(
        entity="db [sql-1]",
        job_type="AzureWorkloadJob",
        operation="Backup",
        outcome="Failed",
        start_offset=-3600,
        tasks=SHORT,
        subscription=SUB_A,
        resource_group="rg-a",
        vault="vault-sql",
    )
    handle.add_job(
        entity="vm-b1",
        tasks=[("Take Snapshot", 86400.0)],
        start_offset=-1800,
        subscription=SUB_B,
        resource_group="rg-b",
        vault="vault-b",
    )
    handle.add_job(
        entity="share-b",
        job_type="AzureStorageJob",
        operation="Restore",
        start_offset=-900,
        tasks=SHORT,
        subscription=SUB_B,
        resource_group="rg-b",
        vault="vault-b",
    )
    handle.add_job(
        entity="vm-old",
        start_offset=-3 * 86400,
        tasks=SHORT,
        subscription=SUB_B,
        resource_group="rg-b",
        vault="vault-b",
    )
    handle.add_job(entity="vm-home", start_offset=-600, tasks=SHORT)
    handle.resource_graph.management_groups["mg-a"] = [SUB_A]
    handle.resource_graph.quota = 10_000
    return handle


@pytest.fixture
def env(emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "200")
    emu.clear_request_log()
    emu.resource_graph.requests.clear()
    # Each test starts with a fresh Resource Graph quota: the module shares one emulator, and a
    # quota spent by earlier tests would add a wait note that depends on how fast they ran.
    emu.resource_graph.reset_quota()
    return emu


def queries(emu: EmulatorHandle) -> list[dict[str, Any]]:
    return [q for q in emu.resource_graph.requests if isinstance(q, dict)]


def entities(jobs: list[dict[str, Any]]) -> list[str]:
    return [j["properties"]["entityFriendlyName"] for j in jobs]


def test_json_spans_subscriptions_and_vaults_newest_first(env: EmulatorHandle) -> None:
    code, out, err = run_cli("list", "--fleet", "-o", "json")
    assert (code, err) == (0, "")
    jobs = json.loads(out)
    assert entities(jobs) == ["vm-home", "share-b", "vm-b1", "db [sql-1]", "vm-a2", "vm-a1"]
    assert {j["id"].split("/")[8] for j in jobs} == {"vault-a", "vault-sql", "vault-b", env.vault}
    # one Resource Graph query; no vault API request at all
    assert [r.path for r in env.request_log] == ["/providers/Microsoft.ResourceGraph/resources"]
    body = queries(env)[0]
    assert "subscriptions" not in body and "managementGroups" not in body  # the tenant


def test_jobs_have_the_shape_of_azjobs_list(env: EmulatorHandle) -> None:
    code, out, _ = run_cli("list", "--fleet", "--entity", "vm-home", "-o", "json")
    fleet_job = json.loads(out)[0]
    code, out, _ = run_cli("list", "-o", "json")
    vault_job = json.loads(out)[0]
    assert code == 0 and fleet_job == vault_job  # a finished job: the same resource, exactly


def test_filters_are_pushed_into_the_query(env: EmulatorHandle) -> None:
    code, out, _ = run_cli(
        "list",
        "--fleet",
        "--status",
        "failed",
        "--operation",
        "backup",
        "--type",
        "AzureWorkload",
        "--entity",
        "SQL",
        "--since",
        "1d",
        "-o",
        "ndjson",
    )
    assert code == 0
    assert entities([json.loads(line) for line in out.splitlines()]) == ["db [sql-1]"]
    query = queries(env)[0]["query"]
    for clause in (
        "status in~ ('Failed')",
        "operation =~ 'Backup'",
        "operation startswith 'Backup ('",
        "tostring(properties.backupManagementType) =~ 'AzureWorkload'",
        "contains 'SQL'",
    ):
        assert clause in query
    kql.parse(query)


def test_scope_flags(env: EmulatorHandle) -> None:
    code, out, _ = run_cli("list", "--fleet", "--subscriptions", SUB_B, "-o", "json")
    assert code == 0 and entities(json.loads(out)) == ["share-b", "vm-b1"]
    code, out, _ = run_cli("list", "--fleet", "--management-group", "mg-a", "-o", "json")
    assert code == 0 and entities(json.loads(out)) == ["db [sql-1]", "vm-a2", "vm-a1"]
    code, out, _ = run_cli(
        "list",
        "--fleet",
        "--subscription",
        SUB_A,
        "--subscriptions",
        SUB_B,
        "--since",
        "4d",
        "-o",
        "tsv",
    )
    assert code == 0 and len(out.splitlines()) == 6
    assert queries(env)[-1]["subscriptions"] == [SUB_B, SUB_A]


def test_tsv_limit_and_query(env: EmulatorHandle) -> None:
    code, out, _ = run_cli("list", "--fleet", "--limit", "2", "-o", "tsv")
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    assert [line[3] for line in lines] == ["vm-home", "share-b"] and len(lines[0]) == 9
    assert queries(env)[0]["options"]["$top"] == 2
    code, out, _ = run_cli(
        "list",
        "--fleet",
        "--query",
        "[?properties.status=='Failed'].name | length(@)",
        "-o",
        "tsv",
    )
    assert (code, out) == (0, "2\n")


def test_table(env: EmulatorHandle) -> None:
    code, out, err = run_cli("list", "--fleet", "-o", "table")
    assert code == 0 and err == ""
    assert "rg-b/vault-b" in out and "vm-a1" in out and "6 jobs in 4 vaults" in out
    code, out, err = run_cli("list", "--fleet", "--status", "cancelled", "-o", "table")
    assert code == 0 and out == ""
    assert "No jobs in the last 24 h in every subscription the credential can read." in err


def test_summaries(env: EmulatorHandle) -> None:
    code, out, _ = run_cli("list", "--fleet", "--by", "vault", "-o", "json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["vault"], r["jobs"], r["statuses"]) for r in rows] == [
        ("vault-a", 2, {"Completed": 1, "Failed": 1}),
        ("vault-sql", 1, {"Failed": 1}),
        ("vault-b", 2, {"InProgress": 1, "Completed": 1}),
        (env.vault, 1, {"Completed": 1}),
    ]
    assert "summarize jobs = count() by" in queries(env)[0]["query"]
    code, out, _ = run_cli("list", "--fleet", "--by", "status", "-o", "tsv")
    assert out.splitlines() == ["InProgress\t1\t1", "Completed\t3\t3", "Failed\t2\t2"]
    code, out, _ = run_cli("list", "--fleet", "--by", "operation", "-o", "ndjson")
    assert [json.loads(line)["operation"] for line in out.splitlines()] == ["Backup", "Restore"]
    code, out, err = run_cli(
        "list", "--fleet", "--by", "vault", "--operation", "Backup", "-o", "table"
    )
    assert code == 0 and err == ""
    assert "2 failed backups in 2 vaults in the last 24 h (5 backups in 4 vaults in all)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--by", "vault"], "--by needs --fleet"),
        (["--subscriptions", SUB_A, "--management-group", "mg"], "need --fleet"),
        (["--fleet", "-g", "rg"], "--resource-group does not apply"),
        (["--fleet", "--vault", "v", "-g", "rg"], "do not apply"),
        (["--fleet", "--subscriptions", "nope"], "not a GUID"),
        (["--fleet", "--management-group", "a b"], "not a management group id"),
        (["--fleet", "--entity", "a\tb"], "control characters"),
        (["--fleet", "--by", "vault", "--limit", "3"], "--limit does not apply to --by"),
        (["--fleet", "--by", "tenant"], "--by: unknown value"),
        (["--fleet", "--job-id", "x"], "not a GUID"),
        (["--fleet", "--since", "yesterday"], "--since"),
        (["--fleet", "-o", "yaml"], "unknown output format"),
    ],
)
def test_usage_errors_send_nothing(env: EmulatorHandle, argv: list[str], message: str) -> None:
    code, out, err = run_cli("list", *argv)
    assert code == 2 and out == "" and message in err
    assert len(err.strip().splitlines()) == 1
    assert env.request_log == []


def test_fleet_needs_no_group_or_vault(
    env: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZJOBS_RESOURCE_GROUP")
    monkeypatch.delenv("AZJOBS_VAULT")
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID")
    code, out, _err = run_cli("list", "--fleet", "-o", "json")
    assert code == 0 and len(json.loads(out)) == 6


def test_service_errors(env: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run_cli("list", "--fleet", "--management-group", "unknown-mg")
    assert code == 3 and "ManagementGroupNotFound" in err
    monkeypatch.setenv("AZJOBS_GRAPH_API_VERSION", "2020-01-01")
    code, _, err = run_cli("list", "--fleet")
    assert code == 1 and "AZJOBS_GRAPH_API_VERSION" in err
    monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", "wrong")
    monkeypatch.delenv("AZJOBS_GRAPH_API_VERSION")
    code, _, err = run_cli("list", "--fleet")
    assert code == 4 and "wrong" not in err


FAST_CASES = [
    ["list", "--fleet", "-o", "json"],
    ["list", "--fleet", "--status", "Failed", "-o", "ndjson"],
    ["list", "--fleet", "--by", "vault", "-o", "tsv"],
    ["list", "--fleet", "--subscriptions", SUB_A, "--subscriptions", SUB_B, "-o", "json"],
    ["list", "--by", "status", "-o", "json"],
]


@pytest.mark.parametrize("argv", FAST_CASES)
def test_the_fast_path_takes_fleet_invocations_and_agrees(
    env: EmulatorHandle, argv: list[str]
) -> None:
    parsed = parse(argv)
    assert parsed is not None
    typer_result = run_cli(*argv, fast_path=False)
    fast_result = run_cli(*argv, fast_path=True)

    # A running job's duration is computed at each query; the emulator's clock barely moves
    # (speed 1e-6) but can still tick the seventh fractional digit between the two runs.
    def steady(result: Result) -> tuple[int, str, str]:
        code, out, err = result
        return code, re.sub(r'"duration": ?"[^"]*"', '"duration": ""', out), err

    assert steady(fast_result) == steady(typer_result)
