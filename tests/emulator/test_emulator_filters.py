"""$filter: every key, the time window, and the 400s for what the service does not accept."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle
from azbackupjobs.emulator.filters import FilterError, parse_filter
from azbackupjobs.emulator.wire import format_filter_date


def window(emu: EmulatorHandle, hours_back: float, hours_forward: float = 0.01) -> str:
    now = emu.now().timestamp()
    return (
        f"startTime eq '{format_filter_date(now - hours_back * 3600)}' and "
        f"endTime eq '{format_filter_date(now + hours_forward * 3600)}'"
    )


def statuses(items: list[dict[str, object]]) -> set[str]:
    return {i["properties"]["status"] for i in items}  # type: ignore[index]


def test_status(api: Api) -> None:
    items = api.list_all("status eq 'InProgress'")
    assert items and statuses(items) == {"InProgress"}
    assert {i["properties"]["status"] for i in api.list_all("status eq 'failed'")} == {"Failed"}


def test_operation_matches_workload_suffixes(api: Api) -> None:
    backups = api.list_all("operation eq 'Backup'")
    operations = {i["properties"]["operation"] for i in backups}
    assert operations == {"Backup", "Backup (Full)"}
    restores = {i["properties"]["operation"] for i in api.list_all("operation eq 'Restore'")}
    assert restores == {"Restore", "Restore (Invalid)"}


def test_backup_management_type_is_case_insensitive(api: Api) -> None:
    items = api.list_all("backupManagementType eq 'azureiaasvm'")
    assert items
    assert {i["properties"]["backupManagementType"] for i in items} == {"AzureIaasVM"}
    files = api.list_all("backupManagementType eq 'AzureStorage'")
    assert {i["properties"]["jobType"] for i in files} == {"AzureStorageJob"}


def test_job_id(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.job_ids()[3]
    items = api.list_all(f"jobId eq '{job_id.upper()}'")
    assert [i["name"] for i in items] == [job_id]


def test_all_supported_filters_together(api: Api, emu: EmulatorHandle) -> None:
    text = (
        window(emu, 24)
        + " and operation eq 'Backup' and backupManagementType eq 'AzureIaasVM'"
        + " and status eq 'InProgress'"
    )
    items = api.list_all(text)
    assert items
    for item in items:
        props = item["properties"]
        assert (props["operation"], props["backupManagementType"], props["status"]) == (
            "Backup",
            "AzureIaasVM",
            "InProgress",
        )


def test_time_window_selects_by_start_time(api: Api, emu: EmulatorHandle) -> None:
    everything = api.list_all()
    last_day = api.list_all(window(emu, 24))
    assert 0 < len(last_day) < len(everything)
    starts = [i["properties"]["startTime"] for i in last_day]
    cutoff = emu.now() - timedelta(hours=24)
    assert all(s >= cutoff.strftime("%Y-%m-%dT%H:%M:%S") for s in starts)
    assert len(api.list_all(window(emu, 1))) < len(last_day)


def test_window_edges_with_12_am_and_pm(api: Api, emu: EmulatorHandle) -> None:
    # Jobs at 00:30 and 12:30 on a past day: each window edge must land on the right side.
    base = emu.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=10)
    now = emu.now().timestamp()
    at_0030 = emu.add_job(
        entity="midnight",
        duration=5,
        operation="ConfigureBackup",
        start_offset=(base + timedelta(minutes=30)).timestamp() - now,
    )
    at_1230 = emu.add_job(
        entity="noon",
        duration=5,
        operation="ConfigureBackup",
        start_offset=(base + timedelta(hours=12, minutes=30)).timestamp() - now,
    )
    day = base.strftime("%Y-%m-%d")

    def names(start: str, end: str) -> set[str]:
        items = api.list_all(f"startTime eq '{day} {start}' and endTime eq '{day} {end}'")
        return {i["name"] for i in items}

    assert names("12:00:00 AM", "12:59:59 AM") == {at_0030}
    assert names("12:00:00 PM", "12:59:59 PM") == {at_1230}
    assert names("12:00:00 AM", "11:59:59 PM") == {at_0030, at_1230}
    assert names("01:00:00 AM", "11:59:59 AM") == set()


def test_empty_value_means_any(api: Api) -> None:
    # PowerShell sends operation eq '' and gets every job back.
    assert len(api.list_all("operation eq ''")) == len(api.list_all())


@pytest.mark.parametrize(
    "text",
    [
        "status ne 'Completed'",
        "status eq 'Completed' or status eq 'Failed'",
        "(status eq 'Completed')",
        "state eq 'Completed'",
        "status eq Completed",
        "status eq 'Done'",
        "operation eq 'Snapshot'",
        "backupManagementType eq 'AzureVM'",
        "jobId eq 'not-a-guid'",
        "startTime eq '2024-01-01T00:00:00Z' and endTime eq '2024-01-02T00:00:00Z'",
        "startTime eq '2024-01-01 13:00:00 PM' and endTime eq '2024-01-02 01:00:00 AM'",
        "startTime eq '2024-01-02 00:00:00 AM' and endTime eq '2024-01-01 00:00:00 AM'",
        "startTime eq '2024-01-01 00:00:00 AM' and endTime eq '2024-03-01 00:00:00 AM'",
        "status eq 'Completed' and status eq 'Failed'",
        "status gt 'Completed'",
        "status",
    ],
)
def test_unsupported_filters_get_400(api: Api, text: str) -> None:
    response = api.get("/backupJobs", params={"$filter": text})
    assert response.status_code == 400, text
    assert error_code(response) == "BMSUserErrorInvalidInput"
    assert response.json()["error"]["message"].startswith("Invalid filter")


def test_thirty_days_is_the_longest_window() -> None:
    ok = parse_filter(
        "startTime eq '2024-01-01 00:00:00 AM' and endTime eq '2024-01-31 00:00:00 AM'"
    )
    assert ok.end_time is not None and ok.start_time is not None
    with pytest.raises(FilterError):
        parse_filter(
            "startTime eq '2024-01-01 00:00:00 AM' and endTime eq '2024-01-31 00:00:01 AM'"
        )


def test_parse_filter_keeps_values() -> None:
    flt = parse_filter(
        "backupManagementType eq 'AzureWorkload' and operation eq 'Restore' and "
        "status eq 'CompletedWithWarnings' and jobId eq '0E1E0281-1662-4CF9-BCFC-8B97EB11719D'"
    )
    assert flt.backup_management_type == "azureworkload"
    assert flt.operation == "restore"
    assert flt.status == "completedwithwarnings"
    assert flt.job_id == "0e1e0281-1662-4cf9-bcfc-8b97eb11719d"
    assert parse_filter(None) == parse_filter("  ")


def test_a_window_ending_at_the_wall_clock_reaches_the_emulated_now(
    api: Api, emu: EmulatorHandle
) -> None:
    # Time sped up: the emulated clock is hours ahead of the client's.
    emu.advance(5 * 3600)
    recent = emu.add_job(
        entity="recent", start_offset=-600, duration=30, operation="ConfigureBackup"
    )
    wall = time.time()
    client_window = (
        f"startTime eq '{format_filter_date(wall - 24 * 3600)}' and "
        f"endTime eq '{format_filter_date(wall)}'"
    )
    assert recent in {i["name"] for i in api.list_all(client_window)}
    # An endTime computed from the emulated clock keeps its meaning.
    now = emu.now().timestamp()
    emulated_window = (
        f"startTime eq '{format_filter_date(now - 24 * 3600)}' and "
        f"endTime eq '{format_filter_date(now - 3600)}'"
    )
    assert recent not in {i["name"] for i in api.list_all(emulated_window)}
