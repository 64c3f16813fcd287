"""What ``watch --fleet`` says: the presenter that ``view.watching`` shows.

Live, a header (how many jobs run in how many vaults, how many ended), the running jobs, the last
ones that ended, and the details of the newest running ones when read. Piped, one plain line per
job that starts or ends. At the end every watched job, and a count of how they ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text

from azbackupjobs.follow.state import Snapshot
from azbackupjobs.model import ids
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.model.job import Job
from azbackupjobs.model.text import clean, sanitize
from azbackupjobs.view.list_view import jobs_table, vault_label
from azbackupjobs.view.render import STATUS_SYMBOLS, title_of
from azbackupjobs.view.watching import Conclusion

if TYPE_CHECKING:
    from rich.console import Console

    from azbackupjobs.view.watch_view import Now

ENDED_SHOWN = 5


def _count_phrase(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _running(snapshot: Snapshot) -> list[Job]:
    return [t.job for t in snapshot.jobs if t.job is not None and t.running]


def _ended(snapshot: Snapshot) -> list[Job]:
    return [t.job for t in snapshot.jobs if t.job is not None and t.ended]


def watch_header(snapshot: Snapshot, *, next_in: int | None, spin: str = "") -> Text:
    """``⠋ 7 jobs running in 3 vaults · 2 ended: 1 Failed, 1 Completed · next in 9 s``."""
    running, ended = _running(snapshot), _ended(snapshot)
    vaults = {ids.vault_of_id(j.id) for j in running}
    line = Text()
    if spin:
        line.append(spin + " ", style="cyan")
    line.append(
        f"{_count_phrase(len(running), 'job')} running in {_count_phrase(len(vaults), 'vault')}",
        style="bold",
    )
    if ended:
        counts: dict[str, int] = {}
        for job in ended:
            label = job.status_words()
            counts[label] = counts.get(label, 0) + 1
        line.append(
            f" · {len(ended)} ended: " + ", ".join(f"{n} {label}" for label, n in counts.items())
        )
    if snapshot.polled_wall is not None:
        line.append(f" · updated {snapshot.polled_wall.astimezone():%H:%M:%S}", style="dim")
    if next_in is not None:
        line.append(f" · next in {next_in} s", style="dim")
    if snapshot.trouble is not None:
        line.append(f" · {sanitize(snapshot.trouble.reason, 80)}; retrying", style="yellow")
    return line


def watch_frame(
    snapshot: Snapshot,
    *,
    width: int | None,
    height: int | None,
    next_in: int | None,
    spin: str = "",
) -> RenderableType:
    """The live view: the header, the running jobs, the last ended ones, and the details read
    through the vault API (``--details``)."""
    from azbackupjobs.view.watch_view import live_task_table

    parts: list[RenderableType] = [watch_header(snapshot, next_in=next_in, spin=spin)]
    tracked = [t for t in snapshot.jobs if t.running]
    running = [t.latest for t in tracked if t.latest is not None]
    details = [t.detail for t in tracked if t.detail is not None]
    room = max(5, (height or 40) - 14 - (6 * len(details)))
    if running:
        shown = running[:room]
        caption = f"and {len(running) - len(shown)} more" if len(running) > len(shown) else None
        parts.append(jobs_table(shown, width=width, caption=caption, vaults=True))
    ended = _ended(snapshot)
    if ended:
        recent = list(reversed(ended))[:ENDED_SHOWN]
        more = len(ended) - len(recent)
        parts.append(
            jobs_table(
                recent,
                width=width,
                title="Ended while watching",
                caption=f"and {more} earlier" if more > 0 else None,
                vaults=True,
            )
        )
    for detail in details:
        title = Text(f"{title_of(detail)} · {sanitize(vault_label(detail), 80)}", style="bold")
        parts.append(Group(title, live_task_table(detail)) if detail.tasks else title)
    return Group(*parts)


def watch_event_line(event: str, job: Job, at: datetime) -> str:
    """A plain line for pipes: ``20:51:03  ended    ✖ Failed  Backup of vm1  rg/vault  GUID``."""
    stamp = at.astimezone().strftime("%H:%M:%S")
    status = f"{STATUS_SYMBOLS[job.shown_status]} {job.status_words()}"
    return (
        f"{stamp}  {event:<8} {status:<24} {title_of(job)}  "
        f"{sanitize(vault_label(job), 80)}  {clean(job.job_id)}"
    )


def summary(snapshot: Snapshot | None) -> str:
    """``12 jobs watched: 10 Completed, 1 Failed, 1 still running``."""
    if snapshot is None:
        return ""
    counts: dict[str, int] = {}
    for job in _ended(snapshot):
        label = job.status_words()
        counts[label] = counts.get(label, 0) + 1
    running = _running(snapshot)
    if running:
        counts["still running"] = len(running)
    if snapshot.unknown:
        counts["ended (outcome not visible)"] = len(snapshot.unknown)
    total = sum(counts.values())
    if not total:
        return "no job is running in the fleet"
    text = ", ".join(f"{n} {label}" for label, n in counts.items())
    return f"{total} job{'s' if total != 1 else ''} watched: {text}" + (
        " (timed out)" if snapshot.timed_out else ""
    )


class FleetPresenter:
    """A fleet's watch; ``where`` names the scope (``every subscription ...``)."""

    placeholder = "querying Resource Graph…"

    def __init__(self, where: str) -> None:
        self.where = where
        self._trouble_shown: str | None = None

    def frame(self, snapshot: Snapshot, now: Now, console: Console) -> RenderableType:
        from azbackupjobs.view.watch_view import spinner

        next_in = None
        if snapshot.next_poll_at is not None:
            next_in = max(0, round(snapshot.next_poll_at - now.mono))
        return watch_frame(
            snapshot,
            width=console.width,
            height=console.size.height,
            next_in=next_in,
            spin="" if snapshot.done else spinner(now.mono),
        )

    def last_frame(self, snapshot: Snapshot, now: Now, console: Console) -> RenderableType | None:
        return None

    def lines(self, snapshot: Snapshot, now: Now) -> list[str]:
        event = "running" if snapshot.ticks == 1 else "started"
        found = [watch_event_line(event, job, now.utc) for job in reversed(snapshot.newly_started)]
        found += [watch_event_line("ended", job, now.utc) for job in snapshot.newly_ended]
        return found

    def notes(self, snapshot: Snapshot, now: Now) -> list[str]:
        reason = snapshot.trouble.reason if snapshot.trouble is not None else None
        if reason == self._trouble_shown:
            return []
        self._trouble_shown = reason
        return [f"azjobs: Resource Graph: {reason}; retrying"] if reason else []

    def final(self, last: Snapshot | None) -> tuple[Any, Sequence[Job]]:
        if last is None:
            return [], []
        ended = [t.job for t in last.jobs if t.job is not None and t.ended]
        running = [t.latest for t in last.jobs if t.latest is not None and t.running]
        watched = ended + running
        return [dict(j.raw) for j in watched], watched

    def conclusion(self, last: Snapshot | None, now: Now, code: ExitCode) -> Conclusion | None:
        if last is not None and last.ticks == 1 and last.finished and not _ended(last):
            line = f"no job is running in {self.where}"
        else:
            line = summary(last)
        return Conclusion(line, style="bold", note=f"azjobs: {line}")

    def warnings(self, last: Snapshot | None) -> list[tuple[bool, str]]:
        return []
