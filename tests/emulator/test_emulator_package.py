"""The package surface: standard library only at import, standalone, the documented names."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

from azbackupjobs import emulator

PROBE = """
import json, sys
before = set(sys.modules)
import azbackupjobs.emulator
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_import_loads_only_the_standard_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    ours = [m for m in loaded if m.split(".")[0] == "azbackupjobs"]
    assert all(m == "azbackupjobs" or m.startswith("azbackupjobs.emulator") for m in ours), ours
    foreign = [
        m
        for m in loaded
        if m.split(".")[0] not in sys.stdlib_module_names
        and m.split(".")[0] != "azbackupjobs"
        and not m.startswith("_")
    ]
    assert foreign == []


def test_public_surface() -> None:
    params = inspect.signature(emulator.start_emulator).parameters
    assert list(params) == [
        "host",
        "port",
        "speed",
        "seed",
        "faults",
        "fault_kinds",
        "page_size",
        "tls",
        "state_file",
        "token",
        "allow_remote",
        "seed_data",
        "log",
        "slow_seconds",
        "backup_vault",
    ]
    assert params["host"].default == "127.0.0.1" and params["port"].default == 0
    serve_params = inspect.signature(emulator.serve).parameters
    assert serve_params["port"].default == emulator.DEFAULT_PORT == 8765
    assert {"out", "err"} <= set(serve_params)
    assert emulator.DEFAULT_RESOURCE_GROUP == "demo-rg" and emulator.DEFAULT_VAULT == "demo-vault"
    assert emulator.DEFAULT_BACKUP_VAULT == "demo-bvault"
    assert emulator.FAULT_KINDS == ("429", "500", "503", "reset", "slow", "truncated")
    for name in emulator.__all__:
        assert hasattr(emulator, name), name


def test_demo_trigger_path() -> None:
    path = emulator.demo_trigger_path()
    assert path == (
        f"/subscriptions/{emulator.DEFAULT_SUBSCRIPTION}/resourceGroups/demo-rg/providers/"
        "Microsoft.RecoveryServices/vaults/demo-vault/backupFabrics/Azure/protectionContainers/"
        "IaasVMContainer;iaasvmcontainerv2;demo-rg;demo-vm/protectedItems/"
        "VM;iaasvmcontainerv2;demo-rg;demo-vm/backup"
    )
    assert emulator.demo_trigger_path("x", resource_group="rg").count(";rg;x") == 2
