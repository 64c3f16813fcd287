"""Regenerate the README's pictures: SVGs rendered by rich from azjobs' own renderers.

The data comes from the built-in emulator (a running backup, a failed one, a restore with
progress), so the pictures show exactly what the tool shows. Run from the repository root:

    python scripts/screenshots.py            # writes docs/images/*.svg
"""

from __future__ import annotations

import io
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console, RenderableType

from azbackupjobs.emulator import start_emulator
from azbackupjobs.follow.poll import Snapshot, Tracked
from azbackupjobs.model.job import Job
from azbackupjobs.view import render, watch_view
from azbackupjobs.view.list_view import jobs_table

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
WIDTH = 100


def save(out: Path, name: str, title: str, renderable: RenderableType) -> Path:
    console = Console(
        record=True, width=WIDTH, force_terminal=True, color_system="truecolor", file=io.StringIO()
    )
    console.print(renderable)
    path = out / f"{name}.svg"
    path.write_text(console.export_svg(title=title), encoding="utf-8")
    return path


def main(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with start_emulator(seed=7, speed=1.0, seed_data=False) as emu:
        backup = emu.add_job(
            job_type="AzureIaaSVMJob",
            operation="Backup",
            entity="web-01",
            tasks=[("Take Snapshot", 180), ("Transfer data to vault", 1200)],
            outcome="Completed",
            start_offset=-800,
            transfer_gb=127,
        )
        failed = emu.add_job(
            job_type="AzureWorkloadJob",
            operation="Backup (Full)",
            entity="SALESDB [sql-vm-01.contoso.com]",
            workload_type="SQLDataBase",
            tasks=[("Transfer data to vault", 200)],
            outcome="Failed",
            start_offset=-3600,
        )
        others = [
            emu.add_job(
                job_type="AzureIaaSVMJob",
                operation="Restore",
                entity="app-01",
                tasks=[("Transfer data from vault", 3000)],
                outcome="Completed",
                start_offset=-600,
                transfer_gb=64,
            ),
            emu.add_job(
                job_type="AzureStorageJob",
                operation="Backup",
                entity="finance-share",
                tasks=[("Take Snapshot", 60)],
                outcome="Completed",
                start_offset=-5400,
            ),
        ]
        bodies = {job_id: emu.job_body(job_id) for job_id in [backup, failed, *others]}
    now = datetime.now(UTC)
    jobs = {job_id: Job.from_dict(body) for job_id, body in bodies.items()}

    written = [
        save(out, "get", "azjobs get", render.job_view(jobs[backup], now)),
        save(out, "get-failed", "azjobs get (a failed job)", render.job_view(jobs[failed], now)),
    ]
    mono = time.monotonic()
    tracked = [
        Tracked(job_id=jid, job=job, last_update=mono - 2, detail_at=mono - 2)
        for jid, job in jobs.items()
    ]
    single = Snapshot(
        jobs=[tracked[0]], started=mono - 30, polled_at=mono - 2, next_poll_at=mono + 8, interval=10
    )
    several = Snapshot(
        jobs=tracked, started=mono - 30, polled_at=mono - 2, next_poll_at=mono + 8, interval=10
    )
    at = watch_view.Now(mono=mono, utc=now)
    written.append(save(out, "watch", "azjobs watch", watch_view.frame(single, at)))
    written.append(
        save(
            out,
            "watch-several",
            "azjobs watch JOB1 JOB2 ...",
            watch_view.frame(several, at, detail_limit=1),
        )
    )
    written.append(save(out, "list", "azjobs list", jobs_table(list(jobs.values()), width=WIDTH)))
    return written


if __name__ == "__main__":
    for written_path in main():
        print(written_path)
    sys.exit(0)
