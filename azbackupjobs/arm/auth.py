"""Bearer tokens for ARM.

``AZJOBS_ACCESS_TOKEN`` wins (a token the user already has); otherwise azure-identity's
``DefaultAzureCredential`` without interactive login. azure-identity is imported only here and
only when needed: it costs ~200 ms to import. A token is fetched once and reused until five
minutes before it expires. Tokens never appear in reprs, logs or messages.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from azbackupjobs.model.errors import AuthError

if TYPE_CHECKING:
    from azbackupjobs.arm.token_cache import TokenCache

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

    def invalidate(self, claims: str | None = None) -> bool:
        """Forget a refused token; True when a fresh one may differ (worth one retry).
        ``claims``: the claims challenge of the 401 (continuous access evaluation)."""
        ...

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never be printed (for redaction)."""
        ...


def token_claims(token: str) -> dict[str, object]:
    """The claims of a JWT, read without verifying it (only to plan renewal and name a tenant)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


_CLAIMS_PARAMETER = re.compile(r'\bclaims="([^"]*)"', re.IGNORECASE)


def claims_challenge(www_authenticate: str | None) -> str | None:
    """The claims a 401 asks for (``WWW-Authenticate: Bearer ... claims="<base64 JSON>"``,
    continuous access evaluation), decoded; None when there is none or it is unreadable."""
    match = _CLAIMS_PARAMETER.search(www_authenticate or "")
    if match is None or not match.group(1):
        return None
    encoded = match.group(1)
    try:
        decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
        json.loads(decoded)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it (only to plan renewal)."""
    exp = token_claims(token).get("exp")
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


class StaticTokenProvider:
    """A token given by the user; it cannot be renewed, so an expiry is an auth error."""

    def __init__(self, token: str) -> None:
        self._token = AccessToken(token.strip(), jwt_expiry(token.strip()))

    def get(self) -> AccessToken:
        return self._token

    def invalidate(self, claims: str | None = None) -> bool:
        return False

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._token.token,)


class CredentialTokenProvider:
    """Wraps an azure-identity credential; caches the token until near expiry.

    A refused token (``invalidate``) is really renewed: the credential object is dropped and a
    new one built for the next token, since a credential keeps its own cache (MSAL's) and would
    hand back the very token the service refused; a claims challenge goes with that request.
    """

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
        self._claims: str | None = None

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

    def invalidate(self, claims: str | None = None) -> bool:
        self._cached = None
        self._credential = None
        self._claims = claims
        return True

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._seen)

    def _fetch(self) -> AccessToken:
        claims, self._claims = self._claims, None
        try:
            if self._credential is None:
                self._credential = self._factory()
            get_token = self._credential.get_token  # type: ignore[attr-defined]
            result = get_token(self._scope, claims=claims) if claims else get_token(self._scope)
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
        # azure-identity logs each failed credential as a multi-line WARNING; with no logging
        # configured Python prints that to stderr, ahead of our own one-line error.
        import logging

        logging.getLogger("azure").addHandler(logging.NullHandler())
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(
            authority=authority, exclude_interactive_browser_credential=True
        )

    return build


def provider_from_environment(env: Mapping[str, str], scope: str, authority: str) -> TokenProvider:
    token = env.get("AZJOBS_ACCESS_TOKEN", "").strip()
    if token:
        # Tokens are ASCII (a JWT is base64url); anything else cannot go into an HTTP header.
        if any(ch.isspace() or not ch.isprintable() or not ch.isascii() for ch in token):
            from azbackupjobs.model.errors import UsageError

            raise UsageError(
                "AZJOBS_ACCESS_TOKEN holds spaces, control characters or "
                "characters that are not ASCII"
            )
        return StaticTokenProvider(token)
    return CredentialTokenProvider(scope, default_credential_factory(authority))


# ----- credential selection (--auth / AZJOBS_AUTH) and the on-disk token cache ------------------
AUTH_MODES = ("default", "cli", "managed-identity", "env", "token")
AUTH_VARIABLE = "AZJOBS_AUTH"
TOKEN_CREDENTIALS_VARIABLE = "AZURE_TOKEN_CREDENTIALS"  # noqa: S105 - a variable name
# DefaultAzureCredential's credential families, by the names AZURE_TOKEN_CREDENTIALS accepts.
_DAC_FAMILIES = {
    "environment": "environmentcredential",
    "workload_identity": "workloadidentitycredential",
    "managed_identity": "managedidentitycredential",
    "shared_token_cache": None,
    "visual_studio_code": "visualstudiocodecredential",
    "cli": "azureclicredential",
    "developer_cli": "azuredeveloperclicredential",
    "powershell": "azurepowershellcredential",
    "interactive_browser": "interactivebrowsercredential",
    "broker": None,
}
_DAC_GROUPS = {
    "dev": frozenset(
        {"visual_studio_code", "cli", "developer_cli", "powershell", "shared_token_cache", "broker"}
    ),
    "prod": frozenset({"environment", "workload_identity", "managed_identity"}),
}
# A single credential named in AZURE_TOKEN_CREDENTIALS that one of our modes builds directly.
_DIRECT_MODES = {
    "azureclicredential": "cli",
    "managedidentitycredential": "managed-identity",
    "environmentcredential": "env",
}


def resolve_auth_mode(flag: str | None, env: Mapping[str, str]) -> str:
    """--auth > AZJOBS_AUTH > ``default``; anything else is a usage error naming its origin."""
    from azbackupjobs.model.errors import UsageError

    if flag is not None and flag.strip():
        value, source = flag, "--auth"
    elif env.get(AUTH_VARIABLE, "").strip():
        value, source = env[AUTH_VARIABLE], AUTH_VARIABLE
    else:
        return "default"
    mode = value.strip().lower()
    if mode not in AUTH_MODES:
        shown = "".join(ch if ch.isprintable() else "?" for ch in value.strip())[:40]
        raise UsageError(
            f"{source}: unknown authentication mode {shown!r}; use one of: " + ", ".join(AUTH_MODES)
        )
    return mode


def token_credentials_choice(env: Mapping[str, str]) -> str | None:
    """AZURE_TOKEN_CREDENTIALS, validated as azure-identity does (lower-cased), or None."""
    from azbackupjobs.model.errors import UsageError

    value = env.get(TOKEN_CREDENTIALS_VARIABLE, "").strip().lower()
    if not value:
        return None
    names = {name for name in _DAC_FAMILIES.values() if name}
    if value not in names and value not in _DAC_GROUPS:
        shown = "".join(ch if ch.isprintable() else "?" for ch in value)[:60]
        raise UsageError(
            f"{TOKEN_CREDENTIALS_VARIABLE}: unknown value {shown!r}; use one of: "
            + ", ".join(["dev", "prod", *sorted(names)])
        )
    return value


def _quiet_azure_logging() -> None:
    # azure-identity logs each failed credential as a multi-line WARNING; with no logging
    # configured Python prints that to stderr, ahead of our own one-line error.
    import logging

    logging.getLogger("azure").addHandler(logging.NullHandler())


def credential_factory(mode: str, authority: str, env: Mapping[str, str]) -> Callable[[], object]:
    """The azure-identity credential of a mode, built (and azure-identity imported) on first use.

    ``default`` is DefaultAzureCredential without interactive login; when AZURE_TOKEN_CREDENTIALS
    narrows it, the exclusions are computed here from ``env`` and passed explicitly, so that the
    chain is the same whatever the process environment holds.
    """
    choice = token_credentials_choice(env) if mode == "default" else None
    if choice in _DIRECT_MODES:
        mode = _DIRECT_MODES[choice]
    client_id = env.get("AZURE_CLIENT_ID", "").strip() or None

    def build() -> object:
        _quiet_azure_logging()
        if mode == "cli":
            from azure.identity import AzureCliCredential

            return AzureCliCredential()
        if mode == "managed-identity":
            from azure.identity import ManagedIdentityCredential

            return ManagedIdentityCredential(client_id=client_id)
        if mode == "env":
            from azure.identity import EnvironmentCredential

            return EnvironmentCredential(authority=authority)
        from azure.identity import DefaultAzureCredential

        excludes: dict[str, bool] = {}
        if choice is not None:
            wanted = _DAC_GROUPS.get(choice) or frozenset(
                family for family, name in _DAC_FAMILIES.items() if name == choice
            )
            excludes = {
                f"exclude_{family}_credential": family not in wanted for family in _DAC_FAMILIES
            }
        excludes["exclude_interactive_browser_credential"] = True
        return DefaultAzureCredential(authority=authority, **excludes)

    return build


def effective_mode(mode: str, env: Mapping[str, str]) -> str:
    """The mode a ``default`` narrowed by AZURE_TOKEN_CREDENTIALS to one credential amounts to."""
    if mode == "default":
        return _DIRECT_MODES.get(token_credentials_choice(env) or "", "default")
    return mode


def az_profile_identity(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(tenant, user) of the az CLI's current account: the one AzureCliCredential signs in as."""
    from azbackupjobs.arm.settings import read_az_profile

    data = read_az_profile(env)
    subs = data.get("subscriptions") if isinstance(data, dict) else None
    for sub in subs if isinstance(subs, list) else []:
        if isinstance(sub, dict) and sub.get("isDefault"):
            tenant = sub.get("tenantId")
            user = sub.get("user")
            name = user.get("name") if isinstance(user, dict) else None
            return (
                tenant if isinstance(tenant, str) and tenant else None,
                name if isinstance(name, str) and name else None,
            )
    return None, None


class CachedCredentialTokenProvider(CredentialTokenProvider):
    """A credential whose tokens are also kept on disk, per identity and scope, across runs.

    A cached token is used until five minutes before it expires; a 401 (``invalidate``) drops it
    from disk too, so a revoked or wrong-tenant token costs one retry, not an hour of failures.
    """

    def __init__(
        self,
        scope: str,
        credential_factory: Callable[[], object],
        cache: TokenCache,
        *,
        mode: str,
        tenant: str | None,
        account: str | None,
        env: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        from azbackupjobs.arm.token_cache import cache_key

        super().__init__(scope, credential_factory, clock)
        self._disk = cache
        self._mode = mode
        self._tenant = tenant
        self._key = cache_key(mode=mode, scope=scope, tenant=tenant, env=env, account=account)
        self._disk_checked = False

    def get(self) -> AccessToken:
        if self._cached is None and not self._disk_checked:
            self._disk_checked = True
            found = self._disk.load(self._key)
            if found is not None:
                self._cached = AccessToken(found[0], found[1])
                self._seen.append(found[0])
        return super().get()

    def _fetch(self) -> AccessToken:
        token = super()._fetch()
        if token.expires_on is not None:
            tid = token_claims(token.token).get("tid")
            tenant = tid if isinstance(tid, str) and tid else self._tenant
            self._disk.store(
                self._key,
                token.token,
                token.expires_on,
                mode=self._mode,
                scope=self._scope,
                tenant=tenant,
            )
        return token

    def invalidate(self, claims: str | None = None) -> bool:
        self._disk.discard(self._key)
        self._disk_checked = True
        return super().invalidate(claims)


def provider_for(
    env: Mapping[str, str],
    scope: str,
    authority: str,
    *,
    mode: str | None = None,
    use_cache: bool = True,
) -> TokenProvider:
    """The token provider of one run: ``--auth``/AZJOBS_AUTH chooses the credential.

    ``default``: AZJOBS_ACCESS_TOKEN when set, else DefaultAzureCredential (narrowed by
    AZURE_TOKEN_CREDENTIALS). ``token``: AZJOBS_ACCESS_TOKEN only. ``cli``, ``managed-identity``,
    ``env``: that credential alone, no probing. Credential tokens go through the on-disk cache
    unless ``use_cache`` is false or AZJOBS_TOKEN_CACHE=0.
    """
    chosen = resolve_auth_mode(mode, env)
    token_set = bool(env.get("AZJOBS_ACCESS_TOKEN", "").strip())
    if chosen == "token" or (chosen == "default" and token_set):
        if not token_set:
            chosen_by = "--auth token" if mode and mode.strip() else f"{AUTH_VARIABLE}=token"
            raise AuthError(
                f"{chosen_by} needs AZJOBS_ACCESS_TOKEN, which is not set",
                hint="export AZJOBS_ACCESS_TOKEN=$(az account get-access-token "
                "--query accessToken -o tsv)",
            )
        return provider_from_environment(env, scope, authority)
    actual = effective_mode(chosen, env)
    factory = credential_factory(chosen, authority, env)
    from azbackupjobs.arm import token_cache

    if not use_cache or not token_cache.enabled(env):
        return CredentialTokenProvider(scope, factory)
    # The key names the identity the credential will sign in as: the az CLI's current account
    # (its tenant and user), and the AZURE_* variables that select a service principal or a
    # managed identity (token_cache.IDENTITY_VARIABLES).
    tenant = env.get("AZURE_TENANT_ID", "").strip() or None
    account = None
    if actual in {"cli", "default"}:
        profile_tenant, account = az_profile_identity(env)
        tenant = profile_tenant if actual == "cli" else tenant or profile_tenant
    cache = token_cache.TokenCache(token_cache.token_dir(env))
    return CachedCredentialTokenProvider(
        scope, factory, cache, mode=actual, tenant=tenant, account=account, env=env
    )
