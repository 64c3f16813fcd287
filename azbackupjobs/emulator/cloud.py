"""The two endpoints that let real Azure tooling talk to the emulator without Azure AD.

* ``GET /metadata/endpoints`` is ARM's cloud metadata document, with ``resourceManager`` (and the
  login endpoint and first audience) pointing at the emulator, in the shape ARM serves for the
  requested api-version: the current cloud as one object from 2022-09-01 on (what
  ``az cloud register --endpoint-resource-manager`` asks for and reads), a list of clouds for
  2019-05-01 up to 2022-09-01 (what ``ARM_CLOUD_METADATA_URL`` readers such as the az CLI and
  Az PowerShell expect), and the old single-cloud object of 2015-01-01 before that.
* ``GET /msi/token`` answers like App Service's managed-identity endpoint (``IDENTITY_ENDPOINT``
  and ``IDENTITY_HEADER``, api-version 2019-08-01) with a JWT-shaped token (see ``tokens``), so
  azure-identity's ManagedIdentityCredential / DefaultAzureCredential and
  ``az login --identity`` can sign in.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from .replies import Reply, json_reply
from .tokens import IssuedToken

CLOUD_NAME = "AzJobsEmulator"
MSI_PATH = "/msi/token"
MSI_API_VERSION = "2019-08-01"
# The api-version whose document is a list of clouds, and the one that made it a single cloud.
METADATA_LIST_VERSION = "2019-05-01"
METADATA_CLOUD_VERSION = "2022-09-01"


def cloud_entry(base_url: str) -> dict[str, Any]:
    """The emulator as one cloud, in the key set of ARM's current metadata."""
    root = base_url.rstrip("/") + "/"
    audiences = [root, "https://management.core.windows.net/", "https://management.azure.com/"]
    return {
        "portal": root,
        "authentication": {
            "loginEndpoint": root,
            "audiences": audiences,
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": root,
        "graphAudience": root,
        "graph": root,
        "name": CLOUD_NAME,
        "suffixes": {
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
        },
        "batch": root,
        "resourceManager": root,
        "vmImageAliasDoc": root + "metadata/aliases.json",
        "activeDirectoryDataLake": root,
        "sqlManagement": root,
        "gallery": root,
        "microsoftGraphResourceId": root,
    }


def metadata_document(base_url: str, api_version: str | None) -> Any:
    """The document for ``api_version``: one cloud, a list of clouds, or the 2015 object."""
    day = (api_version or "").strip()[:10]
    if day >= METADATA_CLOUD_VERSION:
        return cloud_entry(base_url)
    if day >= METADATA_LIST_VERSION:
        return [cloud_entry(base_url)]
    root = base_url.rstrip("/") + "/"
    audiences = [root, "https://management.core.windows.net/", "https://management.azure.com/"]
    return {
        "galleryEndpoint": root,
        "graphEndpoint": root,
        "portalEndpoint": root,
        "graphAudience": root,
        "authentication": {"loginEndpoint": root, "audiences": audiences},
    }


def identity_token(
    *,
    header: str | None,
    expected_header: str,
    resource: str | None,
    api_version: str | None,
    client_id: str | None,
    issue: Callable[[str, str | None], IssuedToken],
) -> Reply:
    """App Service's managed-identity answer; its errors are not ARM-shaped either.

    ``issue(resource, client_id)`` makes the token.
    """
    if header is None or not hmac.compare_digest(header.encode(), expected_header.encode()):
        return json_reply(
            401, {"statusCode": 401, "message": "Missing or invalid X-IDENTITY-HEADER header."}
        )
    if api_version != MSI_API_VERSION:
        return json_reply(
            400,
            {"statusCode": 400, "message": f"Unsupported api-version; use {MSI_API_VERSION}."},
        )
    if not resource:
        return json_reply(
            400, {"statusCode": 400, "message": "The 'resource' query parameter is required."}
        )
    issued = issue(resource, client_id)
    body: dict[str, Any] = {
        "access_token": issued.token,
        "expires_on": str(issued.expires_on),
        "resource": resource,
        "token_type": "Bearer",
    }
    if client_id:
        body["client_id"] = client_id
    return json_reply(200, body)
