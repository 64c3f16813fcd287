"""Job references and the names that go into URL paths: what is accepted, and what is refused."""

from __future__ import annotations

import pytest

from azbackupjobs.model import ids
from azbackupjobs.model.errors import ExitCode, UsageError
from azbackupjobs.model.kinds import VaultKind

SUB = "00000000-0000-0000-0000-000000000000"
JOB = "73e47398-73a0-45fb-b56b-9997e6d84229"
PATH = (
    f"/subscriptions/{SUB}/resourceGroups/clitest.rg000001/providers/"
    f"Microsoft.RecoveryServices/vaults/clitest-vault000002/backupJobs/{JOB}"
)


@pytest.mark.parametrize(
    "value", [JOB, JOB.upper(), f"  {JOB}\n", "ABCDEF01-2345-6789-abcd-ef0123456789"]
)
def test_job_guids(value: str) -> None:
    ref = ids.parse_job_ref(value)
    assert ref.job_id == value.strip().lower()
    assert (ref.subscription, ref.resource_group, ref.vault) == (None, None, None)


@pytest.mark.parametrize(
    "value",
    [
        PATH,
        PATH + "/",
        PATH.replace("/subscriptions/", "/Subscriptions/"),
        PATH.replace("Microsoft.RecoveryServices", "microsoft.recoveryservices"),
        PATH.replace("resourceGroups", "resourcegroups").replace("backupJobs", "BACKUPJOBS"),
        PATH.upper()
        .replace(SUB.upper(), SUB)
        .replace("CLITEST.RG000001", "clitest.rg000001")
        .replace("CLITEST-VAULT000002", "clitest-vault000002"),
        f"  {PATH}  ",
    ],
)
def test_job_arm_ids_in_every_casing(value: str) -> None:
    ref = ids.parse_job_ref(value)
    assert ref == ids.JobRef(
        JOB, SUB, "clitest.rg000001", "clitest-vault000002", VaultKind.RECOVERY_SERVICES
    )


def test_names_from_an_arm_id_keep_their_case() -> None:
    ref = ids.parse_job_ref(
        PATH.replace("clitest-vault000002", "MyVault").replace("clitest.rg000001", "My-RG(1)")
    )
    assert (ref.resource_group, ref.vault) == ("My-RG(1)", "MyVault")


BAD_REFS = [
    "",
    " ",
    "not-a-guid",
    JOB[:-1],
    JOB + "0",
    JOB.replace("-", ""),
    "{" + JOB + "}",
    f"../{JOB}",
    f"{JOB}/../x",
    f"{JOB}?api-version=1",
    f"{JOB}#x",
    f"{JOB}%2e",
    "%2e%2e%2f" + JOB,
    f"{JOB} x",
    f"'{JOB}'",
    f'"{JOB}"',
    f"{JOB}\x00",
    f"{JOB}\u202e",
    PATH.replace(JOB, "../" + JOB),
    PATH.replace(JOB, JOB + "?x=1"),
    PATH.replace(JOB, JOB + "#frag"),
    PATH.replace(JOB, "not-a-guid"),
    PATH.replace("clitest-vault000002", "vault%2f.."),
    PATH.replace("clitest-vault000002", ".."),
    PATH.replace("clitest-vault000002", "my vault"),
    PATH.replace("clitest-vault000002", "v'1"),
    PATH.replace("clitest.rg000001", ".."),
    PATH.replace("clitest.rg000001", "rg?x"),
    PATH.replace("clitest.rg000001", "rg%2e"),
    PATH.replace("clitest.rg000001", 'r"g'),
    PATH.replace(SUB, "not-a-subscription"),
    PATH.replace(SUB, SUB + "\n"),  # "$" would match before a trailing newline
    PATH.replace("clitest.rg000001", "clitest.rg000001\n"),
    PATH.replace("clitest-vault000002", "clitest-vault000002\n"),
    PATH + "/cancel",
    PATH + "//",
    "/" + PATH,
    PATH.replace("/backupJobs/", "/backupPolicies/"),
    PATH.replace("Microsoft.RecoveryServices", "Microsoft.DataProtection"),
    # A cross-region restore job's id names its region and no vault (see test_ids_backup_vault).
    f"/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/locations/eastus/vaults/v"
    f"/backupJobs/{JOB}",
    f"https://management.azure.com{PATH}",
]


@pytest.mark.parametrize("value", BAD_REFS)
def test_bad_references_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError) as info:
        ids.parse_job_ref(value)
    exc = info.value
    assert exc.exit_code == ExitCode.USAGE and int(ExitCode.USAGE) == 2
    assert "\n" not in exc.message and "\x00" not in exc.message and "\u202e" not in exc.message


def test_error_echo_is_printable_and_short() -> None:
    with pytest.raises(UsageError) as info:
        ids.parse_job_ref("\x1b[31m" + "x" * 500)
    assert "\x1b" not in info.value.message
    assert len(info.value.message) < 260


@pytest.mark.parametrize("name", ["rg", "a", "My-RG_1.(x)", "r" * 90, "grüppe", "rg.(1)"])
def test_resource_group_names(name: str) -> None:
    assert ids.validate_resource_group(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "rg.", ".", "..", "r" * 91, "rg/x", "rg x", "rg?", "rg#", "rg%2e", "rg\n", "rg'", "rg\\x"],
)
def test_bad_resource_group_names(name: str) -> None:
    with pytest.raises(UsageError):
        ids.validate_resource_group(name)


@pytest.mark.parametrize("name", ["v1", "My-Vault", "a" + "b" * 49])
def test_vault_names(name: str) -> None:
    assert ids.validate_vault(name) == name


@pytest.mark.parametrize(
    "name",
    ["v", "1vault", "-vault", "vault_1", "vault.1", "a" * 51, "vault\n", "vault/..", "väult", ""],
)
def test_bad_vault_names(name: str) -> None:
    with pytest.raises(UsageError):
        ids.validate_vault(name)


def test_subscription_ids_are_lowered() -> None:
    assert ids.validate_subscription(SUB.replace("0", "A")[:8] + SUB[8:]) == "aaaaaaaa" + SUB[8:]
    with pytest.raises(UsageError) as info:
        ids.validate_subscription("my-subscription")
    assert "subscription id" in info.value.message


def test_vault_of_id() -> None:
    assert ids.vault_of_id(PATH) == (SUB, "clitest.rg000001", "clitest-vault000002")
    assert ids.vault_of_id(PATH.replace("/subscriptions/", "/Subscriptions/")) is not None
    assert ids.vault_of_id("/subscriptions/x/resourceGroups/y") is None
    assert ids.vault_of_id("") is None
