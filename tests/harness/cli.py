"""Running azjobs from a test: in-process through the console entry, or as a real process.

``run_cli`` enters where the ``azjobs`` console script does (``azbackupjobs.main.main``), with
fake streams and an installed ``Environment``, so a test sees exactly the exit code, stdout and
stderr a user would, at in-process speed. ``run_cli_process`` and ``spawn_cli`` run the installed
console script itself, for what only a process shows (exit without teardown, signals, pipes).

Variables: every test starts from the environment the autouse ``isolated_environment`` fixture
cleaned; ``env=`` adds to it for one run (a value of None removes a variable) and nothing of it
outlives the run.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple, Protocol, overload

from azbackupjobs import main as console
from azbackupjobs.view.output import Environment

AZJOBS_SCRIPT: Final = str(Path(sys.executable).with_name("azjobs"))
"""The installed console script of this interpreter's environment."""
AZJOBS: Final = (AZJOBS_SCRIPT,)
PYTHON_M: Final = (sys.executable, "-m", "azbackupjobs")
"""``python -m azbackupjobs``: the same entry as the console script, started another way."""

Variables = Mapping[str, str | None]
Sleep = Callable[[float], None]


class Result(NamedTuple):
    """One run: its exit code and what it wrote to stdout and stderr (as text)."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()

    def one_error_line(self, needle: str = "") -> str:
        """The error contract: nothing on stdout, no traceback, one ``azjobs: error:`` line on
        stderr (containing ``needle``), which is returned."""
        assert self.stdout == "", self.stdout
        assert "Traceback" not in self.stderr, self.stderr
        assert len(self.stderr_lines) == 1, self.stderr
        line = self.stderr_lines[0]
        assert line.startswith("azjobs: error: "), line
        assert needle in line, line
        return line


class _Stream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, initial: str = "", *, tty: bool) -> None:
        super().__init__(initial)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@contextlib.contextmanager
def variables(env: Variables) -> Iterator[None]:
    """``os.environ`` with ``env`` applied (None removes) until the block ends."""
    saved = {name: os.environ.get(name) for name in env}
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


@contextlib.contextmanager
def _system_streams(stdout: io.StringIO, stderr: io.StringIO, stdin: io.StringIO) -> Iterator[None]:
    """click and the error guard write to ``sys.stdout``/``sys.stderr`` themselves; prompts read
    ``sys.stdin``."""
    saved = sys.stdin
    sys.stdin = stdin
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            yield
    finally:
        sys.stdin = saved


def _exit_code(exc: SystemExit, stderr: io.StringIO) -> int:
    """What the interpreter makes of a SystemExit: None is 0, a message goes to stderr as 1."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=stderr)
    return 1


def run_cli(
    *args: str,
    env: Variables | None = None,
    stdin: str | None = None,
    tty: bool = False,
    stdin_tty: bool = False,
    sleep: Sleep | None = None,
    fast_path: bool = False,
) -> Result:
    """``azjobs ARGS`` in-process, through the console script's entry.

    ``tty``: stdout is a terminal (stderr never is); ``stdin``: what a prompt reads, and
    ``stdin_tty`` whether stdin is a terminal. ``sleep``: how the HTTP client waits before a
    retry (record the waits instead of sleeping).

    ``fast_path``: False (the default) turns the fast path off (``AZJOBS_FASTPATH=0``): every
    call goes through the Typer app, the reference that the fast path is checked against. True
    leaves it on, as the console script has it: plain get, list-tasks and list calls take it.
    """
    values = dict(env or {})
    if not fast_path:
        values[console.DISABLE_VARIABLE] = "0"
    return _in_process(
        lambda: console.main(list(args)),
        values,
        stdin=stdin,
        tty=tty,
        stdin_tty=stdin_tty,
        sleep=sleep,
    )


class App(Protocol):
    """A Typer app (or click command), called as a standalone command line."""

    def __call__(self, *, args: list[str], prog_name: str) -> Any: ...


def run_command(app: App, *args: str, env: Variables | None = None) -> Result:
    """``azjobs ARGS`` through a given app instead of the console entry: for tests that compare
    two ways of building it. Streams and exit code as ``run_cli``."""
    return _in_process(lambda: app(args=list(args), prog_name="azjobs"), dict(env or {}))


def _in_process(
    call: Callable[[], object],
    env: Variables,
    *,
    stdin: str | None = None,
    tty: bool = False,
    stdin_tty: bool = False,
    sleep: Sleep | None = None,
) -> Result:
    """Run ``call`` (which ends in SystemExit, as a command line does) with fake streams, an
    installed Environment and ``env`` applied; undo what it changes in the process."""
    out, err = _Stream(tty=tty), _Stream(tty=False)
    environment = Environment(
        stdout=out,
        stderr=err,
        stdout_isatty=tty,
        stderr_isatty=False,
        stdin_isatty=stdin_tty,
        env=os.environ,
        sleep=sleep if sleep is not None else time.sleep,
    )
    sigterm = signal.getsignal(signal.SIGTERM)
    with (
        variables(env),
        _system_streams(out, err, _Stream(stdin or "", tty=stdin_tty)),
        environment.installed(),
    ):
        try:
            call()
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc, err)
        finally:
            signal.signal(signal.SIGTERM, sigterm)
    return Result(code, out.getvalue(), err.getvalue())


# ----- the installed console script ---------------------------------------------------------------
def child_environment(env: Variables | None = None) -> dict[str, str]:
    """The environment of an ``azjobs`` child: this test's (isolated) one with ``env`` on top;
    output unbuffered, so that a test reading a pipe sees each line when it is written."""
    values = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name, value in (env or {}).items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    return values


def run_cli_process(
    *args: str,
    env: Variables | None = None,
    stdin: str | None = None,
    timeout: float = 60.0,
    program: Sequence[str] = AZJOBS,
    cwd: Path | None = None,
) -> Result:
    """``azjobs ARGS`` as a process of the installed console script (or another ``program``
    that starts azjobs, such as ``PYTHON_M``), waited for at most ``timeout`` seconds."""
    done = subprocess.run(
        [*program, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=child_environment(env),
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@overload
def spawn_cli(
    *args: str,
    env: Variables | None = ...,
    binary: Literal[False] = ...,
    program: Sequence[str] = ...,
) -> subprocess.Popen[str]: ...


@overload
def spawn_cli(
    *args: str,
    env: Variables | None = ...,
    binary: Literal[True],
    program: Sequence[str] = ...,
) -> subprocess.Popen[bytes]: ...


def spawn_cli(
    *args: str,
    env: Variables | None = None,
    binary: bool = False,
    program: Sequence[str] = AZJOBS,
) -> subprocess.Popen[str] | subprocess.Popen[bytes]:
    """``azjobs ARGS`` started and left running, stdout and stderr piped (text unless
    ``binary``), stdin empty: for tests that signal it, read it line by line or run several.
    Still running when the test ends (it failed on the way), it is killed then."""
    proc: subprocess.Popen[str] | subprocess.Popen[bytes]
    if binary:
        proc = subprocess.Popen(
            [*program, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(env),
        )
    else:
        proc = subprocess.Popen(
            [*program, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(env),
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    stop_at_test_end(functools.partial(_kill, proc))
    return proc


def _kill(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    proc.wait(timeout=30)


_LEFTOVERS: list[Callable[[], None]] = []


def stop_at_test_end(stop: Callable[[], None]) -> None:
    """Have ``stop`` run when the current test ends (``stop_leftovers``)."""
    _LEFTOVERS.append(stop)


def stop_leftovers() -> None:
    """Stop what the test started and left running: no process outlives its test."""
    while _LEFTOVERS:
        _LEFTOVERS.pop()()


def finished(proc: subprocess.Popen[str], timeout: float = 60.0) -> Result:
    """Wait for a spawned run (at most ``timeout`` seconds) and collect its output."""
    out, err = proc.communicate(timeout=timeout)
    return Result(proc.returncode, out, err)
