"""The one place where failures become exit codes, for the fast path and the Typer path alike.

An ``AzJobsError`` becomes one stderr line and its exit code; SIGTERM and Ctrl-C become 143 and
130 after context managers have restored the terminal; a closed stdout is a quiet success, a full
one (``> /dev/full``) one line and exit 1. The SIGTERM handler is ours only while the command
runs: the process unwinds (atexit callbacks, the final flush) with the handler it had before,
so that a second SIGTERM cannot raise into that unwinding.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from azbackupjobs.model.errors import AzJobsError, ExitCode, OutputError, StdoutClosed


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that context managers restore the terminal."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """The first SIGTERM unwinds the command; the ones after it are ignored, so that none can
    raise into that unwinding (a context manager restoring the terminal, an atexit callback,
    a finalizer) and end the process with a traceback instead of 143."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null: what is still buffered for stdout goes nowhere
    at exit, instead of failing again (and printing "Exception ignored") in the final flush."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


class _ClosedStream:
    """Stands in for a standard stream that was closed when the process started (``>&-``),
    where Python leaves None: writing to stdout is then a reader that went away (a quiet exit,
    as a broken pipe), and writing to stderr goes nowhere (never into stdout)."""

    def __init__(self, fail: bool) -> None:
        self._fail = fail

    def write(self, text: str) -> int:
        if self._fail:
            raise BrokenPipeError(32, "stdout is closed")
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("the stream is closed")


def _stand_in_for_closed_streams() -> None:
    if sys.stdout is None:
        sys.stdout = _ClosedStream(fail=True)
    if sys.stderr is None:
        sys.stderr = _ClosedStream(fail=False)


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
    _stand_in_for_closed_streams()
    installed, previous = False, None
    if _is_main_thread():
        import signal

        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        installed = True
    try:
        try:
            call()
        finally:
            if installed:
                _restore_sigterm(previous)
    except OutputError as exc:
        _silence_stdout()
        report(exc, sys.stderr)
        sys.exit(int(exc.exit_code))
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


def _restore_sigterm(previous: Any) -> None:
    """Put back the handler azjobs found (the default: die at once), unless a SIGTERM came:
    then the process is unwinding for it, and further ones stay ignored until it exits 143."""
    import signal

    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        # None: the previous handler was not set from Python; such a process had the default
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
