"""The reliability suites' shared figures, printed at the end of the run.

Each suite adds what it did to ``FIGURES`` (through the ``figures`` fixture): faults injected by
kind, retries, bad inputs tried, the corpus size, and so on. ``pytest_terminal_summary`` prints
them under a "reliability" heading, with the number of reliability tests that failed in this run,
so that the numbers in the README can be checked against a real run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

# Defects these suites found in azjobs, each fixed with a test here that fails without the fix.
FOUND_AND_FIXED: tuple[str, ...] = (
    "HTTP_PROXY/ALL_PROXY carried plain-http requests to the loopback endpoint, bearer token "
    "and all, in clear text to the proxy's host",
    "a 200 answer that is not JSON and echoes the Authorization header put the token in the "
    "error message; the ARM error code of an error body was not redacted either",
    "an Azure-AsyncOperation header with an upper-case or non-http scheme was taken for an "
    "operation id and put into a path on the endpoint",
    "cancel built its request URLs from the job name the service returned, not from the "
    "validated id",
    "the job name the service returned reached the terminal unsanitized in the rows and plain "
    "lines of a watch of several jobs",
    "C1 controls (U+009B is a one-character CSI), DEL and bidirectional controls went out "
    "unescaped in -o json and -o ndjson",
    "a JSON body nested too deeply for json.loads escaped as an unexpected RecursionError",
    "watch piped as -o table crashed (StopIteration) when the service's job name differed "
    "from the id asked for, upper case included",
    "a job with 10,000 tasks took about 7 s per table render, and as long on every redraw "
    "of the live view",
    "an AZJOBS_ACCESS_TOKEN with characters that are not ASCII failed with an unexpected "
    "UnicodeEncodeError (exit 1) instead of a usage error (exit 2)",
    "--since/--until in year 1 failed with an unexpected ValueError or OverflowError (exit 1) "
    "instead of a usage error (exit 2)",
    "--interval '1 2' (and --timeout, --grace) was read as 12 seconds",
    "a list of empty pages, each with a new nextLink or $skipToken, was followed forever "
    "(680 requests in 30 s, nothing printed; watch --all --timeout 10 still paging at 25 s)",
    "Retry-After: 0 made cancel and watch --operation poll in a tight loop (96 and 115 GETs "
    "in 5 s); nan and inf ended in an unexpected ValueError or OverflowError",
    "a server that trickled one byte every 2 s held get forever (the timeout was per socket "
    "read); one that never answered held watch --timeout 10 for 60 s",
    "an endpoint that refused the first connection was retried forever by watch, as "
    "'connection lost'; a TLS verification failure was retried three times",
    "a 50 MB job body took 240-310 MB of memory",
    "a token refused mid-watch was 'renewed' into the same token by the credential's own "
    "cache, and the watch ended with exit 4",
    "get -o json >&- ended in a traceback, list > /dev/full in 'unexpected OSError'",
    "a SIGTERM while the process unwound could raise into an atexit callback or a finalizer "
    "(a traceback)",
    "AZJOBS_CONFIG=/dev/zero filled the memory; a FIFO there hung the command",
    "list --since 366d was refused (the rounding to whole seconds made it 366 days and 1 s)",
    "watch -o ndjson wrote a line on every poll of a running VM backup: its tasks' durations "
    "and estimatedRemainingDuration counted as changes (100 lines for 3 changes)",
    "a VM backup cancelled into CompletedWithWarnings (400158) read CompletedWithWarnings in "
    "list and several-jobs rows, piped lines and cancel's messages, while watch exited 7",
    "cancel --wait repeated after a timed-out request stopped with exit 1 ('not running') on "
    "a job already Cancelling or Cancelled instead of following it",
    "watch said a job 'never became visible' when every read of it was throttled or unreadable",
    "a --query that failed on the data printed the job's Python repr, and watch found out "
    "only after the jobs ended",
)


@dataclass
class Figures:
    """What the reliability suites did in this run."""

    faults: Counter[str] = field(default_factory=Counter)
    chaos_requests: int = 0
    chaos_retries: int = 0
    early_retries: int = 0
    chaos_watches: int = 0
    chaos_jobs: int = 0
    bad_inputs: int = 0
    corpus_size: int = 0
    corpus_runs: int = 0
    subprocess_runs: int = 0
    security_checks: int = 0
    hypothesis_examples: int = 0
    signal_runs: int = 0
    hostile_cases: int = 0
    right_answers: int = 0
    failed: int = 0
    passed: int = 0

    def lines(self) -> list[str]:
        lines: list[str] = []
        if self.chaos_watches:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items()))
            lines += [
                f"chaos: {self.chaos_watches} watch processes, {self.chaos_jobs} jobs, "
                f"{self.chaos_requests} requests",
                f"  faults injected: {sum(self.faults.values())} ({kinds})",
                f"  retries made after a fault: {self.chaos_retries}; requests sent before a "
                f"Retry-After elapsed: {self.early_retries}",
            ]
        if self.corpus_size:
            lines.append(
                f"bad server data: {self.corpus_size} malformed responses, "
                f"{self.corpus_runs} command runs"
            )
        if self.bad_inputs:
            lines.append(
                f"bad user input: {self.bad_inputs} inputs tried, each refused before any request"
            )
        if self.security_checks:
            lines.append(
                f"security: {self.security_checks} runs checked for the token and for "
                "requests to foreign hosts"
            )
        if self.hypothesis_examples:
            lines.append(
                f"property-based: {self.hypothesis_examples} generated jobs and "
                "operation statuses parsed and rendered"
            )
        if self.hostile_cases:
            lines.append(
                f"hostile server and first-run mistakes: {self.hostile_cases} cases, each ended "
                "in bounded time, requests and memory"
            )
        if self.right_answers:
            lines.append(
                f"right answers: {self.right_answers} cases of noisy, cancelled, repeated or "
                "unreadable input, each answered with the right data and one clear line"
            )
        if self.signal_runs:
            lines.append(
                f"signals and pipes: {self.signal_runs} processes interrupted or cut short"
            )
        if self.subprocess_runs:
            lines.append(f"installed azjobs runs: {self.subprocess_runs}")
        if lines:
            lines.append(f"failures found and fixed: {len(FOUND_AND_FIXED)}")
            lines += [f"  - {text}" for text in FOUND_AND_FIXED]
            lines.append(
                f"reliability tests in this run: {self.passed} passed, {self.failed} failed"
            )
        return lines


FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return FIGURES


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid.replace("\\", "/"):
        return
    if report.when == "call" and report.passed:
        FIGURES.passed += 1
    elif report.failed:
        FIGURES.failed += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = FIGURES.lines()
    if not lines:
        return
    terminalreporter.section("reliability")
    for line in lines:
        terminalreporter.write_line(line)
