"""Which bearer tokens the ARM routes accept: the fixed one, and the ones the emulator issued."""

from __future__ import annotations

import time

import pytest
import requests
from emulator_client import Api, error_code
from hypothesis import example, given, settings
from hypothesis import strategies as st

from azbackupjobs.emulator import EmulatorHandle, start_emulator
from azbackupjobs.emulator.tokens import (
    TOKEN_LIFETIME_SECONDS,
    arm_time,
    audience_allowed,
    issue,
    issued_claims,
)


def issued(emu: EmulatorHandle, resource: str = "https://management.azure.com/") -> str:
    response = requests.get(
        emu.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": emu.identity_header},
        timeout=5,
    )
    token: str = response.json()["access_token"]
    return token


def list_with(emu: EmulatorHandle, token: str) -> requests.Response:
    api = Api(emu)
    api.session.headers["Authorization"] = f"Bearer {token}"
    try:
        return api.get("/backupJobs")
    finally:
        api.session.close()


@pytest.mark.parametrize(
    "resource",
    [
        "https://management.azure.com/",
        "https://management.azure.com",
        "https://management.core.windows.net/",
        "EMULATOR",
        "EMULATOR/",
    ],
)
def test_issued_tokens_for_arm_audiences_are_accepted(emu: EmulatorHandle, resource: str) -> None:
    token = issued(emu, resource.replace("EMULATOR", emu.url))
    assert list_with(emu, token).status_code == 200


def test_the_fixed_token_still_works(emu: EmulatorHandle) -> None:
    issued(emu)
    assert list_with(emu, emu.token).status_code == 200


def test_a_token_for_another_audience_is_refused(emu: EmulatorHandle) -> None:
    response = list_with(emu, issued(emu, "https://vault.azure.net"))
    assert response.status_code == 401
    assert error_code(response) == "InvalidAuthenticationTokenAudience"
    message = response.json()["error"]["message"]
    assert "'https://vault.azure.net'" in message and "'https://management.azure.com/'" in message
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_expired_issued_token_is_refused(emu: EmulatorHandle) -> None:
    long_ago = time.time() - 2 * TOKEN_LIFETIME_SECONDS
    token = issue(emu.token, audience="https://management.azure.com/", issuer="x", now=long_ago)
    response = list_with(emu, token.token)
    assert response.status_code == 401
    assert error_code(response) == "ExpiredAuthenticationToken"
    assert arm_time(token.expires_on) in response.json()["error"]["message"]


def test_tampered_and_foreign_tokens_are_refused(emu: EmulatorHandle) -> None:
    head, _claims, signature = issued(emu).split(".")
    other = issue(emu.token, audience="https://vault.azure.net", issuer="x", now=time.time())
    swapped = f"{head}.{other.token.split('.')[1]}.{signature}"
    foreign = issue(
        "another-key", audience="https://management.azure.com/", issuer="x", now=time.time()
    ).token
    for token in (swapped, foreign, f"{head}..{signature}", "a.b.c", "..", emu.token + "x"):
        response = list_with(emu, token)
        assert response.status_code == 401, token
        assert error_code(response) == "InvalidAuthenticationToken"


def test_tokens_outlive_a_restart_with_the_same_fixed_token() -> None:
    # azjobs and az cache tokens across runs; a restarted emulator must still take them.
    with start_emulator(seed=1) as first:
        token = issued(first)
    with start_emulator(seed=1) as second:
        assert list_with(second, token).status_code == 200
    with start_emulator(seed=1, token="another-fixed-token") as third:
        assert list_with(third, token).status_code == 401


def test_audience_comparison() -> None:
    own = ("https://127.0.0.1:8765",)
    assert audience_allowed("https://MANAGEMENT.azure.com", own)
    assert audience_allowed("https://127.0.0.1:8765/", own)
    assert not audience_allowed("https://127.0.0.1:8766/", own)
    assert not audience_allowed("https://management.azure.com.evil/", own)
    assert not audience_allowed(None, own)
    assert not audience_allowed(["https://management.azure.com/"], own)


def test_arm_time_format() -> None:
    assert arm_time(1528820093) == "6/12/2018 4:14:53 PM"
    assert arm_time(1528761600) == "6/12/2018 12:00:00 AM"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
@example("0.\x80.0")  # three parts, not ASCII: once an unexpected UnicodeEncodeError
def test_any_string_is_a_yes_or_a_no(text: str) -> None:
    assert issued_claims("azjobs-emulator-token", text) is None
    claims = issued_claims("k", issue("k", audience=text, issuer=text, now=0).token)
    assert claims is not None and claims["aud"] == text


def test_an_audience_with_line_breaks_stays_out_of_the_headers(emu: EmulatorHandle) -> None:
    response = list_with(emu, issued(emu, 'https://x/\r\nX-Injected: 1"'))
    assert response.status_code == 401
    assert "X-Injected" not in response.headers
    assert "\n" not in response.headers["WWW-Authenticate"]
