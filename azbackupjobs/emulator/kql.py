"""The small part of KQL (Kusto Query Language) that Resource Graph clients send for backup jobs.

A tokenizer, a recursive-descent parser and an evaluator over rows (dicts). The grammar is kept
small and strict on purpose: anything outside it raises :class:`KqlError` with the line, the
position in the line and the token, which the Resource Graph route turns into ARG's 400
``BadRequest``. What is understood::

    query     := TABLE ('|' stage)*
    stage     := 'where' expr
               | 'extend' NAME '=' expr (',' NAME '=' expr)*
               | 'project' item (',' item)*              item := NAME | NAME '=' expr
               | 'summarize' NAME '=' 'count' '(' ')' (',' ...)* 'by' item (',' item)*
               | ('order' | 'sort') 'by' expr ('asc' | 'desc')? (',' ...)*
               | ('take' | 'limit') INT
    expr      := and ('or' and)*
    and       := cmp ('and' cmp)*
    cmp       := value (CMP value | ('in' | 'in~' | '!in' | '!in~') '(' literals ')')?
    CMP       := '==' | '!=' | '=~' | '!~' | '<' | '<=' | '>' | '>=' | 'contains' | '!contains'
               | 'startswith'
    value     := STRING | INT | 'datetime' '(' ISO-8601 ')' | '(' expr ')'
               | FUNCTION '(' args ')' ('[' INT ']')? | NAME ('.' NAME)*
    FUNCTION  := tostring | todatetime | tolower | split | strcat | isnull | isnotnull
               | case (condition, value, ..., else: an odd number of arguments, at least 3)

Strings are single- or double-quoted with backslash escapes (``\\\\ \\' \\" \\n \\t \\r``);
``=~``, ``in~``, ``contains`` and ``startswith`` ignore case, as in KQL. Columns are checked
before any row is read, so a misspelt column is an error even on an empty table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

KEYWORDS = frozenset(
    {
        "where",
        "extend",
        "project",
        "summarize",
        "order",
        "sort",
        "by",
        "asc",
        "desc",
        "and",
        "or",
        "take",
        "limit",
    }
)
FUNCTIONS = frozenset(
    {"tostring", "todatetime", "tolower", "split", "strcat", "isnull", "isnotnull", "case"}
)
COMPARISONS = frozenset(
    {"==", "!=", "=~", "!~", "<", "<=", ">", ">=", "contains", "!contains", "startswith"}
)
MEMBERSHIP = frozenset({"in", "in~", "!in", "!in~"})
MAX_QUERY_LENGTH = 64 * 1024
# Parentheses and function calls inside one another; the parser and the evaluator recurse once
# per level, so the bound keeps a hostile query far from the interpreter's recursion limit.
MAX_NESTING = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_DATETIME_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d{1,7}))?)?"
    r"Z?"
)


class KqlError(ValueError):
    """A query outside the grammar; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1, token: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.token = token


# ----- values -----------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Moment:
    """A KQL datetime: seconds since the epoch (UTC)."""

    seconds: float

    def iso(self) -> str:
        stamp = _EPOCH + timedelta(seconds=self.seconds)
        fraction = f".{stamp.microsecond:06d}".rstrip("0").rstrip(".")
        return stamp.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def parse_moment(text: str) -> Moment | None:
    """An ISO 8601 UTC date or date-time (0-7 fractional digits, ``Z`` optional)."""
    match = _DATETIME_RE.fullmatch(text.strip())
    if match is None:
        return None
    clock = match["time"] or "00:00:00"
    if len(clock) == 5:
        clock += ":00"
    try:
        stamp = datetime.fromisoformat(f"{match['date']}T{clock}").replace(tzinfo=UTC)
    except ValueError:
        return None
    fraction = int((match["frac"] or "0").ljust(7, "0")) / 10_000_000
    return Moment((stamp - _EPOCH).total_seconds() + fraction)


def to_json(value: Any) -> Any:
    """A value as it appears in a result row."""
    if isinstance(value, Moment):
        return value.iso()
    return value


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Moment):
        return value.iso()
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


# ----- tokens -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # "name", "string", "int", "datetime", "op", "end"
    text: str
    value: Any
    line: int
    column: int


_PUNCT = ("==", "!=", "=~", "!~", "<=", ">=", "|", "(", ")", ",", "[", "]", ".", "=", "<", ">")


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_QUERY_LENGTH:
        raise KqlError(f"The query is longer than {MAX_QUERY_LENGTH} characters.")
    tokens: list[Token] = []
    i, line, line_start = 0, 1, 0
    n = len(text)

    def here(at: int) -> tuple[int, int]:
        return line, at - line_start + 1

    while i < n:
        ch = text[i]
        if ch == "\n":
            i += 1
            line, line_start = line + 1, i
            continue
        if ch in " \t\r":
            i += 1
            continue
        ln, col = here(i)
        if ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if not word.isascii():
                raise KqlError(f"Unexpected character in name '{word}'.", ln, col, word)
            if word == "in" and j < n and text[j] == "~":
                tokens.append(Token("op", "in~", "in~", ln, col))
                i = j + 1
                continue
            if word == "datetime" and j < n and text[j] == "(":
                end = text.find(")", j)
                if end < 0:
                    raise KqlError("Unterminated datetime literal.", ln, col, word)
                raw = text[j + 1 : end]
                moment = parse_moment(raw)
                if moment is None:
                    raise KqlError(f"Invalid datetime literal '{raw}'.", ln, col, raw)
                tokens.append(Token("datetime", text[i : end + 1], moment, ln, col))
                i = end + 1
                continue
            tokens.append(Token("name", word, word, ln, col))
            i = j
            continue
        if ch.isdigit():
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j < n and (text[j].isalpha() or text[j] == "."):
                raise KqlError("Only whole numbers are supported.", ln, col, text[i : j + 1])
            tokens.append(Token("int", text[i:j], int(text[i:j]), ln, col))
            i = j
            continue
        if ch in "'\"":
            value, i = _read_string(text, i, ln, col)
            tokens.append(Token("string", ch, value, ln, col))
            continue
        if ch == "!" and text.startswith(("!contains", "!in~", "!in"), i):
            for word in ("!contains", "!in~", "!in"):
                if text.startswith(word, i):
                    after = i + len(word)
                    if (
                        word != "!in~"
                        and after < n
                        and (text[after].isalnum() or text[after] == "_")
                    ):
                        continue
                    tokens.append(Token("op", word, word, ln, col))
                    i = after
                    break
            else:
                raise KqlError("Unexpected '!'.", ln, col, "!")
            continue
        for punct in _PUNCT:
            if text.startswith(punct, i):
                tokens.append(Token("op", punct, punct, ln, col))
                i += len(punct)
                break
        else:
            raise KqlError(f"Unexpected character '{ch}'.", ln, col, ch)
    ln, col = here(n)
    tokens.append(Token("end", "", None, ln, col))
    return tokens


def _read_string(text: str, start: int, line: int, column: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch in "\r\n":
            break
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in _ESCAPES:
                raise KqlError(
                    f"Invalid escape sequence '\\{nxt}' in a string literal.",
                    line,
                    column,
                    text[start : i + 2],
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise KqlError("Unterminated string literal.", line, column, text[start:i])


# ----- syntax tree ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Col:
    path: tuple[str, ...]
    token: Token = field(compare=False, repr=False)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Index:
    target: Any
    index: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Member:
    op: str
    left: Any
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Where:
    condition: Any


@dataclass(frozen=True)
class Extend:
    columns: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Project:
    columns: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Summarize:
    aggregates: tuple[str, ...]  # names of count() columns
    by: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Order:
    keys: tuple[tuple[Any, bool], ...]  # (expression, descending)


@dataclass(frozen=True)
class Take:
    count: int


@dataclass(frozen=True)
class Query:
    table: str
    stages: tuple[Any, ...]


# ----- parser -----------------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(
                f"The query nests parentheses or function calls more than "
                f"{MAX_NESTING} levels deep."
            )

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, message: str, tok: Token | None = None) -> KqlError:
        t = tok or self.tok
        return KqlError(message, t.line, t.column, t.text or "<end of query>")

    def next(self) -> Token:
        tok = self.tok
        self.pos += 1
        return tok

    def is_op(self, text: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == text

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text == word

    def expect_op(self, text: str) -> Token:
        if not self.is_op(text):
            raise self.fail(f"Expected '{text}'.")
        return self.next()

    def expect_word(self, word: str) -> Token:
        if not self.is_word(word):
            raise self.fail(f"Expected '{word}'.")
        return self.next()

    def name(self) -> str:
        tok = self.tok
        if tok.kind != "name" or tok.text in KEYWORDS:
            raise self.fail("Expected a column name.")
        self.pos += 1
        return tok.text

    def query(self) -> Query:
        tok = self.tok
        if tok.kind != "name":
            raise self.fail("Expected a table name.")
        self.pos += 1
        stages = []
        while self.is_op("|"):
            self.next()
            stages.append(self.stage())
        if self.tok.kind != "end":
            raise self.fail("Expected '|' or the end of the query.")
        return Query(tok.text, tuple(stages))

    def stage(self) -> Any:
        tok = self.tok
        word = tok.text if tok.kind == "name" else ""
        if word == "where":
            self.next()
            return Where(self.expr())
        if word == "extend":
            self.next()
            return Extend(self.assignments(require_value=True))
        if word == "project":
            self.next()
            return Project(self.assignments(require_value=False))
        if word == "summarize":
            self.next()
            return self.summarize()
        if word in {"order", "sort"}:
            self.next()
            self.expect_word("by")
            keys = [self.sort_key()]
            while self.is_op(","):
                self.next()
                keys.append(self.sort_key())
            return Order(tuple(keys))
        if word in {"take", "limit"}:
            self.next()
            if self.tok.kind != "int":
                raise self.fail("Expected a number of rows.")
            return Take(int(self.next().value))
        raise self.fail(f"Unsupported operator '{tok.text or '<end of query>'}'.")

    def assignments(self, *, require_value: bool) -> tuple[tuple[str, Any], ...]:
        items = [self.assignment(require_value)]
        while self.is_op(","):
            self.next()
            items.append(self.assignment(require_value))
        return tuple(items)

    def assignment(self, require_value: bool) -> tuple[str, Any]:
        name_tok = self.tok
        name = self.name()
        if self.is_op("="):
            self.next()
            return name, self.expr()
        if require_value:
            raise self.fail("Expected '=' and an expression.")
        return name, Col((name,), name_tok)

    def summarize(self) -> Summarize:
        aggregates = [self.aggregate()]
        while self.is_op(","):
            self.next()
            aggregates.append(self.aggregate())
        self.expect_word("by")
        by = self.assignments(require_value=False)
        return Summarize(tuple(aggregates), by)

    def aggregate(self) -> str:
        name = self.name()
        self.expect_op("=")
        self.expect_word("count")
        self.expect_op("(")
        self.expect_op(")")
        return name

    def sort_key(self) -> tuple[Any, bool]:
        expression = self.expr()
        if self.is_word("asc") or self.is_word("desc"):
            return expression, self.next().text == "desc"
        return expression, True  # KQL sorts descending by default

    def expr(self) -> Any:
        return self._joined("or", self.conjunction)

    def conjunction(self) -> Any:
        return self._joined("and", self.comparison)

    def _joined(self, word: str, operand: Callable[[], Any]) -> Any:
        """Operands joined by ``word`` (``and`` binds tighter than ``or``); one is itself."""
        items = [operand()]
        while self.is_word(word):
            self.next()
            items.append(operand())
        return items[0] if len(items) == 1 else Logic(word, tuple(items))

    def comparison(self) -> Any:
        left = self.value()
        tok = self.tok
        op = ""
        if tok.kind == "op" or (
            tok.kind == "name" and tok.text in {"contains", "startswith", "in"}
        ):
            op = tok.text
        if op in COMPARISONS:
            self.next()
            return Compare(op, left, self.value())
        if op in MEMBERSHIP:
            self.next()
            self.expect_op("(")
            values = [self.literal()]
            while self.is_op(","):
                self.next()
                values.append(self.literal())
            self.expect_op(")")
            return Member(op, left, tuple(values))
        return left

    def literal(self) -> Lit:
        tok = self.tok
        if tok.kind in {"string", "int", "datetime"}:
            self.next()
            return Lit(tok.value)
        raise self.fail("Expected a literal value.")

    def value(self) -> Any:
        tok = self.tok
        if tok.kind in {"string", "int", "datetime"}:
            self.next()
            return Lit(tok.value)
        if self.is_op("("):
            self.enter()
            self.next()
            inner = self.expr()
            self.expect_op(")")
            self.depth -= 1
            return inner
        if tok.kind != "name" or tok.text in KEYWORDS:
            raise self.fail("Expected a value.")
        self.next()
        if self.is_op("("):
            if tok.text not in FUNCTIONS:
                raise self.fail(f"Unsupported function '{tok.text}'.", tok)
            self.enter()
            self.next()
            args = []
            if not self.is_op(")"):
                args.append(self.expr())
                while self.is_op(","):
                    self.next()
                    args.append(self.expr())
            self.expect_op(")")
            self.depth -= 1
            node: Any = Call(tok.text, tuple(args))
            _check_arity(node, tok)
            if self.is_op("["):
                self.next()
                if self.tok.kind != "int":
                    raise self.fail("Expected an index.")
                index = int(self.next().value)
                self.expect_op("]")
                node = Index(node, index)
            return node
        path = [tok.text]
        while self.is_op("."):
            self.next()
            part = self.tok
            if part.kind != "name":
                raise self.fail("Expected a property name.")
            self.next()
            path.append(part.text)
        return Col(tuple(path), tok)


_ARITY = {
    "tostring": (1, 1),
    "todatetime": (1, 1),
    "tolower": (1, 1),
    "split": (2, 2),
    "strcat": (1, 64),
    "case": (3, 255),
    "isnull": (1, 1),
    "isnotnull": (1, 1),
}


def _check_arity(node: Call, tok: Token) -> None:
    low, high = _ARITY[node.name]
    if node.name == "case" and len(node.args) % 2 == 0:
        raise KqlError(
            "Function 'case' takes pairs of condition and value, then a default value.",
            tok.line,
            tok.column,
            tok.text,
        )
    if not low <= len(node.args) <= high:
        raise KqlError(
            f"Function '{node.name}' takes {low} argument(s).", tok.line, tok.column, tok.text
        )


def parse(text: str) -> Query:
    """Parse a query; raises KqlError for anything outside the grammar."""
    return _Parser(tokenize(text)).query()


def map_literals(node: Any, change: Callable[[Any], Any]) -> Any:
    """A copy of a query (or any part of it) with ``change`` applied to every literal value."""
    if isinstance(node, Lit):
        return Lit(change(node.value))
    if isinstance(node, tuple):
        return tuple(map_literals(item, change) for item in node)
    if isinstance(
        node, (Call, Index, Compare, Member, Logic, Where, Extend, Project, Summarize, Order, Query)
    ):
        values = {f.name: map_literals(getattr(node, f.name), change) for f in fields(node)}
        return replace(node, **values)
    return node


# ----- columns ----------------------------------------------------------------------------------
def check_columns(query: Query, columns: Iterable[str]) -> None:
    """Refuse a query that names a column its input does not have (ARG's semantic error)."""
    available = set(columns)
    for stage in query.stages:
        if isinstance(stage, Where):
            _check_expr(stage.condition, available)
        elif isinstance(stage, Extend):
            for name, expression in stage.columns:
                _check_expr(expression, available)
                available.add(name)
        elif isinstance(stage, Project):
            for _, expression in stage.columns:
                _check_expr(expression, available)
            available = {name for name, _ in stage.columns}
        elif isinstance(stage, Summarize):
            for _, expression in stage.by:
                _check_expr(expression, available)
            available = {name for name, _ in stage.by} | set(stage.aggregates)
        elif isinstance(stage, Order):
            for expression, _ in stage.keys:
                _check_expr(expression, available)


def _check_expr(node: Any, available: set[str]) -> None:
    if isinstance(node, Col):
        if node.path[0] not in available:
            raise KqlError(
                f"Failed to resolve scalar expression named '{node.path[0]}'.",
                node.token.line,
                node.token.column,
                node.path[0],
            )
    elif isinstance(node, Call):
        for arg in node.args:
            _check_expr(arg, available)
    elif isinstance(node, Index):
        _check_expr(node.target, available)
    elif isinstance(node, Compare):
        _check_expr(node.left, available)
        _check_expr(node.right, available)
    elif isinstance(node, Member):
        _check_expr(node.left, available)
    elif isinstance(node, Logic):
        for item in node.items:
            _check_expr(item, available)


# ----- evaluation -------------------------------------------------------------------------------
def evaluate(node: Any, row: Mapping[str, Any]) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Col):
        value: Any = row.get(node.path[0])
        for part in node.path[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    if isinstance(node, Call):
        return _call(node, row)
    if isinstance(node, Index):
        target = evaluate(node.target, row)
        if isinstance(target, list) and -len(target) <= node.index < len(target):
            return target[node.index]
        return None
    if isinstance(node, Logic):
        if node.op == "and":
            return all(evaluate(item, row) is True for item in node.items)
        return any(evaluate(item, row) is True for item in node.items)
    if isinstance(node, Compare):
        return _compare(node.op, evaluate(node.left, row), evaluate(node.right, row))
    if isinstance(node, Member):
        left = evaluate(node.left, row)
        ignore_case = node.op.endswith("~")
        values = [v.value for v in node.values]
        found = any(_equal(left, v, ignore_case) for v in values)
        return not found if node.op.startswith("!") else found
    raise KqlError("Unsupported expression.")  # pragma: no cover - the parser builds no other


def _call(node: Call, row: Mapping[str, Any]) -> Any:
    if node.name == "case":
        # The first condition that holds picks its value; only that value is evaluated.
        pairs = node.args[:-1]
        for condition, value in zip(pairs[::2], pairs[1::2], strict=True):
            if evaluate(condition, row) is True:
                return evaluate(value, row)
        return evaluate(node.args[-1], row)
    args = [evaluate(a, row) for a in node.args]
    name = node.name
    if name == "tostring":
        return to_text(args[0])
    if name == "tolower":
        return to_text(args[0]).lower()
    if name == "strcat":
        return "".join(to_text(a) for a in args)
    if name == "todatetime":
        value = args[0]
        if isinstance(value, Moment) or value is None:
            return value
        return parse_moment(value) if isinstance(value, str) else None
    if name == "split":
        text, delimiter = args
        if not isinstance(text, str) or not isinstance(delimiter, str) or not delimiter:
            return None
        return text.split(delimiter)
    if name == "isnull":
        return args[0] is None
    return args[0] is not None  # isnotnull


def _equal(left: Any, right: Any, ignore_case: bool) -> bool:
    # A JSON boolean compares equal to the string 'true'/'false', as ARG lets the az CLI's
    # ``properties.isUserTriggered == 'true'`` match.
    if isinstance(left, bool) and isinstance(right, str):
        left = str(left).lower()
    elif isinstance(right, bool) and isinstance(left, str):
        right = str(right).lower()
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower() if ignore_case else left == right
    if left is None or right is None:
        return False
    return bool(left == right)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in {"==", "=~"}:
        return _equal(left, right, op == "=~")
    if op in {"!=", "!~"}:
        return not _equal(left, right, op == "!~")
    if op in {"contains", "!contains", "startswith"}:
        if not isinstance(right, str):
            return False
        text = to_text(left).lower()
        needle = right.lower()
        if op == "startswith":
            return text.startswith(needle)
        return (needle in text) == (op == "contains")
    if left is None or right is None or type(left) is not type(right):
        return False
    checks: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return bool(checks[op](left, right))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, Moment):
        return (1, value.seconds)
    if isinstance(value, bool):
        return (2, int(value))
    if isinstance(value, (int, float)):
        return (2, value)
    return (3, to_text(value))


def run(query: Query, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Evaluate ``query`` over ``rows`` (the table); returns the result rows, values as JSON."""
    current: list[dict[str, Any]] = [dict(r) for r in rows]
    for stage in query.stages:
        if isinstance(stage, Where):
            current = [r for r in current if evaluate(stage.condition, r) is True]
        elif isinstance(stage, Extend):
            for r in current:
                values = [(name, evaluate(e, r)) for name, e in stage.columns]
                r.update(values)
        elif isinstance(stage, Project):
            current = [{name: evaluate(e, r) for name, e in stage.columns} for r in current]
        elif isinstance(stage, Summarize):
            current = _summarize(stage, current)
        elif isinstance(stage, Order):
            for expression, descending in reversed(stage.keys):
                current.sort(key=_row_key(expression), reverse=descending)
        elif isinstance(stage, Take):
            current = current[: stage.count]
    return [{k: to_json(v) for k, v in r.items()} for r in current]


def _row_key(expression: Any) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    def key(row: Mapping[str, Any]) -> tuple[int, Any]:
        return _sort_key(evaluate(expression, row))

    return key


def _summarize(stage: Summarize, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        keys = tuple(evaluate(e, r) for _, e in stage.by)
        frozen = tuple(_sort_key(k) for k in keys)
        entry = groups.get(frozen)
        if entry is None:
            entry = {name: value for (name, _), value in zip(stage.by, keys, strict=True)}
            entry.update({name: 0 for name in stage.aggregates})
            groups[frozen] = entry
        for name in stage.aggregates:
            entry[name] += 1
    return list(groups.values())
