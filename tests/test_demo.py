"""``azjobs demo``: the installed command, end to end, offline (time sped up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from azbackupjobs.commands.demo import next_steps, parse_speed
from azbackupjobs.model.errors import UsageError

AZJOBS = str(Path(sys.executable).with_name("azjobs"))


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZJOBS_", "AZURE_"))}
    # A user's own settings must not leak into the demo: it brings its own vault and token.
    env.update(
        {
            "AZJOBS_ENDPOINT": "https://management.azure.com",
            "AZJOBS_VAULT": "mine",
            "AZJOBS_ACCESS_TOKEN": "users-own-token",
            "AZJOBS_OUTPUT": "tsv",
        }
    )
    return subprocess.Popen(
        [AZJOBS, "demo", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


@pytest.mark.e2e
def test_demo_runs_offline_and_says_what_next() -> None:
    as_json = spawn("--speed", "2000", "-o", "json")
    as_stream = spawn("--speed", "500", "-o", "ndjson")
    out, err = as_json.communicate(timeout=60)
    assert as_json.returncode == 0, err
    job = json.loads(out)
    assert job["properties"]["status"] == "Completed"
    assert job["properties"]["entityFriendlyName"] == "demo-vm"
    assert "Backup of demo-vm Completed in" in err
    assert "azjobs emulator" in err and "azjobs watch" in err
    assert "users-own-token" not in out + err

    out, err = as_stream.communicate(timeout=60)
    assert as_stream.returncode == 0, err
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
    done = subprocess.run(
        [AZJOBS, "demo", "--speed", "0"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2 and done.stdout == ""
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
