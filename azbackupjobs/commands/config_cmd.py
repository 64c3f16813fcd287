"""``azjobs config show`` and ``azjobs config path``: where every setting comes from.

``show`` resolves exactly as a vault command would (same flags, environment, profile, az CLI
defaults) but sends nothing and needs no credential: it is the first thing to run when azjobs
talks to the wrong vault. A missing subscription/group/vault is shown as unset; a value that a
command would refuse is shown, warned about on stderr, and makes the exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azbackupjobs.arm import config, settings
from azbackupjobs.model import ids
from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.view.output import Environment, Output, Query, resolve_format

if TYPE_CHECKING:
    from azbackupjobs.commands.common import CommonOptions

_AUTO_OUTPUT = "default (table on a terminal, json when piped)"
_CREDENTIAL_CHAIN = "default"


@dataclass(frozen=True)
class Row:
    name: str
    value: str | float | None
    source: str
    problem: str | None = None
    exists: bool | None = None  # the config file's row only

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value, "source": self.source}
        if self.exists is not None:
            data["exists"] = self.exists
        if self.problem:
            data["problem"] = self.problem
        return data


def _check(check: Any, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        check(value)
    except UsageError as exc:
        return exc.message
    return None


def resolve_rows(opts: CommonOptions, env: Environment) -> list[Row]:
    """Every setting a vault command would use, in a fixed order; raises only for a bad file."""
    path, path_source = config.config_path_and_source(env.env)
    active = config.active_profile(opts.profile, env.env)
    found = settings.resolve_settings(opts.flags, env.env)
    rows = [
        Row("config_file", str(path), path_source, exists=active.exists),
        Row("profile", active.name, active.name_source),
    ]
    checks = {
        "subscription": ids.validate_subscription,
        "resource_group": ids.validate_resource_group,
        "vault": ids.validate_vault,
    }
    for key, check in checks.items():
        setting = found[key]
        rows.append(Row(key, setting.value, setting.source, _check(check, setting.value)))

    cloud_setting = found["cloud"]
    cloud: settings.Cloud | None = None
    if cloud_setting.value is None:
        cloud = settings.resolve_cloud(None)
        rows.append(Row("cloud", cloud.name, "default"))
    else:
        problem = None
        try:
            cloud = settings.resolve_cloud(cloud_setting.value, cloud_setting.source)
        except UsageError as exc:
            problem = exc.message
        rows.append(
            Row(
                "cloud", cloud.name if cloud else cloud_setting.value, cloud_setting.source, problem
            )
        )

    endpoint = found["endpoint"]
    if endpoint.value is not None:
        label = "endpoint" if endpoint.source == "flag" else f"endpoint from {endpoint.source}"
        rows.append(
            Row(
                "endpoint",
                endpoint.value,
                endpoint.source,
                _check(lambda v: settings.validate_endpoint(v, label), endpoint.value),
            )
        )
    elif cloud is not None:
        rows.append(Row("endpoint", cloud.endpoint, f"cloud {cloud.name}"))
    else:
        rows.append(Row("endpoint", None, "unset", "depends on the cloud"))

    api = found["api_version"]
    if api.value is None:
        rows.append(Row("api_version", settings.DEFAULT_API_VERSION, "default"))
    else:
        rows.append(
            Row(
                "api_version",
                api.value,
                api.source,
                _check(lambda v: settings.validate_api_version(v, "api_version"), api.value),
            )
        )

    rows.append(_output_row(opts, env, active))
    interval = active.get("interval")
    if interval is not None:
        rows.append(Row("interval", _number(interval.value), interval.source))
    else:
        rows.append(Row("interval", _number(config.WATCH_DEFAULT_INTERVAL), "default"))
    rows.append(_credential_row(opts, env))
    return rows


def _credential_row(opts: CommonOptions, env: Environment) -> Row:
    """Which credential a command would use; never the token, and nothing is fetched."""
    from azbackupjobs.arm import auth

    flag = opts.auth
    try:
        mode = auth.resolve_auth_mode(flag, env.env)
    except UsageError as exc:
        return Row(
            "credential",
            flag or env.env.get("AZJOBS_AUTH"),
            "flag" if flag else "environment (AZJOBS_AUTH)",
            exc.message,
        )
    token_set = bool(env.env.get("AZJOBS_ACCESS_TOKEN", "").strip())
    if mode in {"default", "token"} and token_set:
        return Row("credential", "access token (never shown)", "environment (AZJOBS_ACCESS_TOKEN)")
    if flag and flag.strip():
        source = "flag"
    elif env.env.get("AZJOBS_AUTH", "").strip():
        source = "environment (AZJOBS_AUTH)"
    else:
        source = _CREDENTIAL_CHAIN
    problem = "AZJOBS_ACCESS_TOKEN is not set" if mode == "token" else None
    value = "DefaultAzureCredential" if mode == "default" else mode
    return Row("credential", value, source, problem)


def _number(value: str | float) -> str | float:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _output_row(opts: CommonOptions, env: Environment, active: config.ActiveProfile) -> Row:
    if opts.output:
        value, source = opts.output, "flag"
    elif env.env.get("AZJOBS_OUTPUT", "").strip():
        value, source = env.env["AZJOBS_OUTPUT"].strip(), "environment (AZJOBS_OUTPUT)"
    elif (configured := active.get("output")) is not None:
        return Row("output", str(configured.value), configured.source)
    else:
        return Row("output", None, _AUTO_OUTPUT)
    try:
        resolve_format(value, env)
        problem = None
    except UsageError as exc:
        problem = exc.message
    return Row("output", value.strip().lower() if problem is None else value, source, problem)


def run_show(opts: CommonOptions, env: Environment) -> int:
    rows = resolve_rows(opts, env)
    out = _show_output(opts, env)
    out.show(
        {row.name: row.as_json() for row in rows},
        table=lambda: _table(rows),
        tsv=lambda: [[r.name, _cell(r.value), r.source] for r in rows],
        lines=lambda: [{"setting": row.name, **row.as_json()} for row in rows],
    )
    problems = [row for row in rows if row.problem and row.value is not None]
    for row in problems:
        out.warn(f"{row.name}: {row.problem}")
    return ExitCode.USAGE if problems else ExitCode.OK


def _show_output(opts: CommonOptions, env: Environment) -> Output:
    """The format of ``config show`` itself; a bad -o is shown as a problem, not fatal."""
    try:
        fmt = resolve_format(opts.output, env, opts.profile)
    except UsageError:
        fmt = "table" if env.stdout_isatty else "json"
    return Output(env, fmt, Query(opts.query) if opts.query else None)


def _cell(value: str | float | None) -> str:
    return "" if value is None else str(value)


def _table(rows: list[Row]) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from azbackupjobs.model.text import clean

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("setting", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("source", overflow="fold")
    for row in rows:
        value = Text(clean(row.value)) if row.value is not None else Text("—", style="dim")
        source = Text(clean(row.source), style="dim")
        if row.exists is False:
            source.append("  (does not exist)", style="dim")
        if row.problem:
            source.append(f"  ({clean(row.problem)})", style="yellow")
        table.add_row(row.name, value, source)
    return table


@dataclass(frozen=True)
class PathOptions:
    """``config path`` takes no options."""


def run_path(opts: PathOptions, env: Environment) -> int:
    path = config.config_path(env.env)
    env.stdout.write(f"{path}\n")
    env.stdout.flush()
    if not path.exists():
        env.stderr.write(
            "azjobs: the file does not exist yet; `azjobs help config` shows its format\n"
        )
    return ExitCode.OK
