"""End to end: the installed ``azjobs watch`` against the in-process emulator.

The watches run side by side (one process each). The emulator runs in real time until every
watcher has read its job once (so the first poll always sees a running job, however slowly the
processes start on a busy machine), then emulated time is pushed forward with ``advance()``.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest

from azbackupjobs.emulator import EmulatorHandle
from azbackupjobs.model.job import change_key
from tests.harness import EmulatorFactory, finished, spawn_cli

pytestmark = pytest.mark.e2e

SHORT = [("Take Snapshot", 100.0), ("Transfer data to vault", 300.0)]
LONG = [("Take Snapshot", 3600.0), ("Transfer data to vault", 36000.0)]


@pytest.fixture
def emu(emulator_factory: EmulatorFactory) -> EmulatorHandle:
    return emulator_factory(seed=11, seed_data=False, speed=1.0)


def read_once(emu: EmulatorHandle, watchers: dict[str, int], limit: float = 60.0) -> None:
    """Wait (in real time) until each job was read by as many watchers (one connection each)
    as it has."""
    end = time.monotonic() + limit
    while True:
        readers: dict[str, set[str]] = {job_id: set() for job_id in watchers}
        for r in emu.request_log:
            job_id = r.path.rsplit("/", 1)[-1]
            if r.method == "GET" and r.status == 200 and job_id in readers:
                readers[job_id].add(r.client)
        if all(len(readers[j]) >= n for j, n in watchers.items()):
            return
        assert time.monotonic() < end, "the watchers never read their jobs"
        time.sleep(0.05)


def run_time_forward(
    emu: EmulatorHandle, procs: list[subprocess.Popen[str]], step: float = 100.0
) -> None:
    """Move emulated time on (about 1000 emulated seconds per real second) until all exit."""
    end = time.monotonic() + 60
    while any(p.poll() is None for p in procs):
        assert time.monotonic() < end, "the watchers did not end"
        emu.advance(step)
        time.sleep(0.1)


def ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_exit_codes_and_ndjson_against_the_emulator(emu: EmulatorHandle) -> None:
    completed = emu.add_job(entity="vm-ok", tasks=SHORT)
    failed = emu.add_job(entity="vm-bad", tasks=SHORT, outcome="Failed")
    warned = emu.add_job(entity="vm-warn", tasks=SHORT, outcome="CompletedWithWarnings")
    cancelled = emu.add_job(entity="vm-cancel", tasks=SHORT, cancel_after=150, cancel_seconds=20)
    running = emu.add_job(entity="vm-long", tasks=LONG)
    missing = "00000000-0000-4000-8000-000000000000"
    common = ("--interval", "1")
    procs = {
        "completed": spawn_cli("watch", completed, *common, "-o", "ndjson", env=emu.env()),
        "failed": spawn_cli("watch", failed, *common, "-o", "ndjson", env=emu.env()),
        "strict": spawn_cli("watch", warned, *common, "--strict", "-o", "json", env=emu.env()),
        "warned": spawn_cli("watch", warned, *common, "-o", "json", env=emu.env()),
        "cancelled": spawn_cli("watch", cancelled, *common, "-o", "ndjson", env=emu.env()),
        "timeout": spawn_cli(
            "watch", running, *common, "--timeout", "2", "-o", "json", env=emu.env()
        ),
        "several": spawn_cli(
            "watch", completed, failed, cancelled, *common, "-o", "json", env=emu.env()
        ),
        "piped": spawn_cli("watch", completed, *common, "-o", "table", env=emu.env()),
        "missing": spawn_cli("watch", missing, *common, "--grace", "0", env=emu.env()),
        "bad-token": spawn_cli(
            "watch", completed, *common, env={**emu.env(), "AZJOBS_ACCESS_TOKEN": "not-the-token"}
        ),
    }
    read_once(emu, {completed: 3, failed: 2, warned: 2, cancelled: 2})
    run_time_forward(emu, [p for name, p in procs.items() if name != "timeout"])
    results = {name: finished(proc) for name, proc in procs.items()}

    code, out, err = results["completed"]
    assert code == 0, err
    lines = ndjson(out)
    assert lines[0]["properties"]["status"] == "InProgress"
    assert lines[-1]["properties"]["status"] == "Completed"
    assert all(line["name"] == completed for line in lines)
    keys = [json.dumps(change_key(line), sort_keys=True) for line in lines]
    assert len(set(keys)) == len(keys)  # one line per change; a growing duration is none
    assert "Backup of vm-ok Completed in" in err

    code, out, err = results["failed"]
    assert code == 6, err
    assert ndjson(out)[-1]["properties"]["status"] == "Failed"

    assert results["strict"][0] == 8
    code, out, err = results["warned"]
    assert code == 0 and "warning:" in err
    assert json.loads(out)["properties"]["status"] == "CompletedWithWarnings"

    code, out, err = results["cancelled"]
    assert code == 7, err
    final = ndjson(out)[-1]["properties"]
    assert final["status"] in {"Cancelled", "CompletedWithWarnings"}

    code, out, err = results["timeout"]
    assert code == 5, err
    assert json.loads(out)["properties"]["status"] == "InProgress"

    code, out, err = results["several"]
    assert code == 6, err
    assert [j["name"] for j in json.loads(out)] == [completed, failed, cancelled]

    code, out, err = results["piped"]
    assert code == 0 and "\x1b" not in out
    assert "Backup of vm-ok: Completed in" in out.splitlines()[-1]

    code, out, err = results["missing"]
    assert code == 3 and out == ""
    assert err.count("\n") <= 3 and "Traceback" not in err

    code, out, err = results["bad-token"]
    assert code == 4 and out == "" and "Traceback" not in err
    assert "not-the-token" not in err


def test_operation_and_all(emu: EmulatorHandle) -> None:
    emu.add_vault(vms=["vm-op"])
    op_id, job_id = emu.trigger_backup("vm-op")
    emu.advance(10)  # the service shows a triggered job after a moment
    other = emu.add_job(entity="vm-other", tasks=SHORT)
    by_op = spawn_cli(
        "watch", "--operation", op_id, "--interval", "1", "-o", "ndjson", env=emu.env()
    )
    every = spawn_cli("watch", "--all", "--interval", "1", "-o", "json", env=emu.env())
    read_once(emu, {job_id: 2, other: 1})
    run_time_forward(emu, [by_op, every])
    code, out, err = finished(by_op)
    assert code == 0, err
    lines = ndjson(out)
    assert lines[0]["name"] == job_id and lines[0]["properties"]["status"] == "InProgress"
    assert lines[-1]["properties"]["status"] == "Completed"
    code, out, err = finished(every)
    assert code == 0, err
    names = {j["name"] for j in json.loads(out)}
    assert {other, job_id} <= names
