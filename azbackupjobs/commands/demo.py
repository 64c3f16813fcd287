"""``azjobs demo``: a simulated backup, end to end, with no Azure account and no network.

It starts the emulator in-process on a free loopback port with time sped up, triggers an
on-demand backup of the demo VM through the REST route (``POST .../protectedItems/.../backup``
-> 202 with ``Azure-AsyncOperation``), resolves that operation to its job the way the REST docs
describe, and watches the job with exactly the code of ``azjobs watch`` (so every output form
and exit code is the real thing). Then it says what to try next.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from azbackupjobs.commands.common import CommonOptions, make_output, open_session
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
from azbackupjobs.view.output import Environment

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
        try:
            out.note(
                f"azjobs demo: emulator serving {emu.url} (time runs {speed:g}x faster); "
                f"starting an on-demand backup of {emulator.DEMO_VM}"
            )
            trigger = emulator.demo_trigger_path(
                emulator.DEMO_VM,
                subscription=emu.subscription,
                resource_group=emu.resource_group,
                vault=emu.vault,
            )
            resp = session.vault_source.post(trigger)
            operation = resp.header("azure-asyncoperation")
            if not operation:
                raise UnexpectedResponseError(
                    f"the backup trigger answered {resp.status} without an "
                    "Azure-AsyncOperation header"
                )
            out.note(
                f"azjobs demo: POST .../protectedItems/.../backup -> {resp.status}; "
                "following its Azure-AsyncOperation to the job"
            )
            job_ids = resolve_operation(
                session, operation, interval=opts.interval, sleep=sleep, clock=clock
            )
            out.note(f"azjobs demo: watching job {job_ids[0]} (what `azjobs watch JOB` does)")
            code = watch_jobs(
                session,
                job_ids,
                WatchOptions(interval=opts.interval),
                sleep=sleep,
                clock=clock,
                wall=wall,
            )
        finally:
            session.client.close()
    finally:
        emu.stop()
    out.note(next_steps())
    return code


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
            "       azjobs watch --all                      # follow every running job live",
            "       JOB=$(azjobs list --status InProgress --query '[0].name' -o tsv)",
            "       azjobs watch $JOB -o ndjson | jq -r .properties.status",
            '       azjobs cancel $JOB --yes --wait; echo "exit $?"   # 7: cancelled',
            "  With a real vault: `az login`, then set AZURE_SUBSCRIPTION_ID, "
            "AZJOBS_RESOURCE_GROUP and AZJOBS_VAULT.",
        ]
    )
