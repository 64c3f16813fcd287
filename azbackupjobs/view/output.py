"""Output formats, ``--query``, and the streams of one run.

Data goes to stdout only; progress, warnings and errors go to stderr. The ``Environment`` holds
the streams, whether they are terminals, the variables and how the run waits, so tests can fake
a pipe, a TTY or the passing of time through it (``Environment.installed`` for a whole command
line run). rich and jmespath are imported only when a run needs them (start-up time matters to
scripts).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from azbackupjobs.model.errors import StdoutClosed, UsageError
from azbackupjobs.model.formats import FORMATS

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

# json.dumps(ensure_ascii=False) escapes C0 controls (ESC among them) but lets DEL and the C1
# controls through (U+009B is a one-character CSI to some terminals), and bidirectional
# controls, which make text read differently from what it is. They are escaped as \uXXXX: the
# JSON value stays exactly the same, only its spelling changes.
_JSON_UNSAFE = re.compile("[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape_unsafe(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(data: Any, *, indent: int | None = None) -> str:
    """JSON as azjobs prints it: UTF-8 text, compact or indented, terminal controls escaped."""
    if indent is None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(_escape_unsafe, text)


@dataclass
class Environment:
    """What one run reads and writes through, passed in so that a caller can substitute it."""

    stdout: IO[str]
    stderr: IO[str]
    stdout_isatty: bool
    stderr_isatty: bool
    stdin_isatty: bool
    env: Mapping[str, str] = field(default_factory=dict)
    # How the HTTP client waits before a retry (Retry-After, backoff): a caller that drives
    # time itself records the waits instead of sleeping through them.
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_system(cls) -> Environment:
        """The process's streams and variables, unless a caller ``installed`` an environment:
        the command line builds its environment here, so this is where an in-process caller
        (the test harness) hands a whole ``azjobs`` run its streams, variables and sleep."""
        current = _INSTALLED.get()
        if current is not None:
            return current

        def isatty(stream: Any) -> bool:
            try:
                return bool(stream.isatty())
            except (AttributeError, ValueError):
                return False

        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdout_isatty=isatty(sys.stdout),
            stderr_isatty=isatty(sys.stderr),
            stdin_isatty=isatty(sys.stdin),
            env=os.environ,
        )

    @property
    def no_color(self) -> bool:
        return bool(self.env.get("NO_COLOR"))

    @contextlib.contextmanager
    def installed(self) -> Iterator[Environment]:
        """``from_system()`` returns this environment until the block ends."""
        token = _INSTALLED.set(self)
        try:
            yield self
        finally:
            _INSTALLED.reset(token)


_INSTALLED: ContextVar[Environment | None] = ContextVar("azjobs_environment", default=None)


@functools.cache
def _data_console_class() -> type[Console]:
    """A rich Console whose closed pipe means "the reader went away", not "exit 1".

    rich handles a BrokenPipeError itself by raising SystemExit(1), which would turn
    ``azjobs ... | head -1`` into a failure; this raises StdoutClosed instead (exit 0).
    """
    from rich.console import Console

    class DataConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise StdoutClosed()

    return DataConsole


def resolve_format(flag: str | None, env: Environment, profile: str | None = None) -> str:
    """-o flag > AZJOBS_OUTPUT > config file (``profile``, then its defaults) > table on a
    terminal, json when piped."""
    if flag:
        value, source = flag, "--output"
    elif env.env.get("AZJOBS_OUTPUT", "").strip():
        value, source = env.env["AZJOBS_OUTPUT"], "AZJOBS_OUTPUT"
    else:
        from azbackupjobs.arm.config import active_profile

        configured = active_profile(profile, env.env).get("output")
        if configured is None:
            return "table" if env.stdout_isatty else "json"
        value, source = str(configured.value), f"output from {configured.source}"
    value = value.strip().lower()
    if value not in FORMATS:
        raise UsageError(
            f"{source}: unknown output format {value!r}; use one of: " + ", ".join(FORMATS)
        )
    return value


class Query:
    """A compiled JMESPath expression; compiled up front so a bad one fails before any request."""

    def __init__(self, expression: str) -> None:
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            self._compiled = jmespath.compile(expression)
        except JMESPathError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
            raise UsageError(f"--query: malformed JMESPath expression: {first}") from None
        self.expression = expression

    def apply(self, data: Any) -> Any:
        from jmespath.exceptions import JMESPathError

        try:
            return self._compiled.search(data)
        except JMESPathError as exc:
            raise UsageError(f"--query: {exc}") from None


def tsv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    return "".join(" " if ch in "\t\r\n" or not ch.isprintable() else ch for ch in text)


def tsv_lines(data: Any) -> list[str]:
    """The az CLI's tsv: a scalar bare, a list one line per item, an object its values."""
    if isinstance(data, list):
        lines: list[str] = []
        for item in data:
            if isinstance(item, dict):
                lines.append("\t".join(tsv_cell(v) for v in item.values()))
            elif isinstance(item, list):
                lines.append("\t".join(tsv_cell(v) for v in item))
            else:
                lines.append(tsv_cell(item))
        return lines
    if isinstance(data, dict):
        return ["\t".join(tsv_cell(v) for v in data.values())]
    return [tsv_cell(data)]


class Output:
    """One object for every mode: prints data to stdout, notes to stderr."""

    def __init__(self, env: Environment, fmt: str, query: Query | None = None) -> None:
        self.env = env
        self.format = fmt
        self.query = query
        self._console: Console | None = None
        self._err_console: Console | None = None

    @property
    def is_table(self) -> bool:
        return self.format == "table"

    @property
    def live(self) -> bool:
        """A live, redrawn view only makes sense for a table on a terminal."""
        return self.format == "table" and self.env.stdout_isatty

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = _data_console_class()(
                file=self.env.stdout,
                force_terminal=self.env.stdout_isatty,
                no_color=self.env.no_color,
                highlight=False,
                soft_wrap=False,
                width=None if self.env.stdout_isatty else 160,
            )
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(
                file=self.env.stderr,
                force_terminal=self.env.stderr_isatty,
                no_color=self.env.no_color,
                highlight=False,
                stderr=True,
            )
        return self._err_console

    def _queried(self, data: Any) -> Any:
        return self.query.apply(data) if self.query is not None else data

    def json(self, data: Any) -> None:
        text = json_text(self._queried(data), indent=2)
        self._write(text + "\n")

    def ndjson(self, data: Any) -> None:
        """One compact line, flushed at once so a consumer sees it immediately."""
        text = json_text(self._queried(data))
        self._write(text + "\n")

    def ndjson_items(self, items: list[Any]) -> None:
        """A list as one line per item; a query applies to the whole list first."""
        result = self._queried(items)
        for item in result if isinstance(result, list) else [result]:
            self._write(json_text(item) + "\n")

    def tsv(self, data: Any) -> None:
        lines = tsv_lines(self._queried(data))
        if lines:
            self._write("\n".join(lines) + "\n")

    def data(self, data: Any, tsv_rows: Any | None = None) -> None:
        """Print in json/ndjson/tsv; tsv uses ``tsv_rows`` (documented columns) unless queried."""
        if self.format == "json":
            self.json(data)
        elif self.format == "ndjson":
            self.ndjson(data)
        elif self.format == "tsv":
            self.tsv(data if self.query is not None or tsv_rows is None else tsv_rows)
        else:  # pragma: no cover - callers render tables themselves
            self.json(data)

    def stream(self, items: Iterable[Any]) -> None:
        for item in items:
            self.ndjson(item)

    def json_array(self, items: Iterable[Any]) -> int:
        """A JSON array written item by item (``[]`` when empty), so that a long list never sits
        in memory; the text is the same as ``json`` of the whole list. No ``--query``: that
        needs the whole array. Returns the number of items written."""
        count = 0
        for item in items:
            text = json_text(item, indent=2).replace("\n", "\n  ")
            self._write(("[\n  " if count == 0 else ",\n  ") + text)
            count += 1
        self._write("[]\n" if count == 0 else "\n]\n")
        return count

    def render(self, renderable: RenderableType) -> None:
        try:
            self.console.print(renderable)
            self.env.stdout.flush()
        except BrokenPipeError:
            raise StdoutClosed() from None

    def _write(self, text: str) -> None:
        try:
            self.env.stdout.write(text)
            self.env.stdout.flush()
        except BrokenPipeError:
            raise StdoutClosed() from None

    # ----- stderr -------------------------------------------------------------------------------
    def note(self, message: str) -> None:
        self.env.stderr.write(message + "\n")
        self.env.stderr.flush()

    def warn(self, message: str) -> None:
        self.note(f"warning: {message}")
