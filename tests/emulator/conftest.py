"""Fixtures for the emulator tests: a running emulator and a small ARM client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_client import Api

from azbackupjobs.emulator import EmulatorHandle, start_emulator


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=7) as handle:
        yield handle


@pytest.fixture
def api(emu: EmulatorHandle) -> Iterator[Api]:
    client = Api(emu)
    yield client
    client.session.close()
