"""Job references of both kinds of vault and of cross-region restore jobs: what each names, and
what is refused (exit 2, one line, before any request)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from azbackupjobs.commands import common, get
from azbackupjobs.model import ids
from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.model.kinds import VaultKind
from tests.harness import fake_environment

FIXTURES = Path(__file__).parent / "fixtures"
SUB = "00000000-0000-0000-0000-000000000000"
JOB = "f8d7a20d-7953-4e5f-ac00-13e16fd6c466"
DP_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/clitest-dpp-rg/providers/"
    f"Microsoft.DataProtection/backupVaults/clitest-bkp-vault-donotdelete/backupJobs/{JOB}"
)
RS_CRR = (
    f"/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/locations/eastus2euap"
    f"/backupJobs/{JOB}"
)
DP_CRR = (
    f"/subscriptions/{SUB}/resourceGroups/clitest-dpp-rg/providers/Microsoft.DataProtection"
    f"/locations/centraluseuap/backupJobs/{JOB}"
)
BACKUP_REF = ids.JobRef(
    JOB, SUB, "clitest-dpp-rg", "clitest-bkp-vault-donotdelete", VaultKind.BACKUP
)


def load(rel: str) -> Any:
    return json.loads((FIXTURES / rel).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "value",
    [
        DP_PATH,
        DP_PATH + "/",
        f"  {DP_PATH}\n",
        DP_PATH.replace("backupVaults", "BackupVaults"),  # cross-region restore fetches
        DP_PATH.replace("backupVaults", "Backupvaults"),  # the spec examples
        DP_PATH.replace(
            "Microsoft.DataProtection/backupVaults", "microsoft.dataprotection/backupvaults"
        ),
        DP_PATH.replace("/subscriptions/", "/Subscriptions/").replace("backupJobs", "BACKUPJOBS"),
        DP_PATH.replace(JOB, JOB.upper()),
    ],
)
def test_backup_vault_job_ids_in_every_casing(value: str) -> None:
    assert ids.parse_job_ref(value) == BACKUP_REF


def _job_ids(folder: str) -> list[str]:
    found: list[str] = []
    for path in sorted((FIXTURES / folder).glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        items = body.get("value") or body.get("data") or [body]
        found.extend(
            i["id"]
            for i in items
            if isinstance(i.get("properties"), dict)
            and ("jobType" in i["properties"] or "dataSourceType" in i["properties"])
        )
    return found


def test_every_recorded_backup_vault_job_id_names_its_kind() -> None:
    found = _job_ids("dataprotection/recorded")
    assert len(found) >= 200
    for job_id in found:
        ref = ids.parse_job_ref(job_id)
        assert ref.vault_kind is VaultKind.BACKUP and not ref.secondary, job_id
        assert ref.job_id == job_id.rsplit("/", 1)[1].lower()
        assert ref.vault is not None and ref.vault.lower() in job_id.lower()


def test_every_recorded_recovery_services_job_id_names_its_kind() -> None:
    # 2016 recordings include a test stamp's provider (Microsoft.RecoveryServicesBVTD): not ARM's.
    found = [i for i in _job_ids("recorded") if "/microsoft.recoveryservices/" in i.lower()]
    assert len(found) >= 80
    secondary = 0
    for job_id in found:
        ref = ids.parse_job_ref(job_id)
        assert ref.vault_kind is VaultKind.RECOVERY_SERVICES, job_id
        if "/locations/" in job_id:  # the cross-region restore jobs of crr_*.json
            secondary += 1
            assert ref.secondary and ref.region == "eastus2euap"
            assert (ref.resource_group, ref.vault) == (None, None)
        else:
            assert not ref.secondary and ref.region is None and ref.vault is not None
    assert secondary >= 3


def test_a_recovery_services_cross_region_restore_job_names_its_region() -> None:
    job = load("recorded/crr_iaasvm_completed.json")
    assert job["id"].startswith(
        f"/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/locations/"
    )
    ref = ids.parse_job_ref(
        RS_CRR.replace("locations", "Locations").replace("eastus2euap", "EastUS2EUAP")
    )
    assert ref == ids.JobRef(
        JOB, SUB, vault_kind=VaultKind.RECOVERY_SERVICES, region="eastus2euap", secondary=True
    )


def test_a_backup_vault_cross_region_restore_job_names_its_region() -> None:
    ref = ids.parse_job_ref(DP_CRR)
    assert ref == ids.JobRef(
        JOB, SUB, "clitest-dpp-rg", None, VaultKind.BACKUP, "centraluseuap", secondary=True
    )
    without_group = ids.parse_job_ref(DP_CRR.replace("/resourceGroups/clitest-dpp-rg", ""))
    assert without_group.resource_group is None and without_group.secondary
    # The jobs the secondary region returns carry their vault's id (as recorded): the vault,
    # not the id, says where they are read, so they parse as the vault's jobs.
    fetched = load("dataprotection/recorded/crr_fetchCrossRegionRestoreJob.json")
    assert ids.parse_job_ref(fetched["id"]).vault == "clitest-bkp-vault-crr-donotdelete"


def test_a_bare_guid_names_no_kind() -> None:
    ref = ids.parse_job_ref(JOB)
    assert (ref.vault_kind, ref.region, ref.secondary) == (None, None, False)


BAD_REFS = [
    DP_PATH.replace("clitest-bkp-vault-donotdelete", ".."),
    DP_PATH.replace("clitest-bkp-vault-donotdelete", "vault%2f.."),
    DP_PATH.replace("clitest-bkp-vault-donotdelete", "my vault"),
    DP_PATH.replace("clitest-bkp-vault-donotdelete", "clitest-bkp-vault-donotdelete\n"),
    DP_PATH.replace("clitest-dpp-rg", "rg?x"),
    DP_PATH.replace(SUB, "not-a-subscription"),
    DP_PATH.replace(JOB, "not-a-guid"),
    DP_PATH.replace(JOB, JOB + "?x=1"),
    DP_PATH.replace("/backupJobs/", "/backupInstances/"),
    DP_PATH.replace("backupVaults", "vaults"),
    DP_PATH.replace("Microsoft.DataProtection", "Microsoft.RecoveryServices"),
    DP_PATH + "/cancel",
    RS_CRR.replace("eastus2euap", "east us"),
    RS_CRR.replace("eastus2euap", ".."),
    RS_CRR.replace("eastus2euap", "eastus%2f"),
    RS_CRR.replace("eastus2euap", "2east"),
    RS_CRR.replace("eastus2euap", ""),
    RS_CRR.replace("eastus2euap", "eastus\n"),
    RS_CRR.replace(JOB, "not-a-guid"),
    RS_CRR.replace("locations/eastus2euap/", ""),
    RS_CRR.replace("Microsoft.RecoveryServices", "Microsoft.Compute"),
    DP_CRR.replace("clitest-dpp-rg", "rg%2e"),
    DP_CRR.replace("/backupJobs/", "/vaults/v/backupJobs/"),
]


@pytest.mark.parametrize("value", BAD_REFS)
def test_bad_references_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError) as info:
        ids.parse_job_ref(value)
    assert info.value.exit_code == ExitCode.USAGE
    assert "\n" not in info.value.message and len(info.value.message) < 400


@pytest.mark.parametrize("name", ["eastus", "EastUS2EUAP", "usgovvirginia", "chinanorth3"])
def test_region_names_are_lowered(name: str) -> None:
    assert ids.validate_region(name) == name.lower()


@pytest.mark.parametrize("name", ["", "e", "east us", "east-us", "1east", "eastus\n", "a" * 51])
def test_bad_region_names(name: str) -> None:
    with pytest.raises(UsageError):
        ids.validate_region(name)


# ----- the commands refuse what no source reads yet ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "needle"),
    [(RS_CRR, "cross-region restore"), (DP_CRR, "cross-region restore")],
)
def test_commands_refuse_jobs_they_cannot_read_before_any_request(value: str, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        common.job_ref(value)
    assert needle in info.value.message and info.value.exit_code == ExitCode.USAGE
    env = fake_environment({"AZJOBS_ACCESS_TOKEN": "t", "AZURE_SUBSCRIPTION_ID": SUB})
    with responses.RequestsMock() as mocked, pytest.raises(UsageError):
        get.run(get.GetOptions(job=value, output="json"), env)
    assert len(mocked.calls) == 0


def test_commands_take_backup_vault_jobs_by_their_id() -> None:
    assert common.job_ref(DP_PATH).vault_kind is VaultKind.BACKUP


def test_commands_take_recovery_services_jobs_as_before() -> None:
    path = DP_PATH.replace("DataProtection/backupVaults", "RecoveryServices/vaults")
    assert common.job_ref(path).vault_kind is VaultKind.RECOVERY_SERVICES
    assert common.job_ref(JOB) == ids.JobRef(JOB)
