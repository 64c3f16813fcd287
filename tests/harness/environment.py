"""An ``Environment`` in memory, for tests that call a command's ``run_*`` function directly
(with their own clock and sleep) rather than the whole command line (``run_cli``)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping

from azbackupjobs.view.output import Environment


class FakeEnvironment(Environment):
    """An Environment whose stdout and stderr are in memory; ``out`` and ``err`` read them."""

    stdout: io.StringIO
    stderr: io.StringIO

    @property
    def out(self) -> str:
        return self.stdout.getvalue()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()


def fake_environment(
    env: Mapping[str, str] | None = None,
    *,
    tty: bool = False,
    stdin_tty: bool = False,
    sleep: Callable[[float], None] | None = None,
    stdout: io.StringIO | None = None,
    stderr: io.StringIO | None = None,
) -> FakeEnvironment:
    """Variables ``env`` (nothing of the process's); stdout a terminal if ``tty`` (stderr never
    is); ``sleep``: how the HTTP client waits before a retry; ``stdout``, ``stderr``: streams of
    the test's own (one that counts flushes, one that a serving thread writes, say)."""
    return FakeEnvironment(
        stdout=stdout if stdout is not None else io.StringIO(),
        stderr=stderr if stderr is not None else io.StringIO(),
        stdout_isatty=tty,
        stderr_isatty=False,
        stdin_isatty=stdin_tty,
        env=dict(env or {}),
        sleep=sleep if sleep is not None else time.sleep,
    )
