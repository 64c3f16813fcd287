"""``azjobs watch`` in a real pseudo-terminal, read back through a terminal emulator (pyte).

Checks what a person sees: the live view redrawn in place, task names, a progress bar, the
final frame left on the screen, and Ctrl-C ending with 130 and the cursor shown again.
"""

from __future__ import annotations

import signal

import pytest

from azbackupjobs.emulator import EmulatorHandle
from tests.harness import EmulatorFactory
from tests.harness.terminal import HIDE_CURSOR, SHOW_CURSOR, Terminal

pytestmark = pytest.mark.e2e


@pytest.fixture
def emu(emulator_factory: EmulatorFactory) -> EmulatorHandle:
    # Real time: jobs move only when a test moves them (advance), so a slow start on a busy
    # machine cannot make the first frame miss the running job.
    return emulator_factory(seed=3, seed_data=False, speed=1.0)


def test_live_view_until_the_job_ends(emu: EmulatorHandle) -> None:
    job_id = emu.add_job(
        entity="vm-tty",
        transfer_gb=127.0,
        tasks=[("Take Snapshot", 60.0), ("Transfer data to vault", 240.0)],
    )
    term = Terminal("watch", job_id, "--interval", "1", env=emu.env())
    term.wait_for("InProgress")
    term.wait_for("Ctrl-C stops watching")  # the status line closes the frame: it is complete
    assert "Take Snapshot" in term.text
    emu.advance(60 + 120)  # half way through the transfer
    term.wait_for("GBs / 127 GBs Transferred")
    term.wait_for("%")
    assert "━" in term.text  # a progress bar while it runs
    emu.advance(600)
    assert term.finish() == 0
    screen = term.text
    # the final frame stays on the screen, followed by the summary line
    assert "Take Snapshot" in screen and "Transfer data to vault" in screen
    assert "100.0%" in screen and "✔ Completed" in screen
    assert "Backup of vm-tty Completed in" in screen
    assert "next update" not in screen
    # redrawn in place: the header is on the screen once, not once per poll
    assert screen.count("AzureIaaSVMJob · AzureIaasVM") == 1
    assert term.raw.rfind(SHOW_CURSOR) > term.raw.rfind(HIDE_CURSOR) >= 0


def test_ctrl_c_exits_130_and_restores_the_cursor(emu: EmulatorHandle) -> None:
    job_id = emu.add_job(entity="vm-long", tasks=[("Take Snapshot", 36000.0)])
    term = Terminal("watch", job_id, "--interval", "1", env=emu.env())
    term.wait_for("InProgress")
    term.child.send(b"\x03")
    assert term.finish() == 130
    assert term.raw.rfind(SHOW_CURSOR) > term.raw.rfind(HIDE_CURSOR) >= 0
    assert b"Traceback" not in term.raw
    assert "Take Snapshot" in term.text  # the last frame stays


def test_sigterm_exits_143_and_restores_the_cursor(emu: EmulatorHandle) -> None:
    job_id = emu.add_job(entity="vm-term", tasks=[("Take Snapshot", 36000.0)])
    term = Terminal("watch", job_id, "--interval", "1", env=emu.env())
    term.wait_for("InProgress")
    term.child.kill(signal.SIGTERM)
    assert term.finish() == 143
    assert term.raw.rfind(SHOW_CURSOR) > term.raw.rfind(HIDE_CURSOR) >= 0
    assert b"Traceback" not in term.raw
