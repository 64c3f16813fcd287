"""A view redrawn in place on a terminal, once per poll and lightly in between.

rich's ``Live`` with ``auto_refresh=False``: the frame is drawn when the loop yields, and every
``step`` seconds while it sleeps (so spinners, elapsed times and countdowns move between polls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]


def refreshing_sleep(sleep: Sleep, clock: Clock, step: float, redraw: Callable[[], None]) -> Sleep:
    """A sleep that calls ``redraw`` every ``step`` seconds meanwhile, so that a live view's
    spinner, elapsed time and countdown move between polls."""

    def nap(seconds: float) -> None:
        end = clock() + seconds
        while True:
            left = end - clock()
            if left <= 0:
                return
            sleep(min(left, step))
            redraw()

    return nap


def live_view(
    console: Any,
    placeholder: str,
    start: Callable[[Sleep], Iterator[T]],
    draw: Callable[[T], Any],
    *,
    sleep: Sleep,
    clock: Clock,
    step: float,
    last_frame: Callable[[T], Any] | None = None,
) -> T | None:
    """Show ``draw(item)`` in place for each item that ``start(sleep)`` yields, redrawing the
    latest every ``step`` seconds in between; returns the last item. Interrupted, the view
    keeps ``last_frame(item)`` when given (the output stays readable after Ctrl+C)."""
    from rich.live import Live
    from rich.text import Text

    current: T | None = None
    live = Live(
        Text(placeholder, style="dim"),
        console=console,
        auto_refresh=False,
        transient=False,
        screen=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )

    def redraw() -> None:
        if current is not None:
            live.update(draw(current), refresh=True)

    with live:
        try:
            for item in start(refreshing_sleep(sleep, clock, step, redraw)):
                current = item
                live.update(draw(item), refresh=True)
        except BaseException:
            if current is not None and last_frame is not None:
                live.update(last_frame(current))
            raise
    return current
