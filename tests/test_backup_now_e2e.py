"""End to end: the installed ``azjobs backup-now`` against the in-process emulator, which checks
each trigger body against the item and refuses a backup of an item whose backup runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from azbackupjobs.emulator import EmulatorHandle, start_emulator

pytestmark = pytest.mark.e2e

AZJOBS = str(Path(sys.executable).with_name("azjobs"))
# Emulated seconds per real second: the service's Retry-After and the 23-minute VM backup
# become seconds.
SPEED = 600.0


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=5, seed_data=True, speed=SPEED) as handle:
        yield handle


def azjobs(emu: EmulatorHandle, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZJOBS_", "AZURE_"))}
    env.update(emu.env())
    return subprocess.run(
        [AZJOBS, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def posts(emu: EmulatorHandle) -> list[str]:
    return [r.path for r in emu.request_log if r.method == "POST"]


def test_query_name_tsv_gives_the_job_that_get_reads(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "backup-now", "DEMO-VM", "--query", "name", "-o", "tsv")
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    got = azjobs(emu, "get", job_id, "-o", "json")
    assert got.returncode == 0, got.stderr
    props = json.loads(got.stdout)["properties"]
    assert props["entityFriendlyName"] == "demo-vm" and props["operation"] == "Backup"
    assert len(posts(emu)) == 1 and posts(emu)[0].endswith("/backup")


def test_watch_follows_the_job_to_exit_0(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "backup-now", "web-02", "--watch", "--interval", "1", "-o", "ndjson")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["properties"]["status"] == "InProgress"
    assert lines[-1]["properties"]["status"] == "Completed"
    assert {line["name"] for line in lines} == {lines[0]["name"]}


def test_watch_timeout_is_exit_5(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "backup-now", "test-vm", "--watch", "--interval", "1", "--timeout", "1")
    assert done.returncode == 5, done.stderr


def test_a_running_backup_is_refused_exit_1_in_one_line(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "backup-now", "web-01")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "UserErrorBackupOperationInProgress" in done.stderr
    assert "wait until the previous operation is completed" in done.stderr


def test_workload_and_share_bodies_pass_the_service_checks(emu: EmulatorHandle) -> None:
    sql = azjobs(
        emu, "backup-now", "salesdb", "--backup-type", "copyonlyfull", "--retain-days", "7",
        "--query", "properties.operation", "-o", "tsv",
    )  # fmt: skip
    assert (sql.returncode, sql.stdout) == (0, "Backup (Copy Only Full)\n"), sql.stderr
    hana = azjobs(emu, "backup-now", "systemdb", "--item-type", "hana", "--backup-type", "Log",
                  "--query", "properties.operation", "-o", "tsv")  # fmt: skip
    assert (hana.returncode, hana.stdout) == (0, "Backup (Log)\n"), hana.stderr
    share = azjobs(emu, "backup-now", "finance-share", "--retain-until", "2099-01-31", "-o", "json")
    assert share.returncode == 0, share.stderr
    assert json.loads(share.stdout)["properties"]["jobType"] == "AzureStorageJob"


def test_unknown_and_refused_locally_send_no_post(emu: EmulatorHandle) -> None:
    missing = azjobs(emu, "backup-now", "no-such-vm")
    assert missing.returncode == 3, missing.stderr
    bad = azjobs(emu, "backup-now", "demo-vm", "--backup-type", "Full")
    assert bad.returncode == 2 and "nothing sent" in bad.stderr
    past = azjobs(emu, "backup-now", "demo-vm", "--retain-until", "2001-01-01")
    assert past.returncode == 2
    assert posts(emu) == []


# ----- Backup vault instances --------------------------------------------------------------------
def test_a_backup_vault_instance_by_name_gives_the_job_that_get_reads(emu: EmulatorHandle) -> None:
    # (The seed's own disk backup runs in the first moments: another instance.)
    done = azjobs(emu, "backup-now", "DEMOBLOBSA", "-v", "demo-bvault", "--query", "name",
                  "-o", "tsv")  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = azjobs(emu, "get", done.stdout.strip(), "-v", "demo-bvault", "-o", "json")
    assert got.returncode == 0, got.stderr
    props = json.loads(got.stdout)["properties"]
    assert props["backupInstanceFriendlyName"] == "demoblobsa"
    assert props["operationCategory"] == "Backup" and props["isUserTriggered"] is True
    assert props["extendedInfo"]["additionalDetails"] == {"RetentionTag": "Default"}
    assert len(posts(emu)) == 1 and posts(emu)[0].endswith("/backup")


def test_a_backup_vault_watch_with_a_retention_tag_ends_exit_0(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "backup-now", "pgflex-orders", "-v", "demo-bvault", "--retention-tag",
                  "weekly", "--watch", "--interval", "1", "-o", "ndjson")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[-1]["properties"]["status"] == "Completed"
    assert lines[-1]["properties"]["extendedInfo"]["additionalDetails"]["RetentionTag"] == "Weekly"
    assert {line["name"] for line in lines} == {lines[0]["name"]}


def test_a_backup_vault_instance_by_full_id_names_the_vault(emu: EmulatorHandle) -> None:
    sub = emu.env()["AZURE_SUBSCRIPTION_ID"]
    disk_id = (
        f"/SUBSCRIPTIONS/{sub}/resourcegroups/demo-rg/providers/microsoft.dataprotection"
        f"/BackupVaults/demo-bvault/backupInstances/{emu.backup_vaults.instances()['mysql-shop']}"
    )
    done = azjobs(emu, "backup-now", disk_id, "-v", "no-such-vault", "--query",
                  "properties.backupInstanceId", "-o", "tsv")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().lower() == disk_id.lower()


def test_backup_vault_refusals_before_any_post(emu: EmulatorHandle) -> None:
    tag = azjobs(emu, "backup-now", "data-disk-01", "-v", "demo-bvault", "--retention-tag", "x")
    assert tag.returncode == 2 and "tags with Default" in tag.stderr, tag.stderr
    rule = azjobs(emu, "backup-now", "data-disk-01", "-v", "demo-bvault", "--rule", "Hourly")
    assert rule.returncode == 2 and "its backup rules:" in rule.stderr, rule.stderr
    flags = azjobs(emu, "backup-now", "data-disk-01", "-v", "demo-bvault", "--retain-days", "7")
    assert flags.returncode == 2 and "demo-bvault is a Backup vault" in flags.stderr
    other = azjobs(emu, "backup-now", "demo-vm", "--rule", "BackupWeekly")
    assert other.returncode == 2 and "demo-vault is a Recovery Services vault" in other.stderr
    missing = azjobs(emu, "backup-now", "no-such-disk", "-v", "demo-bvault")
    assert missing.returncode == 3, missing.stderr
    for done in (tag, rule, flags, other, missing):
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert posts(emu) == []


def test_a_backup_vault_backup_already_running_is_refused_in_one_line() -> None:
    # Slow enough that the first backup still runs when the second is asked for.
    with start_emulator(seed=5, seed_data=True, speed=10.0) as slow:
        # The first instance whose backup is not running already (the seed runs some).
        for first in slow.backup_vaults.instances():
            started = azjobs(slow, "backup-now", first, "-v", "demo-bvault", "--timeout", "60")
            if started.returncode == 0:
                break
            assert "UserErrorBackupOperationInProgress" in started.stderr, started.stderr
        assert started.returncode == 0, started.stderr
        again = azjobs(slow, "backup-now", first, "-v", "demo-bvault")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.count("\n") == 1, again.stderr
    assert "UserErrorBackupOperationInProgress" in again.stderr
    assert "recommended: Wait for the backup in progress to complete" in again.stderr
