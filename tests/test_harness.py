"""The test harness itself: each way of running azjobs reports what a user would see, keeps
what it changes to the run, and reaches the seams it promises (terminal, stdin, sleep, fast
path); emulators stop with their fixture; registries are strict."""

from __future__ import annotations

import json
import os
import signal
from typing import Any
from unittest import mock

import pytest
import requests
import responses

from azbackupjobs import __version__
from azbackupjobs.cli import app as cli_app
from azbackupjobs.emulator import EmulatorHandle
from tests.harness import (
    PYTHON_M,
    EmulatorFactory,
    child_environment,
    fake_environment,
    finished,
    run_cli,
    run_cli_process,
    spawn_cli,
    stop_leftovers,
    strict_mock,
)
from tests.harness.terminal import Terminal

SUB = "00000000-0000-0000-0000-000000000000"
JOB = "3b6a1d2c-0000-4000-8000-000000000001"
JOB_URL = (
    f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/rg/providers"
    f"/Microsoft.RecoveryServices/vaults/vault/backupJobs/{JOB}"
)
VAULT = {
    "AZURE_SUBSCRIPTION_ID": SUB,
    "AZJOBS_RESOURCE_GROUP": "rg",
    "AZJOBS_VAULT": "vault",
    "AZJOBS_ACCESS_TOKEN": "harness-token",
}
THE_JOB: dict[str, Any] = {
    "id": JOB_URL.removeprefix("https://management.azure.com"),
    "name": JOB,
    "type": "Microsoft.RecoveryServices/vaults/backupJobs",
    "properties": {
        "jobType": "AzureIaaSVMJob",
        "entityFriendlyName": "vm-harness",
        "operation": "Backup",
        "status": "Completed",
        "startTime": "2024-05-01T10:00:00Z",
        "endTime": "2024-05-01T10:05:00Z",
        "duration": "PT5M",
    },
}


# ----- in-process ---------------------------------------------------------------------------
def test_the_exit_code_and_each_stream_come_back_apart() -> None:
    assert run_cli("--version") == (0, f"azjobs {__version__}\n", "")
    bad = run_cli("get", "not-a-guid", env=VAULT)
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.one_error_line("not-a-guid").startswith("azjobs: error:")


def test_variables_apply_to_the_run_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZJOBS_OUTPUT", "tsv")
    with responses.RequestsMock() as mocked:
        mocked.get(JOB_URL, json=THE_JOB)
        mocked.get(JOB_URL, json=THE_JOB)
        as_tsv = run_cli("get", JOB, env=VAULT)
        as_json = run_cli("get", JOB, env={**VAULT, "AZJOBS_OUTPUT": None})
    assert as_tsv.stdout.startswith(f"{JOB}\tCompleted\t")
    assert json.loads(as_json.stdout) == THE_JOB
    assert os.environ["AZJOBS_OUTPUT"] == "tsv"
    assert "AZJOBS_VAULT" not in os.environ


@pytest.mark.parametrize("fast_path", [True, False])
def test_tty_makes_stdout_a_terminal(fast_path: bool) -> None:
    with responses.RequestsMock() as mocked:
        mocked.get(JOB_URL, json=THE_JOB)
        mocked.get(JOB_URL, json=THE_JOB)
        table = run_cli("get", JOB, env=VAULT, tty=True, fast_path=fast_path)
        piped = run_cli("get", JOB, env=VAULT, fast_path=fast_path)
    assert table.exit_code == 0 and "vm-harness" in table.stdout
    assert not table.stdout.startswith("{")
    assert json.loads(piped.stdout) == THE_JOB


def test_stdin_is_what_a_prompt_reads() -> None:
    # Not a terminal: cancel refuses to ask and says so, without reading what was typed.
    refused = run_cli("cancel", JOB, env=VAULT, stdin="y\n")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    running = {
        **THE_JOB,
        "properties": {
            **THE_JOB["properties"],
            "status": "InProgress",
            "actionsInfo": ["Cancellable"],
        },
    }
    with responses.RequestsMock() as mocked:
        mocked.get(JOB_URL, json=running)
        answered_no = run_cli("cancel", JOB, env=VAULT, stdin="n\n", stdin_tty=True)
    assert answered_no.exit_code == 1
    assert "[y/N] " in answered_no.stderr and "Not cancelled." in answered_no.stderr


def test_sleep_is_how_the_client_waits_before_a_retry() -> None:
    waits: list[float] = []
    with responses.RequestsMock() as mocked:
        mocked.get(JOB_URL, status=503, headers={"Retry-After": "7"}, json={})
        mocked.get(JOB_URL, json=THE_JOB)
        result = run_cli("get", JOB, env=VAULT, sleep=waits.append)
    assert result.exit_code == 0, result.stderr
    assert waits == [7.0]


def test_fast_path_switch() -> None:
    with responses.RequestsMock() as mocked:
        mocked.get(JOB_URL, json=THE_JOB)
        with mock.patch.object(cli_app, "main", side_effect=AssertionError("went through Typer")):
            assert run_cli("get", JOB, env=VAULT, fast_path=True).exit_code == 0
    typer_main = cli_app.main
    with responses.RequestsMock() as mocked, mock.patch.object(cli_app, "main") as spy:
        mocked.get(JOB_URL, json=THE_JOB)
        spy.side_effect = typer_main
        assert run_cli("get", JOB, env=VAULT, fast_path=False).exit_code == 0
    assert spy.call_count == 1


def test_what_a_run_changes_in_the_process_is_undone() -> None:
    handler = signal.getsignal(signal.SIGTERM)
    run_cli("--version")
    assert signal.getsignal(signal.SIGTERM) is handler
    with responses.RequestsMock() as mocked:
        mocked.get(JOB_URL, json=THE_JOB)
        mocked.get(JOB_URL, json=THE_JOB)
        traced = run_cli("get", JOB, "--debug", env=VAULT, fast_path=False)
        after = run_cli("get", JOB, env=VAULT, fast_path=False)
    assert "debug:" in traced.stderr
    assert after.stderr == ""


# ----- processes ----------------------------------------------------------------------------
def test_a_process_run_sees_this_tests_environment_and_its_own_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZJOBS_OUTPUT", "yaml")
    assert child_environment({"AZJOBS_OUTPUT": None}).get("AZJOBS_OUTPUT") is None
    refused = run_cli_process("get", JOB, env=VAULT)
    assert refused.exit_code == 2 and "yaml" in refused.stderr
    assert run_cli_process("--version", program=PYTHON_M) == run_cli("--version")


def test_a_spawned_run_is_collected(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(seed=1, seed_data=False)
    job = emu.add_job(entity="vm-spawned", outcome="Completed", start_offset=-600)
    emu.advance(600)
    result = finished(spawn_cli("get", job, "-o", "json", env=emu.env()))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["properties"]["entityFriendlyName"] == "vm-spawned"


def test_a_terminal_shows_what_azjobs_drew() -> None:
    term = Terminal("--version", columns=60, lines=10)
    assert term.finish() == 0
    assert f"azjobs {__version__}" in term.text
    term.assert_restored()


def test_a_terminal_tells_a_signal_from_an_exit_status() -> None:
    term = Terminal("30", program=["sleep"])
    term.child.kill(signal.SIGKILL)
    assert term.finish() == -signal.SIGKILL


# ----- emulators and registries -------------------------------------------------------------
def test_emulators_stop_with_their_factory() -> None:
    factory = EmulatorFactory()
    first: EmulatorHandle = factory(seed=1, seed_data=False)
    second = factory(seed=2, seed_data=False, page_size=3)
    assert first.url != second.url
    for emu in (first, second):
        url = f"{emu.url}/subscriptions?api-version=2022-12-01"
        answer = requests.get(url, headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)
        assert answer.status_code == 200
    factory.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(first.url, timeout=10)


def test_the_registries_are_strict() -> None:
    unfired = strict_mock()
    unfired.start()
    unfired.get(JOB_URL, json=THE_JOB)
    with pytest.raises(AssertionError, match="Not all requests have been executed"):
        unfired.stop()
    unfired.reset()
    first, second = f"{JOB_URL}?first", f"{JOB_URL}?second"
    with (
        pytest.raises(AssertionError, match="Not all requests have been executed"),
        strict_mock(ordered=True) as mocked,
    ):
        mocked.get(first, json={})
        mocked.get(second, json={})
        with pytest.raises(requests.ConnectionError):
            requests.get(second, timeout=10)  # out of order: refused
    with strict_mock(ordered=True) as mocked:
        mocked.get(first, json={})
        mocked.get(second, json={})
        requests.get(first, timeout=10)
        requests.get(second, timeout=10)


def test_a_fake_environment_is_in_memory_and_holds_only_the_variables_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZJOBS_VAULT", "from-the-process")
    waits: list[float] = []
    env = fake_environment({"AZJOBS_OUTPUT": "tsv"}, tty=True, stdin_tty=True, sleep=waits.append)
    assert dict(env.env) == {"AZJOBS_OUTPUT": "tsv"}
    assert (env.stdout_isatty, env.stderr_isatty, env.stdin_isatty) == (True, False, True)
    env.stdout.write("data\n")
    env.stderr.write("note\n")
    env.sleep(1.5)
    assert (env.out, env.err, waits) == ("data\n", "note\n", [1.5])


def test_what_a_test_leaves_running_is_stopped() -> None:
    proc = spawn_cli("30", program=["sleep"])
    term = Terminal("30", program=["sleep"])
    assert proc.poll() is None and term.child.isalive()
    stop_leftovers()
    assert proc.poll() is not None and not term.child.isalive()
