"""Which region a vault's cross-region restore jobs run in: its paired region, from ARM.

A vault's location comes from the vault resource (``arm.vault_kind``, which reads it with the
kind lookup and remembers it); its pair comes from ARM's locations list
(``GET /subscriptions/{sub}/locations``, ``metadata.pairedRegion``), not from a table in the
code, since pairs change as regions open. Both are looked up once and remembered in the
vault cache file. ``--paired-region`` skips the lookup altogether.

A region with no pair (an empty or missing ``pairedRegion``) has no secondary region: a usage
error (exit 2) naming the region. A region that the subscription's list does not show at all
is the same error: there is no pair to read, and only the user can name one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from azbackupjobs.arm import vault_kind
from azbackupjobs.model import ids
from azbackupjobs.model.errors import UnexpectedResponseError, UsageError
from azbackupjobs.model.kinds import VaultKind

if TYPE_CHECKING:
    from azbackupjobs.arm.client import BackupJobsClient
    from azbackupjobs.arm.settings import Context

# The Microsoft.Resources api-version of ``az account list-locations``.
LOCATIONS_API_VERSION = "2022-12-01"
# The cache section of pairs: "{endpoint}/{subscription}/{region}" -> pair ("" for none).
PAIRS_SECTION = "pairs"
HINT = "pass --paired-region NAME to read the jobs of a region you name"


@dataclass(frozen=True)
class Regions:
    """Where a vault's cross-region restore jobs are: ``source`` is the vault's own region
    (what Backup vaults ask for in the body), ``paired`` the region they run in."""

    source: str
    paired: str


def normalize(region: str) -> str:
    """``West Europe`` and ``westeurope`` are one region (ARM's ``name`` is the latter)."""
    return region.replace(" ", "").lower()


def _pair_key(ctx: Context, region: str) -> str:
    return f"{ctx.endpoint}/{ctx.subscription}/{region}"


def _pairs(body: Any) -> dict[str, str | None]:
    """Each listed region's pair (None: listed without one)."""
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, list):
        raise UnexpectedResponseError("the locations list has no 'value' array")
    found: dict[str, str | None] = {}
    for entry in value:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue
        metadata = entry.get("metadata")
        pairs = metadata.get("pairedRegion") if isinstance(metadata, dict) else None
        first = pairs[0] if isinstance(pairs, list) and pairs else None
        pair = first.get("name") if isinstance(first, dict) else None
        found[normalize(name)] = normalize(pair) if isinstance(pair, str) and pair else None
    return found


def no_pair(region: str) -> UsageError:
    return UsageError(
        f"region {region} has no paired region: its vaults have no cross-region restore jobs",
        hint=HINT,
    )


def paired_region(
    client: BackupJobsClient, ctx: Context, region: str, env: Mapping[str, str] | None = None
) -> str:
    """The region ``region`` pairs with: remembered, else one GET of ARM's locations list
    (remembered, a region without pair too)."""
    region = normalize(region)
    key = _pair_key(ctx, region)
    known = vault_kind.cached_entry(PAIRS_SECTION, key, env)
    if known is not None:
        if not known:
            raise no_pair(region)
        return known
    url = (
        f"{ctx.endpoint}/subscriptions/{quote(ctx.subscription, safe='')}/locations"
        f"?api-version={LOCATIONS_API_VERSION}"
    )
    pairs = _pairs(client.request("GET", url).body)
    if region not in pairs:
        raise UsageError(
            f"region {region} (the vault's location) is not in subscription "
            f"{ctx.subscription}'s list of locations: its paired region is unknown",
            hint=HINT,
        )
    pair = pairs[region]
    vault_kind.remember_entry(PAIRS_SECTION, key, pair or "", env)
    if pair is None:
        raise no_pair(region)
    return ids.validate_region(pair)


def resolve(
    client: BackupJobsClient,
    ctx: Context,
    kind: VaultKind,
    *,
    paired: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Regions:
    """The vault's region and its pair. ``paired`` (``--paired-region``, or the region of a
    cross-region restore job's id) is taken as given; a Recovery Services vault then needs no
    request at all, a Backup vault still its own region (the body names it)."""
    if paired is not None and kind is VaultKind.RECOVERY_SERVICES:
        return Regions(source="", paired=paired)
    source = normalize(vault_kind.vault_location(client, ctx, kind, env))
    ids.validate_region(source)
    if paired is not None:
        return Regions(source=source, paired=paired)
    return Regions(source=source, paired=paired_region(client, ctx, source, env))
