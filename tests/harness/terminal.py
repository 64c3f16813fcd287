"""azjobs in a pseudo-terminal, read back through a terminal emulator: what a person sees.

pexpect gives the child a real pty (so rich draws its live view, and Ctrl-C arrives as a
terminal sends it); pyte replays everything the child wrote onto a screen of the same size.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import pexpect
import pyte

from tests.harness.cli import AZJOBS, Variables, child_environment, stop_at_test_end

HIDE_CURSOR, SHOW_CURSOR = b"\x1b[?25l", b"\x1b[?25h"


class Terminal:
    """A pty running ``azjobs ARGS`` with a pyte screen fed from everything it writes."""

    def __init__(
        self,
        *args: str,
        env: Variables | None = None,
        columns: int = 120,
        lines: int = 40,
        program: Sequence[str] = AZJOBS,
    ) -> None:
        values = child_environment(
            {
                **(env or {}),
                "TERM": "xterm-256color",
                "COLUMNS": str(columns),
                "LINES": str(lines),
            }
        )
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self.child = pexpect.spawn(
            program[0], [*program[1:], *args], env=values, dimensions=(lines, columns)
        )
        stop_at_test_end(self._stop)

    def _stop(self) -> None:
        """Still running when the test ends (it failed on the way): killed."""
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()

    @property
    def text(self) -> str:
        """The screen as it looks now, trailing blanks cut."""
        return "\n".join(line.rstrip() for line in self.screen.display)

    def pump(self, timeout: float = 0.2) -> bool:
        """Read what is there (waiting at most ``timeout``); False at the end of output."""
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        assert isinstance(data, bytes)
        self.raw += data
        self.stream.feed(data)
        return True

    def wait_for(self, text: str, limit: float = 30.0) -> None:
        """Until ``text`` is on the screen; fails after ``limit`` seconds or at the end."""
        end = time.monotonic() + limit
        while text not in self.text:
            assert time.monotonic() < end, f"{text!r} never showed:\n{self.text}"
            assert self.pump(), f"ended before {text!r} showed:\n{self.text}"

    def finish(self, limit: float = 30.0) -> int:
        """Read to the end (at most ``limit`` seconds) and return the exit status; a child
        killed by a signal gives minus the signal's number, never a status azjobs chose."""
        end = time.monotonic() + limit
        while self.pump():
            assert time.monotonic() < end, self.text
        self.child.close()
        if self.child.exitstatus is not None:
            return int(self.child.exitstatus)
        assert self.child.signalstatus is not None, "the child left no exit status"
        return -int(self.child.signalstatus)

    def assert_restored(self) -> None:
        """No traceback, the cursor shown again if it was hidden, and no colour left on."""
        assert b"Traceback" not in self.raw
        assert self.raw.rfind(SHOW_CURSOR) >= self.raw.rfind(HIDE_CURSOR)
        colours = re.findall(rb"\x1b\[[0-9;]*m", self.raw)
        assert not colours or colours[-1] in (b"\x1b[0m", b"\x1b[m"), self.raw[-200:]
