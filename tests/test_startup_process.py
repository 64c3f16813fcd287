"""The console script as scripts see it: a fast call ends at once (``os._exit``), so nothing it
printed may be lost and its exit code must be the Typer path's, pipes that close early included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    from azbackupjobs.emulator import start_emulator

    with start_emulator(speed=1e-6, seed=9, seed_data=False, page_size=25) as emu:
        emu.job = emu.add_job(entity="vm-proc", outcome="Completed", start_offset=-3600)
        emu.add_jobs(300, spread_seconds=6 * 3600.0)
        emu.advance(600)  # every job has ended: both runs see the same durations
        yield emu


@pytest.fixture(scope="module")
def env(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cache = tmp_path_factory.mktemp("cache")
    return {**os.environ, **emulator.env(), "XDG_CACHE_HOME": str(cache)}


def azjobs(args: list[str], env: dict[str, str], **extra: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "azbackupjobs", *args],
        capture_output=True,
        text=True,
        env={**env, **extra},
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["get", "{job}", "-o", "json"],
        ["get", "{job}", "-o", "tsv"],
        ["list", "-o", "ndjson", "--limit", "0"],
        ["list", "-o", "json", "--limit", "0"],
        ["list-tasks", "{job}", "-o", "ndjson"],
        ["get", "not-a-guid"],
        ["get", "00000000-0000-4000-8000-0000000000ff", "-o", "json"],
        ["get", "{job}", "-o", "json", "--endpoint", "http://example.com"],
    ],
)
def test_fast_and_typer_paths_agree_as_processes(
    emulator: Any, env: dict[str, str], args: list[str]
) -> None:
    args = [a.replace("{job}", emulator.job) for a in args]
    fast = azjobs(args, env)
    typer = azjobs(args, env, AZJOBS_FASTPATH="0")
    assert (fast[0], fast[1], _mask(fast[2])) == (typer[0], typer[1], _mask(typer[2]))


def _mask(text: str) -> str:
    """Request ids are random: compare the messages without them."""
    return "\n".join(line.split("(request id")[0] for line in text.splitlines())


def test_nothing_printed_is_lost(emulator: Any, env: dict[str, str]) -> None:
    code, out, err = azjobs(["list", "-o", "ndjson", "--limit", "0"], env)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 301
    assert all(json.loads(line)["type"].endswith("backupJobs") for line in lines)


def test_a_reader_that_goes_away_is_not_an_error(
    emulator: Any, env: dict[str, str], tmp_path: Path
) -> None:
    script = (
        f"{sys.executable} -m azbackupjobs list -o ndjson --limit 0 | head -n 1; "
        'echo "exit=${PIPESTATUS[0]}" >&2'
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.stdout.count("\n") == 1
    assert done.stderr.strip().splitlines()[-1] == "exit=0"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["--help"], {}),
        ([], {}),
        (["get", "-h"], {}),
        (["help", "exit-codes"], {}),
        (["cache", "--help"], {}),
        ([], {"_AZJOBS_COMPLETE": "complete_bash", "COMP_WORDS": "azjobs ge", "COMP_CWORD": "1"}),
        (
            [],
            {
                "_AZJOBS_COMPLETE": "complete_bash",
                "COMP_WORDS": "azjobs get -o ",
                "COMP_CWORD": "3",
            },
        ),
    ],
)
def test_help_and_completion_end_quickly_with_the_same_output(
    env: dict[str, str], args: list[str], extra: dict[str, str]
) -> None:
    quick = azjobs(args, env, **extra)
    assert quick == azjobs(args, env, **extra, AZJOBS_FASTPATH="0")
    assert (quick[1] + quick[2]).strip()
