"""Which kind of vault a name is, when nothing on the command line says.

A job's full ARM id names its kind, and so do ``--vault-type``, ``AZJOBS_VAULT_TYPE`` and the
config key ``vault_type``. Otherwise one look at the vault resource decides: a GET of the name as
a Recovery Services vault and as a Backup vault, where one answers 404 and the other 200. The
answer is remembered in a small private file beside the token and job caches, so that a script
that names jobs by GUID pays for the look once. A name that exists as both kinds cannot be
guessed (exit 2, asking for ``--vault-type``); a name that is neither is not found (exit 3).
A problem with the cache file never fails a command: it is only a cache.

The same file keeps the vault's location, which the vault resource gives with the same GET, and
other small facts that the secondary region needs (``arm.regions``): one cache, one format,
sections by name.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azbackupjobs.arm import token_cache
from azbackupjobs.arm.files import read_small_file
from azbackupjobs.model.errors import NotFoundError, UnexpectedResponseError, UsageError
from azbackupjobs.model.kinds import VaultKind

if TYPE_CHECKING:
    from azbackupjobs.arm.client import BackupJobsClient
    from azbackupjobs.arm.settings import Context

CACHE_NAME = "vault-kinds.json"
CACHE_VERSION = 1
MAX_ENTRIES = 256
MAX_CACHE_BYTES = 256 * 1024


def cache_path(env: Mapping[str, str] | None = None) -> Path:
    return token_cache.cache_root(os.environ if env is None else {**os.environ, **env}) / CACHE_NAME


def vault_key(ctx: Context) -> str:
    """The vault's place, whatever its kind: endpoint, subscription, group and name."""
    return "/".join((ctx.endpoint, ctx.subscription, ctx.resource_group, ctx.vault)).lower()


def _read_all(path: Path) -> dict[str, dict[str, str]]:
    """Every section of the file (``kinds``, ``locations``, ...): string keys to strings."""
    try:
        data = json.loads(read_small_file(path, MAX_CACHE_BYTES, nofollow=True)[0].decode("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    return {
        name: {k: v for k, v in entries.items() if isinstance(v, str)}
        for name, entries in data.items()
        if name != "version" and isinstance(entries, dict)
    }


def cached_entry(section: str, key: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value remembered under ``key`` in ``section`` (keys compare in lower case)."""
    return _read_all(cache_path(env)).get(section, {}).get(key.lower())


def remember_entry(
    section: str, key: str, value: str, env: Mapping[str, str] | None = None
) -> None:
    """Keep ``value`` under ``key`` in ``section`` (its newest ``MAX_ENTRIES`` entries), in one
    atomic write of the file, the other sections kept as they were."""
    path = cache_path(env)
    sections = _read_all(path)
    entries = sections.get(section, {})
    entries.pop(key.lower(), None)
    entries[key.lower()] = value
    sections[section] = dict(list(entries.items())[-MAX_ENTRIES:])
    text = json.dumps({"version": CACHE_VERSION, **sections}, separators=(",", ":"))
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        token_cache.write_private(path, text.encode("utf-8"))


def cached_kind(ctx: Context, env: Mapping[str, str] | None = None) -> VaultKind | None:
    """The kind remembered for the vault of ``ctx``, if any."""
    value = cached_entry("kinds", vault_key(ctx), env)
    try:
        return VaultKind(value) if isinstance(value, str) else None
    except ValueError:
        return None


def remember(ctx: Context, kind: VaultKind, env: Mapping[str, str] | None = None) -> None:
    """Keep the kind of the vault of ``ctx`` (the newest ``MAX_ENTRIES`` vaults)."""
    remember_entry("kinds", vault_key(ctx), kind.value, env)


def _location_key(ctx: Context, kind: VaultKind) -> str:
    return f"{kind.value}:{vault_key(ctx)}"


def _location_of(body: Any) -> str | None:
    location = body.get("location") if isinstance(body, dict) else None
    return location if isinstance(location, str) and location.strip() else None


def vault_location(
    client: BackupJobsClient, ctx: Context, kind: VaultKind, env: Mapping[str, str] | None = None
) -> str:
    """The region of the vault of ``ctx`` as a vault of ``kind``: remembered, else one GET of
    the vault resource (remembered). A vault that names no location is an unexpected answer."""
    known = cached_entry("locations", _location_key(ctx, kind), env)
    if known:
        return known
    found = _location_of(client.request("GET", _vault_url(ctx, kind)).body)
    if found is None:
        raise UnexpectedResponseError(
            f"vault {ctx.vault} names no location: its paired region cannot be found",
            hint="pass --paired-region NAME",
        )
    remember_entry("locations", _location_key(ctx, kind), found, env)
    return found


def _vault_url(ctx: Context, kind: VaultKind) -> str:
    from urllib.parse import quote

    return f"{ctx.endpoint}{ctx.vault_path_of(kind)}?api-version={quote(ctx.api_version_of(kind))}"


def _missing(
    client: BackupJobsClient, ctx: Context, kind: VaultKind, env: Mapping[str, str] | None
) -> NotFoundError | None:
    """None when the vault exists as ``kind`` (its location remembered); else the 404."""
    try:
        body = client.request("GET", _vault_url(ctx, kind)).body
    except NotFoundError as exc:
        return exc
    location = _location_of(body)
    if location is not None:
        remember_entry("locations", _location_key(ctx, kind), location, env)
    return None


def look_up(
    client: BackupJobsClient, ctx: Context, env: Mapping[str, str] | None = None
) -> VaultKind:
    """The kind of the vault of ``ctx``, from the vault resource itself (two GETs)."""
    missing = {kind: _missing(client, ctx, kind, env) for kind in VaultKind}
    found = [kind for kind, error in missing.items() if error is None]
    if len(found) == 2:
        raise UsageError(
            f"vault {ctx.vault} in resource group {ctx.resource_group} is both a Recovery "
            "Services vault and a Backup vault",
            hint="pass --vault-type recovery-services or --vault-type backup "
            "(or set AZJOBS_VAULT_TYPE)",
        )
    if not found:
        first = missing[VaultKind.RECOVERY_SERVICES]
        assert first is not None
        first.hint = (
            f"no Recovery Services vault or Backup vault {ctx.vault} in resource group "
            f"{ctx.resource_group} (subscription {ctx.subscription})"
        )
        raise first
    return found[0]


def resolve_kind(
    client: BackupJobsClient, ctx: Context, env: Mapping[str, str] | None = None
) -> VaultKind:
    """The kind the context names, else the remembered one, else one look (remembered)."""
    if ctx.vault_kind is not None:
        return ctx.vault_kind
    known = cached_kind(ctx, env)
    if known is not None:
        return known
    kind = look_up(client, ctx, env)
    remember(ctx, kind, env)
    return kind
