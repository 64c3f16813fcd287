"""The lazily built command tree behaves as the one Typer builds: same help, completions, errors.

``cli.main`` builds only the command that runs (``lazy_typer``); this compares it with
``typer.main.get_command(app)`` on every help text, a set of completion requests in each shell,
and the usage errors, so that a Typer upgrade that changes the internals it relies on fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer

from azbackupjobs.cli import app as cli
from azbackupjobs.cli.lazy import LazyTyperGroup, build_command, lazy_command
from tests.harness import run_command


def _eager() -> Any:
    return typer.main.get_command(cli.app)


def _lazy() -> Any:
    return lazy_command(cli.app)


def _all_help_invocations() -> list[list[str]]:
    root = _eager()
    cases: list[list[str]] = [[], ["--help"], ["-h"]]
    for name, command in root.commands.items():
        cases.append([name, "--help"])
        for sub in getattr(command, "commands", {}):
            cases.append([name, sub, "--help"])
        if getattr(command, "commands", None):
            cases.append([name])
    return cases


def test_the_root_is_lazy() -> None:
    root = _lazy()
    assert isinstance(root, LazyTyperGroup)
    assert list(root.commands) == list(_eager().commands)
    assert root.commands._built == {}


@pytest.mark.parametrize("args", _all_help_invocations(), ids=" ".join)
def test_help_is_the_same(args: list[str]) -> None:
    assert run_command(_lazy(), *args) == run_command(_eager(), *args)


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
    assert run_command(_lazy(), *args) == run_command(_eager(), *args)


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
        ("zsh", "azjobs "),
        ("zsh", "azjobs wa"),
        ("zsh", "azjobs get --au"),
        ("fish", "azjobs "),
        ("fish", "azjobs get --auth "),
    ],
)
def test_completions_are_the_same(shell: str, words: str) -> None:
    parts = words.split(" ")
    env = {
        "_AZJOBS_COMPLETE": f"complete_{shell}",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(parts) - 1),
        "_TYPER_COMPLETE_ARGS": words,
        "_TYPER_COMPLETE_WORD_TO_COMPLETE": parts[-1],
        "_TYPER_COMPLETE_FISH_ACTION": "get-args",
    }
    lazy = run_command(_lazy(), env=env)
    assert lazy == run_command(_eager(), env=env)
    assert lazy.stdout.strip() or words.endswith("--")


def test_listing_builds_nothing() -> None:
    root = _lazy()
    run_command(root, "--help")
    assert root.commands._built == {}


def test_running_builds_one_command() -> None:
    root = _lazy()
    run_command(root, "get", "--help")
    assert list(root.commands._built) == ["get"]


def test_build_command_matches_typer() -> None:
    eager = _eager()
    for name in eager.commands:
        built = build_command(cli.app, name)
        if built is None:  # a group: built by Typer's group builder
            continue
        assert [p.opts for p in built.params] == [p.opts for p in eager.commands[name].params]
    assert build_command(cli.app, "no-such-command") is None
