"""The fast path and the Typer app give the same stdout, stderr and exit code.

Every invocation of the matrix runs twice against the same (time-frozen) emulator, both times
through the console script's entry: once with the fast path off (the Typer app) and once with an
option table derived from the same app. Each case also says whether the fast path must take it,
so the matrix cannot pass by falling back to Typer everywhere.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs import main as fastpath
from azbackupjobs.cli import app as cli
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


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    table = fastpath.spec_from_app(cli.app)
    assert set(table["commands"]) == {"get", "list-tasks", "list"}
    return table


def steady(result: Result) -> tuple[int, str, str]:
    """A run's outcome without what differs from one run to the next: running seed jobs'
    durations are computed per request (the emulator's clock barely moves, at speed 1e-6, but
    can tick the seventh fractional digit between two runs), and request ids."""
    code, out, err = result
    return code, DURATION.sub(_steady, out), REQUEST_ID.sub("request id <id>", err)


def both(
    spec: dict[str, Any], argv: list[str]
) -> tuple[tuple[int, str, str], tuple[int, str, str], bool]:
    """``argv`` through the Typer app, and through the console entry with the option table in
    place; and whether the fast path's parser takes it."""
    typer_result = steady(run_cli(*argv, fast_path=False))
    fast_result = steady(run_cli(*argv, fast_path=True))
    return typer_result, fast_result, fastpath.parse(argv, spec) is not None


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


def test_matrix(env: Vault, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    failures = []
    all_cases = [*cases(env), *[([*argv, "--bad-token"], True) for argv in with_bad_token(env)]]
    for case, expect_fast in all_cases:
        bad_token = bool(case) and case[-1] == "--bad-token"
        argv = case[:-1] if bad_token else case
        monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", "not-the-token" if bad_token else env.emu.token)
        typer_result, fast_result, took_fast = both(spec, argv)
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


def test_stale_or_foreign_tables_are_not_used(
    tmp_path: Path, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert fastpath.load_spec(os.environ) is None
    assert fastpath.save_spec(os.environ, spec)
    path = Path(fastpath.spec_path(os.environ))
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert fastpath.load_spec(os.environ) == spec
    path.chmod(0o666)
    assert fastpath.load_spec(os.environ) is None  # writable by others: not trusted
    path.chmod(0o600)
    stale = {**spec, "stamp": "0.0.0:" + "0" * 64}
    path.write_text(json.dumps(stale))
    assert fastpath.load_spec(os.environ) is None
    path.write_text("{not json")
    assert fastpath.load_spec(os.environ) is None


def test_the_console_script_writes_the_table_then_uses_it(
    tmp_path: Path, env: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    argv = ["get", env.completed, "-o", "json"]
    taken: list[str] = []
    real = fastpath.run_call

    def spy(call: fastpath.Call) -> None:
        taken.append(call.command)
        real(call)

    monkeypatch.setattr(fastpath, "run_call", spy)
    first = steady(run_cli(*argv, fast_path=None))
    assert taken == []  # no table yet: Typer ran, and wrote one
    assert fastpath.load_spec(os.environ) is not None
    second = steady(run_cli(*argv, fast_path=None))
    assert taken == ["get"]
    assert first == second and first[0] == 0


@pytest.mark.parametrize("value", ["0", "off"])
def test_the_fast_path_can_be_turned_off(
    tmp_path: Path, env: Vault, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fastpath.save_spec(os.environ, fastpath.spec_from_app(cli.app))
    monkeypatch.setenv("AZJOBS_FASTPATH", value)
    monkeypatch.setattr(fastpath, "run_call", _fail)
    code, out, _ = run_cli("get", env.completed, "-o", "json", fast_path=None)
    assert code == 0 and json.loads(out)["name"] == env.completed


def _fail(call: Any) -> None:
    raise AssertionError("the fast path ran")


def test_a_command_with_an_unknown_parameter_is_left_to_typer(spec: dict[str, Any]) -> None:
    """A parameter the router does not know (added to cli.py later) disables that command."""
    from azbackupjobs.cli.lazy import build_command

    command = build_command(cli.app, "get")
    assert command is not None
    table = fastpath.spec_from_command(command)
    assert table is not None
    table["params"].append(
        {
            "name": "brand_new",
            "kind": "option",
            "flag": True,
            "default": False,
            "opts": ["--brand-new"],
        }
    )
    assert fastpath.parse(["get", "x"], {"commands": {"get": table}}) is None


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
