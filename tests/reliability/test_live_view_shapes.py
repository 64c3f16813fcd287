"""The several-jobs rows and the piped lines read alike, whatever the jobs' names.

A narrow terminal cuts long job names; a column whose cells have a short form shows it in
every row, so a workload job (``salesdb [sql-vm-01]``) does not lose its operation next to
``Backup of web-02``. Piped ``watch -o table`` lines all have one shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from azbackupjobs.model.job import Job
from azbackupjobs.view.linetable_view import Cell, Column, LineTable
from azbackupjobs.view.watch_view import Now, plain_line


def rendered(table: LineTable, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


def test_a_narrowed_name_column_shows_every_name_the_same_way() -> None:
    names = ["Backup of web-02", "Backup of salesdb [sql-vm-01] on a long instance name"]
    rows = [
        [Cell((n, ""), short=Cell((n.partition(" of ")[2], ""))), Cell(("InProgress", ""))]
        for n in names
    ]
    table = LineTable([Column("Job"), Column("Status")], rows, shrink=[(0, 10)])
    lines = rendered(table, 50)[2:]
    assert all(" of " not in line for line in lines), lines  # one form for the whole column
    assert lines[0].startswith("web-02")
    wide = rendered(table, 120)[2:]
    assert all(" of " in line for line in wide), wide


def job(status: str, percent: float | None) -> Job:
    props: dict[str, object] = {
        "jobType": "AzureIaaSVMJob",
        "entityFriendlyName": "vm1",
        "operation": "Backup",
        "status": status,
        "startTime": "2026-12-07T10:00:00Z",
    }
    if percent is not None:
        props["extendedInfo"] = {"progressPercentage": percent, "tasksList": []}
    return Job.from_dict({"name": "1d2e360b-e4c3-4787-9200-c4bad81f70c8", "properties": props})


def test_every_piped_line_has_one_shape() -> None:
    now = Now(0.0, datetime(2026, 12, 7, 10, 30, tzinfo=UTC))
    first = plain_line(None, job("InProgress", 10.0), now)
    same = plain_line(job("InProgress", 10.0), job("InProgress", 10.4), now)
    later = plain_line(job("InProgress", 10.4), job("InProgress", 91.0), now)
    for line in (first, same, later):
        head = line.split(": ", 1)[1].split(";")[0]
        assert head.startswith("InProgress, ") and head.endswith("% done"), line
