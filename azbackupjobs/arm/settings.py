"""Resolve where a command points: subscription, group, vault, cloud, endpoint, api-version.

Precedence, per setting: flag > environment > config file (profile, then its defaults) > az CLI
defaults > built-in default. Each resolved value remembers where it came from, so that errors (and
``config show``) can say so.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azbackupjobs.arm.files import MIB, read_small_file
from azbackupjobs.model import ids
from azbackupjobs.model.errors import SecurityError, UsageError
from azbackupjobs.model.kinds import VaultKind

if TYPE_CHECKING:
    import configparser

DEFAULT_API_VERSION = "2026-10-01"
# Backup vaults (Microsoft.DataProtection) version their API apart from Recovery Services: the
# version the current official SDK (azure-mgmt-dataprotection 2.x) sends. An api-version the user
# sets (flag, environment, config) applies to whichever kind of vault the command reads.
DEFAULT_BACKUP_VAULT_API_VERSION = "2026-06-01"
# The az CLI's files, as large as they get: a profile with thousands of subscriptions is a few
# megabytes; its config file a few lines.
AZ_PROFILE_LIMIT = 16 * MIB
AZ_CONFIG_LIMIT = 1 * MIB
DEFAULT_CLOUD = "AzureCloud"
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


@dataclass(frozen=True)
class Cloud:
    name: str
    endpoint: str
    scope: str
    authority: str


CLOUDS: dict[str, Cloud] = {
    "azurecloud": Cloud(
        "AzureCloud",
        "https://management.azure.com",
        "https://management.azure.com/.default",
        "login.microsoftonline.com",
    ),
    "azurechinacloud": Cloud(
        "AzureChinaCloud",
        "https://management.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/.default",
        "login.chinacloudapi.cn",
    ),
    "azureusgovernment": Cloud(
        "AzureUSGovernment",
        "https://management.usgovcloudapi.net",
        "https://management.usgovcloudapi.net/.default",
        "login.microsoftonline.us",
    ),
}
CLOUD_NAMES = tuple(c.name for c in CLOUDS.values())


@dataclass(frozen=True)
class Setting:
    value: str | None
    source: str  # "flag", "environment (NAME)", "profile P (PATH)", "config file (PATH)",
    #               "az CLI default", "job id", "default", "unset"


@dataclass(frozen=True)
class ContextFlags:
    """The raw flags a vault command was given (None when not given)."""

    subscription: str | None = None
    resource_group: str | None = None
    vault: str | None = None
    cloud: str | None = None
    endpoint: str | None = None
    api_version: str | None = None
    profile: str | None = None
    vault_type: str | None = None


@dataclass(frozen=True)
class Context:
    """Everything needed to address a vault; validated and safe to put into URLs."""

    subscription: str
    resource_group: str
    vault: str
    cloud: Cloud
    endpoint: str
    api_version: str
    sources: Mapping[str, Setting] = field(default_factory=dict)
    # The kind of vault when the job id, --vault-type, AZJOBS_VAULT_TYPE or the config said;
    # None: only a look at the vault resource can tell.
    vault_kind: VaultKind | None = None

    @property
    def vault_path(self) -> str:
        return self.vault_path_of(VaultKind.RECOVERY_SERVICES)

    def vault_path_of(self, kind: VaultKind) -> str:
        """The vault's ARM path as a vault of ``kind`` (its names encoded)."""
        from urllib.parse import quote

        provider = (
            "Microsoft.DataProtection/backupVaults"
            if kind is VaultKind.BACKUP
            else "Microsoft.RecoveryServices/vaults"
        )
        return (
            f"/subscriptions/{quote(self.subscription, safe='')}"
            f"/resourceGroups/{quote(self.resource_group, safe='')}"
            f"/providers/{provider}/{quote(self.vault, safe='')}"
        )

    def api_version_of(self, kind: VaultKind) -> str:
        """The api-version to send to a vault of ``kind``: the one the user set, else the
        kind's own default (the two providers share no version)."""
        source = self.sources.get("api_version")
        if kind is VaultKind.BACKUP and (source is None or source.source == "default"):
            return DEFAULT_BACKUP_VAULT_API_VERSION
        return self.api_version

    @property
    def scope(self) -> str:
        return self.cloud.scope


def _env(env: Mapping[str, str], *names: str) -> tuple[str | None, str]:
    for name in names:
        value = env.get(name)
        if value is not None and value.strip():
            return value.strip(), f"environment ({name})"
    return None, "unset"


def az_config_dir(env: Mapping[str, str]) -> Path:
    configured = env.get("AZURE_CONFIG_DIR")
    return Path(configured) if configured else Path.home() / ".azure"


def read_az_profile(env: Mapping[str, str]) -> Any:
    """The az CLI's ``azureProfile.json`` (its accounts), parsed; None when absent or unreadable
    (not a regular file, larger than any real profile, not JSON)."""
    path = az_config_dir(env) / "azureProfile.json"
    try:
        return json.loads(read_small_file(path, AZ_PROFILE_LIMIT)[0].decode("utf-8-sig"))
    except (OSError, ValueError):
        return None


def az_default_subscription(env: Mapping[str, str]) -> str | None:
    """The subscription ``az account set`` chose, from the az CLI's profile; None when absent."""
    data = read_az_profile(env)
    subs = data.get("subscriptions") if isinstance(data, dict) else None
    for sub in subs if isinstance(subs, list) else []:
        if isinstance(sub, dict) and sub.get("isDefault") and isinstance(sub.get("id"), str):
            return str(sub["id"])
    return None


def _az_config(env: Mapping[str, str]) -> configparser.ConfigParser | None:
    path = az_config_dir(env) / "config"
    try:
        raw = read_small_file(path, AZ_CONFIG_LIMIT)[0]
    except OSError:  # the usual case in scripts (no file): spare the configparser import
        return None
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(raw.decode("utf-8-sig"), source=str(path))
    except (UnicodeDecodeError, configparser.Error):
        return None
    return parser


def az_defaults_reader(env: Mapping[str, str]) -> Callable[..., str | None]:
    """``lookup(section, key, *fallback_keys)`` in the az CLI's config file, which is read at
    most once (several settings may come from it), and only when first asked."""
    read: list[configparser.ConfigParser | None] = []

    def lookup(section: str, *keys: str) -> str | None:
        if not read:
            read.append(_az_config(env))
        parser = read[0]
        if parser is None:
            return None
        for key in keys:
            value = parser.get(section, key, fallback=None)
            if value and value.strip():
                return value.strip()
        return None

    return lookup


def resolve_cloud(value: str | None, source: str = "flag") -> Cloud:
    if value is None:
        return CLOUDS[DEFAULT_CLOUD.lower()]
    cloud = CLOUDS.get(value.strip().lower())
    if cloud is None:
        raise UsageError(
            f"unknown cloud {value!r} from {source}; use one of: {', '.join(CLOUD_NAMES)}"
        )
    return cloud


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_endpoint(value: str, source: str = "--endpoint") -> str:
    """An ARM endpoint the security rules allow: https, or http on a loopback address only."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise SecurityError(f"{source}: not a valid URL ({exc})") from None
    if parts.scheme.lower() not in {"https", "http"}:
        raise SecurityError(f"{source}: only https:// endpoints are allowed (got {parts.scheme!r})")
    if not parts.hostname:
        raise SecurityError(f"{source}: the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise SecurityError(f"{source}: credentials in the URL are not allowed")
    if parts.query or parts.fragment:
        raise SecurityError(f"{source}: the endpoint must not carry a query or fragment")
    if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname):
        raise SecurityError(
            f"{source}: a bearer token is only sent over https "
            f"(plain http is allowed for loopback addresses only, got {parts.hostname})"
        )
    if any(ord(ch) < 33 or ch in "\\\"'<>`{}|^" for ch in text):
        raise SecurityError(f"{source}: the URL holds characters that are not allowed")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{netloc}{path}"


def validate_api_version(value: str, source: str) -> str:
    text = value.strip()
    if not API_VERSION_RE.match(text):
        raise UsageError(f"{source}: api-version {value!r} is not a date like 2026-10-01")
    return text


def parse_vault_type(value: str, source: str) -> VaultKind:
    """``recovery-services`` or ``backup`` (any casing; ``_`` or no separator too)."""
    key = value.strip().lower().replace("_", "-")
    for kind in VaultKind:
        if key in (kind.value, kind.value.replace("-", "")):
            return kind
    from azbackupjobs.model.text import sanitize

    shown = sanitize(value, 40)
    raise UsageError(
        f"{source}: unknown vault type {shown!r}; use one of: "
        + ", ".join(k.value for k in VaultKind)
    )


def _label(flag: str, variable: str, setting: Setting) -> str:
    """How an error names the origin of a bad value: the flag, the variable, or the file."""
    if setting.source == "flag":
        return flag
    if setting.source.startswith("environment"):
        return variable
    return f"{flag.lstrip('-')} from {setting.source}"


def resolve_settings(
    flags: ContextFlags,
    env: Mapping[str, str],
    job: ids.JobRef | None = None,
    *,
    az_defaults: bool = True,
    use_config: bool = True,
) -> dict[str, Setting]:
    """Each setting's raw value and origin, unvalidated; missing ones are ``Setting(None, ..)``.

    Per setting: job id > flag > environment > config file (profile, then its defaults) >
    az CLI defaults > built-in default. ``config show`` prints this; ``resolve_context`` checks it.
    """
    layer: dict[str, Setting] = {}
    if use_config:
        from azbackupjobs.arm import config

        active = config.active_profile(flags.profile, env)
        layer = {k: Setting(str(v.value), v.source) for k, v in active.values.items()}

    def pick(name: str, flag: str | None, job_value: str | None, *env_names: str) -> Setting:
        if job_value is not None:
            return Setting(job_value, "job id")
        if flag is not None and flag.strip():
            return Setting(flag.strip(), "flag")
        value, source = _env(env, *env_names)
        if value is None and name in layer:
            return layer[name]
        return Setting(value, source)

    sub = pick(
        "subscription",
        flags.subscription,
        job.subscription if job else None,
        "AZURE_SUBSCRIPTION_ID",
        "AZJOBS_SUBSCRIPTION",
    )
    if sub.value is None and az_defaults:
        found = az_default_subscription(env)
        sub = Setting(found, "az CLI default") if found else sub
    az_default = az_defaults_reader(env)
    rg = pick(
        "resource_group",
        flags.resource_group,
        job.resource_group if job else None,
        "AZJOBS_RESOURCE_GROUP",
    )
    if rg.value is None and az_defaults:
        found = az_default("defaults", "group")
        rg = Setting(found, "az CLI default") if found else rg
    vault = pick("vault", flags.vault, job.vault if job else None, "AZJOBS_VAULT")
    if vault.value is None and az_defaults:
        found = az_default("defaults", "backup-vault", "vault")
        vault = Setting(found, "az CLI default") if found else vault

    cloud = pick("cloud", flags.cloud, None, "AZJOBS_CLOUD")
    if cloud.value is None and az_defaults:
        found = az_default("cloud", "name")
        if found and found.lower() in CLOUDS:
            cloud = Setting(found, "az CLI default")
    return {
        "subscription": sub,
        "resource_group": rg,
        "vault": vault,
        "cloud": cloud,
        "endpoint": pick("endpoint", flags.endpoint, None, "AZJOBS_ENDPOINT"),
        "api_version": pick("api_version", flags.api_version, None, "AZJOBS_API_VERSION"),
        "vault_type": pick(
            "vault_type",
            flags.vault_type,
            job.vault_kind.value if job is not None and job.vault_kind is not None else None,
            "AZJOBS_VAULT_TYPE",
        ),
    }


def resolve_context(
    flags: ContextFlags,
    env: Mapping[str, str],
    job: ids.JobRef | None = None,
    *,
    az_defaults: bool = True,
    use_config: bool = True,
) -> Context:
    """Resolve and validate a vault context, naming the flag and variable when one is missing."""
    found = resolve_settings(flags, env, job, az_defaults=az_defaults, use_config=use_config)
    sub, rg, vault = found["subscription"], found["resource_group"], found["vault"]
    sources: dict[str, Setting] = {}

    missing = []
    if sub.value is None:
        missing.append("subscription (--subscription or AZURE_SUBSCRIPTION_ID)")
    if rg.value is None:
        missing.append("resource group (--resource-group/-g or AZJOBS_RESOURCE_GROUP)")
    if vault.value is None:
        missing.append("vault (--vault-name/-v or AZJOBS_VAULT)")
    if missing:
        raise UsageError(
            "missing " + "; ".join(missing),
            hint="pass the flags, set the variables, select a config profile (--profile), "
            "or pass the job's full ARM id",
        )
    assert sub.value is not None and rg.value is not None and vault.value is not None
    cloud, endpoint, api_version = _resolve_service(found, sources)
    sources["subscription"] = sub
    sources["resource_group"] = rg
    sources["vault"] = vault
    kind_setting = found["vault_type"]
    kind = None
    if kind_setting.value is not None:
        label = _label("--vault-type", "AZJOBS_VAULT_TYPE", kind_setting)
        kind = parse_vault_type(kind_setting.value, label)
        sources["vault_type"] = kind_setting
    return Context(
        subscription=ids.validate_subscription(sub.value),
        resource_group=ids.validate_resource_group(rg.value),
        vault=ids.validate_vault(vault.value),
        cloud=cloud,
        endpoint=endpoint,
        api_version=api_version,
        sources=sources,
        vault_kind=kind,
    )


def resolve_service_context(
    flags: ContextFlags,
    env: Mapping[str, str],
    *,
    az_defaults: bool = True,
    use_config: bool = True,
) -> Context:
    """The context of a command that spans vaults (``--fleet``): cloud, endpoint and api-version
    resolved and validated as by ``resolve_context``; the subscription when one is configured
    (validated), else empty; no resource group or vault (empty: ``vault_path`` is meaningless).
    """
    found = resolve_settings(flags, env, None, az_defaults=az_defaults, use_config=use_config)
    sources: dict[str, Setting] = {}
    cloud, endpoint, api_version = _resolve_service(found, sources)
    sub = found["subscription"]
    sources["subscription"] = sub
    kind_setting = found["vault_type"]
    kind = None
    if kind_setting.value is not None:
        label = _label("--vault-type", "AZJOBS_VAULT_TYPE", kind_setting)
        kind = parse_vault_type(kind_setting.value, label)
        sources["vault_type"] = kind_setting
    return Context(
        subscription=ids.validate_subscription(sub.value) if sub.value else "",
        resource_group="",
        vault="",
        cloud=cloud,
        endpoint=endpoint,
        api_version=api_version,
        sources=sources,
        vault_kind=kind,
    )


def _resolve_service(
    found: Mapping[str, Setting], sources: dict[str, Setting]
) -> tuple[Cloud, str, str]:
    """Cloud, endpoint and api-version from resolved settings, validated; records sources."""
    cloud_setting = found["cloud"]
    cloud = resolve_cloud(cloud_setting.value, cloud_setting.source)
    sources["cloud"] = Setting(
        cloud.name, cloud_setting.source if cloud_setting.value else "default"
    )

    endpoint_setting = found["endpoint"]
    if endpoint_setting.value:
        label = _label("--endpoint", "AZJOBS_ENDPOINT", endpoint_setting)
        endpoint = validate_endpoint(endpoint_setting.value, label)
        endpoint_source = endpoint_setting.source
    else:
        endpoint, endpoint_source = cloud.endpoint, f"cloud {cloud.name}"
    sources["endpoint"] = Setting(endpoint, endpoint_source)

    api_setting = found["api_version"]
    if api_setting.value:
        label = _label("--api-version", "AZJOBS_API_VERSION", api_setting)
        api_version = validate_api_version(api_setting.value, label)
        api_source = api_setting.source
    else:
        api_version, api_source = DEFAULT_API_VERSION, "default"
    sources["api_version"] = Setting(api_version, api_source)
    return cloud, endpoint, api_version


def environ() -> Mapping[str, str]:
    return os.environ
