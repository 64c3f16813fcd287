"""Output formats, --query, tsv rules and the stream discipline (data to stdout only)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest

from azbackupjobs.model.errors import ExitCode, StdoutClosed, UsageError
from azbackupjobs.model.formats import FORMATS
from azbackupjobs.view.output import (
    Environment,
    Output,
    Query,
    resolve_format,
    tsv_cell,
    tsv_lines,
)
from azbackupjobs.view.rows import job_tsv_row, task_tsv_row
from tests.harness import FakeEnvironment, fake_environment


class FlushCounter(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def make_env(*, tty: bool = False, **env: str) -> FakeEnvironment:
    return fake_environment(env, tty=tty, stdout=FlushCounter())


# ----- choosing the format ----------------------------------------------------------------------


def test_default_format_follows_the_terminal() -> None:
    assert resolve_format(None, make_env(tty=True)) == "table"
    assert resolve_format(None, make_env(tty=False)) == "json"


def test_flag_beats_environment() -> None:
    env = make_env(AZJOBS_OUTPUT="tsv")
    assert resolve_format(None, env) == "tsv"
    assert resolve_format("ndjson", env) == "ndjson"
    assert resolve_format(" JSON ", make_env()) == "json"
    assert resolve_format(None, make_env(AZJOBS_OUTPUT="  ")) == "json"  # blank is unset


@pytest.mark.parametrize(
    ("flag", "env", "source"),
    [("yaml", {}, "--output"), (None, {"AZJOBS_OUTPUT": "xml"}, "AZJOBS_OUTPUT")],
)
def test_unknown_format_is_a_usage_error(
    flag: str | None, env: dict[str, str], source: str
) -> None:
    with pytest.raises(UsageError) as info:
        resolve_format(flag, replace(make_env(), env=env))
    assert info.value.exit_code == ExitCode.USAGE
    assert info.value.message.startswith(source)
    for name in FORMATS:
        assert name in info.value.message


def test_no_color() -> None:
    assert make_env(NO_COLOR="1").no_color
    assert not make_env(NO_COLOR="").no_color
    assert not make_env().no_color
    out = Output(make_env(tty=True, NO_COLOR="1"), "table")
    assert out.console.no_color and out.err_console.no_color


def test_environment_from_system_tolerates_odd_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoTty(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("closed")

    monkeypatch.setattr("sys.stdout", NoTty())
    monkeypatch.setattr("sys.stdin", object())
    env = Environment.from_system()
    assert env.stdout_isatty is False and env.stdin_isatty is False


def test_an_installed_environment_is_the_system_one_until_the_block_ends() -> None:
    system = Environment.from_system()
    mine = make_env(tty=True)
    with mine.installed() as current:
        assert current is mine
        assert Environment.from_system() is mine
        with make_env().installed() as inner:
            assert Environment.from_system() is inner
        assert Environment.from_system() is mine
    after = Environment.from_system()
    assert after is not mine and after.stdout is system.stdout


def test_the_clients_of_a_run_wait_through_its_environment() -> None:
    from azbackupjobs.commands.common import CommonOptions, open_session

    waits: list[float] = []
    env = make_env(
        AZURE_SUBSCRIPTION_ID="00000000-0000-0000-0000-000000000000",
        AZJOBS_RESOURCE_GROUP="rg",
        AZJOBS_VAULT="vault",
        AZJOBS_ACCESS_TOKEN="token",
    )
    env.sleep = waits.append
    session = open_session(CommonOptions(), env)
    session.client.sleep(2.5)
    assert waits == [2.5]


# ----- --query ----------------------------------------------------------------------------------


def test_query_compiles_up_front() -> None:
    with pytest.raises(UsageError) as info:
        Query("properties.[status")
    assert info.value.exit_code == ExitCode.USAGE
    assert info.value.message.startswith("--query: malformed JMESPath expression")
    assert "\n" not in info.value.message


def test_query_errors_at_search_time_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        Query("abs(name)").apply({"name": "text"})


def test_query_applies() -> None:
    data = {
        "name": "j",
        "properties": {
            "status": "Failed",
            "extendedInfo": {"tasksList": [{"taskId": "a"}, {"taskId": "b"}]},
        },
    }
    assert Query("properties.status").apply(data) == "Failed"
    assert Query("properties.extendedInfo.tasksList[].taskId").apply(data) == ["a", "b"]
    assert Query("nothing").apply(data) is None


# ----- tsv --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (12.5, "12.5"),
        ("a\tb\nc\r", "a b c "),
        ("esc\x1b[31m", "esc [31m"),
        ("é ☃", "é ☃"),
        ({"k": [1, "v"]}, '{"k":[1,"v"]}'),
        ([], "[]"),
    ],
)
def test_tsv_cell(value: Any, cell: str) -> None:
    assert tsv_cell(value) == cell


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        ("Completed", ["Completed"]),
        (None, [""]),
        (42, ["42"]),
        (["a", "b"], ["a", "b"]),
        ([], []),
        ([{"x": 1, "y": None}, {"x": 2, "y": "z"}], ["1\t", "2\tz"]),
        ([["a", 1], ["b", 2]], ["a\t1", "b\t2"]),
        ({"a": 1, "b": "two"}, ["1\ttwo"]),
    ],
)
def test_tsv_lines(data: Any, lines: list[str]) -> None:
    assert tsv_lines(data) == lines


def test_job_tsv_row_documented_columns() -> None:
    raw = {
        "name": "n",
        "properties": {
            "status": "S",
            "operation": "O",
            "entityFriendlyName": "E",
            "jobType": "T",
            "backupManagementType": "B",
            "startTime": "st",
            "endTime": "et",
            "duration": "d",
            "other": "x",
        },
    }
    assert job_tsv_row(raw) == ["n", "S", "O", "E", "T", "B", "st", "et", "d"]
    assert job_tsv_row({"name": "n", "properties": "bad"}) == ["n"] + [None] * 8


def test_task_tsv_row_documented_columns() -> None:
    raw = {
        "taskExecutionDetails": "x",
        "taskId": "t",
        "status": "s",
        "duration": "d",
        "startTime": "a",
        "endTime": "b",
        "progressPercentage": 5.0,
        "taskType": "Normal",
    }
    assert task_tsv_row(raw) == ["t", "s", 5.0, "a", "b", "d", "x"]


# ----- Output -----------------------------------------------------------------------------------

DATA = {
    "name": "j1",
    "properties": {"status": "Completed", "entityFriendlyName": "vm ☃", "duration": "PT1S"},
}


def test_json_is_indented_and_keeps_unicode() -> None:
    env = make_env()
    Output(env, "json").json(DATA)
    assert env.out == json.dumps(DATA, indent=2, ensure_ascii=False) + "\n"
    assert "☃" in env.out and env.err == ""


def test_ndjson_is_compact_and_flushed() -> None:
    env = make_env()
    out = Output(env, "ndjson")
    out.ndjson(DATA)
    out.ndjson({"b": 2})
    assert env.out.splitlines() == [
        json.dumps(DATA, separators=(",", ":"), ensure_ascii=False),
        '{"b":2}',
    ]
    assert isinstance(env.stdout, FlushCounter) and env.stdout.flushes >= 2


def test_ndjson_items_and_stream() -> None:
    env = make_env()
    Output(env, "ndjson").ndjson_items([{"a": 1}, {"a": 2}])
    assert env.out == '{"a":1}\n{"a":2}\n'
    env = make_env()
    Output(env, "ndjson", Query("[].a")).ndjson_items([{"a": 1}, {"a": 2}])
    assert env.out == "1\n2\n"
    env = make_env()
    Output(env, "ndjson", Query("length(@)")).ndjson_items([{"a": 1}])
    assert env.out == "1\n"
    env = make_env()
    Output(env, "ndjson").stream(iter([{"x": 1}, {"x": 2}]))
    assert env.out == '{"x":1}\n{"x":2}\n'


def test_data_uses_documented_tsv_rows_unless_queried() -> None:
    env = make_env()
    Output(env, "tsv").data(DATA, tsv_rows=[["j1", "Completed"]])
    assert env.out == "j1\tCompleted\n"
    env = make_env()
    Output(env, "tsv", Query("properties.status")).data(DATA, tsv_rows=[["ignored"]])
    assert env.out == "Completed\n"
    env = make_env()
    Output(env, "tsv").data([], tsv_rows=[])
    assert env.out == ""
    env = make_env()
    Output(env, "json", Query("properties.status")).data(DATA)
    assert env.out == '"Completed"\n'
    env = make_env()
    Output(env, "ndjson").data(DATA)
    assert env.out.count("\n") == 1


def test_render_on_a_pipe_is_plain_and_wide() -> None:
    from rich.table import Table

    env = make_env()
    out = Output(env, "table")
    table = Table("Task", "Status")
    table.add_row("x" * 130, "Completed")
    out.render(table)
    text = env.out
    assert "\x1b" not in text and "Completed" in text
    assert out.console.width == 160 and not out.live


def test_notes_and_warnings_go_to_stderr() -> None:
    env = make_env()
    out = Output(env, "json")
    out.note("azjobs: throttled; retrying in 3.0 s")
    out.warn("something odd")
    assert env.out == ""
    assert env.err == "azjobs: throttled; retrying in 3.0 s\nwarning: something odd\n"


def test_closed_stdout_stops_quietly() -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError()

    env = fake_environment(stdout=Closed())
    with pytest.raises(StdoutClosed):
        Output(env, "json").json({"a": 1})
    with pytest.raises(StdoutClosed):
        Output(env, "table").render("text")


def test_live_only_for_a_table_on_a_terminal() -> None:
    assert Output(make_env(tty=True), "table").live
    assert not Output(make_env(tty=True), "json").live
    assert not Output(make_env(tty=False), "table").live


# ----- one Output for every command: results, lists, and what a watch prints --------------------
ITEMS: list[dict[str, Any]] = [{"name": "j1", "n": 1}, {"name": "j2", "n": 2}]


def _show(fmt: str, query: str | None = None, *, tty: bool = False) -> tuple[str, str]:
    env = make_env(tty=tty)
    Output(env, fmt, Query(query) if query else None).show(
        ITEMS,
        table=lambda: "drawn",
        tsv=lambda: [["row", i["n"]] for i in ITEMS],
        lines=lambda: ITEMS,
    )
    return env.out, env.err


@pytest.mark.parametrize(
    ("fmt", "query", "expected"),
    [
        ("table", None, "drawn\n"),
        ("table", "[0].n", "1\n"),  # a query asks for JSON, even with a table
        ("json", None, json.dumps(ITEMS, indent=2) + "\n"),
        ("ndjson", None, '{"name":"j1","n":1}\n{"name":"j2","n":2}\n'),
        ("ndjson", "[].n", "1\n2\n"),
        ("tsv", None, "row\t1\nrow\t2\n"),
        ("tsv", "[].name", "j1\nj2\n"),  # the query's result, not the documented rows
    ],
)
def test_show_prints_a_result_in_every_format(fmt: str, query: str | None, expected: str) -> None:
    assert _show(fmt, query) == (expected, "")


def test_show_without_a_table_or_rows_falls_back_to_the_data() -> None:
    env = make_env()
    Output(env, "table").show({"a": 1})
    assert json.loads(env.out) == {"a": 1}
    env = make_env()
    Output(env, "tsv").show({"a": 1, "b": "x"})
    assert env.out == "1\tx\n"
    env = make_env()
    Output(env, "table").show({"a": 1}, table=lambda: None)  # drew nothing (said so on stderr)
    assert env.out == ""


def test_stream_prints_each_item_as_it_arrives() -> None:
    pulled: list[int] = []

    def items() -> Any:
        for item in ITEMS:
            pulled.append(item["n"])
            yield item

    env = make_env()
    out = Output(env, "tsv")
    stream = items()
    out.stream(stream, tsv_row=lambda i: [i["name"]])
    assert env.out == "j1\nj2\n" and pulled == [1, 2]
    env = make_env()
    Output(env, "json").stream(iter(ITEMS))
    assert json.loads(env.out) == ITEMS
    env = make_env()
    Output(env, "tsv", Query("length(@)")).stream(iter(ITEMS))  # a query needs the whole list
    assert env.out == "2\n"
    env = make_env()
    drawn: list[str] = []

    def draw() -> str:
        drawn.append("x")
        return "table"

    Output(env, "table").stream(iter(ITEMS), table=draw)
    assert env.out == "table\n" and drawn == ["x"]


@pytest.mark.parametrize(
    ("fmt", "query", "changes", "lines", "final"),
    [
        ("ndjson", None, '{"s":1}\n', "", ""),
        ("table", None, "", "a line\n", ""),
        ("json", None, "", "", '[\n  {\n    "s": 1\n  }\n]\n'),
        ("table", "[0].s", "", "", "1\n"),
        ("tsv", None, "", "", "row\n"),
    ],
)
def test_what_a_watch_prints_depends_on_the_format_only(
    fmt: str, query: str | None, changes: str, lines: str, final: str
) -> None:
    def run(step: str) -> str:
        env = make_env()
        out = Output(env, fmt, Query(query) if query else None)
        if step == "changes":
            out.change({"s": 1})
        elif step == "lines":
            out.line("a line")
        else:
            out.final([{"s": 1}], tsv=lambda: [["row"]])
        return env.out

    assert (run("changes"), run("lines"), run("final")) == (changes, lines, final)


def test_the_conclusion_is_a_note_never_data() -> None:
    env = make_env()
    Output(env, "table").conclusion("2 jobs: 2 Completed")
    assert (env.out, env.err) == ("", "2 jobs: 2 Completed\n")  # stdout: data only
    env = make_env()
    Output(env, "table").conclusion("said already", told=True)
    assert (env.out, env.err) == ("", "")
    env = make_env()
    Output(env, "json").conclusion("done", note="azjobs: done")
    assert (env.out, env.err) == ("", "azjobs: done\n")


def test_commands_never_branch_on_the_output_format() -> None:
    """Adding a format touches ``view`` only: commands hand ``Output`` their data and ways to
    draw it, and never ask which format was chosen."""
    import re
    from pathlib import Path

    import azbackupjobs.commands

    branch = re.compile(r"\bout\.format\b|\bformat\s*[!=]=|\.is_table\b|\bfmt\s*[!=]=")
    root = Path(azbackupjobs.commands.__file__).parent
    found = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if branch.search(line)
    ]
    assert not found, "\n".join(found)
