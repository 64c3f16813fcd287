"""End to end: the installed ``azjobs`` reads the emulator's cross-region restore jobs.

The seed vaults (``demo-vault``, ``demo-bvault``) are in westeurope, whose pair in ARM's
locations list is northeurope. Each holds cross-region restores that run there: one running,
one completed, one failed. The emulator runs 300 emulated seconds per real second, so the
running restores end within seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from azbackupjobs.emulator import EmulatorHandle, start_emulator
from azbackupjobs.model.errors import ExitCode
from tests.harness import EmulatorFactory, run_cli_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=11, speed=300.0) as handle:
        yield handle


def azjobs(emu: EmulatorHandle, *args: str, backup: bool = False) -> Any:
    env: dict[str, str | None] = {**emu.env()}
    if backup:
        env.update({"AZJOBS_VAULT": emu.backup_vault, "AZJOBS_VAULT_TYPE": "backup"})
    return run_cli_process(*args, env=env, timeout=90)


def crr_requests(emu: EmulatorHandle) -> list[tuple[str, str]]:
    return [(r.method, r.path.rsplit("/", 1)[-1]) for r in emu.request_log]


@pytest.mark.parametrize("backup", [False, True], ids=["recovery-services", "backup-vault"])
def test_list_get_and_tasks_in_the_secondary_region(emu: EmulatorHandle, backup: bool) -> None:
    emu.clear_request_log()
    listed = azjobs(emu, "list", "--secondary-region", "-o", "json", backup=backup)
    assert listed.exit_code == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert {j["name"] for j in jobs} <= set(emu.crr_job_ids(backup_vault=backup))
    assert {j["properties"]["status"] for j in jobs} >= {"Completed", "Failed"}
    # The vault's location, ARM's pairs, then the region's list (a POST).
    sent = crr_requests(emu)
    assert sent[-2][1] == "locations" and sent[-1][0] == "POST"
    assert "northeurope" in emu.request_log[-1].path

    emu.clear_request_log()
    failed = next(j for j in jobs if j["properties"]["status"] == "Failed")
    # A Recovery Services CRR job's id names its region, and implies --secondary-region; a
    # Backup vault's names the vault, as its own jobs' ids do, so the flag says where.
    flag = ("--secondary-region",) if backup else ()
    shown = azjobs(emu, "get", failed["id"], *flag, "-o", "json", backup=backup)
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["name"] == failed["name"]
    # Remembered, or named by the id: no look-up again, one POST.
    assert [m for m, _ in crr_requests(emu)] == ["POST"]

    table = azjobs(emu, "get", failed["name"], "--secondary-region", "-o", "table", backup=backup)
    assert table.exit_code == 0, table.stderr
    assert "Failed" in table.stdout
    tasks = azjobs(emu, "list-tasks", failed["name"], "--secondary-region", backup=backup)
    assert tasks.exit_code == 0, tasks.stderr
    assert isinstance(json.loads(tasks.stdout), list)


@pytest.mark.parametrize("backup", [False, True], ids=["recovery-services", "backup-vault"])
def test_watch_a_failed_crr_job_exits_6(emu: EmulatorHandle, backup: bool) -> None:
    listed = azjobs(emu, "list", "--secondary-region", "--status", "Failed", backup=backup)
    (failed,) = json.loads(listed.stdout)
    done = azjobs(emu, "watch", failed["name"], "--secondary-region", "-o", "json", backup=backup)
    assert done.exit_code == ExitCode.JOB_FAILED, done.stderr
    assert json.loads(done.stdout)["properties"]["status"] == "Failed"


@pytest.mark.parametrize(
    ("backup", "speed"),
    # The running restores have 35 (Recovery Services) and 2 (Backup vault) minutes to go.
    [(False, 300.0), (True, 30.0)],
    ids=["recovery-services", "backup-vault"],
)
def test_watch_a_running_crr_restore_to_its_end(
    emulator_factory: EmulatorFactory, backup: bool, speed: float
) -> None:
    emu = emulator_factory(seed=11, speed=speed)
    listed = azjobs(emu, "list", "--secondary-region", "--status", "InProgress", backup=backup)
    assert listed.exit_code == 0, listed.stderr
    running = json.loads(listed.stdout)
    assert running, "the seed has a running cross-region restore"
    done = azjobs(
        emu,
        "watch",
        running[0]["id"],
        *(("--secondary-region",) if backup else ()),
        "--interval",
        "1",
        "--timeout",
        "60",
        "-o",
        "ndjson",
        backup=backup,
    )
    assert done.exit_code == 0, done.stderr
    statuses = [json.loads(line)["properties"]["status"] for line in done.stdout.splitlines()]
    assert statuses[0] == "InProgress" and statuses[-1] == "Completed"


def test_watch_all_in_the_secondary_region(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "watch", "--all", "--secondary-region", "--interval", "1", "--timeout", "60")
    assert done.exit_code == 0, done.stderr
    assert isinstance(json.loads(done.stdout), list)


def test_cancel_refuses_a_crr_job_before_any_request(emu: EmulatorHandle) -> None:
    job_id = (
        f"/subscriptions/{emu.subscription}/providers/Microsoft.RecoveryServices/locations/"
        f"northeurope/backupJobs/{emu.crr_job_ids()[0]}"
    )
    emu.clear_request_log()
    done = azjobs(emu, "cancel", job_id, "--yes")
    assert done.exit_code == ExitCode.USAGE
    done.one_error_line("cross-region restore")
    assert emu.request_log == []


def test_a_backup_vault_crr_job_id_without_the_flag_says_where_to_look(emu: EmulatorHandle) -> None:
    """Its id names the vault, which does not know the job: exit 3, and the hint."""
    listed = azjobs(emu, "list", "--secondary-region", "-o", "json", backup=True)
    assert listed.exit_code == 0, listed.stderr
    job_id = json.loads(listed.stdout)[0]["id"]
    missing = azjobs(emu, "get", job_id, "-o", "json", backup=True)
    assert missing.exit_code == ExitCode.NOT_FOUND and missing.stdout == ""
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "add --secondary-region" in missing.stderr
