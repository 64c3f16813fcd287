"""From parsed values to a command's run: the one way both parsers start a command.

The Typer app and the start-up parser each turn argv into ``{parameter name: value}``; here
those values become the command's options object (converters applied, repeated values as
tuples) and the run function that serves it gets it, with the process's streams and
environment. So the two parsers cannot differ in what a command does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azbackupjobs.cli.spec import Command, Param, resolve


def _value(param: Param, raw: Any) -> Any:
    """The field's value; the converter is imported only when there is a value to convert."""
    items = tuple(raw or ()) if param.multiple else (raw,)
    if param.convert is not None and any(item is not None for item in items):
        convert = resolve(param.convert)
        items = tuple(convert(item) for item in items)
    return items if param.multiple else items[0]


def build_options(command: Command, values: Mapping[str, Any], *, context: Any = None) -> Any:
    """The command's options object; a parameter missing from ``values`` gets its default.
    A converter's error (an ``AzJobsError``) propagates: bad values are usage errors."""
    fields = {p.name: _value(p, values.get(p.name, p.default)) for p in command.params}
    if command.with_context:
        fields["context"] = context
    return resolve(command.options)(**fields)


def run(command: Command, values: Mapping[str, Any], *, context: Any = None) -> int:
    """Build the options and run the command: its exit code."""
    from azbackupjobs.view.output import Environment

    options = build_options(command, values, context=context)
    code = resolve(command.run_for(options))(options, Environment.from_system())
    return int(code or 0)
