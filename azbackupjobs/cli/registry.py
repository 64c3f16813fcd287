"""Every command of azjobs, in one table: help, examples, parameters, options class and run.

Adding a command is one module in ``azbackupjobs/commands/`` (an options dataclass and
``run(options, env) -> exit code``) and one entry in ``PROGRAM`` below. The options every vault
command takes are declared once, in ``COMMON``; adding one is one ``Param`` there plus its field
on ``commands.common.CommonOptions`` (a test checks that every parameter has its field).

Plain data, cheap to import, no Typer: the Typer app and the start-up parser both read it.
"""

from __future__ import annotations

from azbackupjobs.cli.spec import Command, Group, Param, Program, Route, in_panel, option, switch

COMPLETION = "azbackupjobs.cli.completion"
POLL = "azbackupjobs.follow.poll"
COMMANDS = "azbackupjobs.commands"

VAULT_PANEL = "Vault and connection"
OUTPUT_PANEL = "Output"
WATCH_PANEL = "Watching"
FILTER_PANEL = "Filters"
FLEET_PANEL = "Fleet (Azure Resource Graph)"

EXIT_CODES = """Exit codes: 0 success; 1 API, network or unexpected-response error; 2 usage
error; 3 not found; 4 authentication or authorisation failed; 5 watch timed out; 6 a job
Failed; 7 a job was Cancelled; 8 CompletedWithWarnings under --strict; 130 interrupted;
143 terminated."""

TSV_JOB_COLUMNS = (
    "tsv columns: name, status, operation, entityFriendlyName, jobType, backupManagementType, "
    "startTime, endTime, duration."
)

# ----- the options every vault command takes ----------------------------------------------------
SUBSCRIPTION = option(
    "subscription",
    "Subscription id. Env: AZURE_SUBSCRIPTION_ID.",
    "--subscription",
    panel=VAULT_PANEL,
)
RESOURCE_GROUP = option(
    "resource_group",
    "Resource group of the vault. Env: AZJOBS_RESOURCE_GROUP.",
    "--resource-group",
    "-g",
    panel=VAULT_PANEL,
)
VAULT = option(
    "vault",
    "Vault name (a Recovery Services vault or a Backup vault). Env: AZJOBS_VAULT.",
    "--vault-name",
    "--vault",
    "-v",
    panel=VAULT_PANEL,
)
CLOUD = option(
    "cloud",
    "AzureCloud, AzureChinaCloud or AzureUSGovernment (selects the ARM endpoint and token "
    "scope). Env: AZJOBS_CLOUD.",
    "--cloud",
    panel=VAULT_PANEL,
    complete=f"{COMPLETION}:complete_cloud",
)
ENDPOINT = option(
    "endpoint",
    "ARM endpoint URL (https; http only to loopback). Env: AZJOBS_ENDPOINT.",
    "--endpoint",
    panel=VAULT_PANEL,
)
API_VERSION = option(
    "api_version",
    "REST api-version (default 2026-10-01; Backup vaults 2026-06-01). Env: AZJOBS_API_VERSION.",
    "--api-version",
    panel=VAULT_PANEL,
)
OUTPUT = option(
    "output",
    "table, json, ndjson or tsv (default: table on a terminal, json when piped). "
    "Env: AZJOBS_OUTPUT.",
    "--output",
    "-o",
    panel=OUTPUT_PANEL,
    complete=f"{COMPLETION}:complete_output",
)
QUERY = option(
    "query",
    "JMESPath expression applied to the JSON before printing.",
    "--query",
    panel=OUTPUT_PANEL,
)
DEBUG = switch(
    "debug", "Trace requests to stderr (Authorization redacted).", "--debug", panel=OUTPUT_PANEL
)
PROFILE = option(
    "profile",
    "Named profile of the config file (see `azjobs help config`). Env: AZJOBS_PROFILE.",
    "--profile",
    panel=VAULT_PANEL,
    complete=f"{COMPLETION}:complete_profile",
)
AUTH = option(
    "auth",
    "Credential: default (AZJOBS_ACCESS_TOKEN, else the azure-identity chain), cli, "
    "managed-identity, env or token. Env: AZJOBS_AUTH.",
    "--auth",
    metavar="MODE",
    panel=VAULT_PANEL,
    complete=f"{COMPLETION}:complete_auth",
)

VAULT_TYPE = Param(
    "vault_type",
    "recovery-services or backup: the kind of vault (default: named by a job's ARM id, else "
    "looked up once and remembered). Env: AZJOBS_VAULT_TYPE.",
    ("--vault-type",),
    metavar="KIND",
    panel=VAULT_PANEL,
    show_default=False,
    complete=f"{COMPLETION}:complete_vault_type",
)

# The fields of commands.common.CommonOptions, in the order help lists them.
COMMON: tuple[Param, ...] = (
    SUBSCRIPTION,
    RESOURCE_GROUP,
    VAULT,
    CLOUD,
    ENDPOINT,
    API_VERSION,
    OUTPUT,
    QUERY,
    DEBUG,
    PROFILE,
    AUTH,
    VAULT_TYPE,
)


def common(*, without: tuple[str, ...] = ()) -> tuple[Param, ...]:
    """``COMMON`` less the named options (``config show`` sends nothing: no ``--debug``)."""
    return tuple(p for p in COMMON if p.name not in without)


# ----- parameters that several commands share ----------------------------------------------------
JOB = Param(
    "job",
    "Job GUID, or the job's full ARM id (which also names subscription, group and vault).",
    required=True,
    metavar="JOB",
    show_default=False,
    complete=f"{COMPLETION}:complete_job",
)
FLEET = switch(
    "fleet",
    "Every vault in scope at once, through one Azure Resource Graph query (needs Reader on the "
    "subscriptions; no group or vault). Resource Graph lags the vault API a little.",
    "--fleet",
    panel=FLEET_PANEL,
)
SUBSCRIPTIONS = option(
    "subscriptions",
    "With --fleet: only these subscriptions (repeat it or separate with commas). Default: "
    "every subscription the credential can read.",
    "--subscriptions",
    multiple=True,
    metavar="S1,S2",
    panel=FLEET_PANEL,
)
MANAGEMENT_GROUP = option(
    "management_group",
    "With --fleet: the subscriptions under this management group.",
    "--management-group",
    metavar="MG",
    panel=FLEET_PANEL,
)

# ``--fleet`` and the flags that narrow its scope: list, watch and metrics take them alike.
FLEET_SCOPE = (FLEET, SUBSCRIPTIONS, MANAGEMENT_GROUP)

SECONDARY_PANEL = "Secondary region (cross-region restore)"
_SECONDARY_HELP = (
    "The vault's cross-region restore jobs, which run in its paired region (looked up from "
    "the vault's location and ARM's region pairs, once, then remembered). A cross-region "
    "restore job's full id implies it."
)
PAIRED_REGION = option(
    "paired_region",
    "The region to read cross-region restore jobs in, instead of looking up the vault's "
    "pair (implies --secondary-region).",
    "--paired-region",
    metavar="REGION",
    panel=SECONDARY_PANEL,
)
# get, list-tasks and list; watch says more about its interval (WATCH_SECONDARY_REGION).
SECONDARY_REGION = (
    switch("secondary_region", _SECONDARY_HELP, "--secondary-region", panel=SECONDARY_PANEL),
    PAIRED_REGION,
)
WATCH_SECONDARY_REGION = (
    switch(
        "secondary_region",
        _SECONDARY_HELP + " These reads are POSTs, which ARM counts against the subscription's "
        "write quota (1200 an hour): the default --interval here is 30 s (120 requests an hour "
        "per job, room for a few watches and the writes people make), and polling slows down "
        "further while fewer than 100 writes are left.",
        "--secondary-region",
        panel=SECONDARY_PANEL,
    ),
    PAIRED_REGION,
)

DEADLINE = option(
    "timeout",
    "Give up after this long (90, 30m, 2h, 1h30m), the requests in flight included. "
    "Default: no limit.",
    "--timeout",
    metavar="DURATION",
    convert=f"{POLL}:parse_timeout",
)

# ----- the commands -------------------------------------------------------------------------------
GET = Command(
    "get",
    "Show one job: status, tasks with progress, propertyBag and errors.",
    (JOB, DEADLINE, *SECONDARY_REGION, *COMMON),
    options=f"{COMMANDS}.get:GetOptions",
    run=f"{COMMANDS}.get:run",
    notes=TSV_JOB_COLUMNS,
    examples=(
        "azjobs get 3b6a1d2c-0000-4000-8000-000000000001 -g my-rg -v my-vault",
        "azjobs get /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.RecoveryServices/"
        "vaults/VAULT/backupJobs/GUID",
        "azjobs get $JOB -o json | jq -r .properties.status",
        "azjobs get $JOB --query properties.status -o tsv",
    ),
    fast=True,
)

LIST_TASKS = Command(
    "list-tasks",
    "Show a job's tasks (json: the tasksList array as returned, [] when none).",
    (JOB, DEADLINE, *SECONDARY_REGION, *COMMON),
    options=f"{COMMANDS}.get:GetOptions",
    run=f"{COMMANDS}.get:run_list_tasks",
    notes="tsv columns: taskId, status, progressPercentage, startTime, endTime, duration, "
    "taskExecutionDetails.",
    examples=(
        "azjobs list-tasks $JOB",
        "azjobs list-tasks $JOB -o json | jq -r '.[] | \"\\(.taskId): \\(.status)\"'",
    ),
    fast=True,
)

WATCH = Command(
    "watch",
    "Follow jobs until they end: a live view, a stream for scripts, a meaningful exit code.",
    (
        Param(
            "jobs",
            "Job GUIDs or full ARM ids (all in one vault).",
            multiple=True,
            metavar="[JOB]...",
            show_default=False,
            complete=f"{COMPLETION}:complete_watch_job",
        ),
        *in_panel(
            WATCH_PANEL,
            option(
                "operation",
                "An Azure-AsyncOperation / operationsStatus URL, or a backupOperations id of the "
                "vault: wait for the operation, then watch the job(s) it started. A failed "
                "operation: exit 1.",
                "--operation",
                metavar="URL_OR_ID",
            ),
            switch(
                "all_jobs",
                "Watch every InProgress or Cancelling job of the vault (started in the last 7 "
                "days).",
                "--all",
            ),
            option(
                "interval",
                "Seconds between polls, at least 1 (default 10, or the config file's interval); a "
                "little jitter is added, and polling slows down after throttling.",
                "--interval",
                metavar="SECONDS",
                convert=f"{POLL}:parse_interval",
            ),
            option(
                "timeout",
                "Give up after this long (90, 30m, 2h, 1h30m): exit 5, the last state shown. "
                "Default: never.",
                "--timeout",
                metavar="DURATION",
                convert=f"{POLL}:parse_timeout",
            ),
            Param(
                "grace",
                "How long a job that is not found counts as 'not visible yet' (the service lags "
                "after a trigger).",
                ("--grace",),
                default="60",
                metavar="DURATION",
                convert=f"{COMMANDS}.watch:parse_grace",
            ),
            switch("strict", "CompletedWithWarnings fails (exit 8).", "--strict"),
            switch(
                "fail_fast",
                "Several jobs: stop at the first one that fails or is cancelled (the others keep "
                "running).",
                "--fail-fast",
            ),
            switch("compact", "Several jobs: one row per job, no details.", "--compact"),
            switch("bell", "Ring the terminal bell when the watch ends.", "--bell"),
        ),
        *WATCH_SECONDARY_REGION,
        *FLEET_SCOPE,
        *in_panel(
            FLEET_PANEL,
            option(
                "fleet_status",
                "With --fleet: the running states to follow, InProgress and/or Cancelling "
                "(default both).",
                "--status",
                multiple=True,
                metavar="STATUS",
                complete=f"{COMPLETION}:complete_status",
            ),
            option(
                "since",
                "With --fleet: jobs that started since then (default 7d).",
                "--since",
                metavar="TIME",
            ),
            switch(
                "details",
                "With --fleet: also read the newest running jobs' tasks and progress through the "
                "vault API (more requests).",
                "--details",
            ),
        ),
        *COMMON,
    ),
    options=f"{COMMANDS}.options:WatchCommandOptions",
    run=f"{COMMANDS}.watch:run",
    routes=(Route("fleet_requested", f"{COMMANDS}.watch:run_fleet"),),
    notes="Output: on a terminal a live view; piped -o table plain lines, one per change; "
    "ndjson the job resource each time it changes (the first poll included); json (the default "
    "when piped) the final resource, an array with several jobs or --all.\n\n"
    "Exit: 0 every job Completed (CompletedWithWarnings too, with a warning, unless --strict: "
    "8); 6 Failed; 7 Cancelled (also a VM backup cancelled into CompletedWithWarnings, error "
    "400158); with several jobs 6 over 7 over 8 over 0; 5 when --timeout elapsed first; "
    "3 a job not found after --grace (or no such vault or group); 1 an API or network error, "
    "or a failed --operation; 2 a usage error; 4 authentication or authorisation failed; "
    "130 Ctrl-C; 143 SIGTERM.\n\n"
    "--fleet: the running jobs of every vault in scope (default: every subscription the "
    "credential can read), one Azure Resource Graph query per --interval, until none is "
    "running; the exit code is the worst outcome of the jobs seen to end. Piped -o table: a "
    "line per job that starts or ends; json and tsv: the watched jobs at the end.\n\n"
    f"{TSV_JOB_COLUMNS}",
    examples=(
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

DEMO = Command(
    "demo",
    "Run simulated backups on the built-in emulator, one per kind of vault, and watch them, "
    "end to end.",
    (
        option(
            "speed",
            "Emulated seconds per real second (default 60: the 23-minute backup takes about "
            "25 seconds).",
            "--speed",
            metavar="FACTOR",
            convert=f"{COMMANDS}.demo:parse_speed",
        ),
        Param(
            "interval",
            "Seconds between polls.",
            ("--interval",),
            default="1",
            metavar="SECONDS",
            convert=f"{POLL}:parse_interval",
        ),
        OUTPUT,
        QUERY,
        DEBUG,
    ),
    options=f"{COMMANDS}.demo:DemoOptions",
    run=f"{COMMANDS}.demo:run",
    notes="No Azure account and no network needed: the emulator runs inside azjobs on a free "
    "loopback port and stops with the demo. It backs up a VM in a Recovery Services vault and a "
    "disk in a Backup vault and watches both jobs in one view. The exit code is the watched "
    "jobs', as for watch.",
    examples=(
        "azjobs demo                                # the live view, about 25 seconds",
        "azjobs demo -o ndjson | jq -r .properties.status",
        "azjobs demo --speed 600                    # faster",
    ),
)

EMULATOR = Command(
    "emulator",
    "Serve a local emulator of the Backup jobs API and print the environment to use it.",
    (
        Param(
            "host",
            "Address to listen on (loopback unless --allow-remote).",
            ("--host",),
            default="127.0.0.1",
        ),
        Param("port", "TCP port; 0 picks a free one.", ("--port",), kind="int", default=8765),
        Param(
            "speed",
            "Emulated seconds per real second.",
            ("--speed",),
            kind="float",
            default=1.0,
            metavar="FACTOR",
        ),
        option("seed", "Seed for job ids and faults (deterministic runs).", "--seed", kind="int"),
        Param(
            "faults",
            "Share of API requests that get a fault (0-1).",
            ("--faults",),
            kind="float",
            default=0.0,
            metavar="RATE",
        ),
        option(
            "fault_kinds",
            "Comma-separated: 429,500,503,reset,slow,truncated (default all).",
            "--fault-kinds",
        ),
        Param("page_size", "Jobs per list page.", ("--page-size",), kind="int", default=20),
        switch(
            "tls",
            "Serve https with a generated self-signed CA (prints REQUESTS_CA_BUNDLE).",
            "--tls",
        ),
        option("state", "Persist jobs across restarts.", "--state", metavar="FILE"),
        option("token", "Bearer token to accept (default azjobs-emulator-token).", "--token"),
        switch("allow_remote", "Allow a non-loopback --host.", "--allow-remote"),
        switch("empty", "Start with no seeded jobs.", "--empty"),
        switch("log", "One line per request on stderr.", "--log"),
    ),
    options=f"{COMMANDS}.emulator_cmd:EmulatorOptions",
    run=f"{COMMANDS}.emulator_cmd:run",
    examples=(
        "azjobs emulator                            # prints the exports; Ctrl-C to stop",
        "azjobs emulator > emu.env & sleep 1; . ./emu.env   # in the background",
        "azjobs emulator --speed 60 --faults 0.2 --seed 7",
        "azjobs emulator --tls                      # https with a generated CA",
    ),
)

LIST = Command(
    "list",
    "List the vault's jobs in a time window (default: the last 24 hours), newest first.",
    (
        *in_panel(
            FILTER_PANEL,
            option(
                "status",
                "InProgress, Completed, CompletedWithWarnings, Failed, Cancelling or Cancelled, "
                "any casing; repeat it or separate with commas.",
                "--status",
                multiple=True,
                metavar="STATUS",
                complete=f"{COMPLETION}:complete_status",
            ),
            option(
                "operation",
                "Backup, Restore, ConfigureBackup, DisableBackup, DeleteBackupData, "
                "CrossRegionRestore, Undelete, UpdateCustomerManagedKey, Register or UnRegister.",
                "--operation",
                metavar="OPERATION",
                complete=f"{COMPLETION}:complete_operation",
            ),
            option(
                "backup_type",
                "AzureIaasVM, AzureStorage, AzureWorkload, MAB, DPM, AzureBackupServer, AzureSql "
                "or DefaultBackup.",
                "--type",
                "--backup-management-type",
                metavar="TYPE",
                complete=f"{COMPLETION}:complete_management_type",
            ),
            option(
                "job_id",
                "Only the job with this GUID (within the window).",
                "--job-id",
                metavar="GUID",
            ),
            option(
                "since",
                "Start of the window (default: 24 hours before --until).",
                "--since",
                metavar="TIME",
            ),
            option(
                "until",
                "End of the window (default: now).",
                "--until",
                metavar="TIME",
            ),
            option(
                "entity",
                "Only jobs whose entity name (VM, database, share) contains this text, any casing.",
                "--entity",
                metavar="TEXT",
            ),
            option(
                "limit",
                "At most N jobs, newest first; stops fetching there. 0: all. Default: all (the "
                "table: the newest 100).",
                "--limit",
                kind="int",
                metavar="N",
            ),
        ),
        *FLEET_SCOPE,
        option(
            "by",
            "With --fleet: count the jobs per vault, status or operation instead of listing them.",
            "--by",
            metavar="vault|status|operation",
            panel=FLEET_PANEL,
            complete=f"{COMPLETION}:complete_by",
        ),
        *SECONDARY_REGION,
        DEADLINE,
        *COMMON,
    ),
    options=f"{COMMANDS}.options:ListCommandOptions",
    run=f"{COMMANDS}.list_jobs:run",
    routes=(Route("fleet_requested", f"{COMMANDS}.list_jobs:run_fleet"),),
    notes="Times: 90m, 24h, 7d, 2w (ago), now, a date (2024-05-01: local midnight; with "
    "--until the whole day), or a date and time (2024-05-01T14:30 local, 2024-05-01T12:30Z). "
    "Windows longer than 30 days are fetched as 30-day windows, newest first.\n\n"
    "Output: jobs newest first; json is one array ([] when none, exit 0), ndjson one job per "
    "line as pages arrive. --query applies to the whole array (and so waits for it).\n\n"
    f"{TSV_JOB_COLUMNS}\n\n"
    "--fleet: the same filters, compiled into one Azure Resource Graph query over every vault "
    "of the scope (default: every subscription the credential can read); the output has the "
    "same shape. --by counts instead: json an array of {subscriptionId, resourceGroup, vault, "
    "jobs, statuses} (vault), {status, jobs, vaults} (status) or {operation, jobs, vaults, "
    "statuses} (operation); tsv columns: the keys, then with vault and operation one count "
    "per status (InProgress, Completed, CompletedWithWarnings, Failed, Cancelling, "
    "Cancelled).",
    examples=(
        "azjobs list                                   # the last 24 hours",
        "azjobs list --status Failed --since 7d --type AzureIaasVM",
        "azjobs list --since 30d --status Failed -o json | jq length",
        "azjobs list --status InProgress -o ndjson | jq -r .name",
        "azjobs list --fleet --status Failed          # every vault you can read",
        "azjobs list --fleet --by vault --since 7d     # counts per vault and status",
        "azjobs list --fleet --subscriptions $SUB1,$SUB2 -o ndjson | jq -r .id",
    ),
    fast=True,
)

CANCEL = Command(
    "cancel",
    "Ask the service to cancel a running job; --wait follows it to its end.",
    (
        JOB,
        switch("wait", "After the request, follow the job until it ends.", "--wait"),
        switch("yes", "Do not ask for confirmation (required without a terminal).", "--yes", "-y"),
        option(
            "interval",
            "With --wait: seconds between polls of the job (default 10, at least 1).",
            "--interval",
            metavar="SECONDS",
        ),
        option(
            "timeout",
            "Give up after this long (90, 30m, 2h, 1h30m): the cancel operation and, with "
            "--wait, the job; exit 5. Default: the cancel operation 10 minutes, the job never.",
            "--timeout",
            metavar="DURATION",
        ),
        *COMMON,
    ),
    options=f"{COMMANDS}.cancel:CancelCommandOptions",
    run=f"{COMMANDS}.cancel:run",
    notes="Without a terminal, --yes is required (exit 2 otherwise). A job that is not "
    "running, or that the service does not offer to cancel, is refused before anything is sent "
    "(exit 1); with --wait, a job already cancelling is followed to its end and one that already "
    "ended gives its outcome at once, so that a cancel --wait can be repeated. With --wait the "
    "exit code is the job's: 7 when cancelled (also when the service "
    "ends a cancelled VM backup as CompletedWithWarnings, error 400158), 0 when it completed "
    "first, 6 when it failed, 5 when --timeout elapsed.\n\n"
    "json: the job resource after the request (after the end with --wait). "
    f"{TSV_JOB_COLUMNS}",
    examples=(
        "azjobs cancel $JOB                      # asks first on a terminal",
        "azjobs cancel $JOB --yes --wait         # exit 7 once the job is cancelled",
        "azjobs cancel $JOB --yes -o json | jq -r .properties.status",
    ),
)

BACKUP_PANEL = "Backup"

BACKUP_NOW = Command(
    "backup-now",
    "Trigger an on-demand backup of a protected item or backup instance; print its job, or "
    "--watch it.",
    (
        Param(
            "item",
            "A Recovery Services protected item's friendly name (a VM, file share or database), "
            "or a Backup vault instance's friendly name, datasource name or instance name (any "
            "casing); or the full ARM id of either (which also names subscription, group and "
            "vault).",
            required=True,
            metavar="ITEM",
            show_default=False,
        ),
        *in_panel(
            BACKUP_PANEL,
            option(
                "item_type",
                "Only items of this kind: vm, fileshare, sql or hana (a name several kinds share).",
                "--item-type",
                metavar="TYPE",
            ),
            option(
                "backup_type",
                "SQL and SAP HANA databases: Full (default), Differential, Log or CopyOnlyFull "
                "(SAP HANA also Incremental).",
                "--backup-type",
                metavar="TYPE",
            ),
            option(
                "retain_until",
                "Keep the recovery point until then: a date (the whole day) or a date and time; "
                "local time unless a zone is given.",
                "--retain-until",
                metavar="DATE",
            ),
            option(
                "retain_days",
                "Keep the recovery point this many days (default 30; at most 99 years).",
                "--retain-days",
                kind="int",
                metavar="N",
            ),
            option(
                "rule",
                "Backup vault instances: the backup rule of the instance's policy to run "
                "(default: the policy's only backup rule).",
                "--rule",
                metavar="NAME",
            ),
            option(
                "retention_tag",
                "Backup vault instances: the retention tag of the rule to keep the recovery point "
                "under (default: the rule's default tag, Default).",
                "--retention-tag",
                metavar="TAG",
            ),
        ),
        *in_panel(
            WATCH_PANEL,
            switch(
                "watch",
                "Follow the job until it ends, as `azjobs watch` does, with its exit codes.",
                "--watch",
            ),
            option(
                "interval",
                "With --watch: seconds between polls (default 10, at least 1).",
                "--interval",
                metavar="SECONDS",
                convert=f"{POLL}:parse_interval",
            ),
            option(
                "timeout",
                "Give up after this long (90, 30m, 2h, 1h30m): the start of the backup and, with "
                "--watch, the job; exit 5. Default: the start 10 minutes, the job never.",
                "--timeout",
                metavar="DURATION",
                convert=f"{POLL}:parse_timeout",
            ),
            switch("strict", "With --watch: CompletedWithWarnings fails (exit 8).", "--strict"),
        ),
        *COMMON,
    ),
    options=f"{COMMANDS}.backup_now:BackupNowOptions",
    run=f"{COMMANDS}.backup_now:run",
    notes="Nothing is sent before every check passes: the flags, the retention, the item (found "
    "once, by name or id; a name several items share is exit 2 listing their ids, an unknown "
    "one exit 3), and the backup type or backup rule it takes. The request is sent once, never "
    "retried: when its answer is lost, the item's running backup job is looked for instead. A "
    "backup the service refuses (one already running) is exit 1 with its message.\n\n"
    "Retention: VMs, file shares and Full or CopyOnlyFull database backups keep their recovery "
    "point until --retain-until, or for --retain-days (default 30); Differential and Log "
    "backups are kept as the item's policy says. A Backup vault instance's recovery point is "
    "kept as its rule's retention tag says: --rule and --retention-tag are checked against "
    "the instance's policy (a policy with several backup rules needs --rule; exit 2 lists "
    "them).\n\n"
    "Output: once the service has started the job, the job as `azjobs get` prints it, exit 0; "
    "with --watch, as `azjobs watch` (exit 0, 5, 6, 7 or 8).\n\n"
    f"{TSV_JOB_COLUMNS}",
    examples=(
        "azjobs backup-now vm1                          # prints the new job",
        "azjobs backup-now vm1 --watch --timeout 2h && ./patch.sh",
        "JOB=$(azjobs backup-now vm1 --query name -o tsv)",
        "azjobs backup-now salesdb --item-type sql --backup-type CopyOnlyFull --retain-days 7",
        "azjobs backup-now finance-share --retain-until 2030-01-31",
        "azjobs backup-now disk1 -v bvault1 --watch   # a Backup vault instance",
        "azjobs backup-now pg-orders -v bvault1 --rule BackupWeekly --retention-tag Weekly",
    ),
)

METRICS_PANEL = "Metrics"

METRICS = Command(
    "metrics",
    "Backup jobs as Prometheus metrics: printed once, or served for scraping.",
    (
        *in_panel(
            METRICS_PANEL,
            option(
                "since",
                "Start of the window (default 24h); cover your alert's threshold: --since 2d for "
                "'no successful backup in 26 hours'. With --serve, a duration.",
                "--since",
                metavar="TIME",
            ),
            option(
                "format",
                "prometheus (text 0.0.4, the default) or openmetrics; with --serve each scrape's "
                "Accept header picks.",
                "--format",
                "--output",
                "-o",
                metavar="FORMAT",
                complete=f"{COMPLETION}:complete_metrics_format",
            ),
            option(
                "write",
                "Write the exposition to FILE (atomically, mode 0644) instead of stdout.",
                "--write",
                metavar="FILE",
            ),
            option(
                "serve",
                "Serve /metrics and /healthz until stopped (:PORT is loopback; 0.0.0.0:PORT every "
                "interface, with a warning).",
                "--serve",
                metavar="HOST:PORT",
            ),
            option(
                "refresh",
                "With --serve: read Azure again this often (default 5m, at least 1m).",
                "--refresh",
                metavar="DURATION",
            ),
        ),
        *FLEET_SCOPE,
        *common(without=("output", "query")),
    ),
    options=f"{COMMANDS}.metrics:MetricsCommandOptions",
    run=f"{COMMANDS}.metrics:run",
    notes="Families: azjobs_jobs (jobs that started in the window, by vault, vault_type, "
    "operation and status), azjobs_jobs_running, azjobs_last_job_end_timestamp_seconds; per "
    "protected item or backup instance (item, item_type) of its backups: "
    "azjobs_item_last_success_timestamp_seconds (Completed or CompletedWithWarnings; 0 when "
    "none in the window), azjobs_item_last_backup_status, "
    "azjobs_item_last_backup_duration_seconds, azjobs_item_backup_progress_ratio; and the "
    "exporter's own azjobs_exporter_* (last refresh time and success, data age, Azure requests "
    "and throttles).\n\n"
    "Once: one exposition on stdout, or --write FILE (replaced atomically, mode 0644, for "
    "node_exporter's textfile collector). --serve HOST:PORT serves /metrics and /healthz "
    "(loopback unless an address is named: :9464 is 127.0.0.1:9464), refreshed from Azure in "
    "the background every --refresh, so a scrape never waits; a failed refresh keeps the last "
    "data (azjobs_exporter_last_refresh_success 0, its age growing); /healthz is 503 after two "
    "intervals without a successful refresh. SIGTERM stops it: exit 143 (systemd: "
    "SuccessExitStatus=143).",
    examples=(
        "azjobs metrics                            # the vault's last 24 hours, once",
        "azjobs metrics -o openmetrics | grep azjobs_item_last_backup_status",
        "azjobs metrics --fleet --since 2d --write /var/lib/node_exporter/textfile/azjobs.prom",
        "azjobs metrics --fleet --since 2d --serve :9464",
        "azjobs metrics --serve 0.0.0.0:9464 --refresh 10m   # every interface: a warning",
    ),
)

HELP = Command(
    "help",
    "Help topics: exit codes, environment variables, the config file; and each command.",
    (
        Param(
            "topic",
            "exit-codes, environment, config, or a command; without it, the list of topics and "
            "commands.",
            metavar="[TOPIC]",
            show_default=False,
            complete=f"{COMPLETION}:complete_help_topic",
        ),
    ),
    options=f"{COMMANDS}.help_cmd:HelpOptions",
    run=f"{COMMANDS}.help_cmd:run",
    examples=(
        "azjobs help exit-codes",
        "azjobs help environment",
        "azjobs help config",
        "azjobs help watch                  # the same as azjobs watch --help",
    ),
    with_context=True,
)

CONFIG = Group(
    "config",
    "The config file and where each setting comes from.",
    (
        Command(
            "show",
            "Print each resolved setting and where it came from (flag, environment, profile, "
            "az CLI default, default).",
            common(without=("debug",)),
            options=f"{COMMANDS}.common:CommonOptions",
            run=f"{COMMANDS}.config_cmd:run_show",
            notes="Nothing is sent and no credential is needed. A value a command would refuse "
            "is shown, warned about on stderr, and exits 2; a malformed config file is an error "
            "(exit 2) naming the file and line.\n\n"
            "json: {setting: {value, source}}; ndjson: one {setting, value, source} per line; "
            "tsv columns: setting, value, source.",
            examples=(
                "azjobs config show",
                "azjobs config show --profile prod",
                "azjobs config show -g other-rg -o json | jq -r .resource_group.source",
                "AZJOBS_PROFILE=gov azjobs config show -o tsv",
            ),
        ),
        Command(
            "path",
            "Print the path of the config file (also when it does not exist yet).",
            (),
            options=f"{COMMANDS}.config_cmd:PathOptions",
            run=f"{COMMANDS}.config_cmd:run_path",
            notes="AZJOBS_CONFIG names another file; otherwise $XDG_CONFIG_HOME/azjobs/"
            "config.toml (~/.config/azjobs/config.toml).",
            examples=(
                "azjobs config path",
                'mkdir -p "$(dirname "$(azjobs config path)")" && azjobs help config',
            ),
        ),
    ),
    notes="Settings: flag > environment > config file (profile, then defaults) > az CLI "
    "defaults > built-in default. The file's format: azjobs help config.",
    examples=(
        "azjobs config show",
        "azjobs config show --profile prod -o json | jq -r .vault.value",
        "azjobs config path",
    ),
)

CACHE = Group(
    "cache",
    "The access tokens and other files azjobs keeps between runs.",
    (
        Command(
            "show",
            "List the cached tokens' scope, tenant and expiry (never the tokens).",
            (OUTPUT,),
            options=f"{COMMANDS}.cache_cmd:CacheOptions",
            run=f"{COMMANDS}.cache_cmd:run_show",
            notes="json: an array of {mode, scope, tenant, expiresOn, usable, file}; tsv "
            "columns: mode, scope, tenant, expiresOn, usable. The tokens themselves are never "
            "printed.",
            examples=(
                "azjobs cache show",
                "azjobs cache show -o json | jq -r '.[] | \"\\(.mode) \\(.expiresOn)\"'",
            ),
        ),
        Command(
            "clear",
            "Remove the cached tokens and other cached files.",
            (),
            options=f"{COMMANDS}.cache_cmd:CacheOptions",
            run=f"{COMMANDS}.cache_cmd:run_clear",
            examples=("azjobs cache clear",),
        ),
    ),
    notes="Tokens are cached per identity and scope in $XDG_CACHE_HOME/azjobs/tokens "
    "(~/.cache/azjobs/tokens), readable by you only, and never used within 5 minutes of their "
    "expiry. AZJOBS_TOKEN_CACHE=0 turns the cache off.",
    examples=(
        "azjobs cache show",
        "azjobs cache show -o json | jq -r '.[].expiresOn'",
        "azjobs cache clear",
    ),
)

PROGRAM = Program(
    "azjobs",
    "Track Azure Backup jobs of Recovery Services vaults: get, watch, list, cancel.",
    (
        GET,
        LIST_TASKS,
        WATCH,
        DEMO,
        EMULATOR,
        LIST,
        CANCEL,
        BACKUP_NOW,
        METRICS,
        HELP,
        CONFIG,
        CACHE,
    ),
    notes=EXIT_CODES + " Details: azjobs help exit-codes.",
    examples=(
        "azjobs demo                        # a simulated backup on the built-in emulator",
        "azjobs list --status InProgress    # the vault's running jobs",
        "azjobs watch $JOB                  # follow a job until it ends",
        "azjobs help environment            # the variables azjobs reads",
    ),
)
