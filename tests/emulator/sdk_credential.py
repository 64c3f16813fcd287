"""A TokenCredential for driving the official Azure SDKs against the emulator."""

from __future__ import annotations

import time
from typing import Any

from azure.core import credentials


class EmulatorCredential:
    """Hands out the emulator's token (the SDKs only need get_token / get_token_info)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return credentials.AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        return credentials.AccessTokenInfo(self._token, int(time.time()) + 3600)
