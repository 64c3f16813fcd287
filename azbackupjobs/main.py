"""The process entry point, and a fast path for the invocations scripts run in loops.

``azjobs get JOB -o json`` in a loop should cost little more than a bare ``requests`` script:
importing Typer and building its command tree costs about as much as the GET itself. So
``main()`` first tries to read argv itself, for ``get``, ``list-tasks`` and ``list`` with plain
flags, and runs the command without importing Typer; everything else (help, completion, other
commands, unknown, repeated-value or odd flags, values that do not convert) goes to the Typer app
in ``cli`` unchanged.

The option table is not written here: it is derived from the Typer app itself (``spec_from_app``)
and kept in the user cache (``cli-spec.json``), stamped with a hash of ``cli.py``. A missing or
stale table means "use Typer" (which then writes a fresh one), so the two parsers cannot drift;
tests run a matrix of invocations through both and compare stdout, stderr and exit codes.
``AZJOBS_FASTPATH=0`` turns the fast path off.

``guarded()`` is the one place that turns an ``AzJobsError`` into one stderr line and its exit
code, and signals into 130/143, for both paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from azbackupjobs import __version__
from azbackupjobs.cli.guard import guarded

SPEC_VERSION = 1
SPEC_FILE = "cli-spec.json"
DISABLE_VARIABLE = "AZJOBS_FASTPATH"
COMPLETE_VARIABLE = "_AZJOBS_COMPLETE"
# The parameters of CommonOptions, by the names the command functions in cli.py give them.
COMMON_PARAMS = frozenset(
    {
        "subscription",
        "resource_group",
        "vault",
        "cloud",
        "endpoint",
        "api_version",
        "output",
        "query",
        "debug",
        "profile",
        "auth",
    }
)
# Per fast command, the parameters the router below knows how to pass on.
ROUTED_PARAMS: dict[str, frozenset[str]] = {
    "get": COMMON_PARAMS | {"job"},
    "list-tasks": COMMON_PARAMS | {"job"},
    "list": COMMON_PARAMS
    | {
        "status",
        "operation",
        "backup_type",
        "job_id",
        "since",
        "until",
        "entity",
        "limit",
        "fleet",
        "subscriptions",
        "management_group",
        "by",
    },
}
_CONVERT: dict[str, Callable[[str], Any]] = {"str": str, "int": int, "float": float}
# click parameter types by class: the conversions above are what their convert() does.
_TYPES = {
    "StringParamType": "str",
    "IntParamType": "int",
    "FloatParamType": "float",
    "BoolParamType": "bool",
}


# ----- the option table, derived from the Typer app ---------------------------------------------
def source_stamp() -> str | None:
    """What the table was derived from: cli.py's bytes and the azjobs version."""
    import hashlib

    try:
        with open(os.path.join(os.path.dirname(__file__), "cli", "app.py"), "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None
    return f"{__version__}:{digest}"


def _param_spec(param: Any) -> dict[str, Any] | None:
    """One click parameter as the fast parser needs it; None when it cannot parse it exactly."""
    kind = param.param_type_name
    type_name = _TYPES.get(type(param.type).__name__)
    if (
        param.callback is not None
        or param.envvar
        or not param.expose_value
        or param.is_eager
        or param.nargs != 1
        or kind not in {"option", "argument"}
    ):
        return None
    spec: dict[str, Any] = {"name": param.name, "kind": kind}
    if kind == "argument":
        if type_name != "str" or param.multiple or not param.required:
            return None
        return spec
    if (
        getattr(param, "prompt", None) is not None
        or getattr(param, "count", False)
        or param.secondary_opts
        or param.required
    ):
        return None
    if param.is_flag:
        if type_name != "bool" or param.multiple or param.default not in (False, None):
            return None
        spec.update(flag=True, default=False)
    elif type_name in _CONVERT:
        default = param.default
        if param.multiple and default not in (None, ()):
            return None
        if (
            not param.multiple
            and default is not None
            and not isinstance(default, (str, int, float))
        ):
            return None
        spec.update(
            flag=False,
            type=type_name,
            multiple=bool(param.multiple),
            default=None if param.multiple else default,
        )
    else:
        return None
    spec["opts"] = list(param.opts)
    return spec


def spec_from_command(command: Any) -> dict[str, Any] | None:
    """The table of one click command; None when any of its parameters is beyond the fast path."""
    params = []
    for param in command.params:
        found = _param_spec(param)
        if found is None:
            return None
        params.append(found)
    return {"params": params}


def spec_from_app(app: Any) -> dict[str, Any]:
    """The table of every fast command the Typer ``app`` has (building only those commands)."""
    from azbackupjobs.cli.lazy import build_command

    commands: dict[str, Any] = {}
    for name, routed in ROUTED_PARAMS.items():
        command = build_command(app, name)
        found = spec_from_command(command) if command is not None else None
        if found is not None and {p["name"] for p in found["params"]} <= routed:
            commands[name] = found
    return {"version": SPEC_VERSION, "stamp": source_stamp(), "commands": commands}


def spec_path(env: Mapping[str, str]) -> str:
    from azbackupjobs.arm.token_cache import cache_root

    return str(cache_root(env) / SPEC_FILE)


def load_spec(env: Mapping[str, str]) -> dict[str, Any] | None:
    """The cached table when it was derived from this very cli.py; None otherwise."""
    from azbackupjobs.arm.files import KIB, read_small_file

    try:  # a regular file only: a FIFO or a device there must not hang or fill the memory
        raw, info = read_small_file(spec_path(env), 256 * KIB, nofollow=True)
        getuid = getattr(os, "getuid", None)
        if (getuid is not None and info.st_uid != getuid()) or info.st_mode & 0o022:
            return None  # someone else could have written it
        data = json.loads(raw)
    except (OSError, ValueError):
        return None
    stamp = source_stamp()
    if (
        stamp is None
        or not isinstance(data, dict)
        or data.get("version") != SPEC_VERSION
        or not isinstance(data.get("commands"), dict)
        or data.get("stamp") != stamp
    ):
        return None
    return data


def save_spec(env: Mapping[str, str], spec: Mapping[str, Any]) -> bool:
    """Write the table atomically (a private temporary file renamed over the old one)."""
    from pathlib import Path

    from azbackupjobs.arm.token_cache import write_private

    path = Path(spec_path(env))
    try:
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
        write_private(path, json.dumps(spec, separators=(",", ":")).encode("utf-8"))
    except OSError:
        return False
    return True


# ----- parsing ------------------------------------------------------------------------------
class Call:
    """A parsed fast invocation: the command and its parameters by Python name."""

    def __init__(self, command: str, values: dict[str, Any]) -> None:
        self.command = command
        self.values = values

    @property
    def debug(self) -> bool:
        return bool(self.values.get("debug"))


def parse(argv: Sequence[str], spec: Mapping[str, Any]) -> Call | None:
    """argv (without the program name) parsed as Typer would, or None to let Typer do it.

    Only the plainest forms are taken: exact option names, ``--long=value``, one value per
    option that does not start with '-', the right number of positional arguments.
    """
    if not argv:
        return None
    command = spec.get("commands", {}).get(argv[0])
    if not isinstance(command, dict):
        return None
    params = command.get("params")
    if not isinstance(params, list):
        return None
    by_flag: dict[str, dict[str, Any]] = {}
    arguments: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for param in params:
        if param.get("kind") == "argument":
            arguments.append(param)
            continue
        for opt in param.get("opts", ()):
            by_flag[opt] = param
        values[param["name"]] = param.get("default")
    positional: list[str] = []
    given: dict[str, list[Any]] = {}
    args = list(argv[1:])
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("-"):
            positional.append(arg)
            continue
        name, equals, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        param = by_flag.get(name)
        if param is None:
            return None
        if param.get("flag"):
            if equals:
                return None
            given.setdefault(param["name"], []).append(True)
            continue
        if equals:
            raw = inline
        else:
            if index >= len(args) or args[index].startswith("-"):
                return None
            raw = args[index]
            index += 1
        try:
            value = _CONVERT[param["type"]](raw)
        except (KeyError, ValueError, OverflowError):
            return None
        given.setdefault(param["name"], []).append(value)
    if len(positional) != len(arguments):
        return None
    for param, value in zip(arguments, positional, strict=True):
        values[param["name"]] = value
    for param in params:
        if param["name"] in given:
            seen = given[param["name"]]
            values[param["name"]] = list(seen) if param.get("multiple") else seen[-1]
    if not set(values) <= ROUTED_PARAMS.get(argv[0], frozenset()):
        return None
    return Call(argv[0], values)


# ----- running ------------------------------------------------------------------------------
def _common_options(values: Mapping[str, Any]) -> Any:
    from azbackupjobs.commands.common import CommonOptions

    return CommonOptions(**{k: v for k, v in values.items() if k in COMMON_PARAMS})


def _route(call: Call) -> int:
    """What the command function in cli.py does with the same parameters."""
    from azbackupjobs.view.output import Environment

    opts = _common_options(call.values)
    values = call.values
    if call.command == "get":
        from azbackupjobs.commands.get import run_get

        return run_get(values["job"], opts, Environment.from_system())
    if call.command == "list-tasks":
        from azbackupjobs.commands.get import run_list_tasks

        return run_list_tasks(values["job"], opts, Environment.from_system())
    from azbackupjobs.commands.list_jobs import run_list_command

    return run_list_command(opts, values, Environment.from_system())


def run_call(call: Call) -> NoReturn:
    """Run a parsed call with the exit behaviour of the Typer path."""

    def invoke() -> None:
        try:
            code = _route(call)
        except EOFError:  # as click's standalone mode does
            print(file=sys.stderr)
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        sys.exit(int(code or 0))

    guarded(invoke, lambda: call.debug)
    sys.exit(0)  # pragma: no cover - guarded always exits through invoke


def shortcuts_enabled(env: Mapping[str, str]) -> bool:
    """AZJOBS_FASTPATH=0 turns off the fast parser and the quick exits alike."""
    return env.get(DISABLE_VARIABLE, "").strip().lower() not in {"0", "false", "no", "off"}


def fast_enabled(env: Mapping[str, str]) -> bool:
    return shortcuts_enabled(env) and COMPLETE_VARIABLE not in env


def quick_exit(exc: SystemExit) -> NoReturn:
    """End a fast call at once, as ``sys.exit`` would but without the interpreter's teardown:
    unloading the ~300 modules that requests brings costs ~25 ms, as much as our own imports.
    Nothing is left to clean up: output is flushed after every write, files are closed, no
    thread runs; the streams are flushed once more here anyway."""
    code = exc.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def console() -> None:
    """The ``azjobs`` console script and ``python -m azbackupjobs``: ``main``, ending a fast call,
    a help text or a completion at once (``quick_exit``) instead of raising SystemExit."""
    main(exit_at_once=True)


def main(argv: list[str] | None = None, *, exit_at_once: bool = False) -> None:
    """The fast path when it applies, else the Typer app; raises SystemExit with the exit code
    (for in-process callers), unless ``exit_at_once``."""
    args = sys.argv[1:] if argv is None else list(argv)
    env = os.environ
    stale = False
    if args and args[0] in ROUTED_PARAMS and fast_enabled(env):
        spec = load_spec(env)
        if spec is not None:
            call = parse(args, spec)
            if call is not None:
                if not exit_at_once:
                    run_call(call)  # raises SystemExit, as the Typer path does
                try:
                    run_call(call)
                except SystemExit as exc:
                    quick_exit(exc)
        else:
            stale = True
    from azbackupjobs.cli import app as cli

    if stale:
        save_spec(env, spec_from_app(cli.app))
    if exit_at_once and shortcuts_enabled(env) and (COMPLETE_VARIABLE in env or _asks_help(args)):
        try:  # help and completions only print: no teardown either (a TAB press waits on it)
            cli.main(argv)
        except SystemExit as exc:
            quick_exit(exc)
    cli.main(argv)


def _asks_help(args: Sequence[str]) -> bool:
    """``azjobs``, ``azjobs help ...``, or -h/--help before any ``--``."""
    if not args or args[0] == "help":
        return True
    for arg in args:
        if arg == "--":
            return False
        if arg in {"-h", "--help"}:
            return True
    return False
