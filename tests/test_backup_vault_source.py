"""The Backup vault source on its own: client-side filters, the order of the list, early stops,
tasks, URLs and the refusals that come before any request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from azbackupjobs.model.datasources import datasource_types
from azbackupjobs.model.errors import UsageError
from azbackupjobs.sources import kql
from azbackupjobs.sources.backup_vault import matcher, select
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.filters import Window

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = Window(NOW - timedelta(days=1), NOW)


def job(n: int, status: str = "Completed", **props: Any) -> dict[str, Any]:
    """Job ``n`` started ``n`` minutes before NOW."""
    start = (NOW - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return {
        "id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/"
        f"backupVaults/bv/backupJobs/00000000-0000-4000-8000-{n:012d}",
        "name": f"00000000-0000-4000-8000-{n:012d}",
        "type": "Microsoft.DataProtection/backupVaults/backupJobs",
        "properties": {
            "status": status,
            "startTime": start,
            "operation": "Backup",
            "operationCategory": "Backup",
            "dataSourceType": "Microsoft.Compute/disks",
            "dataSourceName": f"disk-{n}",
            **props,
        },
    }


class Pages:
    """Pages handed out one at a time, counting how many were read."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.read = 0

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        for page in self.pages:
            self.read += 1
            yield page


def names(jobs: Iterator[dict[str, Any]]) -> list[int]:
    return [int(j["name"][-12:]) for j in jobs]


def test_newest_first_streams_and_stops_at_the_limit() -> None:
    pages = Pages([[job(1), job(2)], [job(3), job(4)], [job(5)]])
    got = select(iter(pages), matcher(JobQuery(DAY)), since=DAY.start, limit=3)
    assert names(got) == [1, 2, 3]
    assert pages.read == 2


def test_newest_first_stops_at_the_first_job_before_the_window() -> None:
    old = 2 * 24 * 60
    pages = Pages([[job(1), job(2)], [job(old), job(old + 1)], [job(old + 2)]])
    got = select(iter(pages), matcher(JobQuery(DAY)), since=DAY.start, limit=None)
    assert names(got) == [1, 2]
    assert pages.read == 2


def test_oldest_first_reads_everything_and_gives_the_newest_first() -> None:
    """The service's recorded lists run oldest first: --limit keeps the newest ones."""
    pages = Pages([[job(9), job(8), job(7)], [job(6), job(5)], [job(2), job(1)]])
    got = select(iter(pages), matcher(JobQuery(DAY)), since=DAY.start, limit=3)
    assert names(got) == [1, 2, 5]
    assert pages.read == 3
    everything = select(
        iter(Pages([[job(3), job(2)], [job(1)]])),
        matcher(JobQuery(DAY)),
        since=DAY.start,
        limit=None,
    )
    assert names(everything) == [1, 2, 3]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("InProgress",), [1, 2]),
        (("Completed",), [3, 4]),
        (("Failed",), [5]),
        (("Failed", "InProgress"), [1, 2, 5]),
    ],
)
def test_status_words_of_both_spellings(statuses: tuple[str, ...], expected: list[int]) -> None:
    jobs = [
        job(1, "InProgress"),
        job(2, "Started"),
        job(3, "Completed"),
        job(4, "Succeeded"),
        job(5, "Failed"),
    ]
    match = matcher(JobQuery(DAY, statuses))
    assert [n for n, raw in enumerate(jobs, 1) if match(raw)] == expected


def test_operation_entity_type_and_job_id() -> None:
    crr = job(1, operation="Restore", operationCategory="CrossRegionRestore")
    blob = job(2, dataSourceType="Microsoft.Storage/storageAccounts/blobServices")
    named = job(3, dataSourceName="orders-db", backupInstanceFriendlyName="orders")
    assert matcher(JobQuery(DAY, operation="CrossRegionRestore"))(crr)
    assert matcher(JobQuery(DAY, operation="Restore"))(crr)
    assert not matcher(JobQuery(DAY, operation="Restore"))(blob)
    assert matcher(JobQuery(DAY, datasource_types=datasource_types("blob") or ()))(blob)
    assert not matcher(JobQuery(DAY, datasource_types=datasource_types("disk") or ()))(blob)
    assert matcher(JobQuery(DAY, entity="ORDERS"))(named)
    assert not matcher(JobQuery(DAY, entity="shop"))(named)
    assert matcher(JobQuery(DAY, job_id=named["name"].upper()))(named)
    assert not matcher(JobQuery(DAY, job_id=blob["name"]))(named)


def test_the_window_bounds_both_ends() -> None:
    window = Window(NOW - timedelta(minutes=10), NOW - timedelta(minutes=5))
    match = matcher(JobQuery(window))
    assert [n for n in (1, 5, 7, 10, 11) if match(job(n))] == [5, 7, 10]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("disk", ("microsoft.compute/disks",)),
        ("Microsoft.Compute/disks", ("microsoft.compute/disks",)),
        ("AKS", ("microsoft.containerservice/managedclusters",)),
        ("mysql", ("microsoft.dbformysql/flexibleservers",)),
        (
            "postgresql",
            (
                "microsoft.dbforpostgresql/servers/databases",
                "microsoft.dbforpostgresql/flexibleservers",
            ),
        ),
        ("Microsoft.NewThing/widgets", ("microsoft.newthing/widgets",)),
        ("AzureIaasVM", None),
        ("disk' or 1==1", None),
    ],
)
def test_datasource_type_names(value: str, expected: tuple[str, ...] | None) -> None:
    assert datasource_types(value) == expected


def test_fleet_query_covers_both_kinds_and_narrows_to_one() -> None:
    both = kql.jobs_query(JobQuery(DAY))
    assert "microsoft.dataprotection/backupvaults/backupjobs" in both
    assert "microsoft.recoveryservices/vaults/backupjobs" in both
    from azbackupjobs.model.kinds import VaultKind

    one = kql.jobs_query(JobQuery(DAY, vault_kind=VaultKind.BACKUP))
    assert "microsoft.recoveryservices" not in one
    typed = kql.jobs_query(JobQuery(DAY, datasource_types=("microsoft.compute/disks",)))
    assert "dataSourceType) in~ ('microsoft.compute/disks')" in typed
    running = kql.jobs_query(JobQuery(DAY, ("InProgress",)))
    assert "'Started'" in running


def test_a_fleet_row_of_a_backup_vault_keeps_its_kind() -> None:
    raw = job(1)
    row = {**raw, "type": "microsoft.dataprotection/backupvaults/backupjobs"}
    assert kql.row_to_job(row)["type"] == "Microsoft.DataProtection/backupVaults/backupJobs"


def test_a_management_type_is_refused_for_a_backup_vault() -> None:
    from azbackupjobs.sources.backup_vault import refuse_management_type

    with pytest.raises(UsageError, match="Backup vault"):
        refuse_management_type(JobQuery(DAY, management_type="AzureIaasVM"), "a Backup vault")
