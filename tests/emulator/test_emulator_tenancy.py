"""/subscriptions, /subscriptions/{id} and /tenants, what ``az login --identity`` reads."""

from __future__ import annotations

import pytest
import requests
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle

RESOURCES_VERSION = "2022-12-01"  # what the az CLI sends


def get(api: Api, path: str, version: str | None = RESOURCES_VERSION) -> requests.Response:
    return api.get(api.emu.url + path, api_version=version)


def test_subscriptions_list(api: Api, emu: EmulatorHandle) -> None:
    response = get(api, "/subscriptions")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == {"type": "Total", "value": 1}
    (sub,) = body["value"]
    assert sub["id"] == f"/subscriptions/{emu.subscription}"
    assert sub["subscriptionId"] == emu.subscription
    assert sub["tenantId"] == emu.tenant
    assert sub["state"] == "Enabled"
    assert sub["displayName"]
    assert sub["managedByTenants"] == []
    assert set(sub["subscriptionPolicies"]) == {"locationPlacementId", "quotaId", "spendingLimit"}


def test_subscriptions_of_added_vaults_are_listed_after_the_default(
    api: Api, emu: EmulatorHandle
) -> None:
    other = "00000000-aaaa-4bbb-8ccc-000000000001"
    emu.add_job(entity="vm9", subscription=other, resource_group="rg9", vault="v9")
    ids = [s["subscriptionId"] for s in get(api, "/subscriptions").json()["value"]]
    assert ids == [emu.subscription, other]
    assert get(api, f"/subscriptions/{other.upper()}").json()["subscriptionId"] == other


def test_subscription_get(api: Api, emu: EmulatorHandle) -> None:
    response = get(api, f"/Subscriptions/{emu.subscription}")
    assert response.status_code == 200
    assert response.json()["subscriptionId"] == emu.subscription
    unknown = get(api, "/subscriptions/00000000-0000-0000-0000-000000000000")
    assert (unknown.status_code, error_code(unknown)) == (404, "SubscriptionNotFound")
    malformed = get(api, "/subscriptions/not-a-guid")
    assert (malformed.status_code, error_code(malformed)) == (400, "InvalidSubscriptionId")


def test_tenants_list(api: Api, emu: EmulatorHandle) -> None:
    body = get(api, "/tenants", version="2020-01-01").json()
    (tenant,) = body["value"]
    assert tenant["tenantId"] == emu.tenant
    assert tenant["id"] == f"/tenants/{emu.tenant}"
    assert tenant["defaultDomain"] in tenant["domains"]
    assert tenant["tenantCategory"] == "Home"


@pytest.mark.parametrize("path", ["/subscriptions", "/tenants", "/subscriptions/SUB"])
def test_resources_api_versions(api: Api, path: str) -> None:
    path = path.replace("SUB", api.emu.subscription)
    wrong = get(api, path, version="2026-10-01")  # a Backup version, not a Resources one
    assert (wrong.status_code, error_code(wrong)) == (400, "InvalidApiVersionParameter")
    assert "2022-12-01" in wrong.json()["error"]["message"]
    missing = get(api, path, version=None)
    assert (missing.status_code, error_code(missing)) == (400, "MissingApiVersionParameter")


def test_tenancy_routes_need_a_token_and_get(api: Api, emu: EmulatorHandle) -> None:
    anonymous = requests.get(
        f"{emu.url}/subscriptions", params={"api-version": RESOURCES_VERSION}, timeout=5
    )
    assert anonymous.status_code == 401
    posted = api.post(emu.url + "/subscriptions", api_version=RESOURCES_VERSION)
    assert posted.status_code == 405


def test_an_issued_token_lists_subscriptions(api: Api, emu: EmulatorHandle) -> None:
    token = requests.get(
        emu.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": emu.url + "/"},
        headers={"X-IDENTITY-HEADER": emu.identity_header},
        timeout=5,
    ).json()["access_token"]
    api.session.headers["Authorization"] = f"Bearer {token}"
    assert get(api, "/subscriptions").json()["value"][0]["tenantId"] == emu.tenant
