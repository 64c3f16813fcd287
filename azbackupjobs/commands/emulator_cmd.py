"""``azjobs emulator``: serve the built-in emulator until Ctrl-C.

The emulator package is imported only here (and by ``demo``): no other command pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO, cast

from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.view.output import Environment


@dataclass(frozen=True)
class EmulatorOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    speed: float = 1.0
    seed: int | None = None
    faults: float = 0.0
    fault_kinds: str | None = None
    page_size: int = 20
    tls: bool = False
    state: str | None = None
    token: str | None = None
    allow_remote: bool = False
    empty: bool = False
    log: bool = False


def run(opts: EmulatorOptions, env: Environment) -> int:
    from azbackupjobs import emulator

    if not 0 <= opts.port <= 65535:
        raise UsageError(f"--port {opts.port} is not a TCP port (0-65535)")
    try:
        return emulator.serve(
            host=opts.host,
            port=opts.port,
            speed=opts.speed,
            seed=opts.seed,
            faults=opts.faults,
            fault_kinds=opts.fault_kinds,
            page_size=opts.page_size,
            tls=opts.tls,
            state_file=opts.state,
            token=opts.token,
            allow_remote=opts.allow_remote,
            seed_data=not opts.empty,
            log=opts.log,
            out=cast(TextIO, env.stdout),
            err=cast(TextIO, env.stderr),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return int(ExitCode.OK)
