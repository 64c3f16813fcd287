"""Command-line mistakes: one ``azjobs: error:`` line on stderr, exit 2, and a way forward."""

from __future__ import annotations

import pytest

from azbackupjobs.view.output import Query
from tests.harness import PYTHON_M, Result, run_cli, run_cli_process


def run(args: list[str], *, entry: str = "typer") -> Result:
    """``azjobs ARGS`` through the console script's entry (its fast path on) or the Typer app."""
    return run_cli(*args, fast_path=entry == "console")


@pytest.mark.parametrize("entry", ["console", "typer"])
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["get", "--ouput", "json"], "no such option: --ouput (did you mean --output?)"),
        (["get", "J", "--outpt=json"], "no such option: --outpt (did you mean --output?)"),
        (["list", "--stauts", "Failed"], "no such option: --stauts (did you mean --status?)"),
        (["watch", "--intervl", "5"], "no such option: --intervl (did you mean --interval?)"),
        (["gett", "J"], "no such command 'gett' (did you mean 'get'?)"),
        (["config", "shw"], "no such command 'shw' (did you mean 'show'?)"),
        (["get"], "missing argument 'JOB' (hint: azjobs get --help)"),
        (["get", "J", "-o"], "option '-o' requires an argument (hint: azjobs get --help)"),
        (
            ["config", "show", "--query"],
            "option '--query' requires an argument (hint: azjobs config show --help)",
        ),
        (
            ["list", "--limit", "many"],
            "invalid value for '--limit': 'many' is not a valid int (hint: azjobs list --help)",
        ),
        (["--nope"], "no such option: --nope (hint: azjobs --help)"),
        (["cache", "wipe"], "no such command 'wipe' (hint: azjobs cache --help)"),
    ],
)
def test_one_line_with_a_suggestion_or_a_hint(args: list[str], line: str, entry: str) -> None:
    code, out, err = run(args, entry=entry)
    assert (code, out, err) == (2, "", f"azjobs: error: {line}\n")


def test_what_is_typed_is_sanitized() -> None:
    code, out, err = run(["get", "J", "--\x1b[31mred"])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "\x1b" not in err and err.startswith("azjobs: error: no such option: --")


@pytest.mark.parametrize("args", [[], ["config"], ["cache"]])
def test_a_group_without_a_command_still_prints_its_help(args: list[str]) -> None:
    code, out, err = run(args)
    assert code == 2 and out == ""
    assert err.startswith(f"Usage: azjobs {' '.join(args)}".rstrip() + " [OPTIONS] COMMAND")


def test_as_a_process() -> None:
    done = run_cli_process("get", "--ouput", "json", program=PYTHON_M)
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == "azjobs: error: no such option: --ouput (did you mean --output?)\n"


# ----- --query ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("[", "it ends too early"),
        ("properties.[", "it ends too early"),
        ("foo.", "it ends too early"),
        ("foo bar", "unexpected 'bar' at column 4"),
        ("'x", "unclosed ' delimiter at column 0"),
        ("@@", "unexpected '@' at column 1"),
    ],
)
def test_a_malformed_query_is_named_in_one_complete_line(expression: str, problem: str) -> None:
    from azbackupjobs.model.errors import UsageError

    with pytest.raises(UsageError) as info:
        Query(expression)
    assert info.value.message == (
        f"--query: malformed JMESPath expression {expression!r}: {problem}"
    )


def test_a_malformed_query_from_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", "t")
    job = "3b6a1d2c-0000-4000-8000-000000000001"
    code, out, err = run(["get", job, "--query", "[?status=='Failed'"], entry="console")
    assert (code, out) == (2, "")
    assert err == (
        "azjobs: error: --query: malformed JMESPath expression \"[?status=='Failed'\": "
        "it ends too early\n"
    )
