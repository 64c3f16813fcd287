"""End to end: the installed ``azjobs cancel`` against the in-process emulator."""

from __future__ import annotations

import json

import pytest

from azbackupjobs.emulator import EmulatorHandle
from tests.harness import EmulatorFactory, run_cli_process

pytestmark = pytest.mark.e2e

# Emulated seconds per real second: the service's 60 s Retry-After and the 30 s the cancel
# takes become a fraction of a second.
SPEED = 120.0


@pytest.fixture
def emu(emulator_factory: EmulatorFactory) -> EmulatorHandle:
    return emulator_factory(seed=5, seed_data=False, speed=SPEED)


def long_backup(emu: EmulatorHandle) -> str:
    return emu.add_job(
        entity="vm1",
        start_offset=-60,
        tasks=[("Take Snapshot", 3600.0), ("Transfer data to vault", 3600.0)],
    )


def test_cancel_yes_wait_ends_with_exit_7(emu: EmulatorHandle) -> None:
    job_id = long_backup(emu)
    done = run_cli_process(
        "cancel", job_id, "--yes", "--wait", "--interval", "1", "-o", "json", env=emu.env()
    )
    assert done.exit_code == 7, done.stderr
    final = json.loads(done.stdout)
    assert final["name"] == job_id
    props = final["properties"]
    assert props["status"] == "Cancelled" or (
        props["status"] == "CompletedWithWarnings"
        and props["errorDetails"][0]["errorCode"] == 400158
    )
    methods = [(r.method, r.path.rsplit("/", 2)[-2:]) for r in emu.request_log]
    assert ("POST", [job_id, "cancel"]) in methods
    assert any(r.method == "GET" and "/operationResults/" in r.path for r in emu.request_log)


def test_cancel_without_wait_prints_the_cancelling_job(emu: EmulatorHandle) -> None:
    job_id = long_backup(emu)
    done = run_cli_process(
        "cancel", job_id, "--yes", "--query", "properties.status", "-o", "tsv", env=emu.env()
    )
    assert done.exit_code == 0, done.stderr
    assert done.stdout in {"Cancelling\n", "Cancelled\n"}
    assert "accepted the cancellation" in done.stderr


def test_refusals(emu: EmulatorHandle) -> None:
    job_id = long_backup(emu)
    piped = run_cli_process("cancel", job_id, stdin="y\n", env=emu.env())  # no terminal, no --yes
    assert piped.exit_code == 2 and piped.stdout == ""
    assert "--yes" in piped.stderr
    assert emu.request_log == []

    finished = emu.add_job(entity="vm2", start_offset=-7200, duration=600)
    done = run_cli_process("cancel", finished, "--yes", env=emu.env())
    assert done.exit_code == 1 and done.stdout == ""
    assert "is not running (it is Completed); nothing sent" in done.stderr
    assert all(r.method == "GET" for r in emu.request_log)
