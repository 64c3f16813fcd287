"""``az backup job show`` against ``azjobs get``, both over https on the emulator.

azure-cli is installed once into its own virtual environment under the bench home
(``~/.cache/azjobs-bench/azure-cli``). The az CLI is pointed at the emulator without any login:
a cloud registered with the emulator's URL as its ARM and AD endpoints (endpoint discovery is
skipped: az 2.91 reads the list form of the metadata document as a single cloud and fails), and a
profile that holds one managed-identity account, whose token az fetches from the emulator's
App Service identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER). az decodes that token as a JWT,
so the emulator is started with an unsigned JWT as its token.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from typing import TYPE_CHECKING, Any

from tests.bench.timing import Cmd, Row, interleaved

if TYPE_CHECKING:
    from tests.bench.run import Bench

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLOUD = "AzJobsBenchEmulator"


def _jwt() -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"tid": TENANT, "oid": "11111111-2222-3333-4444-555555555555",
              "appid": "33333333-2222-3333-4444-555555555555", "exp": int(time.time()) + 86400,
              "aud": "https://management.azure.com/", "iss": f"https://sts.windows.net/{TENANT}/"}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def bench_az(b: Bench) -> None:
    from tests.bench.run import emulator, ratio_row, venv_with

    python = venv_with(b, "azure-cli", ["azure-cli"])
    if python is None:
        from tests.bench.run import BENCH_HOME

        b.skip("az", "az backup job show", "azure-cli could not be installed into "
               f"{BENCH_HOME / 'azure-cli'} (needs PyPI; run without --no-install)")
        return
    az = python.parent / "az"
    try:
        import cryptography  # noqa: F401 - the emulator's TLS needs it
    except ImportError:
        b.skip("az", "az backup job show", "the emulator needs 'cryptography' for https "
               "(pip install -e '.[tls]')")
        return
    config = b.work / "az-config"
    config.mkdir(exist_ok=True)
    with emulator(tls=True, speed=1e-6, seed=3, token=_jwt()) as emu:
        job = emu.add_job(entity="vm-az", outcome="Completed", start_offset=-3600)
        env = b.env(**emu.env(), **emu.sdk_env(), AZURE_CONFIG_DIR=str(config),
                    AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_ONLY_SHOW_ERRORS="yes",
                    AZURE_CORE_NO_COLOR="yes", AZURE_CORE_SURVEY_MESSAGE="no")
        env.pop("ARM_CLOUD_METADATA_URL", None)
        url = emu.url
        setup = [
            [str(az), "cloud", "register", "-n", CLOUD, "--skip-endpoint-discovery",
             "--endpoint-resource-manager", url + "/", "--endpoint-active-directory", url,
             "--endpoint-active-directory-resource-id", url + "/",
             "--endpoint-management", url + "/",
             "--endpoint-active-directory-graph-resource-id", url + "/"],
            [str(az), "cloud", "set", "-n", CLOUD],
        ]
        for argv in setup:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300,
                                  check=False)
            if done.returncode != 0:
                b.skip("az", "az backup job show", f"`az {' '.join(argv[1:3])}` failed: "
                       f"{done.stderr.strip().splitlines()[-1:]}")
                return
        (config / "azureProfile.json").write_text(json.dumps({
            "installationId": "00000000-0000-0000-0000-00000000a2b5",
            "subscriptions": [{
                "id": emu.subscription, "name": "emulator", "state": "Enabled",
                "user": {"name": "systemAssignedIdentity", "type": "servicePrincipal",
                         "assignedIdentityInfo": "MSI"},
                "isDefault": True, "tenantId": TENANT, "homeTenantId": TENANT,
                "environmentName": CLOUD, "managedByTenants": [],
            }],
        }))
        az_show = [str(az), "backup", "job", "show", "--name", job, "-g", emu.resource_group,
                   "-v", emu.vault, "-o", "json"]
        check = subprocess.run(az_show, env=env, capture_output=True, text=True, timeout=300,
                               check=False)
        if check.returncode != 0 or job not in check.stdout:
            b.skip("az", "az backup job show", "az could not read the job from the emulator: "
                   f"{(check.stderr.strip().splitlines() or ['?'])[-1][:200]}")
            return
        mi_env = {k: v for k, v in env.items() if k != "AZJOBS_ACCESS_TOKEN"}
        samples = interleaved({
            "az backup job show": Cmd(az_show, env),
            "azjobs get": Cmd([*b.azjobs, "get", job, "-o", "json"], env),
            "azjobs get --auth managed-identity": Cmd(
                [*b.azjobs, "get", job, "-o", "json", "--auth", "managed-identity"], mi_env),
        }, max(b.runs // 2, 5))
    b.add(ratio_row("az", "get -o json vs az backup job show -o json (https)", samples,
                    "azjobs get", "az backup job show", 0.4,
                    "AZJOBS_ACCESS_TOKEN; az signs in with the managed identity"))
    b.add(ratio_row("az", "get --auth managed-identity vs az (https)", samples,
                    "azjobs get --auth managed-identity", "az backup job show", 0.4,
                    "both sign in with the managed identity; azjobs reuses its cached token"))
    b.add(Row("az", "az backup job show", f"{samples['az backup job show'].wall_ms:.0f} ms",
              note="azure-cli " + _az_version(az, env)))


def _az_version(az: Any, env: dict[str, str]) -> str:
    done = subprocess.run([str(az), "version", "-o", "json"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    try:
        return str(json.loads(done.stdout)["azure-cli"])
    except (ValueError, KeyError, TypeError):
        return "?"
