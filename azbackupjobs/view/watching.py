"""The one view of a watch, whatever is watched: jobs named by the user, or a fleet's running
jobs.

On a terminal a live view redrawn in place; piped with ``-o table`` plain append-only lines;
with ``-o ndjson`` one line per change; with ``-o json`` (or ``tsv``) the final resources; and in
every form the same last word, notes and exit code. What the frames and lines say is the
presenter's business (``jobs_watch`` for named jobs, ``fleet_watch_view`` for a fleet); which
of them reach stdout is ``Output``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from azbackupjobs.follow.state import Snapshot
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.view.output import Environment, Output

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from azbackupjobs.model.job import Job
    from azbackupjobs.view.watch_view import Now

# How often the live view redraws between polls (spinner, elapsed time, countdown).
LIVE_REFRESH_SECONDS = 0.25

Sleep = Callable[[float], None]
Clock = Callable[[], float]
Wall = Callable[[], datetime]


@dataclass(frozen=True)
class Conclusion:
    """The last word of a watch: ``text`` (drawn in ``style`` under a live view), whether the
    plain lines ``told`` it already, and its form as a note on stderr."""

    text: str
    style: str = "bold"
    told: bool = False
    note: str | None = None


class Presenter(Protocol):
    """What one kind of watch says; pure functions of the snapshots and the time."""

    @property
    def placeholder(self) -> str:
        """Shown live until the first answer."""

    def frame(self, snapshot: Snapshot, now: Now, console: Console) -> RenderableType:
        """The live view."""

    def last_frame(self, snapshot: Snapshot, now: Now, console: Console) -> RenderableType | None:
        """What stays on the terminal when the watch is interrupted (None: the last frame)."""

    def lines(self, snapshot: Snapshot, now: Now) -> list[str]:
        """Plain lines for logs: what changed in this snapshot."""

    def notes(self, snapshot: Snapshot, now: Now) -> list[str]:
        """Notes for stderr while watching without a live view (passing trouble...)."""

    def final(self, last: Snapshot | None) -> tuple[Any, Sequence[Job]]:
        """What ``-o json`` prints at the end (None: nothing), and the jobs of ``-o tsv``."""

    def conclusion(self, last: Snapshot | None, now: Now, code: ExitCode) -> Conclusion | None:
        """The summary line."""

    def warnings(self, last: Snapshot | None) -> list[tuple[bool, str]]:
        """After the summary: (is a warning, text) for stderr."""


def watch_view(
    out: Output,
    start: Callable[[Sleep], Iterator[Snapshot]],
    presenter: Presenter,
    *,
    live: bool,
    strict: bool,
    bell: bool = False,
    sleep: Sleep,
    clock: Clock,
    wall: Wall,
) -> int:
    """Run the watch that ``start(sleep)`` yields and show it; return the exit code (6 over 7
    over 8 over 0 by the jobs' outcomes, 5 when the timeout came first)."""

    def now() -> Now:
        from azbackupjobs.view.watch_view import Now

        return Now(clock(), wall())

    def checked(sleep: Sleep) -> Iterator[Snapshot]:
        """The snapshots, the first one with something to show checked against ``--query``:
        an expression that fails on the data fails now, not after the jobs ended."""
        query = out.query
        for snapshot in start(sleep):
            if query is not None:
                data, _ = presenter.final(snapshot)
                if data is not None and data != []:
                    query.apply(data)
                    query = None
            yield snapshot

    seen: list[Snapshot] = []

    def kept(sleep: Sleep) -> Iterator[Snapshot]:
        for snapshot in checked(sleep):
            seen[:] = [snapshot]
            yield snapshot

    try:
        if live:
            last = _live(out, kept, presenter, now, sleep=sleep, clock=clock)
        else:
            last = _stream(out, kept(sleep), presenter, now)
    except KeyboardInterrupt:
        running = sum(1 for t in seen[0].jobs if not t.ended) if seen else None
        if running is None:
            out.note("azjobs: stopped watching")
        else:
            verb = "keeps" if running == 1 else "keep"
            out.note(
                f"azjobs: stopped watching; {running} job{'s' * (running != 1)} {verb} running"
            )
        raise
    return _finish(out, presenter, last, now(), was_live=live, strict=strict, bell=bell)


def _live(
    out: Output,
    start: Callable[[Sleep], Iterator[Snapshot]],
    presenter: Presenter,
    now: Callable[[], Now],
    *,
    sleep: Sleep,
    clock: Clock,
) -> Snapshot | None:
    from azbackupjobs.view.live import live_view

    console = out.console

    def last_frame(snapshot: Snapshot) -> Any:
        drawn = presenter.last_frame(snapshot, now(), console)
        return drawn if drawn is not None else presenter.frame(snapshot, now(), console)

    return live_view(
        console,
        presenter.placeholder,
        start,
        lambda snapshot: presenter.frame(snapshot, now(), console),
        sleep=sleep,
        clock=clock,
        step=LIVE_REFRESH_SECONDS,
        last_frame=last_frame,
    )


def _stream(
    out: Output, snapshots: Iterator[Snapshot], presenter: Presenter, now: Callable[[], Now]
) -> Snapshot | None:
    last: Snapshot | None = None
    for snapshot in snapshots:
        last = snapshot
        moment = now()
        for job in snapshot.changed:
            out.change(dict(job.raw))
        if out.in_lines:
            for text in presenter.lines(snapshot, moment):
                out.line(text)
        for text in presenter.notes(snapshot, moment):
            out.note(text)
    return last


def _finish(
    out: Output,
    presenter: Presenter,
    last: Snapshot | None,
    now: Now,
    *,
    was_live: bool,
    strict: bool,
    bell: bool,
) -> int:
    from azbackupjobs.view.rows import job_tsv_row

    data, jobs = presenter.final(last)
    out.final(data, tsv=lambda: [job_tsv_row(dict(j.raw)) for j in jobs])
    code = last.exit_code(strict) if last is not None else ExitCode.OK
    said = presenter.conclusion(last, now, code)
    if said is not None:
        if was_live:
            from rich.text import Text

            out.render(Text(said.text, style=said.style))
        else:
            out.conclusion(said.text, told=said.told, note=said.note)
    for warning, text in presenter.warnings(last):
        (out.warn if warning else out.note)(text)
    if last is not None and last.timed_out:
        still = sum(1 for t in last.jobs if not t.ended)
        out.note(f"azjobs: --timeout elapsed with {still} job(s) still running (they keep running)")
    elif last is not None and last.stopped_early:
        out.note("azjobs: --fail-fast: stopped at the first failure (the other jobs keep running)")
    if bell:
        ring_bell(out.env)
    return int(code)


def ring_bell(env: Environment) -> None:
    """``--bell``: on whichever of stdout and stderr is a terminal (never into a pipe)."""
    stream = env.stdout if env.stdout_isatty else env.stderr if env.stderr_isatty else None
    if stream is not None:
        try:
            stream.write("\a")
            stream.flush()
        except OSError:
            pass
