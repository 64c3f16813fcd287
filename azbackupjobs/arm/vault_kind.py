"""Which kind of vault a name is, when nothing on the command line says.

A job's full ARM id names its kind, and so do ``--vault-type``, ``AZJOBS_VAULT_TYPE`` and the
config key ``vault_type``. Otherwise one look at the vault resource decides: a GET of the name as
a Recovery Services vault and as a Backup vault, where one answers 404 and the other 200. The
answer is remembered in a small private file beside the token and job caches, so that a script
that names jobs by GUID pays for the look once. A name that exists as both kinds cannot be
guessed (exit 2, asking for ``--vault-type``); a name that is neither is not found (exit 3).
A problem with the cache file never fails a command: it is only a cache.
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
from azbackupjobs.model.errors import NotFoundError, UsageError
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


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_small_file(path, MAX_CACHE_BYTES, nofollow=True)[0].decode("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    kinds = data.get("kinds")
    return kinds if isinstance(kinds, dict) else {}


def cached_kind(ctx: Context, env: Mapping[str, str] | None = None) -> VaultKind | None:
    """The kind remembered for the vault of ``ctx``, if any."""
    value = _read(cache_path(env)).get(vault_key(ctx))
    try:
        return VaultKind(value) if isinstance(value, str) else None
    except ValueError:
        return None


def remember(ctx: Context, kind: VaultKind, env: Mapping[str, str] | None = None) -> None:
    """Keep the kind of the vault of ``ctx`` (the newest ``MAX_ENTRIES`` vaults)."""
    path = cache_path(env)
    kinds = {k: v for k, v in _read(path).items() if isinstance(v, str)}
    kinds.pop(vault_key(ctx), None)
    kinds[vault_key(ctx)] = kind.value
    kept = dict(list(kinds.items())[-MAX_ENTRIES:])
    text = json.dumps({"version": CACHE_VERSION, "kinds": kept}, separators=(",", ":"))
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        token_cache.write_private(path, text.encode("utf-8"))


def _missing(client: BackupJobsClient, ctx: Context, kind: VaultKind) -> NotFoundError | None:
    """None when the vault exists as ``kind``; else the service's 404."""
    from urllib.parse import quote

    url = f"{ctx.endpoint}{ctx.vault_path_of(kind)}?api-version={quote(ctx.api_version_of(kind))}"
    try:
        client.request("GET", url)
    except NotFoundError as exc:
        return exc
    return None


def look_up(client: BackupJobsClient, ctx: Context) -> VaultKind:
    """The kind of the vault of ``ctx``, from the vault resource itself (two GETs)."""
    missing = {kind: _missing(client, ctx, kind) for kind in VaultKind}
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
    kind = look_up(client, ctx)
    remember(ctx, kind, env)
    return kind
