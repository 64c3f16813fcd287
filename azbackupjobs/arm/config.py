"""The configuration file: defaults and named profiles for the vault commands.

``$XDG_CONFIG_HOME/azjobs/config.toml`` (``~/.config/azjobs/config.toml``; ``AZJOBS_CONFIG``
names another file). Top-level keys are defaults for every command; ``[profiles.NAME]`` tables
override them when the profile is selected with ``--profile NAME``, ``AZJOBS_PROFILE`` or the
file's own ``default_profile``. In the precedence of a setting the file sits below flags and the
environment and above the az CLI's defaults (see ``settings.resolve_settings``).

The whole file is checked when it is read, also the profiles not in use: a typo shows up the
first time, as one line naming the file, the line and the key, never as a traceback. Tokens are
never read from here. Only the standard library is used (``tomllib``), and only when a file
exists, so that start-up (and shell completion) stays fast.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azbackupjobs.arm.files import MIB, read_small_file
from azbackupjobs.model.errors import UsageError

CONFIG_ENV = "AZJOBS_CONFIG"
PROFILE_ENV = "AZJOBS_PROFILE"
# The default of ``watch --interval``; shown by ``config show`` when nothing else sets it.
WATCH_DEFAULT_INTERVAL = 10.0
MAX_INTERVAL = 86400.0

# The settings a file may hold, in the order ``config show`` lists them.
SETTING_KEYS: tuple[str, ...] = (
    "subscription",
    "resource_group",
    "vault",
    "cloud",
    "endpoint",
    "api_version",
    "vault_type",
    "output",
    "interval",
)
_TOP_LEVEL_ONLY = ("default_profile", "profiles")
_SECRET_LOOKING = re.compile(r"token|secret|password|key$", re.IGNORECASE)
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")

ConfigValue = str | float
# A configuration file is a few lines; anything larger is not one (or is /dev/zero).
MAX_CONFIG_BYTES = 1 * MIB


class ConfigError(UsageError):
    """The configuration file cannot be used as it is: one line naming the file and line."""


@dataclass(frozen=True)
class ConfigFile:
    """A checked configuration file; values are normalised (strings stripped, output lower)."""

    path: Path
    defaults: Mapping[str, ConfigValue] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, ConfigValue]] = field(default_factory=dict)
    default_profile: str | None = None


@dataclass(frozen=True)
class Layered:
    """One value of the file layer and where it came from (for ``Setting.source``)."""

    value: ConfigValue
    source: str


@dataclass(frozen=True)
class ActiveProfile:
    """What the file contributes to one run: the selected profile over the file's defaults."""

    path: Path
    exists: bool
    name: str | None
    name_source: str
    values: Mapping[str, Layered] = field(default_factory=dict)

    def get(self, key: str) -> Layered | None:
        return self.values.get(key)


# ----- where the file is ------------------------------------------------------------------------
def _path_variable(env: Mapping[str, str], name: str) -> str | None:
    """A path variable from ``env``, else from the process (tests hand in small dicts)."""
    value = env.get(name)
    if value is None:
        value = os.environ.get(name)
    return value if value and value.strip() else None


def config_path_and_source(env: Mapping[str, str]) -> tuple[Path, str]:
    explicit = env.get(CONFIG_ENV)
    if explicit and explicit.strip():
        return Path(explicit.strip()).expanduser(), f"environment ({CONFIG_ENV})"
    xdg = _path_variable(env, "XDG_CONFIG_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG spec: relative values are ignored
        return Path(xdg) / "azjobs" / "config.toml", "environment (XDG_CONFIG_HOME)"
    return Path.home() / ".config" / "azjobs" / "config.toml", "default"


def config_path(env: Mapping[str, str]) -> Path:
    return config_path_and_source(env)[0]


def display_path(path: Path) -> str:
    """The path as people write it: ``~/.config/azjobs/config.toml`` under the home directory."""
    try:
        home = Path.home()
        return "~/" + str(path.relative_to(home)) if path.is_relative_to(home) else str(path)
    except (RuntimeError, ValueError, OSError):
        return str(path)


# ----- reading and checking ---------------------------------------------------------------------
_CACHE: dict[Path, tuple[tuple[int, int], ConfigFile]] = {}


def load(path: Path, *, required: bool = False) -> ConfigFile | None:
    """The checked file, or None when it does not exist (an error when ``required``)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        if required:
            raise ConfigError(
                f"{CONFIG_ENV}: no such config file {display_path(path)}",
                hint=f"create it, or unset {CONFIG_ENV}",
            ) from None
        return None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {display_path(path)}: {exc.strerror or exc}"
        ) from None
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        raw, _ = read_small_file(path, MAX_CONFIG_BYTES)
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {display_path(path)}: {exc.strerror or exc}"
        ) from None
    parsed = parse(raw, path)
    _CACHE[path] = (stamp, parsed)
    return parsed


def parse(raw: bytes, path: Path) -> ConfigFile:
    """Check a configuration file's bytes; ``path`` is only used in messages."""
    import tomllib

    shown = display_path(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"config file {shown}, line {line}: not valid UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_message(str(exc), shown)) from None
    return _Checker(text, shown, path).check(data)


def _toml_message(message: str, shown: str) -> str:
    first = (message.strip().splitlines() or ["invalid TOML"])[0]
    position = _TOML_POSITION.search(first)
    if position:
        detail = _TOML_POSITION.sub("", first)
        where = f"line {position[1]}, column {position[2]}"
    elif _TOML_END.search(first):
        detail, where = _TOML_END.sub("", first), "at the end"
    else:
        detail, where = first, "somewhere"
    return f"config file {shown}, {where}: invalid TOML: {_printable(detail, 160)}"


def _printable(value: object, limit: int = 80) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Checker:
    """Checks parsed TOML against the schema; finds the line of a key for its messages."""

    def __init__(self, text: str, shown: str, path: Path) -> None:
        self.text = text
        self.shown = shown
        self.path = path

    def fail(self, table: tuple[str, ...], key: str | None, message: str) -> ConfigError:
        line = find_line(self.text, table, key)
        where = f"config file {self.shown}" + (f", line {line}" if line else "")
        return ConfigError(f"{where}: {message}")

    def check(self, data: dict[str, Any]) -> ConfigFile:
        defaults = self.settings(data, (), allowed_extra=_TOP_LEVEL_ONLY)
        profiles_raw = data.get("profiles", {})
        if not isinstance(profiles_raw, dict):
            raise self.fail(
                (), "profiles", "'profiles' must be a table of profiles, written [profiles.NAME]"
            )
        profiles: dict[str, dict[str, ConfigValue]] = {}
        for name, table in profiles_raw.items():
            if not PROFILE_NAME_RE.match(name):
                raise self.fail(
                    ("profiles",),
                    name,
                    f"profile name {_printable(name)!r} is not "
                    "valid (letters, digits, '-', '_' or '.', up to 64)",
                )
            if not isinstance(table, dict):
                raise self.fail(
                    ("profiles",),
                    name,
                    f"profile {name!r} must be a table, written [profiles.{name}]",
                )
            profiles[name] = self.settings(table, ("profiles", name))
        default_profile = data.get("default_profile")
        if default_profile is not None:
            if not isinstance(default_profile, str) or not default_profile.strip():
                raise self.fail((), "default_profile", "default_profile must be a profile name")
            default_profile = default_profile.strip()
            if default_profile not in profiles:
                raise self.fail(
                    (),
                    "default_profile",
                    f"default_profile {default_profile!r} "
                    f"is not a profile of this file{_known(profiles)}",
                )
        return ConfigFile(self.path, defaults, profiles, default_profile)

    def settings(
        self, table: dict[str, Any], where: tuple[str, ...], allowed_extra: tuple[str, ...] = ()
    ) -> dict[str, ConfigValue]:
        values: dict[str, ConfigValue] = {}
        place = f" in [{'.'.join(where)}]" if where else ""
        for key, value in table.items():
            if key in allowed_extra:
                continue
            if key not in SETTING_KEYS:
                raise self.fail(where, key, _unknown_key(key, place, allowed_extra))
            values[key] = self.value(where, key, value, place)
        return values

    def value(self, where: tuple[str, ...], key: str, value: Any, place: str) -> ConfigValue:
        if key == "interval":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(where, key, f"interval{place} must be a number of seconds")
            number = float(value)
            if not math.isfinite(number) or number <= 0 or number > MAX_INTERVAL:
                raise self.fail(
                    where,
                    key,
                    f"interval{place} must be more than 0 and at most {MAX_INTERVAL:.0f} seconds",
                )
            return number
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, key, f"{key}{place} must be a non-empty string")
        text = value.strip()
        try:
            return _check_setting(key, text, f"{key}{place}")
        except UsageError as exc:
            raise self.fail(where, key, exc.message) from None


def _known(profiles: Mapping[str, object]) -> str:
    return f" (profiles: {', '.join(sorted(profiles))})" if profiles else " (it has no profiles)"


def _unknown_key(key: str, place: str, allowed_extra: tuple[str, ...]) -> str:
    shown = _printable(key, 40)
    if _SECRET_LOOKING.search(key):
        return (
            f"unknown key {shown!r}{place}: credentials are never read from the config "
            "file (use az login, or AZJOBS_ACCESS_TOKEN)"
        )
    candidates = [*SETTING_KEYS, *allowed_extra]
    import difflib  # only for a misspelt key: every run imports this module

    close = difflib.get_close_matches(key.replace("-", "_").lower(), candidates, n=1)
    suggestion = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {shown!r}{place}{suggestion}; known keys: {', '.join(candidates)}"


def _check_setting(key: str, value: str, label: str) -> str:
    """Normalise and check one string setting with the rules the flags follow."""
    from azbackupjobs.arm import settings
    from azbackupjobs.model import ids
    from azbackupjobs.model.formats import FORMATS

    if key == "output":
        lowered = value.lower()
        if lowered not in FORMATS:
            raise UsageError(
                f"{label}: unknown output format {_printable(value)!r}; use one of: "
                + ", ".join(FORMATS)
            )
        return lowered
    if key == "cloud":
        return settings.resolve_cloud(value, label).name
    if key == "endpoint":
        return settings.validate_endpoint(value, label)
    if key == "api_version":
        return settings.validate_api_version(value, label)
    if key == "vault_type":
        return settings.parse_vault_type(value, label).value
    if key == "subscription":
        return ids.validate_subscription(value)
    if key == "resource_group":
        return ids.validate_resource_group(value)
    if key == "vault":
        return ids.validate_vault(value)
    raise UsageError(f"{label}: not a setting")  # pragma: no cover - keys are checked before


_HEADER = re.compile(r"^\s*\[(?!\[)\s*(?P<name>[^\]]+?)\s*\]\s*(?:#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*(?P<key>[^=#\[][^=]*?)\s*=")


def _split_dotted(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^.]+', text)
    return tuple(p.strip().strip("\"'").strip() for p in parts if p.strip())


def find_line(text: str, table: tuple[str, ...], key: str | None) -> int | None:
    """Best effort: the line where ``table``'s ``key`` (or the table's header) is written."""
    current: tuple[str, ...] = ()
    target = (*table, key) if key is not None else table
    header_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = _split_dotted(header["name"])
            if current == target or (key is not None and current[: len(target)] == target):
                return number
            if current == table and header_line is None:
                header_line = number
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment and (*current, *_split_dotted(assignment["key"]))[: len(target)] == target:
            return number
    return header_line


# ----- the layer one run uses -------------------------------------------------------------------
def active_profile(profile_flag: str | None, env: Mapping[str, str]) -> ActiveProfile:
    """Select the profile (flag > AZJOBS_PROFILE > default_profile) and merge it over defaults."""
    path, path_source = config_path_and_source(env)
    config = load(path, required=path_source.endswith(f"({CONFIG_ENV})"))
    name: str | None = None
    name_source = "none"
    if profile_flag is not None and profile_flag.strip():
        name, name_source = profile_flag.strip(), "flag"
    elif env.get(PROFILE_ENV, "").strip():
        name, name_source = env[PROFILE_ENV].strip(), f"environment ({PROFILE_ENV})"
    elif config is not None and config.default_profile:
        name, name_source = config.default_profile, "config file (default_profile)"
    label = "--profile" if name_source == "flag" else PROFILE_ENV
    if name is not None and config is None:
        raise ConfigError(
            f"{label}: profile {_printable(name, 64)!r} needs a config file, and "
            f"{display_path(path)} does not exist",
            hint="see `azjobs help config` for the format",
        )
    values: dict[str, Layered] = {}
    if config is not None:
        shown = display_path(config.path)
        for key, value in config.defaults.items():
            values[key] = Layered(value, f"config file ({shown})")
        if name is not None:
            profile = config.profiles.get(name)
            if profile is None:
                raise ConfigError(
                    f"{label}: no profile {_printable(name, 64)!r} in {shown}"
                    f"{_known(config.profiles)}"
                )
            for key, value in profile.items():
                values[key] = Layered(value, f"profile {name} ({shown})")
    return ActiveProfile(path, config is not None, name, name_source, values)


def profile_names(env: Mapping[str, str] | None = None) -> list[str]:
    """The profiles of the config file, for shell completion; [] on any problem."""
    try:
        config = load(config_path(os.environ if env is None else env))
    except Exception:
        return []
    return sorted(config.profiles) if config is not None else []


def default_interval(
    profile: str | None = None, env: Mapping[str, str] | None = None
) -> float | None:
    """The polling interval the file sets for ``watch`` (profile over defaults); None if unset."""
    layered = active_profile(profile, os.environ if env is None else env).get("interval")
    return float(layered.value) if layered is not None else None


TEMPLATE = """\
# azjobs configuration: {path}
# Top-level keys are defaults for every command; write them before any [profiles.*] table.
output = "table"            # table, json, ndjson or tsv
interval = 15               # seconds between polls of `azjobs watch`
default_profile = "prod"    # used when neither --profile nor AZJOBS_PROFILE is given

[profiles.prod]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg-backup-prod"
vault = "rsv-prod"

[profiles.gov]
cloud = "AzureUSGovernment"  # AzureCloud, AzureChinaCloud or AzureUSGovernment
subscription = "11111111-1111-1111-1111-111111111111"
resource_group = "rg-backup"
vault = "rsv-gov"

[profiles.emulator]          # `azjobs emulator` prints the values to use
endpoint = "http://127.0.0.1:8400"
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "demo-rg"
vault = "demo-vault"
"""
