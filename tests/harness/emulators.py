"""The emulator as a fixture: started with the options a test asks for, stopped at the end of
the fixture's scope (the test, or the module for the module-scoped factory).

    def test_x(emulator_factory: EmulatorFactory) -> None:
        emu = emulator_factory(seed=3, seed_data=False, speed=1.0)
        run_cli("list", env=emu.env())   # emu.url, emu.token, emu.env(): azjobs' variables
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack

import pytest

from azbackupjobs.emulator import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_SLOW_SECONDS,
    DEFAULT_SPEED,
    EmulatorHandle,
    start_emulator,
)


class EmulatorFactory:
    """Starts in-process emulators that all stop when ``close`` runs (the fixture's end)."""

    def __init__(self) -> None:
        self._stack = ExitStack()

    def __call__(
        self,
        *,
        seed: int | None = None,
        speed: float = DEFAULT_SPEED,
        seed_data: bool = True,
        page_size: int = DEFAULT_PAGE_SIZE,
        faults: float = 0.0,
        fault_kinds: str | Iterable[str] | None = None,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        token: str | None = None,
        tls: bool = False,
    ) -> EmulatorHandle:
        """A running emulator on a free loopback port (``start_emulator``'s options)."""
        return self._stack.enter_context(
            start_emulator(
                seed=seed,
                speed=speed,
                seed_data=seed_data,
                page_size=page_size,
                faults=faults,
                fault_kinds=fault_kinds,
                slow_seconds=slow_seconds,
                token=token,
                tls=tls,
            )
        )

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def emulator_factory() -> Iterator[EmulatorFactory]:
    """Emulators for one test."""
    factory = EmulatorFactory()
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def module_emulator_factory() -> Iterator[EmulatorFactory]:
    """Emulators shared by the tests of a module (arranged once: tests must not change them
    in ways that the next test would see, or must undo it)."""
    factory = EmulatorFactory()
    yield factory
    factory.close()
