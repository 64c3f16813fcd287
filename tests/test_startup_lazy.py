"""The partly built app behaves as the fully built one: same help, completions, errors.

``cli.main`` builds in full only the commands a run names (``needed_commands``) and lists the
others by entries without parameters; this compares it with the app that has every command
built, on every help text, a set of completion requests in each shell, and the usage errors.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import typer

from azbackupjobs.cli import app as cli
from azbackupjobs.cli.registry import PROGRAM
from azbackupjobs.cli.spec import Group
from tests.harness import run_command


def _eager(args: list[str]) -> typer.Typer:
    return cli.build_app()


def _lazy(args: list[str]) -> typer.Typer:
    return cli.build_app(cli.needed_commands(args, os.environ))


def _all_help_invocations() -> list[list[str]]:
    cases: list[list[str]] = [[], ["--help"], ["-h"]]
    for entry in PROGRAM.entries:
        cases.append([entry.name, "--help"])
        if isinstance(entry, Group):
            cases.append([entry.name])
            cases.extend([entry.name, sub.name, "--help"] for sub in entry.commands)
    cases.extend(["help", entry.name] for entry in PROGRAM.entries)
    cases.append(["help"])
    return cases


def _callbacks(app: typer.Typer) -> dict[str, Any]:
    found: dict[str, Any] = {info.name or "": info.callback for info in app.registered_commands}
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None
        found[str(sub.info.name)] = [info.callback for info in sub.registered_commands]
    return found


def test_the_root_lists_every_command_without_building_them() -> None:
    app = cli.build_app(set())
    callbacks = _callbacks(app)
    assert set(callbacks) == {entry.name for entry in PROGRAM.entries}
    assert all(c is cli._not_built for n, c in callbacks.items() if n not in {"config", "cache"})
    assert callbacks["config"] == [] and callbacks["cache"] == []


@pytest.mark.parametrize("args", _all_help_invocations(), ids=" ".join)
def test_help_is_the_same(args: list[str]) -> None:
    assert run_command(_lazy(args), *args) == run_command(_eager(args), *args)


@pytest.mark.parametrize(
    "args",
    [
        ["gett", "x"],
        ["list-task"],
        ["--nope"],
        ["get"],
        ["get", "a", "b"],
        ["cache", "wipe"],
        ["--version"],
        ["config", "shw"],
    ],
    ids=" ".join,
)
def test_usage_errors_are_the_same(args: list[str]) -> None:
    assert run_command(_lazy(args), *args) == run_command(_eager(args), *args)


@pytest.mark.parametrize(
    ("shell", "words"),
    [
        ("bash", "azjobs "),
        ("bash", "azjobs ge"),
        ("bash", "azjobs c"),
        ("bash", "azjobs li"),
        ("bash", "azjobs cache "),
        ("bash", "azjobs get --"),
        ("bash", "azjobs get -o "),
        ("bash", "azjobs list --status "),
        ("bash", "azjobs --"),
        ("bash", "azjobs help "),
        ("zsh", "azjobs "),
        ("zsh", "azjobs wa"),
        ("zsh", "azjobs get --au"),
        ("zsh", "azjobs help "),
        ("fish", "azjobs "),
        ("fish", "azjobs get --auth "),
        ("fish", "azjobs config show --"),
    ],
)
def test_completions_are_the_same(monkeypatch: pytest.MonkeyPatch, shell: str, words: str) -> None:
    # In the process's environment, not run_command's env=: the partly built app reads the
    # words being completed when it is built, before the run.
    monkeypatch.setenv("_AZJOBS_COMPLETE", f"complete_{shell}")
    parts = words.split(" ")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(parts) - 1))
    monkeypatch.setenv("_TYPER_COMPLETE_ARGS", words)
    monkeypatch.setenv("_TYPER_COMPLETE_WORD_TO_COMPLETE", parts[-1])
    monkeypatch.setenv("_TYPER_COMPLETE_FISH_ACTION", "get-args")
    lazy = run_command(_lazy([]))
    assert lazy == run_command(_eager([]))
    assert lazy.stdout.strip() or words.endswith("--")


@pytest.mark.parametrize(
    ("args", "built"),
    [
        (["--help"], set()),
        ([], set()),
        (["get", "--help"], {"get"}),
        (["help", "watch"], {"help", "watch"}),
        (["config", "show", "-o", "json"], {"config"}),
        (["--show-completion", "bash"], set()),
    ],
)
def test_a_run_builds_the_commands_it_names(args: list[str], built: set[str]) -> None:
    assert cli.needed_commands(args, {}) == built


def test_a_tab_press_builds_the_command_being_completed() -> None:
    env = {"_AZJOBS_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "azjobs list --status "}
    assert cli.needed_commands([], env) == {"list"}
    bash = {"_AZJOBS_COMPLETE": "complete_bash", "COMP_WORDS": "azjobs watch 3b"}
    assert cli.needed_commands([], bash) == {"watch"}
