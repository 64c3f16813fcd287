"""The official passive-stamp client (azure-mgmt-recoveryservicesbackup 9.x) against the
emulator's cross-region-restore jobs, run in its own environment.

Set AZJOBS_PASSIVESTAMP_PYTHON to the python of an environment that has
``azure-mgmt-recoveryservicesbackup==9.*`` (the last releases with ``passivestamp``); without it
the test is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs.emulator import EmulatorHandle, start_emulator

PROBE = Path(__file__).with_name("passivestamp_probe.py")
ENV_VAR = "AZJOBS_PASSIVESTAMP_PYTHON"
# Read at collection: the suite's autouse fixture clears every AZJOBS_* variable before a test.
_CONFIGURED = os.environ.get(ENV_VAR, "").strip()


def passivestamp_python() -> str:
    python = _CONFIGURED
    if not python:
        pytest.skip(
            f"{ENV_VAR} is not set: point it at the python of an environment with "
            "azure-mgmt-recoveryservicesbackup==9.* to run the passive-stamp client"
        )
    if not Path(python).exists():
        pytest.fail(f"{ENV_VAR}={python} does not exist")
    return python


def probe(emu: EmulatorHandle, python: str, *extra: str) -> dict[str, Any]:
    assert emu.ca_bundle is not None
    vault_id = (
        f"/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{emu.vault}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "REQUESTS_"))}
    done = subprocess.run(
        [python, str(PROBE), emu.url, emu.token, emu.subscription, vault_id, "northeurope",
         emu.ca_bundle, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_passivestamp_client_lists_and_gets_crr_jobs() -> None:
    python = passivestamp_python()
    with start_emulator(tls=True, seed=13, page_size=2) as emu:
        emu.clear_request_log()
        seen = probe(emu, python)
        assert [j["name"] for j in seen["jobs"]] == emu.crr_job_ids()
        pages = [r for r in emu.request_log if r.path.endswith("/backupCrrJobs")]
        assert len(pages) == 2  # nextLink followed
        assert all(
            "/providers/Microsoft.RecoveryServices/locations/northeurope/backupJobs/" in j["id"]
            for j in seen["jobs"]
        )
        kinds = {j["kind"] for j in seen["jobs"]}
        assert {"AzureIaaSVMJob", "AzureWorkloadJob"} <= kinds
        assert {j["operation"] for j in seen["jobs"]} == {"CrossRegionRestore"}
        assert {j["status"] for j in seen["jobs"]} >= {"InProgress", "Completed", "Failed"}
        assert seen["api_version"] in ("2018-12-20", "2021-11-15", "2023-01-15")
        detail = seen["detail"]
        assert detail["name"] == seen["jobs"][0]["name"]
        assert detail["tasks"] == ["Transfer data from vault"]
        failed = probe(emu, python, "status eq 'Failed'")
        assert [j["status"] for j in failed["jobs"]] == ["Failed"]
