"""Shared test set-up.

Every test runs in a clean environment: the developer's own ``AZJOBS_*`` / ``AZURE_*`` variables
and their az CLI login must never change what a test sees, so they are removed and
``AZURE_CONFIG_DIR`` points at an empty temporary directory. ``TZ`` is UTC so that rendered local
times are the same on every machine.

The harness's fixtures (tests/harness) are registered here for every test: ``emulator_factory``
and ``module_emulator_factory`` (running emulators), ``rsps`` and ``ordered_rsps`` (strict
``responses`` registries).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.harness.cli import stop_leftovers
from tests.harness.emulators import emulator_factory, module_emulator_factory
from tests.harness.mocks import ordered_rsps, rsps

__all__ = ["emulator_factory", "module_emulator_factory", "ordered_rsps", "rsps"]

FIXTURES_DIR = Path(__file__).parent / "fixtures"

# Shared CI machines are noisy: no per-example deadline.
settings.register_profile("azjobs", deadline=None)
settings.load_profile("azjobs")

_CLEARED_PREFIXES = ("AZJOBS_", "AZURE_", "MSI_", "IDENTITY_")
_CLEARED_NAMES = ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "REQUESTS_CA_BUNDLE")


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """Clear azjobs/Azure variables, use an empty az CLI config dir, and run in UTC.

    Yields the az CLI config directory (empty); tests may write azureProfile.json or config there.
    """
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED_NAMES:
            monkeypatch.delenv(name, raising=False)
    az_dir = tmp_path_factory.mktemp("azure-config")
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(az_dir))
    # The developer's azjobs config file and completion cache must not be seen either.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.setenv("TZ", "UTC")
    # Tests written for Recovery Services vaults name the kind, as a user with one kind of vault
    # does, so that no look at the vault resource comes before their requests; the tests of
    # that look (tests/test_vault_kind.py) remove it.
    monkeypatch.setenv("AZJOBS_VAULT_TYPE", "recovery-services")
    time.tzset()
    yield az_dir
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(autouse=True)
def no_process_left_running() -> Iterator[None]:
    """What a test spawned and did not wait for (it failed on the way) is killed at its end."""
    yield
    stop_leftovers()


@pytest.fixture
def az_config_dir(isolated_environment: Path) -> Path:
    """The (initially empty) az CLI config directory of this test."""
    return isolated_environment


def load_json(relative: str) -> Any:
    """A fixture file under tests/fixtures, parsed."""
    return json.loads((FIXTURES_DIR / relative).read_text(encoding="utf-8"))


@pytest.fixture
def fixture_json() -> Callable[[str], Any]:
    """``fixture_json("recorded/iaasvm_backup_completed_2023.json")`` -> parsed JSON."""
    return load_json
