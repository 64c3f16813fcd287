"""Bad server data: every answer of the corpus against get, list-tasks, list and watch, in every
output format. Each run ends with a correct rendering or one clear error line with the contract's
exit code; never a traceback, and never a raw control sequence on stdout or stderr.

The bulk runs in-process (``responses``; the console entry for get, list-tasks and list,
``run_watch`` with a fake clock for watch, the ``run_*`` functions with a fake terminal for
tables on a TTY).
A sample runs the installed console script (its fast path) against a local server.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from typing import Any

import pytest
import responses

from azbackupjobs.cli.guard import report
from azbackupjobs.commands.common import CommonOptions
from azbackupjobs.commands.get import GetOptions, run_list_tasks
from azbackupjobs.commands.get import run as run_get
from azbackupjobs.commands.list_jobs import ListOptions, run_list
from azbackupjobs.commands.watch import WatchOptions, WatchRequest, run_watch
from azbackupjobs.model.errors import AzJobsError
from tests.harness import FakeEnvironment, Result, fake_environment, finished, run_cli, spawn_cli
from tests.reliability.conftest import Figures
from tests.reliability.corpus import JOB_CASES, PAGE_CASES, SECOND_PAGE, Case, job_body
from tests.reliability.reliability_harness import (
    JOB,
    JOB_URL,
    LIST_URL,
    assert_no_raw_controls,
    assert_no_traceback,
    assert_one_error_line,
    json_answer,
    local_server,
    skip_waits,
    vault_env,
)

EXIT_BY_STATUS = {400: 1, 401: 4, 403: 4, 404: 3, 429: 1, 500: 1, 502: 1, 503: 1}
# What a hostile string tries to do; none of it may reach a terminal (rich's own colour and
# cursor codes are fine).
HOSTILE = (
    "\x1b]",
    "\x1b[2J",
    "\x1b[H",
    "\x1b[31;1;4m",
    "\x9b",
    "\x90",
    "\x9c",
    "\x85",
    "\u202e",
    "\u2066",
    "\x07",
    "\x00",
    "\x08",
    "\x7f",
)
FORMATS = ("json", "ndjson", "tsv", "table")
ALL_CASES = JOB_CASES + PAGE_CASES
DONE = job_body("Completed", endTime="2023-12-21T06:12:05.1Z")


def expected_exit(case: Case, command: str) -> int:
    """The contract's exit code for one answer (list wraps job objects into a page)."""
    if case.kind == "http":
        return EXIT_BY_STATUS[case.status]
    if case.kind == "job":
        return 0
    if command == "list" and case.kind == "not_job":
        return 0  # an item of the list: printed as returned (the table warns and skips it)
    return 1


def watch_exit(case: Case) -> int:
    """A watch reads the answer, then a Completed job: only a readable terminal status, 401/403
    and 400 decide the exit code; anything else is waited out."""
    if case.kind == "http":
        return {401: 4, 403: 4, 400: 1}.get(case.status, 0)
    if case.kind == "job":
        status = (case.status_text or "").strip().lower()
        return {"failed": 6, "cancelled": 7}.get(status, 0)
    return 0


def add(rsps: responses.RequestsMock, url_pattern: str, case: Case) -> None:
    headers = {k: v for k, v in case.headers.items() if k != "Content-Type"}
    rsps.add(
        responses.GET,
        re.compile(url_pattern),
        body=case.body,
        status=case.status,
        headers=headers,
        content_type=case.headers.get("Content-Type"),
    )


def list_answer(case: Case) -> Case:
    """What ``list`` gets for a job answer: a page holding it when it is an object."""
    if case in PAGE_CASES or case.kind not in ("job", "not_job"):
        return case
    text = json.dumps({"value": [case.parsed]}, ensure_ascii=False)
    return Case(case.name, case.kind, text.encode(), 200)


def check(result: Result, expected: int, *, stdout_on_error: bool = False) -> None:
    """The exit code; no traceback, nothing hostile; an error is one line (a watched job's
    outcome, 5 to 8, is not an error)."""
    assert_no_traceback(result.stdout, result.stderr)
    assert result.exit_code == expected, (result.exit_code, result.stderr[-2000:])
    for text in (result.stdout, result.stderr):
        for seq in HOSTILE:
            assert seq not in text, (seq, text[:300])
    if expected not in (0, 5, 6, 7, 8):
        assert_one_error_line(result)
        if not stdout_on_error:
            assert result.stdout == ""


def check_plain(result: Result) -> None:
    """Not a terminal: no escape character at all."""
    assert_no_raw_controls(result.stdout, result.stderr)


def same_json(text: str, expected: Any) -> None:
    assert json.dumps(json.loads(text), sort_keys=True) == json.dumps(expected, sort_keys=True)


def tasks_of(body: Any) -> list[Any]:
    props = body.get("properties") if isinstance(body, dict) else None
    ext = props.get("extendedInfo") if isinstance(props, dict) else None
    tasks = ext.get("tasksList") if isinstance(ext, dict) else None
    return tasks if isinstance(tasks, list) else []


def check_rendering(command: str, fmt: str, case: Case, result: Result) -> None:
    """A readable answer: the JSON outputs reproduce it, tsv has its documented columns."""
    body = case.parsed
    if command == "get":
        if fmt == "json":
            same_json(result.stdout, body)
        elif fmt == "ndjson":
            assert result.stdout.count("\n") == 1
            same_json(result.stdout, body)
        elif fmt == "tsv":
            lines = result.stdout.splitlines()
            assert len(lines) == 1 and lines[0].count("\t") == 8, lines
        else:
            assert "Status" in result.stdout
    elif command == "list-tasks":
        tasks = tasks_of(body)
        if fmt == "json":
            same_json(result.stdout, tasks)
        elif fmt == "ndjson":
            lines = result.stdout.splitlines()
            assert len(lines) == len(tasks)
            for line, task in zip(lines, tasks, strict=True):
                same_json(line, task)
        elif fmt == "tsv":
            lines = result.stdout.splitlines()
            assert len(lines) == sum(1 for t in tasks if isinstance(t, dict))
            assert all(line.count("\t") == 6 for line in lines)
        else:
            assert result.stdout.strip()
    elif command == "list" and fmt in ("json", "ndjson"):
        items = (
            json.loads(result.stdout)
            if fmt == "json"
            else [json.loads(line) for line in result.stdout.splitlines()]
        )
        assert isinstance(items, list)
        if case.kind in ("job", "not_job") and case not in PAGE_CASES:
            same_json(json.dumps(items), [body])


@pytest.fixture
def quiet_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripted vault; the clients' waits before a retry are skipped (``skip_waits``)."""
    vault_env(monkeypatch)


def tty_env(*, tty: bool) -> FakeEnvironment:
    return fake_environment(os.environ, tty=tty, sleep=skip_waits)


def guarded(env: FakeEnvironment, call: Callable[[], int]) -> Result:
    """What ``fastpath.guarded`` does with a run's failure, for runs called directly."""
    try:
        code = int(call())
    except AzJobsError as exc:
        report(exc, env.stderr)
        code = int(exc.exit_code)
    return Result(code, env.out, env.err)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


# ----- get and list-tasks -------------------------------------------------------------------------
@pytest.mark.parametrize("case", JOB_CASES, ids=lambda c: c.name)
def test_get_and_list_tasks(
    case: Case, quiet_clients: None, rsps: responses.RequestsMock, figures: Figures
) -> None:
    add(rsps, re.escape(JOB_URL) + r"\?.*", case)
    for command in ("get", "list-tasks"):
        expected = expected_exit(case, command)
        for fmt in FORMATS:
            result = run_cli(command, JOB, "-o", fmt, sleep=skip_waits)
            check(result, expected)
            check_plain(result)
            if expected == 0:
                check_rendering(command, fmt, case, result)
            figures.corpus_runs += 1
        # a table on a terminal: rich's colours, and nothing of the service's own
        run = run_get if command == "get" else run_list_tasks
        env = tty_env(tty=True)
        result = guarded(env, functools.partial(run, GetOptions(job=JOB, output="table"), env))
        check(result, expected)
        if (
            command == "get"
            and case.kind == "job"
            and "EVIL" in case.body.decode("utf-8", "replace")
        ):
            assert "EVIL" in result.stdout  # the text itself is shown, only its controls go
        figures.corpus_runs += 1


# ----- list ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_list(
    case: Case, quiet_clients: None, rsps: responses.RequestsMock, figures: Figures
) -> None:
    served = list_answer(case)
    if case.name == "page-next-link-relative":  # the one nextLink that is followed
        second = Case("second page", "job", SECOND_PAGE.encode())
        add(rsps, re.escape(LIST_URL) + r"\?.*skiptoken=2.*", second)
    add(rsps, re.escape(LIST_URL) + r"\?(?!.*skiptoken=2).*", served)
    expected = expected_exit(case, "list")
    for fmt in FORMATS:
        result = run_cli("list", "-o", fmt, sleep=skip_waits)
        # a stream that breaks after its first page has printed that page
        check(result, expected, stdout_on_error=True)
        check_plain(result)
        if expected == 0:
            check_rendering("list", fmt, case, result)
        figures.corpus_runs += 1
    env = tty_env(tty=True)
    result = guarded(env, lambda: run_list(CommonOptions(output="table"), ListOptions(), env))
    check(result, expected, stdout_on_error=True)
    figures.corpus_runs += 1


# ----- watch --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", JOB_CASES, ids=lambda c: c.name)
def test_watch(
    case: Case, quiet_clients: None, rsps: responses.RequestsMock, figures: Figures
) -> None:
    """The answer comes first, then the job as Completed: the watch ends with the right code,
    having waited out what was transient."""
    calls = {"n": 0}

    def answer(request: Any) -> tuple[int, dict[str, str], bytes]:
        calls["n"] += 1
        if calls["n"] == 1:
            headers = dict(case.headers)
            return case.status, headers, case.body
        return 200, {"Content-Type": "application/json"}, json.dumps(DONE).encode()

    rsps.add_callback(responses.GET, re.compile(re.escape(JOB_URL) + r"\?.*"), callback=answer)
    expected = watch_exit(case)
    formats = [*FORMATS, "live"] if case.kind == "job" else list(FORMATS)
    for fmt in formats:
        calls["n"] = 0
        fake = FakeTime()
        env = tty_env(tty=fmt == "live")
        request = WatchRequest(
            common=CommonOptions(output="table" if fmt == "live" else fmt),
            options=WatchOptions(interval=1.0),
            jobs=(JOB,),
        )
        result = guarded(
            env, functools.partial(run_watch, request, env, sleep=fake.sleep, clock=fake.clock)
        )
        check(result, expected, stdout_on_error=True)
        if fmt != "live":
            check_plain(result)
        if expected == 0 and fmt == "json":
            final = json.loads(result.stdout)
            assert final["properties"]["status"] in ("Completed", "CompletedWithWarnings")
        if fmt == "ndjson":
            for line in result.stdout.splitlines():
                json.loads(line)
        figures.corpus_runs += 1


def test_huge_tables_are_cut_and_say_so(quiet_clients: None, rsps: responses.RequestsMock) -> None:
    """10,000 tasks or properties: the table shows a few hundred rows and says how many more
    there are (a table of every row takes rich seconds to lay out, on every redraw)."""
    by_name = {c.name: c for c in JOB_CASES}
    add(rsps, re.escape(JOB_URL) + r"\?.*", by_name["ten-thousand-tasks"])
    result = run_cli("get", JOB, "-o", "table", sleep=skip_waits)
    assert result.exit_code == 0
    assert "… 9800 more tasks (-o json or -o tsv lists them all)" in result.stdout
    assert result.stdout.count("Task ") <= 201
    result = run_cli("list-tasks", JOB, "-o", "tsv", sleep=skip_waits)
    assert len(result.stdout.splitlines()) == 10_000  # tsv and json print them all
    rsps.replace(
        responses.GET,
        re.compile(re.escape(JOB_URL) + r"\?.*"),
        body=by_name["ten-thousand-properties"].body,
        content_type="application/json",
    )
    result = run_cli("get", JOB, "-o", "table", sleep=skip_waits)
    assert "… 9800 more properties" in result.stdout


def test_corpus_size(figures: Figures) -> None:
    assert len(JOB_CASES) >= 40
    assert len({c.name for c in ALL_CASES}) == len(ALL_CASES)
    kinds = {c.kind for c in JOB_CASES}
    assert kinds == {"job", "not_job", "unreadable", "http", "cut"}
    figures.corpus_size = len(ALL_CASES)


# ----- the installed console script (its fast path) against a local server ------------------------
# No 5xx here: the client retries those with real sleeps (the in-process runs cover them).
SAMPLE = (
    "html-page-with-200",
    "truncated-json",
    "missing-properties",
    "nested-beyond-json-recursion-limit",
    "ansi-in-error-strings",
    "c1-controls",
    "ten-thousand-tasks",
    "not-found-with-ansi-message",
)


def test_installed_console_script_sample(figures: Figures) -> None:
    by_name = {c.name: c for c in JOB_CASES}
    guids = {
        f"00000000-0000-4000-8000-{n:012d}": by_name[name]
        for n, name in enumerate(SAMPLE, start=100)
    }

    def answer(method: str, path: str) -> tuple[int, dict[str, str], bytes] | None:
        guid = path.split("?", 1)[0].rsplit("/", 1)[-1]
        case = guids.get(guid)
        if case is None:
            return json_answer('{"value": []}')
        return case.status, dict(case.headers), case.body

    with local_server(answer) as server:
        values = {
            "AZJOBS_ENDPOINT": server.url,
            "AZJOBS_ACCESS_TOKEN": "local-token",
            "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-0000000000aa",
            "AZJOBS_RESOURCE_GROUP": "rg1",
            "AZJOBS_VAULT": "vault1",
        }
        # Every run takes the fast path, the first one included (checked below with Python's
        # import log: no typer).
        warm = spawn_cli("list", "-o", "json", env=values, binary=True)
        assert warm.communicate(timeout=30)[0].strip() == b"[]"
        runs = []
        forms = [
            ("get", "json"),
            ("get", "table"),
            ("list-tasks", "tsv"),
            ("get", "ndjson"),
            ("list-tasks", "table"),
        ]
        for n, (guid, case) in enumerate(guids.items()):
            command, fmt = forms[n % len(forms)]
            runs.append((case, command, fmt, spawn_cli(command, guid, "-o", fmt, env=values)))
        probe = spawn_cli(
            "get",
            next(iter(guids)),
            "-o",
            "json",
            env={**values, "PYTHONPROFILEIMPORTTIME": "1"},
            binary=True,
        )
        for case, command, _fmt, proc in runs:
            result = finished(proc)
            check(result, expected_exit(case, command))
            assert "\x1b" not in result.stdout + result.stderr
            assert "\x9b" not in result.stdout + result.stderr
            figures.subprocess_runs += 1
        _, imports = probe.communicate(timeout=60)
        assert b"azbackupjobs.main" in imports and b"| typer" not in imports
        figures.subprocess_runs += 2
