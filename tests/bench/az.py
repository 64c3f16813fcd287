"""``az backup job show`` against ``azjobs get``, both over https on the emulator.

azure-cli is installed once into its own virtual environment under the bench home
(``~/.cache/azjobs-bench/azure-cli``). The az CLI is pointed at the emulator the way the README
says: a cloud registered from the emulator's metadata document, then ``az login --identity``
against its App Service identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER).
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from tests.bench.timing import Cmd, Row, interleaved

if TYPE_CHECKING:
    from tests.bench.run import Bench

CLOUD = "AzJobsBenchEmulator"


def bench_az(b: Bench) -> None:
    from tests.bench.run import emulator, ratio_row, venv_with

    python = venv_with(b, "azure-cli", ["azure-cli"])
    if python is None:
        from tests.bench.run import BENCH_HOME

        b.skip(
            "az",
            "az backup job show",
            "azure-cli could not be installed into "
            f"{BENCH_HOME / 'azure-cli'} (needs PyPI; run without --no-install)",
        )
        return
    az = python.parent / "az"
    try:
        import cryptography  # noqa: F401 - the emulator's TLS needs it
    except ImportError:
        b.skip(
            "az",
            "az backup job show",
            "the emulator needs 'cryptography' for https (pip install -e '.[tls]')",
        )
        return
    config = b.work / "az-config"
    config.mkdir(exist_ok=True)
    with emulator(tls=True, speed=1e-6, seed=3) as emu:
        job = emu.add_job(entity="vm-az", outcome="Completed", start_offset=-3600)
        env = b.env(
            **emu.env(),
            **emu.sdk_env(),
            AZURE_CONFIG_DIR=str(config),
            AZURE_CORE_COLLECT_TELEMETRY="no",
            AZURE_CORE_ONLY_SHOW_ERRORS="yes",
            AZURE_CORE_NO_COLOR="yes",
            AZURE_CORE_SURVEY_MESSAGE="no",
        )
        # The cloud is registered instead (az would fetch this URL with its own trust store).
        env.pop("ARM_CLOUD_METADATA_URL", None)
        setup = [
            [str(az), "cloud", "register", "-n", CLOUD, "--endpoint-resource-manager", emu.url],
            [str(az), "cloud", "set", "-n", CLOUD],
            [str(az), "login", "--identity", "-o", "none"],
        ]
        for argv in setup:
            done = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=300, check=False
            )
            if done.returncode != 0:
                b.skip(
                    "az",
                    "az backup job show",
                    f"`az {' '.join(argv[1:3])}` failed: {done.stderr.strip().splitlines()[-1:]}",
                )
                return
        az_show = [
            str(az),
            "backup",
            "job",
            "show",
            "--name",
            job,
            "-g",
            emu.resource_group,
            "-v",
            emu.vault,
            "-o",
            "json",
        ]
        check = subprocess.run(
            az_show, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if check.returncode != 0 or job not in check.stdout:
            b.skip(
                "az",
                "az backup job show",
                "az could not read the job from the emulator: "
                f"{(check.stderr.strip().splitlines() or ['?'])[-1][:200]}",
            )
            return
        mi_env = {k: v for k, v in env.items() if k != "AZJOBS_ACCESS_TOKEN"}
        samples = interleaved(
            {
                "az backup job show": Cmd(az_show, env),
                "azjobs get": Cmd([*b.azjobs, "get", job, "-o", "json"], env),
                "azjobs get --auth managed-identity": Cmd(
                    [*b.azjobs, "get", job, "-o", "json", "--auth", "managed-identity"], mi_env
                ),
            },
            max(b.runs // 2, 5),
        )
    b.add(
        ratio_row(
            "az",
            "get -o json vs az backup job show -o json (https)",
            samples,
            "azjobs get",
            "az backup job show",
            0.4,
            "AZJOBS_ACCESS_TOKEN; az signs in with the managed identity",
        )
    )
    b.add(
        ratio_row(
            "az",
            "get --auth managed-identity vs az (https)",
            samples,
            "azjobs get --auth managed-identity",
            "az backup job show",
            0.4,
            "both sign in with the managed identity; azjobs reuses its cached token",
        )
    )
    b.add(
        Row(
            "az",
            "az backup job show",
            f"{samples['az backup job show'].wall_ms:.0f} ms",
            note="azure-cli " + _az_version(az, env),
        )
    )


def _az_version(az: Any, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(az), "version", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        return str(json.loads(done.stdout)["azure-cli"])
    except (ValueError, KeyError, TypeError):
        return "?"
