"""Jobs of several vaults read as one source: each job from its own vault (``azjobs demo``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azbackupjobs.arm import settings
from azbackupjobs.arm.auth import StaticTokenProvider
from azbackupjobs.arm.client import NO_RETRY, BackupJobsClient
from azbackupjobs.emulator import EmulatorHandle
from azbackupjobs.model.errors import UsageError
from azbackupjobs.sources.backup_vault import BackupVaultSource
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.filters import Window
from azbackupjobs.sources.recovery_services import RecoveryServicesSource
from azbackupjobs.sources.several import SeveralSources
from tests.harness import EmulatorFactory


def emulator_client(emu: EmulatorHandle, vault: str) -> BackupJobsClient:
    ctx = settings.Context(
        subscription=emu.subscription,
        resource_group=emu.resource_group,
        vault=vault,
        cloud=settings.CLOUDS["azurecloud"],
        endpoint=emu.url,
        api_version="2026-10-01",
    )
    return BackupJobsClient(ctx, StaticTokenProvider(emu.token), retry=NO_RETRY)


def test_each_job_is_read_from_its_own_vault(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(seed=3)
    vm_job = emu.add_job(entity="vm-a", tasks=[("Take Snapshot", 600)])
    disk = emu.backup_vaults.instances()["data-disk-01"]
    disk_job = emu.backup_vaults.add_job(disk)
    rs_client = emulator_client(emu, emu.vault)
    bv_client = emulator_client(emu, emu.backup_vault)
    rs, bv = RecoveryServicesSource(rs_client), BackupVaultSource(bv_client)
    both = SeveralSources([(rs, [vm_job]), (bv, [disk_job.upper()])])
    assert both.spans_vaults and not both.can_cancel
    assert both.name == f"vault {emu.vault} and Backup vault {emu.backup_vault}"

    vm = both.get_job(vm_job)
    disk_raw = both.get_job(disk_job)
    assert vm["type"] == "Microsoft.RecoveryServices/vaults/backupJobs"
    assert disk_raw["type"] == "Microsoft.DataProtection/backupVaults/backupJobs"
    assert both.job_url(disk_job) == bv.job_url(disk_job)
    assert both.tasks(vm) == rs.tasks(vm) != []
    assert both.tasks(disk_raw) == bv.tasks(disk_raw)
    assert both.parse(disk_raw).job_id == disk_job
    assert both.ref_of(vm) == vm_job

    now = datetime.now(UTC).replace(microsecond=0)
    window = Window(now - timedelta(days=2), now + timedelta(days=1))
    with both.time_limit(30):
        listed = list(both.jobs(JobQuery(window, statuses=("InProgress",))))
    names = [raw["name"] for raw in listed]
    assert vm_job in names and disk_job in names
    starts = [both.parse(raw).start_time or now for raw in listed]
    assert starts == sorted(starts, reverse=True)  # merged newest first

    sent = len(emu.request_log)
    with pytest.raises(UsageError, match="not one of the jobs"):
        both.fetch_job("00000000-0000-0000-0000-000000000001")
    with pytest.raises(UsageError, match="no cancel"):
        both.cancel(disk_job)
    assert len(emu.request_log) == sent  # refused before any request
    with pytest.raises(ValueError):
        SeveralSources([])
