"""Where a command points: precedence of flags, environment and the az CLI's defaults; clouds;
the endpoint security rules; api-version format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azbackupjobs.arm import settings
from azbackupjobs.arm.settings import ContextFlags, resolve_context, validate_endpoint
from azbackupjobs.model import ids
from azbackupjobs.model.errors import ExitCode, SecurityError, UsageError

SUB_FLAG = "11111111-1111-1111-1111-111111111111"
SUB_ENV = "22222222-2222-2222-2222-222222222222"
SUB_AZ = "33333333-3333-3333-3333-333333333333"
SUB_JOB = "44444444-4444-4444-4444-444444444444"
JOB = "73e47398-73a0-45fb-b56b-9997e6d84229"


def write_profile(az_dir: Path, *, bom: bool = True, default: str = SUB_AZ) -> None:
    profile = {
        "installationId": "x",
        "subscriptions": [
            {"id": "55555555-5555-5555-5555-555555555555", "isDefault": False, "name": "other"},
            {"id": default, "isDefault": True, "name": "mine", "state": "Enabled"},
        ],
    }
    # az writes azureProfile.json with a UTF-8 byte order mark
    data = ("\ufeff" if bom else "") + json.dumps(profile)
    (az_dir / "azureProfile.json").write_text(data, encoding="utf-8")


def write_config(az_dir: Path, text: str, *, bom: bool = False) -> None:
    (az_dir / "config").write_text(("\ufeff" if bom else "") + text, encoding="utf-8")


def env_for(az_dir: Path, **values: str) -> dict[str, str]:
    return {"AZURE_CONFIG_DIR": str(az_dir), **values}


FULL_ENV = {
    "AZURE_SUBSCRIPTION_ID": SUB_ENV,
    "AZJOBS_RESOURCE_GROUP": "env-rg",
    "AZJOBS_VAULT": "env-vault",
}


# ----- precedence -------------------------------------------------------------------------------


def test_flags_win_over_environment_and_az(az_config_dir: Path) -> None:
    write_profile(az_config_dir)
    write_config(az_config_dir, "[defaults]\ngroup = az-rg\n")
    ctx = resolve_context(
        ContextFlags(subscription=SUB_FLAG, resource_group="flag-rg", vault="flag-vault"),
        env_for(az_config_dir, **FULL_ENV),
    )
    assert (ctx.subscription, ctx.resource_group, ctx.vault) == (SUB_FLAG, "flag-rg", "flag-vault")
    assert {k: ctx.sources[k].source for k in ("subscription", "resource_group", "vault")} == {
        "subscription": "flag",
        "resource_group": "flag",
        "vault": "flag",
    }


def test_environment_wins_over_az(az_config_dir: Path) -> None:
    write_profile(az_config_dir)
    write_config(az_config_dir, "[defaults]\ngroup = az-rg\n")
    ctx = resolve_context(ContextFlags(), env_for(az_config_dir, **FULL_ENV))
    assert (ctx.subscription, ctx.resource_group, ctx.vault) == (SUB_ENV, "env-rg", "env-vault")
    assert ctx.sources["subscription"].source == "environment (AZURE_SUBSCRIPTION_ID)"
    assert ctx.sources["resource_group"].source == "environment (AZJOBS_RESOURCE_GROUP)"


def test_az_cli_defaults_fill_the_gaps(az_config_dir: Path) -> None:
    write_profile(az_config_dir, bom=True)
    write_config(
        az_config_dir, "[core]\noutput = json\n\n[defaults]\ngroup = az-rg\nlocation = westeurope\n"
    )
    ctx = resolve_context(ContextFlags(vault="v1"), env_for(az_config_dir))
    assert ctx.subscription == SUB_AZ
    assert ctx.resource_group == "az-rg"
    assert ctx.sources["subscription"].source == "az CLI default"
    assert ctx.sources["resource_group"].source == "az CLI default"


def test_az_profile_without_bom_and_config_with_bom(az_config_dir: Path) -> None:
    write_profile(az_config_dir, bom=False)
    write_config(az_config_dir, "[defaults]\ngroup=az-rg\n", bom=True)
    ctx = resolve_context(ContextFlags(vault="v1"), env_for(az_config_dir))
    assert (ctx.subscription, ctx.resource_group) == (SUB_AZ, "az-rg")


def test_az_defaults_can_be_turned_off(az_config_dir: Path) -> None:
    write_profile(az_config_dir)
    with pytest.raises(UsageError):
        resolve_context(
            ContextFlags(resource_group="g", vault="v1"), env_for(az_config_dir), az_defaults=False
        )


@pytest.mark.parametrize(
    "profile",
    [
        "",
        "{not json",
        "[]",
        '{"subscriptions": "x"}',
        '{"subscriptions": [{"id": 5, "isDefault": true}]}',
        '{"subscriptions": [{"id": "x", "isDefault": false}]}',
    ],
)
def test_broken_or_empty_az_profile_is_ignored(az_config_dir: Path, profile: str) -> None:
    (az_config_dir / "azureProfile.json").write_text(profile, encoding="utf-8")
    write_config(az_config_dir, "this is [not an ini file\n")
    with pytest.raises(UsageError) as info:
        resolve_context(ContextFlags(vault="v1"), env_for(az_config_dir))
    assert "subscription" in info.value.message


def test_missing_context_names_flags_and_variables(az_config_dir: Path) -> None:
    with pytest.raises(UsageError) as info:
        resolve_context(ContextFlags(), env_for(az_config_dir))
    exc = info.value
    assert exc.exit_code == ExitCode.USAGE and int(ExitCode.USAGE) == 2
    for needle in (
        "--subscription",
        "AZURE_SUBSCRIPTION_ID",
        "--resource-group",
        "AZJOBS_RESOURCE_GROUP",
        "--vault-name",
        "AZJOBS_VAULT",
    ):
        assert needle in exc.message
    assert exc.hint and "ARM id" in exc.hint


def test_missing_only_the_vault(az_config_dir: Path) -> None:
    with pytest.raises(UsageError) as info:
        resolve_context(
            ContextFlags(subscription=SUB_FLAG, resource_group="g"), env_for(az_config_dir)
        )
    assert "vault" in info.value.message and "subscription" not in info.value.message


def test_blank_values_count_as_missing(az_config_dir: Path) -> None:
    with pytest.raises(UsageError) as info:
        resolve_context(
            ContextFlags(subscription="  ", resource_group="g", vault="v1"),
            env_for(az_config_dir, AZURE_SUBSCRIPTION_ID=" "),
        )
    assert "--subscription" in info.value.message


def test_values_are_trimmed_and_validated(az_config_dir: Path) -> None:
    ctx = resolve_context(
        ContextFlags(subscription=f" {SUB_FLAG.upper()} "),
        env_for(az_config_dir, AZJOBS_RESOURCE_GROUP=" g ", AZJOBS_VAULT="v1\n"),
    )
    assert (ctx.subscription, ctx.resource_group, ctx.vault) == (SUB_FLAG, "g", "v1")
    for bad in (
        {"AZJOBS_VAULT": "bad vault"},
        {"AZJOBS_RESOURCE_GROUP": "../x"},
        {"AZURE_SUBSCRIPTION_ID": "not-a-guid"},
    ):
        with pytest.raises(UsageError):
            resolve_context(ContextFlags(), env_for(az_config_dir, **{**FULL_ENV, **bad}))


def test_job_arm_id_wins(az_config_dir: Path) -> None:
    write_profile(az_config_dir)
    ref = ids.parse_job_ref(
        f"/Subscriptions/{SUB_JOB}/resourceGroups/job-rg/providers/"
        f"microsoft.recoveryservices/vaults/job-vault/backupJobs/{JOB}"
    )
    ctx = resolve_context(
        ContextFlags(subscription=SUB_FLAG, resource_group="flag-rg"),
        env_for(az_config_dir, **FULL_ENV),
        ref,
    )
    assert (ctx.subscription, ctx.resource_group, ctx.vault) == (SUB_JOB, "job-rg", "job-vault")
    assert ctx.sources["vault"].source == "job id"


def test_job_guid_leaves_the_context_to_the_rest(az_config_dir: Path) -> None:
    ctx = resolve_context(
        ContextFlags(), env_for(az_config_dir, **FULL_ENV), ids.parse_job_ref(JOB)
    )
    assert ctx.subscription == SUB_ENV


def test_vault_path(az_config_dir: Path) -> None:
    ctx = resolve_context(ContextFlags(), env_for(az_config_dir, **FULL_ENV))
    assert ctx.vault_path == (
        f"/subscriptions/{SUB_ENV}/resourceGroups/env-rg/providers/"
        "Microsoft.RecoveryServices/vaults/env-vault"
    )


# ----- clouds, endpoint, api-version ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "endpoint", "scope", "authority"),
    [
        (
            "AzureCloud",
            "https://management.azure.com",
            "https://management.azure.com/.default",
            "login.microsoftonline.com",
        ),
        (
            "azurechinacloud",
            "https://management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
            "login.chinacloudapi.cn",
        ),
        (
            "AZUREUSGOVERNMENT",
            "https://management.usgovcloudapi.net",
            "https://management.usgovcloudapi.net/.default",
            "login.microsoftonline.us",
        ),
    ],
)
def test_clouds(az_config_dir: Path, name: str, endpoint: str, scope: str, authority: str) -> None:
    ctx = resolve_context(ContextFlags(cloud=name), env_for(az_config_dir, **FULL_ENV))
    assert (ctx.endpoint, ctx.scope, ctx.cloud.authority) == (endpoint, scope, authority)
    assert ctx.sources["endpoint"].source == f"cloud {ctx.cloud.name}"


def test_default_cloud_and_version(az_config_dir: Path) -> None:
    ctx = resolve_context(ContextFlags(), env_for(az_config_dir, **FULL_ENV))
    assert ctx.cloud.name == "AzureCloud" and ctx.endpoint == "https://management.azure.com"
    assert ctx.api_version == settings.DEFAULT_API_VERSION == "2026-10-01"
    assert ctx.sources["cloud"].source == "default"


def test_cloud_from_environment_and_az(az_config_dir: Path) -> None:
    ctx = resolve_context(
        ContextFlags(), env_for(az_config_dir, AZJOBS_CLOUD="AzureChinaCloud", **FULL_ENV)
    )
    assert ctx.cloud.name == "AzureChinaCloud"
    write_config(az_config_dir, "[cloud]\nname = AzureUSGovernment\n")
    ctx = resolve_context(ContextFlags(), env_for(az_config_dir, **FULL_ENV))
    assert ctx.cloud.name == "AzureUSGovernment"
    write_config(az_config_dir, "[cloud]\nname = MyPrivateStack\n")  # unknown to us: ignored
    ctx = resolve_context(ContextFlags(), env_for(az_config_dir, **FULL_ENV))
    assert ctx.cloud.name == "AzureCloud"


def test_unknown_cloud_is_a_usage_error(az_config_dir: Path) -> None:
    with pytest.raises(UsageError) as info:
        resolve_context(ContextFlags(cloud="AzureGermanCloud"), env_for(az_config_dir, **FULL_ENV))
    assert "AzureChinaCloud" in info.value.message


def test_endpoint_overrides_the_cloud_but_keeps_its_scope(az_config_dir: Path) -> None:
    ctx = resolve_context(
        ContextFlags(cloud="AzureChinaCloud", endpoint="https://arm.local/"),
        env_for(az_config_dir, **FULL_ENV),
    )
    assert ctx.endpoint == "https://arm.local"
    assert ctx.scope == "https://management.chinacloudapi.cn/.default"
    env = env_for(az_config_dir, AZJOBS_ENDPOINT="http://127.0.0.1:9000", **FULL_ENV)
    assert resolve_context(ContextFlags(), env).endpoint == "http://127.0.0.1:9000"
    assert resolve_context(ContextFlags(endpoint="https://x.example"), env).endpoint == (
        "https://x.example"
    )


def test_refused_endpoint_from_the_environment_names_the_variable(az_config_dir: Path) -> None:
    with pytest.raises(SecurityError) as info:
        resolve_context(
            ContextFlags(), env_for(az_config_dir, AZJOBS_ENDPOINT="http://evil.com", **FULL_ENV)
        )
    assert info.value.message.startswith("AZJOBS_ENDPOINT:")
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://management.azure.com", "https://management.azure.com"),
        ("https://management.azure.com/", "https://management.azure.com"),
        ("HTTPS://Management.Azure.COM", "https://management.azure.com"),
        ("https://arm.example:8443/base/", "https://arm.example:8443/base"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.3.4.5", "http://127.3.4.5"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://LOCALHOST:1", "http://localhost:1"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("  https://management.azure.com  ", "https://management.azure.com"),
    ],
)
def test_endpoints_allowed(url: str, expected: str) -> None:
    assert validate_endpoint(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://management.azure.com",
        "http://10.0.0.1:8080",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "http://0x7f000001",
        "ftp://management.azure.com",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "management.azure.com",
        "//management.azure.com",
        "https://",
        "https:///path",
        "https://user:pass@management.azure.com",
        "https://user@management.azure.com",
        "https://evil.com\\@management.azure.com",
        "https://management.azure.com/?x=1",
        "https://management.azure.com/#frag",
        "https://management.azure.com:99999",
        "https://management.azure.com:port",
        "https://manage ment.azure.com",
        "https://management.azure.com/a b",
        "https://management.azure.com/\x1b[31m",
        "https://[::1",
    ],
)
def test_endpoints_refused(url: str) -> None:
    with pytest.raises(SecurityError) as info:
        validate_endpoint(url, "--endpoint")
    assert info.value.message.startswith("--endpoint:")
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    "value", ["2026-10-01", "2019-05-13", "2024-04-30-preview", " 2023-04-01 "]
)
def test_api_versions_allowed(az_config_dir: Path, value: str) -> None:
    ctx = resolve_context(ContextFlags(api_version=value), env_for(az_config_dir, **FULL_ENV))
    assert ctx.api_version == value.strip()
    assert ctx.sources["api_version"].source == "flag"


@pytest.mark.parametrize(
    "value", ["2026-10", "latest", "2026-10-01&x=1", "2026/10/01", "2026-10-01-beta", "1"]
)
def test_api_versions_refused(az_config_dir: Path, value: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve_context(ContextFlags(api_version=value), env_for(az_config_dir, **FULL_ENV))
    assert info.value.message.startswith("--api-version:")
    with pytest.raises(UsageError) as info:
        resolve_context(
            ContextFlags(), env_for(az_config_dir, AZJOBS_API_VERSION=value, **FULL_ENV)
        )
    assert info.value.message.startswith("AZJOBS_API_VERSION:")


def test_api_version_from_environment(az_config_dir: Path) -> None:
    ctx = resolve_context(
        ContextFlags(), env_for(az_config_dir, AZJOBS_API_VERSION="2019-05-13", **FULL_ENV)
    )
    assert ctx.api_version == "2019-05-13"


def test_az_config_dir_defaults_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings.az_config_dir({}) == tmp_path / ".azure"
    assert settings.az_config_dir({"AZURE_CONFIG_DIR": "/x"}) == Path("/x")


def test_the_test_environment_is_isolated(az_config_dir: Path) -> None:
    """The autouse fixture: nothing of the developer's own setup leaks into tests."""
    import os

    assert os.environ["AZURE_CONFIG_DIR"] == str(az_config_dir)
    assert list(az_config_dir.iterdir()) == []
    # The one variable the fixture sets itself: tests name the kind of vault they were written for.
    assert os.environ["AZJOBS_VAULT_TYPE"] == "recovery-services"
    leaked = [k for k in os.environ if k.startswith(("AZJOBS_", "AZURE_SUBSCRIPTION"))]
    assert leaked == ["AZJOBS_VAULT_TYPE"]
    assert os.environ["TZ"] == "UTC"
