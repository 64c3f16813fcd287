"""``azjobs demo``: a simulated backup, end to end, with no Azure account and no network.

It starts the emulator in-process on a free loopback port with time sped up, triggers on-demand
backups through the REST routes, one per kind of vault: the demo VM in the Recovery Services
vault (``POST .../protectedItems/.../backup``) and a disk it protects in the Backup vault
(``POST .../backupInstances/.../backup`` with its backup rule), each answering 202 with
``Azure-AsyncOperation``. It resolves each operation to its job the way the REST docs describe,
and watches both jobs in one view with exactly the code of ``azjobs watch JOB...`` (so every
output form and exit code is the real thing), each job read from its own vault. Then it says
what to try next.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from azbackupjobs.commands.common import CommonOptions, Session, make_output, open_session
from azbackupjobs.commands.shared.operations import resolve_operation
from azbackupjobs.commands.shared.watching import (
    Clock,
    Sleep,
    Wall,
    WatchOptions,
    utc_now,
    watch_jobs,
)
from azbackupjobs.model.errors import UnexpectedResponseError, UsageError
from azbackupjobs.sources import backup_instances
from azbackupjobs.sources.backup_vault import BackupVaultSource
from azbackupjobs.sources.recovery_services import RecoveryServicesSource
from azbackupjobs.sources.several import SeveralSources
from azbackupjobs.view.output import Environment

if TYPE_CHECKING:
    from azbackupjobs.arm.client import Response
    from azbackupjobs.emulator import EmulatorHandle

DEFAULT_DEMO_INTERVAL = 1.0
MAX_SPEED = 100_000.0


@dataclass(frozen=True)
class DemoOptions:
    speed: float | None = None  # None: the emulator's demo speed (the job ends in ~25 s)
    interval: float = DEFAULT_DEMO_INTERVAL
    output: str | None = None
    query: str | None = None
    debug: bool = False


def parse_speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        speed = math.nan
    if not math.isfinite(speed) or speed <= 0 or speed > MAX_SPEED:
        raise UsageError(
            f"--speed: {value!r} is not a factor from 0 to {MAX_SPEED:g} "
            "(60 makes an emulated minute pass in a second)"
        )
    return speed


def run(
    opts: DemoOptions,
    env: Environment,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    wall: Wall = utc_now,
) -> int:
    common = CommonOptions(output=opts.output, query=opts.query, debug=opts.debug)
    out = make_output(common, env)  # a bad -o or --query fails before anything starts

    from azbackupjobs import emulator

    speed = opts.speed if opts.speed is not None else emulator.DEMO_SPEED
    try:
        emu = emulator.start_emulator(speed=speed)
        emu.backup_vaults.add_instance("disk", emulator.DEMO_DISK)
    except (OSError, RuntimeError, ValueError) as exc:
        raise UnexpectedResponseError(f"cannot start the emulator: {exc}") from None
    try:
        common = replace(
            common,
            subscription=emu.subscription,
            resource_group=emu.resource_group,
            vault=emu.vault,
            endpoint=emu.url,
            api_version=None,
        )
        # The emulator's token, and nothing from the user's own setup that would point elsewhere.
        own = {
            k: v
            for k, v in env.env.items()
            if not k.startswith("AZJOBS_") and k != "AZURE_SUBSCRIPTION_ID"
        }
        demo_env = replace(env, env={**own, "AZJOBS_ACCESS_TOKEN": emu.token})
        session = open_session(common, demo_env, out=out)
        backup_common = replace(common, vault=emu.backup_vault, vault_type="backup")
        backup_session = open_session(backup_common, demo_env, out=out)
        try:
            out.note(
                f"azjobs demo: emulator serving {emu.url} (time runs {speed:g}x faster); "
                f"starting on-demand backups of {emulator.DEMO_VM} (Recovery Services vault "
                f"{emu.vault}) and {emulator.DEMO_DISK} (Backup vault {emu.backup_vault})"
            )
            vm_operation = _trigger_vm(session, emu)
            disk_operation = _trigger_disk(backup_session, emu)
            vm_job = resolve_operation(
                session, vm_operation, interval=opts.interval, sleep=sleep, clock=clock
            )[0]
            disk_job = resolve_operation(
                backup_session, disk_operation, interval=opts.interval, sleep=sleep, clock=clock
            )[0]
            out.note(
                f"azjobs demo: watching jobs {vm_job} and {disk_job} "
                "(what `azjobs watch JOB...` does)"
            )
            both = SeveralSources(
                [(session.vault_source, [vm_job]), (backup_session.vault_source, [disk_job])]
            )
            code = watch_jobs(
                session,
                [vm_job, disk_job],
                WatchOptions(interval=opts.interval),
                sleep=sleep,
                clock=clock,
                wall=wall,
                source=both,
            )
        finally:
            session.client.close()
            backup_session.client.close()
    finally:
        emu.stop()
    out.note(next_steps())
    return code


def _trigger_vm(session: Session, emu: EmulatorHandle) -> str:
    """POST the demo VM's backup; its Azure-AsyncOperation (the RS trigger's answer)."""
    from azbackupjobs import emulator

    trigger = emulator.demo_trigger_path(
        emulator.DEMO_VM,
        subscription=emu.subscription,
        resource_group=emu.resource_group,
        vault=emu.vault,
    )
    source = session.vault_source
    assert isinstance(source, RecoveryServicesSource)
    return _operation_of(session, source.post(trigger), ".../protectedItems/.../backup")


def _trigger_disk(session: Session, emu: EmulatorHandle) -> str:
    """POST an ad-hoc backup of the demo's disk by its policy's rule; its
    Azure-AsyncOperation (``operationStatus``, whose ``jobId`` names the job)."""
    from azbackupjobs import emulator

    trigger = emu.backup_vaults.trigger_path(emulator.DEMO_DISK)
    source = session.vault_source
    assert isinstance(source, BackupVaultSource)
    body = backup_instances.backup_body(
        backup_instances.RuleChoice(emulator.DEMO_DISK_RULE, backup_instances.DEFAULT_RETENTION_TAG)
    )
    return _operation_of(session, source.post(trigger, body), ".../backupInstances/.../backup")


def _operation_of(session: Session, resp: Response, what: str) -> str:
    operation = resp.header("azure-asyncoperation")
    if not operation:
        raise UnexpectedResponseError(
            f"the backup trigger (POST {what}) answered {resp.status} without an "
            "Azure-AsyncOperation header"
        )
    session.out.note(
        f"azjobs demo: POST {what} -> {resp.status}; following its Azure-AsyncOperation to the job"
    )
    return operation


def next_steps() -> str:
    """What to try after the demo: the emulator in one terminal, azjobs in another."""
    from azbackupjobs import emulator

    url = f"http://{emulator.DEFAULT_HOST}:{emulator.DEFAULT_PORT}"
    return "\n".join(
        [
            "",
            "What next:",
            "  1. Serve the emulator (it keeps running until Ctrl-C; --speed 60 makes an hour pass "
            "in a minute):",
            "       azjobs emulator --speed 60",
            "  2. In another terminal, point azjobs at it:",
            f"       export AZJOBS_ENDPOINT={url} AZJOBS_ACCESS_TOKEN={emulator.DEFAULT_TOKEN}",
            f"       export AZURE_SUBSCRIPTION_ID={emulator.DEFAULT_SUBSCRIPTION}",
            f"       export AZJOBS_RESOURCE_GROUP={emulator.DEFAULT_RESOURCE_GROUP} "
            f"AZJOBS_VAULT={emulator.DEFAULT_VAULT}",
            "  3. Try:",
            "       azjobs list --since 24h                 # the vault's jobs, newest first",
            "       azjobs list -v demo-bvault --since 24h  # a Backup vault's jobs",
            "       azjobs watch --all                      # follow every running job live",
            "       JOB=$(azjobs list --status InProgress --query '[0].name' -o tsv)",
            "       azjobs watch $JOB -o ndjson | jq -r .properties.status",
            '       azjobs cancel $JOB --yes --wait; echo "exit $?"   # 7: cancelled',
            "  With a real vault: `az login`, then set AZURE_SUBSCRIPTION_ID, "
            "AZJOBS_RESOURCE_GROUP and AZJOBS_VAULT.",
        ]
    )
