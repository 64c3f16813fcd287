"""End to end: the installed ``azjobs`` with ``--fleet`` against the emulator, jobs in several
subscriptions and vaults, as scripts use it (pipes, jq, ``set -e``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from azbackupjobs.emulator import EmulatorHandle
from tests.harness import AZJOBS_SCRIPT, EmulatorFactory, child_environment, run_cli_process

pytestmark = pytest.mark.e2e

GRAPH = "/providers/Microsoft.ResourceGraph/resources"
SUBS = (
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
)
SHORT = [("Take Snapshot", 30.0)]


@pytest.fixture(scope="module")
def emu(module_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    handle = module_emulator_factory(seed=51, seed_data=False, speed=1e-6)
    for i, sub in enumerate(SUBS):
        for v in range(2 if i == 0 else 1):
            handle.add_jobs(
                3,
                outcomes=("Completed", "Failed"),
                subscription=sub,
                resource_group=f"rg-{i}",
                vault=f"vault-{i}-{v}",
                spread_seconds=3 * 3600,
                entity_prefix=f"vm{i}{v}-",
            )
    handle.resource_graph.page_size = 5
    handle.resource_graph.quota = 10_000
    handle.resource_graph.management_groups["mg-east"] = list(SUBS[1:])
    return handle


def graph_statuses(emu: EmulatorHandle) -> list[int | None]:
    return [r.status for r in emu.request_log if r.path == GRAPH]


def test_json_across_subscriptions_and_vaults_in_pages(emu: EmulatorHandle) -> None:
    emu.clear_request_log()
    done = run_cli_process("list", "--fleet", "-o", "json", env=emu.env())
    assert done.exit_code == 0, done.stderr
    jobs = json.loads(done.stdout)
    assert len(jobs) == 12
    assert {j["id"].split("/")[2] for j in jobs} == set(SUBS)
    assert len({j["id"].split("/")[8] for j in jobs}) == 4
    starts = [j["properties"]["startTime"] for j in jobs]
    assert starts == sorted(starts, reverse=True)
    assert graph_statuses(emu) == [200] * math.ceil(12 / 5)  # pages joined by $skipToken
    assert len(emu.request_log) == len(graph_statuses(emu))  # no vault API request


# What jq does in scripts (``jq -r .name`` on each line; ``jq -e 'length == 4'``), in Python so
# that the pipeline runs wherever the tests do.
NAMES = "import json, sys; [print(json.loads(line)['name']) for line in sys.stdin]"
LENGTH_IS_4 = "import json, sys; sys.exit(0 if len(json.load(sys.stdin)) == 4 else 1)"


def test_ndjson_into_a_json_filter_under_set_e(emu: EmulatorHandle) -> None:
    script = (
        "set -euo pipefail\n"
        'failed=$("$AZJOBS" list --fleet --status Failed -o ndjson | "$PY" -c "$NAMES" | wc -l)\n'
        '"$AZJOBS" list --fleet --by vault -o json | "$PY" -c "$LENGTH_IS_4"\n'
        'echo "$failed"\n'
    )
    variables = {
        "AZJOBS": AZJOBS_SCRIPT,
        "PY": sys.executable,
        "NAMES": NAMES,
        "LENGTH_IS_4": LENGTH_IS_4,
    }
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env=child_environment({**emu.env(), **variables}),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4"  # per vault: one running, one failed, one completed


def test_summary_and_scope(emu: EmulatorHandle) -> None:
    done = run_cli_process(
        "list",
        "--fleet",
        "--by",
        "status",
        "-o",
        "tsv",
        "--management-group",
        "mg-east",
        env=emu.env(),
    )
    assert done.exit_code == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == [
        "Completed\t2\t2",
        "Failed\t2\t2",
        "InProgress\t2\t2",
    ]
    done = run_cli_process("list", "--fleet", "--by", "vault", "-o", "table", env=emu.env())
    assert done.exit_code == 0, done.stderr
    assert "4 failed jobs in 4 vaults in the last 24 h (12 jobs in 4 vaults in all)" in (
        done.stdout
    )


def test_the_quota_is_waited_for_not_exceeded(emu: EmulatorHandle) -> None:
    graph = emu.resource_graph
    graph.quota, graph.window = 2, 0.3
    graph.reset_quota()
    try:
        emu.clear_request_log()
        done = run_cli_process("list", "--fleet", "-o", "ndjson", env=emu.env())
    finally:
        graph.quota, graph.window = 10_000, 5.0
    assert done.exit_code == 0, done.stderr
    assert len(done.stdout.splitlines()) == 12
    assert graph_statuses(emu) == [200, 200, 200]  # it waited for the reset: never refused
    assert "Resource Graph quota used up; waiting" in done.stderr


def test_errors(emu: EmulatorHandle) -> None:
    emu.clear_request_log()
    done = run_cli_process("list", "--fleet", "--entity", "x\u0007y", env=emu.env())
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr.startswith("azjobs: error:") and len(done.stderr.splitlines()) == 1
    assert emu.request_log == []
    done = run_cli_process("list", "--fleet", env={**emu.env(), "AZJOBS_ACCESS_TOKEN": "nope"})
    assert done.exit_code == 4 and "nope" not in done.stderr + done.stdout


def test_watch_fleet_until_the_running_jobs_end(emulator_factory: EmulatorFactory) -> None:
    # Long enough (3 s and 6 s of real time) that a slow process start still sees both running.
    emu = emulator_factory(seed=52, seed_data=False, speed=200)
    failing = emu.add_job(
        entity="vm-f",
        outcome="Failed",
        failed_task=0,
        tasks=[("Take Snapshot", 1200)],
        subscription=SUBS[0],
        resource_group="rg-a",
        vault="vault-a",
    )
    passing = emu.add_job(
        entity="vm-p",
        tasks=[("Take Snapshot", 600)],
        subscription=SUBS[1],
        resource_group="rg-b",
        vault="vault-b",
    )
    done = run_cli_process(
        "watch", "--fleet", "--interval", "1", "-o", "ndjson", "--timeout", "60", env=emu.env()
    )
    assert done.exit_code == 6, done.stderr  # a watched job failed
    last: dict[str, str] = {}
    for line in done.stdout.splitlines():
        job = json.loads(line)
        last[job["name"]] = job["properties"]["status"]
    assert last == {failing: "Failed", passing: "Completed"}
    assert "2 jobs watched" in done.stderr
