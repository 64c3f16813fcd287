"""click's command-line errors as one line, like every other azjobs error.

click prints a usage error as four lines (usage, a pointer to ``--help``, a blank line, the
error), and lists "possible options" rather than the one meant. Here it becomes one
``azjobs: error: ...`` line through ``guard`` with exit 2: a suggestion when one option or
command is close to what was typed, else a pointer to the command's ``--help``.
"""

from __future__ import annotations

import difflib
import sys
from typing import TYPE_CHECKING, NoReturn

from azbackupjobs.model.errors import AzJobsError, ExitCode, UsageError

if TYPE_CHECKING:
    import typer

_SUGGESTION = " Did you mean "


class CommandLineError(AzJobsError):
    """A click error that is not about usage (click exits 1 for those)."""


def describe(exc: typer.TyperException) -> tuple[str, str | None]:
    """The one-line message of a click error, and the suggestion it makes (or None).

    ``exc`` is one of click's errors, which Typer's ``TyperException`` is the base of: its
    ``format_message()``, and for an unknown option ``option_name`` and ``possibilities``.
    """
    text = " ".join(exc.format_message().split())
    option = getattr(exc, "option_name", None)
    possibilities = [p for p in getattr(exc, "possibilities", None) or () if isinstance(p, str)]
    if isinstance(option, str) and text.startswith("No such option"):
        close = difflib.get_close_matches(option, possibilities, n=1, cutoff=0.0)
        return f"no such option: {option}", close[0] if close else None
    head, found, tail = text.partition(_SUGGESTION)
    suggestion = tail.rstrip("?").strip() if found else None
    head = head.strip().rstrip(".")
    return (head[:1].lower() + head[1:]) if head else "invalid command line", suggestion


def fail(exc: typer.TyperException, command_path: str) -> NoReturn:
    """Raise ``exc`` as an azjobs error (or, for a group called without a command, print its
    help on stderr and exit 2, as click does). ``command_path``: the command the call names,
    for the hint when click's error does not say (``azjobs get``)."""
    message = exc.format_message()
    code = int(getattr(exc, "exit_code", ExitCode.USAGE))
    if message.startswith("Usage:"):  # click's no_args_is_help: the help is the message
        print(message, file=sys.stderr)
        sys.exit(code)
    line, suggestion = describe(exc)
    if suggestion is not None:
        line += f" (did you mean {suggestion}?)"
        hint = None
    else:
        context = getattr(exc, "ctx", None)
        path = getattr(context, "command_path", None) or command_path
        hint = f"{path} --help"
    error = UsageError if code == ExitCode.USAGE else CommandLineError
    raise error(line, hint=hint) from None
