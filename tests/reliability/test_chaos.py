"""Chaos: the installed ``azjobs watch`` on 20 emulator jobs while 30% of requests fail.

Every fault kind is on (429 with Retry-After, 500, 503, reset connections, slow answers, bodies
cut short). Sixteen watch processes run side by side, each against an emulator of its own (the
emulator throttles per bearer token, as ARM throttles per principal, so a shared emulator would
throttle one process for another's 429), some with one job and some with several. Emulated time
runs 60 times faster than real time, so the jobs take about eight seconds.

Every watch must end with its jobs' true final status (as the emulator has it) and the matching
exit code; no request may reach the emulator before a Retry-After it sent has elapsed (it
records such a request as ``429-early``); stderr never holds a traceback.

The emulators' seeds are chosen so that the first request of every watch meets a fault, the
kinds taken in turn: every kind is injected, however few requests a loaded machine leaves time
for (a watch that starts late sees its jobs ended at its first poll).
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs.emulator import FAULT_KINDS, EmulatorHandle
from azbackupjobs.emulator import server as emulator_server
from azbackupjobs.emulator.faults import FaultPlan
from tests.harness import EmulatorFactory, finished, spawn_cli
from tests.reliability.conftest import Figures
from tests.reliability.reliability_harness import assert_no_traceback

pytestmark = pytest.mark.e2e

SPEED = 60.0
FAULT_RATE = 0.3
SLOW_SECONDS = 0.6
SNAPSHOT, TRANSFER = 120.0, 360.0  # emulated seconds: 8 s of real time in all
START_OFFSET = 180.0  # emulated seconds: 3 s of real time
RETRY_AFTER = 120  # emulated seconds: 2 s of real time
EXIT_BY_OUTCOME = {"Completed": 0, "CompletedWithWarnings": 0, "Failed": 6, "Cancelled": 7}


@dataclass(frozen=True)
class Planned:
    outcome: str  # Completed, Failed, CompletedWithWarnings, or Cancelled (cancelled midway)


# Sixteen processes, twenty jobs: fourteen watch one job each, two watch three jobs each.
C, F, W, X = (
    Planned("Completed"),
    Planned("Failed"),
    Planned("CompletedWithWarnings"),
    Planned("Cancelled"),
)
PLAN: tuple[tuple[Planned, ...], ...] = (
    (C,),
    (F,),
    (W,),
    (X,),
    (C,),
    (F,),
    (C,),
    (X,),
    (W,),
    (C,),
    (F,),
    (C,),
    (X,),
    (C,),
    (C, C, W),
    (C, X, F),
)
OUTPUTS = ("json", "ndjson") * 8


def add_job(emu: EmulatorHandle, planned: Planned, n: int) -> str:
    """A job that starts a few seconds from now: the processes are running by then (sixteen
    Python start-ups take a while on two cores), and the first polls meet the service's lag
    after a trigger (404 until the job shows)."""
    tasks = [("Take Snapshot", SNAPSHOT), ("Transfer data to vault", TRANSFER)]
    if planned.outcome == "Cancelled":
        return emu.add_job(
            entity=f"vm-chaos-{n}",
            tasks=tasks,
            cancel_after=SNAPSHOT + 60,
            cancel_seconds=30,
            start_offset=START_OFFSET,
        )
    return emu.add_job(
        entity=f"vm-chaos-{n}", tasks=tasks, outcome=planned.outcome, start_offset=START_OFFSET
    )


def true_exit(body: dict[str, Any]) -> int:
    """The exit code a job stands for, from the emulator's own body of it: a VM backup cancelled
    during its transfer ends CompletedWithWarnings with error 400158, which is a cancellation."""
    props = body["properties"]
    errors = props.get("errorDetails") or []
    if props["status"] == "CompletedWithWarnings" and any(
        str(e.get("errorCode")) == "400158" for e in errors
    ):
        return 7
    return EXIT_BY_OUTCOME[props["status"]]


def worst(codes: list[int]) -> int:
    for code in (6, 7, 8, 0):
        if code in codes:
            return code
    return 0


def seeds_failing_first(count: int) -> list[int]:
    """``count`` emulator seeds whose fault plan fails the first request, with each fault kind in
    turn (the plan draws from an RNG seeded with the emulator's seed, request by request)."""
    kinds = itertools.cycle(FAULT_KINDS)
    wanted = next(kinds)
    seeds: list[int] = []
    for seed in range(100, 100_000):
        if FaultPlan(FAULT_RATE, FAULT_KINDS, seed).choose() == wanted:
            seeds.append(seed)
            if len(seeds) == count:
                return seeds
            wanted = next(kinds)
    raise AssertionError(f"no seed fails its first request with {wanted}")


@pytest.fixture
def emulators(
    emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> list[EmulatorHandle]:
    # A Retry-After longer than the poll interval (2 s instead of 1 s at this speed): a client
    # that ignored it would poll again too early, and the emulator would record that.
    monkeypatch.setattr(emulator_server, "RETRY_AFTER_THROTTLED", RETRY_AFTER)
    return [
        emulator_factory(
            seed=seed,
            seed_data=False,
            speed=SPEED,
            faults=FAULT_RATE,
            slow_seconds=SLOW_SECONDS,
        )
        for seed in seeds_failing_first(len(PLAN))
    ]


def final_statuses(fmt: str, out: str) -> dict[str, str]:
    """The last status printed per job: the final resources (json), or the last line of each
    job's changes (ndjson)."""
    if fmt == "json":
        data = json.loads(out)
        items = data if isinstance(data, list) else [data]
    else:
        items = [json.loads(line) for line in out.splitlines()]
    return {item["name"]: item["properties"]["status"] for item in items}


def test_twenty_jobs_under_thirty_percent_faults(
    emulators: list[EmulatorHandle], tmp_path: Path, figures: Figures
) -> None:
    jobs: list[list[str]] = []
    procs = []
    for n, (emu, planned, fmt) in enumerate(zip(emulators, PLAN, OUTPUTS, strict=True)):
        ids = [add_job(emu, p, 10 * n + k) for k, p in enumerate(planned)]
        jobs.append(ids)
        # each process with a cache of its own, as on machines of their own
        env = {**emu.env(), "XDG_CACHE_HOME": str(tmp_path / f"cache-{n}")}
        watch = ["watch", *ids, "--interval", "1", "--timeout", "90", "-o", fmt]
        procs.append(spawn_cli(*watch, env=env))
    results = []
    deadline = time.monotonic() + 120
    for proc in procs:
        results.append(finished(proc, timeout=max(deadline - time.monotonic(), 1)))

    faults: Counter[str] = Counter()
    for emu, ids, planned, fmt, (code, out, err) in zip(
        emulators, jobs, PLAN, OUTPUTS, results, strict=True
    ):
        assert_no_traceback(out, err)
        assert "azjobs: error:" not in err, err
        truth = {job_id: emu.job_status(job_id) for job_id in ids}
        codes = [true_exit(emu.job_body(job_id)) for job_id in ids]
        # the emulator agrees with the plan, and the watch with the emulator
        assert codes == [EXIT_BY_OUTCOME[p.outcome] for p in planned]
        assert final_statuses(fmt, out) == truth, err
        assert code == worst(codes), err
        log = emu.request_log
        early = [r for r in log if r.fault == "429-early"]
        figures.early_retries += len(early)
        assert early == [], [r.line() for r in early]
        faults.update(r.fault for r in log if r.fault)
        figures.chaos_requests += len(log)
        # A fault is retried when a later request asks for the same thing.
        figures.chaos_retries += sum(
            1
            for i, r in enumerate(log)
            if r.fault and any(later.path == r.path for later in log[i + 1 :])
        )
    assert set(faults) == set(FAULT_KINDS), faults  # every kind was injected at least once
    total = sum(len(emu.request_log) for emu in emulators)
    assert sum(faults.values()) >= 0.15 * total  # about 30% of the requests failed
    figures.faults.update(faults)
    figures.chaos_watches += len(procs)
    figures.chaos_jobs += sum(len(ids) for ids in jobs)
