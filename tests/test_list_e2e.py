"""End to end: the installed ``azjobs list`` against the in-process emulator."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from azbackupjobs.emulator import EmulatorHandle
from tests.harness import EmulatorFactory, run_cli_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def emu(module_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    handle = module_emulator_factory(seed=3, seed_data=False, page_size=5)
    handle.add_jobs(
        12, outcomes=("Completed", "Failed", "CompletedWithWarnings"), spread_seconds=6 * 3600
    )
    handle.add_job(entity="old-vm", outcome="Failed", start_offset=-35 * 86400, duration=600)
    return handle


def list_requests(emu: EmulatorHandle) -> list[str]:
    """The ``$filter`` of every list request (nextLinks included) since the log was cleared."""
    return [
        parse_qs(r.query).get("$filter", [""])[0]
        for r in emu.request_log
        if r.path.lower().endswith("/backupjobs")
    ]


def test_json_pages_merged_newest_first(emu: EmulatorHandle) -> None:
    emu.clear_request_log()
    done = run_cli_process("list", "-o", "json", env=emu.env())
    assert done.exit_code == 0, done.stderr
    jobs = json.loads(done.stdout)
    assert len(jobs) == 12  # three pages of five; the 35-day-old job is outside 24 hours
    starts = [j["properties"]["startTime"] for j in jobs]
    assert starts == sorted(starts, reverse=True)
    filters = list_requests(emu)
    assert len(filters) == 3 and len(set(filters)) == 1  # one request, then two nextLinks
    assert sum(1 for r in emu.request_log if "skiptoken" in r.query.lower()) == 2


def test_status_filter_limit_and_long_window(emu: EmulatorHandle) -> None:
    emu.clear_request_log()
    done = run_cli_process(
        "list", "--status", "failed", "--since", "40d", "-o", "ndjson", env=emu.env()
    )
    assert done.exit_code == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {j["properties"]["status"] for j in lines} == {"Failed"}
    assert lines[-1]["properties"]["entityFriendlyName"] == "old-vm"
    filters = list_requests(emu)
    assert len(filters) == 2 and all("status eq 'Failed'" in f for f in filters)

    emu.clear_request_log()
    done = run_cli_process("list", "--limit", "3", "-o", "tsv", env=emu.env())
    assert done.exit_code == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert len(emu.request_log) == 1  # the first page held them: nothing more was fetched


def test_nothing_matches_and_usage_errors(emu: EmulatorHandle) -> None:
    done = run_cli_process("list", "--status", "Cancelling", env=emu.env())
    assert (done.exit_code, done.stdout) == (0, "[]\n")
    emu.clear_request_log()
    done = run_cli_process("list", "--type", "vm", env=emu.env())
    assert done.exit_code == 2 and done.stdout == ""
    assert done.stderr.startswith("azjobs: error: --type: unknown value 'vm'")
    assert "AzureIaasVM" in done.stderr and "Traceback" not in done.stderr
    assert emu.request_log == []
