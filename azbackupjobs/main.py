"""The process entry point, and a fast path for the invocations scripts run in loops.

``azjobs get JOB -o json`` in a loop should cost little more than a bare ``requests`` script:
importing Typer and building its command tree costs about as much as the GET itself. So
``main()`` first reads argv itself (``cli.fastparse``, from the same command registry the Typer
app is built from) for plain ``get``, ``list-tasks`` and ``list`` calls, and runs the command
through the same ``cli.invoke`` without importing Typer; everything else (help, completion,
other commands, unknown or odd flags, values that do not convert) goes to the Typer app in
``cli`` unchanged. Tests run a matrix of invocations through both and compare stdout, stderr and
exit codes. ``AZJOBS_FASTPATH=0`` turns the fast path off.

``guarded()`` is the one place that turns an ``AzJobsError`` into one stderr line and its exit
code, and signals into 130/143, for both paths.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from azbackupjobs.cli.fastparse import Call, parse
from azbackupjobs.cli.guard import guarded

DISABLE_VARIABLE = "AZJOBS_FASTPATH"
COMPLETE_VARIABLE = "_AZJOBS_COMPLETE"


def run_call(call: Call) -> NoReturn:
    """Run a parsed call with the exit behaviour of the Typer path."""

    def invoke() -> None:
        from azbackupjobs.cli import invoke as command_runner

        try:
            code = command_runner.run(call.command, call.values)
        except EOFError:  # as click's standalone mode does
            print(file=sys.stderr)
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        sys.exit(int(code or 0))

    guarded(invoke, lambda: bool(call.values.get("debug")))
    sys.exit(0)  # pragma: no cover - guarded always exits through invoke


def shortcuts_enabled(env: Mapping[str, str]) -> bool:
    """AZJOBS_FASTPATH=0 turns off the fast parser and the quick exits alike."""
    return env.get(DISABLE_VARIABLE, "").strip().lower() not in {"0", "false", "no", "off"}


def fast_enabled(env: Mapping[str, str]) -> bool:
    return shortcuts_enabled(env) and COMPLETE_VARIABLE not in env


def quick_exit(exc: SystemExit) -> NoReturn:
    """End a fast call at once, as ``sys.exit`` would but without the interpreter's teardown:
    unloading the ~300 modules that requests brings costs ~25 ms, as much as our own imports.
    Nothing is left to clean up: output is flushed after every write, files are closed, no
    thread runs; the streams are flushed once more here anyway."""
    code = exc.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def console() -> None:
    """The ``azjobs`` console script and ``python -m azbackupjobs``: ``main``, ending a fast call,
    a help text or a completion at once (``quick_exit``) instead of raising SystemExit."""
    main(exit_at_once=True)


def main(argv: list[str] | None = None, *, exit_at_once: bool = False) -> None:
    """The fast path when it applies, else the Typer app; raises SystemExit with the exit code
    (for in-process callers), unless ``exit_at_once``."""
    args = sys.argv[1:] if argv is None else list(argv)
    env = os.environ
    if fast_enabled(env):
        call = parse(args)
        if call is not None:
            if not exit_at_once:
                run_call(call)  # raises SystemExit, as the Typer path does
            try:
                run_call(call)
            except SystemExit as exc:
                quick_exit(exc)
    from azbackupjobs.cli import app as cli

    if exit_at_once and shortcuts_enabled(env) and (COMPLETE_VARIABLE in env or _asks_help(args)):
        try:  # help and completions only print: no teardown either (a TAB press waits on it)
            cli.main(argv)
        except SystemExit as exc:
            quick_exit(exc)
    cli.main(argv)


def _asks_help(args: Sequence[str]) -> bool:
    """``azjobs``, ``azjobs help ...``, or -h/--help before any ``--``."""
    if not args or args[0] == "help":
        return True
    for arg in args:
        if arg == "--":
            return False
        if arg in {"-h", "--help"}:
            return True
    return False
