"""``azjobs list`` against a scripted service (``responses``): filters as sent, windows, paging,
streaming, ``--limit``, merging several statuses, and every output format."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import responses

from azbackupjobs.commands.common import CommonOptions
from azbackupjobs.commands.list_jobs import ListOptions, run_list
from azbackupjobs.model.errors import ExitCode, UsageError
from tests.harness import FakeEnvironment, fake_environment, sent_url

SUB = "00000000-0000-0000-0000-0000000000aa"
RG = "rg1"
VAULT = "vault1"
ENDPOINT = "https://management.azure.com"
BASE = (
    f"{ENDPOINT}/subscriptions/{SUB}/resourceGroups/{RG}"
    f"/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
)
LIST_URL = f"{BASE}/backupJobs"
TOKEN = "test-token-value"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def env_of(tmp_path: Path, *, tty: bool = False) -> FakeEnvironment:
    return fake_environment(
        {
            "AZURE_SUBSCRIPTION_ID": SUB,
            "AZJOBS_RESOURCE_GROUP": RG,
            "AZJOBS_VAULT": VAULT,
            "AZJOBS_VAULT_TYPE": "recovery-services",
            "AZJOBS_ACCESS_TOKEN": TOKEN,
            "AZURE_CONFIG_DIR": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path),
            "XDG_CACHE_HOME": str(tmp_path),
            "COLUMNS": "200",
        },
        tty=tty,
    )


def job(
    n: int,
    status: str = "Completed",
    *,
    start: datetime | None = None,
    entity: str | None = None,
    operation: str = "Backup",
) -> dict[str, Any]:
    """A list item as the service sends it (no extendedInfo); job n starts n minutes ago."""
    guid = f"00000000-0000-4000-8000-{n:012d}"
    started = start or NOW - timedelta(minutes=n)
    props: dict[str, Any] = {
        "jobType": "AzureIaaSVMJob",
        "duration": "PT5M30.1234567S",
        "entityFriendlyName": entity or f"vm{n}",
        "backupManagementType": "AzureIaasVM",
        "operation": operation,
        "status": status,
        "startTime": started.strftime("%Y-%m-%dT%H:%M:%S.1234567Z"),
        "activityId": "a0000000-0000-0000-0000-000000000000",
    }
    if status != "InProgress":
        props["endTime"] = (started + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": f"{BASE}/backupJobs/{guid}",
        "name": guid,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": props,
    }


class FakeList:
    """The list endpoint: pages per status (None = no status clause), linked by nextLink."""

    def __init__(
        self, rsps: responses.RequestsMock, pages: dict[str | None, list[list[dict[str, Any]]]]
    ) -> None:
        self.pages = pages
        self.calls: list[tuple[str, int]] = []
        self.on_request: Callable[[str, int], None] | None = None
        rsps.add_callback(
            responses.GET, re.compile(re.escape(LIST_URL) + r"(\?.*)?$"), callback=self
        )

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        odata = query.get("$filter", [""])[0]
        index = int(query.get("$skiptoken", ["0"])[0])
        found = re.search(r"status eq '(\w+)'", odata)
        pages = self.pages[found.group(1) if found else None]
        if self.on_request is not None:
            self.on_request(odata, index)
        self.calls.append((odata, index))
        body: dict[str, Any] = {"value": pages[index] if index < len(pages) else []}
        if index + 1 < len(pages):
            body["nextLink"] = f"{LIST_URL}?" + urlencode(
                {"api-version": "2017-07-01", "$filter": odata, "$skiptoken": str(index + 1)}
            )
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


def run(
    tmp_path: Path,
    *,
    output: str = "json",
    query: str | None = None,
    tty: bool = False,
    **list_kwargs: Any,
) -> tuple[int, str, str]:
    env = env_of(tmp_path, tty=tty)
    code = run_list(
        CommonOptions(output=output, query=query), ListOptions(**list_kwargs), env, now=NOW
    )
    return code, env.out, env.err


# ----- the request as sent -----------------------------------------------------------------
def test_default_request_is_the_last_24_hours_exactly_encoded(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, LIST_URL, json={"value": []})
        code, out, _ = run(tmp_path)
        url = sent_url(rsps.calls[0])
        headers = rsps.calls[0].request.headers
    assert code == ExitCode.OK and out == "[]\n"
    assert url == (
        f"{LIST_URL}?api-version=2026-10-01&%24filter=startTime%20eq%20%272024-04-30%2012%3A00"
        "%3A00%20PM%27%20and%20endTime%20eq%20%272024-05-01%2012%3A00%3A00%20PM%27"
    )
    assert headers["Authorization"] == f"Bearer {TOKEN}"


def test_every_filter_in_one_request(tmp_path: Path) -> None:
    guid = "3b6a1d2c-5f4e-4d3c-9b2a-1f0e9d8c7b6a"
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, LIST_URL, json={"value": []})
        run(
            tmp_path,
            statuses=("completedwithwarnings",),
            operation="backup",
            management_type="azureiaasvm",
            job_id=guid,
            since="2024-04-30T00:00Z",
            until="2024-04-30T13:15:30Z",
        )
        query = urlsplit(sent_url(rsps.calls[0])).query
    assert parse_qs(query)["$filter"] == [
        "startTime eq '2024-04-30 12:00:00 AM' and endTime eq '2024-04-30 01:15:30 PM' "
        "and operation eq 'Backup' and backupManagementType eq 'AzureIaasVM' "
        f"and status eq 'CompletedWithWarnings' and jobId eq '{guid}'"
    ]
    assert "'" not in query and " " not in query  # the whole value is URL-encoded


def test_usage_errors_send_nothing(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        for kwargs in (
            {"statuses": ("Running",)},
            {"operation": "Backup' or '1' eq '1"},
            {"management_type": "AzureVM"},
            {"job_id": "x' or jobId eq 'y"},
            {"since": "yesterday"},
            {"since": "1h", "until": "2h"},
            {"limit": -1},
        ):
            with pytest.raises(UsageError) as caught:
                run(tmp_path, **kwargs)
            assert caught.value.exit_code == ExitCode.USAGE
        assert len(rsps.calls) == 0


def test_unknown_type_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        run(tmp_path, management_type="vm")
    assert "--type" in str(caught.value) and "AzureIaasVM, AzureStorage" in str(caught.value)


# ----- windows -----------------------------------------------------------------------------
def test_window_longer_than_a_year_is_refused_before_any_request(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        with pytest.raises(UsageError) as caught:
            run(tmp_path, since="0002-01-01")
        assert len(rsps.calls) == 0
    assert "requests per status" in str(caught.value) and caught.value.hint
    assert "--fleet" in (caught.value.hint or "")


def test_a_year_long_window_is_thirteen_requests(tmp_path: Path) -> None:
    from azbackupjobs.commands.list_jobs import plan_list

    plan = plan_list(ListOptions(since="366d"), now=NOW)
    assert len(plan.requests) == 13


@pytest.mark.parametrize("microsecond", [0, 123456])
def test_366_days_is_the_longest_window_to_the_second(microsecond: int) -> None:
    """--since 366d is allowed whatever the fraction of the current second (the ends are
    rounded out to whole seconds); one second more is not."""
    from azbackupjobs.commands.list_jobs import plan_list

    now = NOW.replace(microsecond=microsecond)
    assert len(plan_list(ListOptions(since="366d"), now=now).requests) == 13
    assert len(plan_list(ListOptions(since="8784h"), now=now).requests) == 13
    exact = ListOptions(since="2023-05-01T12:00:00Z", until="2024-05-01T12:00:00Z")
    assert plan_list(exact, now=now).window.span == timedelta(days=366)
    with pytest.raises(UsageError) as caught:
        plan_list(ListOptions(since="2023-05-01T11:59:59Z", until="2024-05-01T12:00:00Z"), now=now)
    assert "at most 366 days" in str(caught.value) and "a longer window" in str(caught.value)
    with pytest.raises(UsageError) as caught:
        plan_list(ListOptions(since="367d"), now=now)
    assert "a 367-day window" in str(caught.value)


def test_long_window_split_into_30_day_windows_newest_first(tmp_path: Path) -> None:
    recent, older, oldest = job(60), job(60 * 24 * 40), job(60 * 24 * 64)
    served = {
        "2024-04-01 12:00:00 PM": [recent],
        "2024-03-02 12:00:00 PM": [older],
        "2024-02-26 12:00:00 PM": [oldest],
    }
    calls: list[str] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        odata = parse_qs(urlsplit(request.url).query)["$filter"][0]
        calls.append(odata)
        start = re.search(r"startTime eq '([^']+)'", odata)
        assert start is not None
        return 200, {}, json.dumps({"value": served[start.group(1)]})

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, re.compile(re.escape(LIST_URL)), callback=answer)
        _, out, _ = run(tmp_path, since="65d", statuses=("Failed",))
    assert calls == [
        "startTime eq '2024-04-01 12:00:00 PM' and endTime eq '2024-05-01 12:00:00 PM' "
        "and status eq 'Failed'",
        "startTime eq '2024-03-02 12:00:00 PM' and endTime eq '2024-04-01 12:00:00 PM' "
        "and status eq 'Failed'",
        "startTime eq '2024-02-26 12:00:00 PM' and endTime eq '2024-03-02 12:00:00 PM' "
        "and status eq 'Failed'",
    ]
    assert [j["name"] for j in json.loads(out)] == [recent["name"], older["name"], oldest["name"]]


def test_limit_stops_before_older_windows(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {None: [[job(1), job(2)]]})
        _, out, _ = run(tmp_path, since="90d", limit=2)
    assert len(json.loads(out)) == 2
    assert len(fake.calls) == 1  # the two older windows were never asked for


# ----- paging, streaming, limit ------------------------------------------------------------
def test_follows_next_link_page_by_page(tmp_path: Path) -> None:
    pages = [[job(1), job(2)], [job(3)], [], [job(4)]]
    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {None: pages})
        _, out, _ = run(tmp_path)
        second = sent_url(rsps.calls[1])
    assert [j["name"] for j in json.loads(out)] == [job(n)["name"] for n in (1, 2, 3, 4)]
    assert [index for _, index in fake.calls] == [0, 1, 2, 3]
    assert "api-version=2017-07-01" in second  # the nextLink is followed as given


def test_ndjson_streams_each_page_before_the_next_is_requested(tmp_path: Path) -> None:
    env = env_of(tmp_path)
    stdout = env.stdout
    seen_before: dict[int, list[str]] = {}

    def check(odata: str, index: int) -> None:
        seen_before[index] = stdout.getvalue().splitlines()

    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {None: [[job(1), job(2)], [job(3)], [job(4)]]})
        fake.on_request = check
        run_list(CommonOptions(output="ndjson"), ListOptions(), env, now=NOW)
    assert seen_before[0] == []
    assert [json.loads(x)["name"] for x in seen_before[1]] == [job(1)["name"], job(2)["name"]]
    assert len(seen_before[2]) == 3
    lines = stdout.getvalue().splitlines()
    assert [json.loads(x) for x in lines] == [job(n) for n in (1, 2, 3, 4)]
    assert all(line == json.dumps(json.loads(line), separators=(",", ":")) for line in lines)


def test_json_array_is_written_as_pages_arrive(tmp_path: Path) -> None:
    env = env_of(tmp_path)
    stdout = env.stdout
    before_second: list[str] = []

    def check(odata: str, index: int) -> None:
        if index == 1:
            before_second.append(stdout.getvalue())

    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {None: [[job(1)], [job(2)]]})
        fake.on_request = check
        run_list(CommonOptions(output="json"), ListOptions(), env, now=NOW)
    assert before_second[0].startswith("[\n  {") and job(1)["name"] in before_second[0]
    assert stdout.getvalue() == json.dumps([job(1), job(2)], indent=2) + "\n"


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_limit_stops_fetching_early(tmp_path: Path, limit: int) -> None:
    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {None: [[job(1), job(2), job(3)], [job(4)], [job(5)]]})
        _, out, _ = run(tmp_path, output="ndjson", limit=limit)
    assert len(out.splitlines()) == limit
    assert len(fake.calls) == 1  # no further page was requested


def test_limit_spanning_pages(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {None: [[job(1), job(2)], [job(3), job(4)], [job(5)]]})
        _, out, _ = run(tmp_path, limit=3)
    assert [j["name"] for j in json.loads(out)] == [job(n)["name"] for n in (1, 2, 3)]
    assert len(fake.calls) == 2


def test_limit_zero_means_all(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[job(n) for n in range(1, 60)], [job(n) for n in range(60, 130)]]})
        _, out, _ = run(tmp_path, limit=0)
    assert len(json.loads(out)) == 129


def test_empty_is_an_empty_array_and_exit_0(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[]]})
        code, out, err = run(tmp_path)
    assert (code, out, err) == (ExitCode.OK, "[]\n", "")


# ----- several statuses --------------------------------------------------------------------
def test_several_statuses_one_request_each_merged_newest_first(tmp_path: Path) -> None:
    failed = [[job(1, "Failed"), job(4, "Failed")], [job(9, "Failed")]]
    cancelled = [[job(2, "Cancelled"), job(3, "Cancelled"), job(7, "Cancelled")]]
    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {"Failed": failed, "Cancelled": cancelled})
        _, out, _ = run(tmp_path, output="ndjson", statuses=("failed", "cancelled"))
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert names == [job(n)["name"] for n in (1, 2, 3, 4, 7, 9)]
    statuses = {re.search(r"status eq '(\w+)'", f).group(1) for f, _ in fake.calls}  # type: ignore[union-attr]
    assert statuses == {"Failed", "Cancelled"}
    assert len(fake.calls) == 3


def test_merge_keeps_streaming_and_limit_applies_to_the_merge(tmp_path: Path) -> None:
    failed = [[job(1, "Failed")], [job(5, "Failed")], [job(6, "Failed")]]
    completed = [[job(2), job(3)], [job(4)]]
    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {"Failed": failed, "Completed": completed})
        _, out, _ = run(tmp_path, statuses=("Failed", "Completed"), limit=3)
    assert [j["name"] for j in json.loads(out)] == [job(n)["name"] for n in (1, 2, 3)]
    # Failed page 1 (job 1) and Completed page 1 (jobs 2, 3); after job 1 was used, the merge
    # needed Failed page 2 to know what comes next. Nothing else.
    asked = [
        (re.search(r"status eq '(\w+)'", f).group(1), i)  # type: ignore[union-attr]
        for f, i in fake.calls
    ]
    assert asked == [("Failed", 0), ("Completed", 0), ("Failed", 1)]


def test_a_job_seen_twice_is_printed_once(tmp_path: Path) -> None:
    # It moved from InProgress to Completed between the two requests.
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {"InProgress": [[job(1, "InProgress")]], "Completed": [[job(1), job(2)]]})
        _, out, _ = run(tmp_path, statuses=("InProgress", "Completed"))
    assert [j["name"] for j in json.loads(out)] == [job(1)["name"], job(2)["name"]]


# ----- client-side entity filter -----------------------------------------------------------
def test_entity_matches_a_substring_in_any_casing(tmp_path: Path) -> None:
    items = [
        job(1, entity="web-VM-01"),
        job(2, entity="db01"),
        job(3, entity="msdb [WebVm-02]"),
        job(4),
    ]
    items[3]["properties"].pop("entityFriendlyName")
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [items]})
        _, out, _ = run(tmp_path, entity="webvm", output="tsv")
        _, out2, _ = run(tmp_path, entity="WEB-vm")
    assert [line.split("\t")[3] for line in out.splitlines()] == ["msdb [WebVm-02]"]
    assert [j["properties"]["entityFriendlyName"] for j in json.loads(out2)] == ["web-VM-01"]


# ----- formats -----------------------------------------------------------------------------
def test_tsv_columns(tmp_path: Path) -> None:
    item = job(1, "InProgress", entity="vm\tone")
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[item]]})
        _, out, _ = run(tmp_path, output="tsv")
    assert (
        out
        == "\t".join(
            [
                item["name"],
                "InProgress",
                "Backup",
                "vm one",
                "AzureIaaSVMJob",
                "AzureIaasVM",
                item["properties"]["startTime"],
                "",
                "PT5M30.1234567S",
            ]
        )
        + "\n"
    )


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("json", '[\n  "vm2"\n]\n'),
        ("ndjson", '"vm2"\n'),
        ("tsv", "vm2\n"),
        ("table", '[\n  "vm2"\n]\n'),
    ],
)
def test_query_applies_to_the_whole_array(tmp_path: Path, output: str, expected: str) -> None:
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[job(1), job(2, "Failed")], [job(3)]]})
        _, out, _ = run(
            tmp_path,
            output=output,
            query="[?properties.status=='Failed'].properties.entityFriendlyName",
        )
    assert out == expected


def test_query_length_counts_everything(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[job(1), job(2)], [job(3)]]})
        _, out, _ = run(tmp_path, query="length(@)")
    assert out == "3\n"


@pytest.mark.parametrize("width", [80, 200])
def test_table_shows_the_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    items = [job(1, "InProgress", entity="vm-alpha"), job(2, "Failed", operation="Restore")]
    items[0]["properties"]["duration"] = "PT1H2M3S"
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [items]})
        _, out, err = run(tmp_path, output="table", tty=True)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out).splitlines()
    assert max(len(line) for line in lines) <= width
    headers = ("Job id", "Operation", "Status", "Entity", "Type", "Start", "Duration")
    if width >= 150:
        assert all(h in out for h in headers)
    else:
        assert all(h in out for h in ("Job", "Status", "Start"))
    assert items[0]["name"] in out and items[1]["name"] in out
    assert "vm-alpha" in out and "Restore" in out and "Failed" in out and "AzureIaasVM" in out
    assert "1h02m03s" in out  # the running job's duration as the service reported it
    assert "2 jobs" in out
    assert err == ""


def test_table_start_is_local_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        with responses.RequestsMock() as rsps:
            FakeList(rsps, {None: [[job(1, start=datetime(2024, 5, 1, 10, 0, tzinfo=UTC))]]})
            _, out, _ = run(tmp_path, output="table")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "2024-05-01 15:30:00" in out


def test_table_default_shows_the_newest_100_and_says_so(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        fake = FakeList(
            rsps,
            {
                None: [
                    [job(n) for n in range(1, 81)],
                    [job(n) for n in range(81, 161)],
                    [job(n) for n in range(161, 241)],
                ]
            },
        )
        _, out, _ = run(tmp_path, output="table", tty=True)
    assert job(100)["name"] in out and job(101)["name"] not in out
    assert "100 jobs" in out and "older ones not shown (--limit 0 shows all)" in out
    assert len(fake.calls) == 2


def test_table_with_an_explicit_limit_fetches_no_more(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        fake = FakeList(rsps, {None: [[job(1), job(2)], [job(3)]]})
        _, out, _ = run(tmp_path, output="table", tty=True, limit=2)
    assert "2 jobs" in out and "not shown" not in out
    assert len(fake.calls) == 1


def test_table_when_nothing_matches_says_so_on_stderr(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[]]})
        code, out, err = run(tmp_path, output="table", tty=True)
    assert code == ExitCode.OK and out == ""
    assert err.startswith("No jobs from ")


def test_service_strings_cannot_drive_the_terminal(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[job(1, entity="\x1b]0;owned\x07vm\x1b[2J")]]})
        _, out, _ = run(tmp_path, output="table", tty=True)
    assert "owned" not in out and "\x1b[2J" not in out and "\x07" not in out


def test_next_link_to_another_host_is_refused(tmp_path: Path) -> None:
    from azbackupjobs.model.errors import UnexpectedResponseError

    with responses.RequestsMock() as rsps:
        rsps.add(
            responses.GET,
            LIST_URL,
            json={"value": [job(1)], "nextLink": "https://evil.example/backupJobs?x=1"},
        )
        with pytest.raises(UnexpectedResponseError, match="not on the endpoint's host"):
            run(tmp_path, output="ndjson")
        assert len(rsps.calls) == 1


def test_the_newest_jobs_feed_shell_completion(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[job(n) for n in range(1, 80)]]})
        run(tmp_path, output="tsv", limit=60)
    cache = json.loads((tmp_path / "azjobs" / "jobs.json").read_text(encoding="utf-8"))
    (entry,) = cache["contexts"].values()
    assert [j["id"] for j in entry["jobs"]] == [job(n)["name"] for n in range(1, 51)]
    assert entry["fetched_at"] > 0  # an unfiltered listing


def test_an_unreadable_item_does_not_hide_the_others(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        FakeList(rsps, {None: [[job(1), {"name": "odd"}, job(2)]]})
        code, out, err = run(tmp_path, output="table", tty=True)
    assert code == ExitCode.OK
    assert job(1)["name"] in out and job(2)["name"] in out
    assert err.startswith("warning: a job in the list is not readable")
