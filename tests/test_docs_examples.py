"""Every example command of the README and of docs/*.md, run against the emulator.

The documentation cannot drift from the tool: each command in a fenced ``sh``/``bash``/``shell``
block (or each ``$ `` line of a ``console`` block) that mentions azjobs runs, as the installed
``azjobs`` console script under ``bash -o pipefail``, against one emulator started for this module,
and must exit with the code the page says (0 unless a ``<!-- docs-test: exit N -->`` marker on the
line before the block names another). A block that starts with ``#!`` is a script and runs whole.
Blocks that cannot run here carry ``<!-- docs-test: skip (reason) -->``; they are few, and each
says why. docs/development.md ("The examples in the documentation") describes the rules for
authors.

The examples name jobs through shell variables (``$JOB``, ``$FAILED_JOB``, ...). Their values are
the mapping below, which docs/emulator.md ("Trying the examples") lists for readers; a test checks
that the two agree and that the ids are the seeded vault's jobs they are said to be.
``$RUNNING_JOB`` and ``$ASYNC_OPERATION_URL`` get a new job or backup trigger for every command
that uses them, so that each cancel has a running job to cancel.

The examples run a few at a time (they are mostly waiting on processes) in the set-up of the first
one, which keeps the module well under a minute; each example is still its own test, named by
file and line, and fails with the command, its exit code and its output.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from azbackupjobs.emulator import DEFAULT_API_VERSION, EmulatorHandle, ServiceError
from azbackupjobs.emulator import demo_trigger_path as trigger_path
from tests.harness import EmulatorFactory, run_cli_process

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # where the installed azjobs console script lives

# -- The values behind the examples' variables (docs/emulator.md, "Trying the examples") -------
# Jobs of the emulator's seeded vault: id, and what the job is when the emulator starts.
SEEDED: dict[str, tuple[str, str, str, str]] = {
    # variable: (job id, entity, operation, status)
    "JOB": ("5e9ecba7-a6a8-4bd5-a755-0d23e085b021", "web-02", "Backup", "Completed"),
    "JOB1": ("8814f4bf-5d4a-47ec-98ca-a18ca7e567e3", "legacy-vm", "Backup", "Completed"),
    "JOB2": ("6cdfd84f-8fe6-46a4-8aab-c4009ed88e2a", "finance-share", "Backup", "Completed"),
    "FAILED_JOB": ("4e5ac63a-4351-4e2e-b9fd-da8fd41f125b", "old-vm", "Backup", "Failed"),
    "RUNNING_JOB": ("4242aadb-c8f4-49a4-b9c8-c2926b94b5b5", "web-01", "Backup", "InProgress"),
}
EMULATOR_SUBSCRIPTION = "6d2f5a8e-1c4b-4f3a-9e7d-2b8c0a1f3e59"
OTHERS: dict[str, str] = {
    "SUB": EMULATOR_SUBSCRIPTION,
    "SUB1": EMULATOR_SUBSCRIPTION,
    "SUB2": "3f2e1d0c-5b4a-4c3d-8e7f-6a5b4c3d2e1f",  # no vault of the emulator is in it
    "MG": "mg-prod",  # created below, holding the emulator's subscription
}
# New for each command that uses them (the documented RUNNING_JOB is for readers: one cancel
# and it has ended).
FRESH = ("RUNNING_JOB", "ASYNC_OPERATION_URL")
VARIABLES = {name: job[0] for name, job in SEEDED.items() if name not in FRESH} | OTHERS

SPEED = 600.0  # emulated seconds per real second: the 23-minute demo backup takes 2.3 s
RUNNING_SECONDS = (2.0, 4.0)  # real seconds of a new $RUNNING_JOB's snapshot and transfer
# Examples that name these get running jobs first (the cancel loop of docs/commands.md).
ENTITY_SETUPS = {"--entity app-01": ("app-01", 2, 20.0)}  # entity, how many, real seconds
TEST_CONFIG = """\
interval = 1

[profiles.prod]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg-backup-prod"
vault = "rsv-prod"

[profiles.gov]
cloud = "AzureUSGovernment"
subscription = "11111111-1111-1111-1111-111111111111"
resource_group = "rg-backup"
vault = "rsv-gov"

[profiles.emulator]
endpoint = "http://127.0.0.1:8400"
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "demo-rg"
vault = "demo-vault"
"""

# -- What the pages must hold ---------------------------------------------------------------------
MIN_EXAMPLES = {
    "README.md": 10,
    "docs/commands.md": 45,
    "docs/output.md": 15,
    "docs/configuration.md": 10,
    "docs/emulator.md": 6,
    "docs/troubleshooting.md": 5,
    "docs/security.md": 3,
    "docs/metrics.md": 3,
}
NO_EXAMPLES = {
    "docs/README.md",
    "docs/development.md",
    "docs/performance.md",
    "docs/reliability.md",
    "docs/architecture.md",
}
MAX_SKIPPED = 6
TEST_COMMAND = "pip install -e '.[test]' && python -m pytest"  # .ci/run calls it verbatim

SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
# Tools of the examples that pip cannot install: without them, a pipeline runs its azjobs part
# only, and a script is skipped.
SYSTEM_TOOLS = {"jq": "the jq package", "curl": "the curl package"}
WORKERS = 4
COMMAND_TIMEOUT = 60.0

MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
MENTIONS_AZJOBS = re.compile(r"(?<![\w/.~-])azjobs(?![\w.-])")
AZJOBS_COMMAND = re.compile(r"^(?:[A-Za-z_]\w*=\S*\s+)*azjobs(?:\s|$)")
VARIABLE = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
WATCH_EVERYTHING = re.compile(r"\bazjobs\s+watch\b[^|]*\s--(?:all|fleet)\b")


# -- Reading the pages ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository root
    line: int  # of the opening fence, 1-based
    language: str
    lines: tuple[tuple[int, str], ...]  # (line number, text) of the content
    marker: str | None  # the docs-test marker on the line before, if any


@dataclass(frozen=True)
class Example:
    path: str
    line: int
    command: str
    expect: int = 0
    script: bool = False

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def pages() -> list[str]:
    names = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]
    return [n for n in names if (ROOT / n).is_file()]


def read_page(path: str) -> tuple[list[Block], list[str], list[tuple[int, str]]]:
    """The page's fenced blocks, its problems, and its lines outside fences (for links)."""
    blocks: list[Block] = []
    problems: list[str] = []
    prose: list[tuple[int, str]] = []
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    marker: tuple[int, str] | None = None
    i = 0
    while i < len(lines):
        number, text = i + 1, lines[i]
        fence = FENCE.match(text)
        if fence is None:
            prose.append((number, text))
            found = MARKER.match(text)
            if found is not None:
                if marker is not None:
                    problems.append(f"{path}:{marker[0]}: marker not followed by a code block")
                marker = (number, found.group(1))
            elif text.strip() and marker is not None:
                problems.append(f"{path}:{marker[0]}: marker not followed by a code block")
                marker = None
            i += 1
            continue
        ticks, language = fence.group(2), fence.group(3).lower()
        content: list[tuple[int, str]] = []
        i += 1
        while i < len(lines) and not re.match(
            rf"^ {{0,3}}{re.escape(ticks[0])}{{{len(ticks)},}}\s*$", lines[i]
        ):
            content.append((i + 1, lines[i]))
            i += 1
        i += 1  # the closing fence
        blocks.append(Block(path, number, language, tuple(content), marker[1] if marker else None))
        marker = None
    if marker is not None:
        problems.append(f"{path}:{marker[0]}: marker not followed by a code block")
    return blocks, problems, prose


def open_quote(text: str) -> bool:
    """Whether a shell command line leaves a quote open (it goes on on the next line)."""
    quote: str | None = None
    escaped = False
    for index, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (index == 0 or text[index - 1].isspace()):
            break  # a comment
    return quote is not None


def top_level_pipes(command: str) -> list[str]:
    """The stages of a pipeline (split at ``|``, not ``||``, outside quotes and ``$(...)``)."""
    stages: list[str] = []
    start, depth, quote, escaped, index = 0, 0, None, False, 0
    while index < len(command):
        ch = command[index]
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (index == 0 or command[index - 1].isspace()):
            break  # a comment: the rest belongs to the last stage
        elif command.startswith("$(", index):
            depth += 1
            index += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == "|" and not depth:
            if command.startswith("||", index):
                index += 1
            else:
                stages.append(command[start:index])
                start = index + 1
        index += 1
    stages.append(command[start:])
    return stages


def program(stage: str) -> str:
    """The program a pipeline stage runs (after ``NAME=value`` assignments)."""
    try:
        words = shlex.split(stage, comments=True)
    except ValueError:
        words = stage.split()
    for word in words:
        if not re.match(r"^[A-Za-z_]\w*=", word):
            return word
    return ""


def commands(block: Block) -> tuple[list[tuple[int, str]], list[str]]:
    """The block's commands with their line numbers, joined across continuation lines."""
    found: list[tuple[int, str]] = []
    problems: list[str] = []
    pending: tuple[int, str] | None = None
    for number, raw in block.lines:
        if pending is not None:
            text = pending[1] + "\n" + (raw[2:] if raw.startswith("> ") else raw)
            start = pending[0]
        elif block.language == "console":
            if not raw.startswith("$ "):
                continue  # output
            text, start = raw[2:], number
        else:
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            text, start = raw, number
        if text.rstrip().endswith("\\") or open_quote(text):
            pending = (start, text)
            continue
        pending = None
        found.append((start, text.strip()))
    if pending is not None:
        problems.append(f"{block.path}:{pending[0]}: the command does not end")
    return found, problems


def parse_marker(block: Block) -> tuple[str | None, int, list[str]]:
    """(skip reason, expected exit code, problems) of the block's marker."""
    if block.marker is None:
        return None, 0, []
    where = f"{block.path}:{block.line - 1}"
    skip = re.fullmatch(r"skip\s*\((.+)\)", block.marker)
    if skip is not None:
        return skip.group(1).strip(), 0, []
    code = re.fullmatch(r"exit\s+(\d+)", block.marker)
    if code is not None:
        return None, int(code.group(1)), []
    return None, 0, [f"{where}: unknown marker {block.marker!r}: use 'skip (reason)' or 'exit N'"]


@dataclass
class Docs:
    examples: list[Example] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    problems: list[str] = field(default_factory=list)
    blocks: dict[str, list[Block]] = field(default_factory=dict)
    prose: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


def read_docs() -> Docs:
    docs = Docs()
    for path in pages():
        blocks, problems, prose = read_page(path)
        docs.blocks[path], docs.prose[path] = blocks, prose
        docs.problems += problems
        for block in blocks:
            if block.language not in SHELL_LANGUAGES:
                if block.language == "" and any(
                    AZJOBS_COMMAND.match(t.removeprefix("$ ")) for _, t in block.lines
                ):
                    docs.problems.append(
                        f"{path}:{block.line}: a block with azjobs commands "
                        "needs a language: sh or console (run), text (not run)"
                    )
                continue
            skip, expect, problems = parse_marker(block)
            docs.problems += problems
            script = bool(block.lines) and block.lines[0][1].startswith("#!")
            found, problems = commands(block)
            mentions = any(MENTIONS_AZJOBS.search(text) for _, text in found)
            if not mentions:
                if block.marker is not None:
                    docs.problems.append(
                        f"{path}:{block.line}: marker on a block that runs no azjobs command"
                    )
                continue
            if skip is not None:
                docs.skipped.append((f"{path}:{block.line}", skip))
                continue
            if script:
                body = "\n".join(text for _, text in block.lines) + "\n"
                docs.examples.append(Example(path, block.line, body, expect, script=True))
                continue
            docs.problems += problems
            for number, text in found:
                if not AZJOBS_COMMAND.match(text):
                    docs.problems.append(
                        f"{path}:{number}: `{text}` is not an azjobs command: mark the block "
                        "<!-- docs-test: skip (reason) -->, or make it a script (#!/bin/sh)"
                    )
                    continue
                unknown = set(VARIABLE.findall(text)) - known_variables()
                if unknown:
                    docs.problems.append(
                        f"{path}:{number}: unknown variables "
                        f"{sorted(unknown)}: add them to this test's mapping "
                        "and to docs/emulator.md"
                    )
                docs.examples.append(Example(path, number, text, expect))
    return docs


def known_variables() -> set[str]:
    emulator = {
        "AZJOBS_ENDPOINT",
        "AZJOBS_ACCESS_TOKEN",
        "AZURE_SUBSCRIPTION_ID",
        "AZJOBS_RESOURCE_GROUP",
        "AZJOBS_VAULT",
    }
    return set(VARIABLES) | set(FRESH) | emulator | {"HOME"}


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: str) -> set[str]:
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, text in DOCS.prose.get(path, []):
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", text)
        if heading is None:
            continue
        base = slug(heading.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


DOCS = read_docs()


# -- The emulator and the environment of the examples ----------------------------------------
class Context:
    """One emulator for the module and what an example needs from it."""

    def __init__(
        self, emu: EmulatorHandle, root: Path, seeded_at_start: dict[str, tuple[str, str, str]]
    ) -> None:
        self.emu = emu
        self.root = root
        self.seeded_at_start = seeded_at_start
        self._lock = threading.Lock()
        self._count = 0
        home = root / "home"
        for directory in (home, root / "config", root / "cache", root / "azure"):
            directory.mkdir()
        config = root / "azjobs.toml"
        config.write_text(TEST_CONFIG, encoding="utf-8")
        cleared = ("AZJOBS_", "AZURE_", "MSI_", "IDENTITY_")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(cleared)
            and k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "REQUESTS_CA_BUNDLE")
        }
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            HOME=str(home),
            XDG_CONFIG_HOME=str(root / "config"),
            XDG_CACHE_HOME=str(root / "cache"),
            AZURE_CONFIG_DIR=str(root / "azure"),
            AZJOBS_CONFIG=str(config),
            TZ="UTC",
        )
        env.update(emu.env())
        env.update(VARIABLES)
        self.env = env

    def number(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def running_job(
        self, entity: str = "web-01", seconds: tuple[float, float] = RUNNING_SECONDS
    ) -> str:
        snapshot, transfer = seconds
        return self.emu.add_job(
            entity=entity,
            tasks=[
                ("Take Snapshot", snapshot * SPEED),
                ("Transfer data to vault", transfer * SPEED),
            ],
        )

    def operation_url(self) -> str:
        """A backup trigger's Azure-AsyncOperation URL, as the REST route answers it."""
        vm = f"docs-vm-{self.number()}"
        self.emu.add_vault(vms=[vm])
        with requests.Session() as session:
            session.trust_env = False  # no proxy between the test and its emulator
            answer = session.post(
                f"{self.emu.url}{trigger_path(vm)}",
                params={"api-version": DEFAULT_API_VERSION},
                headers={"Authorization": f"Bearer {self.emu.token}"},
                timeout=10,
            )
        assert answer.status_code == 202, answer.text
        return answer.headers["Azure-AsyncOperation"]

    def wait_until_idle(self, limit: float = 60.0) -> None:
        """Until no job of the vault is running (or about to start)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                if all(
                    self.emu.job_status(job) not in ("InProgress", "Cancelling")
                    for job in self.emu.job_ids()
                ):
                    return
            except ServiceError:
                pass  # a triggered job that is not visible yet
            time.sleep(0.2)

    def workdir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="example-", dir=self.root))


@dataclass
class Outcome:
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    note: str = ""
    skipped: str = ""


def run_example(example: Example, ctx: Context) -> Outcome:
    env = dict(ctx.env)
    text = example.command
    if "RUNNING_JOB" in text:
        env["RUNNING_JOB"] = ctx.running_job()
    if "ASYNC_OPERATION_URL" in text:
        env["ASYNC_OPERATION_URL"] = ctx.operation_url()
    for needle, (entity, count, seconds) in ENTITY_SETUPS.items():
        if needle in text:
            for _ in range(count):
                ctx.running_job(entity, (seconds / 2, seconds / 2))
    cwd = ctx.workdir()
    started = time.monotonic()
    if example.script:
        outcome = run_script(example, env, cwd)
    elif re.match(r"^azjobs\s+emulator\b", text):
        outcome = run_server(text, env, cwd)
    else:
        outcome = run_command(text, env, cwd)
    outcome.seconds = time.monotonic() - started
    return outcome


def missing_tools(words: list[str]) -> list[str]:
    return [w for w in words if w and shutil.which(w) is None]


def run_command(command: str, env: dict[str, str], cwd: Path) -> Outcome:
    stages = top_level_pipes(command)
    if re.match(r"^azjobs\s+demo\b", stages[0].strip()) and "--speed" not in stages[0]:
        stages[0] = re.sub(r"^(\s*azjobs\s+demo)\b", rf"\1 --speed {SPEED:g}", stages[0])
    note = ""
    missing = missing_tools([program(stage) for stage in stages[1:]])
    if missing:
        others = [tool for tool in missing if tool not in SYSTEM_TOOLS]
        if others:
            return Outcome(returncode=None, stderr=f"not installed: {', '.join(others)}")
        note = f"{', '.join(missing)} not installed: ran the azjobs part of the pipeline only"
        stages = stages[:1]
        run = stages[0].rstrip().removesuffix("\\").rstrip() + " > /dev/null"
    else:
        run = "|".join(stages)
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", run],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr, note=note)


def run_script(example: Example, env: dict[str, str], cwd: Path) -> Outcome:
    words = set(re.findall(r"[\w.-]+", example.command))
    missing = [tool for tool in SYSTEM_TOOLS if tool in words and shutil.which(tool) is None]
    if missing:
        return Outcome(skipped=f"the script needs {', '.join(SYSTEM_TOOLS[t] for t in missing)}")
    script = cwd / "example"
    script.write_text(example.command, encoding="utf-8")
    script.chmod(0o755)
    done = subprocess.run(
        [str(script)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def run_server(command: str, env: dict[str, str], cwd: Path) -> Outcome:
    """``azjobs emulator`` serves until Ctrl-C: on a free port, until it has printed its exports."""
    if "--port" not in command:
        command = re.sub(r"^(azjobs\s+emulator)\b", r"\1 --port 0", command)
    process = subprocess.Popen(
        ["bash", "-c", command],
        env=env,
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("export AZJOBS_ENDPOINT="):
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    served = ready.wait(20) and any(line.startswith("export AZJOBS_ENDPOINT=") for line in lines)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
    reader.join(5)
    code = process.returncode
    if served and code in (130, -signal.SIGINT):
        code = 0  # served, and stopped by Ctrl-C as the page says
    elif not served:
        stderr += "\n(no export lines on stdout within 20 s)"
    return Outcome(code, "".join(lines), stderr)


# The seed the documented job ids come from (docs/emulator.md, "Trying the examples").
DOCS_SEED = 20240601


@pytest.fixture(scope="module")
def ctx(module_emulator_factory: EmulatorFactory) -> Iterator[Context]:
    emu = module_emulator_factory(speed=SPEED, seed=DOCS_SEED)
    with tempfile.TemporaryDirectory(prefix="azjobs-docs-") as tmp:
        seeded = {job.job_id: (job.entity, job.operation, job.status) for job in emu.seed_jobs}
        emu.advance(3600)  # the seeded jobs that were running have ended
        emu.resource_graph.quota = 10_000  # parallel examples need not wait for the quota
        emu.resource_graph.management_groups[OTHERS["MG"]] = [emu.subscription]
        yield Context(emu, Path(tmp), seeded)


def watches_everything(example: Example) -> bool:
    """``watch --all`` and ``watch --fleet`` follow every running job, whoever started it."""
    return not example.script and bool(WATCH_EVERYTHING.search(example.command))


def run_all(examples: list[Example], ctx: Context) -> dict[str, Outcome]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {ex.where: pool.submit(run_example, ex, ctx) for ex in examples}
    results: dict[str, Outcome] = {}
    for where, future in futures.items():
        try:
            results[where] = future.result()
        except Exception as exc:  # a timeout, or the emulator refused the set-up
            results[where] = Outcome(stderr=f"{type(exc).__name__}: {exc}")
    return results


@pytest.fixture(scope="module")
def outcomes(ctx: Context, request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """Runs the selected examples, a few at a time; each test then checks its own.

    The examples that watch every running job go last, together, once the jobs the others
    started (and cancelled) have ended, and follow one new backup to its end."""
    selected: list[Example] = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if isinstance(item, pytest.Function) and item.originalname == "test_example" and callspec:
            example = callspec.params["example"]
            assert isinstance(example, Example)
            selected.append(example)
    results = run_all([ex for ex in selected if not watches_everything(ex)], ctx)
    last = [ex for ex in selected if watches_everything(ex)]
    if last:
        ctx.wait_until_idle()
        ctx.running_job(seconds=(1.0, 2.0))
        results |= run_all(last, ctx)
    return results


# -- The tests ------------------------------------------------------------------------------------
@pytest.mark.parametrize("example", DOCS.examples, ids=lambda ex: ex.where)
def test_example(example: Example, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[example.where]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    shown = example.command if not example.script else example.command.splitlines()[0] + " ..."
    report = (
        f"{example.where}: `{shown}` exited {outcome.returncode}, expected "
        f"{example.expect} {outcome.note}\n--- stdout\n{outcome.stdout[-3000:]}\n--- stderr\n"
        f"{outcome.stderr[-3000:]}"
    )
    assert outcome.returncode == example.expect, report
    assert "Traceback" not in outcome.stderr, report


def test_blocks_are_runnable_or_skipped_with_a_reason() -> None:
    assert DOCS.problems == []
    assert len(DOCS.skipped) <= MAX_SKIPPED, (
        f"{len(DOCS.skipped)} skipped blocks, at most {MAX_SKIPPED}: {DOCS.skipped}"
    )
    for where, reason in DOCS.skipped:
        assert len(reason.split()) >= 3, f"{where}: say why the block cannot run"


def test_pages_have_their_examples() -> None:
    for path in pages():
        count = sum(1 for ex in DOCS.examples if ex.path == path)
        if path in NO_EXAMPLES:
            assert count == 0, f"{path}: {count} examples; move it to MIN_EXAMPLES"
        else:
            assert path in MIN_EXAMPLES, f"{path}: add it to MIN_EXAMPLES or NO_EXAMPLES"
            assert count >= MIN_EXAMPLES[path], (
                f"{path}: {count} runnable examples, expected at least {MIN_EXAMPLES[path]}"
            )


def test_the_readme_keeps_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```sh\n{TEST_COMMAND}\n```" in readme
    ci = ROOT / ".ci" / "run"
    if ci.is_file():
        assert TEST_COMMAND in ci.read_text(encoding="utf-8")


def test_the_variables_are_documented_with_these_values(ctx: Context) -> None:
    text = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    documented = {**{name: job[0] for name, job in SEEDED.items()}, **OTHERS}
    for name, value in documented.items():
        row = next((r for r in rows if f"`{name}`" in r.split("|")[1]), None)
        assert row is not None, f"docs/emulator.md: no row for ${name}"
        assert value in row, f"docs/emulator.md: ${name} is {value} in the test"
    assert next((r for r in rows if "`ASYNC_OPERATION_URL`" in r), None) is not None
    exports = dict(
        re.findall(
            r"\b([A-Z][A-Z0-9_]*)=([\w.-]+)",
            "\n".join(line for line in text.splitlines() if line.startswith("export ")),
        )
    )
    for name, value in documented.items():
        if name in exports and not exports[name].startswith("$"):
            assert exports[name] == value, f"docs/emulator.md: export {name}={exports[name]}"
    for name, (job_id, *what) in SEEDED.items():
        assert ctx.seeded_at_start.get(job_id) == tuple(what), (
            f"${name}: {job_id} is {ctx.seeded_at_start.get(job_id)} in the seeded vault, "
            f"not {tuple(what)}"
        )


def test_the_documented_config_files_are_valid(ctx: Context, tmp_path: Path) -> None:
    found = 0
    for path, blocks in DOCS.blocks.items():
        for block in (b for b in blocks if b.language == "toml"):
            found += 1
            config = tmp_path / f"config-{found}.toml"
            config.write_text("\n".join(t for _, t in block.lines) + "\n", encoding="utf-8")
            done = run_cli_process(
                "config", "show", env={**ctx.env, "AZJOBS_CONFIG": str(config)}, timeout=30
            )
            assert done.exit_code == 0, f"{path}:{block.line}: {done.stderr}"
    assert found >= 1


LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_relative_links_and_anchors_resolve() -> None:
    broken: list[str] = []
    for path in pages():
        base = (ROOT / path).parent
        for number, text in DOCS.prose[path]:
            for target in LINK.findall(re.sub(r"`[^`]*`", "", text)):
                if re.match(r"^[a-z][a-z+.-]*:", target):
                    continue  # https:, mailto:
                file_part, _, anchor = target.partition("#")
                resolved = (base / file_part).resolve() if file_part else (ROOT / path)
                if not resolved.exists():
                    broken.append(f"{path}:{number}: {target}: no such file")
                    continue
                if anchor and resolved.suffix == ".md":
                    relative = resolved.relative_to(ROOT).as_posix()
                    if anchor not in anchors(relative):
                        broken.append(f"{path}:{number}: {target}: no such heading")
    assert broken == []


def test_the_readme_links_to_every_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in pages():
        if path.startswith("docs/") and path != "docs/README.md":
            assert f"]({path}" in readme, f"README.md: link {path} from the Documentation list"


def test_the_documented_emulator_seed_is_the_tested_one() -> None:
    text = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    assert f"--seed {DOCS_SEED} " in text
