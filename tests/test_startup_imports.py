"""What each path imports: start-up time is mostly imports, so heavy packages stay off the paths
that do not use them.

rich only for tables, jmespath only with --query, azure-identity only when a credential is
actually asked for a token, Typer not on the fast path, requests not for help and completion,
prometheus-client only for ``azjobs metrics``. Checked from outside, with ``python -X
importtime`` on real processes, and per module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from azbackupjobs.emulator import EmulatorHandle
from tests.harness import EmulatorFactory, Result, Variables, run_cli_process

HEAVY = ("rich", "typer", "jmespath", "azure", "requests", "msal", "prometheus_client")
# Modules that exist to draw tables (render, *_view) or to be the Typer app.
RICH_MODULES = {"azbackupjobs.view.render"}
TYPER_MODULES = {"azbackupjobs.cli.app"}
# Modules of `azjobs metrics`, the only ones that may import prometheus-client.
METRICS_MODULES = {
    "azbackupjobs.view.metrics",
    "azbackupjobs.view.metrics_http",
    "azbackupjobs.commands.metrics",
}
# Modules that help, completion, the entry point and settings resolution import: no requests.
NO_REQUESTS = {
    "azbackupjobs",
    "azbackupjobs.__main__",
    "azbackupjobs.arm.auth",
    "azbackupjobs.cli.app",
    "azbackupjobs.cli.completion",
    "azbackupjobs.arm.config",
    "azbackupjobs.model.errors",
    "azbackupjobs.main",
    "azbackupjobs.sources.filters",
    "azbackupjobs.model.ids",
    "azbackupjobs.cli.fastparse",
    "azbackupjobs.cli.invoke",
    "azbackupjobs.cli.registry",
    "azbackupjobs.cli.spec",
    "azbackupjobs.model.job",
    "azbackupjobs.view.output",
    "azbackupjobs.view.rows",
    "azbackupjobs.arm.settings",
    "azbackupjobs.model.text",
    "azbackupjobs.arm.token_cache",
    "azbackupjobs.commands.cache_cmd",
    "azbackupjobs.emulator",
}

_PROBE = """
import importlib, json, pkgutil, sys
import azbackupjobs
heavy = %r
result = {}
for info in pkgutil.walk_packages(azbackupjobs.__path__, "azbackupjobs."):
    before = set(sys.modules)
    importlib.import_module(info.name)
    new = set(sys.modules) - before
    result[info.name] = sorted({n.split(".")[0] for n in new if n.split(".")[0] in heavy})
    for name in list(sys.modules):
        if name.startswith("azbackupjobs.") or name.split(".")[0] in heavy + (
                "urllib3", "charset_normalizer", "idna", "certifi"):
            del sys.modules[name]
print(json.dumps(result))
"""


def test_every_module_imports_only_what_it_needs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: dict[str, list[str]] = json.loads(done.stdout)
    assert "azbackupjobs.main" in found and "azbackupjobs.commands.get" in found
    problems = []
    for module, heavy in sorted(found.items()):
        if "rich" in heavy and module not in RICH_MODULES and not module.endswith("_view"):
            problems.append(f"{module} imports rich")
        if "typer" in heavy and module not in TYPER_MODULES:
            problems.append(f"{module} imports typer")
        for name in ("jmespath", "azure", "msal"):
            if name in heavy:
                problems.append(f"{module} imports {name} at import time")
        if "requests" in heavy and module in NO_REQUESTS:
            problems.append(f"{module} imports requests")
        if "prometheus_client" in heavy and module not in METRICS_MODULES:
            problems.append(f"{module} imports prometheus_client")
    assert not problems, "\n".join(problems)


# ----- real processes -------------------------------------------------------------------------
IMPORTTIME = (sys.executable, "-X", "importtime", "-m", "azbackupjobs")


@pytest.fixture(scope="module")
def emulator(module_emulator_factory: EmulatorFactory) -> EmulatorHandle:
    return module_emulator_factory(speed=1e-6, seed=5)


@pytest.fixture(scope="module")
def job(emulator: EmulatorHandle) -> str:
    """A job that has ended."""
    job_id = emulator.add_job(entity="vm-imports", outcome="Completed", start_offset=-3600)
    emulator.advance(3600)
    return job_id


@pytest.fixture
def child_env(emulator: EmulatorHandle, tmp_path: Path) -> dict[str, str | None]:
    """The emulator's variables, with caches of its own."""
    env: dict[str, str | None] = {
        **emulator.env(),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "_AZJOBS_COMPLETE": None,
    }
    return env


def imported(args: list[str], env: Variables) -> tuple[set[str], Result]:
    """Top-level packages (and azbackupjobs modules) a run of ``azjobs args`` imported."""
    done = run_cli_process(*args, env=env, program=IMPORTTIME)
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name if name.startswith("azbackupjobs") else name.split(".")[0])
    return names, done


@pytest.mark.e2e
@pytest.mark.parametrize(
    "extra",
    [["-o", "json"], ["-o", "tsv"], ["-o", "ndjson"], ["--output=json", "--auth", "token"]],
)
def test_get_on_the_fast_path_imports_no_typer_rich_jmespath_or_identity(
    job: str, child_env: dict[str, str | None], extra: list[str]
) -> None:
    args = ["get", job, *extra]
    names, done = imported(args, child_env)
    assert done.exit_code == 0, done.stderr[-500:]
    assert "azbackupjobs.main" in names and "requests" in names
    for heavy in (
        "typer",
        "rich",
        "jmespath",
        "azure",
        "msal",
        "prometheus_client",
        "azbackupjobs.emulator",
        "azbackupjobs.model.job",
        "azbackupjobs.view.render",
    ):
        assert heavy not in names, heavy


@pytest.mark.e2e
@pytest.mark.parametrize(
    "args",
    [
        ["list-tasks", "{job}", "-o", "json"],
        ["list-tasks", "{job}", "-o", "tsv"],
        ["list", "-o", "ndjson", "--limit", "0"],
        ["list", "-o", "json", "--since", "7d"],
        ["list", "-o", "tsv"],
    ],
)
def test_data_paths_never_import_rich(
    job: str, child_env: dict[str, str | None], args: list[str]
) -> None:
    args = [a.replace("{job}", job) for a in args]
    names, done = imported(args, child_env)
    assert done.exit_code == 0, done.stderr[-500:]
    assert not {"rich", "typer", "jmespath", "azure", "prometheus_client"} & names


@pytest.mark.e2e
def test_query_imports_jmespath_only_then(job: str, child_env: dict[str, str | None]) -> None:
    args = ["get", job, "--query", "properties.status", "-o", "tsv"]
    names, done = imported(args, child_env)
    assert done.exit_code == 0 and done.stdout.strip().endswith("Completed")
    assert "jmespath" in names
    assert not {"rich", "typer", "azure"} & names


@pytest.mark.e2e
def test_the_typer_path_also_keeps_rich_and_identity_away(
    job: str, child_env: dict[str, str | None]
) -> None:
    names, done = imported(["get", job, "-o", "json"], {**child_env, "AZJOBS_FASTPATH": "0"})
    assert done.exit_code == 0
    assert "typer" in names
    assert not {"rich", "jmespath", "azure"} & names


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "extra_env"),
    [
        (["--help"], {}),
        (["get", "--help"], {}),
        (["list", "-h"], {}),
        ([], {"_AZJOBS_COMPLETE": "complete_bash", "COMP_WORDS": "azjobs ge", "COMP_CWORD": "1"}),
        (
            [],
            {
                "_AZJOBS_COMPLETE": "complete_bash",
                "COMP_WORDS": "azjobs get --out",
                "COMP_CWORD": "2",
            },
        ),
        ([], {"_AZJOBS_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "azjobs get -o "}),
    ],
)
def test_help_and_completion_import_no_requests_or_rich(
    child_env: dict[str, str | None], args: list[str], extra_env: dict[str, str]
) -> None:
    names, done = imported(args, {**child_env, **extra_env})
    assert done.exit_code == 0, done.stderr[-500:]
    assert done.stdout.strip()
    assert not {"requests", "rich", "jmespath", "azure", "urllib3", "prometheus_client"} & names


@pytest.mark.e2e
def test_a_cached_token_spares_the_identity_import(
    emulator: EmulatorHandle, job: str, child_env: dict[str, str | None], tmp_path: Path
) -> None:
    """With --auth cli, the first run asks az (and imports azure-identity), the next ones not."""
    from tests.test_auth_modes import FakeAz

    fake = FakeAz(tmp_path)
    fake.issue(emulator.token)
    env = {
        **child_env,
        "PATH": f"{fake.bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "AZJOBS_AUTH": "cli",
        "AZJOBS_ACCESS_TOKEN": None,
    }
    args = ["get", job, "-o", "json"]
    first, done = imported(args, env)
    assert done.exit_code == 0, done.stderr[-500:]
    assert "azure" in first
    second, done = imported(args, env)
    assert done.exit_code == 0, done.stderr[-500:]
    assert "azure" not in second and "typer" not in second
    assert len(fake.calls) == 1
