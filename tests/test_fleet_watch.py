"""``azjobs watch --fleet`` in-process against the emulator, with the emulated clock moved by
the injected sleep: one Resource Graph query per tick, jobs followed to their end across
subscriptions, exit codes, output forms, ``--details`` through the vault API only when asked."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import pytest

from azbackupjobs.commands.common import CommonOptions
from azbackupjobs.commands.shared.fleet import FleetOptions
from azbackupjobs.commands.watch import FleetWatchRequest, run_fleet_watch
from azbackupjobs.emulator import EmulatorHandle
from azbackupjobs.follow.fleet import FleetWatchOptions
from azbackupjobs.model.errors import UsageError
from azbackupjobs.view.fleet_watch_view import summary
from azbackupjobs.view.output import Environment
from tests.harness import EmulatorFactory, fake_environment, run_cli

SUB_A = "11111111-1111-4111-8111-111111111111"
SUB_B = "22222222-2222-4222-8222-222222222222"
GRAPH = "/providers/Microsoft.ResourceGraph/resources"


class Driver:
    """Sleeping moves the emulated clock (and a fake monotonic one): no real waiting."""

    def __init__(self, emu: EmulatorHandle) -> None:
        self.emu = emu
        self.mono = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.mono += seconds
        self.emu.advance(seconds)

    def clock(self) -> float:
        return self.mono

    def wall(self) -> datetime:
        return self.emu.now()


@pytest.fixture
def emu(emulator_factory: EmulatorFactory) -> EmulatorHandle:
    handle = emulator_factory(seed=41, seed_data=False, speed=1e-6)
    handle.resource_graph.quota = 10_000
    return handle


def make_env(
    emu: EmulatorHandle, *, tty: bool = False
) -> tuple[Environment, io.StringIO, io.StringIO]:
    env = fake_environment({"AZJOBS_ENDPOINT": emu.url, "AZJOBS_ACCESS_TOKEN": emu.token}, tty=tty)
    return env, env.stdout, env.stderr


def watch(
    emu: EmulatorHandle,
    output: str = "ndjson",
    *,
    details: bool = False,
    timeout: float | None = None,
    strict: bool = False,
    statuses: tuple[str, ...] = (),
    subscriptions: tuple[str, ...] = (),
    tty: bool = False,
) -> tuple[int, str, str, Driver]:
    env, out, err = make_env(emu, tty=tty)
    driver = Driver(emu)
    request = FleetWatchRequest(
        common=CommonOptions(output=output),
        fleet=FleetOptions(subscriptions=subscriptions),
        statuses=statuses,
        options=FleetWatchOptions(interval=30.0, timeout=timeout, strict=strict, details=details),
    )
    code = run_fleet_watch(request, env, sleep=driver.sleep, clock=driver.clock, wall=driver.wall)
    return code, out.getvalue(), err.getvalue(), driver


def add_fleet(emu: EmulatorHandle) -> dict[str, str]:
    return {
        "fails": emu.add_job(
            entity="vm-a",
            outcome="Failed",
            failed_task=1,
            tasks=[("Take Snapshot", 30), ("Transfer data to vault", 90)],
            start_offset=-10,
            subscription=SUB_A,
            resource_group="rg-a",
            vault="vault-a",
        ),
        "completes": emu.add_job(
            entity="vm-b",
            tasks=[("Take Snapshot", 50)],
            start_offset=-10,
            subscription=SUB_B,
            resource_group="rg-b",
            vault="vault-b",
        ),
        "done": emu.add_job(
            entity="vm-done",
            tasks=[("Take Snapshot", 5)],
            start_offset=-600,
            subscription=SUB_B,
            resource_group="rg-b",
            vault="vault-b",
        ),
    }


def graph_requests(emu: EmulatorHandle) -> int:
    return sum(1 for r in emu.request_log if r.path == GRAPH)


def vault_requests(emu: EmulatorHandle) -> int:
    return sum(1 for r in emu.request_log if r.path != GRAPH)


def test_follows_running_jobs_across_subscriptions_to_their_end(emu: EmulatorHandle) -> None:
    jobs = add_fleet(emu)
    code, out, err, driver = watch(emu)
    assert code == 6  # one job failed
    lines = [json.loads(line) for line in out.splitlines()]
    by_job: dict[str, list[str]] = {}
    for line in lines:
        by_job.setdefault(line["name"], []).append(line["properties"]["status"])
    assert by_job[jobs["fails"]][0] == "InProgress" and by_job[jobs["fails"]][-1] == "Failed"
    assert by_job[jobs["completes"]] == ["InProgress", "Completed"]
    assert jobs["done"] not in by_job  # it had ended before the watch: not watched
    ticks = len(driver.sleeps) + 1
    assert graph_requests(emu) == ticks and vault_requests(emu) == 0
    assert "2 jobs watched: 1 Completed, 1 Failed" in err


def test_each_tick_is_one_query_for_running_and_recently_ended_jobs(emu: EmulatorHandle) -> None:
    add_fleet(emu)
    watch(emu)
    first, second = list(emu.resource_graph.requests)[:2]
    # Backup vault jobs say Started where Recovery Services jobs say InProgress.
    assert "status in~ ('InProgress', 'Started', 'Cancelling')" in first["query"]
    assert "endTime >=" not in first["query"]
    assert "endTime >=" in second["query"]  # from the second tick on: what ended meanwhile


def test_details_read_the_newest_running_jobs_through_the_vault_api(emu: EmulatorHandle) -> None:
    jobs = add_fleet(emu)
    code, out, _, _ = watch(emu, details=True)
    assert code == 6
    detailed = [
        json.loads(line)
        for line in out.splitlines()
        if "extendedInfo" in json.loads(line)["properties"]
    ]
    assert {d["name"] for d in detailed} == {jobs["fails"], jobs["completes"]}
    gets = [r.path for r in emu.request_log if r.path != GRAPH]
    assert gets and all(r.endswith(tuple(jobs.values())) for r in gets)
    assert any(f"/vaults/vault-a/backupJobs/{jobs['fails']}" in p for p in gets)


def test_nothing_running(emu: EmulatorHandle) -> None:
    emu.add_job(entity="vm", tasks=[("Take Snapshot", 5)], start_offset=-600)
    code, out, err, driver = watch(emu, "json")
    assert (code, out) == (0, "[]\n")
    assert "no job is running in every subscription the credential can read" in err
    assert driver.sleeps == [] and graph_requests(emu) == 1


def test_timeout(emu: EmulatorHandle) -> None:
    add_fleet(emu)
    code, out, err, _ = watch(emu, "json", timeout=40)
    assert code == 5
    assert {j["properties"]["status"] for j in json.loads(out)} == {"InProgress"}
    assert "--timeout elapsed with 2 job(s) still running" in err


def test_scope_and_status(emu: EmulatorHandle) -> None:
    jobs = add_fleet(emu)
    code, out, _, _ = watch(emu, "tsv", subscriptions=(SUB_B,), statuses=("inprogress",))
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == [jobs["completes"]]
    assert next(iter(emu.resource_graph.requests))["subscriptions"] == [SUB_B]


def test_plain_lines_when_piped(emu: EmulatorHandle) -> None:
    add_fleet(emu)
    code, out, err, _ = watch(emu, "table")
    lines = out.splitlines()
    assert code == 6
    assert [line.split()[1] for line in lines[:2]] == ["running", "running"]
    ended = [line for line in lines if line.split()[1:2] == ["ended"]]
    assert len(ended) == 2 and any("Failed" in line for line in ended)
    # the summary is chrome: stderr, so that stdout carries the event lines only
    assert err == "2 jobs watched: 1 Completed, 1 Failed\n"
    assert "watched" not in out


def test_live_view_on_a_terminal(emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    from azbackupjobs.view import watching

    monkeypatch.setattr(watching, "LIVE_REFRESH_SECONDS", 10.0)  # fewer redraws
    add_fleet(emu)
    code, out, _, _ = watch(emu, "table", tty=True, details=True)
    assert code == 6
    assert "running in" in out and "Ended while watching" in out
    assert "Take Snapshot" in out  # the task table of a detailed job


def _watch_with(emu: EmulatorHandle, on_sleep: Any) -> tuple[int, str, Driver]:
    env, _out, err = make_env(emu)
    driver = Driver(emu)
    calls = {"n": 0}

    def sleep(seconds: float) -> None:
        calls["n"] += 1
        on_sleep(calls["n"])
        driver.sleep(seconds)

    request = FleetWatchRequest(
        common=CommonOptions(output="ndjson"), options=FleetWatchOptions(interval=30.0)
    )
    code = run_fleet_watch(request, env, sleep=sleep, clock=driver.clock, wall=driver.wall)
    return code, err.getvalue(), driver


def test_a_used_up_quota_is_waited_for_before_the_next_query(emu: EmulatorHandle) -> None:
    add_fleet(emu)
    graph = emu.resource_graph
    graph.quota, graph.window = 1, 3600.0

    def on_sleep(n: int) -> None:
        if n == 1:  # the wait for the reset: let the quota reset
            graph.reset_quota()
            graph.quota = 10_000

    code, err, driver = _watch_with(emu, on_sleep)
    assert code == 6
    assert "Resource Graph quota used up; waiting" in err
    assert max(driver.sleeps) > 3000
    assert all(r.status == 200 for r in emu.request_log)  # never refused: it waited


def test_throttling_is_waited_out(emu: EmulatorHandle) -> None:
    add_fleet(emu)
    graph = emu.resource_graph

    def on_sleep(n: int) -> None:
        if n == 1:  # someone else used the quota up
            graph.quota, graph.window = 0, 3600.0
        elif n == 2:
            graph.reset_quota()
            graph.quota = 10_000

    code, err, driver = _watch_with(emu, on_sleep)
    assert code == 6
    assert "Resource Graph: throttled; retrying" in err
    assert driver.sleeps[1] >= 3000  # the wait named by x-ms-user-quota-resets-after
    assert [r.status for r in emu.request_log][:3] == [200, 429, 200]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fleet", "--status", "Failed"], "follows running jobs"),
        (["--fleet", "3b6a1d2c-0000-4000-8000-000000000001"], "JOB arguments does not apply"),
        (["--fleet", "--all", "--fail-fast"], "--all, --fail-fast do not apply"),
        (["--fleet", "-v", "vault1"], "--vault-name does not apply"),
        (["--details"], "--details needs --fleet"),
        (["--status", "InProgress", "--since", "2d"], "need --fleet"),
        (["--fleet", "--since", "tomorrow"], "--since"),
        (["--fleet", "--management-group", "a b"], "not a management group id"),
    ],
)
def test_usage_errors(emu: EmulatorHandle, argv: list[str], message: str) -> None:
    result = run_cli("watch", *argv, env=emu.env())
    assert result.exit_code == 2 and result.stdout == "" and message in result.stderr
    assert emu.request_log == []


def test_future_since_is_refused(emu: EmulatorHandle) -> None:
    env, _, _ = make_env(emu)
    request = FleetWatchRequest(common=CommonOptions(output="json"), since="2999-01-01")
    with pytest.raises(UsageError, match="past"):
        run_fleet_watch(request, env)


def test_summary_text() -> None:
    assert summary(None) == ""


def test_cli_runs_a_fleet_watch(emu: EmulatorHandle) -> None:
    emu.add_job(entity="vm", tasks=[("Take Snapshot", 5)], start_offset=-600)
    result = run_cli("watch", "--fleet", "-o", "json", env=emu.env())
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
