"""The fast path and the Typer app give the same stdout, stderr and exit code.

Every invocation of the matrix runs twice against the same (time-frozen) emulator, both times
through the console script's entry: once with the fast path off (the Typer app) and once with it
on, its parser reading the same command registry. Each case also says whether the fast path must
take it, so the matrix cannot pass by falling back to Typer everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs import main as fastpath
from azbackupjobs.cli import registry
from azbackupjobs.cli.fastparse import Call, parse
from azbackupjobs.cli.spec import Command, Param, Program
from azbackupjobs.emulator import EmulatorHandle
from tests.harness import EmulatorFactory, Result, run_cli

DURATION = re.compile(r'"duration": ?"[^"]*"|\bP[T0-9.DHMS]+S\b')


def _steady(match: re.Match[str]) -> str:
    return '"duration": "<d>"' if match.group(0).startswith('"') else "<d>"


REQUEST_ID = re.compile(r"request id [0-9a-f-]{36}")


@dataclass(frozen=True)
class Vault:
    """The emulator and the two jobs the matrix reads."""

    emu: EmulatorHandle
    completed: str
    failed: str


@pytest.fixture(scope="module")
def vault(module_emulator_factory: EmulatorFactory) -> Vault:
    emu = module_emulator_factory(speed=1e-6, seed=11)
    completed = emu.add_job(entity="vm-fast", outcome="Completed", start_offset=-7200)
    failed = emu.add_job(
        entity="sql [db-1]",
        outcome="Failed",
        start_offset=-5400,
        job_type="AzureWorkloadJob",
        operation="Backup",
    )
    emu.advance(7200)
    return Vault(emu, completed, failed)


@pytest.fixture
def env(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Vault:
    for name, value in vault.emu.env().items():
        monkeypatch.setenv(name, value)
    return vault


def test_the_fast_commands() -> None:
    fast = {e.name for e in registry.PROGRAM.entries if isinstance(e, Command) and e.fast}
    assert fast == {"get", "list-tasks", "list"}


def steady(result: Result) -> tuple[int, str, str]:
    """A run's outcome without what differs from one run to the next: running seed jobs'
    durations are computed per request (the emulator's clock barely moves, at speed 1e-6, but
    can tick the seventh fractional digit between two runs), and request ids."""
    code, out, err = result
    return code, DURATION.sub(_steady, out), REQUEST_ID.sub("request id <id>", err)


def both(argv: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str], bool]:
    """``argv`` through the Typer app, and through the console entry with the fast path on;
    and whether the fast path's parser takes it."""
    typer_result = steady(run_cli(*argv, fast_path=False))
    fast_result = steady(run_cli(*argv, fast_path=True))
    return typer_result, fast_result, parse(argv) is not None


def cases(vault: Vault) -> list[tuple[list[str], bool]]:
    emu = vault.emu
    job, failed = vault.completed, vault.failed
    sub = emu.subscription
    full_id = (
        f"/subscriptions/{sub}/resourceGroups/{emu.resource_group}/providers/"
        f"Microsoft.RecoveryServices/vaults/{emu.vault}/backupJobs/{job}"
    )
    missing = "00000000-0000-4000-8000-0000000000ff"
    return [
        # plain invocations: the fast path takes them
        (["get", job, "-o", "json"], True),
        (["get", job, "-o", "tsv"], True),
        (["get", job, "-o", "ndjson"], True),
        (["get", job, "--output=json"], True),
        (["get", "-o", "json", job], True),
        (["get", job], True),
        (["get", job, "-o", "table"], True),
        (["get", failed, "-o", "json", "--query", "properties.errorDetails[0]"], True),
        (["get", job, "-o", "tsv", "--query", "properties.status"], True),
        (["get", job, "-o", "json", "-o", "tsv"], True),
        (["get", job, "-o", "json", "--auth", "token"], True),
        (
            [
                "get",
                job,
                "-g",
                emu.resource_group,
                "-v",
                emu.vault,
                "--subscription",
                sub,
                "-o",
                "json",
            ],
            True,
        ),
        (
            [
                "get",
                full_id.upper().replace("BACKUPJOBS/" + job.upper(), "backupJobs/" + job),
                "-o",
                "json",
            ],
            True,
        ),
        (["get", full_id, "--vault", "other-vault", "-o", "json"], True),
        (["list-tasks", job, "-o", "json"], True),
        (["list-tasks", job, "-o", "ndjson"], True),
        (["list-tasks", job, "-o", "tsv"], True),
        (["list-tasks", failed], True),
        (["list", "-o", "json", "--since", "7d"], True),
        (["list", "-o", "ndjson", "--limit", "2"], True),
        (["list", "--limit=1", "-o", "tsv"], True),
        (
            ["list", "--status", "Completed", "--status", "Failed", "-o", "tsv", "--since", "3d"],
            True,
        ),
        (["list", "--status", "failed,completed", "--type", "AzureWorkload", "-o", "json"], True),
        (["list", "-o", "json", "--query", "[].properties.status"], True),
        (["list", "--entity", "VM-FAST", "-o", "ndjson", "--since", "2d"], True),
        # errors the command reports: the fast path takes them too
        (["get", "not-a-guid", "-o", "json"], True),
        (["get", job, "-o", "yaml"], True),
        (["get", job, "--query", "[", "-o", "json"], True),
        (["get", missing, "-o", "json"], True),
        (["get", job, "--endpoint", "http://example.com", "-o", "json"], True),
        (["get", job, "-v", "bad vault!", "-o", "json"], True),
        (["get", job, "--cloud", "Mars", "-o", "json"], True),
        (["get", job, "--auth", "sorcery", "-o", "json"], True),
        (["get", job, "--api-version", "latest", "-o", "json"], True),
        (["get", job, "--api-version", "1999-01-01", "-o", "json"], True),
        (["get", job, "--auth", "token", "--endpoint", emu.url + "/elsewhere"], True),
        (
            ["get", job, "--subscription", "11111111-1111-1111-1111-111111111111", "-o", "json"],
            True,
        ),
        (["get", job, "--profile", "nope", "-o", "json"], True),
        (["list", "--since", "yesterday-ish", "-o", "json"], True),
        (["list", "--status", "Sleeping", "-o", "json"], True),
        (["list", "--limit", "0", "--until", "2001-01-01", "-o", "json"], True),
        (["get", "", "-o", "json"], True),
        (["get", job, "-o", "json", "--timeout", "30"], True),
        (["list-tasks", job, "--timeout=1m30s", "-o", "tsv"], True),
        (["list", "--timeout", "2h", "-o", "json", "--since", "7d"], True),
        (["get", job, "--timeout", "soon", "-o", "json"], True),
        (["list", "--timeout", "0", "-o", "json"], True),
        # anything unusual goes to Typer
        (["get"], False),
        (["get", job, job], False),
        (["get", job, "--nope"], False),
        (["get", job, "-o"], False),
        (["get", job, "-ojson"], False),
        (["get", job, "--debug=yes"], False),
        (["get", "--help"], False),
        (["get", job, "-h"], False),
        (["list-tasks", "--", job], False),
        (["list", "--limit", "many"], False),
        (["list", "--limit", "-1"], False),
        (["get", "-", "-o", "json"], False),
        (["watch", job, "-o", "json"], False),
        (["Get", job], False),
        ([], False),
    ]


def test_matrix(env: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    failures = []
    all_cases = [*cases(env), *[([*argv, "--bad-token"], True) for argv in with_bad_token(env)]]
    for case, expect_fast in all_cases:
        bad_token = bool(case) and case[-1] == "--bad-token"
        argv = case[:-1] if bad_token else case
        monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", "not-the-token" if bad_token else env.emu.token)
        typer_result, fast_result, took_fast = both(argv)
        if took_fast != expect_fast:
            failures.append(f"{argv}: fast path {'taken' if took_fast else 'declined'}")
        if typer_result != fast_result:
            failures.append(f"{argv}:\n  typer {typer_result!r}\n  fast  {fast_result!r}")
    assert not failures, "\n".join(failures)


def with_bad_token(vault: Vault) -> list[list[str]]:
    """Cases run with a token the service refuses (exit 4)."""
    return [["get", vault.completed, "-o", "json"], ["list", "-o", "ndjson"]]


def test_matrix_covers_success_and_each_error_kind(
    env: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = set()
    for argv, expect_fast in cases(env):
        if expect_fast:
            codes.add(run_cli(*argv, fast_path=False).exit_code)
    assert {0, 1, 2, 3} <= codes
    monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", "not-the-token")
    assert {run_cli(*argv, fast_path=False).exit_code for argv in with_bad_token(env)} == {4}


def test_the_console_script_takes_the_fast_path_at_once_and_writes_nothing(
    tmp_path: Path, env: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    argv = ["get", env.completed, "-o", "json"]
    taken: list[str] = []
    real = fastpath.run_call

    def spy(call: Call) -> None:
        taken.append(call.command.name)
        real(call)

    monkeypatch.setattr(fastpath, "run_call", spy)
    first = steady(run_cli(*argv, fast_path=True))
    assert taken == ["get"] and first[0] == 0
    assert json.loads(first[1])["name"] == env.completed
    assert list(tmp_path.rglob("*.json")) == []  # no option table or other file to keep


@pytest.mark.parametrize("value", ["0", "off"])
def test_the_fast_path_can_be_turned_off(
    env: Vault, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AZJOBS_FASTPATH", value)
    monkeypatch.setattr(fastpath, "run_call", _fail)
    # fast_path=True: the harness leaves AZJOBS_FASTPATH as the test set it
    code, out, _ = run_cli("get", env.completed, "-o", "json", fast_path=True)
    assert code == 0 and json.loads(out)["name"] == env.completed


def _fail(call: Call) -> None:
    raise AssertionError("the fast path ran")


# ----- the parser on its own ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "values"),
    [
        (["get", "J"], {"job": "J"}),
        (["get", "J", "-o", "json", "--output=tsv"], {"job": "J", "output": "tsv"}),
        (["get", "-g", "rg", "J", "--debug"], {"job": "J", "resource_group": "rg", "debug": True}),
        (["get", "", "--query", ""], {"job": "", "query": ""}),
        (["list-tasks", "J", "--vault", "v", "-v", "w"], {"job": "J", "vault": "w"}),
        (
            ["list", "--status", "a", "--status=b,c", "--limit", " 3", "--fleet"],
            {"status": ["a", "b,c"], "limit": 3, "fleet": True},
        ),
        (["list", "--type", "MAB", "--backup-management-type", "DPM"], {"backup_type": "DPM"}),
    ],
)
def test_what_the_fast_parser_reads(argv: list[str], values: dict[str, Any]) -> None:
    call = parse(argv)
    assert call is not None and call.command.name == argv[0]
    assert call.values == values


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["get"],
        ["get", "J", "J"],
        ["get", "J", "--outp", "json"],
        ["get", "J", "-ojson"],
        ["get", "J", "-o=json"],
        ["get", "J", "-o", "-x"],
        ["get", "J", "--debug=yes"],
        ["get", "--", "J"],
        ["get", "-", "-o", "json"],
        ["get", "J", "--help"],
        ["list", "--limit", "many"],
        ["list", "--limit", "1.5"],
        ["list", "--limit", "-1"],
        ["watch", "J"],
        ["config", "show"],
        ["GET", "J"],
    ],
)
def test_what_the_fast_parser_leaves_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None


def _program_with(command: Command) -> Program:
    entries = tuple(command if e.name == command.name else e for e in registry.PROGRAM.entries)
    return dataclasses.replace(registry.PROGRAM, entries=entries)


def test_an_option_added_to_the_registry_is_read_with_no_other_change() -> None:
    extra = Param("brand_new", "A new option.", ("--brand-new",), kind="float")
    program = _program_with(dataclasses.replace(registry.GET, params=(*registry.GET.params, extra)))
    call = parse(["get", "J", "--brand-new", "2.5"], program)
    assert call is not None and call.values == {"job": "J", "brand_new": 2.5}
    assert parse(["get", "J", "--brand-new", "x"], program) is None


def test_a_parameter_beyond_the_reader_leaves_the_command_to_typer() -> None:
    optional = Param("extra", "An optional positional.", metavar="[EXTRA]")
    program = _program_with(
        dataclasses.replace(registry.GET, params=(*registry.GET.params, optional))
    )
    assert parse(["get", "J"], program) is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], True),
        (["--help"], True),
        (["get", "x", "-h"], True),
        (["help", "environment"], True),
        (["get", "x"], False),
        (["list-tasks", "--", "-h"], False),
        (["helpme"], False),
    ],
)
def test_what_counts_as_asking_for_help(args: list[str], expected: bool) -> None:
    assert fastpath._asks_help(args) is expected
