"""The shapes of the command registry: commands, their parameters, and which code runs them.

Plain data without Typer, because two parsers read it: the Typer app (``cli.app``) builds its
commands from it, and the start-up parser (``cli.fastparse``) reads plain ``get``/``list`` calls
with it. Code is named by dotted path (``"package.module:attribute"``) and imported only when a
command runs (``resolve``), so that reading the registry costs no command's imports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from typing import Any, Literal

Kind = Literal["str", "int", "float", "bool"]
Value = str | int | float | bool | None


@dataclass(frozen=True)
class Param:
    """One option (``flags`` given) or positional argument (no flags) of a command.

    ``name`` is the field of the command's options class that receives the value. ``kind``
    is how the command line spells the value (``bool``: a flag without a value); ``convert``
    names a function that turns that text into the field's value (a duration into seconds),
    applied after parsing by both parsers alike, its errors being usage errors. ``complete``
    names the function that offers values on a TAB press.
    """

    name: str
    help: str
    flags: tuple[str, ...] = ()
    kind: Kind = "str"
    default: Value = None
    multiple: bool = False
    required: bool = False
    metavar: str | None = None
    panel: str | None = None
    complete: str | None = None
    convert: str | None = None
    show_default: bool = True

    @property
    def is_argument(self) -> bool:
        return not self.flags

    @property
    def takes_value(self) -> bool:
        return self.kind != "bool"


def option(
    name: str,
    help: str,
    *flags: str,
    kind: Kind = "str",
    multiple: bool = False,
    metavar: str | None = None,
    panel: str | None = None,
    complete: str | None = None,
    convert: str | None = None,
) -> Param:
    """An option without a default of its own: not given, the command resolves it (from the
    environment, the config file or its built-in rule), so help shows none."""
    return Param(
        name,
        help,
        flags,
        kind=kind,
        multiple=multiple,
        metavar=metavar,
        panel=panel,
        complete=complete,
        convert=convert,
        show_default=False,
    )


def switch(name: str, help: str, *flags: str, panel: str | None = None) -> Param:
    """An on/off option, off unless given."""
    return Param(name, help, flags, kind="bool", default=False, panel=panel)


def in_panel(panel: str, *params: Param) -> tuple[Param, ...]:
    """``params`` listed under one heading of the help, said once for the lot."""
    return tuple(replace(p, panel=panel) for p in params)


@dataclass(frozen=True)
class Route:
    """Another run function for the same command line: ``run`` serves a call whose options
    have the boolean attribute ``when`` set (``list --fleet`` runs the Resource Graph form)."""

    when: str
    run: str


@dataclass(frozen=True)
class Command:
    """A command: its help, its parameters, the options class they fill, and its run function.

    ``fast``: plain calls of it are parsed at start-up without Typer (scripts run it in loops).
    ``with_context``: its options also get the Typer context as ``context`` (``help`` renders
    the other commands' help with it).
    """

    name: str
    help: str
    params: tuple[Param, ...]
    options: str
    run: str
    notes: str = ""
    examples: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()
    fast: bool = False
    with_context: bool = False

    def run_for(self, options: object) -> str:
        """The run function that serves ``options``."""
        for route in self.routes:
            if getattr(options, route.when):
                return route.run
        return self.run


@dataclass(frozen=True)
class Group:
    """A command with subcommands (``azjobs config show``)."""

    name: str
    help: str
    commands: tuple[Command, ...]
    notes: str = ""
    examples: tuple[str, ...] = ()

    def find(self, name: str) -> Command | None:
        return next((c for c in self.commands if c.name == name), None)


Entry = Command | Group


@dataclass(frozen=True)
class Program:
    """The whole command line: the program's own help and its commands, in listing order."""

    name: str
    help: str
    entries: tuple[Entry, ...]
    notes: str = ""
    examples: tuple[str, ...] = ()

    def find(self, name: str) -> Entry | None:
        return next((e for e in self.entries if e.name == name), None)


def epilog(notes: str, examples: tuple[str, ...]) -> str:
    """The text after a help's options: notes, then the examples, each kept on its line
    however narrow the terminal (click's \\b marker)."""
    block = "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in examples) if examples else ""
    return "\n\n".join(part for part in (notes, block) if part)


def resolve(path: str) -> Any:
    """The object a dotted path (``"package.module:attribute"``) names, importing its module."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)
