"""``--auth`` / AZJOBS_AUTH, AZURE_TOKEN_CREDENTIALS, and the token cache across runs.

The az CLI is replaced by a small executable on PATH that counts its invocations and prints what
``az account get-access-token --output json`` prints; the emulator accepts its token.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path

import pytest

from azbackupjobs.arm import auth, token_cache
from azbackupjobs.emulator import EmulatorHandle
from azbackupjobs.model.errors import AuthError, ExitCode, UsageError
from tests.harness import EmulatorFactory, run_cli

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def fake_jwt(tid: str = TENANT, exp: float | None = None, marker: str = "a") -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {
        "tid": tid,
        "exp": int(exp or time.time() + 3600),
        "aud": "https://management.azure.com",
        "marker": marker,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class FakeAz:
    """An ``az`` on PATH: prints the token in ``token_file`` and logs each call."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.calls_file = root / "az-calls.log"
        self.token_file = root / "az-token.json"
        script = self.bin / "az"
        script.write_text(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            f"open({str(self.calls_file)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
            f"data = json.load(open({str(self.token_file)!r}))\n"
            "print(json.dumps(data))\n"
        )
        script.chmod(0o755)

    def issue(self, token: str, expires_in: float = 3600) -> None:
        exp = int(time.time() + expires_in)
        self.token_file.write_text(
            json.dumps(
                {
                    "accessToken": token,
                    "expiresOn": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.localtime(exp)),
                    "expires_on": exp,
                    "subscription": "00000000-0000-0000-0000-000000000000",
                    "tenant": TENANT,
                    "tokenType": "Bearer",
                }
            )
        )

    @property
    def calls(self) -> list[str]:
        if not self.calls_file.exists():
            return []
        return self.calls_file.read_text().splitlines()


@pytest.fixture
def fake_az(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAz:
    az = FakeAz(tmp_path)
    monkeypatch.setenv("PATH", f"{az.bin}{os.pathsep}{os.environ.get('PATH', '')}")
    return az


@pytest.fixture
def token() -> str:
    return fake_jwt()


@pytest.fixture
def emulator(
    token: str, emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> EmulatorHandle:
    """An emulator that accepts ``token``, its variables set but for the token itself."""
    emu = emulator_factory(token=token, seed=7)
    for name, value in emu.env().items():
        if name != "AZJOBS_ACCESS_TOKEN":
            monkeypatch.setenv(name, value)
    return emu


@pytest.fixture
def job_id(emulator: EmulatorHandle) -> str:
    return emulator.add_job(entity="vm-auth", outcome="Completed")


# ----- the acceptance criterion: 10 consecutive gets, one az spawn -----------------------------
def test_ten_gets_spawn_az_once(
    fake_az: FakeAz,
    token: str,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZJOBS_AUTH", "cli")
    fake_az.issue(token)
    for _ in range(10):
        code, out, err = run_cli("get", job_id, "-o", "json")
        assert code == 0, err
        assert json.loads(out)["name"] == job_id
    assert fake_az.calls == [
        "account get-access-token --output json --resource https://management.azure.com"
    ]


def test_cache_entry_is_private_and_holds_the_token_tenant(
    fake_az: FakeAz,
    token: str,
    job_id: str,
) -> None:
    fake_az.issue(token)
    assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    directory = token_cache.token_dir(os.environ)
    (entry,) = directory.iterdir()
    assert oct(entry.stat().st_mode & 0o777) == oct(0o600)
    assert oct(directory.stat().st_mode & 0o777) == oct(0o700)
    code, out, err = run_cli("cache", "show", "-o", "json")
    assert code == 0
    (shown,) = json.loads(out)
    assert shown["mode"] == "cli" and shown["tenant"] == TENANT and shown["usable"] is True
    assert shown["scope"] == "https://management.azure.com/.default"
    assert token not in out + err


def test_cache_off_spawns_every_time(
    fake_az: FakeAz,
    token: str,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZJOBS_TOKEN_CACHE", "0")
    fake_az.issue(token)
    for _ in range(3):
        assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    assert len(fake_az.calls) == 3
    assert not token_cache.token_dir(os.environ).exists()


def test_token_near_expiry_is_not_reused(
    fake_az: FakeAz,
    token: str,
    job_id: str,
) -> None:
    fake_az.issue(token, expires_in=240)  # inside the five-minute margin
    for _ in range(2):
        assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    assert len(fake_az.calls) == 2


def test_cache_clear_forces_a_new_token(
    fake_az: FakeAz,
    token: str,
    job_id: str,
) -> None:
    fake_az.issue(token)
    assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    code, out, err = run_cli("cache", "clear")
    assert (code, out) == (0, "")
    assert "removed 1 cached token" in err
    assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    assert len(fake_az.calls) == 2


def test_a_refused_cached_token_is_replaced(
    fake_az: FakeAz,
    job_id: str,
    token: str,
) -> None:
    """A cached token the service refuses (revoked, other tenant) costs one retry, once."""
    stale = fake_jwt(marker="stale")
    fake_az.issue(stale)
    code, _, err = run_cli("get", job_id, "--auth", "cli", "-o", "json")
    assert code == ExitCode.AUTH  # az itself hands out a token the emulator refuses
    assert len(fake_az.calls) == 2  # the first try and one renewal after the 401
    fake_az.issue(token)
    # The refused token is still cached: used once, refused, dropped, renewed from az.
    code, _out, err = run_cli("get", job_id, "--auth", "cli", "-o", "json")
    assert code == 0, err
    assert len(fake_az.calls) == 3
    code, _, err = run_cli("get", job_id, "--auth", "cli", "-o", "json")
    assert code == 0, err
    assert len(fake_az.calls) == 3


def test_another_az_account_is_another_entry(
    fake_az: FakeAz,
    token: str,
    job_id: str,
    az_config_dir: Path,
) -> None:
    def login(user: str, tenant: str) -> None:
        (az_config_dir / "azureProfile.json").write_text(
            json.dumps(
                {
                    "subscriptions": [
                        {
                            "id": "00000000-0000-0000-0000-000000000001",
                            "isDefault": True,
                            "tenantId": tenant,
                            "user": {"name": user, "type": "user"},
                        },
                    ]
                }
            )
        )

    fake_az.issue(token)
    login("alice@example.com", TENANT)
    assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    login("bob@example.com", TENANT)
    assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    assert len(fake_az.calls) == 2


def test_tokens_never_printed_even_with_debug(
    fake_az: FakeAz,
    token: str,
    job_id: str,
) -> None:
    fake_az.issue(token)
    for _ in range(2):  # the first from az, the second from the cache
        code, out, err = run_cli("get", job_id, "--auth", "cli", "-o", "json", "--debug")
        assert code == 0
        assert token not in out and token not in err
        assert token.split(".")[1] not in out + err
        assert "debug:" in err


# ----- mode selection -------------------------------------------------------------------------
def test_cli_mode_ignores_access_token_variable(
    fake_az: FakeAz,
    token: str,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", "not-the-right-token")
    fake_az.issue(token)
    assert run_cli("get", job_id, "--auth", "cli", "-o", "json")[0] == 0
    # default mode: AZJOBS_ACCESS_TOKEN wins (and is refused by the emulator)
    assert run_cli("get", job_id, "-o", "json")[0] == ExitCode.AUTH
    assert len(fake_az.calls) == 1


def test_token_mode_needs_the_variable(
    emulator: EmulatorHandle,
    job_id: str,
) -> None:
    code, out, err = run_cli("get", job_id, "--auth", "token", "-o", "json")
    assert code == ExitCode.AUTH and out == ""
    assert err.startswith("azjobs: error: --auth token needs AZJOBS_ACCESS_TOKEN")
    assert emulator.request_log == []


def test_token_mode_uses_the_variable(
    token: str,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", token)
    monkeypatch.setenv("AZJOBS_AUTH", "token")
    assert run_cli("get", job_id, "-o", "json")[0] == 0
    assert not token_cache.token_dir(os.environ).exists()  # a given token is never cached


@pytest.mark.parametrize(
    ("args", "env", "origin"),
    [
        (["--auth", "browser"], {}, "--auth"),
        ([], {"AZJOBS_AUTH": "kerberos"}, "AZJOBS_AUTH"),
        ([], {"AZURE_TOKEN_CREDENTIALS": "nosuchcredential"}, "AZURE_TOKEN_CREDENTIALS"),
    ],
)
def test_bad_modes_are_usage_errors_before_any_request(
    emulator: EmulatorHandle,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    origin: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    emulator.clear_request_log()
    code, out, err = run_cli("get", job_id, *args, "-o", "json")
    assert code == ExitCode.USAGE and out == ""
    assert err.startswith(f"azjobs: error: {origin}: unknown")
    assert len(err.strip().splitlines()) == 1
    assert emulator.request_log == []


def test_token_credentials_naming_the_cli_goes_straight_to_az(
    fake_az: FakeAz,
    token: str,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
    fake_az.issue(token)
    for _ in range(3):
        assert run_cli("get", job_id, "-o", "json")[0] == 0
    assert len(fake_az.calls) == 1
    _code, out, _ = run_cli("cache", "show", "-o", "json")
    assert [e["mode"] for e in json.loads(out)] == ["cli"]


def test_managed_identity_mode_uses_the_identity_endpoint_once(
    emulator: EmulatorHandle,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in emulator.sdk_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AZJOBS_AUTH", "managed-identity")
    emulator.clear_request_log()
    for _ in range(3):
        code, _out, err = run_cli("get", job_id, "-o", "json")
        assert code == 0, err
    paths = [r.path for r in emulator.request_log]
    assert sum(p.startswith("/msi/") for p in paths) == 1
    assert sum("/backupJobs/" in p for p in paths) == 3


# ----- unit level -----------------------------------------------------------------------------
def test_resolve_auth_mode_precedence() -> None:
    assert auth.resolve_auth_mode(None, {}) == "default"
    assert auth.resolve_auth_mode(None, {"AZJOBS_AUTH": " CLI "}) == "cli"
    assert auth.resolve_auth_mode("env", {"AZJOBS_AUTH": "cli"}) == "env"
    assert auth.resolve_auth_mode("", {"AZJOBS_AUTH": "token"}) == "token"
    with pytest.raises(UsageError, match="use one of: default, cli, managed-identity, env, token"):
        auth.resolve_auth_mode("\x1b[31mx", {})


@pytest.mark.parametrize(
    ("mode", "env", "expected"),
    [
        ("cli", {}, "AzureCliCredential"),
        ("managed-identity", {}, "ManagedIdentityCredential"),
        ("env", {}, "EnvironmentCredential"),
        ("default", {}, "DefaultAzureCredential"),
        ("default", {"AZURE_TOKEN_CREDENTIALS": "azureclicredential"}, "AzureCliCredential"),
        (
            "default",
            {"AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential"},
            "ManagedIdentityCredential",
        ),
        ("cli", {"AZURE_TOKEN_CREDENTIALS": "prod"}, "AzureCliCredential"),
    ],
)
def test_credential_factory_builds_one_credential(
    mode: str, env: dict[str, str], expected: str
) -> None:
    credential = auth.credential_factory(mode, "login.microsoftonline.com", env)()
    assert type(credential).__name__ == expected


@pytest.mark.parametrize(
    ("choice", "present", "absent"),
    [
        ("dev", {"AzureCliCredential"}, {"EnvironmentCredential", "ManagedIdentityCredential"}),
        ("prod", {"EnvironmentCredential", "ManagedIdentityCredential"}, {"AzureCliCredential"}),
        (
            "azurepowershellcredential",
            {"AzurePowerShellCredential"},
            {"AzureCliCredential", "EnvironmentCredential"},
        ),
    ],
)
def test_token_credentials_narrows_the_default_chain(
    choice: str, present: set[str], absent: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chain follows the env mapping given, whatever the process environment says.
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "prod" if choice == "dev" else "dev")
    credential = auth.credential_factory(
        "default", "login.microsoftonline.com", {"AZURE_TOKEN_CREDENTIALS": choice}
    )()
    from azure.identity import ChainedTokenCredential

    assert isinstance(credential, ChainedTokenCredential)
    names = {type(c).__name__ for c in credential.credentials}
    assert present <= names
    assert not names & absent
    assert "InteractiveBrowserCredential" not in names


def test_provider_for_token_mode_without_token_is_auth_error() -> None:
    with pytest.raises(AuthError):
        auth.provider_for({}, "s", "a", mode="token")


def test_provider_for_keeps_the_given_token_path() -> None:
    provider = auth.provider_for({"AZJOBS_ACCESS_TOKEN": "abc"}, "s", "a")
    assert isinstance(provider, auth.StaticTokenProvider)
    assert provider.get().token == "abc"


def test_provider_for_without_cache() -> None:
    provider = auth.provider_for({"AZJOBS_TOKEN_CACHE": "off"}, "s", "a", mode="cli")
    assert type(provider) is auth.CredentialTokenProvider


def test_effective_mode() -> None:
    assert auth.effective_mode("default", {}) == "default"
    assert auth.effective_mode("default", {"AZURE_TOKEN_CREDENTIALS": "dev"}) == "default"
    assert (
        auth.effective_mode("default", {"AZURE_TOKEN_CREDENTIALS": "environmentcredential"})
        == "env"
    )
    assert auth.effective_mode("cli", {"AZURE_TOKEN_CREDENTIALS": "prod"}) == "cli"
