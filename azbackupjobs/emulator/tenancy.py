"""``GET /subscriptions``, ``/subscriptions/{id}`` and ``/tenants``: who the caller can see.

``az login --identity`` lists the subscriptions the identity can read right after getting its
token (and keeps only those that are ``Enabled``), and fails with "No subscriptions found" when
there are none; a user login lists ``/tenants`` first. The emulator's subscriptions are the ones
holding its vaults, all in one tenant. These routes are ``Microsoft.Resources``, with that
provider's api-versions, not the Backup ones.
"""

from __future__ import annotations

from typing import Any, Final

from .api_versions import ApiVersions
from .core import GUID_RE
from .defaults import DEFAULT_SUBSCRIPTION, DEFAULT_TENANT
from .replies import ServiceError
from .state import EmulatorState

ROUTES: Final = frozenset({"subscriptions", "subscription", "tenants"})
# Microsoft.Resources api-versions (the az CLI sends 2022-12-01, Az PowerShell 2021-01-01 and
# 2020-01-01, Terraform 2020-01-01 and 2022-12-01).
API_VERSIONS: Final = (
    "2025-04-01", "2025-03-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01",
    "2022-12-01", "2022-09-01", "2022-01-01", "2021-04-01", "2021-01-01", "2020-10-01",
    "2020-08-01", "2020-06-01", "2020-01-01", "2019-11-01", "2019-10-01", "2019-08-01",
    "2019-07-01", "2019-06-01", "2019-05-10", "2019-05-01", "2019-03-01", "2018-08-01",
    "2018-07-01", "2018-06-01", "2018-05-01", "2018-02-01", "2017-08-01", "2017-05-10",
    "2016-09-01", "2016-07-01", "2016-06-01", "2016-02-01", "2015-11-01", "2015-01-01",
    "2014-04-01-preview", "2014-04-01",
)  # fmt: skip
RESOURCES: Final = ApiVersions(API_VERSIONS)
DISPLAY_NAME: Final = "azjobs emulator"
TENANT_DOMAIN: Final = "azjobs-emulator.invalid"


def subscription_ids(state: EmulatorState) -> list[str]:
    """Every subscription that holds a vault, the default one first, each once."""
    seen: dict[str, str] = {}
    with state.lock:
        for vs in state.all_vaults():
            seen.setdefault(vs.subscription.lower(), vs.subscription)
    return sorted(seen.values(), key=lambda s: (s.lower() != DEFAULT_SUBSCRIPTION, s.lower()))


def subscription_body(subscription: str) -> dict[str, Any]:
    name = DISPLAY_NAME
    if subscription.lower() != DEFAULT_SUBSCRIPTION:
        name = f"{DISPLAY_NAME} {subscription[:8].lower()}"
    return {
        "id": f"/subscriptions/{subscription}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription,
        "tenantId": DEFAULT_TENANT,
        "displayName": name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def list_subscriptions(state: EmulatorState) -> dict[str, Any]:
    values = [subscription_body(s) for s in subscription_ids(state)]
    return {"value": values, "count": {"type": "Total", "value": len(values)}}


def get_subscription(state: EmulatorState, subscription: str) -> dict[str, Any]:
    """The subscription, or ARM's 400 for a malformed id and 404 for an unknown one."""
    if not GUID_RE.match(subscription):
        raise ServiceError(
            400,
            "InvalidSubscriptionId",
            f"The provided subscription identifier '{subscription}' is malformed or invalid.",
        )
    for known in subscription_ids(state):
        if known.lower() == subscription.lower():
            return subscription_body(known)
    raise ServiceError(
        404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found."
    )


def list_tenants() -> dict[str, Any]:
    tenant = {
        "id": f"/tenants/{DEFAULT_TENANT}",
        "tenantId": DEFAULT_TENANT,
        "countryCode": "NL",
        "displayName": DISPLAY_NAME,
        "domains": [TENANT_DOMAIN],
        "tenantCategory": "Home",
        "defaultDomain": TENANT_DOMAIN,
        "tenantType": "AAD",
    }
    return {"value": [tenant], "count": {"type": "Total", "value": 1}}
