"""``azjobs help [TOPIC]``: the things a script author looks up, and each command's help.

Topics are plain text on stdout (they are what was asked for), so ``azjobs help exit-codes |
grep`` works. The texts are built from the same tables the code uses (``ExitCode``, the config
keys), and the test suite checks them against the README.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.view.output import Environment

EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success; for watch, every job ended Completed (or CompletedWithWarnings "
    "without --strict)",
    ExitCode.ERROR: "an API, network or unexpected-response error",
    ExitCode.USAGE: "usage: a bad flag or value, a malformed config file, missing "
    "subscription/group/vault, a malformed job id, an endpoint refused by the security rules",
    ExitCode.NOT_FOUND: "not found: job, vault or resource group",
    ExitCode.AUTH: "authentication or authorisation failed (no credential, 401, 403)",
    ExitCode.TIMEOUT: "watch --timeout elapsed before the jobs ended",
    ExitCode.JOB_FAILED: "a watched job ended Failed",
    ExitCode.JOB_CANCELLED: "a watched job ended Cancelled",
    ExitCode.JOB_WARNINGS: "a watched job ended CompletedWithWarnings under --strict",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); the terminal is restored",
    ExitCode.TERMINATED: "terminated (SIGTERM); the terminal is restored",
}

# (variable, meaning); every AZJOBS_* variable the code reads must be here (a test checks).
ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("AZURE_SUBSCRIPTION_ID", "subscription id (also AZJOBS_SUBSCRIPTION); like --subscription"),
    ("AZJOBS_SUBSCRIPTION", "subscription id, when AZURE_SUBSCRIPTION_ID is not set"),
    ("AZJOBS_RESOURCE_GROUP", "resource group of the vault; like --resource-group/-g"),
    ("AZJOBS_VAULT", "Recovery Services vault name; like --vault-name/-v"),
    ("AZJOBS_CLOUD", "AzureCloud, AzureChinaCloud or AzureUSGovernment; like --cloud"),
    ("AZJOBS_ENDPOINT", "ARM endpoint URL (https; http to loopback only); like --endpoint"),
    ("AZJOBS_API_VERSION", "REST api-version; like --api-version"),
    (
        "AZJOBS_VAULT_TYPE",
        "recovery-services or backup: the kind of vault; like --vault-type",
    ),
    (
        "AZJOBS_GRAPH_API_VERSION",
        "api-version of Azure Resource Graph for --fleet (default 2021-03-01)",
    ),
    ("AZJOBS_OUTPUT", "table, json, ndjson or tsv; like --output/-o"),
    ("AZJOBS_PROFILE", "profile of the config file; like --profile"),
    ("AZJOBS_CONFIG", "path of the config file (default $XDG_CONFIG_HOME/azjobs/config.toml)"),
    (
        "AZJOBS_ACCESS_TOKEN",
        "a bearer token for ARM, used instead of azure-identity "
        "(e.g. from `az account get-access-token`); never printed",
    ),
    ("AZJOBS_AUTH", "credential: default, cli, managed-identity, env or token; like --auth"),
    ("AZJOBS_TOKEN_CACHE", "0 turns off the on-disk token cache ($XDG_CACHE_HOME/azjobs/tokens)"),
    (
        "AZJOBS_FASTPATH",
        "0 sends every invocation through the full command parser (the fast "
        "path of get, list-tasks and list is skipped)",
    ),
    ("AZJOBS_TRACEBACK", "set to print a Python traceback on an unexpected error"),
    (
        "AZURE_CONFIG_DIR",
        "the az CLI's configuration directory (default ~/.azure), read for "
        "its default subscription, group and cloud",
    ),
    ("XDG_CONFIG_HOME", "base of the config file's default path (default ~/.config)"),
    (
        "XDG_CACHE_HOME",
        "base of azjobs' caches: azjobs/jobs.json for shell completion, "
        "azjobs/tokens (default ~/.cache)",
    ),
    ("NO_COLOR", "set to any value: no colours"),
    (
        "AZURE_TOKEN_CREDENTIALS",
        "narrows azure-identity's chain (dev, prod, or one credential such as AzureCliCredential)",
    ),
    (
        "AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET, ...",
        "read by azure-identity (service principal, workload or managed identity)",
    ),
)

_PRECEDENCE = (
    "Precedence, for each setting: flag, then environment, then the config file (the selected "
    "profile, then the file's top-level defaults), then the az CLI's defaults (`az account "
    "set`, `az config set defaults.group=...`), then the built-in default. `azjobs config show` "
    "prints each resolved setting and where it came from."
)


WIDTH = 88


def _columns(rows: list[tuple[str, str]], gap: int = 2) -> str:
    """Two columns, the right one wrapped with a hanging indent."""
    import textwrap

    width = max(len(left) for left, _ in rows) + gap
    lines = []
    for left, right in rows:
        wrapped = textwrap.wrap(right, WIDTH - width - 2) or [""]
        lines.append(f"  {left.ljust(width)}{wrapped[0]}")
        lines.extend(" " * (width + 2) + more for more in wrapped[1:])
    return "\n".join(lines)


def _wrap(text: str, indent: str = "") -> str:
    """Paragraphs (separated by blank lines) filled to the help's width."""
    import textwrap

    return "\n\n".join(
        textwrap.fill(" ".join(p.split()), WIDTH, initial_indent=indent, subsequent_indent=indent)
        for p in text.split("\n\n")
    )


def exit_codes_text() -> str:
    rows = [(str(int(code)), meaning) for code, meaning in EXIT_CODES.items()]
    return (
        "Exit codes (stable; scripts may rely on them):\n\n"
        + _columns(rows)
        + "\n\n"
        + _wrap(
            "With several jobs the most severe outcome sets the code: 6 over 7 over 8 over "
            "0; 5 when the timeout came first. Errors are one line on stderr; data goes to "
            "stdout only."
        )
        + "\n"
    )


def environment_text() -> str:
    return (
        "Environment variables:\n\n"
        + "\n".join(f"  {name}\n{_wrap(meaning, '      ')}" for name, meaning in ENVIRONMENT)
        + f"\n\n{_wrap(_PRECEDENCE)}\n"
    )


def config_text() -> str:
    from azbackupjobs.arm import config

    keys = ", ".join(config.SETTING_KEYS)
    prose = (
        "The config file: $XDG_CONFIG_HOME/azjobs/config.toml (~/.config/azjobs/config.toml; "
        "AZJOBS_CONFIG names another file; `azjobs config path` prints it).\n\n"
        f"Keys: {keys}. Top-level keys are defaults for every command (write them before any "
        "table); [profiles.NAME] tables override them when selected with --profile NAME, "
        "AZJOBS_PROFILE=NAME or default_profile. interval is watch's --interval in seconds. "
        "Credentials are never read from this file.\n\n"
        f"{_PRECEDENCE}\n\nAn example:"
    )
    return _wrap(prose) + "\n\n" + config.TEMPLATE.format(path="~/.config/azjobs/config.toml")


@dataclass(frozen=True)
class Topic:
    summary: str
    text: Callable[[], str]


TOPICS: dict[str, Topic] = {
    "exit-codes": Topic("the exit codes and what they mean", exit_codes_text),
    "environment": Topic("the environment variables azjobs reads", environment_text),
    "config": Topic("the config file, its profiles and the precedence of settings", config_text),
}


def index_text(commands: dict[str, str]) -> str:
    topics = [(name, topic.summary) for name, topic in TOPICS.items()]
    listed = [(name, summary) for name, summary in commands.items()]
    return (
        "Usage: azjobs help TOPIC    (or: azjobs COMMAND --help)\n\nTopics:\n"
        + _columns(topics)
        + "\n\nCommands:\n"
        + _columns(listed)
        + "\n"
    )


@dataclass(frozen=True)
class HelpOptions:
    """``context``: the Typer context of the run, which knows every command and its help."""

    topic: str | None = None
    context: Any = None


def run(opts: HelpOptions, env: Environment) -> int:
    return run_help(opts.topic, opts.context, env.stdout)


def run_help(topic: str | None, ctx: Any, out: IO[str]) -> int:
    """Print a topic, a command's help (``azjobs help get``), or the index."""
    root = ctx.find_root()
    group = root.command
    names: list[str] = list(getattr(group, "list_commands", lambda _c: [])(root))
    if topic is None or not topic.strip():
        commands = {}
        for name in names:
            command = group.get_command(root, name)
            if command is not None and not command.hidden:
                commands[name] = command.get_short_help_str(limit=70)
        out.write(index_text(commands))
        return ExitCode.OK
    wanted = topic.strip().lower()
    if wanted in TOPICS:
        out.write(TOPICS[wanted].text())
        return ExitCode.OK
    if wanted in names:
        command = group.get_command(root, wanted)
        with command.make_context(wanted, [], parent=root, resilient_parsing=True) as sub:
            out.write(command.get_help(sub) + "\n")
        return ExitCode.OK
    from azbackupjobs.model.text import sanitize

    raise UsageError(
        f"no help topic {sanitize(topic, 40)!r}; topics: {', '.join(TOPICS)}; "
        f"commands: {', '.join(n for n in names if n != 'help')}"
    )
