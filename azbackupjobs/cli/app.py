"""The Typer app, built from the command registry through Typer's public API.

Each command of ``cli.registry`` becomes a Typer command whose parameters are generated from its
``Param`` entries (a signature of ``Annotated[..., typer.Option(...)]`` parameters); the command
function hands the parsed values to ``cli.invoke``, as the start-up parser does. Typer inspects
every parameter of every command it registers, which is most of what ``azjobs --help`` or a TAB
press would cost; so only the commands a run names are built in full, and the others are
listed by entries without parameters that show the same name and help.

``main()`` runs the app through ``guard.guarded``, the one place that turns failures into one
stderr line and an exit code; click's usage errors become such a line too (``cli.usage``).
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Annotated, Any, NoReturn

import typer

from azbackupjobs import __version__
from azbackupjobs.cli import invoke
from azbackupjobs.cli.registry import PROGRAM
from azbackupjobs.cli.spec import Command, Group, Param, epilog, resolve

COMPLETE_VARIABLE = "_AZJOBS_COMPLETE"
# The words of the command line being completed, as Typer's shell scripts pass them.
COMPLETION_WORDS = ("COMP_WORDS", "_TYPER_COMPLETE_ARGS")
CONTEXT_PARAMETER = "ctx"

_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}
_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# ----- one command --------------------------------------------------------------------------------
def _annotation(param: Param) -> Any:
    base: Any = _TYPES[param.kind]
    if param.multiple:
        base = list[base] | None
    elif param.default is None and param.kind != "bool" and not param.required:
        base = base | None
    complete = resolve(param.complete) if param.complete is not None else None
    if param.is_argument:
        info: Any = typer.Argument(
            help=param.help,
            metavar=param.metavar,
            show_default=param.show_default,
            autocompletion=complete,
        )
    else:
        info = typer.Option(
            *param.flags,
            help=param.help,
            metavar=param.metavar,
            rich_help_panel=param.panel,
            show_default=param.show_default,
            autocompletion=complete,
        )
    return Annotated[base, info]


def _signature(command: Command) -> inspect.Signature:
    parameters = [
        inspect.Parameter(
            p.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=inspect.Parameter.empty if p.required else p.default,
            annotation=_annotation(p),
        )
        for p in command.params
    ]
    if command.with_context:
        parameters.insert(
            0,
            inspect.Parameter(
                CONTEXT_PARAMETER, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
            ),
        )
    return inspect.Signature(parameters, return_annotation=int)


def command_function(command: Command) -> Callable[..., int]:
    """A function that Typer reads as the command (its signature is generated from the
    registry) and that runs it through ``cli.invoke``."""

    def run_command(**values: Any) -> int:
        context = values.pop(CONTEXT_PARAMETER, None)
        return invoke.run(command, values, context=context)

    signature = _signature(command)
    run_command.__signature__ = signature  # type: ignore[attr-defined]
    run_command.__annotations__ = {
        **{name: p.annotation for name, p in signature.parameters.items()},
        "return": int,
    }
    run_command.__name__ = run_command.__qualname__ = command.name.replace("-", "_")
    return run_command


def _not_built() -> None:
    """What a listed-only entry would run: never, since every command a run names is built."""
    raise RuntimeError("azjobs: a command was run without being built")


def _add_command(app: typer.Typer, command: Command, *, full: bool) -> None:
    function: Callable[..., Any] = command_function(command) if full else _not_built
    app.command(command.name, help=command.help, epilog=epilog(command.notes, command.examples))(
        function
    )


def _add_group(app: typer.Typer, group: Group, *, full: bool) -> None:
    sub = typer.Typer(
        name=group.name,
        help=group.help,
        epilog=epilog(group.notes, group.examples),
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    if full:
        for command in group.commands:
            _add_command(sub, command, full=True)
    app.add_typer(sub)


# ----- the app ------------------------------------------------------------------------------------
def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"azjobs {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the version and exit.",
            is_eager=True,
            callback=_version_callback,
        ),
    ] = False,
) -> None:
    """The program's own options; the commands do the work."""


def build_app(needed: Collection[str] | None = None) -> typer.Typer:
    """The app; ``needed``: the top-level commands to build in full (None: every one)."""
    app = typer.Typer(
        name=PROGRAM.name,
        help=PROGRAM.help,
        epilog=epilog(PROGRAM.notes, PROGRAM.examples),
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        pretty_exceptions_show_locals=False,
        rich_markup_mode=None,
        context_settings=_SETTINGS,
    )
    app.callback()(_root)
    # Typer lists commands before groups, whatever the order of registration.
    for entry in PROGRAM.entries:
        full = needed is None or entry.name in needed
        if isinstance(entry, Group):
            _add_group(app, entry, full=full)
        else:
            _add_command(app, entry, full=full)
    return app


def named_commands(words: Iterable[str]) -> set[str]:
    """The top-level commands that ``words`` name. The program's own options take no values
    that could be command names, so the command that runs is always among these; a word that
    is an argument and happens to be a command name only costs building one more command."""
    return {w for w in words if PROGRAM.find(w) is not None}


def needed_commands(args: Sequence[str], env: Mapping[str, str]) -> set[str]:
    """What a run must build: the commands its argv names, or, for a TAB press, the words of
    the command line being completed."""
    words = list(args)
    if COMPLETE_VARIABLE in env:
        for name in COMPLETION_WORDS:
            words.extend(env.get(name, "").split())
    return named_commands(words)


def wants_debug(args: Sequence[str]) -> bool:
    """``--debug`` among the options: an unexpected error then prints its traceback."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--debug":
            return True
    return False


def run_app(args: Sequence[str]) -> NoReturn:
    """Parse ``args`` with the app and run the command; exit with its code.

    click runs outside its standalone mode, so that its errors reach ``cli.usage`` (one line)
    instead of being printed as a usage block, and the command's exit code comes back.
    """
    from azbackupjobs.cli import usage

    option, _, shell = args[0].partition("=") if args else ("", "", "")
    if option == "--install-completion":  # where the README says, not where Typer would
        from azbackupjobs.cli import shell_scripts

        sys.exit(shell_scripts.main([shell] if shell else list(args[1:]), os.environ))
    app = build_app(needed_commands(args, os.environ))
    try:
        if COMPLETE_VARIABLE in os.environ:
            from azbackupjobs.cli.completion import plain_descriptions

            with plain_descriptions():
                code = app(args=list(args), prog_name=PROGRAM.name, standalone_mode=False)
        else:
            code = app(args=list(args), prog_name=PROGRAM.name, standalone_mode=False)
    except typer.Abort:  # end of input at a prompt, as click's standalone mode reports it
        print("Aborted!", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as exc:
        usage.fail(exc, command_path(args))
    sys.exit(int(code or 0))


def command_path(args: Sequence[str]) -> str:
    """``azjobs``, then the command (and subcommand) that ``args`` start with."""
    words = [PROGRAM.name]
    entry = PROGRAM.find(args[0]) if args else None
    if entry is not None:
        words.append(entry.name)
        if isinstance(entry, Group) and len(args) > 1 and entry.find(args[1]) is not None:
            words.append(args[1])
    return " ".join(words)


def main(argv: list[str] | None = None) -> None:
    """Run the Typer app (``main.console``, the console script, tries a faster path first)."""
    from azbackupjobs.cli.guard import guarded

    args = sys.argv[1:] if argv is None else list(argv)
    guarded(lambda: run_app(args), lambda: wants_debug(args))
