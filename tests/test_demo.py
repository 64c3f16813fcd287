"""``azjobs demo``: the installed command, end to end, offline (time sped up)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from azbackupjobs.commands.demo import next_steps, parse_speed
from azbackupjobs.model.errors import UsageError
from tests.harness import finished, run_cli_process, spawn_cli

# A user's own settings must not leak into the demo: it brings its own vault and token.
USERS_OWN = {
    "AZJOBS_ENDPOINT": "https://management.azure.com",
    "AZJOBS_VAULT": "mine",
    "AZJOBS_ACCESS_TOKEN": "users-own-token",
    "AZJOBS_OUTPUT": "tsv",
}


@pytest.mark.e2e
def test_demo_runs_offline_and_says_what_next() -> None:
    as_json = spawn_cli("demo", "--speed", "2000", "-o", "json", env=USERS_OWN)
    as_stream = spawn_cli("demo", "--speed", "500", "-o", "ndjson", env=USERS_OWN)
    as_lines = spawn_cli("demo", "--speed", "2000", "-o", "table", env=USERS_OWN)
    code, out, err = finished(as_json)
    assert code == 0, err
    vm_job, disk_job = json.loads(out)  # one job per kind of vault, in one watch
    assert vm_job["type"] == "Microsoft.RecoveryServices/vaults/backupJobs"
    assert vm_job["properties"]["status"] == "Completed"
    assert vm_job["properties"]["entityFriendlyName"] == "demo-vm"
    assert disk_job["type"] == "Microsoft.DataProtection/backupVaults/backupJobs"
    assert "/backupVaults/demo-bvault/" in disk_job["id"]
    assert disk_job["properties"]["status"] == "Completed"
    assert disk_job["properties"]["dataSourceName"] == "demo-disk"
    assert disk_job["properties"]["isUserTriggered"] is True
    assert "2 jobs: 2 Completed" in err
    assert "POST .../backupInstances/.../backup -> 202" in err
    assert "azjobs emulator" in err and "azjobs watch" in err
    assert "users-own-token" not in out + err

    code, out, err = finished(as_stream)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    by_job: dict[str, list[str]] = {}
    for line in lines:
        by_job.setdefault(line["name"], []).append(line["properties"]["status"])
    assert sorted({line["type"] for line in lines}) == [
        "Microsoft.DataProtection/backupVaults/backupJobs",
        "Microsoft.RecoveryServices/vaults/backupJobs",
    ]
    vm_statuses = by_job[vm_job_name(lines)]
    assert len(vm_statuses) >= 2
    assert vm_statuses[0] == "InProgress" and vm_statuses[-1] == "Completed"
    assert len(by_job) == 2 and all(s[-1] == "Completed" for s in by_job.values())

    code, out, err = finished(as_lines)
    assert code == 0, err
    assert re.search(r"Backup of demo-vm \[\w+\]: Completed in", out)
    assert re.search(r"Backup of demo-disk \[\w+\]: Completed in", out)


def vm_job_name(lines: list[dict[str, Any]]) -> str:
    return next(
        str(line["name"])
        for line in lines
        if line["type"] == "Microsoft.RecoveryServices/vaults/backupJobs"
    )


def test_bad_speed_is_a_usage_error() -> None:
    for bad in ("0", "-1", "nan", "inf", "fast", "1e9"):
        with pytest.raises(UsageError):
            parse_speed(bad)
    assert parse_speed("60") == 60.0
    done = run_cli_process("demo", "--speed", "0", timeout=30)
    assert done.exit_code == 2 and done.stdout == ""
    assert "--speed" in done.stderr and "Traceback" not in done.stderr


def test_next_steps_name_the_emulator_and_its_environment() -> None:
    text = next_steps()
    assert "azjobs emulator" in text
    for name in (
        "AZJOBS_ENDPOINT",
        "AZJOBS_ACCESS_TOKEN",
        "AZURE_SUBSCRIPTION_ID",
        "AZJOBS_RESOURCE_GROUP",
        "AZJOBS_VAULT",
    ):
        assert name in text
