"""Which kind of vault a name is: the job id, ``--vault-type`` / AZJOBS_VAULT_TYPE / config, else
one look at the vault resource (both kinds' GETs), remembered in a private cache file."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
import responses

from azbackupjobs.arm import vault_kind
from azbackupjobs.arm.settings import ContextFlags, parse_vault_type, resolve_context
from azbackupjobs.commands.get import GetOptions, run
from azbackupjobs.model.errors import NotFoundError, UsageError
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.view.output import Environment

SUB = "00000000-0000-0000-0000-0000000000aa"
JOB = "00000000-0000-4000-8000-000000000001"
BASE = f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/rg/providers"
RS_VAULT = f"{BASE}/Microsoft.RecoveryServices/vaults/v1"
BV_VAULT = f"{BASE}/Microsoft.DataProtection/backupVaults/v1"
NOT_FOUND = {"error": {"code": "ResourceNotFound", "message": "not found"}}


@pytest.fixture(autouse=True)
def no_kind_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZJOBS_VAULT_TYPE", raising=False)


def env_of(**extra: str) -> Environment:
    values = {
        "AZURE_SUBSCRIPTION_ID": SUB,
        "AZJOBS_RESOURCE_GROUP": "rg",
        "AZJOBS_VAULT": "v1",
        "AZJOBS_ACCESS_TOKEN": "t",
        "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"],
        "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
        **extra,
    }
    return Environment(io.StringIO(), io.StringIO(), False, False, False, values)


def bv_job() -> dict[str, object]:
    return {
        "id": f"{BV_VAULT}/backupJobs/{JOB}".removeprefix("https://management.azure.com"),
        "name": JOB,
        "type": "Microsoft.DataProtection/backupVaults/backupJobs",
        "properties": {"status": "Completed", "startTime": "2026-03-01T10:00:00Z"},
    }


def get(env: Environment) -> str:
    assert run(GetOptions(job=JOB, output="json"), env) == 0
    out = env.stdout
    assert isinstance(out, io.StringIO)
    return out.getvalue()


@responses.activate
def test_one_look_decides_and_is_remembered() -> None:
    rs = responses.get(RS_VAULT, status=404, json=NOT_FOUND)
    bv = responses.get(BV_VAULT, json={"id": "x", "type": "Microsoft.DataProtection/backupVaults"})
    job = responses.get(f"{BV_VAULT}/backupJobs/{JOB}", json=bv_job())
    assert json.loads(get(env_of()))["name"] == JOB
    assert (rs.call_count, bv.call_count, job.call_count) == (1, 1, 1)
    assert "api-version=2026-06-01" in bv.calls[0].request.url
    assert "api-version=2026-10-01" in rs.calls[0].request.url
    get(env_of())  # the kind now comes from the cache
    assert (rs.call_count, bv.call_count, job.call_count) == (1, 1, 2)
    cache = vault_kind.cache_path({"XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]})
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


@responses.activate
def test_a_name_of_both_kinds_is_exit_2_asking_for_the_flag() -> None:
    responses.get(RS_VAULT, json={})
    responses.get(BV_VAULT, json={})
    with pytest.raises(UsageError, match="both a Recovery Services vault and a Backup vault") as e:
        get(env_of())
    assert e.value.exit_code == 2
    assert "--vault-type" in (e.value.hint or "")


@responses.activate
def test_a_name_of_neither_kind_is_exit_3() -> None:
    responses.get(RS_VAULT, status=404, json=NOT_FOUND)
    responses.get(BV_VAULT, status=404, json=NOT_FOUND)
    with pytest.raises(NotFoundError) as e:
        get(env_of())
    assert e.value.exit_code == 3


@pytest.mark.parametrize(
    "extra",
    [{"AZJOBS_VAULT_TYPE": "backup"}, {"AZJOBS_VAULT_TYPE": "Backup"}],
)
@responses.activate
def test_the_variable_names_the_kind_without_a_look(extra: dict[str, str]) -> None:
    job = responses.get(f"{BV_VAULT}/backupJobs/{JOB}", json=bv_job())
    get(env_of(**extra))
    assert len(responses.calls) == 1 and job.call_count == 1


@responses.activate
def test_a_backup_vault_job_id_names_the_kind() -> None:
    job = responses.get(f"{BV_VAULT}/backupJobs/{JOB}", json=bv_job())
    full = (
        f"/SUBSCRIPTIONS/{SUB}/resourceGroups/rg/providers/microsoft.dataprotection"
        f"/BACKUPVAULTS/v1/backupJobs/{JOB}"
    )
    env = env_of(AZJOBS_VAULT_TYPE="recovery-services")  # the id wins
    assert run(GetOptions(job=full, output="json"), env) == 0
    assert len(responses.calls) == 1 and job.call_count == 1


def test_a_bad_vault_type_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown vault type"):
        resolve_context(ContextFlags(SUB, "rg", "v1", vault_type="classic"), {})
    with pytest.raises(UsageError, match="AZJOBS_VAULT_TYPE"):
        resolve_context(ContextFlags(SUB, "rg", "v1"), {"AZJOBS_VAULT_TYPE": "x"})
    assert parse_vault_type("recovery_services", "--vault-type") is VaultKind.RECOVERY_SERVICES
    assert parse_vault_type("RecoveryServices", "--vault-type") is VaultKind.RECOVERY_SERVICES


def test_the_config_file_names_the_kind(tmp_path: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "azjobs" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('vault_type = "backup"\n', encoding="utf-8")
    ctx = resolve_context(ContextFlags(SUB, "rg", "v1"), dict(os.environ))
    assert ctx.vault_kind is VaultKind.BACKUP
    config.write_text('vault_type = "tape"\n', encoding="utf-8")
    with pytest.raises(UsageError, match="unknown vault type"):
        resolve_context(ContextFlags(SUB, "rg", "v1"), dict(os.environ))


def test_a_corrupt_cache_is_ignored_and_rewritten() -> None:
    env = {"XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]}
    ctx = resolve_context(ContextFlags(SUB, "rg", "v1"), {})
    path = vault_kind.cache_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    assert vault_kind.cached_kind(ctx, env) is None
    vault_kind.remember(ctx, VaultKind.BACKUP, env)
    assert vault_kind.cached_kind(ctx, env) is VaultKind.BACKUP
