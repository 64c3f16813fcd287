"""End to end: the installed ``azjobs`` against the emulator's Backup vault (``demo-bvault``).

The seed vault holds jobs of seven datasource types: four running, two failed (a PostgreSQL
flexible server backup at -2 h whose ``supportedActions`` says Cancellable, a disk restore at
-14 h), the rest completed, and one disk backup 30 hours old (outside the default window).
"""

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
BVAULT = "demo-bvault"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=5, page_size=3, speed=1.0) as handle:
        yield handle


def azjobs(
    emu: EmulatorHandle, *args: str, vault: str = BVAULT, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZJOBS_", "AZURE_"))}
    env.update(emu.env())
    if vault:
        env["AZJOBS_VAULT"] = vault
    else:  # --fleet takes no vault
        env.pop("AZJOBS_VAULT", None)
        env.pop("AZJOBS_RESOURCE_GROUP", None)
    env.update(extra)
    return subprocess.run(
        [AZJOBS, *args], capture_output=True, text=True, env=env, timeout=90, check=False
    )


def job_id_of(emu: EmulatorHandle, predicate: str) -> str:
    """The id of the first seed job whose list resource has ``properties`` matching."""
    for job_id in emu.backup_vaults.job_ids():
        props = emu.backup_vaults.job_body(job_id, shape="list")["properties"]
        if eval(predicate, {}, {"p": props}):  # noqa: S307 - test-local expressions
            return job_id
    raise AssertionError(f"no seed job where {predicate}")


def full_id(emu: EmulatorHandle, job_id: str) -> str:
    return str(emu.backup_vaults.job_body(job_id)["id"])


def bv_list_requests(emu: EmulatorHandle) -> list[str]:
    return [
        r.path
        for r in emu.request_log
        if "backupvaults" in r.path.lower() and r.path.lower().endswith("/backupjobs")
    ]


def test_get_json_is_the_resource_byte_for_byte(emu: EmulatorHandle) -> None:
    job_id = job_id_of(emu, "p['status'] == 'Failed' and p['operation'] == 'Backup'")
    emu.clear_request_log()
    done = azjobs(emu, "get", full_id(emu, job_id).upper().replace("BACKUPJOBS", "backupJobs"))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body == emu.backup_vaults.job_body(job_id)
    # The id named the kind: no look at the vault resource, only the job GET.
    paths = [r.path.lower() for r in emu.request_log]
    assert len(paths) == 1 and paths[0].endswith(f"/backupjobs/{job_id}")
    assert "api-version=2026-06-01" in emu.request_log[0].query


def test_get_by_guid_looks_the_kind_up_once_and_remembers_it(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    job_id = emu.backup_vaults.job_ids()[0]
    cache = {"XDG_CACHE_HOME": str(tmp_path)}
    emu.clear_request_log()
    first = azjobs(emu, "get", job_id, "-o", "json", **cache)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["name"] == job_id
    vault_gets = sorted(
        r.path.lower().split("/providers/")[1]
        for r in emu.request_log
        if r.path.lower().endswith(f"/{BVAULT}")
    )
    # Both kinds asked once: a 404 as a Recovery Services vault, a 200 as a Backup vault.
    assert vault_gets == [
        f"microsoft.dataprotection/backupvaults/{BVAULT}",
        f"microsoft.recoveryservices/vaults/{BVAULT}",
    ]
    emu.clear_request_log()
    again = azjobs(emu, "get", job_id, "-o", "json", **cache)
    assert again.returncode == 0, again.stderr
    assert len(emu.request_log) == 1  # the kind came from the cache


def test_vault_type_flag_skips_the_look(emu: EmulatorHandle, tmp_path: Path) -> None:
    job_id = emu.backup_vaults.job_ids()[0]
    emu.clear_request_log()
    done = azjobs(
        emu, "get", job_id, "--vault-type", "backup", "-o", "json", XDG_CACHE_HOME=str(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    assert len(emu.request_log) == 1


def test_list_tasks_gives_the_subtasks_as_returned(emu: EmulatorHandle) -> None:
    job_id = emu.backup_vaults.job_ids()[0]
    done = azjobs(emu, "list-tasks", job_id, "--vault-type", "backup", "-o", "json")
    assert done.returncode == 0, done.stderr
    expected = emu.backup_vaults.job_body(job_id)["properties"]["extendedInfo"]["subTasks"]
    assert json.loads(done.stdout) == expected


@pytest.mark.parametrize("fmt", ["table", "tsv", "ndjson"])
def test_get_in_every_format(emu: EmulatorHandle, fmt: str) -> None:
    job_id = emu.backup_vaults.job_ids()[0]
    done = azjobs(emu, "get", job_id, "--vault-type", "backup", "-o", fmt)
    assert done.returncode == 0, done.stderr
    assert job_id in done.stdout


def test_list_filters_on_the_client(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "list", "--vault-type", "backup", "--status", "Failed", "-o", "json")
    assert done.returncode == 0, done.stderr
    jobs = json.loads(done.stdout)
    assert {j["properties"]["status"] for j in jobs} == {"Failed"}
    assert len(jobs) == 2
    # No $filter is sent: the service has none.
    assert all("$filter" not in r.query for r in emu.request_log)


def test_list_status_words_are_normalized(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "list", "--vault-type", "backup", "--status", "InProgress", "-o", "json")
    assert done.returncode == 0, done.stderr
    words = {j["properties"]["status"] for j in json.loads(done.stdout)}
    assert "Started" in words  # the spec's word for running counts as InProgress
    assert words <= {"InProgress", "Started"}


@pytest.mark.parametrize(
    ("value", "types"),
    [
        ("disk", {"Microsoft.Compute/disks"}),
        ("Microsoft.Compute/disks", {"Microsoft.Compute/disks"}),
        (
            "postgresql",
            {
                "Microsoft.DBforPostgreSQL/flexibleServers",
                "Microsoft.DBforPostgreSQL/servers/databases",
            },
        ),
        ("aks", {"Microsoft.ContainerService/managedClusters"}),
    ],
)
def test_list_type_takes_short_and_full_datasource_types(
    emu: EmulatorHandle, value: str, types: set[str]
) -> None:
    done = azjobs(emu, "list", "--vault-type", "backup", "--type", value, "-o", "json")
    assert done.returncode == 0, done.stderr
    found = {j["properties"]["dataSourceType"] for j in json.loads(done.stdout)}
    assert {t.lower() for t in found} == {t.lower() for t in types}


def test_list_default_window_leaves_out_the_old_job_and_since_brings_it(
    emu: EmulatorHandle,
) -> None:
    day = json.loads(azjobs(emu, "list", "--vault-type", "backup", "-o", "json").stdout)
    two = json.loads(
        azjobs(emu, "list", "--vault-type", "backup", "--since", "2d", "-o", "json").stdout
    )
    assert len(two) == len(day) + 1
    starts = [j["properties"]["startTime"] for j in two]
    assert starts == sorted(starts, reverse=True)


def test_list_limit_stops_paging_early(emu: EmulatorHandle) -> None:
    emu.clear_request_log()
    done = azjobs(emu, "list", "--vault-type", "backup", "--limit", "2", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2
    assert len(bv_list_requests(emu)) == 1  # pages of three: the first one had enough
    emu.clear_request_log()
    everything = azjobs(emu, "list", "--vault-type", "backup", "--since", "7d", "-o", "json")
    assert len(json.loads(everything.stdout)) == len(emu.backup_vaults.job_ids())
    assert len(bv_list_requests(emu)) >= 4


def test_list_rejects_a_recovery_services_type_for_a_backup_vault(emu: EmulatorHandle) -> None:
    emu.clear_request_log()
    done = azjobs(emu, "list", "--vault-type", "backup", "--type", "AzureIaasVM")
    assert done.returncode == 2
    assert "Backup vault" in done.stderr and "Traceback" not in done.stderr
    assert not emu.request_log


def test_cancel_is_refused_before_any_request(emu: EmulatorHandle) -> None:
    job_id = job_id_of(emu, "p['supportedActions'] == ['Cancellable']")
    emu.clear_request_log()
    done = azjobs(emu, "cancel", full_id(emu, job_id), "--yes")
    assert done.returncode == 2
    assert "Backup vaults have no cancel" in done.stderr
    assert not emu.request_log
    by_flag = azjobs(emu, "cancel", job_id, "--vault-type", "backup", "--yes")
    assert by_flag.returncode == 2
    assert "no cancel" in by_flag.stderr
    assert not [r for r in emu.request_log if r.method == "POST"]


def test_watch_a_failed_job_exits_6(emu: EmulatorHandle) -> None:
    job_id = job_id_of(emu, "p['status'] == 'Failed'")
    done = azjobs(emu, "watch", full_id(emu, job_id), "--interval", "1", "-o", "json")
    assert done.returncode == 6, done.stderr
    assert json.loads(done.stdout)["name"] == job_id


@pytest.mark.parametrize(
    "where",
    [
        "resourceGroups/demo-rg/providers/Microsoft.DataProtection/backupVaults/demo-bvault/"
        "operationStatus",
        "providers/Microsoft.DataProtection/locations/{region}/operationStatus",
        "providers/Microsoft.DataProtection/locations/{region}/operationResults",
    ],
    ids=["vault-status", "region-status", "region-results"],
)
def test_watch_operation_of_a_trigger(where: str) -> None:
    """Each URL a trigger hands out resolves to the job (``jobId`` is a full ARM id), and the
    job is then watched to its end."""
    with start_emulator(seed=7) as emu:
        instance = emu.backup_vaults.instances()["data-disk-01"]
        emu.advance(600)  # past the seed's own backup of the disk (a second one is refused)
        op_id, job_id = emu.backup_vaults.trigger_backup(instance, "BackupHourly")
        emu.advance(3600)  # the operation and its job are done
        env = emu.env()
        region = emu.backup_vaults.job_body(job_id)["properties"]["dataSourceLocation"]
        url = (
            f"{env['AZJOBS_ENDPOINT']}/subscriptions/{env['AZURE_SUBSCRIPTION_ID']}/"
            f"{where.format(region=region)}/{op_id}?api-version=2026-06-01"
        )
        done = azjobs(
            emu, "watch", "--operation", url, "--interval", "1", "--timeout", "60", "-o", "json"
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["name"] == job_id


def test_watch_all_follows_the_running_jobs(emu: EmulatorHandle) -> None:
    done = azjobs(
        emu, "watch", "--all", "--vault-type", "backup", "--interval", "1", "--timeout", "2",
        "-o", "json",
    )  # fmt: skip
    # Seed jobs run for minutes: the timeout comes first, after all of them were found.
    assert done.returncode == 5, done.stderr
    assert "no job is in progress" not in done.stderr


def test_list_fleet_covers_both_kinds_and_vault_type_narrows(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "list", "--fleet", "--since", "7d", "-o", "json", vault="")
    assert done.returncode == 0, done.stderr
    types = {j["type"] for j in json.loads(done.stdout)}
    assert types == {
        "Microsoft.RecoveryServices/vaults/backupJobs",
        "Microsoft.DataProtection/backupVaults/backupJobs",
    }
    narrowed = azjobs(
        emu, "list", "--fleet", "--since", "7d", "--vault-type", "backup", "-o", "json", vault=""
    )
    assert narrowed.returncode == 0, narrowed.stderr
    jobs = json.loads(narrowed.stdout)
    assert {j["type"] for j in jobs} == {"Microsoft.DataProtection/backupVaults/backupJobs"}
    assert len(jobs) == len(emu.backup_vaults.job_ids())
    disks = azjobs(emu, "list", "--fleet", "--type", "disk", "-o", "json", vault="")
    assert {j["properties"]["dataSourceType"] for j in json.loads(disks.stdout)} == {
        "Microsoft.Compute/disks"
    }


def test_list_fleet_table_names_backup_vault_jobs(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "list", "--fleet", "--vault-type", "backup", "-o", "tsv", vault="")
    assert done.returncode == 0, done.stderr
    assert "Microsoft.Compute/disks" in done.stdout or "Azure Disk" in done.stdout
