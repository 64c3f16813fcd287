"""Resource Graph queries over the shared client (mocked transport): the request, paging with
``$skipToken``, the quota headers, throttling, errors, and the shared client's additions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from azbackupjobs.arm import settings
from azbackupjobs.arm.auth import StaticTokenProvider
from azbackupjobs.arm.client import (
    BackupJobsClient,
    Hooks,
    RetryPolicy,
    parse_retry_after,
    parse_timespan,
)
from azbackupjobs.model.errors import ApiError, AuthError, UnexpectedResponseError, UsageError
from azbackupjobs.sources.kql import Scope
from azbackupjobs.sources.resource_graph import (
    DEFAULT_GRAPH_API_VERSION,
    MAX_SUBSCRIPTIONS,
    ResourceGraphClient,
    graph_api_version,
    page_size_for,
)

ARM = "https://management.azure.com"
URL = f"{ARM}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01"
TOKEN = "secret-token-value"
SUB = "11111111-1111-4111-8111-111111111111"
QUERY = "RecoveryServicesResources | project id"


class Clock:
    """A fake monotonic clock that sleeping moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def make_graph(
    clock: Clock, notes: list[str] | None = None, debug: list[str] | None = None
) -> ResourceGraphClient:
    ctx = settings.Context("", "", "", settings.CLOUDS["azurecloud"], ARM, "2026-10-01")
    hooks = Hooks(debug=debug.append if debug is not None else None)
    client = BackupJobsClient(
        ctx,
        StaticTokenProvider(TOKEN),
        hooks=hooks,
        sleep=clock.sleep,
        retry=RetryPolicy(attempts=3, base_delay=0.01),
    )
    return ResourceGraphClient(
        client, sleep=clock.sleep, clock=clock, notify=notes.append if notes is not None else None
    )


def page(rows: list[dict[str, Any]], token: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "totalRecords": 3,
        "count": len(rows),
        "data": rows,
        "facets": [],
        "resultTruncated": "false",
        **extra,
    }
    if token:
        body["$skipToken"] = token
    return body


def quota(remaining: int, resets: str = "00:00:05") -> dict[str, str]:
    return {"x-ms-user-quota-remaining": str(remaining), "x-ms-user-quota-resets-after": resets}


def sent(call: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(call.request.body)
    return body


def test_pages_follow_skip_tokens_with_the_same_query_and_scope(
    rsps: responses.RequestsMock,
) -> None:
    rsps.post(URL, json=page([{"id": "a"}, {"id": "b"}], "tok1"), headers=quota(14))
    rsps.post(URL, json=page([{"id": "c"}]), headers=quota(13))
    graph = make_graph(Clock())
    pages = list(graph.pages(QUERY, Scope((SUB,))))
    assert pages == [[{"id": "a"}, {"id": "b"}], [{"id": "c"}]]
    first, second = (sent(c) for c in rsps.calls)
    assert first == {
        "subscriptions": [SUB],
        "query": QUERY,
        "options": {"$top": 1000, "resultFormat": "objectArray"},
    }
    assert second["options"]["$skipToken"] == "tok1" and second["query"] == QUERY
    request = rsps.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert graph.queries == 2 and graph.quota.remaining == 13


def test_scope_in_the_body(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, json=page([]))
    rsps.post(URL, json=page([]))
    graph = make_graph(Clock())
    list(graph.pages(QUERY, Scope()))
    list(graph.pages(QUERY, Scope(management_groups=("mg-prod",)), top=5))
    tenant, group = (sent(c) for c in rsps.calls)
    assert "subscriptions" not in tenant and "managementGroups" not in tenant
    assert group["managementGroups"] == ["mg-prod"] and group["options"]["$top"] == 5


def test_nothing_is_sent_before_a_page_is_read(rsps: responses.RequestsMock) -> None:
    graph = make_graph(Clock())
    streams = graph.streams(QUERY, Scope())
    assert len(streams) == 1 and len(rsps.calls) == 0


def test_many_subscriptions_are_queried_in_batches(rsps: responses.RequestsMock) -> None:
    subs = tuple(f"00000000-0000-4000-8000-{i:012d}" for i in range(MAX_SUBSCRIPTIONS + 5))
    rsps.post(URL, json=page([{"id": "a"}]))
    rsps.post(URL, json=page([{"id": "b"}]))
    streams = make_graph(Clock()).streams(QUERY, Scope(subs))
    assert [list(s) for s in streams] == [[[{"id": "a"}]], [[{"id": "b"}]]]
    assert [len(sent(c)["subscriptions"]) for c in rsps.calls] == [MAX_SUBSCRIPTIONS, 5]


def test_an_exhausted_quota_waits_for_its_reset(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, json=page([{"id": "a"}], "t1"), headers=quota(1))
    rsps.post(URL, json=page([{"id": "b"}], "t2"), headers=quota(0, "00:00:03"))
    rsps.post(URL, json=page([{"id": "c"}]), headers=quota(14))
    clock, notes = Clock(), list[str]()
    graph = make_graph(clock, notes)
    assert len(list(graph.pages(QUERY, Scope()))) == 3
    assert clock.sleeps == [3.0]  # once, before the third query, and only as long as needed
    assert graph.waited == 3.0
    assert notes == ["Resource Graph quota used up; waiting 3.0 s for it to reset"]


def test_no_wait_when_the_reset_has_passed(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, json=page([{"id": "a"}], "t1"), headers=quota(0, "00:00:02"))
    rsps.post(URL, json=page([{"id": "b"}]), headers=quota(14))
    clock = Clock()
    graph = make_graph(clock)
    pages = graph.pages(QUERY, Scope())
    next(pages)
    clock.now += 5  # the caller took its time with the first page
    next(pages)
    assert clock.sleeps == []


def test_throttled_queries_are_retried_after_the_quota_reset(rsps: responses.RequestsMock) -> None:
    throttled = {
        "error": {
            "code": "RateLimiting",
            "message": "Please provide below info",
            "details": [{"code": "RateLimiting", "message": "throttled"}],
        }
    }
    rsps.post(URL, status=429, json=throttled, headers=quota(0, "00:00:04"))
    rsps.post(URL, json=page([{"id": "a"}]), headers=quota(14))
    clock = Clock()
    assert list(make_graph(clock).pages(QUERY, Scope())) == [[{"id": "a"}]]
    assert clock.sleeps == [4.0]


def test_transient_failures_are_retried_like_a_get(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, body=requests.exceptions.ConnectionError("reset by peer"))
    rsps.post(URL, status=503, json={"error": {"code": "ServerTimeout", "message": "x"}})
    rsps.post(URL, json=page([{"id": "a"}]))
    clock = Clock()
    assert list(make_graph(clock).pages(QUERY, Scope())) == [[{"id": "a"}]]
    assert len(clock.sleeps) == 2


def test_forbidden_says_which_role_is_needed(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, status=403, json={"error": {"code": "AuthorizationFailed", "message": "no"}})
    with pytest.raises(AuthError) as info:
        list(make_graph(Clock()).pages(QUERY, Scope()))
    assert info.value.hint is not None and "Reader" in info.value.hint


def test_bad_request_shows_the_details(rsps: responses.RequestsMock) -> None:
    rsps.post(
        URL,
        status=400,
        json={
            "error": {
                "code": "BadRequest",
                "message": "Please provide below info when asking for support",
                "details": [
                    {"code": "InvalidQuery", "message": "Query is invalid."},
                    {"code": "ParserFailure", "message": "ParserFailure", "line": 1},
                ],
            }
        },
    )
    with pytest.raises(ApiError) as info:
        list(make_graph(Clock()).pages(QUERY, Scope()))
    assert "InvalidQuery: Query is invalid.; ParserFailure" in info.value.message


def test_refused_api_version_names_the_variable(rsps: responses.RequestsMock) -> None:
    rsps.post(
        URL,
        status=400,
        json={
            "error": {
                "code": "InvalidApiVersionParameter",
                "message": "The api-version is invalid.",
            }
        },
    )
    with pytest.raises(ApiError) as info:
        list(make_graph(Clock()).pages(QUERY, Scope()))
    assert info.value.hint is not None and "AZJOBS_GRAPH_API_VERSION" in info.value.hint


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"data": "x"},
        {"count": 0},
        {"data": {"columns": [], "rows": []}},
        {"data": [], "$skipToken": 5},
        {"data": [], "resultTruncated": "true"},
    ],
)
def test_unexpected_answers(rsps: responses.RequestsMock, body: Any) -> None:
    rsps.post(URL, json=body)
    with pytest.raises(UnexpectedResponseError):
        list(make_graph(Clock()).pages(QUERY, Scope()))


def test_a_repeated_skip_token_stops_the_loop(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, json=page([{"id": "a"}], "same"))
    rsps.post(URL, json=page([{"id": "b"}], "same"))
    with pytest.raises(UnexpectedResponseError, match="already"):
        list(make_graph(Clock()).pages(QUERY, Scope()))


def test_subscription_limit_is_reported_once(rsps: responses.RequestsMock) -> None:
    headers = {**quota(10), "x-ms-tenant-subscription-limit-hit": "true"}
    rsps.post(URL, json=page([{"id": "a"}], "t"), headers=headers)
    rsps.post(URL, json=page([{"id": "b"}]), headers=headers)
    notes: list[str] = []
    list(make_graph(Clock(), notes).pages(QUERY, Scope()))
    assert len(notes) == 1 and "--subscriptions" in notes[0]


def test_debug_traces_the_query_but_never_the_token(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, json=page([]))
    debug: list[str] = []
    list(make_graph(Clock(), debug=debug).pages(QUERY, Scope()))
    text = "\n".join(debug)
    assert "POST " + URL in text and QUERY in text and TOKEN not in text


def test_graph_api_version_setting() -> None:
    assert graph_api_version({}) == DEFAULT_GRAPH_API_VERSION
    assert graph_api_version({"AZJOBS_GRAPH_API_VERSION": " 2024-04-01 "}) == "2024-04-01"
    with pytest.raises(UsageError, match="AZJOBS_GRAPH_API_VERSION"):
        graph_api_version({"AZJOBS_GRAPH_API_VERSION": "latest"})
    assert page_size_for(None) is None and page_size_for(0) is None
    assert page_size_for(5) == 5 and page_size_for(5000) == 1000


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:00:05", 5.0),
        ("00:01:00", 60.0),
        ("01:02:03", 3723.0),
        ("1.00:00:01", 86401.0),
        ("00:00:00.2500000", 0.25),
        (" 00:00:03 ", 3.0),
        ("5", None),
        ("00:60:00", None),
        ("", None),
        ("aa:bb:cc", None),
        (None, None),
    ],
)
def test_parse_timespan(text: str | None, seconds: float | None) -> None:
    assert parse_timespan(text) == seconds


def test_retry_after_prefers_retry_after_then_the_quota_reset() -> None:
    assert parse_retry_after({"x-ms-user-quota-resets-after": "00:00:07"}) == 7.0
    assert (
        parse_retry_after({"retry-after": "2", "x-ms-user-quota-resets-after": "00:00:07"}) == 2.0
    )
