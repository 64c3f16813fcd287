"""Shell completion: the committed scripts, option values, and JOB GUIDs from the cache."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs.arm import job_cache, settings
from azbackupjobs.cli import completion, shell_scripts
from azbackupjobs.cli.completion import COMPLETE_VAR, job_items, record_jobs
from tests.harness import PYTHON_M, EmulatorFactory, Result, run_cli, run_cli_process

ROOT = Path(__file__).resolve().parent.parent
SUB = "00000000-0000-4000-8000-000000000001"
NOW = 1_800_000_000.0
GUIDS = [f"3b6a1d2c-0000-4000-8000-{n:012d}" for n in range(1, 6)]
CONTEXT_PARAMS = {"subscription": SUB, "resource_group": "rg-one", "vault": "vault-one"}


def job(
    guid: str,
    entity: str = "vm-01",
    status: str = "InProgress",
    start: str = "2027-01-15T08:00:00.1234567Z",
) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-one/providers/Microsoft.RecoveryServices/"
        f"vaults/vault-one/backupJobs/{guid}",
        "name": guid,
        "properties": {
            "entityFriendlyName": entity,
            "operation": "Backup",
            "status": status,
            "startTime": start,
            "jobType": "AzureIaaSVMJob",
        },
    }


def context(vault: str = "vault-one") -> settings.Context:
    return settings.resolve_context(
        settings.ContextFlags(subscription=SUB, resource_group="rg-one", vault=vault),
        {},
        az_defaults=False,
    )


def never(*_: Any) -> list[dict[str, Any]]:
    raise AssertionError("no list call expected")


# ----- the committed scripts --------------------------------------------------------------------
def test_committed_scripts_are_current() -> None:
    """Fails when completions/ is stale: run python scripts/gen_completions.py."""
    for name, content in shell_scripts.completion_scripts().items():
        committed = (ROOT / "completions" / name).read_text(encoding="utf-8")
        assert committed == content, f"completions/{name} is stale"


def test_generator_check_mode_detects_a_stale_file(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "gen_completions.py"
    written = subprocess.run(
        [sys.executable, str(script), "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote 4 scripts" in written.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "azjobs.bash",
        "azjobs.fish",
        "azjobs.ps1",
        "azjobs.zsh",
    ]
    ok = subprocess.run(
        [sys.executable, str(script), "--check", "--dir", str(tmp_path)], check=False
    )
    assert ok.returncode == 0
    (tmp_path / "azjobs.zsh").write_text("# edited by hand\n")
    stale = subprocess.run(
        [sys.executable, str(script), "--check", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert stale.returncode == 1 and "azjobs.zsh" in stale.stderr


@pytest.mark.parametrize(("shell", "name"), sorted(shell_scripts.SCRIPT_FILES.items()))
def test_scripts_match_show_completion(shell: str, name: str) -> None:
    """What `azjobs --show-completion SHELL` prints is the committed file, byte for byte."""
    shown = run_cli(
        "--show-completion", shell, env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    )
    assert shown.exit_code == 0
    assert shown.stdout == (ROOT / "completions" / name).read_text(encoding="utf-8")


def test_scripts_call_azjobs_with_its_variable() -> None:
    for name in shell_scripts.SCRIPT_FILES.values():
        text = (ROOT / "completions" / name).read_text(encoding="utf-8")
        assert COMPLETE_VAR in text and "azjobs" in text


def install(tmp_path: Path, *args: str, **extra: str) -> tuple[Result, Path]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env: dict[str, str | None] = {
        name: None for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "ZDOTDIR", "SHELL")
    }
    env.update({"HOME": str(home), **extra})
    done = run_cli_process("--install-completion", *args, env=env, program=PYTHON_M)
    return done, home


def committed(name: str) -> str:
    return (ROOT / "completions" / name).read_text(encoding="utf-8")


def test_install_completion_for_bash_writes_where_bash_completion_looks(tmp_path: Path) -> None:
    done, home = install(tmp_path, "bash")
    assert done.exit_code == 0 and done.stdout == "", done.stderr
    installed = home / ".local" / "share" / "bash-completion" / "completions" / "azjobs"
    assert installed.read_text() == committed("azjobs.bash")
    assert done.stderr == (
        f"azjobs: bash completion installed in {installed}; it takes effect in new shells\n"
    )
    assert not (home / ".bashrc").exists()  # the bash-completion package loads it
    data = tmp_path / "data"
    done, _ = install(tmp_path, XDG_DATA_HOME=str(data), SHELL="/bin/bash")
    assert done.exit_code == 0, done.stderr
    assert (data / "bash-completion" / "completions" / "azjobs").read_text() == committed(
        "azjobs.bash"
    )


def test_install_completion_for_zsh_sources_the_script_from_zshrc_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".zshrc").write_text("autoload -Uz compinit\ncompinit\nexport X=1")
    for _ in range(2):
        done, _ = install(tmp_path, "zsh")
        assert done.exit_code == 0, done.stderr
    assert (home / ".azjobs-completion.zsh").read_text() == committed("azjobs.zsh")
    assert (home / ".zshrc").read_text() == (
        "autoload -Uz compinit\ncompinit\nexport X=1\nsource ~/.azjobs-completion.zsh\n"
    )
    assert "(loaded by " in done.stderr and ".zshrc" in done.stderr


def test_install_completion_for_zsh_without_compinit_and_with_zdotdir(tmp_path: Path) -> None:
    zdotdir = tmp_path / "zdot"
    done, home = install(tmp_path, "zsh", ZDOTDIR=str(zdotdir))
    assert done.exit_code == 0, done.stderr
    assert (zdotdir / ".zshrc").read_text() == (
        "autoload -Uz compinit && compinit\nsource ~/.azjobs-completion.zsh\n"
    )
    assert not (home / ".zshrc").exists()


def test_install_completion_for_fish(tmp_path: Path) -> None:
    config = tmp_path / "config"
    done, _ = install(tmp_path, XDG_CONFIG_HOME=str(config), SHELL="/usr/bin/fish")
    assert done.exit_code == 0, done.stderr
    assert (config / "fish" / "completions" / "azjobs.fish").read_text() == committed("azjobs.fish")


def test_install_completion_for_powershell_appends_to_the_profile_once(tmp_path: Path) -> None:
    profile = tmp_path / "Documents" / "PowerShell" / "Microsoft.PowerShell_profile.ps1"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "pwsh"
    fake.write_text(f"#!/bin/sh\necho '{profile}'\n")
    fake.chmod(0o755)
    path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    for _ in range(2):
        done, _ = install(tmp_path, "pwsh", PATH=path)
        assert done.exit_code == 0, done.stderr
    assert profile.read_text() == committed("azjobs.ps1")


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["tcsh"], {}, "--install-completion: unknown shell 'tcsh'; use one of: bash"),
        (["bash", "zsh"], {}, "--install-completion takes one shell name at most"),
    ],
)
def test_install_completion_refuses_in_one_line(
    tmp_path: Path, args: list[str], extra: dict[str, str], message: str
) -> None:
    done, home = install(tmp_path, *args, **extra)
    assert done.exit_code == 2 and done.stdout == ""
    assert done.stderr.startswith(f"azjobs: error: {message}") and done.stderr.count("\n") == 1
    assert list(home.iterdir()) == []


@pytest.mark.parametrize(
    ("parent", "shell_variable", "expected"),
    [
        ("zsh", "/bin/bash", "zsh"),
        ("-bash", "", "bash"),
        ("pwsh.exe", "", "pwsh"),
        ("python3", "/usr/local/bin/fish", "fish"),
        ("python3", "", None),
        ("", "/bin/zsh", "zsh"),
    ],
)
def test_the_shell_is_the_parent_process_else_shell(
    parent: str, shell_variable: str, expected: str | None
) -> None:
    found = shell_scripts.detect_shell({"SHELL": shell_variable}, parent=parent)
    assert found == (expected if expected or sys.platform != "win32" else "powershell")


def test_install_completion_equals_form(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": None}
    done = run_cli_process("--install-completion=bash", env=env, program=PYTHON_M)
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / ".local/share/bash-completion/completions/azjobs").is_file()


# ----- option values ----------------------------------------------------------------------------
def test_value_lists() -> None:
    assert [v for v, _ in completion.complete_output("")] == ["table", "json", "ndjson", "tsv"]
    assert [v for v, _ in completion.complete_output("nd")] == ["ndjson"]
    assert [v for v, _ in completion.complete_cloud("azureu")] == ["AzureUSGovernment"]
    assert "Failed" in [v for v, _ in completion.complete_status("")]
    assert [v for v, _ in completion.complete_status("Failed,In")] == ["Failed,InProgress"]
    assert "Backup" in [v for v, _ in completion.complete_operation("B")]
    assert "AzureIaasVM" in [v for v, _ in completion.complete_management_type("Az")]
    assert [v for v, _ in completion.complete_help_topic(None, "ex")] == ["exit-codes"]


def test_help_topics_and_commands_complete() -> None:
    out = bash("azjobs help ").stdout.split()
    assert out[:3] == ["exit-codes", "environment", "config"]
    assert {"get", "watch", "list"} <= set(out) and "help" not in out
    assert "exit-codes\tthe exit codes and what they mean" in fish("azjobs help ex").stdout


def run_completion(env_extra: Mapping[str, str], *, cwd: Path | None = None) -> Result:
    """What a shell runs on a TAB press: azjobs with the completion variables set."""
    return run_cli_process(env=env_extra, program=PYTHON_M, cwd=cwd)


def bash(line: str, **extra: str) -> Result:
    words = line.split(" ")
    return run_completion(
        {
            COMPLETE_VAR: "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1),
            **extra,
        }
    )


def zsh(line: str, **extra: str) -> Result:
    return run_completion({COMPLETE_VAR: "complete_zsh", "_TYPER_COMPLETE_ARGS": line, **extra})


def fish(line: str, **extra: str) -> Result:
    return run_completion(
        {
            COMPLETE_VAR: "complete_fish",
            "_TYPER_COMPLETE_ARGS": line,
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            **extra,
        }
    )


def test_shells_complete_commands_and_option_values() -> None:
    assert set(bash("azjobs ").stdout.split()) >= {"get", "watch", "list", "config", "help"}
    assert bash("azjobs get -o ").stdout.split() == ["table", "json", "ndjson", "tsv"]
    assert bash("azjobs list-tasks --cloud AzureC").stdout.split() == [
        "AzureCloud",
        "AzureChinaCloud",
    ]
    zsh_out = zsh("azjobs get --cloud ").stdout
    assert zsh_out.startswith("_arguments '*: :((")
    assert '"AzureChinaCloud":"Azure China (21Vianet), management.chinacloudapi.cn"' in zsh_out
    assert "ndjson\tone JSON object per line" in fish("azjobs get --output n").stdout
    ps = run_completion(
        {
            COMPLETE_VAR: "complete_powershell",
            "_TYPER_COMPLETE_ARGS": "azjobs -o",
            "_TYPER_COMPLETE_WORD_TO_COMPLETE": "",
        }
    )
    assert ps.exit_code == 0


def test_profile_names_complete(tmp_path: Path) -> None:
    (tmp_path / "azjobs").mkdir()
    (tmp_path / "azjobs" / "config.toml").write_text("[profiles.prod]\n[profiles.dev]\n")
    out = bash("azjobs get --profile ", XDG_CONFIG_HOME=str(tmp_path)).stdout.split()
    assert out == ["dev", "prod"]


def test_completion_never_prints_errors(tmp_path: Path) -> None:
    """A broken config file, a corrupt cache, no context: still no stderr, exit 0."""
    (tmp_path / "azjobs").mkdir()
    (tmp_path / "azjobs" / "config.toml").write_text("this is [ not toml\n")
    (tmp_path / "azjobs" / "jobs.json").write_text("{corrupt")
    for line in ("azjobs get ", "azjobs get --profile ", "azjobs watch 3b", "azjobs help "):
        done = zsh(
            line,
            XDG_CONFIG_HOME=str(tmp_path),
            XDG_CACHE_HOME=str(tmp_path),
            AZJOBS_VAULT="bad vault name!",
        )
        assert done.exit_code == 0 and done.stderr == "", (line, done.stderr)


def test_the_completion_path_imports_nothing_heavy() -> None:
    """Every TAB press starts a process: rich, requests, jmespath and azure stay unloaded."""
    probe = (
        "import sys\n"
        "from azbackupjobs.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('rich', 'requests', 'jmespath', 'azure', 'azbackupjobs.arm.client')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    for instruction, extra in (
        ("complete_zsh", {"_TYPER_COMPLETE_ARGS": "azjobs get "}),
        ("complete_zsh", {"_TYPER_COMPLETE_ARGS": "azjobs get -o "}),
        (
            "complete_fish",
            {"_TYPER_COMPLETE_ARGS": "azjobs li", "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
        ),
    ):
        done = run_cli_process(
            program=(sys.executable, "-c", probe), env={COMPLETE_VAR: instruction, **extra}
        )
        assert "LOADED []" in done.stdout, done.stdout


# ----- the job cache ----------------------------------------------------------------------------
def test_record_jobs_writes_a_private_file_atomically(monkeypatch: pytest.MonkeyPatch) -> None:
    record_jobs(context(), [job(g) for g in GUIDS[:2]], now=NOW)
    path = job_cache.cache_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["jobs.json"]  # no temporary left over
    data = json.loads(path.read_text())
    entry = data["contexts"][job_cache.context_key(context())]
    assert [j["id"] for j in entry["jobs"]] == GUIDS[:2]
    assert entry["fetched_at"] == NOW


def test_record_jobs_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache dir cannot be created
    record_jobs(context(), [job(GUIDS[0])], now=NOW)


def test_a_single_job_is_merged_without_marking_the_listing_fresh() -> None:
    record_jobs(context(), [job(GUIDS[0], start="2027-01-15T07:00:00Z")], now=NOW)
    record_jobs(
        context(),
        [job(GUIDS[1], start="2027-01-15T09:00:00Z")],
        now=NOW + 500,
        complete_listing=False,
    )
    entry = job_cache.read_cache(job_cache.cache_path())["contexts"][
        job_cache.context_key(context())
    ]
    assert [j["id"] for j in entry["jobs"]] == [GUIDS[1], GUIDS[0]]  # newest first
    assert entry["fetched_at"] == NOW


def test_cache_keeps_few_contexts_and_jobs() -> None:
    for n in range(job_cache.MAX_CONTEXTS + 2):
        record_jobs(context(f"vault-{n}"), [job(g) for g in GUIDS], now=NOW + n)
    many = [job(f"3b6a1d2c-0000-4000-9000-{n:012d}") for n in range(job_cache.MAX_JOBS + 9)]
    record_jobs(context("vault-big"), many, now=NOW + 100)
    data = job_cache.read_cache(job_cache.cache_path())
    assert len(data["contexts"]) == job_cache.MAX_CONTEXTS
    assert job_cache.context_key(context("vault-0")) not in data["contexts"]
    big = data["contexts"][job_cache.context_key(context("vault-big"))]
    assert len(big["jobs"]) == job_cache.MAX_JOBS


def test_fresh_cache_is_used_without_a_list_call() -> None:
    record_jobs(context(), [job(g, entity=f"vm-{i}") for i, g in enumerate(GUIDS)], now=NOW)
    items = job_items(
        CONTEXT_PARAMS, "3b6a", {}, deadline=time.monotonic() + 5, fetch=never, now=NOW + 10
    )
    assert [value for value, _ in items] == GUIDS
    assert (
        job_items(
            CONTEXT_PARAMS,
            GUIDS[2].upper(),
            {},
            deadline=time.monotonic() + 5,
            fetch=never,
            now=NOW + 10,
        )[0][0]
        == GUIDS[2]
    )


def test_descriptions_name_entity_operation_status_and_age() -> None:
    record_jobs(
        context(),
        [job(GUIDS[0], entity="msdb [sql-0]", status="Failed", start="2027-01-15T08:00:00Z")],
        now=NOW,
    )
    start = 1_800_000_000.0 - 7200
    ((guid, text),) = job_items(
        CONTEXT_PARAMS, "", {}, deadline=time.monotonic() + 5, fetch=never, now=NOW
    )
    assert guid == GUIDS[0]
    assert text.startswith("msdb (sql-0), Backup, Failed")
    assert (
        completion.describe(
            {"entity": "e", "operation": "o", "status": "s", "start": "2027-01-15T06:00:00Z"},
            start + 7200 + 5000,
        )
        != ""
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "a'b\"c$(rm -rf /)`x`;|&<>",
        "\x1b[31mred\x1b[0m",
        "new\nline\ttab",
        "x" * 300,
    ],
)
def test_descriptions_are_safe_for_every_shell(hostile: str) -> None:
    text = job_cache.describe_text(hostile)
    assert all(ch.isalnum() or ch in " ._-/@+()#~" for ch in text)
    assert len(text) <= 48


def test_entries_without_a_guid_are_not_cached() -> None:
    junk: list[Any] = [{"name": "../../etc"}, {"name": 5}, job(GUIDS[0]), "junk", None]
    record_jobs(context(), junk, now=NOW)
    items = job_items(CONTEXT_PARAMS, "", {}, deadline=time.monotonic() + 5, fetch=never, now=NOW)
    assert [value for value, _ in items] == [GUIDS[0]]


def test_stale_cache_is_refreshed_with_one_list_call() -> None:
    record_jobs(context(), [job(GUIDS[0])], now=NOW)
    calls: list[tuple[str, float]] = []

    def fetch(
        ctx: settings.Context, env: Mapping[str, str], timeout: float
    ) -> list[dict[str, Any]]:
        calls.append((ctx.vault, timeout))
        return [job(GUIDS[3]), job(GUIDS[4])]

    later = NOW + completion.FRESH_SECONDS + 1
    items = job_items(CONTEXT_PARAMS, "", {}, deadline=time.monotonic() + 5, fetch=fetch, now=later)
    assert len(calls) == 1 and calls[0][0] == "vault-one" and 0 < calls[0][1] <= 5
    assert {value for value, _ in items} == {GUIDS[0], GUIDS[3], GUIDS[4]}
    again = job_items(
        CONTEXT_PARAMS, "", {}, deadline=time.monotonic() + 5, fetch=never, now=later + 1
    )
    assert {value for value, _ in again} == {GUIDS[0], GUIDS[3], GUIDS[4]}


def test_a_failing_refresh_falls_back_to_the_cache() -> None:
    record_jobs(context(), [job(GUIDS[0])], now=NOW)

    def broken(*_: Any) -> list[dict[str, Any]]:
        raise RuntimeError("no network")

    items = job_items(
        CONTEXT_PARAMS, "", {}, deadline=time.monotonic() + 5, fetch=broken, now=NOW + 3600
    )
    assert [value for value, _ in items] == [GUIDS[0]]


def test_a_slow_refresh_is_abandoned_at_the_deadline() -> None:
    record_jobs(context(), [job(GUIDS[0])], now=NOW)
    release = threading.Event()
    started = threading.Event()

    def hanging(*_: Any) -> list[dict[str, Any]]:
        started.set()
        release.wait(30)
        return [job(GUIDS[4])]

    try:
        items = job_items(
            CONTEXT_PARAMS, "", {}, deadline=time.monotonic() + 0.05, fetch=hanging, now=NOW + 3600
        )
        assert started.is_set()
        assert [value for value, _ in items] == [GUIDS[0]]  # the stale cache, not the late data
    finally:
        release.set()


def test_the_budget_counts_from_the_start_of_the_process() -> None:
    age = time.monotonic() - completion.process_start()
    assert 0 <= age < 3600


def test_no_refresh_once_the_budget_is_spent() -> None:
    items = job_items(CONTEXT_PARAMS, "", {}, deadline=time.monotonic() - 1, fetch=never, now=NOW)
    assert items == []


def test_without_a_context_the_last_listing_is_offered() -> None:
    record_jobs(context("vault-old"), [job(GUIDS[0])], now=NOW)
    record_jobs(context("vault-new"), [job(GUIDS[1])], now=NOW + 5)
    items = job_items({}, "", {}, deadline=time.monotonic() + 5, fetch=never, now=NOW + 10)
    assert [value for value, _ in items] == [GUIDS[1]]


def test_old_listings_expire_and_ids_are_not_offered_twice() -> None:
    record_jobs(context(), [job(g) for g in GUIDS[:3]], now=NOW)
    assert (
        job_items({}, "", {}, deadline=0, fetch=never, now=NOW + completion.KEEP_SECONDS + 1) == []
    )
    params = {**CONTEXT_PARAMS, "jobs": [GUIDS[0]]}
    items = job_items(params, "", {}, deadline=time.monotonic() + 5, fetch=never, now=NOW + 1)
    assert [value for value, _ in items] == GUIDS[1:3]


def test_a_damaged_cache_is_repaired_by_the_next_listing() -> None:
    path = job_cache.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = job_cache.context_key(context())
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "contexts": {key: {"fetched_at": "x", "updated_at": NOW, "jobs": 7}, "other": []},
            }
        )
    )
    assert job_items(CONTEXT_PARAMS, "", {}, deadline=0, fetch=never, now=NOW) == []
    record_jobs(context(), [job(GUIDS[0], start="0001-01-01T00:00:00Z")], now=NOW)
    items = job_items(CONTEXT_PARAMS, "", {}, deadline=0, fetch=never, now=NOW)
    assert items == [(GUIDS[0], "vm-01, Backup, InProgress")]


def test_an_arm_id_prefix_gets_no_suggestions() -> None:
    record_jobs(context(), [job(GUIDS[0])], now=NOW)
    assert job_items({}, "/subscriptions/", {}, deadline=0, fetch=never, now=NOW) == []


def test_complete_job_swallows_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(completion, "job_items", boom)
    assert completion.complete_job(object(), "") == []


# ----- end to end, against the emulator ----------------------------------------------------------
def test_job_completion_lists_the_emulator_vault(
    tmp_path: Path, emulator_factory: EmulatorFactory
) -> None:
    """A real TAB press: the cache is empty, one list call fills it, the next one reads it."""
    emu = emulator_factory(seed=3)
    env = {**emu.env(), "XDG_CACHE_HOME": str(tmp_path)}
    first = zsh("azjobs get ", **env)
    assert first.exit_code == 0 and first.stderr == ""
    ids = set(emu.job_ids())
    offered = [line.split('"')[1] for line in first.stdout.splitlines() if '":"' in line]
    assert offered and set(offered) <= ids
    assert len(emu.request_log) == 1
    second = fish(f"azjobs list-tasks {offered[0][:8]}", **env)
    assert second.stdout.splitlines()[0].startswith(offered[0] + "\t")
    assert len(emu.request_log) == 1  # served from the cache
    assert stat.S_IMODE((tmp_path / "azjobs" / "jobs.json").stat().st_mode) == 0o600


# ----- watch: the running jobs first --------------------------------------------------------------
def _mixed_jobs() -> list[dict[str, Any]]:
    return [
        job(GUIDS[0], entity="vm-done", status="Completed", start="2027-01-15T09:00:00Z"),
        job(GUIDS[1], entity="vm-run", status="InProgress", start="2027-01-15T08:00:00Z"),
        job(GUIDS[2], entity="vm-bad", status="Failed", start="2027-01-15T07:00:00Z"),
        job(GUIDS[3], entity="vm-stop", status="Cancelling", start="2027-01-15T06:00:00Z"),
    ]


def test_watch_offers_the_running_jobs_first() -> None:
    record_jobs(context(), _mixed_jobs(), now=NOW)
    deadline = time.monotonic() + 5
    newest = job_items(CONTEXT_PARAMS, "", {}, deadline=deadline, fetch=never, now=NOW + 10)
    assert [v for v, _ in newest] == GUIDS[:4]
    running = job_items(
        CONTEXT_PARAMS, "", {}, deadline=deadline, fetch=never, now=NOW + 10, running_first=True
    )
    assert [v for v, _ in running] == [GUIDS[1], GUIDS[3], GUIDS[0], GUIDS[2]]
    assert running[0][1].startswith("vm-run, Backup, InProgress")
    assert running[1][1].startswith("vm-stop, Backup, Cancelling")


def test_watch_tab_in_a_shell_that_keeps_the_order(tmp_path: Path) -> None:
    record_jobs(context(), _mixed_jobs(), now=time.time())
    vault = {
        "AZURE_SUBSCRIPTION_ID": SUB,
        "AZJOBS_RESOURCE_GROUP": "rg-one",
        "AZJOBS_VAULT": "vault-one",
        "_TYPER_COMPLETE_WORD_TO_COMPLETE": "",
    }
    lines = run_completion(
        {COMPLETE_VAR: "complete_powershell", "_TYPER_COMPLETE_ARGS": "azjobs watch ", **vault}
    ).stdout.splitlines()
    assert [line.split(":::")[0] for line in lines] == [GUIDS[1], GUIDS[3], GUIDS[0], GUIDS[2]]
    assert lines[0].split(":::")[1].startswith("vm-run, Backup, InProgress")
    get = run_completion(
        {COMPLETE_VAR: "complete_powershell", "_TYPER_COMPLETE_ARGS": "azjobs get ", **vault}
    ).stdout.splitlines()
    assert [line.split(":::")[0] for line in get] == GUIDS[:4]
    fish_lines = fish("azjobs watch ", **vault).stdout.splitlines()
    assert fish_lines[0].startswith(f"{GUIDS[1]}\tvm-run, Backup, InProgress")


def test_descriptions_stay_plain_and_rich_comes_back() -> None:
    """Typer renders descriptions through rich when it can import it: not while completing."""
    import importlib
    import importlib.util

    import rich
    import rich.text

    with completion.plain_descriptions():
        assert importlib.util.find_spec("rich") is None
        with pytest.raises(ImportError):
            importlib.import_module("rich.table")
    assert sys.modules["rich"] is rich and sys.modules["rich.text"] is rich.text
    assert "rich.table" not in sys.modules or sys.modules["rich.table"] is not None


# ----- Backup vaults ------------------------------------------------------------------------------
def test_a_backup_vault_listing_feeds_completion(
    tmp_path: Path, emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``list`` of a Backup vault fills the cache with its jobs; a TAB press offers them, with
    the datasource as the entity, without a request; the Recovery Services vault of the same
    group keeps its own entry."""
    emu = emulator_factory(seed=3)
    env = {**emu.env(), "XDG_CACHE_HOME": str(tmp_path), "AZJOBS_VAULT": emu.backup_vault}
    listed = run_cli_process(
        "list", "--vault-type", "backup", "--since", "7d", "-o", "json", env=env
    )
    assert listed.exit_code == 0, listed.stderr
    newest = [j["name"] for j in json.loads(listed.stdout)][:50]
    assert newest and set(newest) <= set(emu.backup_vaults.job_ids())
    emu.clear_request_log()
    for named in ({"AZJOBS_VAULT_TYPE": "backup"}, {}):
        if not named:  # the kind is not named: the kind listed under this name is offered
            monkeypatch.delenv("AZJOBS_VAULT_TYPE")
        tab = fish("azjobs get ", **env, **named)
        assert tab.exit_code == 0 and tab.stderr == ""
        offered = [line.split("\t") for line in tab.stdout.splitlines()]
        assert [value for value, _ in offered] == newest
        disk = next(j for j in json.loads(listed.stdout) if "data-disk-01" in str(j))
        described = dict(offered)[disk["name"]]
        assert described.startswith("data-disk-01, ")
    assert emu.request_log == []  # served from the cache
    cached = json.loads((tmp_path / "azjobs" / "jobs.json").read_text())["contexts"]
    assert list(cached) == [
        f"{emu.url}/subscriptions/{emu.subscription}/resourcegroups/{emu.resource_group}"
        f"/providers/microsoft.dataprotection/backupvaults/{emu.backup_vault}".lower()
    ]


def test_a_stale_backup_vault_entry_is_refreshed_from_its_own_list(
    tmp_path: Path, emulator_factory: EmulatorFactory
) -> None:
    emu = emulator_factory(seed=3)
    env = {
        **emu.env(),
        "XDG_CACHE_HOME": str(tmp_path),
        "AZJOBS_VAULT": emu.backup_vault,
        "AZJOBS_VAULT_TYPE": "backup",
    }
    tab = zsh("azjobs get ", **env)
    assert tab.exit_code == 0 and tab.stderr == ""
    offered = [line.split('"')[1] for line in tab.stdout.splitlines() if '":"' in line]
    assert offered and set(offered) <= set(emu.backup_vaults.job_ids())
    assert [r.path.lower().rsplit("/", 1)[-1] for r in emu.request_log] == ["backupjobs"]
    assert "/backupvaults/" in emu.request_log[0].path.lower()


def test_one_name_as_both_kinds_keeps_two_entries() -> None:
    from dataclasses import replace

    from azbackupjobs.model.kinds import VaultKind

    services, backup = context(), replace(context(), vault_kind=VaultKind.BACKUP)
    assert job_cache.context_key(services) != job_cache.context_key(backup)
    record_jobs(services, [job(GUIDS[0])], now=NOW)
    record_jobs(backup, [job(GUIDS[1])], now=NOW + 1)
    named = {**CONTEXT_PARAMS, "vault_type": "backup"}
    items = job_items(named, "", {}, deadline=time.monotonic() + 5, fetch=never, now=NOW + 2)
    assert [value for value, _ in items] == [GUIDS[1]]
    named = {**CONTEXT_PARAMS, "vault_type": "recovery-services"}
    items = job_items(named, "", {}, deadline=time.monotonic() + 5, fetch=never, now=NOW + 2)
    assert [value for value, _ in items] == [GUIDS[0]]
    # Not named: the kind listed last under the name.
    items = job_items(
        CONTEXT_PARAMS, "", {}, deadline=time.monotonic() + 5, fetch=never, now=NOW + 2
    )
    assert [value for value, _ in items] == [GUIDS[1]]
