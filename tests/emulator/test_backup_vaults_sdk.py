"""Fidelity check of Backup vaults by the official azure-mgmt-dataprotection SDK, over TLS.

The SDK deserialises every job into its own models, follows nextLink its own way and polls the
ad-hoc backup's long-running operation; all of it must work against the emulator unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.mgmt import dataprotection
from azure.mgmt.dataprotection import models
from sdk_credential import EmulatorCredential

from azbackupjobs.emulator import EmulatorHandle, start_emulator


@pytest.fixture
def tls_emu() -> Iterator[EmulatorHandle]:
    with start_emulator(tls=True, seed=21, page_size=4, speed=1.0) as emu:
        emu.backup_vaults.add_jobs(9, emu.backup_vaults.instances()["demoblobsa"])
        yield emu


@pytest.fixture
def client(tls_emu: EmulatorHandle) -> Iterator[Any]:
    c = dataprotection.DataProtectionMgmtClient(
        EmulatorCredential(tls_emu.token),
        tls_emu.subscription,
        base_url=tls_emu.url,
        credential_scopes=[tls_emu.url + "/.default"],
        connection_verify=tls_emu.ca_bundle,
        retry_total=0,
        polling_interval=0,
    )
    yield c
    c.close()


def test_list_follows_next_link_across_pages(client: Any, tls_emu: EmulatorHandle) -> None:
    tls_emu.clear_request_log()
    jobs = list(client.jobs.list(tls_emu.resource_group, tls_emu.backup_vault))
    assert [j.name for j in jobs] == tls_emu.backup_vaults.job_ids()
    pages = [r for r in tls_emu.request_log if r.path.endswith("/backupJobs")]
    assert len(jobs) > 20 and len(pages) == -(-len(jobs) // 4)
    assert all("api-version=2026-06-01" in r.query for r in pages)
    assert all(isinstance(j, models.AzureBackupJobResource) for j in jobs)
    kinds = {j.properties.data_source_type for j in jobs}
    assert len(kinds) == 7
    assert {j.properties.status for j in jobs} >= {"InProgress", "Completed", "Failed"}


def test_get_every_job(client: Any, tls_emu: EmulatorHandle) -> None:
    for job_id in tls_emu.backup_vaults.job_ids():
        job = client.jobs.get(tls_emu.resource_group, tls_emu.backup_vault, job_id)
        assert job.name == job_id
        props = job.properties
        assert props.vault_name == tls_emu.backup_vault
        assert props.extended_info is not None and props.extended_info.sub_tasks
        if props.status == "Failed":
            assert props.error_details and props.error_details[0].recommended_action
    failed = next(
        j
        for j in tls_emu.backup_vaults.job_ids()
        if tls_emu.backup_vaults.job_body(j)["properties"]["status"] == "Failed"
        and "flexibleServers" in tls_emu.backup_vaults.job_body(j)["properties"]["dataSourceType"]
    )
    job = client.jobs.get(tls_emu.resource_group, tls_emu.backup_vault, failed)
    nested = job.properties.error_details[0].details[0].details[0]
    assert nested.code == "InternalServerError"


def test_adhoc_backup_long_running_operation(client: Any, tls_emu: EmulatorHandle) -> None:
    disk = tls_emu.backup_vaults.instances()["data-disk-01"]
    tls_emu.advance(600)  # past the seed's own backup of the disk (a second one is refused)
    request = models.TriggerBackupRequest(
        backup_rule_options=models.AdHocBackupRuleOptions(
            rule_name="BackupHourly",
            trigger_option=models.AdhocBackupTriggerOption(retention_tag_override="Default"),
        )
    )
    poller = client.backup_instances.begin_adhoc_backup(
        tls_emu.resource_group, tls_emu.backup_vault, disk, request
    )
    tls_emu.advance(5)
    result = poller.result(timeout=30)
    job_id = result.job_id.rsplit("/", 1)[1]
    job = client.jobs.get(tls_emu.resource_group, tls_emu.backup_vault, job_id)
    assert job.properties.backup_instance_friendly_name == "data-disk-01"
    assert job.properties.status == "InProgress"
