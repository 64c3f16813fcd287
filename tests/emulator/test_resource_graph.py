"""The emulator's Azure Resource Graph endpoint: scope, KQL subset, paging, quota, lag, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from azbackupjobs.emulator import EmulatorHandle, kql, start_emulator
from azbackupjobs.emulator.resource_graph import (
    COLUMNS,
    ROW_TYPE,
    Quota,
    format_resets_after,
)

PATH = "/providers/Microsoft.ResourceGraph/resources"
SUB_A = "11111111-1111-4111-8111-111111111111"
SUB_B = "22222222-2222-4222-8222-222222222222"
SHORT = [("Take Snapshot", 30.0)]
JOBS = (
    "RecoveryServicesResources | where type =~ 'microsoft.recoveryservices/vaults/backupjobs'"
    " | order by tostring(properties.startTime) desc, id asc"
)


@pytest.fixture(scope="module")
def fleet() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=21, seed_data=False) as emu:
        emu.add_job(
            entity="a1",
            outcome="Failed",
            start_offset=-3600,
            tasks=SHORT,
            subscription=SUB_A,
            resource_group="RG-A",
            vault="vault-a",
        )
        emu.add_job(
            entity="a2",
            start_offset=-1800,
            tasks=SHORT,
            subscription=SUB_A,
            resource_group="RG-A",
            vault="vault-a",
        )
        emu.add_job(
            entity="a3",
            start_offset=-900,
            tasks=SHORT,
            subscription=SUB_A,
            resource_group="rg-a2",
            vault="vault-a2",
        )
        emu.add_job(
            entity="b1",
            tasks=[("Take Snapshot", 7200)],
            start_offset=-600,
            subscription=SUB_B,
            resource_group="rg-b",
            vault="vault-b",
        )
        emu.add_job(
            entity="b2",
            job_type="AzureWorkloadJob",
            operation="Backup",
            start_offset=-300,
            tasks=SHORT,
            subscription=SUB_B,
            resource_group="rg-b",
            vault="vault-b",
        )
        emu.add_job(
            entity="later",
            start_offset=3600,
            subscription=SUB_B,
            resource_group="rg-b",
            vault="vault-b",
        )
        emu.resource_graph.management_groups["MG-A"] = [SUB_A]
        emu.resource_graph.quota = 1000
        yield emu


def post(
    emu: EmulatorHandle,
    body: Any,
    *,
    api_version: str | None = "2021-03-01",
    token: str | None = None,
) -> requests.Response:
    params = {"api-version": api_version} if api_version else {}
    headers = {"Authorization": f"Bearer {token or emu.token}"}
    return requests.post(emu.url + PATH, params=params, json=body, headers=headers, timeout=10)


def rows(emu: EmulatorHandle, query: str = JOBS, **extra: Any) -> list[dict[str, Any]]:
    resp = post(emu, {"query": query, **extra})
    assert resp.status_code == 200, resp.text
    data: list[dict[str, Any]] = resp.json()["data"]
    return data


def test_rows_span_subscriptions_and_vaults_and_carry_the_job_properties(
    fleet: EmulatorHandle,
) -> None:
    found = rows(fleet)
    assert [r["properties"]["entityFriendlyName"] for r in found] == ["b2", "b1", "a3", "a2", "a1"]
    row = found[-1]
    assert list(row) == list(COLUMNS)
    assert row["type"] == ROW_TYPE and row["subscriptionId"] == SUB_A
    assert row["resourceGroup"] == "rg-a"  # Resource Graph writes groups in lower case
    assert row["id"].endswith(f"/vaults/vault-a/backupJobs/{row['name']}")
    vault_body = fleet.job_body(
        row["name"], detail=False, subscription=SUB_A, resource_group="RG-A", vault="vault-a"
    )
    assert row["properties"] == vault_body["properties"]  # the list shape: no extendedInfo
    assert "extendedInfo" not in row["properties"]


def test_scope_subscriptions_management_groups_and_unknown_ones(fleet: EmulatorHandle) -> None:
    assert {r["subscriptionId"] for r in rows(fleet, subscriptions=[SUB_B])} == {SUB_B}
    assert {r["subscriptionId"] for r in rows(fleet, managementGroups=["mg-a"])} == {SUB_A}
    assert rows(fleet, subscriptions=["33333333-3333-4333-8333-333333333333"]) == []
    resp = post(fleet, {"query": JOBS, "managementGroups": ["nope"]})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "ManagementGroupNotFound"
    resp = post(fleet, {"query": JOBS, "subscriptions": [SUB_A], "managementGroups": ["MG-A"]})
    assert resp.status_code == 400
    resp = post(fleet, {"query": JOBS, "subscriptions": ["not-a-guid"]})
    assert resp.status_code == 400
    assert resp.json()["error"]["details"][0]["code"] == "InvalidSubscriptionId"


def test_filters_extend_summarize_and_order(fleet: EmulatorHandle) -> None:
    query = (
        "RecoveryServicesResources\n"
        "| where type =~ 'microsoft.recoveryservices/vaults/backupjobs'\n"
        "| extend status = tostring(properties.status), vault = tostring(split(id, '/')[8])"
        "\n| where status in~ ('completed', 'FAILED')\n"
        "| summarize jobs = count() by subscriptionId, vault, status\n"
        "| order by vault asc, status asc"
    )
    assert rows(fleet, query) == [
        {"subscriptionId": SUB_A, "vault": "vault-a", "status": "Completed", "jobs": 1},
        {"subscriptionId": SUB_A, "vault": "vault-a", "status": "Failed", "jobs": 1},
        {"subscriptionId": SUB_A, "vault": "vault-a2", "status": "Completed", "jobs": 1},
        {"subscriptionId": SUB_B, "vault": "vault-b", "status": "Completed", "jobs": 1},
    ]
    query = (
        JOBS.split(" | order", maxsplit=1)[0]
        + " | where tostring(properties.entityFriendlyName) contains 'B'"
        + " and (tostring(properties.operation) =~ 'backup'"
        + " or tostring(properties.operation) startswith 'Backup (')"
        + " | project name, entity = tostring(properties.entityFriendlyName)"
        + " | order by entity asc"
    )
    assert [r["entity"] for r in rows(fleet, query)] == ["b1", "b2"]


def test_time_window_and_datetime_values(fleet: EmulatorHandle) -> None:
    now = fleet.now()
    since = now.timestamp() - 1000
    stamp = kql.Moment(since).iso()
    query = (
        JOBS.split(" | order", maxsplit=1)[0]
        + " | extend startTime = todatetime(properties.startTime)"
        + f" | where startTime >= datetime({stamp})"
        + " | order by startTime asc | project name, startTime"
    )
    found = rows(fleet, query)
    assert len(found) == 3  # a3, b1, b2; the job that starts later is not there yet
    assert all(isinstance(r["startTime"], str) and r["startTime"].endswith("Z") for r in found)


def test_paging_with_skip_tokens(fleet: EmulatorHandle) -> None:
    everything = rows(fleet)
    seen: list[dict[str, Any]] = []
    token = None
    requests_sent = 0
    while True:
        options: dict[str, Any] = {"$top": 2}
        if token:
            options["$skipToken"] = token
        resp = post(fleet, {"query": JOBS, "options": options})
        requests_sent += 1
        body = resp.json()
        assert body["totalRecords"] == 5 and body["count"] == len(body["data"])
        assert body["resultTruncated"] == "false"
        seen += body["data"]
        token = body.get("$skipToken")
        if not token:
            break
    assert [r["id"] for r in seen] == [r["id"] for r in everything] and requests_sent == 3
    # the page size can be smaller than $top, as when ARG's answer would be too large
    fleet.resource_graph.page_size = 1
    try:
        assert post(fleet, {"query": JOBS, "options": {"$top": 1000}}).json()["count"] == 1
    finally:
        fleet.resource_graph.page_size = 1000
    # a token of another query, or a made-up one, is refused
    first = post(fleet, {"query": JOBS, "options": {"$top": 2}}).json()["$skipToken"]
    other = post(fleet, {"query": JOBS + " ", "options": {"$skipToken": first}})
    assert other.status_code == 400 and "skipToken" in other.text
    assert post(fleet, {"query": JOBS, "options": {"$skipToken": "xyz"}}).status_code == 400


def test_answers_are_deterministic(fleet: EmulatorHandle) -> None:
    query = JOBS + " | project id, name"
    assert rows(fleet, query) == rows(fleet, query)


def test_table_result_format(fleet: EmulatorHandle) -> None:
    query = JOBS + " | project name, subscriptionId"
    data = post(fleet, {"query": query, "options": {"resultFormat": "table"}}).json()["data"]
    assert [c["name"] for c in data["columns"]] == ["name", "subscriptionId"]
    assert len(data["rows"]) == 5 and len(data["rows"][0]) == 2


@pytest.mark.parametrize(
    ("query", "token"),
    [
        ("RecoveryServicesResources | where foo == 'x'", "foo"),
        ("Resources | where type =~ 'x'", "Resources"),
        ("RecoveryServicesResources | where name matches regex 'x'", "matches"),
        ("RecoveryServicesResources | mv-expand properties", "-"),
        ("RecoveryServicesResources | where name =~ 'unterminated", "'unterminated"),
        ("RecoveryServicesResources | where name =~ 'a\\qb'", "'a\\q"),
        ("RecoveryServicesResources | where parse_json(name) == 1", "parse_json"),
        ("RecoveryServicesResources | where name == 'a'; Resources", ";"),
        ("RecoveryServicesResources // a comment", "/"),
        ("RecoveryServicesResources | summarize n = dcount(id) by name", "dcount"),
    ],
)
def test_queries_outside_the_subset_are_bad_requests(
    fleet: EmulatorHandle, query: str, token: str
) -> None:
    resp = post(fleet, {"query": query})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"].startswith("Please provide below info when asking for support")
    invalid, failure = error["details"]
    assert invalid["code"] == "InvalidQuery"
    assert failure["token"].startswith(token) and failure["line"] == 1
    assert failure["characterPositionInLine"] >= 1
    assert "x-ms-user-quota-remaining" in resp.headers


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"query": ""},
        {"query": 5},
        {"query": JOBS, "options": {"$top": 0}},
        {"query": JOBS, "options": {"$top": 1001}},
        {"query": JOBS, "options": {"$top": "5"}},
        {"query": JOBS, "options": {"resultFormat": "csv"}},
        {"query": JOBS, "options": {"x": 1}},
        {"query": JOBS, "subscriptions": "all"},
        {"query": JOBS, "options": []},
    ],
)
def test_malformed_requests_are_bad_requests(fleet: EmulatorHandle, body: Any) -> None:
    assert post(fleet, body).status_code == 400


def test_auth_method_and_api_version(fleet: EmulatorHandle) -> None:
    assert post(fleet, {"query": JOBS}, token="wrong").status_code == 401
    assert (
        requests.get(
            fleet.url + PATH,
            params={"api-version": "2021-03-01"},
            timeout=10,
            headers={"Authorization": f"Bearer {fleet.token}"},
        ).status_code
        == 405
    )
    missing = post(fleet, {"query": JOBS}, api_version=None)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    wrong = post(fleet, {"query": JOBS}, api_version="2026-10-01")
    assert wrong.status_code == 400
    assert "2021-03-01" in wrong.json()["error"]["message"]
    for version in ("2021-03-01", "2022-10-01", "2024-04-01"):
        assert post(fleet, {"query": JOBS}, api_version=version).status_code == 200


def test_quota_headers_and_throttling() -> None:
    with start_emulator(seed=2, seed_data=False) as emu:
        emu.resource_graph.quota = 2
        emu.resource_graph.window = 60.0
        first = post(emu, {"query": JOBS})
        assert first.headers["x-ms-user-quota-remaining"] == "1"
        assert first.headers["x-ms-user-quota-resets-after"] in {"00:00:59", "00:01:00"}
        assert post(emu, {"query": JOBS}).headers["x-ms-user-quota-remaining"] == "0"
        throttled = post(emu, {"query": JOBS})
        assert throttled.status_code == 429
        assert "Retry-After" not in throttled.headers  # ARG says when in its quota headers
        assert throttled.headers["x-ms-user-quota-remaining"] == "0"
        detail = throttled.json()["error"]["details"][0]
        assert throttled.json()["error"]["code"] == detail["code"] == "RateLimiting"
        emu.resource_graph.reset_quota()
        assert post(emu, {"query": JOBS}).status_code == 200


def test_quota_windows_follow_the_real_clock() -> None:
    now = [100.0]
    quota = Quota(clock=lambda: now[0])
    assert quota.take("me", 2, 5.0) == (True, 1, 5.0)
    assert quota.take("you", 2, 5.0) == (True, 1, 5.0)  # per caller
    now[0] += 1
    assert quota.take("me", 2, 5.0) == (True, 0, 4.0)
    assert quota.take("me", 2, 5.0) == (False, 0, 4.0)
    now[0] += 4
    assert quota.take("me", 2, 5.0) == (True, 1, 5.0)


@pytest.mark.parametrize(
    ("seconds", "window", "text"),
    [
        (5.0, 5.0, "00:00:05"),
        (4.2, 5.0, "00:00:05"),
        (0.0, 5.0, "00:00:00"),
        (3725.0, 7200.0, "01:02:05"),
        (0.25, 0.5, "00:00:00.2500000"),
    ],
)
def test_resets_after_format(seconds: float, window: float, text: str) -> None:
    assert format_resets_after(seconds, window) == text


def test_lag_behind_the_vault_api() -> None:
    with start_emulator(seed=4, seed_data=False) as emu:
        job = emu.add_job(entity="vm", tasks=[("Take Snapshot", 100)], start_offset=-50)
        emu.resource_graph.lag = 120
        assert rows(emu) == []  # started 50 s ago: not in Resource Graph yet
        emu.advance(100)
        assert [r["properties"]["status"] for r in rows(emu)] == ["InProgress"]
        assert emu.job_status(job) == "Completed"  # the vault API already knows
        emu.advance(120)
        assert [r["properties"]["status"] for r in rows(emu)] == ["Completed"]


def test_client_windows_follow_an_emulated_clock_that_runs_ahead() -> None:
    with start_emulator(seed=4, seed_data=False) as emu:
        emu.advance(3 * 86400)
        emu.add_job(entity="vm", start_offset=-60, tasks=SHORT)
        import time

        wall = kql.Moment(time.time() + 1).iso()
        query = (
            JOBS.split(" | order", maxsplit=1)[0]
            + f" | where todatetime(properties.startTime) <= datetime({wall})"
        )
        assert len(rows(emu, query)) == 1  # "until now" means the emulated now


def test_the_pages_of_a_query_come_from_one_evaluation() -> None:
    with start_emulator(seed=6, seed_data=False, speed=1e-6) as emu:
        for n in range(4):
            emu.add_job(entity=f"vm{n}", tasks=SHORT, start_offset=-600 - n)
        first = post(emu, {"query": JOBS, "options": {"$top": 2}}).json()
        emu.add_job(entity="newest", tasks=SHORT, start_offset=-1)  # would shift every page
        second = post(
            emu, {"query": JOBS, "options": {"$top": 2, "$skipToken": first["$skipToken"]}}
        )
        names = [
            r["properties"]["entityFriendlyName"] for r in first["data"] + second.json()["data"]
        ]
        assert names == ["vm0", "vm1", "vm2", "vm3"]
        assert rows(emu)[0]["properties"]["entityFriendlyName"] == "newest"
