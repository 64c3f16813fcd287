"""The fleet queries: filters pushed down into KQL, no injection through any value, rows read
back as job resources, summaries and their sentence.

Queries are checked with the emulator's KQL parser: a value that could end its string literal
would change the parsed query, so "the literal parses back to the value and the query keeps its
shape" is the no-injection property.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azbackupjobs.emulator import kql
from azbackupjobs.emulator.resource_graph import COLUMNS
from azbackupjobs.model.errors import UnexpectedResponseError, UsageError
from azbackupjobs.model.job import Job
from azbackupjobs.sources import kql as fleet
from azbackupjobs.sources.filters import Window

START = datetime(2024, 5, 1, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(days=1))
GUID = "3b6a1d2c-0000-4000-8000-000000000001"
SUB = "11111111-1111-4111-8111-111111111111"


def parsed(query: str) -> kql.Query:
    tree = kql.parse(query)
    kql.check_columns(tree, COLUMNS)
    return tree


def entity_literals(tree: kql.Query) -> list[Any]:
    found = []
    for stage in tree.stages:
        if (
            isinstance(stage, kql.Where)
            and isinstance(stage.condition, kql.Compare)
            and stage.condition.op == "contains"
        ):
            found.append(stage.condition.right.value)
    return found


def row(
    *,
    status: str = "Completed",
    operation: str = "Backup",
    entity: str = "vm1",
    mtype: str = "AzureIaasVM",
    start: datetime = START + timedelta(hours=1),
    name: str = GUID,
    vault: str = "v1",
) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/"
        f"vaults/{vault}/backupJobs/{name}",
        "name": name,
        "type": fleet.ROW_TYPE,
        "tenantId": "t",
        "kind": "",
        "location": "x",
        "resourceGroup": "rg",
        "subscriptionId": SUB,
        "managedBy": "",
        "sku": None,
        "plan": None,
        "tags": None,
        "identity": None,
        "zones": None,
        "extendedLocation": None,
        "properties": {
            "jobType": "AzureIaaSVMJob",
            "status": status,
            "operation": operation,
            "entityFriendlyName": entity,
            "backupManagementType": mtype,
            "startTime": start.strftime("%Y-%m-%dT%H:%M:%S.1234567Z"),
        },
    }


def names(query: str, rows: list[dict[str, Any]]) -> list[str]:
    return [r["properties"]["entityFriendlyName"] for r in kql.run(parsed(query), rows)]


# ----- the query ------------------------------------------------------------------------------
def test_jobs_query_pushes_every_filter_down() -> None:
    filters = fleet.FleetFilters(
        WINDOW, ("Failed", "InProgress"), "Backup", "AzureWorkload", GUID.upper(), "sql"
    )
    assert fleet.jobs_query(filters) == "\n".join(
        [
            "RecoveryServicesResources",
            # Both kinds of vault: their jobs share the table.
            "| where type in~ ('microsoft.recoveryservices/vaults/backupjobs', "
            "'microsoft.dataprotection/backupvaults/backupjobs')",
            "| extend startTime = todatetime(properties.startTime), status = "
            "tostring(properties.status), operation = tostring(properties.operation), "
            "entity = strcat(tostring(properties.entityFriendlyName), '\\n', "
            "tostring(properties.dataSourceName))",
            "| where startTime >= datetime(2024-05-01T00:00:00Z) and "
            "startTime <= datetime(2024-05-02T00:00:00Z)",
            "| where status in~ ('Failed', 'InProgress', 'Started')",
            "| where operation =~ 'Backup' or operation startswith 'Backup (' or "
            "tostring(properties.operationCategory) =~ 'Backup'",
            "| where tostring(properties.backupManagementType) =~ 'AzureWorkload'",
            f"| where name =~ '{GUID}'",
            "| where entity contains 'sql'",
            "| order by startTime desc, id asc",
            "| project id, name, type, tenantId, location, resourceGroup, subscriptionId, "
            "properties",
        ]
    )


def test_the_filters_select_what_list_selects() -> None:
    rows = [
        row(entity="full", operation="Backup (Full)", mtype="AzureWorkload"),
        row(entity="plain", operation="Backup"),
        row(entity="move", operation="BackupDataMove"),
        row(entity="restore", operation="Restore"),
        row(entity="failed", status="Failed"),
        row(entity="early", start=START - timedelta(seconds=1)),
        row(entity="late", start=START + timedelta(days=1, seconds=1)),
    ]
    assert names(fleet.jobs_query(fleet.FleetFilters(WINDOW, operation="Backup")), rows) == [
        "full",
        "plain",
        "failed",
    ]
    assert names(fleet.jobs_query(fleet.FleetFilters(WINDOW, ("Failed",))), rows) == ["failed"]
    assert names(
        fleet.jobs_query(fleet.FleetFilters(WINDOW, management_type="AzureWorkload")), rows
    ) == ["full"]
    assert names(fleet.jobs_query(fleet.FleetFilters(WINDOW, entity="ULL")), rows) == ["full"]
    assert len(names(fleet.jobs_query(fleet.FleetFilters(WINDOW)), rows)) == 5


def test_results_come_newest_first_with_ties_by_id() -> None:
    same = START + timedelta(hours=2)
    rows = [
        row(entity="old", name="00000000-0000-4000-8000-000000000003"),
        row(entity="b", start=same, name="00000000-0000-4000-8000-000000000002"),
        row(entity="a", start=same, name="00000000-0000-4000-8000-000000000001"),
    ]
    assert names(fleet.jobs_query(fleet.FleetFilters(WINDOW)), rows) == ["a", "b", "old"]


def test_summary_queries_count_per_vault_and_status() -> None:
    rows = [
        row(vault="v1"),
        row(vault="v1", status="Failed"),
        row(vault="v2"),
        row(vault="v1", name="00000000-0000-4000-8000-000000000009"),
    ]
    result = kql.run(parsed(fleet.summary_query(fleet.FleetFilters(WINDOW), "vault")), rows)
    assert result == [
        {
            "subscriptionId": SUB,
            "resourceGroup": "rg",
            "vault": "v1",
            "status": "Completed",
            "jobs": 2,
        },
        {
            "subscriptionId": SUB,
            "resourceGroup": "rg",
            "vault": "v1",
            "status": "Failed",
            "jobs": 1,
        },
        {
            "subscriptionId": SUB,
            "resourceGroup": "rg",
            "vault": "v2",
            "status": "Completed",
            "jobs": 1,
        },
    ]
    by_op = kql.run(parsed(fleet.summary_query(fleet.FleetFilters(WINDOW), "operation")), rows)
    assert all(r["operation"] == "Backup" for r in by_op)


def test_running_query_adds_recent_ends_and_pending_jobs() -> None:
    filters = fleet.FleetFilters(WINDOW, ("InProgress", "Cancelling"))
    query = fleet.running_query(filters, ended_since=START, pending=[GUID])
    last_where = [s for s in parsed(query).stages if isinstance(s, kql.Where)][-1]
    assert isinstance(last_where.condition, kql.Logic) and last_where.condition.op == "or"
    assert len(last_where.condition.items) == 3
    assert "status in~" not in query.split("| where (")[0]  # only inside the "or"
    with pytest.raises(UsageError):
        fleet.running_query(filters, ended_since=None, pending=["x' or 1==1"])


# ----- no injection ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "o'brien",
        "back\\slash",
        "ends with \\",
        "\\'",
        "' or 1 == 1 or name =~ '",
        "x' | take 1 | where name =~ 'y",
        '"double"',
        "´`‘’“”",
        "vm | summarize",
        "a//b",
        "datetime(2024-01-01)",
        "üñíçødé 数据库",
        "\\\\'\\\\'",
    ],
)
def test_entity_text_stays_one_literal(text: str) -> None:
    query = fleet.jobs_query(fleet.FleetFilters(WINDOW, entity=text))
    tree = parsed(query)
    assert entity_literals(tree) == [text]
    assert len(tree.stages) == len(
        parsed(fleet.jobs_query(fleet.FleetFilters(WINDOW, entity="x"))).stages
    )
    assert names(query, [row(entity=f"pre {text} post"), row(entity="other")]) == [
        f"pre {text} post"
    ]


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=60,
    )
)
def test_any_entity_text_round_trips(text: str) -> None:
    tree = parsed(fleet.jobs_query(fleet.FleetFilters(WINDOW, entity=text)))
    assert entity_literals(tree) == [text]


@pytest.mark.parametrize(
    "text", ["a\nb", "a\rb", "tab\there", "nul\x00", "bell\x07", "del\x7f", "line\u2028sep"]
)
def test_control_characters_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="control characters"):
        fleet.validate_entity(text)


def test_kql_string_escapes_backslash_and_quote() -> None:
    assert fleet.kql_string("a'b\\c") == "'a\\'b\\\\c'"
    assert fleet.validate_entity("  vm1 ") == "vm1"
    assert fleet.validate_entity("   ") is None
    with pytest.raises(UsageError, match="256"):
        fleet.validate_entity("x" * 257)


def test_enum_values_and_ids_are_checked_before_they_reach_the_query() -> None:
    with pytest.raises(UsageError, match="--job-id"):
        fleet.jobs_query(fleet.FleetFilters(WINDOW, job_id="' or 1==1"))


# ----- scope and options ---------------------------------------------------------------------
def test_scope() -> None:
    other = "22222222-2222-4222-8222-222222222222"
    assert fleet.parse_scope(None, None) == fleet.Scope()
    assert fleet.parse_scope([f"{SUB.upper()},{other}", SUB], None).subscriptions == (SUB, other)
    assert fleet.parse_scope(None, " mg-prod ").management_groups == ("mg-prod",)
    assert fleet.Scope().describe == "every subscription the credential can read"
    assert fleet.Scope((SUB,)).describe == "1 subscription"
    for subs, group in (
        ([SUB], "mg"),
        (["nope"], None),
        ([" , "], None),
        (None, "bad mg"),
        (None, "x" * 91),
        (None, "mg'"),
    ):
        with pytest.raises(UsageError):
            fleet.parse_scope(subs, group)


def test_by_choices() -> None:
    assert fleet.normalize_by(" Vault ") == "vault"
    with pytest.raises(UsageError, match="vault, status, operation"):
        fleet.normalize_by("region")


# ----- rows ------------------------------------------------------------------------------------
def test_rows_become_the_job_resource_of_azjobs_list() -> None:
    raw = row(status="Failed")
    job = fleet.row_to_job(raw)
    assert job == {
        "id": raw["id"],
        "name": GUID,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": raw["properties"],
    }
    parsed_job = Job.from_dict(job)
    assert parsed_job.job_id == GUID and parsed_job.status.value == "Failed"
    assert fleet.vault_of(job) == (SUB, "rg", "v1")
    nameless = dict(raw, name=None)
    assert fleet.row_to_job(nameless)["name"] == GUID
    bads: tuple[object, ...] = ([], {"id": "x"}, {"properties": {}}, {"id": 5, "properties": {}})
    for bad in bads:
        with pytest.raises(UnexpectedResponseError):
            fleet.row_to_job(bad)


# ----- summaries -------------------------------------------------------------------------------
COUNTS = [
    fleet.Count(SUB, "rg", "v1", "Completed", 5, "Backup"),
    fleet.Count(SUB, "rg", "v1", "Failed", 2, "Backup"),
    fleet.Count(SUB, "rg", "v2", "Failed", 1, "Backup (Full)"),
    fleet.Count(SUB, "rg", "v3", "InProgress", 4, "Restore"),
]


def test_summaries() -> None:
    assert fleet.summarize(COUNTS, "status") == [
        {"status": "InProgress", "jobs": 4, "vaults": 1},
        {"status": "Completed", "jobs": 5, "vaults": 1},
        {"status": "Failed", "jobs": 3, "vaults": 2},
    ]
    by_vault = fleet.summarize(COUNTS, "vault")
    assert [(r["vault"], r["jobs"], r["statuses"]) for r in by_vault] == [
        ("v1", 7, {"Completed": 5, "Failed": 2}),
        ("v2", 1, {"Failed": 1}),
        ("v3", 4, {"InProgress": 4}),
    ]
    by_op = fleet.summarize(COUNTS, "operation")
    assert [(r["operation"], r["jobs"], r["vaults"]) for r in by_op] == [
        ("Backup", 7, 1),
        ("Backup (Full)", 1, 1),
        ("Restore", 4, 1),
    ]


def test_read_count() -> None:
    count = fleet.read_count(
        {"subscriptionId": SUB, "resourceGroup": "rg", "vault": "v", "status": "Failed", "jobs": 3}
    )
    assert count.jobs == 3 and count.operation is None
    bads: tuple[object, ...] = ({"jobs": "3"}, {"jobs": -1}, {"jobs": True}, [])
    for bad in bads:
        with pytest.raises(UnexpectedResponseError):
            fleet.read_count(bad)


def test_sentence() -> None:
    last_day = fleet.window_phrase(Window(START, START + timedelta(hours=24)), until_now=True)
    assert last_day == "in the last 24 h"
    assert fleet.sentence(COUNTS, window=last_day, operation="Backup") == (
        "3 failed backups in 2 vaults in the last 24 h (12 backups in 3 vaults in all)"
    )
    assert fleet.sentence(COUNTS[:1], window=last_day) == (
        "5 jobs in 1 vault in the last 24 h, none failed"
    )
    assert fleet.sentence(COUNTS[3:], window=last_day, statuses=["InProgress"]) == (
        "4 jobs in progress in 1 vault in the last 24 h"
    )
    assert fleet.sentence([], window=last_day, operation="Restore") == (
        "no restores in the last 24 h"
    )
    week = Window(START, START + timedelta(days=7))
    assert fleet.window_phrase(week, until_now=True) == "in the last 7 days"
    assert (
        fleet.window_phrase(Window(START, START + timedelta(minutes=90)), until_now=True)
        == "in the last 90 min"
    )
    assert fleet.window_phrase(week, until_now=False) == (
        "from 2024-05-01 00:00 to 2024-05-08 00:00 UTC"
    )
