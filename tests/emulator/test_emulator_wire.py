"""The textual formats the emulator writes and reads, against values from real payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from azbackupjobs.emulator.versions import dialect_for, is_supported, supported_list
from azbackupjobs.emulator.wire import (
    compact_json,
    format_filter_date,
    gigabytes,
    iso_duration,
    iso_timestamp,
    parse_filter_date,
    timespan,
    us_datetime,
)


def epoch(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.9961118, "2023-12-21T05:52:05.9961118Z"),
        (0.868716, "2023-12-21T05:52:05.868716Z"),
        (0.0, "2023-12-21T05:52:05Z"),
        (0.5, "2023-12-21T05:52:05.5Z"),
    ],
)
def test_timestamps_have_up_to_seven_digits_and_no_trailing_zeros(
    seconds: float, expected: str
) -> None:
    assert iso_timestamp(epoch(2023, 12, 21, 5, 52, 5) + seconds) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "PT0S"),
        (2490.7544213, "PT41M30.7544213S"),
        (4277.4030139, "PT1H11M17.4030139S"),
        (3.867036, "PT3.867036S"),
        (1500, "PT25M"),
        (86400 + 5 * 3600 + 44 * 60 + 21.7959938, "P1DT5H44M21.7959938S"),
        (86400 * 15, "P15D"),
        (-260.8890416, "-PT4M20.8890416S"),
    ],
)
def test_iso_durations(seconds: float, expected: str) -> None:
    assert iso_duration(seconds) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (1223.0896697, "00:20:23.0896697"),
        (0, "00:00:00"),
        (0.37357790, "00:00:00.3735779"),
        (86400 + 3723.5, "1.01:02:03.5000000"),
    ],
)
def test_dotnet_timespans(seconds: float, expected: str) -> None:
    assert timespan(seconds) == expected


def test_us_locale_dates() -> None:
    assert us_datetime(epoch(2024, 1, 20)) == "1/20/2024 12:00:00 AM"
    assert us_datetime(epoch(2023, 12, 21, 5, 52, 9)) == "12/21/2023 5:52:09 AM"
    assert us_datetime(epoch(2025, 2, 18, 15, 56, 48)) == "2/18/2025 3:56:48 PM"
    assert us_datetime(epoch(2025, 2, 18, 12, 0, 1)) == "2/18/2025 12:00:01 PM"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-04-13 04:30:00 PM", (2016, 4, 13, 16, 30)),
        ("2016-04-14 10:30:00 AM", (2016, 4, 14, 10, 30)),
        ("2024-01-31 12:00:00 AM", (2024, 1, 31, 0, 0)),  # midnight
        ("2024-01-31 12:30:00 PM", (2024, 1, 31, 12, 30)),  # just after noon
        ("2024-01-31 11:59:59 PM", (2024, 1, 31, 23, 59, 59)),
        ("2016-01-01 00:00:00 AM", (2016, 1, 1, 0, 0)),  # the spec example's midnight
        ("2024-01-31 01:00:00 pm", (2024, 1, 31, 13, 0)),
    ],
)
def test_filter_dates_use_a_12_hour_clock(text: str, expected: tuple[int, ...]) -> None:
    assert parse_filter_date(text) == epoch(*expected)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31T13:00:00Z",
        "2024-01-31 13:00:00 PM",
        "2024-01-31 13:00:00",
        "2024-01-31",
        "01/31/2024 01:00:00 PM",
        "2024-02-30 01:00:00 PM",
    ],
)
def test_filter_dates_reject_other_formats(text: str) -> None:
    with pytest.raises(ValueError):
        parse_filter_date(text)


def test_filter_dates_round_trip() -> None:
    for hour in range(24):
        stamp = epoch(2024, 3, 1, hour, 7, 9)
        assert parse_filter_date(format_filter_date(stamp)) == stamp
    assert format_filter_date(epoch(2024, 3, 1, 0, 0)) == "2024-03-01 12:00:00 AM"
    assert format_filter_date(epoch(2024, 3, 1, 12, 0)) == "2024-03-01 12:00:00 PM"


def test_sizes_as_task_execution_details_writes_them() -> None:
    assert gigabytes(127) == "127 GBs"
    assert gigabytes(120.58) == "120.58 GBs"
    assert gigabytes(12.5) == "12.5 GBs"
    assert gigabytes(0.5) == "512 MBs"


def test_json_is_compact() -> None:
    assert compact_json({"a": [1, {"b": "é"}]}) == '{"a":[1,{"b":"é"}]}'.encode()


def test_api_versions() -> None:
    for version in (
        "2016-12-01",
        "2017-07-01",
        "2019-05-13",
        "2026-08-01",
        "2026-10-01",
        "2021-11-15",
        "2019-05-13-preview",
        "2022-06-01-preview",
        "2019-05-13-PREVIEW",
    ):
        assert is_supported(version), version
    for version in ("2016-06-01", "2015-03-15", "2027-01-01", "2025-03-01", "", "latest"):
        assert not is_supported(version), version
    listed = supported_list().split(",")
    assert listed[0] == "2026-10-01"
    assert "2019-05-13-preview" in listed and "2016-12-01" in listed


def test_dialects() -> None:
    assert dialect_for("2016-12-01").timespan_durations
    assert not dialect_for("2017-07-01").timespan_durations
    assert dialect_for("2022-06-01-preview").numeric_actions
    assert dialect_for("2023-01-01").numeric_actions
    assert not dialect_for("2023-02-01").numeric_actions
    assert not dialect_for("2021-11-15").numeric_actions
    assert not dialect_for("2026-10-01").numeric_actions
