"""The two endpoints that let real Azure tooling talk to the emulator without Azure AD.

* ``GET /metadata/endpoints`` is ARM's cloud metadata document, with ``resourceManager`` (and the
  login endpoint) pointing at the emulator, so ``az cloud register`` and ``ARM_CLOUD_METADATA_URL``
  can define an "emulator cloud".
* ``GET /msi/token`` answers like App Service's managed-identity endpoint (``IDENTITY_ENDPOINT``
  and ``IDENTITY_HEADER``, api-version 2019-08-01), so azure-identity's
  ManagedIdentityCredential / DefaultAzureCredential and ``az login --identity`` get the
  emulator's token.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from .replies import Reply, json_reply

CLOUD_NAME = "AzJobsEmulator"
MSI_PATH = "/msi/token"
MSI_API_VERSION = "2019-08-01"
# Tokens from the identity endpoint last a day, like App Service's.
TOKEN_LIFETIME_SECONDS = 86_400


def metadata_document(base_url: str, api_version: str | None) -> Any:
    """The list form (api-version 2022-09-01 and later), or the single-cloud object of older
    versions that ``az cloud register --endpoint-resource-manager`` reads."""
    root = base_url.rstrip("/") + "/"
    audiences = [root, "https://management.core.windows.net/", "https://management.azure.com/"]
    if api_version is not None and api_version[:10] >= "2022-09-01":
        return [
            {
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
        ]
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
    token: str,
    client_id: str | None,
) -> Reply:
    """App Service's managed-identity answer; its errors are not ARM-shaped either."""
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
    body: dict[str, Any] = {
        "access_token": token,
        "expires_on": str(int(time.time()) + TOKEN_LIFETIME_SECONDS),
        "resource": resource,
        "token_type": "Bearer",
    }
    if client_id:
        body["client_id"] = client_id
    return json_reply(200, body)
