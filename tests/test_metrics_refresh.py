"""The background refresher of ``metrics --serve``: the interval floor, failures that keep the last
good value, freshness, and a thread that stops when told, even in the middle of a wait.

Clocks are injected; the thread tests synchronise on events, with generous bounds only so that a
broken build fails instead of hanging.
"""

from __future__ import annotations

import threading

import pytest

from azbackupjobs.follow.refresh import (
    MIN_REFRESH,
    Refresher,
    Stopped,
    parse_refresh,
    stoppable_sleep,
)
from azbackupjobs.model.errors import ApiError, UsageError


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_refresh_durations_are_read_like_other_durations() -> None:
    assert parse_refresh("5m") == 300
    assert parse_refresh("1h30m") == 5400
    assert parse_refresh("60") == MIN_REFRESH


@pytest.mark.parametrize("value", ["59s", "10", "0", "0.5m"])
def test_a_refresh_below_the_floor_is_refused_with_the_reason(value: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_refresh(value)
    assert info.value.exit_code == 2
    assert "shorter than 60 seconds" in info.value.message
    assert "Resource Graph" in info.value.message and "quota" in info.value.message


@pytest.mark.parametrize("value", ["2d", "soon", "-5m", ""])
def test_other_bad_refresh_values_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError):
        parse_refresh(value)


def test_a_failed_refresh_keeps_the_last_good_value_and_says_why() -> None:
    wall = Clock()
    results: list[object] = ["first", ApiError("HTTP 503 ServiceUnavailable: busy")]
    reports: list[str] = []

    def load() -> str:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        wall.now += 2
        return str(result)

    refresher = Refresher(load, 60.0, wall=wall, report=reports.append)
    good = refresher.refresh(raise_errors=True)
    assert (good.value, good.ok, good.value_at, good.succeeded_at) == ("first", True, 1000, 1002)
    wall.now = 1070
    bad = refresher.refresh()
    assert bad.value == "first" and bad.value_at == 1000  # the data served, and its age
    assert not bad.ok and bad.attempted_at == 1070 and bad.succeeded_at == 1002
    assert (bad.successes, bad.failures) == (1, 1)
    assert bad.error == "HTTP 503 ServiceUnavailable: busy"
    assert reports == [
        "refresh failed, serving the data of the last good one: HTTP 503 ServiceUnavailable: busy"
    ]


def test_fresh_means_a_success_within_two_intervals() -> None:
    wall = Clock()
    refresher = Refresher(lambda: "x", 60.0, wall=wall)
    assert not refresher.fresh()
    refresher.refresh()
    wall.now += 120
    assert refresher.fresh()
    wall.now += 1
    assert not refresher.fresh()


def test_the_first_refresh_raises_and_later_ones_do_not() -> None:
    def load() -> str:
        raise ApiError("HTTP 401 nope")

    refresher = Refresher(load, 60.0)
    with pytest.raises(ApiError):
        refresher.refresh(raise_errors=True)
    assert refresher.refresh().error == "HTTP 401 nope"


def test_a_bug_in_one_refresh_does_not_end_the_loop() -> None:
    def load() -> str:
        raise ValueError("odd")

    state = Refresher(load, 60.0).refresh()
    assert not state.ok and state.error == "unexpected ValueError: odd"


def test_the_thread_refreshes_until_closed() -> None:
    done = threading.Event()
    count = []

    def load() -> int:
        count.append(1)
        if len(count) >= 3:
            done.set()
        return len(count)

    refresher = Refresher(load, 0.01)
    refresher.start()
    try:
        assert done.wait(30)
    finally:
        assert refresher.close(timeout=30)
    assert refresher.state.successes >= 3


def test_closing_cuts_a_wait_inside_a_refresh_short() -> None:
    stop = threading.Event()
    sleep = stoppable_sleep(stop)
    waiting = threading.Event()
    outcome: list[str] = []

    def load() -> str:
        waiting.set()
        try:
            sleep(3600)  # a Retry-After, or the Resource Graph quota
        except Stopped:
            outcome.append("stopped")
            raise
        return "never"

    refresher = Refresher(load, 0.01, stop=stop)
    refresher.start()
    assert waiting.wait(30)
    assert refresher.close(timeout=30)
    assert outcome == ["stopped"]
    assert refresher.state.failures == 0  # a stop is not a failed refresh


def test_stoppable_sleep_sleeps_until_stopped() -> None:
    stop = threading.Event()
    sleep = stoppable_sleep(stop)
    sleep(0)  # returns
    stop.set()
    with pytest.raises(Stopped):
        sleep(3600)
