"""The cache of recently seen job ids that shell completion offers for a JOB argument.

Commands that list or read jobs feed it (``record_jobs``); a TAB press reads it. It lives beside
the token cache, readable by the owner only, and a problem with it never fails a command.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azbackupjobs.arm import token_cache
from azbackupjobs.arm.files import MIB, read_small_file

if TYPE_CHECKING:
    from azbackupjobs.arm.settings import Context

MAX_JOBS = 50
MAX_CONTEXTS = 8
CACHE_VERSION = 1
CACHE_NAME = "jobs.json"
MAX_CACHE_BYTES = 1 * MIB  # 8 contexts of 50 jobs are a few dozen kilobytes
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SPACES = re.compile(r"\s+")


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the token cache lives too; variables missing from ``env`` come from the process."""
    return token_cache.cache_root(os.environ if env is None else {**os.environ, **env})


def cache_path(env: Mapping[str, str] | None = None) -> Path:
    return cache_dir(env) / CACHE_NAME


def context_key(ctx: Context) -> str:
    """The vault's path of its kind (a Recovery Services vault when the context names none):
    one name may be a vault of each kind, with jobs of their own."""
    from azbackupjobs.model.kinds import VaultKind

    return (ctx.endpoint + ctx.vault_path_of(ctx.vault_kind or VaultKind.RECOVERY_SERVICES)).lower()


def read_cache(path: Path) -> dict[str, Any]:
    """The cache, or an empty one when it is missing, unreadable, foreign or corrupt."""
    try:
        data = json.loads(read_small_file(path, MAX_CACHE_BYTES, nofollow=True)[0].decode("utf-8"))
    except (OSError, ValueError):
        return {"version": CACHE_VERSION, "contexts": {}}
    if (
        not isinstance(data, dict)
        or data.get("version") != CACHE_VERSION
        or not isinstance(data.get("contexts"), dict)
    ):
        return {"version": CACHE_VERSION, "contexts": {}}
    return data


def write_cache(path: Path, data: Mapping[str, Any]) -> None:
    """Atomically, readable by the owner only (the same writer as the token cache)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    token_cache.write_private(path, text.encode("utf-8"))


def summarize(raw: Any) -> dict[str, str] | None:
    """What the cache keeps of a job resource; None unless it has a job GUID."""
    if not isinstance(raw, Mapping):
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not _GUID.match(name.strip().lower()):
        return None
    props = raw.get("properties")
    props = props if isinstance(props, dict) else {}

    def text(key: str) -> str:
        value = props.get(key)
        return describe_text(value) if isinstance(value, str) else ""

    start = props.get("startTime")
    return {
        "id": name.strip().lower(),
        # A Backup vault job names its datasource where a Recovery Services job has its entity.
        "entity": text("entityFriendlyName") or text("dataSourceName"),
        "operation": text("operation"),
        "status": text("status"),
        "start": start if isinstance(start, str) and len(start) < 40 else "",
    }


def describe_text(value: str, limit: int = 48) -> str:
    """Text safe inside any shell's completion script: letters, digits and a few marks only."""
    value = value.replace("[", "(").replace("]", ")")  # "msdb [sql-vm-01]", as SQL jobs say
    kept = "".join(ch if ch.isalnum() or ch in " ._-/@+()#" else " " for ch in value)
    kept = _SPACES.sub(" ", kept).strip()
    return kept if len(kept) <= limit else kept[: limit - 1] + "~"


def record_jobs(
    ctx: Context,
    jobs: Iterable[Mapping[str, Any]],
    *,
    complete_listing: bool = True,
    env: Mapping[str, str] | None = None,
    now: float | None = None,
) -> None:
    """Remember jobs for completion. ``complete_listing``: a listing (marks the cache fresh),
    not a single job. Never raises: a cache problem must not fail the command that called it."""
    with contextlib.suppress(Exception):
        record(ctx, jobs, complete_listing, cache_path(env), time.time() if now is None else now)


def record(
    ctx: Context, jobs: Iterable[Mapping[str, Any]], complete_listing: bool, path: Path, now: float
) -> None:
    fresh = [s for s in (summarize(j) for j in jobs) if s is not None]
    data = read_cache(path)
    contexts: dict[str, Any] = data["contexts"]
    key = context_key(ctx)
    entry = contexts.get(key) if isinstance(contexts.get(key), dict) else None
    old = entry.get("jobs") if entry and isinstance(entry.get("jobs"), list) else []
    seen = {s["id"] for s in fresh}
    merged = fresh + [j for j in old if isinstance(j, dict) and j.get("id") not in seen]
    merged.sort(key=lambda j: str(j.get("start", "")), reverse=True)
    fetched = now if complete_listing else (entry or {}).get("fetched_at", 0.0)
    contexts[key] = {"fetched_at": fetched, "updated_at": now, "jobs": merged[:MAX_JOBS]}
    newest = sorted(contexts, key=lambda k: number(contexts[k], "updated_at"), reverse=True)
    data["contexts"] = {k: contexts[k] for k in newest[:MAX_CONTEXTS]}
    write_cache(path, data)


def number(entry: Any, key: str) -> float:
    value = entry.get(key) if isinstance(entry, dict) else None
    return float(value) if isinstance(value, (int, float)) else 0.0
