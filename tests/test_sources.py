"""The sources behind the one job pipeline: what a Recovery Services vault and Resource Graph
offer through ``JobSource`` (a job's URL by GUID or by ARM id, operation URLs, how a listed job
is named, queries refused before any request)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
import responses

from azbackupjobs.arm import settings
from azbackupjobs.arm.auth import StaticTokenProvider
from azbackupjobs.arm.client import NO_RETRY, BackupJobsClient
from azbackupjobs.model.errors import UnexpectedResponseError, UsageError
from azbackupjobs.sources import kql
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.filters import Window
from azbackupjobs.sources.fleet import ResourceGraphSource
from azbackupjobs.sources.recovery_services import RecoveryServicesSource
from azbackupjobs.sources.resource_graph import ResourceGraphClient

SUB = "00000000-0000-0000-0000-000000000000"
OTHER_SUB = "11111111-1111-4111-8111-111111111111"
JOB = "73e47398-73a0-45fb-b56b-9997e6d84229"
OP = "df8f706d-a76d-4d6e-8050-cc91f0641f03"
ARM = "https://management.azure.com"
VAULT_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/my-rg/providers/Microsoft.RecoveryServices"
    "/vaults/my-vault"
)
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def client(**overrides: Any) -> BackupJobsClient:
    values: dict[str, Any] = {
        "subscription": SUB,
        "resource_group": "my-rg",
        "vault": "my-vault",
        "cloud": settings.CLOUDS["azurecloud"],
        "endpoint": ARM,
        "api_version": "2026-10-01",
    }
    values.update(overrides)
    return BackupJobsClient(
        settings.Context(**values),
        StaticTokenProvider("test-token"),
        retry=NO_RETRY,
        sleep=lambda _s: None,
        rng=random.Random(1),
    )


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def item(name: str, start: str, status: str = "Completed", entity: str = "vm") -> dict[str, Any]:
    return {
        "id": f"{VAULT_PATH}/backupJobs/{name}",
        "name": name,
        "properties": {"status": status, "startTime": start, "entityFriendlyName": entity},
    }


# ----- a Recovery Services vault ----------------------------------------------------------------
def test_a_job_is_named_by_its_guid_or_by_any_vaults_arm_id() -> None:
    source = RecoveryServicesSource(client())
    assert source.job_url(JOB) == f"{ARM}{VAULT_PATH}/backupJobs/{JOB}?api-version=2026-10-01"
    other = (
        f"/Subscriptions/{OTHER_SUB}/resourcegroups/rg-b/providers/microsoft.recoveryservices"
        f"/vaults/vault-b/backupJobs/{JOB.upper()}"
    )
    assert source.job_url(other) == (
        f"{ARM}/subscriptions/{OTHER_SUB}/resourceGroups/rg-b/providers/"
        f"Microsoft.RecoveryServices/vaults/vault-b/backupJobs/{JOB}?api-version=2026-10-01"
    )
    with pytest.raises(UsageError):
        source.job_url(f"/subscriptions/{SUB}/resourceGroups/rg/providers/x/y/z")


def test_a_listed_job_is_named_by_its_guid() -> None:
    source = RecoveryServicesSource(client())
    assert source.ref_of(item(JOB.upper(), "2024-06-01T10:00:00Z")) == JOB
    assert source.ref_of({"name": "../x"}) is None and source.ref_of({}) is None
    assert source.name == "vault my-vault"
    assert source.can_cancel and not source.spans_vaults


def test_operation_urls_are_checked_and_ids_validated(rsps: responses.RequestsMock) -> None:
    source = RecoveryServicesSource(client())
    assert source.operation_url(OP) == (
        f"{ARM}{VAULT_PATH}/backupOperations/{OP}?api-version=2026-10-01"
    )
    with pytest.raises(UsageError, match="operation id"):
        source.operation_url("../../x")
    for foreign in ("https://evil.example/op", "HTTPS://evil.example/op", "ftp://x/y"):
        with pytest.raises(UnexpectedResponseError):
            source.operation_url(foreign)
    assert not rsps.calls


def test_the_list_filters_on_the_server_what_it_can_and_the_rest_here(
    rsps: responses.RequestsMock,
) -> None:
    """Two statuses: a request each, merged newest first, a job seen in both once; --entity
    (which the service cannot filter) on the client."""
    running = [item("b", "2024-06-01T11:00:00Z", "InProgress", "web-01")]
    failed = [
        item("c", "2024-06-01T11:30:00Z", "Failed", "WEB-02"),
        item("b", "2024-06-01T11:00:00Z", "Failed", "web-01"),
        item("a", "2024-06-01T09:00:00Z", "Failed", "db-01"),
    ]
    rsps.get(
        f"{ARM}{VAULT_PATH}/backupJobs",
        match=[
            responses.matchers.query_param_matcher(
                {"api-version": "2026-10-01"}, strict_match=False
            )
        ],
        json={"value": running},
    )
    rsps.get(f"{ARM}{VAULT_PATH}/backupJobs", json={"value": failed})
    query = JobQuery(
        Window(NOW - timedelta(hours=24), NOW), statuses=("InProgress", "Failed"), entity="web"
    )
    found = list(RecoveryServicesSource(client()).jobs(query))
    assert [(j["name"], j["properties"]["status"]) for j in found] == [
        ("c", "Failed"),
        ("b", "InProgress"),
    ]
    sent = [unquote(str(c.request.url)) for c in rsps.calls]
    assert "status eq 'InProgress'" in sent[0] and "status eq 'Failed'" in sent[1]


def test_a_window_the_vault_cannot_be_asked_for_is_refused_at_once() -> None:
    query = JobQuery(Window(NOW - timedelta(days=400), NOW))
    with pytest.raises(UsageError, match="requests per status"):
        RecoveryServicesSource(client()).jobs(query)


# ----- Resource Graph -----------------------------------------------------------------------------
def fleet_source() -> ResourceGraphSource:
    vault = RecoveryServicesSource(client(resource_group="", vault=""))
    graph = ResourceGraphClient(vault.client, sleep=lambda _s: None)
    return ResourceGraphSource(graph, kql.Scope((SUB,)), vault)


def test_the_fleet_names_jobs_by_arm_id_and_reads_details_through_their_vault(
    rsps: responses.RequestsMock,
) -> None:
    source = fleet_source()
    row = item(JOB, "2024-06-01T10:00:00Z")
    assert source.ref_of(row) == row["id"]
    assert source.spans_vaults and source.name == "1 subscription"
    rsps.get(f"{ARM}{VAULT_PATH}/backupJobs/{JOB}", json={**row, "properties": {"status": "x"}})
    assert source.get_job(row["id"])["properties"] == {"status": "x"}


def test_the_fleet_query_is_checked_before_anything_is_sent(rsps: responses.RequestsMock) -> None:
    query = JobQuery(Window(NOW - timedelta(hours=1), NOW), job_id="not-a-guid")
    with pytest.raises(UsageError, match="--job-id"):
        fleet_source().jobs(query)
    assert not rsps.calls
