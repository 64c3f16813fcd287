"""Help: every command and option explained, every command's help ending with examples.

The checks walk the whole command tree of the app, so a command added later is held to the same
rules without anyone listing it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from azbackupjobs.cli.app import build_app
from azbackupjobs.commands import help_cmd
from azbackupjobs.model.errors import ExitCode
from tests.harness import run_cli

ROOT = Path(__file__).resolve().parent.parent
ROOT_COMMAND = typer.main.get_command(build_app())


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    context = typer.Context(command, info_name="azjobs")
    for name in getattr(command, "list_commands", lambda _c: [])(context):
        sub = command.get_command(context, name)
        if sub is not None and not sub.hidden:
            yield from walk(sub, (*path, name))


COMMANDS = list(walk(ROOT_COMMAND))
IDS = [" ".join(path) or "azjobs" for path, _ in COMMANDS]


def rendered_help(path: tuple[str, ...], columns: int = 80) -> str:
    """``azjobs PATH --help`` as printed ``columns`` wide."""
    result = run_cli(*path, "--help", env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_the_tree_has_the_known_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"get", "list-tasks", "help", "config", "config show", "config path"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_command_and_parameter_has_help(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), f"{IDS} has no help text"
    for param in command.params:
        text = getattr(param, "help", None)
        assert text and text.strip(), f"{' '.join(path)}: {param.name} has no help"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_help_ends_with_examples(
    path: tuple[str, ...],
    command: Any,
) -> None:
    text = rendered_help(path)
    assert text.count("Examples:") == 1, "one Examples section"
    tail = [line for line in text.split("Examples:", 1)[1].splitlines() if line.strip()]
    assert tail, "the Examples section is empty"
    assert all("azjobs" in line for line in tail), f"not an example, after the examples: {tail}"
    invocation = " ".join(("azjobs", *path))
    assert any(invocation in line for line in tail), f"no example runs `{invocation}`"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_examples_are_not_rewrapped(
    path: tuple[str, ...],
    command: Any,
) -> None:
    """click's \\b marker keeps each example on one line, however narrow the terminal."""
    epilog = command.epilog or ""
    examples = [
        line.strip()
        for line in epilog.split("Examples:", 1)[-1].splitlines()
        if line.strip() and line.strip() != "\b"
    ]
    lines = {line.strip() for line in rendered_help(path, 60).splitlines()}
    for example in examples:
        assert example in lines, f"re-wrapped: {example!r}"


VAULT_COMMANDS = [
    (p, c) for p, c in COMMANDS if any("--subscription" in getattr(x, "opts", []) for x in c.params)
]


def param(command: Any, flag: str) -> Any:
    for p in command.params:
        if flag in getattr(p, "opts", []) or p.name == flag:
            return p
    raise AssertionError(f"{command.name}: no {flag}")


@pytest.mark.parametrize(
    ("path", "command"), VAULT_COMMANDS, ids=[" ".join(p) for p, _ in VAULT_COMMANDS]
)
def test_vault_commands_take_a_profile_and_complete_their_values(
    path: tuple[str, ...], command: Any
) -> None:
    assert param(command, "--profile") is not None
    for flag in ("--output", "--cloud", "--profile"):
        assert param(command, flag)._custom_shell_complete is not None, f"{flag} completes"
    for p in command.params:
        if p.param_type_name == "argument" and "JOB" in (p.metavar or p.name or "").upper():
            assert p._custom_shell_complete is not None, f"{p.name} completes job GUIDs"


def test_list_filters_complete_their_values() -> None:
    commands = dict(COMMANDS)
    for flag in ("--status", "--operation", "--type"):
        assert param(commands[("list",)], flag)._custom_shell_complete is not None, flag


def test_vault_commands_are_found() -> None:
    assert {" ".join(p) for p, _ in VAULT_COMMANDS} >= {"get", "list-tasks", "config show"}


# ----- help topics ------------------------------------------------------------------------------
def test_help_exit_codes_lists_every_code() -> None:
    code, out, err = run_cli("help", "exit-codes")
    assert code == 0 and err == ""
    listed = {int(m[1]) for m in re.finditer(r"^  (\d+)\s+\S", out, re.MULTILINE)}
    assert listed == {int(c) for c in ExitCode}
    assert set(help_cmd.EXIT_CODES) == set(ExitCode)


def test_readme_exit_codes_match() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    codes = {int(m[1]) for m in re.finditer(r"^\| (\d+) \|", section, re.MULTILINE)}
    assert codes == {int(c) for c in ExitCode}


def test_every_variable_the_code_reads_is_documented() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "azbackupjobs").rglob("*.py"))
    used = set(re.findall(r"\bAZJOBS_[A-Z][A-Z_]*[A-Z]\b", source))
    code, out, _ = run_cli("help", "environment")
    assert code == 0
    documented = set(re.findall(r"^  (AZJOBS_[A-Z_]+)$", out, re.MULTILINE))
    assert used - documented == set(), "document these in help_cmd.ENVIRONMENT"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert {v for v in used if v not in readme} == set(), "and in the README"


def test_help_config_shows_a_valid_example() -> None:
    code, out, _ = run_cli("help", "config")
    assert code == 0 and "[profiles.prod]" in out and "AZJOBS_PROFILE" in out


def test_help_index_lists_topics_and_commands() -> None:
    code, out, _ = run_cli("help")
    assert code == 0
    for name in (*help_cmd.TOPICS, "get", "config"):
        assert re.search(rf"^  {re.escape(name)}\s", out, re.MULTILINE), name


def test_help_command_is_the_command_help() -> None:
    code, out, _ = run_cli("help", "list-tasks")
    assert code == 0
    assert out == rendered_help(
        ("list-tasks",), columns=int(__import__("os").environ.get("COLUMNS", "80"))
    )


def test_unknown_topic_is_a_usage_error() -> None:
    code, out, err = run_cli("help", "nope\x1b[31m")
    assert code == 2 and out == ""
    assert err.startswith("azjobs: error: no help topic") and err.count("\n") == 1
    assert "\x1b" not in err and "exit-codes" in err


def test_watch_help_lists_every_exit_code() -> None:
    """watch can end with any of the codes: its help says what each one means there."""
    text = " ".join(rendered_help(("watch",)).split())
    paragraph = text.split("Exit: ", 1)[1].split(" --fleet:", 1)[0]
    listed = {int(n) for n in re.findall(r"(?<![\w-])(\d{1,3})(?![\w-])", paragraph)}
    assert listed == {int(c) for c in ExitCode}, paragraph
