"""Build a Typer app's click command tree lazily: only the command that runs.

Typer turns every command function into click parameters (signature inspection, Annotated
metadata, type conversion) before it parses argv; with a dozen commands that is most of what
``azjobs --help`` or a TAB press costs. Here the root group is built by Typer itself, with its
commands replaced by a mapping that builds each one, by Typer's own ``get_command_from_info``, on
first access. Listings (root help, completion of command names) use cheap stand-ins that carry
only what a listing shows (short help, hidden, deprecated), so they build nothing.

The result behaves as ``typer.main.get_command(app)``; tests compare the two on help texts,
completions and error messages (Typer is pinned to a minor version, as this relies on it).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator, MutableMapping
from functools import partial
from gettext import gettext as _
from typing import Any

import typer
from typer import _click
from typer._click.shell_completion import CompletionItem
from typer.core import TyperCommand, TyperGroup
from typer.main import (
    get_command_from_info,
    get_command_name,
    get_group_from_info,
    get_install_completion_arguments,
    solve_typer_info_defaults,
)
from typer.models import CommandInfo, TyperInfo


class LazyCommands(MutableMapping[str, _click.Command]):
    """Commands by name, in registration order; each is built on first access."""

    def __init__(
        self,
        builders: dict[str, Callable[[], _click.Command]],
        stubs: dict[str, Callable[[], _click.Command]],
    ) -> None:
        self._builders = builders
        self._stubs = stubs
        self._built: dict[str, _click.Command] = {}

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._built[name] = command
        self._builders.setdefault(name, lambda: command)

    def __delitem__(self, name: str) -> None:
        del self._builders[name]
        self._built.pop(name, None)
        self._stubs.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)

    def listing(self, name: str) -> _click.Command:
        """The built command when there is one, else its stand-in for listings."""
        if name in self._built or name not in self._stubs:
            return self[name]
        return self._stubs[name]()


class LazyTyperGroup(TyperGroup):
    """A TyperGroup whose listings do not build the commands they list."""

    commands: LazyCommands

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)

    def _visible(self, ctx: _click.Context, incomplete: str = "") -> list[tuple[str, Any]]:
        found = []
        for name in self.list_commands(ctx):
            if name.startswith(incomplete):
                command = self.commands.listing(name)
                if not command.hidden:
                    found.append((name, command))
        return found

    # The same as TyperGroup.format_commands, over the stand-ins.
    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        commands = self._visible(ctx)
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
            with formatter.section(_("Commands")):
                formatter.write_dl(rows)

    # The same as TyperGroup.shell_complete, over the stand-ins.
    def shell_complete(self, ctx: _click.Context, incomplete: str) -> list[CompletionItem]:
        results = [
            CompletionItem(name, help=command.get_short_help_str())
            for name, command in self._visible(ctx, incomplete)
        ]
        results.extend(_click.core.Command.shell_complete(self, ctx, incomplete))
        return results


def _command_name(info: CommandInfo) -> str:
    return info.name or get_command_name(info.callback.__name__)  # type: ignore[union-attr]


def _command_stub(info: CommandInfo, name: str) -> _click.Command:
    help_text = info.help
    help_text = inspect.getdoc(info.callback) if help_text is None else inspect.cleandoc(help_text)
    return TyperCommand(
        name,
        help=help_text,
        short_help=info.short_help,
        hidden=info.hidden,
        deprecated=info.deprecated,
    )


def _group_stub(solved: TyperInfo) -> _click.Command:
    return TyperGroup(
        name=solved.name,
        help=solved.help,
        short_help=solved.short_help,
        hidden=solved.hidden,
        deprecated=solved.deprecated,
    )


def build_command(app: typer.Typer, name: str) -> _click.Command | None:
    """One top-level command of ``app``, built exactly as Typer builds it; None when absent."""
    for info in app.registered_commands:
        if _command_name(info) == name:
            return get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
    return None


def lazy_command(app: typer.Typer) -> _click.Command:
    """``typer.main.get_command(app)``, with each subcommand built only when it is used."""
    nameless = any(solve_typer_info_defaults(g).name is None for g in app.registered_groups)
    if nameless or not (app.registered_callback or app.info.callback):
        return typer.main.get_command(app)  # shapes this module does not handle
    builders: dict[str, Callable[[], _click.Command]] = {}
    stubs: dict[str, Callable[[], _click.Command]] = {}
    short = app.pretty_exceptions_short
    markup = app.rich_markup_mode
    for info in app.registered_commands:
        name = _command_name(info)
        builders[name] = partial(
            get_command_from_info, info, pretty_exceptions_short=short, rich_markup_mode=markup
        )
        stubs[name] = partial(_command_stub, info, name)
    for group_info in app.registered_groups:
        solved = solve_typer_info_defaults(group_info)
        name = str(solved.name)
        builders[name] = partial(
            get_group_from_info,
            group_info,
            pretty_exceptions_short=short,
            rich_markup_mode=markup,
            suggest_commands=app.suggest_commands,
        )
        stubs[name] = partial(_group_stub, solved)
    # The root group as Typer builds it, from a copy of the app without its commands.
    bare = copy.copy(app)
    bare.registered_commands = []
    bare.registered_groups = []
    root = get_group_from_info(
        TyperInfo(bare),
        pretty_exceptions_short=short,
        rich_markup_mode=markup,
        suggest_commands=app.suggest_commands,
    )
    if type(root) is not TyperGroup:
        return typer.main.get_command(app)
    root.__class__ = LazyTyperGroup
    root.commands = LazyCommands(builders, stubs)
    if app._add_completion:
        root.params.extend(get_install_completion_arguments())
    return root
