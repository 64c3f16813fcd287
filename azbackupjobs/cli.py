"""The command line: flags -> an options object -> ``run_*()`` in ``azbackupjobs.commands``.

No HTTP and no table building here. ``main()`` is the one place that turns an ``AzJobsError``
into one stderr line and its exit code, and signals into 130/143.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import typer

from azbackupjobs import __version__
from azbackupjobs.commands.common import CommonOptions
from azbackupjobs.errors import AzJobsError, ExitCode, StdoutClosed
from azbackupjobs.output import Environment

HELP_EXIT_CODES = """Exit codes: 0 success; 1 API, network or unexpected-response error; 2 usage
error; 3 not found; 4 authentication or authorisation failed; 5 watch timed out; 6 a job
Failed; 7 a job was Cancelled; 8 CompletedWithWarnings under --strict; 130 interrupted;
143 terminated."""

app = typer.Typer(
    name="azjobs",
    help="Track Azure Backup jobs of Recovery Services vaults: get, watch, list, cancel.",
    epilog=HELP_EXIT_CODES,
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
    typer.Option("--subscription", help="Subscription id. Env: AZURE_SUBSCRIPTION_ID.",
                 rich_help_panel=_VAULT_PANEL, show_default=False),
]
ResourceGroupOpt = Annotated[
    str | None,
    typer.Option("--resource-group", "-g", help="Resource group of the vault. "
                 "Env: AZJOBS_RESOURCE_GROUP.", rich_help_panel=_VAULT_PANEL, show_default=False),
]
VaultOpt = Annotated[
    str | None,
    typer.Option("--vault-name", "--vault", "-v", help="Recovery Services vault name. "
                 "Env: AZJOBS_VAULT.", rich_help_panel=_VAULT_PANEL, show_default=False),
]
CloudOpt = Annotated[
    str | None,
    typer.Option("--cloud", help="AzureCloud, AzureChinaCloud or AzureUSGovernment "
                 "(selects the ARM endpoint and token scope).", rich_help_panel=_VAULT_PANEL,
                 show_default=False),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option("--endpoint", help="ARM endpoint URL (https; http only to loopback). "
                 "Env: AZJOBS_ENDPOINT.", rich_help_panel=_VAULT_PANEL, show_default=False),
]
ApiVersionOpt = Annotated[
    str | None,
    typer.Option("--api-version", help="REST api-version (default 2026-10-01). "
                 "Env: AZJOBS_API_VERSION.", rich_help_panel=_VAULT_PANEL, show_default=False),
]
OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="table, json, ndjson or tsv (default: table on a "
                 "terminal, json when piped). Env: AZJOBS_OUTPUT.", rich_help_panel=_OUTPUT_PANEL,
                 show_default=False),
]
QueryOpt = Annotated[
    str | None,
    typer.Option("--query", help="JMESPath expression applied to the JSON before printing.",
                 rich_help_panel=_OUTPUT_PANEL, show_default=False),
]
DebugOpt = Annotated[
    bool,
    typer.Option("--debug", help="Trace requests to stderr (Authorization redacted).",
                 rich_help_panel=_OUTPUT_PANEL),
]
JobArg = Annotated[
    str,
    typer.Argument(help="Job GUID, or the job's full ARM id (which also names subscription, "
                   "group and vault).", show_default=False, metavar="JOB"),
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
) -> CommonOptions:
    global _DEBUG
    _DEBUG = _DEBUG or debug
    return CommonOptions(
        subscription=subscription,
        resource_group=resource_group,
        vault=vault,
        cloud=cloud,
        endpoint=endpoint,
        api_version=api_version,
        output=output,
        query=query,
        debug=debug,
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
        typer.Option("--version", help="Show the version and exit.", is_eager=True,
                     callback=_version_callback),
    ] = False,
) -> None:
    """Track Azure Backup jobs of Recovery Services vaults: get, watch, list, cancel.

    Quick start: `azjobs demo` runs a simulated backup on the built-in emulator.
    """


@app.command(
    "get",
    epilog="Examples:\n\n"
    "  azjobs get 3b6a1d2c-0000-4000-8000-000000000001 -g my-rg -v my-vault\n\n"
    "  azjobs get /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.RecoveryServices/"
    "vaults/VAULT/backupJobs/GUID\n\n"
    "  azjobs get $JOB -o json | jq -r .properties.status\n\n"
    "tsv columns: name, status, operation, entityFriendlyName, jobType, backupManagementType, "
    "startTime, endTime, duration.",
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
) -> None:
    """Show one job: status, tasks with progress, propertyBag and errors."""
    from azbackupjobs.commands.get import run_get

    opts = _common(subscription, resource_group, vault, cloud, endpoint, api_version, output,
                   query, debug)
    _run(lambda: run_get(job, opts, Environment.from_system()))


@app.command(
    "list-tasks",
    epilog="Examples:\n\n"
    "  azjobs list-tasks $JOB\n\n"
    "  azjobs list-tasks $JOB -o json | jq -r '.[] | \"\\(.taskId): \\(.status)\"'\n\n"
    "tsv columns: taskId, status, progressPercentage, startTime, endTime, duration, "
    "taskExecutionDetails.",
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
) -> None:
    """Show a job's tasks (json: the tasksList array as returned, [] when none)."""
    from azbackupjobs.commands.get import run_list_tasks

    opts = _common(subscription, resource_group, vault, cloud, endpoint, api_version, output,
                   query, debug)
    _run(lambda: run_list_tasks(job, opts, Environment.from_system()))


def _report(exc: AzJobsError, stderr: object) -> None:
    from azbackupjobs.text import sanitize

    line = f"azjobs: error: {sanitize(exc.message, 600)}"
    if exc.hint:
        line += f" (hint: {sanitize(exc.hint, 300)})"
    print(line, file=stderr)  # type: ignore[call-overload]


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that context managers restore the terminal."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    if threading_is_main():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(args=argv, prog_name="azjobs")
    except AzJobsError as exc:
        _report(exc, sys.stderr)
        sys.exit(int(exc.exit_code))
    except _Terminated:
        sys.exit(int(ExitCode.TERMINATED))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except (StdoutClosed, BrokenPipeError):
        _silence_stdout()
        sys.exit(int(ExitCode.OK))
    except Exception as exc:
        if _DEBUG or os.environ.get("AZJOBS_TRACEBACK"):
            traceback.print_exc()
        from azbackupjobs.text import sanitize

        print(
            f"azjobs: error: unexpected {type(exc).__name__}: {sanitize(str(exc), 300)} "
            "(please report this; --debug shows details)",
            file=sys.stderr,
        )
        sys.exit(int(ExitCode.ERROR))


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
