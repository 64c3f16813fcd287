"""The fleet reader's changes: a running job is shown by its Resource Graph row or, while it is
among the newest, by its own GET; moving between the two is no change of the job, so it gives
no ndjson line (a job that changes 3 times gives 4 lines, however its details come and go)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any, cast

from azbackupjobs.follow.fleet import FleetReader, FleetWatchOptions
from azbackupjobs.sources.base import JobQuery
from azbackupjobs.sources.filters import Window
from azbackupjobs.sources.fleet import ResourceGraphSource

VAULT = (
    "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg/providers"
    "/Microsoft.RecoveryServices/vaults/v"
)
A = "0e1e0281-1662-4cf9-bcfc-8b97eb11719d"
B = "73e47398-73a0-45fb-b56b-9997e6d84229"


def row(job: str, start: str, status: str = "InProgress") -> dict[str, Any]:
    """A Resource Graph row: no extendedInfo."""
    return {
        "id": f"{VAULT}/backupJobs/{job}",
        "name": job,
        "type": "microsoft.recoveryservices/vaults/backupjobs",
        "properties": {
            "jobType": "AzureIaaSVMJob",
            "entityFriendlyName": job[:4],
            "operation": "Backup",
            "status": status,
            "startTime": start,
        },
    }


def detail(job: str, start: str, progress: float) -> dict[str, Any]:
    """The job's own GET: its tasks and progress."""
    raw = row(job, start)
    raw["properties"]["extendedInfo"] = {
        "tasksList": [
            {
                "taskId": "Transfer data to vault",
                "status": "InProgress",
                "progressPercentage": progress,
            }
        ],
    }
    raw["properties"]["duration"] = f"PT{int(progress)}M"
    return raw


class Response:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


class ScriptedFleet:
    """Rows per tick, and each job's details as the vault API gives them."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.details: dict[str, dict[str, Any]] = {}
        self.gets: list[str] = []

    def time_limit(self, seconds: float | None) -> Any:
        return nullcontext()

    def running(self, query: JobQuery, **_: Any) -> list[dict[str, Any]]:
        return list(self.rows)

    def ref_of(self, raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def job_url(self, ref: str) -> str:
        return ref

    def fetch_job(self, ref: str, **_: Any) -> Response:
        name = ref.rsplit("/", 1)[1]
        self.gets.append(name)
        return Response(self.details[name])


def reader(fleet: ScriptedFleet) -> FleetReader:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    query = JobQuery(window=Window(now.replace(hour=0), now))
    options = FleetWatchOptions(details=True, detail_limit=1)
    source = cast(ResourceGraphSource, fleet)
    return FleetReader(source, query, options, clock=lambda: 0.0, wall=lambda: now)


def changed(report: Any) -> list[tuple[str, bool]]:
    return [(job.job_id, "extendedInfo" in job.raw["properties"]) for job in report.changed]


def test_a_job_losing_its_details_to_a_newer_one_is_no_change() -> None:
    fleet = ScriptedFleet()
    fleet.rows = [row(A, "2026-05-01T10:00:00Z")]
    fleet.details[A] = detail(A, "2026-05-01T10:00:00Z", 10)
    watcher = reader(fleet)
    assert changed(watcher.read()) == [(A, True)]  # first seen, by its details

    # B starts: the newest running job now has the one detail read; A is shown by its row.
    fleet.rows = [row(A, "2026-05-01T10:00:00Z"), row(B, "2026-05-01T11:00:00Z")]
    fleet.details[B] = detail(B, "2026-05-01T11:00:00Z", 5)
    assert changed(watcher.read()) == [(B, True)]
    assert changed(watcher.read()) == []  # nothing moved
    assert fleet.gets == [A, B, B]

    # A's row changes (it is cancelling): that is a change, shown by the row.
    fleet.rows[0] = row(A, "2026-05-01T10:00:00Z", status="Cancelling")
    assert changed(watcher.read()) == [(A, False)]

    # B's progress moves: its details change.
    fleet.details[B] = detail(B, "2026-05-01T11:00:00Z", 40)
    assert changed(watcher.read()) == [(B, True)]


def test_details_coming_back_unchanged_are_no_change() -> None:
    fleet = ScriptedFleet()
    a_row, b_row = row(A, "2026-05-01T10:00:00Z"), row(B, "2026-05-01T11:00:00Z")
    fleet.details = {A: detail(A, "2026-05-01T10:00:00Z", 10)}
    fleet.rows = [a_row]
    watcher = reader(fleet)
    assert changed(watcher.read()) == [(A, True)]
    fleet.details[B] = detail(B, "2026-05-01T11:00:00Z", 5)
    fleet.rows = [a_row, b_row]
    assert changed(watcher.read()) == [(B, True)]
    # B ends (it leaves the running set): A is the newest again and gets its details back,
    # as they were: no line for A.
    fleet.rows = [a_row, row(B, "2026-05-01T11:00:00Z", status="Completed")]
    fleet.rows[1]["properties"]["endTime"] = "2026-05-01T11:30:00Z"
    report = watcher.read()
    assert changed(report) == [(B, False)]
