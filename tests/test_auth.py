"""Token providers: AZJOBS_ACCESS_TOKEN, the cached credential provider, lazy azure-identity."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from azbackupjobs.arm import auth
from azbackupjobs.arm.auth import (
    REFRESH_MARGIN_SECONDS,
    AccessToken,
    CredentialTokenProvider,
    StaticTokenProvider,
    jwt_expiry,
    provider_from_environment,
)
from azbackupjobs.model.errors import AuthError, ExitCode, UsageError
from tests.harness import run_cli_process

SCOPE = "https://management.azure.com/.default"
AUTHORITY = "login.microsoftonline.com"
ROOT = Path(__file__).resolve().parents[1]


def jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.signature"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeCredential:
    """Stands in for azure-identity: counts get_token calls, hands out 1-hour tokens."""

    def __init__(self, clock: Clock, lifetime: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(f"token-{len(self.scopes)}", self.clock() + self.lifetime)


# ----- AZJOBS_ACCESS_TOKEN ----------------------------------------------------------------------


def test_access_token_from_environment() -> None:
    token = jwt({"exp": 1_700_000_000, "aud": "https://management.azure.com"})
    provider = provider_from_environment({"AZJOBS_ACCESS_TOKEN": f" {token}\n"}, SCOPE, AUTHORITY)
    assert isinstance(provider, StaticTokenProvider)
    got = provider.get()
    assert got.token == token and got.expires_on == 1_700_000_000
    assert provider.secrets == (token,)
    assert provider.invalidate() is False  # cannot be renewed: a 401 is final
    assert token not in repr(got) and "redacted" in repr(got)


def test_opaque_access_token_is_accepted() -> None:
    provider = provider_from_environment({"AZJOBS_ACCESS_TOKEN": "opaque"}, SCOPE, AUTHORITY)
    assert provider.get() == AccessToken("opaque", None)


@pytest.mark.parametrize("value", ["Bearer abc", "a b", "abc\x1b[31m", "ab\tc"])
def test_access_token_with_spaces_or_controls_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError) as info:
        provider_from_environment({"AZJOBS_ACCESS_TOKEN": value}, SCOPE, AUTHORITY)
    assert info.value.exit_code == ExitCode.USAGE
    assert value not in info.value.message


def test_blank_access_token_falls_back_to_the_credential() -> None:
    provider = provider_from_environment({"AZJOBS_ACCESS_TOKEN": "  "}, SCOPE, AUTHORITY)
    assert isinstance(provider, CredentialTokenProvider)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (jwt({"exp": 123}), 123.0),
        (jwt({"exp": 1.5}), 1.5),
        (jwt({"exp": "123"}), None),
        (jwt({"exp": True}), None),
        (jwt({}), None),
        ("a.b", None),
        ("a.!!!.c", None),
        ("a." + base64.urlsafe_b64encode(b"[1]").decode() + ".c", None),
        ("opaque", None),
    ],
)
def test_jwt_expiry(token: str, expected: float | None) -> None:
    assert jwt_expiry(token) == expected


# ----- the credential provider ------------------------------------------------------------------


def test_token_fetched_once_and_reused_until_five_minutes_before_expiry() -> None:
    clock = Clock()
    credential = FakeCredential(clock)
    built: list[int] = []

    def factory() -> FakeCredential:
        built.append(1)
        return credential

    provider = CredentialTokenProvider(SCOPE, factory, clock=clock)
    assert provider.get().token == "token-1"
    clock.now += 3600 - REFRESH_MARGIN_SECONDS - 1  # 5 min + 1 s left: still good
    assert provider.get().token == "token-1"
    assert provider.get().token == "token-1"
    clock.now += 1  # exactly five minutes left: renew
    assert provider.get().token == "token-2"
    assert credential.scopes == [(SCOPE,), (SCOPE,)]
    assert built == [1]  # the credential object is built once and reused
    assert provider.secrets == ("token-1", "token-2")


def test_invalidate_forces_a_new_token() -> None:
    clock = Clock()
    credential = FakeCredential(clock)
    provider = CredentialTokenProvider(SCOPE, lambda: credential, clock=clock)
    provider.get()
    assert provider.invalidate() is True
    assert provider.get().token == "token-2"


def test_short_lived_tokens_are_fetched_every_time() -> None:
    clock = Clock()
    credential = FakeCredential(clock, lifetime=60)
    provider = CredentialTokenProvider(SCOPE, lambda: credential, clock=clock)
    assert [provider.get().token for _ in range(3)] == ["token-1", "token-2", "token-3"]


class FailingCredential:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def get_token(self, *scopes: str) -> AccessToken:
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError(
            "DefaultAzureCredential failed to retrieve a token from the included "
            "credentials.\nAttempted credentials:\n\tEnvironmentCredential: ..."
        ),
        ValueError(""),
        OSError("no route to host"),
    ],
)
def test_credential_errors_are_auth_errors_with_a_hint(exc: BaseException) -> None:
    provider = CredentialTokenProvider(SCOPE, lambda: FailingCredential(exc), clock=Clock())
    with pytest.raises(AuthError) as info:
        provider.get()
    err = info.value
    assert err.exit_code == ExitCode.AUTH and int(ExitCode.AUTH) == 4
    assert "\n" not in err.message and err.message.startswith("no Azure credential available")
    assert err.hint == auth.AUTH_HINT and "az login" in err.hint
    assert "AZJOBS_ACCESS_TOKEN" in err.hint


def test_missing_azure_identity_is_an_auth_error() -> None:
    def factory() -> object:
        raise ImportError("No module named 'azure.identity'")

    with pytest.raises(AuthError) as info:
        CredentialTokenProvider(SCOPE, factory, clock=Clock()).get()
    assert "azure-identity is not available" in info.value.message


def test_auth_errors_from_the_credential_pass_through() -> None:
    original = AuthError("custom", hint="h")
    provider = CredentialTokenProvider(SCOPE, lambda: FailingCredential(original), clock=Clock())
    with pytest.raises(AuthError) as info:
        provider.get()
    assert info.value is original


def test_default_factory_asks_for_no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real factory, with azure.identity replaced by a recorder (no real credential)."""
    import types

    seen: dict[str, object] = {}

    class Recorder:
        def __init__(self, **kwargs: object) -> None:
            seen.update(kwargs)

    fake = types.ModuleType("azure.identity")
    fake.DefaultAzureCredential = Recorder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azure.identity", fake)
    build = auth.default_credential_factory("login.chinacloudapi.cn")
    assert isinstance(build(), Recorder)
    assert seen == {
        "authority": "login.chinacloudapi.cn",
        "exclude_interactive_browser_credential": True,
    }


# ----- azure-identity stays unimported, and quiet -----------------------------------------------

_RUN_GET = r"""
import json, sys
import responses
from azbackupjobs.main import main  # the console script's entry point

job = json.load(open(sys.argv[1], encoding="utf-8"))
url = ("https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000"
       "/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/vault1/backupJobs/"
       + job["name"])
with responses.RequestsMock() as mock:
    mock.get(url, json=job)
    try:
        main(["get", job["name"], "--subscription", "00000000-0000-0000-0000-000000000000",
              "-g", "rg", "-v", "vault1", "--vault-type", "recovery-services", "-o", "json"])
    except SystemExit as exc:
        code = exc.code
print("EXIT", code, file=sys.stderr)
print("IMPORTED", [m for m in sys.modules if m.startswith("azure.identity")], file=sys.stderr)
"""


def test_azure_identity_is_not_imported_with_an_access_token(tmp_path: Path) -> None:
    fixture = ROOT / "tests" / "fixtures" / "recorded" / "iaasvm_backup_completed_2023.json"
    proc = run_cli_process(
        str(fixture),
        program=(sys.executable, "-c", _RUN_GET),
        cwd=tmp_path,
        env={"AZJOBS_ACCESS_TOKEN": "opaque-token", "AZURE_CONFIG_DIR": str(tmp_path)},
    )
    assert "EXIT 0" in proc.stderr, proc.stderr
    assert "IMPORTED []" in proc.stderr
    assert json.loads(proc.stdout)["name"] == "73e47398-73a0-45fb-b56b-9997e6d84229"


_FAILING_CREDENTIAL = r"""
import logging, sys, types

class FailingCredential:
    # what azure-identity does when nothing works: a multi-line WARNING, then an error

    def __init__(self, **kwargs):
        pass

    def get_token(self, *scopes):
        logging.getLogger("azure.identity._credentials.chained").warning(
            "DefaultAzureCredential failed to retrieve a token.\nAttempted credentials:\n\tx")
        raise RuntimeError("DefaultAzureCredential failed to retrieve a token from the "
                           "included credentials.\nAttempted credentials: ...")

fake = types.ModuleType("azure.identity")
fake.DefaultAzureCredential = FailingCredential
sys.modules["azure.identity"] = fake

from azbackupjobs.main import main
main(["get", "73e47398-73a0-45fb-b56b-9997e6d84229", "--subscription",
      "00000000-0000-0000-0000-000000000000", "-g", "rg", "-v", "vault1",
      "--endpoint", "http://127.0.0.1:9"])
"""


def test_credential_failure_is_one_stderr_line_and_exit_4(tmp_path: Path) -> None:
    proc = run_cli_process(
        program=(sys.executable, "-c", _FAILING_CREDENTIAL),
        cwd=tmp_path,
        env={"AZURE_CONFIG_DIR": str(tmp_path)},
    )
    assert proc.exit_code == 4, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("azjobs: error: no Azure credential available")
    assert "az login" in lines[0] and "AZJOBS_ACCESS_TOKEN" in lines[0]
    assert proc.stdout == ""
