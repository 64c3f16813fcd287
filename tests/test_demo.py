"""``azjobs demo``: the installed command, end to end, offline (time sped up)."""

from __future__ import annotations

import json

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
    code, out, err = finished(as_json)
    assert code == 0, err
    job = json.loads(out)
    assert job["properties"]["status"] == "Completed"
    assert job["properties"]["entityFriendlyName"] == "demo-vm"
    assert "Backup of demo-vm Completed in" in err
    assert "azjobs emulator" in err and "azjobs watch" in err
    assert "users-own-token" not in out + err

    code, out, err = finished(as_stream)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) >= 2
    assert lines[0]["properties"]["status"] == "InProgress"
    assert lines[-1]["properties"]["status"] == "Completed"
    assert len({line["name"] for line in lines}) == 1


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
