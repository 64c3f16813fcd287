"""A local emulator of the Azure Resource Manager API for Azure Backup jobs.

It serves the jobs surface of ``Microsoft.RecoveryServices`` (get, list with ``$filter`` and
paging, cancel and its operation results, protected items and the on-demand backup trigger with
its operation status, ``backupOperations``, export) and of ``Microsoft.DataProtection`` Backup
vaults (jobs, backup instances and policies, the ad-hoc backup and its operation), with payloads
shaped like the service's, jobs that progress in emulated time, fault injection, optional TLS
and a persisted state, plus what the Azure SDKs and the az CLI need to sign in without Azure AD
(cloud metadata, a managed-identity endpoint issuing JWT-shaped tokens, ``/subscriptions`` and
``/tenants``). It depends on the standard library only (``cryptography`` is used for ``--tls``
when installed) and on nothing else in azbackupjobs, so that the CLI can import it lazily for
``azjobs emulator`` and ``azjobs demo``.

In-process use (tests, the demo)::

    with start_emulator(speed=60, seed=1) as emu:
        job_id = emu.add_job(entity="vm1", tasks=[("Take Snapshot", 30), ("Upload", 120)])
        emu.advance(200)          # no real waiting
        ...                       # point a client at emu.url with emu.token

The demo: POST :func:`demo_trigger_path` (``DEMO_VM``) on an emulator started with
``speed=DEMO_SPEED``; the backup it starts takes about 23 s of real time, with growing
``taskExecutionDetails`` on the transfer task and propertyBag keys appearing as it goes. Next
to it, ``emu.backup_vaults.add_instance("disk", DEMO_DISK)`` protects one more disk, and POST
``emu.backup_vaults.trigger_path(DEMO_DISK)`` with the rule ``DEMO_DISK_RULE`` backs it up (a
few seconds at that speed).
"""

from __future__ import annotations

import errno
import shlex
import signal
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import TextIO

from .cloud import CLOUD_NAME
from .defaults import (
    DEFAULT_API_VERSION,
    DEFAULT_BACKUP_VAULT,
    DEFAULT_HOST,
    DEFAULT_IDENTITY_HEADER,
    DEFAULT_LOCATION,
    DEFAULT_PAGE_SIZE,
    DEFAULT_PORT,
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_SLOW_SECONDS,
    DEFAULT_SPEED,
    DEFAULT_SUBSCRIPTION,
    DEFAULT_TENANT,
    DEFAULT_TOKEN,
    DEFAULT_VAULT,
    DEMO_DISK,
    DEMO_DISK_RULE,
    DEMO_SPEED,
    DEMO_VM,
    FAULT_KINDS,
)
from .handle import (
    EmulatorHandle,
    Options,
    container_name,
    demo_trigger_path,
    launch,
    protected_item_name,
)
from .replies import ServiceError
from .server import RequestRecord
from .versions import SUPPORTED_VERSIONS

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def start_emulator(
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    speed: float = DEFAULT_SPEED,
    seed: int | None = None,
    faults: float = 0.0,
    fault_kinds: str | Iterable[str] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    tls: bool = False,
    state_file: str | Path | None = None,
    token: str | None = None,
    allow_remote: bool = False,
    seed_data: bool = True,
    log: TextIO | None = None,
    slow_seconds: float = DEFAULT_SLOW_SECONDS,
    backup_vault: str = DEFAULT_BACKUP_VAULT,
) -> EmulatorHandle:
    """Start serving in background threads and return the handle (also a context manager).

    ``port=0`` picks a free port (see ``handle.url``). ``speed`` is emulated seconds per real
    second. ``seed`` makes the seed data, the ids of new jobs and the fault sequence
    reproducible. ``faults`` is the share of API requests that fail with one of ``fault_kinds``
    (default: all of 429, 500, 503, reset, slow, truncated); a "slow" answer waits
    ``slow_seconds``. ``state_file`` keeps jobs and operations across restarts. ``log`` gets one
    line per request. ``seed_data=False`` starts with empty vaults. ``backup_vault`` names the
    seed Backup vault (give it the Recovery Services vault's name, ``demo-vault``, for a name
    that exists as both kinds). Bad options raise ValueError with a one-line message; a port in
    use raises OSError.
    """
    options = Options.build(
        host=host,
        port=port,
        speed=speed,
        seed=seed,
        faults=faults,
        fault_kinds=fault_kinds,
        page_size=page_size,
        tls=tls,
        state_file=state_file,
        token=token,
        allow_remote=allow_remote,
        seed_data=seed_data,
        log=log,
        slow_seconds=slow_seconds,
        backup_vault=backup_vault,
    )
    return launch(options)


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    speed: float = DEFAULT_SPEED,
    seed: int | None = None,
    faults: float = 0.0,
    fault_kinds: str | Iterable[str] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    tls: bool = False,
    state_file: str | Path | None = None,
    token: str | None = None,
    allow_remote: bool = False,
    seed_data: bool = True,
    log: bool = False,
    backup_vault: str = DEFAULT_BACKUP_VAULT,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the emulator until Ctrl-C or SIGTERM (or ``stop`` is set); return the exit code.

    Prints :func:`environment_block` on ``out`` (a sourceable file: a comment and the
    ``export ...`` lines that point azjobs at it), and a banner, the Azure SDK / az CLI hints
    and, with ``log``, one line per request on ``err``.
    Returns 130 after Ctrl-C, 143 after SIGTERM, 0 when ``stop`` was set, 1 when it cannot
    listen. Bad options raise ValueError before anything is printed.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        handle = start_emulator(
            host=host,
            port=port,
            speed=speed,
            seed=seed,
            faults=faults,
            fault_kinds=fault_kinds,
            page_size=page_size,
            tls=tls,
            state_file=state_file,
            token=token,
            allow_remote=allow_remote,
            seed_data=seed_data,
            log=err if log else None,
            backup_vault=backup_vault,
        )
    except OSError as exc:
        err.write(listen_error(host, port, exc) + "\n")
        return EXIT_ERROR
    except RuntimeError as exc:
        err.write(f"azjobs emulator: {exc}\n")
        return EXIT_ERROR

    stop_event = stop if stop is not None else threading.Event()
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stop_event.set()

    previous: dict[signal.Signals, object] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        _print_banner(handle, out, err, speed=speed, faults=faults)
        while not stop_event.wait(0.25):
            pass
    except KeyboardInterrupt:
        received.append(signal.SIGINT)
    finally:
        handle.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
    err.write("azjobs emulator: stopped\n")
    err.flush()
    if received:
        return EXIT_TERMINATED if received[0] == signal.SIGTERM else EXIT_INTERRUPTED
    return EXIT_OK


def listen_error(host: str, port: int, exc: OSError) -> str:
    """One line for a port that cannot be used; a busy one names the way out."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"azjobs emulator: port {port} on {host} is already in use; choose another with "
            "--port N, or --port 0 for any free port"
        )
    return f"azjobs emulator: cannot listen on {host}:{port}: {exc.strerror or exc}"


def environment_block(handle: EmulatorHandle) -> str:
    """What ``azjobs emulator`` prints on stdout: a file that ``.`` (source) can read.

    The comment stays with the exports so that ``azjobs emulator > emu.env`` captures a
    complete, self-explaining file; values are shell-quoted where needed.
    """
    lines = [
        f"# azjobs emulator at {handle.url} (seed {handle.data_seed}): point azjobs at it with"
    ]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in handle.env().items()]
    lines.append(
        f"# Backup vault (Microsoft.DataProtection) in {handle.resource_group}: "
        f"{handle.backup_vault} (AZJOBS_VAULT={handle.backup_vault} to use it)"
    )
    return "\n".join(lines) + "\n"


def sdk_hint(handle: EmulatorHandle) -> str:
    """How the Azure SDKs and the az CLI log in; they send tokens over https only."""
    if not handle.options.tls:
        return (
            "# The Azure SDKs and the az CLI send tokens over https only: start the emulator "
            "with --tls to use them.\n"
        )
    lines = ["# Azure SDKs and the az CLI can log in with:"]
    lines += [f"#   export {name}={shlex.quote(value)}" for name, value in handle.sdk_env().items()]
    lines.append(
        f"# az CLI: az cloud register -n {CLOUD_NAME} --endpoint-resource-manager {handle.url}"
        f" && az cloud set -n {CLOUD_NAME} && az login --identity"
    )
    return "\n".join(lines) + "\n"


def _print_banner(
    handle: EmulatorHandle, out: TextIO, err: TextIO, *, speed: float, faults: float
) -> None:
    jobs = len(handle.job_ids())
    backup_jobs = len(handle.backup_vaults.job_ids())
    extras = [
        f"speed {speed:g}x",
        f"{jobs} jobs in {handle.resource_group}/{handle.vault}",
        f"{backup_jobs} in Backup vault {handle.backup_vault}",
    ]
    if faults:
        extras.append(f"faults {faults:.0%}")
    err.write(f"azjobs emulator: serving {handle.url} ({', '.join(extras)}); Ctrl-C to stop\n")
    err.flush()
    out.write(environment_block(handle))
    out.flush()
    err.write(sdk_hint(handle))
    err.flush()


__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_BACKUP_VAULT",
    "DEFAULT_HOST",
    "DEFAULT_IDENTITY_HEADER",
    "DEFAULT_LOCATION",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_PORT",
    "DEFAULT_RESOURCE_GROUP",
    "DEFAULT_SLOW_SECONDS",
    "DEFAULT_SPEED",
    "DEFAULT_SUBSCRIPTION",
    "DEFAULT_TENANT",
    "DEFAULT_TOKEN",
    "DEFAULT_VAULT",
    "DEMO_DISK",
    "DEMO_DISK_RULE",
    "DEMO_SPEED",
    "DEMO_VM",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "FAULT_KINDS",
    "SUPPORTED_VERSIONS",
    "EmulatorHandle",
    "RequestRecord",
    "ServiceError",
    "container_name",
    "demo_trigger_path",
    "environment_block",
    "listen_error",
    "protected_item_name",
    "sdk_hint",
    "serve",
    "start_emulator",
]
