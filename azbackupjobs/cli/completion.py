"""Shell completion: option values, profile names and recent job GUIDs.

This runs while someone waits on the TAB key, in a process of its own started by the shell
script in ``completions/``. So: the values of the choice options are constants; job GUIDs come
from a small cache of the last listing in ``$XDG_CACHE_HOME/azjobs/`` and are refreshed by one
quick list call (first page only) when the cache is stale and the command line names a vault;
the whole answer takes at most about a second, and nothing but completions ever reaches the
shell: every failure means "no suggestions". rich and requests are not imported here (requests
only for a refresh), because every TAB press pays for each import.

Other commands feed the cache with ``record_jobs`` after a listing; it never fails them.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from azbackupjobs.arm.job_cache import (
    cache_path,
    context_key,
    describe_text,
    number,
    read_cache,
    record,
    record_jobs,
    summarize,
)

if TYPE_CHECKING:
    from azbackupjobs.arm.settings import Context

COMPLETE_VAR = "_AZJOBS_COMPLETE"

_LOADED_AT = time.monotonic()
BUDGET_SECONDS = 1.0  # the most a TAB press may take, start-up included
EXIT_MARGIN = 0.15  # kept for printing the completions and ending the process
FRESH_SECONDS = 60.0  # a listing younger than this is used without asking the service
KEEP_SECONDS = 7 * 86400.0  # older listings are not offered at all
LIST_WINDOW = timedelta(days=7)  # what the refresh asks for

OUTPUT_HELP: dict[str, str] = {
    "table": "tables (default on a terminal)",
    "json": "JSON as the service returns it (default when piped)",
    "ndjson": "one JSON object per line",
    "tsv": "tab-separated values, no header",
}
CLOUD_HELP: dict[str, str] = {
    "AzureCloud": "Azure public cloud, management.azure.com",
    "AzureChinaCloud": "Azure China (21Vianet), management.chinacloudapi.cn",
    "AzureUSGovernment": "Azure US Government, management.usgovcloudapi.net",
}
VAULT_TYPE_HELP: dict[str, str] = {
    "recovery-services": "Microsoft.RecoveryServices/vaults (VMs, SQL, SAP HANA, files, MARS)",
    "backup": "Microsoft.DataProtection/backupVaults (disks, blobs, AKS, PostgreSQL, MySQL)",
}
AUTH_HELP: dict[str, str] = {
    "default": "AZJOBS_ACCESS_TOKEN, else the DefaultAzureCredential chain",
    "cli": "the az CLI's login (AzureCliCredential)",
    "managed-identity": "the managed identity of this machine",
    "env": "a service principal from AZURE_CLIENT_ID/SECRET/TENANT_ID",
    "token": "AZJOBS_ACCESS_TOKEN only",
}
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_AUTH_VARIABLE = "AZJOBS_AUTH"

Items = list[tuple[str, str]]
Fetcher = Callable[["Context", Mapping[str, str], float], list[dict[str, Any]]]


# ----- option values ----------------------------------------------------------------------------
@contextlib.contextmanager
def plain_descriptions() -> Iterator[None]:
    """Make Typer print completion descriptions as they are, while a TAB press is answered.

    With rich installed, Typer renders every description through rich to strip markup: that
    imports rich on each TAB press (~100 ms) and eats bracketed text such as ``[sql-0]``. It
    leaves text alone when rich cannot be imported, so rich is made unimportable for the
    moment (a ``None`` entry in ``sys.modules``); the descriptions made here are plain text.
    """
    saved = {name: sys.modules[name] for name in list(sys.modules) if _is_rich(name)}
    for name in saved:
        del sys.modules[name]
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if _is_rich(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def _is_rich(name: str) -> bool:
    return name == "rich" or name.startswith("rich.")


def _choices(
    values: Iterable[str], incomplete: str, helps: Mapping[str, str] | None = None
) -> Items:
    """Values starting with ``incomplete`` (any casing), completing the last of a comma list."""
    head, _, tail = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    wanted = tail.lower()
    return [
        (prefix + value, (helps or {}).get(value, ""))
        for value in values
        if value.lower().startswith(wanted)
    ]


def complete_output(incomplete: str) -> Items:
    return _choices(OUTPUT_HELP, incomplete, OUTPUT_HELP)


def complete_cloud(incomplete: str) -> Items:
    return _choices(CLOUD_HELP, incomplete, CLOUD_HELP)


def complete_vault_type(incomplete: str) -> Items:
    return _choices(VAULT_TYPE_HELP, incomplete, VAULT_TYPE_HELP)


def status_values() -> tuple[str, ...]:
    """The filter values as the service spells them (``sources.filters`` is their one home)."""
    from azbackupjobs.sources.filters import STATUSES

    return STATUSES


def operation_values() -> tuple[str, ...]:
    from azbackupjobs.sources.filters import OPERATIONS

    return OPERATIONS


def management_type_values() -> tuple[str, ...]:
    from azbackupjobs.sources.filters import MANAGEMENT_TYPES

    return MANAGEMENT_TYPES


def complete_metrics_format(incomplete: str) -> Items:
    return [(f, "") for f in ("prometheus", "openmetrics") if f.startswith(incomplete.lower())]


def complete_status(incomplete: str) -> Items:
    """Statuses; ``Failed,In`` completes to ``Failed,InProgress`` (the flag takes a list)."""
    return _choices(status_values(), incomplete)


def complete_operation(incomplete: str) -> Items:
    return _choices(operation_values(), incomplete)


def complete_management_type(incomplete: str) -> Items:
    return _choices(management_type_values(), incomplete)


def complete_profile(incomplete: str) -> Items:
    try:
        from azbackupjobs.arm.config import profile_names

        return _choices(profile_names(), incomplete)
    except Exception:
        return []


def complete_auth(incomplete: str) -> Items:
    return [(k, v) for k, v in AUTH_HELP.items() if k.startswith(incomplete.lower())]


def complete_by(incomplete: str) -> list[str]:
    return [c for c in ("vault", "status", "operation") if c.startswith(incomplete.lower())]


def complete_help_topic(ctx: Any, incomplete: str) -> Items:
    """The topics of ``azjobs help``, then the commands (``azjobs help watch``)."""
    try:
        from azbackupjobs.commands.help_cmd import TOPICS

        helps = {name: topic.summary for name, topic in TOPICS.items()}
    except Exception:  # pragma: no cover
        return []
    names = list(TOPICS)
    with contextlib.suppress(Exception):
        root = ctx.find_root()
        for name in root.command.list_commands(root):
            command = root.command.get_command(root, name)
            if command is not None and not command.hidden and name != "help":
                names.append(name)
                helps[name] = command.get_short_help_str(limit=60)
    return _choices(names, incomplete, helps)


# ----- completing a JOB argument ----------------------------------------------------------------
def complete_job(ctx: Any, incomplete: str) -> Items:
    """Typer's callback for JOB arguments: ``(guid, "entity, operation, status, age")``."""
    return _complete_job(ctx, incomplete, running_first=False)


def complete_watch_job(ctx: Any, incomplete: str) -> Items:
    """JOB arguments of ``watch``: the running jobs first, the ones worth watching."""
    return _complete_job(ctx, incomplete, running_first=True)


def _complete_job(ctx: Any, incomplete: str, *, running_first: bool) -> Items:
    try:
        _silence_stderr()
        params = getattr(ctx, "params", None) or {}
        deadline = process_start() + BUDGET_SECONDS - EXIT_MARGIN
        return job_items(
            params, incomplete, os.environ, deadline=deadline, running_first=running_first
        )
    except Exception:
        return []


def process_start() -> float:
    """When this process started, on the ``time.monotonic`` clock: the budget counts from there.

    Linux tells (``/proc``); elsewhere, the import of this module less a typical start-up.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        age = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        if 0 <= age < 60:
            return time.monotonic() - age
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    return _LOADED_AT - 0.15


def _silence_stderr() -> None:
    """In a completion process, stderr is the user's prompt: nothing may appear there."""
    if os.environ.get(COMPLETE_VAR):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
        except OSError:  # pragma: no cover
            pass
        import logging

        logging.disable(logging.CRITICAL)


def job_items(
    params: Mapping[str, Any],
    incomplete: str,
    env: Mapping[str, str],
    *,
    deadline: float,
    fetch: Fetcher | None = None,
    now: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    running_first: bool = False,
) -> Items:
    """Completions for a JOB argument from the cache, refreshed first when stale and possible;
    newest first, or with ``running_first`` the running jobs before the ended ones."""
    wanted = incomplete.strip().lower()
    if wanted.startswith("/"):
        return []  # a full ARM id is typed by hand or pasted
    wall = time.time() if now is None else now
    path = cache_path(env)
    data = read_cache(path)
    contexts: dict[str, Any] = data["contexts"]
    context = _context_of(params, env)
    entry: Any = None
    if context is not None:
        context = _with_kind(context, contexts)
        entry = contexts.get(context_key(context))
        if wall - number(entry, "fetched_at") >= FRESH_SECONDS and clock() < deadline:
            auth = params.get("auth")
            if isinstance(auth, str) and auth.strip():  # --auth on the command line
                env = {**env, _AUTH_VARIABLE: auth}
            jobs = _refresh(context, env, deadline, fetch or list_first_page, clock)
            if jobs is not None:
                with contextlib.suppress(Exception):
                    record(context, jobs, True, path, wall)
                entry = read_cache(path)["contexts"].get(context_key(context)) or {
                    "updated_at": wall,
                    "jobs": [s for s in map(summarize, jobs) if s],
                }
    else:  # no vault on the command line: offer the last listing, whichever vault it was
        entry = max(contexts.values(), key=lambda e: number(e, "updated_at"), default=None)
    if not isinstance(entry, dict) or wall - number(entry, "updated_at") > KEEP_SECONDS:
        return []
    typed = _typed_values(params)
    jobs_cached = entry.get("jobs")
    offered = [
        job
        for job in (jobs_cached if isinstance(jobs_cached, list) else [])
        if isinstance(job, dict)
        and _GUID.match(str(job.get("id", "")))
        and str(job.get("id")).startswith(wanted)
        and str(job.get("id")) not in typed
    ]
    if running_first:
        offered.sort(key=lambda job: not is_running(job))  # stable: newest first within each
    return [(str(job["id"]), describe(job, wall)) for job in offered]


def is_running(job: Mapping[str, Any]) -> bool:
    """Whether a cached job was running when it was listed (what ``watch`` is for)."""
    from azbackupjobs.model.job import JobStatus

    return JobStatus.parse(job.get("status")) in {JobStatus.IN_PROGRESS, JobStatus.CANCELLING}


def describe(job: Mapping[str, Any], now: float) -> str:
    parts = [describe_text(str(job.get(k, ""))) for k in ("entity", "operation", "status")]
    age = _age(str(job.get("start", "")), now)
    return ", ".join(p for p in [*parts, age] if p)


def _age(start: str, now: float) -> str:
    try:
        moment = datetime.fromisoformat(start[:19]).replace(tzinfo=UTC).timestamp()
    except (ValueError, OverflowError):
        return ""
    seconds = now - moment
    if seconds < 0 or moment < 86400:  # in the future, or the service's "0001-01-01" for unset
        return ""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def _typed_values(params: Mapping[str, Any]) -> set[str]:
    """GUIDs already on the command line (``watch A B``): not offered again."""
    found: set[str] = set()
    for value in params.values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str) and _GUID.match(item.strip().lower()):
                found.add(item.strip().lower())
    return found


def _context_of(params: Mapping[str, Any], env: Mapping[str, str]) -> Context | None:
    """The vault the command line points at (flags, environment, profile, az), else None."""
    from azbackupjobs.arm import settings

    # The vault flags are the fields of ContextFlags, under the same names.
    names = [f.name for f in fields(settings.ContextFlags)]
    values = {k: params.get(k) if isinstance(params.get(k), str) else None for k in names}
    try:
        return settings.resolve_context(settings.ContextFlags(**values), env)
    except Exception:
        return None


def _with_kind(context: Context, contexts: Mapping[str, Any]) -> Context:
    """The context of the vault's kind: the one named, else the kind whose jobs were listed
    last under this name (a Recovery Services vault when neither was)."""
    if context.vault_kind is not None:
        return context
    from dataclasses import replace

    from azbackupjobs.model.kinds import VaultKind

    listed = {
        kind: number(contexts.get(context_key(replace(context, vault_kind=kind))), "updated_at")
        for kind in (VaultKind.RECOVERY_SERVICES, VaultKind.BACKUP)
    }
    return replace(context, vault_kind=max(listed, key=lambda kind: listed[kind]))


def _refresh(
    context: Context,
    env: Mapping[str, str],
    deadline: float,
    fetch: Fetcher,
    clock: Callable[[], float],
) -> list[dict[str, Any]] | None:
    """Run ``fetch`` on a daemon thread, waiting at most until ``deadline``; None if it failed
    or is late (it is then abandoned: the process ends right after printing completions)."""
    result: list[list[dict[str, Any]]] = []

    def work() -> None:
        with contextlib.suppress(BaseException):
            result.append(fetch(context, env, max(deadline - clock(), 0.05)))

    worker = threading.Thread(target=work, name="azjobs-completion-refresh", daemon=True)
    worker.start()
    worker.join(max(deadline - clock(), 0.0))
    return result[0] if result else None


def list_first_page(
    context: Context, env: Mapping[str, str], timeout: float
) -> list[dict[str, Any]]:
    """One quick list call: the first page of the last week's jobs, no retries (a Backup
    vault's list takes no window: its first page)."""
    from azbackupjobs.arm import auth
    from azbackupjobs.arm.client import NO_RETRY, BackupJobsClient
    from azbackupjobs.model.kinds import VaultKind

    odata_filter: str | None = None
    try:
        from azbackupjobs.sources.filters import Window, build_filter

        end = datetime.now(UTC).replace(microsecond=0)
        odata_filter = build_filter(Window(end - LIST_WINDOW, end))
    except Exception:  # pragma: no cover - the list module changed: ask without a window
        odata_filter = None
    # provider_for reads a token the on-disk cache holds: no az CLI subprocess on a TAB press
    provider_for = getattr(auth, "provider_for", None)
    if provider_for is not None:
        tokens = provider_for(env, context.scope, context.cloud.authority)
    else:  # pragma: no cover - an auth module without credential selection
        tokens = auth.provider_from_environment(env, context.scope, context.cloud.authority)
    client = BackupJobsClient(context, tokens, retry=NO_RETRY, timeout=(timeout, timeout))
    try:
        if context.vault_kind is VaultKind.BACKUP:
            from azbackupjobs.sources.backup_vault import BackupVaultSource

            pages = BackupVaultSource(client).iter_job_pages(retry=NO_RETRY)
            return next(iter(pages), [])
        from azbackupjobs.sources.recovery_services import RecoveryServicesSource

        pages = RecoveryServicesSource(client).iter_job_pages(odata_filter, retry=NO_RETRY)
        return next(iter(pages), [])
    finally:
        client.close()


__all__: Sequence[str] = (
    "complete_cloud",
    "complete_help_topic",
    "complete_job",
    "complete_management_type",
    "complete_operation",
    "complete_output",
    "complete_profile",
    "complete_status",
    "complete_watch_job",
    "record_jobs",
)
