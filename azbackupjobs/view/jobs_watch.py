"""What a watch of named jobs says (``watch JOB...``, ``--operation``, ``--all``, ``cancel
--wait``, ``demo``): the presenter that ``view.watching`` shows.

One job is shown in detail; several as a row each, with the running ones in detail as far as
the terminal allows. Piped, one plain line per change. At the end the final resource(s) and a
summary line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from azbackupjobs.follow.state import Snapshot, Tracked, Trouble
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.model.job import Job, JobStatus
from azbackupjobs.model.text import sanitize
from azbackupjobs.view.watching import Conclusion

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from azbackupjobs.view.watch_view import Now

_STYLES = {
    ExitCode.OK: "bold green",
    ExitCode.JOB_FAILED: "bold red",
    ExitCode.JOB_CANCELLED: "bold magenta",
    ExitCode.JOB_WARNINGS: "bold yellow",
    ExitCode.TIMEOUT: "bold yellow",
}


class JobsPresenter:
    """``multi``: several jobs (rows, and a job name in each plain line); ``array``: -o json
    prints an array; ``strict``: CompletedWithWarnings fails."""

    placeholder = "reading the job…"

    def __init__(
        self,
        *,
        multi: bool,
        array: bool,
        strict: bool = False,
        compact: bool = False,
        detail_limit: int = 3,
        summary: bool = True,
    ) -> None:
        self.multi = multi
        self.array = array
        self.strict = strict
        self.compact = compact
        self.detail_limit = detail_limit
        self.summary = summary
        self._trouble_shown: str | None = None
        self._missing_shown: set[str] = set()
        self._previous: dict[str, Job] = {}

    # ----- a terminal ------------------------------------------------------------------------
    def frame(self, snapshot: Snapshot, now: Now, console: Console) -> RenderableType:
        from azbackupjobs.view import watch_view

        return watch_view.frame(
            snapshot,
            now,
            compact=self.compact,
            detail_limit=self.detail_limit,
            height=console.size.height,
        )

    def last_frame(self, snapshot: Snapshot, now: Now, console: Console) -> RenderableType:
        # The last frame stays, without the "next update" line.
        return self.frame(replace(snapshot, finished=True, trouble=None), now, console)

    # ----- pipes and scripts -----------------------------------------------------------------
    def lines(self, snapshot: Snapshot, now: Now) -> list[str]:
        from azbackupjobs.view import watch_view

        found: list[str] = []
        for job in snapshot.changed:
            # By identity: the service's ``name`` may differ from the id asked for (casing).
            tracked = next((t for t in snapshot.jobs if t.job is job), None)
            key = tracked.job_id if tracked is not None else job.job_id
            found.append(
                watch_view.plain_line(
                    self._previous.get(key),
                    job,
                    now,
                    elapsed=watch_view.elapsed_of(tracked, now) if tracked else None,
                    multi=self.multi,
                )
            )
            self._previous[key] = job
        return found

    def notes(self, snapshot: Snapshot, now: Now) -> list[str]:
        """Passing trouble and not-yet-visible jobs, once each."""
        from azbackupjobs.view.watch_view import countdown, trouble_text

        found: list[str] = []
        trouble = snapshot.trouble
        if trouble is None:
            self._trouble_shown = None
        elif not snapshot.done and (
            self._trouble_shown != trouble.reason or trouble.failures % 5 == 0
        ):
            self._trouble_shown = trouble.reason
            found.append("azjobs: " + trouble_text(trouble, countdown(snapshot.next_poll_at, now)))
        for tracked in snapshot.jobs:
            if tracked.missing_since is not None and tracked.job_id not in self._missing_shown:
                self._missing_shown.add(tracked.job_id)
                found.append(
                    f"azjobs: job {tracked.job_id} is not visible yet; waiting for "
                    "the service to show it"
                )
        return found

    # ----- the end -----------------------------------------------------------------------------
    def final(self, last: Snapshot | None) -> tuple[Any, Sequence[Job]]:
        seen = [t.job for t in last.jobs if t.job is not None] if last is not None else []
        if self.array:
            return [dict(j.raw) for j in seen], seen
        return (dict(seen[0].raw) if seen else None), seen

    def conclusion(self, last: Snapshot | None, now: Now, code: ExitCode) -> Conclusion | None:
        jobs: list[Tracked] = last.jobs if last is not None else []
        timed_out = last is not None and last.timed_out
        text = self._summary(jobs, now, timed_out, last.trouble if last is not None else None)
        if not self.summary or not text:
            return None
        # The plain lines said how one job ended: its last line is the summary.
        told = not (self.multi or timed_out)
        return Conclusion(text, style=_STYLES.get(code, "bold"), told=told)

    def _summary(
        self, jobs: list[Tracked], now: Now, timed_out: bool, trouble: Trouble | None
    ) -> str:
        from azbackupjobs.view.watch_view import summary_line

        if not jobs:
            return ""
        if len(jobs) == 1:
            return summary_line(jobs[0], now, timed_out=timed_out, trouble=trouble)
        counts: dict[str, int] = {}
        for tracked in jobs:
            job = tracked.job
            label = (
                _never_read(tracked, trouble)
                if job is None
                else job.status_words()
                if job.is_terminal
                else "still running"
            )
            counts[label] = counts.get(label, 0) + 1
        text = ", ".join(f"{n} {sanitize(label, 60)}" for label, n in counts.items())
        return f"{len(jobs)} jobs: {text}" + (" (timed out)" if timed_out else "")

    def warnings(self, last: Snapshot | None) -> list[tuple[bool, str]]:
        """Jobs that completed with warnings: a warning, or under ``--strict`` why exit 8."""
        from azbackupjobs.view.watch_view import warning_text

        found: list[tuple[bool, str]] = []
        for tracked in last.jobs if last is not None else []:
            job = tracked.job
            if (
                job is not None
                and job.is_terminal
                and job.status is JobStatus.COMPLETED_WITH_WARNINGS
                and not job.was_cancelled
            ):
                text = warning_text(job)
                if self.strict:
                    found.append((False, f"azjobs: {text} (--strict: exit 8)"))
                else:
                    found.append((True, text))
        return found


def _never_read(tracked: Tracked, trouble: Trouble | None) -> str:
    """A job the watch never saw: not visible (404) when the service said so, else what every
    read of it met."""
    if tracked.missing_since is not None or trouble is None:
        return "not visible"
    return f"never read ({trouble.reason})"
