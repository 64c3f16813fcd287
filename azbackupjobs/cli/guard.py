"""The one place where failures become exit codes, for the fast path and the Typer path alike.

An ``AzJobsError`` becomes one stderr line and its exit code; SIGTERM and Ctrl-C become 143 and
130 after context managers have restored the terminal; a closed stdout is a quiet success.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from azbackupjobs.model.errors import AzJobsError, ExitCode, StdoutClosed


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that context managers restore the terminal."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def report(exc: AzJobsError, stderr: Any) -> None:
    from azbackupjobs.model.text import sanitize

    line = f"azjobs: error: {sanitize(exc.message, 600)}"
    if exc.hint:
        line += f" (hint: {sanitize(exc.hint, 300)})"
    print(line, file=stderr)


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def guarded(call: Callable[[], object], debug: Callable[[], bool]) -> None:
    """Run ``call``; map what escapes it to one stderr line and an exit code (SystemExit passes)."""
    if _is_main_thread():
        import signal

        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        call()
    except AzJobsError as exc:
        report(exc, sys.stderr)
        sys.exit(int(exc.exit_code))
    except Terminated:
        sys.exit(int(ExitCode.TERMINATED))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except (StdoutClosed, BrokenPipeError):
        _silence_stdout()
        sys.exit(int(ExitCode.OK))
    except Exception as exc:
        if debug() or os.environ.get("AZJOBS_TRACEBACK"):
            import traceback

            traceback.print_exc()
        from azbackupjobs.model.text import sanitize

        print(
            f"azjobs: error: unexpected {type(exc).__name__}: {sanitize(str(exc), 300)} "
            "(please report this; --debug shows details)",
            file=sys.stderr,
        )
        sys.exit(int(ExitCode.ERROR))
