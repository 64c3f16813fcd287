"""The one test harness: run azjobs (in-process, as a process, in a pseudo-terminal), start
emulators as fixtures, and mock HTTP strictly. The fixtures (``emulator_factory``,
``module_emulator_factory``, ``rsps``, ``ordered_rsps``) are registered by tests/conftest.py."""

from tests.harness.cli import (
    AZJOBS,
    AZJOBS_SCRIPT,
    PYTHON_M,
    Result,
    Sleep,
    Variables,
    child_environment,
    finished,
    run_cli,
    run_cli_process,
    run_command,
    spawn_cli,
    stop_at_test_end,
    stop_leftovers,
    variables,
)
from tests.harness.clock import FakeTime
from tests.harness.emulators import EmulatorFactory
from tests.harness.environment import FakeEnvironment, fake_environment
from tests.harness.mocks import sent_url, strict_mock

__all__ = [
    "AZJOBS",
    "AZJOBS_SCRIPT",
    "PYTHON_M",
    "EmulatorFactory",
    "FakeEnvironment",
    "FakeTime",
    "Result",
    "Sleep",
    "Variables",
    "child_environment",
    "fake_environment",
    "finished",
    "run_cli",
    "run_cli_process",
    "run_command",
    "sent_url",
    "spawn_cli",
    "stop_at_test_end",
    "stop_leftovers",
    "strict_mock",
    "variables",
]
