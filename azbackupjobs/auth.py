"""Bearer tokens for ARM.

``AZJOBS_ACCESS_TOKEN`` wins (a token the user already has); otherwise azure-identity's
``DefaultAzureCredential`` without interactive login. azure-identity is imported only here and
only when needed: it costs ~200 ms to import. A token is fetched once and reused until five
minutes before it expires. Tokens never appear in reprs, logs or messages.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from azbackupjobs.errors import AuthError

REFRESH_MARGIN_SECONDS = 300.0
AUTH_HINT = "run `az login`, or set AZJOBS_ACCESS_TOKEN (e.g. from `az account get-access-token`)"


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_on: float | None  # epoch seconds; None when unknown

    def __repr__(self) -> str:
        return f"AccessToken(token=<redacted>, expires_on={self.expires_on!r})"


class TokenProvider(Protocol):
    def get(self) -> AccessToken: ...

    def invalidate(self) -> bool:
        """Forget a cached token; True when a fresh one may differ (worth one retry)."""
        ...

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never be printed (for redaction)."""
        ...


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it (only to plan renewal)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


class StaticTokenProvider:
    """A token given by the user; it cannot be renewed, so an expiry is an auth error."""

    def __init__(self, token: str) -> None:
        self._token = AccessToken(token.strip(), jwt_expiry(token.strip()))

    def get(self) -> AccessToken:
        return self._token

    def invalidate(self) -> bool:
        return False

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._token.token,)


class CredentialTokenProvider:
    """Wraps an azure-identity credential; caches the token until near expiry."""

    def __init__(
        self,
        scope: str,
        credential_factory: Callable[[], object],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._scope = scope
        self._factory = credential_factory
        self._credential: object | None = None
        self._cached: AccessToken | None = None
        self._clock = clock
        self._seen: list[str] = []

    def get(self) -> AccessToken:
        cached = self._cached
        now = self._clock()
        if cached is not None and (
            cached.expires_on is None or cached.expires_on - REFRESH_MARGIN_SECONDS > now
        ):
            return cached
        self._cached = self._fetch()
        self._seen.append(self._cached.token)
        return self._cached

    def invalidate(self) -> bool:
        self._cached = None
        return True

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._seen)

    def _fetch(self) -> AccessToken:
        try:
            if self._credential is None:
                self._credential = self._factory()
            result = self._credential.get_token(self._scope)  # type: ignore[attr-defined]
        except AuthError:
            raise
        except ImportError as exc:
            raise AuthError(f"azure-identity is not available ({exc})", hint=AUTH_HINT) from None
        except Exception as exc:  # azure-identity raises several unrelated types
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise AuthError(
                f"no Azure credential available: {first_line[:300]}", hint=AUTH_HINT
            ) from None
        return AccessToken(str(result.token), float(result.expires_on))


def default_credential_factory(authority: str) -> Callable[[], object]:
    def build() -> object:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(
            authority=authority, exclude_interactive_browser_credential=True
        )

    return build


def provider_from_environment(
    env: Mapping[str, str], scope: str, authority: str
) -> TokenProvider:
    token = env.get("AZJOBS_ACCESS_TOKEN", "").strip()
    if token:
        if any(ch.isspace() or not ch.isprintable() for ch in token):
            from azbackupjobs.errors import UsageError

            raise UsageError("AZJOBS_ACCESS_TOKEN holds spaces or control characters")
        return StaticTokenProvider(token)
    return CredentialTokenProvider(scope, default_credential_factory(authority))
