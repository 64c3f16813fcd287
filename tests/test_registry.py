"""The command registry: every entry names real code, and both parsers start commands from it."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any

import pytest
import typer

from azbackupjobs.cli import app as cli
from azbackupjobs.cli import invoke, registry
from azbackupjobs.cli.spec import Command, Group, Param, Program, resolve
from azbackupjobs.commands.common import CommonOptions
from azbackupjobs.model.errors import UsageError
from tests.harness import run_cli, run_cli_process, run_command


def every_command() -> list[tuple[str, Command]]:
    found: list[tuple[str, Command]] = []
    for entry in registry.PROGRAM.entries:
        if isinstance(entry, Group):
            found.extend((f"{entry.name} {c.name}", c) for c in entry.commands)
        else:
            found.append((entry.name, entry))
    return found


COMMANDS = every_command()
IDS = [name for name, _ in COMMANDS]


def test_the_shared_options_are_the_fields_of_common_options() -> None:
    assert [p.name for p in registry.COMMON] == [f.name for f in dataclasses.fields(CommonOptions)]


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=IDS)
def test_every_parameter_fills_a_field_of_the_options_class(name: str, command: Command) -> None:
    fields = {f.name: f for f in dataclasses.fields(resolve(command.options))}
    names = [p.name for p in command.params] + (["context"] if command.with_context else [])
    assert len(names) == len(set(names)), "a parameter twice"
    assert set(names) <= set(fields), f"no field for {set(names) - set(fields)}"
    required = {
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert required <= set(names), f"nothing fills {required - set(names)}"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=IDS)
def test_every_dotted_path_resolves(name: str, command: Command) -> None:
    assert dataclasses.is_dataclass(resolve(command.options))
    for path in (command.run, *(r.run for r in command.routes)):
        run = resolve(path)
        assert list(inspect.signature(run).parameters)[:2] == ["opts", "env"], path
    for route in command.routes:
        assert isinstance(getattr(resolve(command.options), route.when), property)
    for param in command.params:
        for hook in (param.complete, param.convert):
            if hook is not None:
                assert callable(resolve(hook)), hook


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=IDS)
def test_flags_are_unique_and_spelled_as_flags(name: str, command: Command) -> None:
    flags = [flag for p in command.params for flag in p.flags]
    assert len(flags) == len(set(flags))
    assert all(f.startswith("--") or (len(f) == 2 and f[0] == "-") for f in flags)
    for param in command.params:
        assert param.help.strip(), f"{param.name} has no help"
        assert param.kind != "bool" or param.default is False, f"{param.name}: a flag is off"


def test_the_typer_app_has_the_registry_commands() -> None:
    app = cli.build_app()
    names = [info.name for info in app.registered_commands]
    for group in app.registered_groups:
        assert group.typer_instance is not None
        names.append(str(group.typer_instance.info.name))
    assert names == [e.name for e in registry.PROGRAM.entries]


def _watch(**values: Any) -> Any:
    return invoke.build_options(registry.WATCH, values)


def test_values_become_typed_options() -> None:
    options = _watch(jobs=["a", "b"], interval="2m", timeout="1h", subscriptions=None)
    assert options.jobs == ("a", "b") and options.subscriptions == ()
    assert options.interval == 120.0 and options.timeout == 3600.0
    assert options.grace == 60.0  # the default "60", converted like a given value
    assert options.output is None and options.debug is False


def test_a_value_that_does_not_convert_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--grace"):
        _watch(grace="soon")


@pytest.mark.parametrize(
    ("command", "values", "run"),
    [
        (registry.LIST, {}, "list_jobs:run"),
        (registry.LIST, {"fleet": True}, "list_jobs:run_fleet"),
        (registry.LIST, {"by": "vault"}, "list_jobs:run_fleet"),
        (registry.WATCH, {"jobs": ["a"]}, "watch:run"),
        (registry.WATCH, {"details": True}, "watch:run_fleet"),
        (registry.WATCH, {"since": "7d"}, "watch:run_fleet"),
    ],
)
def test_routes_pick_the_run_function(command: Command, values: dict[str, Any], run: str) -> None:
    options = invoke.build_options(command, values)
    assert command.run_for(options) == f"azbackupjobs.commands.{run}"


# ----- a command added by one module and one entry -----------------------------------------------
@dataclass(frozen=True)
class ProbeOptions:
    name: str
    times: int = 1
    loud: bool = False


SEEN: list[ProbeOptions] = []


def run_probe(opts: ProbeOptions, env: Any) -> int:
    SEEN.append(opts)
    env.stdout.write(f"{opts.name * opts.times}\n")
    return 3 if opts.loud else 0


PROBE = Command(
    "probe",
    "Say a name.",
    (
        Param("name", "The name.", required=True, metavar="NAME"),
        Param("times", "How often.", ("--times", "-t"), kind="int", default=1),
        Param("loud", "Exit 3.", ("--loud",), kind="bool", default=False),
    ),
    options=f"{__name__}:ProbeOptions",
    run=f"{__name__}:run_probe",
    examples=("azjobs probe x",),
    fast=True,
)


def test_a_new_entry_is_a_command_of_both_parsers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from azbackupjobs.cli import fastparse

    program = dataclasses.replace(
        registry.PROGRAM, entries=(*registry.PROGRAM.entries[:-2], PROBE, registry.CONFIG)
    )
    monkeypatch.setattr(cli, "PROGRAM", program)
    SEEN.clear()
    typer_path = run_cli("probe", "ab", "-t", "2", "--loud")
    assert typer_path.exit_code == 3 and typer_path.stdout == "abab\n"
    assert "Say a name." in run_command(cli.build_app(set()), "--help").stdout
    call = fastparse.parse(["probe", "ab", "--times=2", "--loud"], program)
    assert call is not None and invoke.run(call.command, call.values) == 3
    assert capsys.readouterr().out == "abab\n"
    assert [ProbeOptions("ab", 2, True)] * 2 == SEEN


def test_program_find() -> None:
    assert registry.PROGRAM.find("get") is registry.GET
    assert registry.PROGRAM.find("nope") is None
    assert isinstance(registry.PROGRAM, Program)
    assert isinstance(registry.CONFIG.find("show"), Command)


def test_the_registry_imports_neither_typer_nor_commands() -> None:
    import sys

    probe = (
        "import sys; import azbackupjobs.cli.registry, azbackupjobs.cli.fastparse; "
        "print(sorted(m for m in sys.modules if m.startswith(('typer', 'click', "
        "'azbackupjobs.commands', 'azbackupjobs.arm', 'requests'))))"
    )
    done = run_cli_process(program=(sys.executable, "-c", probe))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_typer_sees_the_generated_signature() -> None:
    function = cli.command_function(registry.GET)
    parameters = inspect.signature(function).parameters
    assert list(parameters) == [p.name for p in registry.GET.params]
    assert parameters["job"].default is inspect.Parameter.empty
    assert isinstance(typer.Context, type)


# ----- --timeout: the run's overall deadline ------------------------------------------------------
class Stop(UsageError):
    """Raised by the recording open_session: the run has shown what it passes on."""


@pytest.mark.parametrize("entry", ["console", "typer"])
@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["get", "3b6a1d2c-0000-4000-8000-000000000001"], "get"),
        (["list-tasks", "3b6a1d2c-0000-4000-8000-000000000001"], "get"),
        (["list"], "list_jobs"),
        (["list", "--fleet"], "shared.fleet"),
    ],
)
def test_timeout_reaches_the_session(
    argv: list[str], module: str, entry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    monkeypatch.setenv("AZJOBS_ACCESS_TOKEN", "t")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("AZJOBS_RESOURCE_GROUP", "rg")
    monkeypatch.setenv("AZJOBS_VAULT", "v")
    seen: list[Any] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("timeout"))
        raise Stop("stopped")

    monkeypatch.setattr(
        importlib.import_module(f"azbackupjobs.commands.{module}"), "open_session", recording
    )
    for extra, expected in ((["--timeout", "1m30s"], 90.0), ([], None)):
        result = run_cli(*argv, *extra, "-o", "json", fast_path=entry == "console")
        assert result.exit_code == 2 and "stopped" in result.stderr
        assert seen.pop() == expected


def test_timeout_is_in_the_help_of_get_list_tasks_and_list() -> None:
    for command in ("get", "list-tasks", "list"):
        text = " ".join(run_cli(command, "--help").stdout.split())
        wanted = "--timeout DURATION Give up after this long (90, 30m, 2h, 1h30m), the requests"
        assert wanted in text
