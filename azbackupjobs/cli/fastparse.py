"""Reading plain calls of the commands scripts run in loops, without Typer, from the registry.

Importing Typer and building a command costs about as much as the GET a ``get`` sends. The
commands marked ``fast`` in the registry (``get``, ``list-tasks``, ``list``) are read here from
the same ``Param`` entries the Typer app is built from, but only in the forms that click reads
the same way: exact option names, ``--long=value``, a value in the next word when that word
does not start with ``-``, a flag without a value, as many positional words as the command has
required arguments, numbers that Python reads as click does. Anything else (help, an unknown or
abbreviated option, ``-ovalue``, ``--``, a value that does not convert) is not taken: ``parse``
returns None and Typer reads the call, with its own messages. A test runs a matrix of calls
through both and compares their output and exit codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from azbackupjobs.cli.registry import PROGRAM
from azbackupjobs.cli.spec import Command, Param, Program

_CONVERT: dict[str, Callable[[str], Any]] = {"str": str, "int": int, "float": float}


@dataclass(frozen=True)
class Call:
    """A call read here: the command and its values by parameter name."""

    command: Command
    values: dict[str, Any]


def _convert(param: Param, raw: str) -> tuple[bool, Any]:
    try:
        return True, _CONVERT[param.kind](raw)
    except (KeyError, ValueError, OverflowError):
        return False, None


def parse(args: Sequence[str], program: Program = PROGRAM) -> Call | None:
    """``args`` (without the program name) read as click would, or None to leave it to Typer."""
    if not args:
        return None
    command = program.find(args[0])
    if not isinstance(command, Command) or not command.fast:
        return None
    arguments = [p for p in command.params if p.is_argument]
    if any(p.multiple or not p.required for p in arguments):
        return None  # optional or repeated positionals: beyond this reader
    by_flag = {flag: p for p in command.params for flag in p.flags}
    given: dict[str, list[Any]] = {}
    positional: list[str] = []
    index = 1
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("-"):
            positional.append(arg)
            continue
        name, equals, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        param = by_flag.get(name)
        if param is None:
            return None
        if not param.takes_value:
            if equals:
                return None
            given.setdefault(param.name, []).append(True)
            continue
        if equals:
            raw = inline
        elif index < len(args) and not args[index].startswith("-"):
            raw = args[index]
            index += 1
        else:
            return None
        ok, value = _convert(param, raw)
        if not ok:
            return None
        given.setdefault(param.name, []).append(value)
    if len(positional) != len(arguments):
        return None
    values: dict[str, Any] = {p.name: v for p, v in zip(arguments, positional, strict=True)}
    for param in command.params:
        if param.name in given:
            seen = given[param.name]
            values[param.name] = seen if param.multiple else seen[-1]
    return Call(command, values)
