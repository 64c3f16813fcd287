"""The jobs-list ``$filter``: value normalisation, the UTC AM/PM time format, time windows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.sources import filters
from azbackupjobs.sources.filters import Window

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
PLUS2 = timezone(timedelta(hours=2))
MINUS5 = timezone(timedelta(hours=-5))
GUID = "3b6a1d2c-5f4e-4d3c-9b2a-1f0e9d8c7b6a"


# ----- values ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("inprogress", "InProgress"),
        ("INPROGRESS", "InProgress"),
        ("in-progress", "InProgress"),
        ("completedwithwarnings", "CompletedWithWarnings"),
        ("completed_with_warnings", "CompletedWithWarnings"),
        (" Failed ", "Failed"),
        ("cancelled", "Cancelled"),
        ("canceled", "Cancelled"),
        ("CANCELING", "Cancelling"),
    ],
)
def test_status_any_casing_in_service_spelling_out(given_value: str, expected: str) -> None:
    assert filters.normalize_choice(given_value, filters.STATUSES, "--status") == expected


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("azureiaasvm", "AzureIaasVM"),
        ("AzureIaaSVM", "AzureIaasVM"),
        ("AZURESTORAGE", "AzureStorage"),
        ("azureworkload", "AzureWorkload"),
        ("mab", "MAB"),
        ("dpm", "DPM"),
        ("azurebackupserver", "AzureBackupServer"),
    ],
)
def test_management_type_normalised(given_value: str, expected: str) -> None:
    assert filters.normalize_management_type(given_value) == expected


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("backup", "Backup"),
        ("configurebackup", "ConfigureBackup"),
        ("crossregionrestore", "CrossRegionRestore"),
        ("updatecustomermanagedkey", "UpdateCustomerManagedKey"),
        ("unregister", "UnRegister"),
    ],
)
def test_operation_normalised(given_value: str, expected: str) -> None:
    assert filters.normalize_operation(given_value) == expected


def test_unknown_value_is_a_usage_error_listing_the_valid_ones() -> None:
    with pytest.raises(UsageError) as caught:
        filters.normalize_choice("Running", filters.STATUSES, "--status")
    assert caught.value.exit_code == ExitCode.USAGE
    message = str(caught.value)
    assert "--status" in message and "'Running'" in message
    for status in filters.STATUSES:
        assert status in message


def test_statuses_repeated_and_comma_separated_without_duplicates() -> None:
    got = filters.normalize_statuses(["failed,Cancelled", "FAILED", " , completed"])
    assert got == ("Failed", "Cancelled", "Completed")


@pytest.mark.parametrize(
    "hostile",
    [
        "Failed' or status eq 'Completed",
        "Failed'",
        "'",
        "Failed%27",
        "Failed\u2019",
        "Failed\x00",
        "\x1b[31mFailed",
    ],
)
def test_no_quote_can_reach_the_filter(hostile: str) -> None:
    with pytest.raises(UsageError) as caught:
        filters.build_filter(status=hostile)
    assert "\x1b" not in str(caught.value) and "\x00" not in str(caught.value)
    with pytest.raises(UsageError):
        filters.build_filter(operation=hostile)
    with pytest.raises(UsageError):
        filters.build_filter(management_type=hostile)
    with pytest.raises(UsageError):
        filters.build_filter(job_id=hostile)


@given(st.text(max_size=40))
def test_any_text_is_either_a_known_value_or_refused(text: str) -> None:
    try:
        result = filters.build_filter(status=text)
    except UsageError:
        return
    value = result.removeprefix("status eq '").removesuffix("'")
    assert value in filters.STATUSES
    assert result.count("'") == 2


def test_job_id_is_validated_and_lowered() -> None:
    assert filters.build_filter(job_id=GUID.upper()) == f"jobId eq '{GUID}'"
    with pytest.raises(UsageError, match="--job-id"):
        filters.build_filter(job_id="not-a-guid")


# ----- time format -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 5, 1, 0, 0, 0, tzinfo=UTC), "2024-05-01 12:00:00 AM"),
        (datetime(2024, 5, 1, 0, 30, 5, tzinfo=UTC), "2024-05-01 12:30:05 AM"),
        (datetime(2024, 5, 1, 1, 0, 0, tzinfo=UTC), "2024-05-01 01:00:00 AM"),
        (datetime(2024, 5, 1, 11, 59, 59, tzinfo=UTC), "2024-05-01 11:59:59 AM"),
        (datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC), "2024-05-01 12:00:00 PM"),
        (datetime(2024, 5, 1, 12, 59, 59, tzinfo=UTC), "2024-05-01 12:59:59 PM"),
        (datetime(2024, 5, 1, 13, 5, 0, tzinfo=UTC), "2024-05-01 01:05:00 PM"),
        (datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC), "2024-05-01 11:59:59 PM"),
        # Not UTC in, UTC out: 01:30 at +02:00 is 23:30 the day before.
        (datetime(2024, 5, 1, 1, 30, 0, tzinfo=PLUS2), "2024-04-30 11:30:00 PM"),
        (datetime(2024, 12, 31, 20, 0, 0, tzinfo=MINUS5), "2025-01-01 01:00:00 AM"),
    ],
)
def test_service_time_is_utc_12_hour_clock(moment: datetime, expected: str) -> None:
    assert filters.service_time(moment) == expected


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)))
def test_service_time_matches_the_net_format(moment: datetime) -> None:
    """Same as .NET's ``yyyy-MM-dd hh:mm:ss tt`` (en-US), written independently here."""
    aware = moment.replace(tzinfo=UTC)
    hour = aware.hour
    twelve = {0: 12, 12: 12}.get(hour, hour % 12)
    expected = f"{aware:%Y-%m-%d} {twelve:02d}:{aware:%M}:{aware:%S} {'AM' if hour < 12 else 'PM'}"
    assert filters.service_time(aware) == expected


# ----- parsing times -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", NOW - timedelta(minutes=90)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("7D", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("30s", NOW - timedelta(seconds=30)),
        ("now", NOW),
        ("2024-04-01T10:00:00Z", datetime(2024, 4, 1, 10, tzinfo=UTC)),
        ("2024-04-01T10:00:00+02:00", datetime(2024, 4, 1, 8, tzinfo=UTC)),
        # Without a zone: local time (here +02:00).
        ("2024-04-01T10:00", datetime(2024, 4, 1, 8, tzinfo=UTC)),
        ("2024-04-01 10:00:00", datetime(2024, 4, 1, 8, tzinfo=UTC)),
        ("2024-04-01", datetime(2024, 3, 31, 22, tzinfo=UTC)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    got = filters.parse_when(text, "--since", now=NOW, tz=PLUS2)
    assert got == expected
    assert got.tzinfo is UTC


def test_a_bare_date_in_until_covers_the_whole_day() -> None:
    got = filters.parse_when("2024-04-01", "--until", now=NOW, tz=PLUS2, end_of_day=True)
    assert got == datetime(2024, 4, 1, 22, tzinfo=UTC)  # local midnight after April 1st


def test_local_time_defaults_to_the_system_zone() -> None:
    got = filters.parse_when("2024-04-01T10:00", "--since", now=NOW)
    assert got == datetime(2024, 4, 1, 10).astimezone().astimezone(UTC)


@pytest.mark.parametrize("text", ["yesterday", "7 days", "-7d", "7y", "", "2024-13-01", "1e3h"])
def test_unreadable_times_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--since") as caught:
        filters.parse_when(text, "--since", now=NOW)
    assert "90m" in str(caught.value)


# ----- windows -----------------------------------------------------------------------------
def test_default_window_is_the_last_24_hours() -> None:
    assert filters.resolve_window(None, None, now=NOW) == Window(NOW - timedelta(days=1), NOW)


def test_until_alone_moves_the_24_hours() -> None:
    window = filters.resolve_window(None, "2024-04-10T00:00Z", now=NOW)
    assert window == Window(datetime(2024, 4, 9, tzinfo=UTC), datetime(2024, 4, 10, tzinfo=UTC))


def test_window_is_whole_seconds_start_floored_end_rounded_up() -> None:
    now = NOW.replace(microsecond=250_000)
    window = filters.resolve_window("90m", None, now=now)
    assert window.start == NOW - timedelta(minutes=90)
    assert window.end == NOW + timedelta(seconds=1)


@pytest.mark.parametrize(("since", "until"), [("now", None), ("1h", "2h"), ("2024-06-01", None)])
def test_since_not_before_until_is_a_usage_error(since: str, until: str | None) -> None:
    with pytest.raises(UsageError, match="must be before"):
        filters.resolve_window(since, until, now=NOW)


def test_times_off_the_calendar_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        filters.resolve_window("999999999999d", None, now=NOW)
    with pytest.raises(UsageError):
        filters.resolve_window("0001-01-01T00:00", None, now=NOW, tz=PLUS2)


def test_thirty_days_is_one_window() -> None:
    window = Window(NOW - timedelta(days=30), NOW)
    assert filters.split_window(window) == [window]


def test_a_second_more_than_thirty_days_is_two_windows_newest_first() -> None:
    window = Window(NOW - timedelta(days=30, seconds=1), NOW)
    assert filters.split_window(window) == [
        Window(NOW - timedelta(days=30), NOW),
        Window(NOW - timedelta(days=30, seconds=1), NOW - timedelta(days=30)),
    ]


@given(st.integers(min_value=1, max_value=400 * 86400))
def test_split_windows_tile_the_window_newest_first(seconds: int) -> None:
    window = Window(NOW - timedelta(seconds=seconds), NOW)
    parts = filters.split_window(window)
    assert parts[0].end == window.end and parts[-1].start == window.start
    for newer, older in itertools.pairwise(parts):
        assert older.end == newer.start
    assert all(timedelta(0) < p.span <= filters.MAX_WINDOW for p in parts)
    assert len(parts) == -(-seconds // (30 * 86400))


# ----- the filter string -------------------------------------------------------------------
def test_filter_with_everything_in_the_api_examples_order() -> None:
    window = Window(datetime(2024, 4, 30, 12, tzinfo=UTC), datetime(2024, 5, 1, 0, tzinfo=UTC))
    got = filters.build_filter(
        window, status="inprogress", operation="backup", management_type="azureiaasvm", job_id=GUID
    )
    assert got == (
        "startTime eq '2024-04-30 12:00:00 PM' and endTime eq '2024-05-01 12:00:00 AM' "
        "and operation eq 'Backup' and backupManagementType eq 'AzureIaasVM' "
        f"and status eq 'InProgress' and jobId eq '{GUID}'"
    )


def test_empty_filter() -> None:
    assert filters.build_filter() == ""
