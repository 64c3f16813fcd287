"""``azjobs metrics`` checked by the real thing: ``promtool check metrics`` on its output, the
example alert rules through ``promtool check rules`` and ``promtool test rules``, and a real
Prometheus server scraping ``azjobs metrics --serve`` on the emulator, its answers compared with
what ``azjobs list`` says of the same jobs.

Prometheus and promtool come from Debian's ``prometheus`` package (``.ci/run`` installs it);
without them these tests are skipped, saying so.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs.emulator import EmulatorHandle
from azbackupjobs.view import metrics
from tests.harness import EmulatorFactory, Result, run_cli_process, spawn_cli

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
NO_PACKAGE = "needs promtool and prometheus (Debian package 'prometheus'; .ci/run installs it)"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(PROMTOOL is None or PROMETHEUS is None, reason=NO_PACKAGE),
]

RULES = Path(__file__).resolve().parents[1] / "examples" / "prometheus" / "azjobs-alerts.yml"
SUBS = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222")
SUCCESS = {"Completed", "CompletedWithWarnings"}


@pytest.fixture(scope="module")
def emu(module_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    """The seed vault (every job type and status) and three more vaults in two subscriptions,
    time standing still so that the exporter and ``azjobs list`` see the same jobs."""
    handle = module_emulator_factory(seed=71, speed=1e-6)
    for i, sub in enumerate(SUBS):
        for v in range(2 if i == 0 else 1):
            handle.add_jobs(
                5,
                outcomes=("Completed", "Failed", "CompletedWithWarnings", "Failed"),
                subscription=sub,
                resource_group=f"rg-{i}",
                vault=f"vault-{i}-{v}",
                spread_seconds=6 * 3600,
                entity_prefix=f"vm{i}{v}-",
            )
    handle.resource_graph.quota = 10_000
    return handle


def azjobs(emu: EmulatorHandle, *args: str) -> Result:
    """The installed ``azjobs ARGS`` against the emulator."""
    return run_cli_process(*args, env=emu.env(), timeout=120)


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


# ----- promtool -----------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["--since", "2d"], ["--fleet", "--since", "2d"]])
def test_promtool_accepts_the_exposition(emu: EmulatorHandle, args: list[str]) -> None:
    done = azjobs(emu, "metrics", *args)
    assert done.exit_code == 0, done.stderr
    checked = promtool("check", "metrics", stdin=done.stdout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (checked.stdout + checked.stderr).strip() == ""


def test_promtool_accepts_every_family_with_samples() -> None:
    """Also the families a quiet emulator leaves empty (progress of a running backup)."""
    now = time.time()
    job = {
        "id": f"/subscriptions/{SUBS[0]}/resourceGroups/rg/providers/Microsoft.RecoveryServices"
        "/vaults/v/backupJobs/00000000-0000-4000-8000-000000000001",
        "properties": {
            "entityFriendlyName": "vm1",
            "backupManagementType": "AzureIaasVM",
            "operation": "Backup",
            "status": "InProgress",
            "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 600)),
            "extendedInfo": {"progressPercentage": 25},
        },
    }
    expo = metrics.Exposition(metrics.summarize([job], taken_at=now, window_seconds=86400))
    encoder, content_type = metrics.encoder_for("prometheus")
    text = expo.render(encoder, content_type, metrics.ExporterHealth(source="vault"), now)
    assert b"azjobs_item_backup_progress_ratio{" in text
    checked = promtool("check", "metrics", stdin=text.decode())
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip()


def test_the_example_alert_rules_are_valid() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 3 rules found" in checked.stdout


RULE_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # A success a minute ago, all along; never a success at all.
      - series: 'azjobs_item_last_success_timestamp_seconds{{item="vm-ok",vault="v"}}'
        values: '0+60x1700'
      - series: 'azjobs_item_last_success_timestamp_seconds{{item="vm-stale",vault="v"}}'
        values: '0x1700'
      # A backup that failed at 00:50.
      - series: 'azjobs_last_job_end_timestamp_seconds{{operation="Backup",status="Failed",
          vault="v"}}'
        values: '3000x1700'
      - series: 'azjobs_last_job_end_timestamp_seconds{{operation="Backup",status="Completed",
          vault="v"}}'
        values: '3000x1700'
      - series: 'azjobs_exporter_last_refresh_success'
        values: '1x60 0x30'
    alert_rule_test:
      - eval_time: 25h
        alertname: AzureBackupNoRecentSuccess
        exp_alerts: []
      - eval_time: 27h
        alertname: AzureBackupNoRecentSuccess
        exp_alerts:
          - exp_labels: {{severity: warning, item: vm-stale, vault: v}}
            exp_annotations:
              summary: "No successful backup of vm-stale in v for 26 hours"
      - eval_time: 55m
        alertname: AzureBackupJobFailed
        exp_alerts:
          - exp_labels: {{severity: warning, operation: Backup, status: Failed, vault: v}}
            exp_annotations:
              summary: "A Backup job failed in v in the last hour"
      - eval_time: 2h
        alertname: AzureBackupJobFailed
        exp_alerts: []
      - eval_time: 80m
        alertname: AzjobsExporterRefreshFailing
        exp_alerts:
          - exp_labels: {{severity: warning}}
            exp_annotations:
              summary: "azjobs cannot read the Backup jobs from Azure; it serves the last good data"
"""


def test_the_example_alerts_fire_when_they_should(tmp_path: Path) -> None:
    tests = tmp_path / "azjobs-alerts.test.yml"
    tests.write_text(RULE_TESTS.format(rules=json.dumps(str(RULES))))
    checked = promtool("test", "rules", str(tests))
    assert checked.returncode == 0, checked.stdout + checked.stderr


# ----- a real Prometheus --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def scalar_by(self, expr: str, label: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/-/ready", timeout=2) as resp:  # noqa: S310
                return bool(resp.status == 200)
        except OSError:
            return False


@pytest.fixture
def exporter(emu: EmulatorHandle) -> Iterator[str]:
    """``azjobs metrics --fleet --serve`` on a free loopback port: its host:port."""
    proc = spawn_cli("metrics", "--fleet", "--since", "2d", "--serve", "127.0.0.1:0", env=emu.env())
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "serving http://127.0.0.1:" in line, line + proc.stderr.read()
        yield line.split("http://", 1)[1].split("/", 1)[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


@pytest.fixture
def prometheus(exporter: str, tmp_path: Path) -> Iterator[Prometheus]:
    assert PROMETHEUS is not None
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: azjobs\n"
        f"    static_configs:\n      - targets: ['{exporter}']\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait_for(lambda: server.ready() or proc.poll() is not None, "Prometheus to start")
        assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
        log.close()


def test_prometheus_scrapes_what_list_lists(emu: EmulatorHandle, prometheus: Prometheus) -> None:
    listed = azjobs(
        emu, "list", "--fleet", "--vault-type", "recovery-services", "--since", "2d", "-o", "json"
    )
    assert listed.exit_code == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    by_status = Counter(j["properties"]["status"] for j in jobs)
    wait_for(
        lambda: prometheus.scalar_by('up{job="azjobs"}', "job") == {"azjobs": 1.0},
        "the first good scrape",
    )
    wait_for(lambda: prometheus.query("azjobs_jobs"), "the jobs series")

    assert prometheus.scalar_by("sum by (status) (azjobs_jobs)", "status") == {
        status: float(n) for status, n in by_status.items()
    }
    per_vault = Counter(j["id"].split("/")[8] for j in jobs)
    assert prometheus.scalar_by("sum by (vault) (azjobs_jobs)", "vault") == {
        vault: float(n) for vault, n in per_vault.items()
    }
    running = sum(1 for j in jobs if j["properties"]["status"] in {"InProgress", "Cancelling"})
    assert prometheus.scalar_by("sum(azjobs_jobs_running)", "") == {"": float(running)}

    # Items: every backed-up item once; those without a success in the window show 0, which is
    # what the example alert "no successful backup in 26 hours" fires on.
    items: dict[tuple[str, str, str], bool] = {}
    for job in jobs:
        props = job["properties"]
        if props["operation"].split(" (")[0] != "Backup":
            continue
        key = (job["id"].split("/")[8], props["entityFriendlyName"], props["backupManagementType"])
        cancelled = any(e.get("errorCode") == 400158 for e in props.get("errorDetails") or [])
        items[key] = items.get(key, False) or (props["status"] in SUCCESS and not cancelled)
    assert prometheus.scalar_by("count(azjobs_item_last_backup_status)", "") == {
        "": float(len(items))
    }
    never = sum(1 for ok in items.values() if not ok)
    assert 0 < never < len(items)
    stale = prometheus.query("time() - azjobs_item_last_success_timestamp_seconds > 26 * 3600")
    assert len(stale) == never
    assert {r["metric"]["item"] for r in stale} == {k[1] for k, ok in items.items() if not ok}

    assert prometheus.scalar_by("azjobs_exporter_last_refresh_success", "") == {"": 1.0}
    info = prometheus.query("azjobs_exporter_info")
    assert [r["metric"]["source"] for r in info] == ["fleet"]
