"""Fixtures for the emulator tests: a running emulator and a small ARM client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_client import Api

from azbackupjobs.emulator import EmulatorHandle
from tests.harness import EmulatorFactory


@pytest.fixture
def emu(emulator_factory: EmulatorFactory) -> EmulatorHandle:
    return emulator_factory(seed=7)


@pytest.fixture
def api(emu: EmulatorHandle) -> Iterator[Api]:
    client = Api(emu)
    yield client
    client.session.close()
