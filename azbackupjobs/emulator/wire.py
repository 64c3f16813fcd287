"""The service's textual formats, written exactly as the real payloads have them.

Clients are tested against these quirks: timestamps with up to 7 fractional digits and trailing
zeros trimmed, the ``0001-01-01T00:00:00`` "unset" sentinel, ISO 8601 durations (or .NET
TimeSpans on the oldest api-version), US-locale dates inside propertyBag, the 12-hour
``yyyy-MM-dd hh:mm:ss tt`` dates of ``$filter``, and compact JSON.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

UNSET_TIME = "0001-01-01T00:00:00"
TICKS_PER_SECOND = 10_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ticks(seconds: float) -> int:
    return round(seconds * TICKS_PER_SECOND)


def _fraction(ticks: int) -> str:
    """``.9961118`` for 9961118 ticks; nothing at all for 0 (the service trims trailing zeros)."""
    if ticks == 0:
        return ""
    return "." + f"{ticks:07d}".rstrip("0")


def iso_timestamp(epoch: float) -> str:
    """``2023-12-21T05:52:05.9961118Z``: UTC, up to 7 fractional digits, trailing zeros trimmed."""
    ticks = _ticks(epoch)
    whole, frac = divmod(ticks, TICKS_PER_SECOND)
    stamp = _EPOCH + timedelta(seconds=whole)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(frac) + "Z"


def _clock_parts(seconds: float) -> tuple[str, int, int, int, int, int]:
    """(sign, days, hours, minutes, seconds, fraction in ticks) of a duration: what both spellings
    show."""
    ticks = _ticks(seconds)
    sign = "-" if ticks < 0 else ""
    whole, frac = divmod(abs(ticks), TICKS_PER_SECOND)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return sign, days, hours, minutes, secs, frac


def iso_duration(seconds: float) -> str:
    """``PT41M30.7544213S``, ``PT0S``, ``P1DT5H44M21.7959938S``, ``-PT4M20.8890416S``."""
    sign, days, hours, minutes, secs, frac = _clock_parts(seconds)
    if not (days or hours or minutes or secs or frac):
        return "PT0S"
    text = sign + "P"
    if days:
        text += f"{days}D"
    if hours or minutes or secs or frac:
        text += "T"
        if hours:
            text += f"{hours}H"
        if minutes:
            text += f"{minutes}M"
        if secs or frac:
            text += f"{secs}{_fraction(frac)}S"
    return text


def timespan(seconds: float) -> str:
    """.NET ``TimeSpan`` ("c" format), as api-versions before 2017-07-01 send it."""
    sign, days, hours, minutes, secs, frac = _clock_parts(seconds)
    text = f"{sign}{days}." if days else sign
    text += f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return text + (f".{frac:07d}" if frac else "")


def us_datetime(epoch: float) -> str:
    """``1/20/2024 12:00:00 AM``: the US-locale form of dates inside propertyBag."""
    stamp = _EPOCH + timedelta(seconds=int(epoch))
    hour = stamp.hour % 12 or 12
    ampm = "AM" if stamp.hour < 12 else "PM"
    clock = f"{hour}:{stamp.minute:02d}:{stamp.second:02d} {ampm}"
    return f"{stamp.month}/{stamp.day}/{stamp.year} {clock}"


def http_date(epoch: float) -> str:
    """RFC 7231 date for the ``Date`` header."""
    stamp = _EPOCH + timedelta(seconds=int(epoch))
    return stamp.strftime("%a, %d %b %Y %H:%M:%S GMT")


_FILTER_DATE_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2}) (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2}) "
    r"(?P<ampm>AM|PM)$",
    re.IGNORECASE,
)


def parse_filter_date(text: str) -> float:
    """Read ``yyyy-MM-dd hh:mm:ss tt`` (UTC, 12-hour clock) into epoch seconds.

    ``12:xx AM`` is just after midnight and ``12:xx PM`` just after noon. The spec's own example
    writes midnight as ``00:00:00 AM``, which the service accepts, so hour 00 is read as 12.
    Raises ValueError for anything else (ISO dates, 24-hour times, hours above 12).
    """
    match = _FILTER_DATE_RE.match(text.strip())
    if not match:
        raise ValueError(text)
    hour = int(match["h"])
    if hour > 12:
        raise ValueError(text)
    hour %= 12
    if match["ampm"].upper() == "PM":
        hour += 12
    stamp = datetime(
        int(match["y"]),
        int(match["mo"]),
        int(match["d"]),
        hour,
        int(match["mi"]),
        int(match["s"]),
        tzinfo=UTC,
    )
    return (stamp - _EPOCH).total_seconds()


def format_filter_date(epoch: float) -> str:
    """The inverse of :func:`parse_filter_date` (what PowerShell and the az CLI send)."""
    stamp = _EPOCH + timedelta(seconds=int(epoch))
    return stamp.strftime("%Y-%m-%d %I:%M:%S %p")


def gigabytes(value: float) -> str:
    """``127 GBs``, ``120.58 GBs``, ``512 MBs``: sizes as taskExecutionDetails writes them."""
    if value < 1:
        return f"{int(value * 1024)} MBs"
    return f"{value:.2f}".rstrip("0").rstrip(".") + " GBs"


def compact_json(value: Any) -> bytes:
    """The service sends compact JSON; byte counts in recordings match this serialisation."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def arm_error(code: str, message: str) -> dict[str, Any]:
    """The ARM error envelope; only ``code`` and ``message`` are reliably present in real ones."""
    return {"error": {"code": code, "message": message}}
