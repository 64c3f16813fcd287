"""ARM's outer layer: bearer token, api-version, case-insensitive routes and the 404 bodies."""

from __future__ import annotations

import uuid

import pytest
import requests
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle

JOB_PATH = "/backupJobs"


def test_missing_token_is_401_with_arm_body(emu: EmulatorHandle, api: Api) -> None:
    response = requests.get(api.url(JOB_PATH), params={"api-version": "2026-10-01"}, timeout=5)
    assert response.status_code == 401
    assert error_code(response) == "InvalidAuthenticationToken"
    assert "missing 'Authorization' header" in response.json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize("value", ["Bearer wrong", "Basic dXNlcjpwYXNz", "Bearer", ""])
def test_wrong_token_is_401(api: Api, value: str) -> None:
    response = requests.get(
        api.url(JOB_PATH),
        params={"api-version": "2026-10-01"},
        headers={"Authorization": value},
        timeout=5,
    )
    assert response.status_code == 401
    assert error_code(response) == "InvalidAuthenticationToken"


def test_token_is_checked_before_anything_else(api: Api) -> None:
    response = requests.get(api.emu.url + "/nowhere", timeout=5)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "version",
    [
        "2016-12-01",
        "2017-07-01",
        "2019-05-13",
        "2019-06-15",
        "2023-04-01",
        "2026-02-01",
        "2026-08-01",
        "2026-10-01",
        "2021-11-15",
        "2019-05-13-preview",
        "2024-04-30-preview",
    ],
)
def test_known_api_versions(api: Api, version: str) -> None:
    assert api.get(JOB_PATH, api_version=version).status_code == 200


@pytest.mark.parametrize("version", ["2016-06-01", "2099-01-01", "2026-10-01-preview", "x"])
def test_unknown_api_version_is_400_listing_the_supported_ones(api: Api, version: str) -> None:
    response = api.get(JOB_PATH, api_version=version)
    assert response.status_code == 400
    assert error_code(response) == "InvalidApiVersionParameter"
    message = response.json()["error"]["message"]
    assert message.startswith(
        f"The api-version '{version}' is invalid. The supported versions are '"
    )
    assert "2026-10-01" in message and "2016-12-01" in message and "2019-05-13-preview" in message


def test_missing_api_version(api: Api) -> None:
    response = api.get(JOB_PATH, api_version=None)
    assert response.status_code == 400
    assert error_code(response) == "MissingApiVersionParameter"


def test_routes_are_case_insensitive(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.job_ids()[0]
    path = (
        f"/Subscriptions/{emu.subscription.upper()}/resourcegroups/{emu.resource_group.upper()}"
        f"/providers/microsoft.recoveryservices/VAULTS/{emu.vault.upper()}/BACKUPJOBS/{job_id.upper()}"
    )
    response = api.get(path)
    assert response.status_code == 200
    assert response.json()["name"] == job_id
    assert api.get(path.rsplit("/", 2)[0] + "/backupjobs").status_code == 200


def test_query_keys_are_case_insensitive(api: Api) -> None:
    response = api.session.get(
        api.url(JOB_PATH) + "?API-VERSION=2026-10-01&$FILTER=status%20eq%20%27Failed%27",
        timeout=5,
    )
    assert response.status_code == 200
    assert {i["properties"]["status"] for i in response.json()["value"]} == {"Failed"}


def test_subscription_not_found(api: Api) -> None:
    other = str(uuid.uuid4())
    response = api.get(api.vault_path(subscription=other) + JOB_PATH)
    assert response.status_code == 404
    assert error_code(response) == "SubscriptionNotFound"
    assert other in response.json()["error"]["message"]


def test_malformed_subscription(api: Api) -> None:
    response = api.get(api.vault_path(subscription="my-sub") + JOB_PATH)
    assert response.status_code == 400
    assert error_code(response) == "InvalidSubscriptionId"


def test_resource_group_not_found(api: Api) -> None:
    response = api.get(api.vault_path(resource_group="nope-rg") + JOB_PATH)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "ResourceGroupNotFound",
            "message": "Resource group 'nope-rg' could not be found.",
        }
    }


def test_vault_not_found(api: Api, emu: EmulatorHandle) -> None:
    response = api.get(api.vault_path(vault="other-vault") + JOB_PATH)
    assert response.status_code == 404
    assert error_code(response) == "ResourceNotFound"
    assert response.json()["error"]["message"].startswith(
        "The Resource 'Microsoft.RecoveryServices/vaults/other-vault' under resource group "
        f"'{emu.resource_group}' was not found."
    )


def test_job_not_found(api: Api) -> None:
    response = api.get(f"{JOB_PATH}/{uuid.uuid4()}")
    assert response.status_code == 404
    assert error_code(response) == "BMSUserErrorJobNotFound"


def test_non_guid_job_name_is_400(api: Api) -> None:
    response = api.get(f"{JOB_PATH}/not-a-job")
    assert response.status_code == 400
    assert error_code(response) == "BMSUserErrorInvalidInput"


def test_a_job_that_has_not_started_yet_is_not_there(api: Api, emu: EmulatorHandle) -> None:
    job_id = emu.add_job(entity="later", start_offset=60)
    assert api.get(f"{JOB_PATH}/{job_id}").status_code == 404
    assert job_id not in {i["name"] for i in api.list_all()}
    emu.advance(61)
    assert api.get(f"{JOB_PATH}/{job_id}").status_code == 200


def test_unknown_routes_are_404_arm_bodies(api: Api) -> None:
    for path in ("/backupPolicies", "/backupJobs/a/b/c/d/e", "/subscriptions/x/resourceGroups"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert error_code(response) == "NotFound"


def test_wrong_method_is_405(api: Api, emu: EmulatorHandle) -> None:
    response = api.request("DELETE", f"{JOB_PATH}/{emu.job_ids()[0]}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert api.post(JOB_PATH).status_code == 405


def test_vault_resource(api: Api, emu: EmulatorHandle) -> None:
    response = api.get("")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == emu.vault
    assert body["type"] == "Microsoft.RecoveryServices/vaults"
    assert body["id"] == api.vault_path()


def test_other_vaults_and_subscriptions(api: Api, emu: EmulatorHandle) -> None:
    other_sub = str(uuid.uuid4())
    job_id = emu.add_job(subscription=other_sub, resource_group="rg2", vault="vault2", entity="x")
    emu.add_vault(subscription=other_sub, resource_group="rg2", vault="empty-vault")
    path = api.vault_path(other_sub, "rg2", "vault2")
    assert [i["name"] for i in api.list_all_at(path)] == [job_id]
    body = api.get(f"{path}/backupJobs/{job_id}").json()
    assert body["id"].startswith(f"/subscriptions/{other_sub}/resourceGroups/rg2/")
    assert api.get(api.vault_path(other_sub, "rg2", "empty-vault") + JOB_PATH).json() == {
        "value": []
    }
    # The job lives in its own vault only.
    assert api.get(f"{JOB_PATH}/{job_id}").status_code == 404


def test_common_headers(api: Api) -> None:
    response = api.get(JOB_PATH, headers={"x-ms-client-request-id": "abc-123"})
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["x-ms-client-request-id"] == "abc-123"
    assert response.headers["x-ms-request-id"]
    assert int(response.headers["x-ms-ratelimit-remaining-subscription-resource-requests"]) <= 449
    assert int(response.headers["Content-Length"]) == len(response.content)
    # Compact JSON, as the service sends.
    assert b'": ' not in response.content and b", " not in response.content[:200]
