"""``azjobs watch`` in a real pseudo-terminal, read back through a terminal emulator (pyte).

Checks what a person sees: the live view redrawn in place, task names, a progress bar, the
final frame left on the screen, and Ctrl-C ending with 130 and the cursor shown again.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

from azbackupjobs.emulator import EmulatorHandle, start_emulator  # noqa: E402

pytestmark = pytest.mark.e2e

AZJOBS = str(Path(sys.executable).with_name("azjobs"))
COLUMNS, LINES = 120, 40
HIDE_CURSOR, SHOW_CURSOR = b"\x1b[?25l", b"\x1b[?25h"


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    # Real time: jobs move only when a test moves them (advance), so a slow start on a busy
    # machine cannot make the first frame miss the running job.
    with start_emulator(seed=3, seed_data=False, speed=1.0) as handle:
        yield handle


class Terminal:
    """A pty running azjobs, with a pyte screen fed from everything it writes."""

    def __init__(self, emu: EmulatorHandle, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZJOBS_", "AZURE_"))}
        env.update(emu.env())
        env.update({"TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(LINES)})
        env.pop("NO_COLOR", None)
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self.child = pexpect.spawn(AZJOBS, list(args), env=env, dimensions=(LINES, COLUMNS))

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def pump(self, timeout: float = 0.2) -> bool:
        """Read what is there; False at the end of output."""
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def wait_for(self, text: str, limit: float = 30.0) -> None:
        end = time.monotonic() + limit
        while text not in self.text:
            assert time.monotonic() < end, f"{text!r} never showed:\n{self.text}"
            assert self.pump(), f"ended before {text!r} showed:\n{self.text}"

    def finish(self, limit: float = 30.0) -> int:
        end = time.monotonic() + limit
        while self.pump():
            assert time.monotonic() < end, self.text
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)


def test_live_view_until_the_job_ends(emu: EmulatorHandle) -> None:
    job_id = emu.add_job(
        entity="vm-tty",
        transfer_gb=127.0,
        tasks=[("Take Snapshot", 60.0), ("Transfer data to vault", 240.0)],
    )
    term = Terminal(emu, "watch", job_id, "--interval", "1")
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
    term = Terminal(emu, "watch", job_id, "--interval", "1")
    term.wait_for("InProgress")
    term.child.send(b"\x03")
    assert term.finish() == 130
    assert term.raw.rfind(SHOW_CURSOR) > term.raw.rfind(HIDE_CURSOR) >= 0
    assert b"Traceback" not in term.raw
    assert "Take Snapshot" in term.text  # the last frame stays


def test_sigterm_exits_143_and_restores_the_cursor(emu: EmulatorHandle) -> None:
    import signal

    job_id = emu.add_job(entity="vm-term", tasks=[("Take Snapshot", 36000.0)])
    term = Terminal(emu, "watch", job_id, "--interval", "1")
    term.wait_for("InProgress")
    term.child.kill(signal.SIGTERM)
    assert term.finish() == 143
    assert term.raw.rfind(SHOW_CURSOR) > term.raw.rfind(HIDE_CURSOR) >= 0
    assert b"Traceback" not in term.raw
