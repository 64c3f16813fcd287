"""End to end: ``azjobs metrics`` against the emulator, once (stdout, ``--write``), served (stopped
by SIGTERM and Ctrl-C), and its refusals; and, in-process, the served exporter through failed
refreshes with a short interval (the command line refuses one below a minute).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import stat
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from azbackupjobs.arm.client import RetryPolicy
from azbackupjobs.commands import metrics as command
from azbackupjobs.commands.common import CommonOptions
from azbackupjobs.emulator import EmulatorHandle
from tests.harness import EmulatorFactory, Result, fake_environment, run_cli_process, spawn_cli

pytestmark = pytest.mark.e2e

GRAPH = "/providers/Microsoft.ResourceGraph/resources"
SUBS = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222")
SERVING = re.compile(r"serving (http://\S+)/metrics")


@pytest.fixture(scope="module")
def emu(module_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    """The seed vault (every job type and status), and three more vaults in two subscriptions."""
    handle = module_emulator_factory(seed=61, speed=1e-6)
    for i, sub in enumerate(SUBS):
        for v in range(2 if i == 0 else 1):
            handle.add_jobs(
                4,
                outcomes=("Completed", "Failed", "CompletedWithWarnings"),
                subscription=sub,
                resource_group=f"rg-{i}",
                vault=f"vault-{i}-{v}",
                spread_seconds=5 * 3600,
                entity_prefix=f"vm{i}{v}-",
            )
    handle.resource_graph.page_size = 5
    handle.resource_graph.quota = 10_000
    return handle


def azjobs(emu: EmulatorHandle, *args: str, **extra: str) -> Result:
    """The installed ``azjobs ARGS`` against the emulator, ``extra`` variables on top."""
    return run_cli_process(*args, env={**emu.env(), **extra}, timeout=120)


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(s.labels), s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name
    ]


def by_status(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for labels, value in samples(text, "azjobs_jobs"):
        counts[labels["status"]] += int(value)
    return counts


# ----- once ---------------------------------------------------------------------------------------
def test_once_counts_what_list_lists(emu: EmulatorHandle) -> None:
    listed = azjobs(emu, "list", "--since", "2d", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    expected = Counter(j["properties"]["status"] for j in json.loads(listed.stdout))
    done = azjobs(emu, "metrics", "--since", "2d")
    assert done.exit_code == 0 and done.stderr == "", done.stderr
    assert by_status(done.stdout) == expected
    vaults = {lab["vault"] for lab, _ in samples(done.stdout, "azjobs_jobs")}
    assert vaults == {emu.vault}
    assert samples(done.stdout, "azjobs_exporter_last_refresh_success") == [({}, 1.0)]
    assert samples(done.stdout, "azjobs_exporter_info")[0][0]["source"] == "vault"


def test_once_in_openmetrics(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "metrics", "-o", "openmetrics")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.endswith("# EOF\n")
    names = {f.name for f in openmetrics_families(done.stdout)}
    assert {"azjobs_jobs", "azjobs_item_last_success_timestamp_seconds"} <= names


def test_fleet_counts_what_list_fleet_lists_in_pages(emu: EmulatorHandle) -> None:
    listed = azjobs(emu, "list", "--fleet", "--vault-type", "recovery-services", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    expected = Counter(j["properties"]["status"] for j in jobs)
    emu.clear_request_log()
    done = azjobs(emu, "metrics", "--fleet", "--vault-type", "recovery-services")
    assert done.exit_code == 0, done.stderr
    assert by_status(done.stdout) == expected
    vaults = {lab["vault"] for lab, _ in samples(done.stdout, "azjobs_jobs")}
    assert vaults == {emu.vault, "vault-0-0", "vault-0-1", "vault-1-0"}
    graph = [r for r in emu.request_log if r.path == GRAPH]
    assert len(graph) == math.ceil(len(jobs) / 5)  # one query per page of 5 rows
    assert len(graph) == len(emu.request_log)  # and no vault API request
    requests = dict(
        (lab["class"], v) for lab, v in samples(done.stdout, "azjobs_exporter_azure_requests_total")
    )
    assert requests == {"2xx": len(graph), "4xx": 0, "5xx": 0, "error": 0}


def kinds_of(text: str) -> set[tuple[str, str]]:
    return {(lab["vault"], lab["vault_type"]) for lab, _ in samples(text, "azjobs_jobs")}


def test_fleet_covers_both_kinds_of_vault(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZJOBS_VAULT_TYPE")  # no kind named: every vault of both kinds
    listed = azjobs(emu, "list", "--fleet", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    # The service's own words (Started, Succeeded) count as InProgress and Completed.
    words = {"Started": "InProgress", "Succeeded": "Completed"}
    expected = Counter(
        (j["id"].split("/")[8], words.get(j["properties"]["status"], j["properties"]["status"]))
        for j in json.loads(listed.stdout)
    )
    assert {"Started", "Succeeded"} <= {
        j["properties"]["status"] for j in json.loads(listed.stdout)
    }
    done = azjobs(emu, "metrics", "--fleet")
    assert done.exit_code == 0, done.stderr
    counted: Counter[tuple[str, str]] = Counter()
    for labels, value in samples(done.stdout, "azjobs_jobs"):
        counted[(labels["vault"], labels["status"])] += int(value)
    assert counted == expected
    assert (emu.backup_vault, "backup") in kinds_of(done.stdout)
    assert (emu.vault, "recovery-services") in kinds_of(done.stdout)
    # Backup instances are items, named by their datasource, with its type.
    items = {
        (lab["item"], lab["item_type"])
        for lab, _ in samples(done.stdout, "azjobs_item_last_backup_status")
        if lab["vault_type"] == "backup"
    }
    assert ("data-disk-01", "Microsoft.Compute/disks") in items
    successes = [
        value
        for lab, value in samples(done.stdout, "azjobs_item_last_success_timestamp_seconds")
        if lab["vault_type"] == "backup"
    ]
    assert successes and all(v > 0 for v in successes)

    backup_only = azjobs(emu, "metrics", "--fleet", "--vault-type", "backup")
    assert backup_only.exit_code == 0, backup_only.stderr
    assert kinds_of(backup_only.stdout) == {(emu.backup_vault, "backup")}
    services_only = azjobs(emu, "metrics", "--fleet", "--vault-type", "recovery-services")
    assert services_only.exit_code == 0, services_only.stderr
    assert {kind for _, kind in kinds_of(services_only.stdout)} == {"recovery-services"}


def test_once_for_one_backup_vault(emu: EmulatorHandle) -> None:
    listed = azjobs(emu, "list", "-v", emu.backup_vault, "--vault-type", "backup", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert jobs
    done = azjobs(emu, "metrics", "-v", emu.backup_vault, "--vault-type", "backup")
    assert done.exit_code == 0 and done.stderr == "", done.stderr
    assert sum(by_status(done.stdout).values()) == len(jobs)
    assert kinds_of(done.stdout) == {(emu.backup_vault, "backup")}
    items = {lab["item"] for lab, _ in samples(done.stdout, "azjobs_item_last_backup_status")}
    assert "data-disk-01" in items
    assert samples(done.stdout, "azjobs_exporter_info")[0][0]["source"] == "vault"


def test_write_replaces_the_file_atomically_with_mode_0644(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    target = tmp_path / "azjobs.prom"
    target.write_text("stale\n")
    os.chmod(target, 0o600)
    done = azjobs(emu, "metrics", "--write", str(target))
    assert (done.exit_code, done.stdout, done.stderr) == (0, "", "")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sum(by_status(target.read_text()).values()) > 0
    assert [p.name for p in tmp_path.iterdir()] == ["azjobs.prom"]


# ----- refusals -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--refresh", "10s", "--serve", ":0"], "--refresh: '10s' is shorter than 60 seconds"),
        (["--refresh", "5m"], "--refresh applies to --serve"),
        (["--serve", ":0", "--write", "x.prom"], "--write and --serve exclude each other"),
        (["--serve", ":0", "-o", "openmetrics"], "--format does not apply to --serve"),
        (["--serve", "myhost:9464"], "--serve: 'myhost' is not an IP address"),
        (["--serve", "9464"], "--serve: '9464' is not HOST:PORT"),
        (["--serve", ":0", "--since", "2026-01-01"], "with --serve the window slides"),
        (["-o", "json"], "--format: unknown format 'json'"),
        (["--since", "45d"], "at most 31 days"),
        (["--since", "yesterday"], "--since: cannot read 'yesterday'"),
        (["--write", "/nonexistent/dir/azjobs.prom"], "the directory /nonexistent/dir does"),
        (["--fleet", "-g", "rg"], "--fleet covers every vault in scope"),
        (["--subscriptions", SUBS[0]], "--subscriptions needs --fleet"),
        (["--fleet", "--management-group", "bad/group"], "--management-group:"),
        (["--endpoint", "http://example.com"], "http"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    emu: EmulatorHandle, args: list[str], message: str
) -> None:
    emu.clear_request_log()
    done = azjobs(emu, "metrics", *args)
    assert done.exit_code == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("azjobs: error: "), done.stderr
    assert message in lines[0]
    assert emu.request_log == []


def test_write_into_a_directory_is_refused(emu: EmulatorHandle, tmp_path: Path) -> None:
    done = azjobs(emu, "metrics", "--write", str(tmp_path))
    assert done.exit_code == 2 and "is a directory" in done.stderr


def test_a_refused_token_is_exit_4_and_never_printed(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "metrics", AZJOBS_ACCESS_TOKEN="not-the-token")
    assert done.exit_code == 4, done.stderr
    assert done.stdout == "" and "not-the-token" not in done.stderr
    assert done.stderr.startswith("azjobs: error: HTTP 401")


# ----- served -------------------------------------------------------------------------------------
def start_serving(
    emu: EmulatorHandle, *args: str, **extra: str
) -> tuple[subprocess.Popen[str], str, list[str]]:
    """The server process, its base URL, and the stderr lines before the serving line."""
    proc = spawn_cli("metrics", "--serve", *args, env={**emu.env(), **extra})
    lines = []
    assert proc.stderr is not None
    for _ in range(5):
        line = proc.stderr.readline()
        lines.append(line)
        found = SERVING.search(line)
        if found:
            return proc, found.group(1), lines[:-1]
    proc.kill()
    raise AssertionError(f"no serving line: {lines}")


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_served_until_sigterm_or_ctrl_c(emu: EmulatorHandle, sig: int, code: int) -> None:
    proc, base, before = start_serving(emu, ":0")
    try:
        assert base.startswith("http://127.0.0.1:") and before == []  # loopback, no warning
        status, text = fetch(base + "/metrics")
        assert status == 200 and sum(by_status(text).values()) > 0
        assert fetch(base + "/healthz")[0] == 200
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert out == ""
    assert err.strip().splitlines()[-1] == "azjobs: metrics server stopped"
    assert "Traceback" not in err


def test_a_non_loopback_address_is_served_with_a_warning(emu: EmulatorHandle) -> None:
    proc, base, before = start_serving(emu, "0.0.0.0:0")
    try:
        port = base.rsplit(":", 1)[1]
        assert fetch(f"http://127.0.0.1:{port}/healthz")[0] == 200
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143
    assert before == [
        f"warning: serving on 0.0.0.0, not loopback: anyone who can reach port {port} can read "
        "the names of your vaults and protected items\n"
    ]


def test_a_first_refresh_that_fails_ends_the_command_with_its_code(emu: EmulatorHandle) -> None:
    done = azjobs(emu, "metrics", "--serve", ":0", "-v", "no-such-vault")
    assert done.exit_code == 3, done.stderr
    assert "serving" not in done.stderr and done.stderr.startswith("azjobs: error: HTTP 404")


# ----- served, in-process: failed refreshes -------------------------------------------------------
class Stderr(io.StringIO):
    """A stderr that the serving thread writes and the test reads."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            return super().write(text)

    def text(self) -> str:
        with self.lock:
            return self.getvalue()


def wait_for(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def gauge(text: str, name: str, **labels: str) -> float:
    found = [v for lab, v in samples(text, name) if labels.items() <= lab.items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_failed_refreshes_keep_serving_the_last_data(emu: EmulatorHandle) -> None:
    env = fake_environment(emu.env(), stderr=Stderr())
    opts = command.MetricsOptions(common=CommonOptions(), serve="127.0.0.1:0")
    plan = replace(command.plan_metrics(opts, now=datetime.now(UTC)), refresh=0.3)
    exporter = command.open_exporter(opts, plan, env)
    exporter.session.client.retry = RetryPolicy(attempts=1)  # fail at once, not after backoff
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(command._serve(exporter, plan, env)))
    stderr = env.stderr
    assert isinstance(stderr, Stderr)
    thread.start()
    try:
        found = wait_for(lambda: SERVING.search(stderr.text()), "the serving line")
        base = found.group(1)
        good = fetch(base + "/metrics")[1]
        assert gauge(good, "azjobs_exporter_last_refresh_success") == 1
        jobs = by_status(good)
        emu.set_faults(1.0, "500")
        wait_for(lambda: "refresh failed" in stderr.text(), "a failed refresh")
        stale = fetch(base + "/metrics")[1]
        assert gauge(stale, "azjobs_exporter_last_refresh_success") == 0
        assert gauge(stale, "azjobs_exporter_refreshes_total", result="failure") >= 1
        assert gauge(stale, "azjobs_exporter_azure_requests_total", **{"class": "5xx"}) >= 1
        assert by_status(stale) == jobs  # the last good data, still served
        aged = wait_for(
            lambda: gauge(fetch(base + "/metrics")[1], "azjobs_exporter_data_age_seconds") > 0.6,
            "the data to age past two intervals",
        )
        assert aged
        assert wait_for(lambda: fetch(base + "/healthz")[0] == 503, "healthz to turn 503")
        emu.set_faults(0.0)
        assert wait_for(lambda: fetch(base + "/healthz")[0] == 200, "healthz to recover")
        fresh = fetch(base + "/metrics")[1]
        assert gauge(fresh, "azjobs_exporter_last_refresh_success") == 1
        # Last: the emulator throttles for a while (in emulated time) after a 429.
        emu.set_faults(1.0, "429")
        throttled = "azjobs_exporter_throttles_total"
        wait_for(
            lambda: gauge(fetch(base + "/metrics")[1], throttled, kind="429") >= 1,
            "a throttled refresh",
        )
    finally:
        emu.set_faults(0.0)
        exporter.stop.set()
        thread.join(30)
        exporter.close()
    assert result == [0]
    assert stderr.text().rstrip().endswith("azjobs: metrics server stopped")
