"""Fidelity check by a client nobody here wrote: the official Python SDK, over TLS.

azure-mgmt-recoveryservicesbackup refuses bearer tokens over http, follows nextLink its own way
(re-encoding the query and overwriting api-version) and deserialises every job type into its
own model classes; all of that must work against the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import azure.mgmt.recoveryservicesbackup as sdk
import pytest
from azure.mgmt.recoveryservicesbackup import models
from sdk_credential import EmulatorCredential

from azbackupjobs.emulator import DEMO_VM, EmulatorHandle, start_emulator
from azbackupjobs.emulator.handle import container_name, protected_item_name


@pytest.fixture
def tls_emu() -> Iterator[EmulatorHandle]:
    with start_emulator(tls=True, seed=21, page_size=5, speed=1.0) as emu:
        yield emu


@pytest.fixture
def client(tls_emu: EmulatorHandle) -> Iterator[Any]:
    c = sdk.RecoveryServicesBackupClient(
        EmulatorCredential(tls_emu.token),
        tls_emu.subscription,
        base_url=tls_emu.url,
        credential_scopes=[tls_emu.url + "/.default"],
        connection_verify=tls_emu.ca_bundle,
        retry_total=0,
    )
    yield c
    c.close()


def headers_of(pipeline_response: Any, deserialized: Any, headers: Any) -> dict[str, str]:
    return dict(pipeline_response.http_response.headers)


def test_list_with_paging_and_every_job_type(client: Any, tls_emu: EmulatorHandle) -> None:
    tls_emu.clear_request_log()
    jobs = list(client.backup_jobs.list(tls_emu.vault, tls_emu.resource_group))
    assert [j.name for j in jobs] == tls_emu.job_ids()
    pages = [r for r in tls_emu.request_log if r.path.endswith("/backupJobs")]
    assert len(pages) == -(-len(jobs) // 5)  # ceil: every page followed through nextLink
    assert all("api-version=2026-10-01" in r.query for r in pages)
    kinds = {type(j.properties).__name__ for j in jobs}
    assert kinds == {
        "AzureIaaSVMJob",
        "AzureIaaSVMJobV2",
        "AzureStorageJob",
        "AzureWorkloadJob",
        "MabJob",
        "DpmJob",
        "VaultJob",
    }


def test_list_with_filter(client: Any, tls_emu: EmulatorHandle) -> None:
    jobs = list(
        client.backup_jobs.list(tls_emu.vault, tls_emu.resource_group, filter="status eq 'Failed'")
    )
    assert jobs and {j.properties.status for j in jobs} == {"Failed"}


def test_job_details_for_every_job(client: Any, tls_emu: EmulatorHandle) -> None:
    for job_id in tls_emu.job_ids():
        job = client.job_details.get(tls_emu.vault, tls_emu.resource_group, job_id)
        assert job.name == job_id
        assert job.properties.extended_info is not None
        assert job.properties.status in (
            "InProgress",
            "Completed",
            "Failed",
            "CompletedWithWarnings",
            "Cancelling",
            "Cancelled",
        )
        if isinstance(job.properties, models.AzureIaaSVMJob) and job.properties.error_details:
            assert isinstance(job.properties.error_details[0].error_code, int)
    running = next(
        j
        for j in tls_emu.job_ids()
        if tls_emu.job_status(j) == "InProgress"
        and tls_emu.job_body(j)["properties"]["jobType"] == "AzureIaaSVMJob"
        and tls_emu.job_body(j)["properties"]["operation"] == "Backup"
    )
    job = client.job_details.get(tls_emu.vault, tls_emu.resource_group, running)
    tasks = job.properties.extended_info.tasks_list
    assert tasks[0].task_id == "Take Snapshot"
    assert job.properties.actions_info == ["Cancellable"]
    assert (
        job.properties.extended_info.property_bag["VM Name"] == job.properties.entity_friendly_name
    )


def test_cancel(client: Any, tls_emu: EmulatorHandle) -> None:
    job_id = tls_emu.add_job(entity="sdk-vm", tasks=[("Take Snapshot", 300)])
    headers = client.job_cancellations.trigger(
        tls_emu.vault, tls_emu.resource_group, job_id, cls=headers_of
    )
    op_id = urlsplit(headers["Location"]).path.rsplit("/", 1)[1]
    assert headers["Retry-After"] == "60"
    assert (
        client.job_details.get(tls_emu.vault, tls_emu.resource_group, job_id).properties.status
        == "Cancelling"
    )
    tls_emu.advance(31)
    client.job_operation_results.get(tls_emu.vault, tls_emu.resource_group, job_id, op_id)
    job = client.job_details.get(tls_emu.vault, tls_emu.resource_group, job_id)
    assert job.properties.status == "Cancelled"


def test_trigger_operation_status_to_job(client: Any, tls_emu: EmulatorHandle) -> None:
    container = container_name(tls_emu.resource_group, DEMO_VM)
    item = protected_item_name(tls_emu.resource_group, DEMO_VM)
    request = models.BackupRequestResource(properties=models.IaasVMBackupRequest())
    headers = client.backups.trigger(
        tls_emu.vault, tls_emu.resource_group, "Azure", container, item, request, cls=headers_of
    )
    op_id = urlsplit(headers["Azure-AsyncOperation"]).path.rsplit("/", 1)[1]
    status = client.protected_item_operation_statuses.get(
        tls_emu.vault, tls_emu.resource_group, "Azure", container, item, op_id
    )
    assert status.status == "InProgress"
    tls_emu.advance(3)
    status = client.protected_item_operation_statuses.get(
        tls_emu.vault, tls_emu.resource_group, "Azure", container, item, op_id
    )
    assert status.status == "Succeeded"
    assert isinstance(status.properties, models.OperationStatusJobExtendedInfo)
    job_id = status.properties.job_id
    same = client.backup_operation_statuses.get(tls_emu.vault, tls_emu.resource_group, op_id)
    assert same.properties.job_id == job_id
    job = client.job_details.get(tls_emu.vault, tls_emu.resource_group, job_id)
    assert job.properties.entity_friendly_name == DEMO_VM
    assert job.properties.status == "InProgress"


def test_export(client: Any, tls_emu: EmulatorHandle) -> None:
    headers = client.jobs.export(tls_emu.vault, tls_emu.resource_group, cls=headers_of)
    op_id = urlsplit(headers["Location"]).path.rsplit("/", 1)[1]
    tls_emu.advance(20)
    result = client.export_jobs_operation_results.get(tls_emu.vault, tls_emu.resource_group, op_id)
    assert isinstance(result.operation, models.ExportJobsOperationResultInfo)
    blob_url = result.operation.blob_url
    assert blob_url is not None and blob_url.startswith(tls_emu.url)
