"""Cloud metadata and the managed-identity endpoint that let Azure tooling log in locally."""

from __future__ import annotations

import time

import pytest
import requests

from azbackupjobs.emulator import EmulatorHandle


def test_metadata_list_form(emu: EmulatorHandle) -> None:
    response = requests.get(emu.metadata_url, timeout=5)
    assert response.status_code == 200
    (cloud,) = response.json()
    assert cloud["resourceManager"] == emu.url + "/"
    assert cloud["name"] == "AzJobsEmulator"
    auth = cloud["authentication"]
    assert auth["audiences"][0] == emu.url + "/"
    assert "https://management.azure.com/" in auth["audiences"]
    assert auth["loginEndpoint"] == emu.url + "/"
    for key in ("portal", "sqlManagement", "batch", "gallery", "graphAudience", "suffixes"):
        assert key in cloud


def test_metadata_single_cloud_form(emu: EmulatorHandle) -> None:
    body = requests.get(emu.url + "/metadata/endpoints?api-version=2015-01-01", timeout=5).json()
    assert body["authentication"]["audiences"][0] == emu.url + "/"
    assert set(body) >= {"galleryEndpoint", "graphEndpoint", "portalEndpoint", "authentication"}


def token_request(emu: EmulatorHandle, **overrides: object) -> requests.Response:
    params = {"api-version": "2019-08-01", "resource": "https://management.azure.com/"}
    headers = {"X-IDENTITY-HEADER": emu.identity_header}
    params.update({k: v for k, v in overrides.items() if k != "header"})  # type: ignore[misc]
    if "header" in overrides:
        headers = {"X-IDENTITY-HEADER": str(overrides["header"])}
    return requests.get(emu.identity_endpoint, params=params, headers=headers, timeout=5)


def test_identity_endpoint(emu: EmulatorHandle) -> None:
    body = token_request(emu).json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type"}
    assert body["access_token"] == emu.token
    assert body["token_type"] == "Bearer"
    assert body["resource"] == "https://management.azure.com/"
    assert int(body["expires_on"]) > time.time() + 3600


def test_identity_endpoint_errors(emu: EmulatorHandle) -> None:
    assert token_request(emu, header="wrong").status_code == 401
    assert token_request(emu, **{"api-version": "2017-09-01"}).status_code == 400
    assert token_request(emu, resource="").status_code == 400


def test_azure_identity_managed_identity_login(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = pytest.importorskip("azure.identity")
    for name, value in emu.sdk_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MSI_ENDPOINT", raising=False)
    monkeypatch.delenv("MSI_SECRET", raising=False)
    credential = identity.ManagedIdentityCredential()
    token = credential.get_token("https://management.azure.com/.default")
    assert token.token == emu.token
    assert token.expires_on > time.time()
    assert any(r.path == "/msi/token" for r in emu.request_log)
