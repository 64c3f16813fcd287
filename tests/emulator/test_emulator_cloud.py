"""Cloud metadata and the managed-identity endpoint that let Azure tooling log in locally."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from typing import Any

import pytest
import requests

from azbackupjobs.arm.auth import jwt_expiry, token_claims
from azbackupjobs.emulator import EmulatorHandle, serve

CLOUD_KEYS = {
    "portal",
    "authentication",
    "name",
    "suffixes",
    "resourceManager",
    "sqlManagement",
    "batch",
    "gallery",
    "graphAudience",
    "media",
    "vmImageAliasDoc",
    "activeDirectoryDataLake",
    "microsoftGraphResourceId",
}


def metadata(emu: EmulatorHandle, api_version: str | None, prefix: str = "") -> Any:
    params = {"api-version": api_version} if api_version else {}
    response = requests.get(f"{emu.url}{prefix}/metadata/endpoints", params=params, timeout=5)
    assert response.status_code == 200
    return response.json()


def assert_emulator_cloud(cloud: dict[str, Any], emu: EmulatorHandle) -> None:
    assert set(cloud) >= CLOUD_KEYS
    assert cloud["name"] == "AzJobsEmulator"
    assert cloud["resourceManager"] == emu.url + "/"
    auth = cloud["authentication"]
    # The az CLI takes the first audience as the token resource, the login endpoint as authority.
    assert auth["audiences"][0] == emu.url + "/"
    assert "https://management.azure.com/" in auth["audiences"]
    assert auth["loginEndpoint"] == emu.url + "/"


@pytest.mark.parametrize("version", ["2022-09-01", "2023-11-01"])
def test_metadata_current_form_is_one_cloud(emu: EmulatorHandle, version: str) -> None:
    # What `az cloud register --endpoint-resource-manager URL` fetches and reads as one cloud.
    cloud = metadata(emu, version)
    assert isinstance(cloud, dict)
    assert_emulator_cloud(cloud, emu)


def test_metadata_discovery_from_an_endpoint_with_a_trailing_slash(emu: EmulatorHandle) -> None:
    # az appends "/metadata/endpoints" to the endpoint as given: "https://host:port//metadata/..."
    assert_emulator_cloud(metadata(emu, "2022-09-01", prefix="/"), emu)


@pytest.mark.parametrize("version", ["2019-05-01", "2020-06-01", "2022-01-01"])
def test_metadata_list_form(emu: EmulatorHandle, version: str) -> None:
    (cloud,) = metadata(emu, version)
    assert_emulator_cloud(cloud, emu)


def test_metadata_url_is_the_list_form(emu: EmulatorHandle) -> None:
    # ARM_CLOUD_METADATA_URL readers (az, Az PowerShell) iterate a list of clouds.
    assert "api-version=2019-05-01" in emu.metadata_url
    body = requests.get(emu.metadata_url, timeout=5).json()
    assert isinstance(body, list) and body[0]["name"] == "AzJobsEmulator"
    assert emu.sdk_env()["ARM_CLOUD_METADATA_URL"] == emu.metadata_url


@pytest.mark.parametrize("version", ["2015-01-01", None])
def test_metadata_old_single_cloud_form(emu: EmulatorHandle, version: str | None) -> None:
    body = metadata(emu, version)
    assert body["authentication"]["audiences"][0] == emu.url + "/"
    assert set(body) >= {"galleryEndpoint", "graphEndpoint", "portalEndpoint", "authentication"}


# ----- the managed-identity endpoint ------------------------------------------------------------
def token_request(emu: EmulatorHandle, **overrides: object) -> requests.Response:
    params = {"api-version": "2019-08-01", "resource": "https://management.azure.com/"}
    headers = {"X-IDENTITY-HEADER": emu.identity_header}
    params.update({k: v for k, v in overrides.items() if k != "header"})  # type: ignore[misc]
    if "header" in overrides:
        headers = {"X-IDENTITY-HEADER": str(overrides["header"])}
    return requests.get(emu.identity_endpoint, params=params, headers=headers, timeout=5)


def b64json(part: str) -> Any:
    assert "=" not in part and "+" not in part and "/" not in part  # base64url, unpadded
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_identity_endpoint_issues_a_jwt(emu: EmulatorHandle) -> None:
    before = int(time.time())
    body = token_request(emu).json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type"}
    assert body["token_type"] == "Bearer"
    assert body["resource"] == "https://management.azure.com/"
    token = body["access_token"]
    assert token != emu.token
    header_part, payload_part, signature = token.split(".")
    assert signature
    header, claims = b64json(header_part), b64json(payload_part)
    assert header["typ"] == "JWT" and header["alg"]
    assert claims["aud"] == "https://management.azure.com/"
    assert claims["tid"] == emu.tenant
    assert len(claims["oid"]) == 36 and claims["oid"] == claims["sub"]
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == int(body["expires_on"]) >= claims["iat"] + 3600
    # azjobs reads the same claims when it plans renewal and names the tenant.
    assert jwt_expiry(token) == claims["exp"]
    assert token_claims(token)["tid"] == emu.tenant


def test_identity_endpoint_echoes_the_client_id(emu: EmulatorHandle) -> None:
    client_id = "11111111-2222-3333-4444-555555555555"
    body = token_request(emu, client_id=client_id).json()
    assert body["client_id"] == client_id
    assert b64json(body["access_token"].split(".")[1])["appid"] == client_id


def test_identity_endpoint_errors(emu: EmulatorHandle) -> None:
    assert token_request(emu, header="wrong").status_code == 401
    assert token_request(emu, **{"api-version": "2017-09-01"}).status_code == 400
    assert token_request(emu, resource="").status_code == 400


def test_azure_identity_managed_identity_login(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure import identity

    for name, value in emu.sdk_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MSI_ENDPOINT", raising=False)
    monkeypatch.delenv("MSI_SECRET", raising=False)
    credential = identity.ManagedIdentityCredential()
    token = credential.get_token("https://management.azure.com/.default")
    assert token.token.count(".") == 2
    assert token.expires_on == jwt_expiry(token.token)
    assert token.expires_on > time.time()
    assert any(r.path == "/msi/token" for r in emu.request_log)
    response = requests.get(
        f"{emu.url}/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{emu.vault}/backupJobs",
        params={"api-version": "2026-10-01"},
        headers={"Authorization": f"Bearer {token.token}"},
        timeout=5,
    )
    assert response.status_code == 200


def test_banner_shows_how_to_register_the_az_cli() -> None:
    stop = threading.Event()
    stop.set()  # serve() prints its banner, then stops at once
    out, err = io.StringIO(), io.StringIO()
    assert serve(port=0, out=out, err=err, stop=stop, tls=True) == 0
    banner = err.getvalue()
    assert "export ARM_CLOUD_METADATA_URL='https://127.0.0.1:" in banner
    register = "az cloud register -n AzJobsEmulator --endpoint-resource-manager https://127.0.0.1:"
    assert register in banner
    assert "az login --identity" in banner
    assert "http://" not in banner
    assert "az " not in out.getvalue()  # stdout carries the environment file only


def test_banner_without_tls_says_the_az_cli_needs_it() -> None:
    stop = threading.Event()
    stop.set()
    out, err = io.StringIO(), io.StringIO()
    assert serve(port=0, out=out, err=err, stop=stop) == 0
    banner = err.getvalue()
    assert "--tls" in banner and "https only" in banner
    assert "az cloud register" not in banner and "ARM_CLOUD_METADATA_URL" not in banner
