"""A small ARM client for the emulator tests (shared by the test modules and conftest)."""

from __future__ import annotations

from typing import Any

import requests

from azbackupjobs.emulator import EmulatorHandle

API_VERSION = "2026-10-01"


class Api:
    """requests against one emulator vault, with the token and api-version filled in."""

    def __init__(self, emu: EmulatorHandle) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {emu.token}"
        # requests lets REQUESTS_CA_BUNDLE from the environment override session.verify.
        self.session.trust_env = False
        if emu.ca_bundle:
            self.session.verify = emu.ca_bundle

    def vault_path(
        self,
        subscription: str | None = None,
        resource_group: str | None = None,
        vault: str | None = None,
    ) -> str:
        return (
            f"/subscriptions/{subscription or self.emu.subscription}"
            f"/resourceGroups/{resource_group or self.emu.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{vault or self.emu.vault}"
        )

    def url(self, path: str) -> str:
        if path.startswith("http"):
            return path
        if not path.startswith("/subscriptions") and not path.startswith("/Subscriptions"):
            path = self.vault_path() + path
        return self.emu.url + path

    def request(
        self, method: str, path: str, *, api_version: str | None = API_VERSION, **kwargs: Any
    ) -> requests.Response:
        params = dict(kwargs.pop("params", {}) or {})
        if api_version is not None and "api-version=" not in path:
            params.setdefault("api-version", api_version)
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url(path), params=params, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def job(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
        response = self.get(f"/backupJobs/{job_id}", **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def list_all(self, filter_text: str | None = None) -> list[dict[str, Any]]:
        """Every job of the default vault, following nextLink."""
        return self.list_all_at(self.vault_path(), filter_text)

    def list_all_at(self, vault_path: str, filter_text: str | None = None) -> list[dict[str, Any]]:
        params = {"$filter": filter_text} if filter_text else {}
        response = self.get(vault_path + "/backupJobs", params=params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["value"]
        next_link = response.json().get("nextLink")
        while next_link:
            response = self.session.get(next_link, timeout=10)
            assert response.status_code == 200, response.text
            items += response.json()["value"]
            next_link = response.json().get("nextLink")
        return items


def error_code(response: requests.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code
