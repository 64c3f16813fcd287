"""The config file: its checks, profile selection, and its place in the precedence of settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azbackupjobs.arm import config, settings
from azbackupjobs.arm.config import ConfigError
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.view.output import resolve_format
from tests.harness import FakeEnvironment, fake_environment, run_cli

SUB_A = "00000000-0000-4000-8000-00000000000a"
SUB_B = "00000000-0000-4000-8000-00000000000b"
SUB_ENV = "00000000-0000-4000-8000-0000000000ee"

GOOD = f"""\
# defaults
output = "ndjson"
interval = 15
default_profile = "prod"

[profiles.prod]
subscription = "{SUB_A}"
resource_group = "rg-prod"
vault = "rsv-prod"

[profiles.gov]
cloud = "azureusgovernment"
subscription = "{SUB_B}"
resource_group = "rg-gov"
vault = "rsv-gov"
interval = 30

[profiles.emu]
endpoint = "http://127.0.0.1:8400/"
api_version = "2019-05-13"
output = "TSV"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config file path for this test (under XDG_CONFIG_HOME); not written yet."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = tmp_path / "azjobs" / "config.toml"
    path.parent.mkdir()
    return path


def env_for(path: Path, **extra: str) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(path.parent.parent), **extra}


def error_of(text: str | bytes, path: Path) -> str:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as info:
        config.active_profile(None, env_for(path))
    assert info.value.exit_code == ExitCode.USAGE
    message = info.value.message
    assert "\n" not in message
    return message


# ----- where the file is ------------------------------------------------------------------------
def test_path_follows_xdg_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "azjobs" / "config.toml"
    )
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.config_path({}) == tmp_path / ".config" / "azjobs" / "config.toml"
    # the XDG spec: a relative XDG_CONFIG_HOME is ignored
    assert config.config_path({"XDG_CONFIG_HOME": "rel"}) == (
        tmp_path / ".config" / "azjobs" / "config.toml"
    )
    assert config.config_path({"AZJOBS_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"


def test_no_file_means_no_layer(config_file: Path) -> None:
    active = config.active_profile(None, env_for(config_file))
    assert not active.exists and active.values == {} and active.name is None


def test_a_missing_file_named_by_azjobs_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AZJOBS_CONFIG: no such config file"):
        config.active_profile(None, {"AZJOBS_CONFIG": str(tmp_path / "nope.toml")})


# ----- profiles -----------------------------------------------------------------------------------
def test_profile_selection_flag_over_environment_over_default_profile(config_file: Path) -> None:
    config_file.write_text(GOOD)
    env = env_for(config_file)
    assert config.active_profile(None, env).name == "prod"
    assert config.active_profile(None, env).name_source == "config file (default_profile)"
    with_env = {**env, "AZJOBS_PROFILE": "gov"}
    assert config.active_profile(None, with_env).name == "gov"
    assert config.active_profile(None, with_env).name_source == "environment (AZJOBS_PROFILE)"
    assert config.active_profile("emu", with_env).name == "emu"
    assert config.active_profile("emu", with_env).name_source == "flag"


def test_profile_values_override_the_defaults_and_name_their_source(config_file: Path) -> None:
    config_file.write_text(GOOD)
    active = config.active_profile("gov", env_for(config_file))
    shown = config.display_path(config_file)
    interval = active.get("interval")
    output = active.get("output")
    cloud = active.get("cloud")
    assert interval is not None and interval.value == 30.0
    assert interval.source == f"profile gov ({shown})"
    assert output is not None and output.value == "ndjson"
    assert output.source == f"config file ({shown})"
    assert cloud is not None and cloud.value == "AzureUSGovernment"  # normalised


def test_unknown_profile_names_the_known_ones(config_file: Path) -> None:
    config_file.write_text(GOOD)
    with pytest.raises(ConfigError) as info:
        config.active_profile("staging", env_for(config_file))
    assert info.value.message.startswith("--profile: no profile 'staging' in ")
    assert "(profiles: emu, gov, prod)" in info.value.message
    with pytest.raises(ConfigError, match=r"^AZJOBS_PROFILE: no profile 'x'"):
        config.active_profile(None, env_for(config_file, AZJOBS_PROFILE="x"))


def test_a_profile_without_a_file_is_an_error(config_file: Path) -> None:
    with pytest.raises(ConfigError, match="needs a config file"):
        config.active_profile("prod", env_for(config_file))


def test_profile_names_for_completion(config_file: Path) -> None:
    assert config.profile_names(env_for(config_file)) == []
    config_file.write_text(GOOD)
    assert config.profile_names(env_for(config_file)) == ["emu", "gov", "prod"]
    config_file.write_text("not toml [")
    assert config.profile_names(env_for(config_file)) == []  # never raises


def test_default_interval(config_file: Path) -> None:
    env = env_for(config_file)
    assert config.default_interval(None, env) is None
    config_file.write_text(GOOD)
    assert config.default_interval(None, env) == 15.0
    assert config.default_interval("gov", env) == 30.0


def test_the_file_is_reread_when_it_changes(config_file: Path) -> None:
    config_file.write_text("output = 'json'\n")
    assert config.active_profile(None, env_for(config_file)).values["output"].value == "json"
    config_file.write_text("output = 'tsv'\n\n")
    assert config.active_profile(None, env_for(config_file)).values["output"].value == "tsv"


# ----- malformed files: one line naming the file and the line ---------------------------------
def test_toml_syntax_error_names_file_line_and_column(config_file: Path) -> None:
    message = error_of('output = "json"\n\n[profiles.prod]\nvault = \n', config_file)
    assert message.startswith(f"config file {config.display_path(config_file)}, line 4, column")
    assert "invalid TOML" in message


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            'output = "json"\n[profiles.p]\noutptu = "json"\n',
            3,
            "unknown key 'outptu' in [profiles.p] (did you mean 'output'?)",
        ),
        ("resource-group = 'rg'\n", 1, "did you mean 'resource_group'?"),
        ("access_token = 'eyJ0'\n", 1, "credentials are never read from the config file"),
        ('output = "xml"\n', 1, "unknown output format 'xml'"),
        ("[profiles.p]\ncloud = 'Mars'\n", 2, "unknown cloud 'Mars'"),
        ("[profiles.p]\nendpoint = 'http://example.com'\n", 2, "only sent over https"),
        ("[profiles.p]\nsubscription = 'nope'\n", 2, "is not a GUID"),
        ("[profiles.p]\nvault = 'a b'\n", 2, "vault name 'a b' is not valid"),
        ("[profiles.p]\n\n\nresource_group = 'a/b'\n", 4, "resource group name"),
        ("api_version = 'latest'\n", 1, "is not a date"),
        ("interval = 0\n", 1, "interval must be more than 0"),
        ("interval = true\n", 1, "interval must be a number of seconds"),
        ("interval = 'fast'\n", 1, "interval must be a number of seconds"),
        ("vault = ''\n", 1, "vault must be a non-empty string"),
        ("vault = 3\n", 1, "vault must be a non-empty string"),
        ("default_profile = 'x'\n", 1, "default_profile 'x' is not a profile of this file"),
        ("[profiles]\np = 3\n", 2, "profile 'p' must be a table"),
        ("profiles = 3\n", 1, "'profiles' must be a table"),
        ("[profiles.'bad name']\n", 1, "profile name 'bad name' is not valid"),
        ("[defaults]\nvault = 'v'\n", 1, "unknown key 'defaults'"),
        ("a = 1\nb.c = 2\n", 1, "unknown key 'a'"),
        ("[profiles.p]\nx.y = 1\n", 2, "unknown key 'x' in [profiles.p]"),
    ],
)
def test_semantic_errors_name_the_line_and_key(
    config_file: Path, text: str, line: int, expected: str
) -> None:
    message = error_of(text, config_file)
    assert message.startswith(f"config file {config.display_path(config_file)}, line {line}: ")
    assert expected in message


def test_not_utf8(config_file: Path) -> None:
    assert error_of(b'vault = "ok"\nx = "\xff"\n', config_file).endswith("line 2: not valid UTF-8")


def test_a_byte_order_mark_is_accepted(config_file: Path) -> None:
    config_file.write_bytes(b'\xef\xbb\xbfoutput = "json"\n')
    assert config.active_profile(None, env_for(config_file)).values["output"].value == "json"


def test_control_characters_in_keys_are_not_echoed(config_file: Path) -> None:
    message = error_of('"a\\u001b[31mb" = 1\n', config_file)
    assert "\x1b" not in message and "unknown key" in message


def test_an_unreadable_path_is_an_error(config_file: Path) -> None:
    config_file.mkdir()
    with pytest.raises(ConfigError, match="cannot read config file"):
        config.active_profile(None, env_for(config_file))


def test_the_example_in_the_help_is_a_valid_file(config_file: Path) -> None:
    config_file.write_text(config.TEMPLATE.format(path=config_file))
    active = config.active_profile(None, env_for(config_file))
    assert active.name == "prod"
    assert config.profile_names(env_for(config_file)) == ["emulator", "gov", "prod"]


# ----- precedence: flag > environment > profile > az CLI > default -----------------------------
def write_az_defaults(az_dir: Path) -> None:
    (az_dir / "azureProfile.json").write_text(
        json.dumps({"subscriptions": [{"id": SUB_B, "isDefault": True}]})
    )
    (az_dir / "config").write_text("[defaults]\ngroup = az-rg\nbackup-vault = az-vault\n")


def test_profile_sits_between_environment_and_az_defaults(
    config_file: Path, az_config_dir: Path
) -> None:
    write_az_defaults(az_config_dir)
    config_file.write_text(f'[profiles.p]\nsubscription = "{SUB_A}"\nvault = "prof-vault"\n')
    env = {
        **env_for(config_file),
        "AZURE_CONFIG_DIR": str(az_config_dir),
        "AZJOBS_VAULT": "env-vault",
    }
    ctx = settings.resolve_context(settings.ContextFlags(profile="p"), env)
    shown = config.display_path(config_file)
    assert ctx.subscription == SUB_A
    assert ctx.sources["subscription"].source == f"profile p ({shown})"
    assert ctx.vault == "env-vault"
    assert ctx.sources["vault"].source == "environment (AZJOBS_VAULT)"
    assert ctx.resource_group == "az-rg"
    assert ctx.sources["resource_group"].source == "az CLI default"
    flagged = settings.resolve_context(settings.ContextFlags(profile="p", vault="flag-vault"), env)
    assert flagged.vault == "flag-vault" and flagged.sources["vault"].source == "flag"


def test_profile_cloud_endpoint_and_api_version(config_file: Path) -> None:
    config_file.write_text(GOOD)
    env = env_for(config_file)
    gov = settings.resolve_context(settings.ContextFlags(profile="gov"), env)
    assert gov.cloud.name == "AzureUSGovernment"
    assert gov.endpoint == "https://management.usgovcloudapi.net"
    assert gov.sources["endpoint"].source == "cloud AzureUSGovernment"
    emu = settings.resolve_context(
        settings.ContextFlags(profile="emu", subscription=SUB_A, resource_group="rg", vault="vv"),
        env,
    )
    assert emu.endpoint == "http://127.0.0.1:8400"
    assert emu.api_version == "2019-05-13"
    assert emu.sources["api_version"].source.startswith("profile emu (")
    over = settings.resolve_context(
        settings.ContextFlags(
            profile="emu",
            subscription=SUB_A,
            resource_group="rg",
            vault="vv",
            api_version="2026-10-01",
        ),
        {**env, "AZJOBS_ENDPOINT": "https://management.azure.com"},
    )
    assert over.endpoint == "https://management.azure.com" and over.api_version == "2026-10-01"


def test_a_job_id_still_wins_over_the_profile(config_file: Path) -> None:
    from azbackupjobs.model import ids

    config_file.write_text(GOOD)
    ref = ids.parse_job_ref(
        f"/subscriptions/{SUB_B}/resourceGroups/rg-x/providers/Microsoft.RecoveryServices/"
        "vaults/v-x/backupJobs/3b6a1d2c-0000-4000-8000-000000000001"
    )
    ctx = settings.resolve_context(settings.ContextFlags(), env_for(config_file), ref)
    assert (ctx.subscription, ctx.resource_group, ctx.vault) == (SUB_B, "rg-x", "v-x")


def test_use_config_false_ignores_the_file(config_file: Path) -> None:
    config_file.write_text(GOOD)
    with pytest.raises(Exception, match="missing subscription"):
        settings.resolve_context(
            settings.ContextFlags(), env_for(config_file), use_config=False, az_defaults=False
        )


def test_missing_settings_hint_mentions_profiles(config_file: Path) -> None:
    with pytest.raises(Exception) as info:
        settings.resolve_context(settings.ContextFlags(), env_for(config_file), az_defaults=False)
    assert "--profile" in str(getattr(info.value, "hint", ""))


def fake_env(path: Path, tty: bool = False, **extra: str) -> FakeEnvironment:
    return fake_environment(env_for(path, **extra), tty=tty)


def test_output_format_precedence(config_file: Path) -> None:
    assert resolve_format(None, fake_env(config_file)) == "json"
    assert resolve_format(None, fake_env(config_file, tty=True)) == "table"
    config_file.write_text(GOOD)
    assert resolve_format(None, fake_env(config_file, tty=True)) == "ndjson"
    assert resolve_format(None, fake_env(config_file), "emu") == "tsv"
    assert resolve_format(None, fake_env(config_file, AZJOBS_OUTPUT="json")) == "json"
    assert resolve_format("table", fake_env(config_file, AZJOBS_OUTPUT="json")) == "table"


# ----- through the command line -----------------------------------------------------------------
def test_cli_malformed_file_is_one_line_exit_2(config_file: Path) -> None:
    config_file.write_text("[profiles.p]\nvault = 'ok'\noutptu = 1\n")
    code, out, err = run_cli("get", "3b6a1d2c-0000-4000-8000-000000000001")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("azjobs: error: config file ") and ", line 3: unknown key" in err
    assert "Traceback" not in err


def test_cli_unknown_profile_flag(config_file: Path) -> None:
    config_file.write_text(GOOD)
    code, _, err = run_cli(
        "list-tasks", "3b6a1d2c-0000-4000-8000-000000000001", "--profile", "nope"
    )
    assert code == 2 and "--profile: no profile 'nope'" in err


def test_config_show_json(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text(GOOD)
    monkeypatch.setenv("AZJOBS_RESOURCE_GROUP", "env-rg")
    monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", "secret-token-value")
    code, out, err = run_cli("config", "show", "-o", "json", "-v", "flag-vault")
    assert code == 0, err
    data = json.loads(out)
    shown = config.display_path(config_file)
    assert data["config_file"] == {
        "value": str(config_file),
        "exists": True,
        "source": "environment (XDG_CONFIG_HOME)",
    }
    assert data["profile"] == {"value": "prod", "source": "config file (default_profile)"}
    assert data["subscription"] == {"value": SUB_A, "source": f"profile prod ({shown})"}
    assert data["resource_group"] == {
        "value": "env-rg",
        "source": "environment (AZJOBS_RESOURCE_GROUP)",
    }
    assert data["vault"] == {"value": "flag-vault", "source": "flag"}
    assert data["cloud"] == {"value": "AzureCloud", "source": "default"}
    assert data["endpoint"] == {
        "value": "https://management.azure.com",
        "source": "cloud AzureCloud",
    }
    assert data["api_version"] == {"value": "2026-10-01", "source": "default"}
    assert data["output"] == {"value": "json", "source": "flag"}
    assert data["interval"] == {"value": 15, "source": f"config file ({shown})"}
    assert data["credential"]["source"] == "environment (AZJOBS_ACCESS_TOKEN)"
    assert "secret-token-value" not in out + err


def test_config_show_uses_the_profile_output_and_tsv(config_file: Path) -> None:
    config_file.write_text(GOOD)
    code, out, _ = run_cli("config", "show", "--profile", "emu")
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert all(len(row) == 3 for row in rows)
    by_name = {row[0]: row for row in rows}
    assert by_name["endpoint"][1:] == [
        "http://127.0.0.1:8400",
        f"profile emu ({config.display_path(config_file)})",
    ]
    assert by_name["subscription"][1:] == ["", "unset"]
    assert by_name["output"][1] == "tsv"


def test_config_show_ndjson_and_without_a_file(config_file: Path) -> None:
    code, out, _ = run_cli("config", "show", "-o", "ndjson")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["setting"] for line in lines][:3] == ["config_file", "profile", "subscription"]
    assert lines[1] == {"setting": "profile", "value": None, "source": "none"}
    assert lines[0]["exists"] is False


def test_config_show_table_on_a_terminal(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azbackupjobs.commands.common import CommonOptions
    from azbackupjobs.commands.config_cmd import run_show

    config_file.write_text(GOOD)
    env = fake_env(config_file, tty=True, AZJOBS_OUTPUT="table")
    assert run_show(CommonOptions(profile="gov"), env) == 0
    text = env.out
    assert "AzureUSGovernment" in text and "profile gov" in text and "setting" in text


def test_config_show_flags_bad_values_but_prints_everything(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZJOBS_ENDPOINT", "http://example.com")
    code, out, err = run_cli("config", "show", "-o", "json", "--subscription", "nope")
    assert code == 2
    data = json.loads(out)
    assert data["endpoint"]["value"] == "http://example.com"
    assert "only sent over https" in data["endpoint"]["problem"]
    assert "is not a GUID" in data["subscription"]["problem"]
    assert "warning: subscription:" in err and "warning: endpoint:" in err


def test_config_show_malformed_file(config_file: Path) -> None:
    config_file.write_text("x = [\n")
    code, out, err = run_cli("config", "show")
    assert code == 2 and out == "" and "invalid TOML" in err


def test_config_path(config_file: Path) -> None:
    code, out, err = run_cli("config", "path")
    assert code == 0 and out == f"{config_file}\n" and "does not exist" in err
    config_file.write_text("")
    code, out, err = run_cli("config", "path")
    assert code == 0 and out == f"{config_file}\n" and err == ""


def test_config_show_names_the_credential_without_fetching_it(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli("config", "show", "-o", "json", "--auth", "cli")
    assert code == 0 and json.loads(out)["credential"] == {"value": "cli", "source": "flag"}
    code, out, _ = run_cli("config", "show", "-o", "json")
    assert json.loads(out)["credential"] == {"value": "DefaultAzureCredential", "source": "default"}
    monkeypatch.setenv("AZJOBS_AUTH", "token")
    code, out, err = run_cli("config", "show", "-o", "json")
    assert code == 2 and "AZJOBS_ACCESS_TOKEN is not set" in err
    monkeypatch.setenv("AZJOBS_AUTH", "bogus")
    code, out, err = run_cli("config", "show", "-o", "json")
    assert code == 2 and json.loads(out)["credential"]["source"] == "environment (AZJOBS_AUTH)"
