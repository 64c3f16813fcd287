"""The access tokens the managed-identity endpoint issues, and how ARM routes check them.

The az CLI decodes the token it gets from a managed identity as a JWT (it reads the tenant from
``tid`` before listing subscriptions) and azjobs reads ``exp`` to plan renewal, so an opaque
string is not enough: the endpoint issues JWT-shaped tokens with the claims Azure AD puts into a
managed identity's token (``aud``, ``iss``, ``tid``, ``oid``, ``appid``, ``iat``, ``nbf``,
``exp``...). They are signed with HMAC-SHA256 keyed by the emulator's fixed token, which lets the
emulator recognise the tokens it issued without keeping a list of them, across restarts too (the
fixed token is public anyway: this is an identity check for a local test double, not security).

ARM routes accept the fixed token itself, or an issued token that is unexpired and was issued for
one of the emulator's audiences; like ARM they answer ``ExpiredAuthenticationToken`` and
``InvalidAuthenticationTokenAudience`` otherwise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from .defaults import DEFAULT_TENANT

# Tokens from the identity endpoint last a day, like App Service's.
TOKEN_LIFETIME_SECONDS: Final = 86_400
ALGORITHM: Final = "HS256"
KEY_ID: Final = "azjobs-emulator"
# The emulated managed identity: its service principal (oid) and application (appid).
IDENTITY_OBJECT_ID: Final = "0f3c2a5e-7b1d-4e6a-9c8f-5d2b1a3e4c70"
IDENTITY_CLIENT_ID: Final = "5a8d3c1e-2f4b-4a6e-8d7c-9b0e1f2a3c41"
# ARM's own audiences; a token for any of them (or for the emulator's URL) is accepted.
ARM_AUDIENCES: Final = ("https://management.core.windows.net/", "https://management.azure.com/")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: str, signing_input: str) -> str:
    return _b64(hmac.new(key.encode(), signing_input.encode("ascii"), hashlib.sha256).digest())


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_on: int


def issue(
    key: str,
    *,
    audience: str,
    issuer: str,
    now: float,
    tenant: str = DEFAULT_TENANT,
    client_id: str | None = None,
    lifetime: int = TOKEN_LIFETIME_SECONDS,
) -> IssuedToken:
    """A managed identity's access token for ``audience``, valid from ``now`` for ``lifetime``."""
    iat = int(now)
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer,
        "iat": iat,
        "nbf": iat,
        "exp": iat + lifetime,
        "appid": client_id or IDENTITY_CLIENT_ID,
        "appidacr": "2",
        "idp": issuer,
        "idtyp": "app",
        "oid": IDENTITY_OBJECT_ID,
        "sub": IDENTITY_OBJECT_ID,
        "tid": tenant,
        "ver": "1.0",
    }
    header = {"typ": "JWT", "alg": ALGORITHM, "kid": KEY_ID}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    return IssuedToken(f"{signing_input}.{_signature(key, signing_input)}", iat + lifetime)


def issued_claims(key: str, token: str) -> dict[str, Any] | None:
    """The claims of a token this emulator issued (checked by its signature), else None.

    Never raises: any string a client sends gets a yes or a no. The tokens it issues are ASCII
    (base64url), so one with any other character is not one of them.
    """
    if not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    expected = _signature(key, f"{parts[0]}.{parts[1]}")
    if not hmac.compare_digest(expected.encode(), parts[2].encode("utf-8", "replace")):
        return None
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        return None
    return claims if isinstance(claims, dict) else None


def expiry(claims: dict[str, Any]) -> float | None:
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)


def audience_allowed(audience: object, own_urls: tuple[str, ...]) -> bool:
    """ARM compares audiences exactly, with or without the trailing slash."""
    if not isinstance(audience, str):
        return False
    wanted = audience.rstrip("/").lower()
    return any(wanted == a.rstrip("/").lower() for a in (*ARM_AUDIENCES, *own_urls) if a)


def allowed_audiences_text() -> str:
    """The list as ARM quotes it in its 401 message."""
    forms = [form for a in ARM_AUDIENCES for form in (a, a.rstrip("/"))]
    return ",".join(f"'{a}'" for a in forms)


def arm_time(timestamp: float) -> str:
    """ARM's .NET "G" rendering of UTC times in auth errors: ``6/12/2018 4:14:53 PM``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {half}"
    )
