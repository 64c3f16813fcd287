"""Run by test_cross_region_sdk.py in a separate environment that has the passive-stamp client.

azure-mgmt-recoveryservicesbackup shipped ``passivestamp`` (the cross-region-restore client)
up to 9.x; the project's own test environment has a newer release without it, so this script
runs under the Python named by AZJOBS_PASSIVESTAMP_PYTHON. It lists the CRR jobs of a vault in
its paired region (following nextLink), reads one of them, and prints what it saw as JSON.

Usage: python passivestamp_probe.py URL TOKEN SUBSCRIPTION VAULT_ID REGION CA_BUNDLE [FILTER]
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


class Credential:
    """Hands out the emulator's token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)


def main(argv: list[str]) -> int:
    from azure.mgmt.recoveryservicesbackup.passivestamp import (
        RecoveryServicesBackupPassiveClient,
    )
    from azure.mgmt.recoveryservicesbackup.passivestamp.models import CrrJobRequest

    url, token, subscription, vault_id, region, ca_bundle = argv[:6]
    flt = argv[6] if len(argv) > 6 else None
    client = RecoveryServicesBackupPassiveClient(
        Credential(token),
        subscription,
        base_url=url,
        credential_scopes=[url + "/.default"],
        connection_verify=ca_bundle,
        retry_total=0,
    )
    jobs = list(
        client.backup_crr_jobs.list(region, CrrJobRequest(resource_id=vault_id), filter=flt)
    )
    detail = None
    if jobs:
        one = client.backup_crr_job_details.get(
            region, CrrJobRequest(resource_id=vault_id, job_name=jobs[0].name)
        )
        detail = {
            "name": one.name,
            "id": one.id,
            "kind": type(one.properties).__name__,
            "status": one.properties.status,
            "operation": one.properties.operation,
            "tasks": [t.task_id for t in one.properties.extended_info.tasks_list],
        }
    print(
        json.dumps(
            {
                "jobs": [
                    {
                        "name": j.name,
                        "id": j.id,
                        "kind": type(j.properties).__name__,
                        "status": j.properties.status,
                        "operation": j.properties.operation,
                    }
                    for j in jobs
                ],
                "detail": detail,
                "api_version": client._config.api_version,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
