"""Signals and pipes, on the installed console script.

- SIGINT and SIGTERM during ``watch`` and ``list``, in the middle of a request that stalls or of
  a Retry-After wait, on a terminal and piped: exit 130 / 143, the terminal restored (the cursor
  shown again), no traceback.
- A reader that goes away (``azjobs list -o ndjson | head -1``, and -o json, -o table, -o tsv,
  and ``watch -o ndjson``): azjobs stops quietly, exit 0, nothing on stderr.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs.emulator import EmulatorHandle
from tests.harness import AZJOBS_SCRIPT, EmulatorFactory, Variables, child_environment, spawn_cli
from tests.harness.terminal import Terminal
from tests.reliability.conftest import Figures
from tests.reliability.corpus import job_body
from tests.reliability.reliability_harness import (
    JOB,
    Answer,
    assert_no_traceback,
    json_answer,
    local_server,
)

pytestmark = pytest.mark.e2e

SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
LONG_TASKS = [("Take Snapshot", 36000.0)]


@pytest.fixture
def emu(emulator_factory: EmulatorFactory) -> EmulatorHandle:
    return emulator_factory(seed=5, seed_data=False, speed=1.0)


def wait_until(predicate: Any, limit: float = 30.0) -> None:
    end = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def readline(proc: subprocess.Popen[bytes], limit: float = 30.0) -> bytes:
    """One line of the child's stdout, without blocking the test forever."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], limit)
    assert ready, "no output"
    return proc.stdout.readline()


# ----- watch ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_watch_on_a_terminal_during_a_stalled_request(
    signum: int, code: int, figures: Figures
) -> None:
    """The first poll is answered; the second hangs in the middle of its request."""
    stalled = threading.Event()
    body = json.dumps(job_body("InProgress"))

    answers: list[str] = []

    def answer(method: str, path: str) -> Answer | None:
        answers.append(path)
        if len(answers) == 1:
            return json_answer(body)
        stalled.set()
        return None

    with local_server(answer) as server:
        term = Terminal("watch", JOB, "--interval", "1", env=stalled_env(server.url))
        term.wait_for("Take Snapshot")
        assert stalled.wait(30)
        time.sleep(0.2)  # well inside the request
        if signum == signal.SIGINT:
            term.child.sendintr()  # Ctrl-C, as a person would
        else:
            term.child.kill(signum)
        assert term.finish() == code
    term.assert_restored()
    assert "Take Snapshot" in term.text  # the last frame stays
    figures.signal_runs += 1


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_watch_on_a_terminal_while_waiting_out_a_retry_after(
    emu: EmulatorHandle, signum: int, code: int, figures: Figures
) -> None:
    job = emu.add_job(entity="vm-throttled", tasks=LONG_TASKS)
    term = Terminal("watch", job, "--interval", "1", env=emu.env())
    term.wait_for("Take Snapshot")
    emu.set_faults(1.0, "429")
    term.wait_for("throttled")
    if signum == signal.SIGINT:
        term.child.sendintr()
    else:
        term.child.kill(signum)
    assert term.finish() == code
    term.assert_restored()
    figures.signal_runs += 1


@pytest.mark.parametrize(
    ("signum", "code", "fmt"),
    [(signal.SIGINT, 130, "ndjson"), (signal.SIGTERM, 143, "table")],
    ids=["SIGINT-ndjson", "SIGTERM-table"],
)
def test_watch_piped(
    emu: EmulatorHandle, signum: int, code: int, fmt: str, figures: Figures
) -> None:
    job = emu.add_job(entity="vm-piped", tasks=LONG_TASKS)
    proc = spawn_cli("watch", job, "--interval", "1", "-o", fmt, env=emu.env(), binary=True)
    first = readline(proc)
    if fmt == "ndjson":
        assert json.loads(first)["name"] == job
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert_no_traceback(out.decode(), err.decode())
    assert b"\x1b" not in first + out + err
    if signum == signal.SIGINT:  # one line says what happened to the jobs
        assert err.decode().strip().endswith("azjobs: stopped watching; 1 job keeps running")
    figures.signal_runs += 1


# ----- list -------------------------------------------------------------------------------------
def stalled_env(url: str) -> dict[str, str]:
    return {
        "AZJOBS_ENDPOINT": url,
        "AZJOBS_ACCESS_TOKEN": "local-token",
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-0000000000aa",
        "AZJOBS_RESOURCE_GROUP": "rg",
        "AZJOBS_VAULT": "vault1",
    }


@pytest.mark.parametrize(
    ("signum", "code", "fmt"),
    [(signal.SIGINT, 130, "json"), (signal.SIGTERM, 143, "ndjson")],
    ids=["SIGINT-json", "SIGTERM-ndjson"],
)
def test_list_piped_during_a_stalled_page(
    signum: int, code: int, fmt: str, figures: Figures
) -> None:
    with local_server(lambda method, path: None) as server:
        proc = spawn_cli("list", "-o", fmt, env=stalled_env(server.url), binary=True)
        assert server.arrived.wait(30)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert_no_traceback(out.decode(), err.decode())
    assert err == b""
    figures.signal_runs += 1


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_list_on_a_terminal_during_a_stalled_page(signum: int, code: int, figures: Figures) -> None:
    with local_server(lambda method, path: None) as server:
        term = Terminal("list", env=stalled_env(server.url))
        assert server.arrived.wait(30)
        if signum == signal.SIGINT:
            term.child.sendintr()
        else:
            term.child.kill(signum)
        assert term.finish() == code
    term.assert_restored()
    figures.signal_runs += 1


# ----- a reader that goes away ------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_vault(module_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    """More jobs than a pipe holds (64 KiB) in every format."""
    handle = module_emulator_factory(seed=6, seed_data=False, page_size=200)
    handle.add_jobs(1500, outcomes=("Completed", "Failed"))
    return handle


def head_1(argv: list[str], env: Variables, tmp_path: Path) -> tuple[int, bytes, bytes]:
    """``azjobs ARGS | head -1`` in a shell: azjobs' exit status, what head printed, and
    azjobs' stderr."""
    err_file = tmp_path / "stderr"
    script = '"$AZJOBS" "$@" 2>"$ERR" | head -1; exit "${PIPESTATUS[0]}"'
    proc = subprocess.run(
        ["bash", "-c", script, "azjobs", *argv],
        capture_output=True,
        env=child_environment({**env, "AZJOBS": AZJOBS_SCRIPT, "ERR": str(err_file)}),
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, err_file.read_bytes()


@pytest.mark.parametrize(
    "argv",
    [
        ["list", "-o", "ndjson"],
        ["list", "-o", "json"],
        ["list", "-o", "tsv"],
        ["list", "-o", "table", "--limit", "600"],
        ["list", "-o", "json", "--query", "[].name"],
    ],
    ids=["ndjson", "json", "tsv", "table", "json-query"],
)
def test_list_into_head(
    big_vault: EmulatorHandle, argv: list[str], tmp_path: Path, figures: Figures
) -> None:
    code, out, err = head_1(argv, big_vault.env(), tmp_path)
    assert (code, err) == (0, b""), err
    assert out.count(b"\n") == 1
    figures.signal_runs += 1


def test_watch_ndjson_into_head(
    emulator_factory: EmulatorFactory, tmp_path: Path, figures: Figures
) -> None:
    emu = emulator_factory(seed=7, seed_data=False, speed=60.0)
    job = emu.add_job(
        entity="vm-head",
        tasks=[("Take Snapshot", 60.0), ("Transfer data to vault", 240.0)],
        transfer_gb=10.0,
    )
    watch = ["watch", job, "--interval", "1", "-o", "ndjson"]
    code, out, err = head_1(watch, emu.env(), tmp_path)
    assert (code, err) == (0, b""), err
    assert json.loads(out)["properties"]["status"] == "InProgress"
    figures.signal_runs += 1


def test_nothing_is_left_running(emulator_factory: EmulatorFactory) -> None:
    """The shell pipelines above wait for azjobs; a watch whose reader left must not linger."""
    emu = emulator_factory(seed=8, seed_data=False, speed=60.0)
    job = emu.add_job(entity="vm-left", tasks=[("Take Snapshot", 600.0)])
    proc = spawn_cli("watch", job, "--interval", "1", "-o", "ndjson", env=emu.env(), binary=True)
    readline(proc)
    assert proc.stdout is not None
    os.close(proc.stdout.fileno())  # the reader goes away
    proc.stdout = None
    emu.advance(120)  # the next change is written into the closed pipe
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and err == b"", err


# ----- SIGTERM while the process unwinds ---------------------------------------------------------
def test_repeated_sigterm_never_raises_into_the_unwinding(
    emulator_factory: EmulatorFactory, figures: Figures
) -> None:
    """A burst of SIGTERMs (a supervisor that insists): the first ends the watch (143); the
    others find the default handler back in place while the process unwinds, never a handler
    that raises into an atexit callback or the final flush (a traceback)."""
    emu = emulator_factory(seed=12, seed_data=False, speed=1.0)
    job = emu.add_job(entity="vm-term", tasks=LONG_TASKS)
    for _ in range(5):
        proc = spawn_cli(
            "watch", job, "--interval", "1", "-o", "ndjson", env=emu.env(), binary=True
        )
        readline(proc)
        while proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.001)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode in (143, -signal.SIGTERM), err
        assert_no_traceback(out.decode(), err.decode())
        assert b"Exception ignored" not in err, err
        figures.signal_runs += 1


def test_the_sigterm_handler_is_put_back_after_the_command() -> None:
    """In-process too: whatever way the command ends, the handler found before is back."""
    from azbackupjobs.cli.guard import guarded
    from azbackupjobs.model.errors import UsageError

    def before(signum: int, frame: Any) -> None:  # pragma: no cover - never called
        pass

    def fail() -> None:
        raise UsageError("bad flag")

    def terminated() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal interrupts it at once

    previous = signal.signal(signal.SIGTERM, before)
    try:
        guarded(lambda: None, lambda: False)
        assert signal.getsignal(signal.SIGTERM) is before
        with pytest.raises(SystemExit) as info:
            guarded(fail, lambda: False)
        assert info.value.code == 2
        assert signal.getsignal(signal.SIGTERM) is before
        # A SIGTERM came: the process unwinds for it, and the ones after it are ignored.
        with pytest.raises(SystemExit) as info:
            guarded(terminated, lambda: False)
        assert info.value.code == 143
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)
