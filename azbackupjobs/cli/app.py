"""The command line: flags -> an options object -> ``run_*()`` in ``azbackupjobs.commands``.

No HTTP and no table building here. ``main()`` runs the app through ``fastpath.guarded``, the
one place that turns an ``AzJobsError`` into one stderr line and its exit code, and signals into
130/143. The console script (``fastpath.main``) runs plain ``get``/``list-tasks``/``list`` calls
without importing Typer, from an option table derived from this app: keep command bodies to
"build options, call run_*" so that both paths stay the same (tests/test_startup_fastpath.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from azbackupjobs import __version__
from azbackupjobs.cli import completion as _completion
from azbackupjobs.view.output import Environment

HELP_EXIT_CODES = """Exit codes: 0 success; 1 API, network or unexpected-response error; 2 usage
error; 3 not found; 4 authentication or authorisation failed; 5 watch timed out; 6 a job
Failed; 7 a job was Cancelled; 8 CompletedWithWarnings under --strict; 130 interrupted;
143 terminated."""


def _examples(*lines: str) -> str:
    """The end of a command's help: example lines kept as written (click's \\b marker)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


app = typer.Typer(
    name="azjobs",
    help="Track Azure Backup jobs of Recovery Services vaults: get, watch, list, cancel.",
    epilog=HELP_EXIT_CODES
    + " Details: azjobs help exit-codes.\n\n"
    + _examples(
        "azjobs demo                        # a simulated backup on the built-in emulator",
        "azjobs list --status InProgress    # the vault's running jobs",
        "azjobs watch $JOB                  # follow a job until it ends",
        "azjobs help environment            # the variables azjobs reads",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

_VAULT_PANEL = "Vault and connection"
_OUTPUT_PANEL = "Output"

SubscriptionOpt = Annotated[
    str | None,
    typer.Option(
        "--subscription",
        help="Subscription id. Env: AZURE_SUBSCRIPTION_ID.",
        rich_help_panel=_VAULT_PANEL,
        show_default=False,
    ),
]
ResourceGroupOpt = Annotated[
    str | None,
    typer.Option(
        "--resource-group",
        "-g",
        help="Resource group of the vault. Env: AZJOBS_RESOURCE_GROUP.",
        rich_help_panel=_VAULT_PANEL,
        show_default=False,
    ),
]
VaultOpt = Annotated[
    str | None,
    typer.Option(
        "--vault-name",
        "--vault",
        "-v",
        help="Recovery Services vault name. Env: AZJOBS_VAULT.",
        rich_help_panel=_VAULT_PANEL,
        show_default=False,
    ),
]
CloudOpt = Annotated[
    str | None,
    typer.Option(
        "--cloud",
        help="AzureCloud, AzureChinaCloud or AzureUSGovernment "
        "(selects the ARM endpoint and token scope). Env: AZJOBS_CLOUD.",
        rich_help_panel=_VAULT_PANEL,
        show_default=False,
        autocompletion=_completion.complete_cloud,
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        help="ARM endpoint URL (https; http only to loopback). Env: AZJOBS_ENDPOINT.",
        rich_help_panel=_VAULT_PANEL,
        show_default=False,
    ),
]
ApiVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--api-version",
        help="REST api-version (default 2026-10-01). Env: AZJOBS_API_VERSION.",
        rich_help_panel=_VAULT_PANEL,
        show_default=False,
    ),
]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="table, json, ndjson or tsv (default: table on a "
        "terminal, json when piped). Env: AZJOBS_OUTPUT.",
        rich_help_panel=_OUTPUT_PANEL,
        show_default=False,
        autocompletion=_completion.complete_output,
    ),
]
QueryOpt = Annotated[
    str | None,
    typer.Option(
        "--query",
        help="JMESPath expression applied to the JSON before printing.",
        rich_help_panel=_OUTPUT_PANEL,
        show_default=False,
    ),
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        help="Trace requests to stderr (Authorization redacted).",
        rich_help_panel=_OUTPUT_PANEL,
    ),
]
JobArg = Annotated[
    str,
    typer.Argument(
        help="Job GUID, or the job's full ARM id (which also names subscription, group and vault).",
        show_default=False,
        metavar="JOB",
        autocompletion=_completion.complete_job,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Named profile of the config file (see `azjobs help config`). Env: AZJOBS_PROFILE.",
        rich_help_panel=_VAULT_PANEL,
        show_default=False,
        autocompletion=_completion.complete_profile,
    ),
]

_AUTH_MODES_HELP = {
    "default": "AZJOBS_ACCESS_TOKEN, else the DefaultAzureCredential chain",
    "cli": "the az CLI's login (AzureCliCredential)",
    "managed-identity": "the managed identity of this machine",
    "env": "a service principal from AZURE_CLIENT_ID/SECRET/TENANT_ID",
    "token": "AZJOBS_ACCESS_TOKEN only",
}


def _complete_auth(incomplete: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in _AUTH_MODES_HELP.items() if k.startswith(incomplete.lower())]


AuthOpt = Annotated[
    str | None,
    typer.Option(
        "--auth",
        metavar="MODE",
        help="Credential: default (AZJOBS_ACCESS_TOKEN, "
        "else the azure-identity chain), cli, managed-identity, env or token. "
        "Env: AZJOBS_AUTH.",
        rich_help_panel=_VAULT_PANEL,
        show_default=False,
        autocompletion=_complete_auth,
    ),
]


def _common(
    subscription: str | None,
    resource_group: str | None,
    vault: str | None,
    cloud: str | None,
    endpoint: str | None,
    api_version: str | None,
    output: str | None,
    query: str | None,
    debug: bool,
    profile: str | None = None,
    auth: str | None = None,
) -> dict[str, Any]:
    global _DEBUG
    _DEBUG = _DEBUG or debug
    return dict(
        subscription=subscription,
        resource_group=resource_group,
        vault=vault,
        cloud=cloud,
        endpoint=endpoint,
        api_version=api_version,
        output=output,
        query=query,
        debug=debug,
        profile=profile,
        auth=auth,
    )


_DEBUG = False


def _run(func: Callable[[], int]) -> None:
    code = func()
    if code:
        raise typer.Exit(int(code))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"azjobs {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the version and exit.",
            is_eager=True,
            callback=_version_callback,
        ),
    ] = False,
) -> None:
    """Track Azure Backup jobs of Recovery Services vaults: get, watch, list, cancel.

    Quick start: `azjobs demo` runs a simulated backup on the built-in emulator.
    """


@app.command(
    "get",
    epilog="tsv columns: name, status, operation, entityFriendlyName, jobType, "
    "backupManagementType, startTime, endTime, duration.\n\n"
    + _examples(
        "azjobs get 3b6a1d2c-0000-4000-8000-000000000001 -g my-rg -v my-vault",
        "azjobs get /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.RecoveryServices/"
        "vaults/VAULT/backupJobs/GUID",
        "azjobs get $JOB -o json | jq -r .properties.status",
        "azjobs get $JOB --query properties.status -o tsv",
    ),
)
def get_cmd(
    job: JobArg,
    subscription: SubscriptionOpt = None,
    resource_group: ResourceGroupOpt = None,
    vault: VaultOpt = None,
    cloud: CloudOpt = None,
    endpoint: EndpointOpt = None,
    api_version: ApiVersionOpt = None,
    output: OutputOpt = None,
    query: QueryOpt = None,
    debug: DebugOpt = False,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
) -> None:
    """Show one job: status, tasks with progress, propertyBag and errors."""
    from azbackupjobs.commands.get import GetOptions, run

    opts = _common(
        subscription,
        resource_group,
        vault,
        cloud,
        endpoint,
        api_version,
        output,
        query,
        debug,
        profile,
        auth,
    )
    _run(lambda: run(GetOptions(job=job, **opts), Environment.from_system()))


@app.command(
    "list-tasks",
    epilog="tsv columns: taskId, status, progressPercentage, startTime, endTime, duration, "
    "taskExecutionDetails.\n\n"
    + _examples(
        "azjobs list-tasks $JOB",
        "azjobs list-tasks $JOB -o json | jq -r '.[] | \"\\(.taskId): \\(.status)\"'",
    ),
)
def list_tasks_cmd(
    job: JobArg,
    subscription: SubscriptionOpt = None,
    resource_group: ResourceGroupOpt = None,
    vault: VaultOpt = None,
    cloud: CloudOpt = None,
    endpoint: EndpointOpt = None,
    api_version: ApiVersionOpt = None,
    output: OutputOpt = None,
    query: QueryOpt = None,
    debug: DebugOpt = False,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
) -> None:
    """Show a job's tasks (json: the tasksList array as returned, [] when none)."""
    from azbackupjobs.commands.get import GetOptions, run_list_tasks

    opts = _common(
        subscription,
        resource_group,
        vault,
        cloud,
        endpoint,
        api_version,
        output,
        query,
        debug,
        profile,
        auth,
    )
    _run(lambda: run_list_tasks(GetOptions(job=job, **opts), Environment.from_system()))


_WATCH_PANEL = "Watching"


@app.command(
    "watch",
    epilog="Output: on a terminal a live view; piped -o table plain lines, one per change; "
    "ndjson the job resource each time it changes (the first poll included); json (the default "
    "when piped) the final resource, an array with several jobs or --all.\n\n"
    "Exit: 0 every job Completed (CompletedWithWarnings too, with a warning, unless --strict: "
    "8); 6 Failed; 7 Cancelled (also a VM backup cancelled into CompletedWithWarnings, error "
    "400158); with several jobs 6 over 7 over 8 over 0; 5 when --timeout elapsed first; "
    "3 a job not found after --grace; 130 Ctrl-C.\n\n"
    "--fleet: the running jobs of every vault in scope (default: every subscription the "
    "credential can read), one Azure Resource Graph query per --interval, until none is "
    "running; the exit code is the worst outcome of the jobs seen to end. Piped -o table: a "
    "line per job that starts or ends; json and tsv: the watched jobs at the end.\n\n"
    "tsv columns: name, status, operation, entityFriendlyName, jobType, backupManagementType, "
    "startTime, endTime, duration.\n\n"
    + _examples(
        "azjobs watch $JOB                   # live; exit 0, 6 or 7 at the end",
        "azjobs watch $JOB1 $JOB2 --fail-fast --timeout 2h",
        'azjobs watch --operation "$AZURE_ASYNCOPERATION_URL"',
        "azjobs watch --all --compact",
        "azjobs watch $JOB -o ndjson | jq -r '.properties.status'",
        "azjobs watch $JOB --query properties.status -o tsv",
        "azjobs watch --fleet --status InProgress   # running jobs of every vault you can read",
        "azjobs watch --fleet --details --subscriptions $SUB",
    ),
)
def watch_cmd(
    jobs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Job GUIDs or full ARM ids (all in one vault).",
            metavar="[JOB]...",
            show_default=False,
            autocompletion=_completion.complete_job,
        ),
    ] = None,
    operation: Annotated[
        str | None,
        typer.Option(
            "--operation",
            metavar="URL_OR_ID",
            help="An Azure-AsyncOperation / "
            "operationsStatus URL, or a backupOperations id of the vault: wait for the "
            "operation, then watch the job(s) it started. A failed operation: exit 1.",
            rich_help_panel=_WATCH_PANEL,
            show_default=False,
        ),
    ] = None,
    all_jobs: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Watch every InProgress or Cancelling job of the vault "
            "(started in the last 7 days).",
            rich_help_panel=_WATCH_PANEL,
        ),
    ] = False,
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval",
            metavar="SECONDS",
            help="Seconds between polls, at least 1 "
            "(default 10, or the config file's interval); a little jitter is added, and "
            "polling slows down after throttling.",
            rich_help_panel=_WATCH_PANEL,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="DURATION",
            help="Give up after this long (90, 30m, "
            "2h, 1h30m): exit 5, the last state shown. Default: never.",
            rich_help_panel=_WATCH_PANEL,
            show_default=False,
        ),
    ] = None,
    grace: Annotated[
        str,
        typer.Option(
            "--grace",
            metavar="DURATION",
            help="How long a job that is not found "
            "counts as 'not visible yet' (the service lags after a trigger).",
            rich_help_panel=_WATCH_PANEL,
        ),
    ] = "60",
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="CompletedWithWarnings fails (exit 8).", rich_help_panel=_WATCH_PANEL
        ),
    ] = False,
    fail_fast: Annotated[
        bool,
        typer.Option(
            "--fail-fast",
            help="Several jobs: stop at the first one that fails or is "
            "cancelled (the others keep running).",
            rich_help_panel=_WATCH_PANEL,
        ),
    ] = False,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="Several jobs: one row per job, no details.",
            rich_help_panel=_WATCH_PANEL,
        ),
    ] = False,
    bell: Annotated[
        bool,
        typer.Option(
            "--bell",
            help="Ring the terminal bell when the watch ends.",
            rich_help_panel=_WATCH_PANEL,
        ),
    ] = False,
    fleet: FleetOpt = False,
    subscriptions: SubscriptionsOpt = None,
    management_group: ManagementGroupOpt = None,
    fleet_status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="With --fleet: the running states to "
            "follow, InProgress and/or Cancelling (default both).",
            rich_help_panel=_FLEET_PANEL,
            show_default=False,
            autocompletion=_completion.complete_status,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help="With --fleet: jobs that started since then (default 7d).",
            rich_help_panel=_FLEET_PANEL,
            show_default=False,
        ),
    ] = None,
    details: Annotated[
        bool,
        typer.Option(
            "--details",
            help="With --fleet: also read the newest running jobs' "
            "tasks and progress through the vault API (more requests).",
            rich_help_panel=_FLEET_PANEL,
        ),
    ] = False,
    subscription: SubscriptionOpt = None,
    resource_group: ResourceGroupOpt = None,
    vault: VaultOpt = None,
    cloud: CloudOpt = None,
    endpoint: EndpointOpt = None,
    api_version: ApiVersionOpt = None,
    output: OutputOpt = None,
    query: QueryOpt = None,
    debug: DebugOpt = False,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
) -> None:
    """Follow jobs until they end: a live view, a stream for scripts, a meaningful exit code."""
    from azbackupjobs.commands.options import WatchCommandOptions
    from azbackupjobs.commands.watch import parse_grace
    from azbackupjobs.follow.poll import parse_interval, parse_timeout

    opts = _common(
        subscription,
        resource_group,
        vault,
        cloud,
        endpoint,
        api_version,
        output,
        query,
        debug,
        profile,
        auth,
    )
    options = WatchCommandOptions(
        jobs=tuple(jobs or ()),
        operation=operation,
        all_jobs=all_jobs,
        interval=parse_interval(interval) if interval is not None else None,
        timeout=parse_timeout(timeout) if timeout is not None else None,
        grace=parse_grace(grace),
        strict=strict,
        fail_fast=fail_fast,
        compact=compact,
        bell=bell,
        fleet=fleet,
        subscriptions=tuple(subscriptions or ()),
        management_group=management_group,
        fleet_status=tuple(fleet_status or ()),
        since=since,
        details=details,
        **opts,
    )
    if options.fleet_requested:
        from azbackupjobs.commands.fleet_watch_cmd import run as run_fleet_watch

        _run(lambda: run_fleet_watch(options, Environment.from_system()))
        return
    from azbackupjobs.commands.watch import run

    _run(lambda: run(options, Environment.from_system()))


@app.command(
    "demo",
    epilog="No Azure account and no network needed: the emulator runs inside azjobs on a free "
    "loopback port and stops with the demo. The exit code is the watched job's, as for "
    "watch.\n\n"
    + _examples(
        "azjobs demo                                # the live view, about 25 seconds",
        "azjobs demo -o ndjson | jq -r .properties.status",
        "azjobs demo --speed 600                    # faster",
    ),
)
def demo_cmd(
    speed: Annotated[
        str | None,
        typer.Option(
            "--speed",
            metavar="FACTOR",
            help="Emulated seconds per real second "
            "(default 60: the 23-minute backup takes about 25 seconds).",
            show_default=False,
        ),
    ] = None,
    interval: Annotated[
        str,
        typer.Option("--interval", metavar="SECONDS", help="Seconds between polls."),
    ] = "1",
    output: OutputOpt = None,
    query: QueryOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Run a simulated backup on the built-in emulator and watch it, end to end."""
    from azbackupjobs.commands.demo import DemoOptions, parse_speed, run
    from azbackupjobs.follow.poll import parse_interval

    global _DEBUG
    _DEBUG = _DEBUG or debug
    dopts = DemoOptions(
        speed=parse_speed(speed) if speed is not None else None,
        interval=parse_interval(interval),
        output=output,
        query=query,
        debug=debug,
    )
    _run(lambda: run(dopts, Environment.from_system()))


@app.command(
    "emulator",
    epilog="\b\nExamples:\n"
    "  azjobs emulator                            # prints the exports; Ctrl-C to stop\n"
    "  azjobs emulator > emu.env & sleep 1; . ./emu.env   # in the background\n"
    "  azjobs emulator --speed 60 --faults 0.2 --seed 7\n"
    "  azjobs emulator --tls                      # https with a generated CA\n",
)
def emulator_cmd(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback unless --allow-remote).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port; 0 picks a free one.")] = 8765,
    speed: Annotated[
        float, typer.Option("--speed", metavar="FACTOR", help="Emulated seconds per real second.")
    ] = 1.0,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seed for job ids and faults (deterministic runs).", show_default=False
        ),
    ] = None,
    faults: Annotated[
        float,
        typer.Option(
            "--faults", metavar="RATE", help="Share of API requests that get a fault (0-1)."
        ),
    ] = 0.0,
    fault_kinds: Annotated[
        str | None,
        typer.Option(
            "--fault-kinds",
            help="Comma-separated: 429,500,503,reset,slow,truncated (default all).",
            show_default=False,
        ),
    ] = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Jobs per list page.")] = 20,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls", help="Serve https with a generated self-signed CA (prints REQUESTS_CA_BUNDLE)."
        ),
    ] = False,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", metavar="FILE", help="Persist jobs across restarts.", show_default=False
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Bearer token to accept (default azjobs-emulator-token).",
            show_default=False,
        ),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --host.")
    ] = False,
    empty: Annotated[bool, typer.Option("--empty", help="Start with no seeded jobs.")] = False,
    log: Annotated[bool, typer.Option("--log", help="One line per request on stderr.")] = False,
) -> None:
    """Serve a local emulator of the Backup jobs API and print the environment to use it."""
    from azbackupjobs.commands.emulator_cmd import EmulatorOptions, run

    opts = EmulatorOptions(
        host=host,
        port=port,
        speed=speed,
        seed=seed,
        faults=faults,
        fault_kinds=fault_kinds,
        page_size=page_size,
        tls=tls,
        state=state,
        token=token,
        allow_remote=allow_remote,
        empty=empty,
        log=log,
    )
    _run(lambda: run(opts, Environment.from_system()))


_FILTER_PANEL = "Filters"
_FLEET_PANEL = "Fleet (Azure Resource Graph)"
FleetOpt = Annotated[
    bool,
    typer.Option(
        "--fleet",
        help="Every vault in scope at once, through one Azure Resource "
        "Graph query (needs Reader on the subscriptions; no group or vault). Resource "
        "Graph lags the vault API a little.",
        rich_help_panel=_FLEET_PANEL,
    ),
]
SubscriptionsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--subscriptions",
        metavar="S1,S2",
        help="With --fleet: only these "
        "subscriptions (repeat it or separate with commas). Default: every "
        "subscription the credential can read.",
        rich_help_panel=_FLEET_PANEL,
        show_default=False,
    ),
]


def _complete_by(incomplete: str) -> list[str]:
    return [c for c in ("vault", "status", "operation") if c.startswith(incomplete.lower())]


ManagementGroupOpt = Annotated[
    str | None,
    typer.Option(
        "--management-group",
        metavar="MG",
        help="With --fleet: the subscriptions under this management group.",
        rich_help_panel=_FLEET_PANEL,
        show_default=False,
    ),
]


@app.command(
    "list",
    epilog="Times: 90m, 24h, 7d, 2w (ago), now, a date (2024-05-01: local midnight; with "
    "--until the whole day), or a date and time (2024-05-01T14:30 local, 2024-05-01T12:30Z). "
    "Windows longer than 30 days are fetched as 30-day windows, newest first.\n\n"
    "Output: jobs newest first; json is one array ([] when none, exit 0), ndjson one job per "
    "line as pages arrive. --query applies to the whole array (and so waits for it).\n\n"
    "tsv columns: name, status, operation, entityFriendlyName, jobType, backupManagementType, "
    "startTime, endTime, duration.\n\n"
    "--fleet: the same filters, compiled into one Azure Resource Graph query over every vault "
    "of the scope (default: every subscription the credential can read); the output has the "
    "same shape. --by counts instead: json an array of {subscriptionId, resourceGroup, vault, "
    "jobs, statuses} (vault), {status, jobs, vaults} (status) or {operation, jobs, vaults, "
    "statuses} (operation); tsv columns: the keys, then with vault and operation one count "
    "per status (InProgress, Completed, CompletedWithWarnings, Failed, Cancelling, "
    "Cancelled).\n\n"
    + _examples(
        "azjobs list                                   # the last 24 hours",
        "azjobs list --status Failed --since 7d --type AzureIaasVM",
        "azjobs list --since 30d --status Failed -o json | jq length",
        "azjobs list --status InProgress -o ndjson | jq -r .name",
        "azjobs list --fleet --status Failed          # every vault you can read",
        "azjobs list --fleet --by vault --since 7d     # counts per vault and status",
        "azjobs list --fleet --subscriptions $SUB1,$SUB2 -o ndjson | jq -r .id",
    ),
)
def list_cmd(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="InProgress, Completed, CompletedWithWarnings, Failed, Cancelling or "
            "Cancelled, any casing; repeat it or separate with commas.",
            rich_help_panel=_FILTER_PANEL,
            show_default=False,
            autocompletion=_completion.complete_status,
        ),
    ] = None,
    operation: Annotated[
        str | None,
        typer.Option(
            "--operation",
            metavar="OPERATION",
            help="Backup, Restore, ConfigureBackup, DisableBackup, DeleteBackupData, "
            "CrossRegionRestore, Undelete, UpdateCustomerManagedKey, Register or "
            "UnRegister.",
            rich_help_panel=_FILTER_PANEL,
            show_default=False,
            autocompletion=_completion.complete_operation,
        ),
    ] = None,
    backup_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            "--backup-management-type",
            metavar="TYPE",
            help="AzureIaasVM, AzureStorage, AzureWorkload, MAB, DPM, "
            "AzureBackupServer, AzureSql or DefaultBackup.",
            rich_help_panel=_FILTER_PANEL,
            show_default=False,
            autocompletion=_completion.complete_management_type,
        ),
    ] = None,
    job_id: Annotated[
        str | None,
        typer.Option(
            "--job-id",
            metavar="GUID",
            help="Only the job with this GUID (within the window).",
            rich_help_panel=_FILTER_PANEL,
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help="Start of the window (default: 24 hours before --until).",
            rich_help_panel=_FILTER_PANEL,
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="TIME",
            help="End of the window (default: now).",
            rich_help_panel=_FILTER_PANEL,
            show_default=False,
        ),
    ] = None,
    entity: Annotated[
        str | None,
        typer.Option(
            "--entity",
            metavar="TEXT",
            help="Only jobs whose entity name (VM, database, share) contains this "
            "text, any casing.",
            rich_help_panel=_FILTER_PANEL,
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            help="At most N jobs, newest first; stops fetching there. "
            "0: all. Default: all (the table: the newest 100).",
            metavar="N",
            rich_help_panel=_FILTER_PANEL,
            show_default=False,
        ),
    ] = None,
    fleet: FleetOpt = False,
    subscriptions: SubscriptionsOpt = None,
    management_group: ManagementGroupOpt = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="vault|status|operation",
            help="With --fleet: count the "
            "jobs per vault, status or operation instead of listing them.",
            rich_help_panel=_FLEET_PANEL,
            show_default=False,
            autocompletion=_complete_by,
        ),
    ] = None,
    subscription: SubscriptionOpt = None,
    resource_group: ResourceGroupOpt = None,
    vault: VaultOpt = None,
    cloud: CloudOpt = None,
    endpoint: EndpointOpt = None,
    api_version: ApiVersionOpt = None,
    output: OutputOpt = None,
    query: QueryOpt = None,
    debug: DebugOpt = False,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
) -> None:
    """List the vault's jobs in a time window (default: the last 24 hours), newest first."""
    from azbackupjobs.commands.options import ListCommandOptions

    opts = _common(
        subscription,
        resource_group,
        vault,
        cloud,
        endpoint,
        api_version,
        output,
        query,
        debug,
        profile,
        auth,
    )
    options = ListCommandOptions(
        status=tuple(status or ()),
        operation=operation,
        backup_type=backup_type,
        job_id=job_id,
        since=since,
        until=until,
        limit=limit,
        entity=entity,
        fleet=fleet,
        subscriptions=tuple(subscriptions or ()),
        management_group=management_group,
        by=by,
        **opts,
    )
    if options.fleet_requested:
        from azbackupjobs.commands.fleet_cmd import run as run_fleet

        _run(lambda: run_fleet(options, Environment.from_system()))
        return
    from azbackupjobs.commands.list_jobs import run

    _run(lambda: run(options, Environment.from_system()))


@app.command(
    "cancel",
    epilog="Without a terminal, --yes is required (exit 2 otherwise). A job that is not "
    "running, or that the service does not offer to cancel, is refused before anything is sent "
    "(exit 1). With --wait the exit code is the job's: 7 when cancelled (also when the service "
    "ends a cancelled VM backup as CompletedWithWarnings, error 400158), 0 when it completed "
    "first, 6 when it failed, 5 when --timeout elapsed.\n\n"
    "json: the job resource after the request (after the end with --wait). tsv columns: name, "
    "status, operation, entityFriendlyName, jobType, backupManagementType, startTime, endTime, "
    "duration.\n\n"
    + _examples(
        "azjobs cancel $JOB                      # asks first on a terminal",
        "azjobs cancel $JOB --yes --wait         # exit 7 once the job is cancelled",
        "azjobs cancel $JOB --yes -o json | jq -r .properties.status",
    ),
)
def cancel_cmd(
    job: JobArg,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="After the request, follow the job until it ends."),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Do not ask for confirmation (required without a terminal)."
        ),
    ] = False,
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval",
            help="With --wait: seconds between polls of the job (default 10, at least 1).",
            metavar="SECONDS",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            help="Give up after this long (90, 30m, 2h, 1h30m): the "
            "cancel operation and, with --wait, the job; exit 5. Default: the cancel "
            "operation 10 minutes, the job never.",
            metavar="DURATION",
            show_default=False,
        ),
    ] = None,
    subscription: SubscriptionOpt = None,
    resource_group: ResourceGroupOpt = None,
    vault: VaultOpt = None,
    cloud: CloudOpt = None,
    endpoint: EndpointOpt = None,
    api_version: ApiVersionOpt = None,
    output: OutputOpt = None,
    query: QueryOpt = None,
    debug: DebugOpt = False,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
) -> None:
    """Ask the service to cancel a running job; --wait follows it to its end."""
    from azbackupjobs.commands.cancel import CancelCommandOptions, run

    opts = _common(
        subscription,
        resource_group,
        vault,
        cloud,
        endpoint,
        api_version,
        output,
        query,
        debug,
        profile,
        auth,
    )
    copts = CancelCommandOptions(
        job=job, wait=wait, yes=yes, interval=interval, timeout=timeout, **opts
    )
    _run(lambda: run(copts, Environment.from_system()))


_config_app = typer.Typer(
    name="config",
    help="The config file and where each setting comes from.",
    epilog="Settings: flag > environment > config file (profile, then defaults) > az CLI "
    "defaults > built-in default. The file's format: azjobs help config.\n\n"
    + _examples(
        "azjobs config show",
        "azjobs config show --profile prod -o json | jq -r .vault.value",
        "azjobs config path",
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(_config_app)


@_config_app.command(
    "show",
    epilog="Nothing is sent and no credential is needed. A value a command would refuse is "
    "shown, warned about on stderr, and exits 2; a malformed config file is an error (exit 2) "
    "naming the file and line.\n\n"
    "json: {setting: {value, source}}; ndjson: one {setting, value, source} per line; "
    "tsv columns: setting, value, source.\n\n"
    + _examples(
        "azjobs config show",
        "azjobs config show --profile prod",
        "azjobs config show -g other-rg -o json | jq -r .resource_group.source",
        "AZJOBS_PROFILE=gov azjobs config show -o tsv",
    ),
)
def config_show_cmd(
    subscription: SubscriptionOpt = None,
    resource_group: ResourceGroupOpt = None,
    vault: VaultOpt = None,
    cloud: CloudOpt = None,
    endpoint: EndpointOpt = None,
    api_version: ApiVersionOpt = None,
    output: OutputOpt = None,
    query: QueryOpt = None,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
) -> None:
    """Print each resolved setting and where it came from (flag, environment, profile, az CLI
    default, default)."""
    from azbackupjobs.commands.common import CommonOptions
    from azbackupjobs.commands.config_cmd import run_show

    opts = _common(
        subscription,
        resource_group,
        vault,
        cloud,
        endpoint,
        api_version,
        output,
        query,
        False,
        profile,
        auth,
    )
    _run(lambda: run_show(CommonOptions(**opts), Environment.from_system()))


@_config_app.command(
    "path",
    epilog="AZJOBS_CONFIG names another file; otherwise $XDG_CONFIG_HOME/azjobs/config.toml "
    "(~/.config/azjobs/config.toml).\n\n"
    + _examples(
        "azjobs config path",
        'mkdir -p "$(dirname "$(azjobs config path)")" && azjobs help config',
    ),
)
def config_path_cmd() -> None:
    """Print the path of the config file (also when it does not exist yet)."""
    from azbackupjobs.commands.config_cmd import PathOptions, run_path

    _run(lambda: run_path(PathOptions(), Environment.from_system()))


_cache_app = typer.Typer(
    name="cache",
    help="The access tokens and other files azjobs keeps between runs.",
    epilog="Tokens are cached per identity and scope in $XDG_CACHE_HOME/azjobs/tokens "
    "(~/.cache/azjobs/tokens), readable by you only, and never used within 5 minutes of "
    "their expiry. AZJOBS_TOKEN_CACHE=0 turns the cache off.\n\n"
    + _examples(
        "azjobs cache show",
        "azjobs cache show -o json | jq -r '.[].expiresOn'",
        "azjobs cache clear",
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(_cache_app)


@_cache_app.command(
    "show",
    epilog="json: an array of {mode, scope, tenant, expiresOn, usable, file}; tsv columns: "
    "mode, scope, tenant, expiresOn, usable. The tokens themselves are never printed.\n\n"
    + _examples(
        "azjobs cache show",
        "azjobs cache show -o json | jq -r '.[] | \"\\(.mode) \\(.expiresOn)\"'",
    ),
)
def cache_show_cmd(output: OutputOpt = None) -> None:
    """List the cached tokens' scope, tenant and expiry (never the tokens)."""
    from azbackupjobs.commands.cache_cmd import CacheOptions, run_show

    _run(lambda: run_show(CacheOptions(output=output), Environment.from_system()))


@_cache_app.command("clear", epilog=_examples("azjobs cache clear"))
def cache_clear_cmd() -> None:
    """Remove the cached tokens and other cached files."""
    from azbackupjobs.commands.cache_cmd import CacheOptions, run_clear

    _run(lambda: run_clear(CacheOptions(), Environment.from_system()))


@app.command(
    "help",
    epilog=_examples(
        "azjobs help exit-codes",
        "azjobs help environment",
        "azjobs help config",
        "azjobs help watch                  # the same as azjobs watch --help",
    ),
)
def help_cmd(
    ctx: typer.Context,
    topic: Annotated[
        str | None,
        typer.Argument(
            help="exit-codes, environment, config, or a command; without it, the "
            "list of topics and commands.",
            metavar="[TOPIC]",
            show_default=False,
            autocompletion=_completion.complete_help_topic,
        ),
    ] = None,
) -> None:
    """Help topics: exit codes, environment variables, the config file; and each command."""
    from azbackupjobs.commands.help_cmd import HelpOptions, run

    _run(lambda: run(HelpOptions(topic=topic, context=ctx), Environment.from_system()))


def main(argv: list[str] | None = None) -> None:
    """Run the Typer app (``fastpath.main``, the console script, tries a faster path first).

    Only the command that runs is built (``lazy_typer``); ``fastpath.guarded`` maps failures to
    one stderr line and an exit code, for both paths.
    """
    from azbackupjobs.cli.guard import guarded
    from azbackupjobs.cli.lazy import lazy_command

    guarded(lambda: lazy_command(app)(args=argv, prog_name="azjobs"), lambda: _DEBUG)
