"""``azjobs cache show`` and ``azjobs cache clear``: the files azjobs keeps between runs.

``show`` lists the cached access tokens by identity mode, scope, tenant and expiry, never the
tokens themselves. ``clear`` removes everything azjobs caches: the tokens and the job ids offered
by shell completion; the next run fetches a fresh token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azbackupjobs.arm import token_cache
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.view.output import Environment, Output, resolve_format

# Other files azjobs keeps in the same directory (shell completion's job list, the vaults' kinds,
# locations and region pairs, and the option table that versions before the command registry
# kept); ``clear`` removes them with the tokens.
OTHER_CACHE_FILES = ("jobs.json", "vault-kinds.json", "cli-spec.json")


def _when(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def show_rows(env: Environment) -> list[dict[str, Any]]:
    cache = token_cache.TokenCache(token_cache.token_dir(env.env))
    return [
        {
            "mode": entry["mode"],
            "scope": entry["scope"],
            "tenant": entry["tenant"],
            "expiresOn": _when(entry["expiresOn"]),
            "usable": entry["usable"],
            "file": entry["file"],
        }
        for entry in cache.entries()
    ]


@dataclass(frozen=True)
class CacheOptions:
    """``cache show`` takes ``--output``; ``cache clear`` nothing."""

    output: str | None = None


def run_show(opts: CacheOptions, env: Environment) -> int:
    out = Output(env, resolve_format(opts.output, env))
    rows = show_rows(env)
    where = token_cache.token_dir(env.env)
    if not token_cache.enabled(env.env):
        out.note(
            f"azjobs: the token cache is off ({token_cache.DISABLE_VARIABLE}="
            f"{env.env.get(token_cache.DISABLE_VARIABLE, '').strip()})"
        )

    def table() -> Any:
        out.note(f"token cache: {where} ({len(rows)} {'entry' if len(rows) == 1 else 'entries'})")
        if not rows:
            return None
        from rich.table import Table

        from azbackupjobs.model.text import clean

        drawn = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("mode", "scope", "tenant", "expires (UTC)", "usable"):
            drawn.add_column(column)
        for row in rows:
            drawn.add_row(
                clean(row["mode"]),
                clean(row["scope"]),
                clean(row["tenant"] or "—"),
                clean(row["expiresOn"] or "—"),
                "yes" if row["usable"] else "no",
            )
        return drawn

    out.show(
        rows,
        table=table,
        tsv=lambda: [
            [r[k] for k in ("mode", "scope", "tenant", "expiresOn", "usable")] for r in rows
        ],
    )
    return ExitCode.OK


def run_clear(opts: CacheOptions, env: Environment) -> int:
    removed = token_cache.TokenCache(token_cache.token_dir(env.env)).clear()
    others = 0
    root = token_cache.cache_root(env.env)
    for name in OTHER_CACHE_FILES:
        try:
            (root / name).unlink()
            others += 1
        except OSError:
            pass
    noun = "token" if removed == 1 else "tokens"
    extra = f" and {others} other cache file{'s' if others != 1 else ''}" if others else ""
    env.stderr.write(f"azjobs: removed {removed} cached {noun}{extra} from {root}\n")
    env.stderr.flush()
    return ExitCode.OK
