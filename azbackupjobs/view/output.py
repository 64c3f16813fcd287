"""Output formats, ``--query``, and the streams of one run.

``Output`` is the one place that knows the formats: commands hand it their data with the ways to
draw it (a table renderer, the documented tsv rows) and never ask which format was chosen. A new
format is a change here only. Data goes to stdout only; progress, warnings and errors go to
stderr. The ``Environment`` holds the streams, whether they are terminals, the variables and how
the run waits, so tests can fake a pipe, a TTY or the passing of time through it
(``Environment.installed`` for a whole command line run). rich and jmespath are imported only
when a run needs them (start-up time matters to scripts).
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
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from azbackupjobs.model.errors import OutputError, StdoutClosed, UsageError
from azbackupjobs.model.formats import FORMATS

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

Drawing = Callable[[], "RenderableType | None"]
Rows = Callable[[], list[list[Any]]]

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


def output_error(exc: OSError) -> OutputError:
    """stdout refused the data (``> /dev/full``, an I/O error): one line, exit 1."""
    return OutputError(f"cannot write output: {exc.strerror or exc}")


class _WriteFailures:
    """A failed write to stdout, as azjobs reports it: any OSError but a closed pipe becomes
    one ``OutputError`` line (exit 1); a closed pipe, with ``closed_pipe``, is ``StdoutClosed``
    (the reader went away: exit 0), and otherwise goes on as it is (rich handles it).

    A class rather than a generator: its ``__exit__`` says it never swallows an exception, so
    a ``return`` inside the block still type-checks as the function's only exit."""

    def __init__(self, *, closed_pipe: bool) -> None:
        self._closed_pipe = closed_pipe

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, BrokenPipeError):
            if self._closed_pipe:
                raise StdoutClosed() from None
        elif isinstance(exc, OSError):
            raise output_error(exc) from None


class _CheckedStream:
    """stdout as the rich console writes to it: a failed write other than a closed pipe (which
    rich and ``StdoutClosed`` handle) becomes an ``OutputError`` wherever it happens, a live
    view's redraw included."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        with _WriteFailures(closed_pipe=False):
            return self._stream.write(text)

    def flush(self) -> None:
        with _WriteFailures(closed_pipe=False):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


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
            from azbackupjobs.model.text import sanitize

            raise UsageError(
                f"--query: malformed JMESPath expression {sanitize(expression, 120)!r}: "
                f"{query_problem(exc)}"
            ) from None
        self.expression = expression

    def apply(self, data: Any) -> Any:
        from jmespath.exceptions import JMESPathError

        try:
            return self._compiled.search(data)
        except JMESPathError as exc:
            from azbackupjobs.model.text import sanitize

            raise UsageError(
                f"--query {sanitize(self.expression, 120)!r} failed on the data: "
                f"{data_problem(exc)}"
            ) from None


def data_problem(exc: Exception) -> str:
    """What went wrong applying an expression, without the data: jmespath's type errors quote
    the whole value it met (a job's Python repr, tokens of text and all)."""
    from jmespath import exceptions

    if isinstance(exc, exceptions.JMESPathTypeError):
        expected = " or ".join(str(t) for t in exc.expected_types)
        return (
            f"{exc.function_name}() expects {expected}, but got a value of type {exc.actual_type}"
        )
    lines = str(exc).strip().splitlines()
    return lines[0].rstrip(":")[:200] if lines else type(exc).__name__


def query_problem(exc: Exception) -> str:
    """What is wrong with a JMESPath expression, in a few words: jmespath's own messages end
    with a colon and put the expression and a caret on the lines after it."""
    from jmespath import exceptions

    if isinstance(exc, exceptions.IncompleteExpressionError) or (
        isinstance(exc, exceptions.ParseError) and getattr(exc, "token_type", None) == "EOF"
    ):
        return "it ends too early"
    if isinstance(exc, exceptions.LexerError):
        return f"{str(exc.message).rstrip('.').lower()} at column {exc.lexer_position}"
    if isinstance(exc, exceptions.ArityError):
        return str(exc)
    if isinstance(exc, exceptions.ParseError):
        return f"unexpected {exc.token_value!r} at column {exc.lex_position}"
    lines = str(exc).strip().splitlines()
    return lines[0].rstrip(":") if lines else "syntax error"


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
    """One object for every mode: prints data to stdout, notes to stderr.

    Commands use ``show`` (one result), ``stream`` (a list printed as it arrives), and for what
    they follow ``change``, ``line``, ``final`` and ``conclusion``; the primitives below them
    (``json``, ``ndjson``, ``tsv``, ``render``) write one form each.
    """

    def __init__(self, env: Environment, fmt: str, query: Query | None = None) -> None:
        self.env = env
        self.format = fmt
        self.query = query
        self._console: Console | None = None
        self._err_console: Console | None = None

    @property
    def drawn(self) -> bool:
        """Data is drawn for people (a table); ``--query`` asks for JSON instead."""
        return self.format == "table" and self.query is None

    @property
    def live(self) -> bool:
        """A live, redrawn view only makes sense for a table on a terminal."""
        return self.drawn and self.env.stdout_isatty

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = _data_console_class()(
                file=_CheckedStream(self.env.stdout),  # type: ignore[arg-type]
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

    # ----- results --------------------------------------------------------------------------
    def show(
        self,
        data: Any,
        *,
        table: Drawing | None = None,
        tsv: Rows | None = None,
        lines: Callable[[], list[Any]] | None = None,
    ) -> None:
        """One result, in the chosen format. ``table`` draws it for people (it may print
        notes itself and return None); ``tsv`` gives its documented rows, used unless a query
        reshaped the data; ``lines`` the items ``-o ndjson`` prints one per line (by default
        ``data`` is one line). ``--query`` applies to ``data`` (or to ``lines``)."""
        if self.drawn and table is not None:
            drawing = table()
            if drawing is not None:
                self.render(drawing)
        elif self.format == "ndjson":
            if lines is not None:
                self.ndjson_items(lines())
            else:
                self.ndjson(data)
        elif self.format == "tsv":
            self.tsv(data if self.query is not None or tsv is None else tsv())
        else:
            self.json(data)

    def stream(
        self,
        items: Iterable[Any],
        *,
        table: Drawing | None = None,
        tsv_row: Callable[[Any], list[Any]] | None = None,
    ) -> None:
        """A list printed as it arrives, so that a long one never sits in memory: ndjson and
        tsv a line per item, json an array written item by item. ``table`` draws the list for
        people (it reads the items itself). ``--query`` needs the whole list: it is read
        first, then printed as ``show`` would."""
        if self.drawn and table is not None:
            drawing = table()
            if drawing is not None:
                self.render(drawing)
        elif self.query is not None:
            everything = list(items)
            self.show(everything, lines=lambda: everything)
        elif self.format == "ndjson":
            for item in items:
                self.ndjson(item)
        elif self.format == "tsv":
            for item in items:
                self.tsv([tsv_row(item)] if tsv_row is not None else item)
        else:
            self.json_array(items)

    # ----- what a watch prints ----------------------------------------------------------------
    @property
    def in_lines(self) -> bool:
        """Progress is told in plain lines on stdout (a table that is not redrawn live)."""
        return self.drawn

    def change(self, data: Any) -> None:
        """Something followed changed: ``-o ndjson`` prints it at once; the other formats
        print at the end (``final``) or draw the progress."""
        if self.format == "ndjson":
            self.ndjson(data)

    def line(self, text: str) -> None:
        """A plain progress line for people (logs): printed when progress is told in lines."""
        if self.in_lines:
            from rich.text import Text

            self.render(Text(text, no_wrap=True, overflow="ignore"))

    def final(self, data: Any, *, tsv: Rows | None = None) -> None:
        """The end result of something followed: ``-o json`` (or a table with ``--query``)
        prints ``data``, ``-o tsv`` its rows; the other formats told it as it went. None:
        nothing to print."""
        if data is None:
            return
        if self.format == "json" or (self.format == "table" and self.query is not None):
            self.json(data)
        elif self.format == "tsv":
            self.tsv(data if self.query is not None or tsv is None else tsv())

    def conclusion(self, text: str, *, told: bool = False, note: str | None = None) -> None:
        """The last word of something followed: chrome, so a note on stderr (``note``, by
        default ``text``) and never data on stdout; nothing when the progress lines ``told`` it
        already."""
        if self.in_lines:
            if not told:
                self.note(text)
        else:
            self.note(note if note is not None else text)

    # ----- primitives -------------------------------------------------------------------------
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
        with _WriteFailures(closed_pipe=True):
            self.console.print(renderable)
            self.env.stdout.flush()

    def _write(self, text: str) -> None:
        with _WriteFailures(closed_pipe=True):
            self.env.stdout.write(text)
            self.env.stdout.flush()

    # ----- stderr -------------------------------------------------------------------------------
    def note(self, message: str) -> None:
        self.env.stderr.write(message + "\n")
        self.env.stderr.flush()

    def warn(self, message: str) -> None:
        self.note(f"warning: {message}")
