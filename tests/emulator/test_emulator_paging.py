"""Paging through nextLink / $skipToken, and big vaults."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle, start_emulator


def test_next_link_is_absolute_on_the_same_host(api: Api, emu: EmulatorHandle) -> None:
    text = (
        "operation eq 'Backup' and startTime eq '2020-01-01 12:00:00 AM' and "
        "endTime eq '2020-01-30 12:00:00 AM'"
    )
    emu.add_jobs(25, spread_seconds=60, outcomes=("Completed",))
    response = api.get("/backupJobs", api_version="2019-06-15")
    body = response.json()
    assert len(body["value"]) == 20
    link = urlsplit(body["nextLink"])
    assert f"{link.scheme}://{link.netloc}" == emu.url
    assert link.path == api.vault_path() + "/backupJobs"
    query = parse_qs(link.query)
    assert query["api-version"] == ["2019-06-15"]
    token = query["$skiptoken"][0]
    assert token.startswith('<?xml version="1.0" encoding="utf-16"?>\r\n<ContinuationToken>')
    filtered = api.get("/backupJobs", params={"$filter": "operation eq 'Backup'"}).json()
    assert parse_qs(urlsplit(filtered["nextLink"]).query)["$filter"] == ["operation eq 'Backup'"]
    assert api.get("/backupJobs", params={"$filter": text}).json() == {"value": []}


def test_following_every_page(api: Api, emu: EmulatorHandle) -> None:
    added = emu.add_jobs(93)
    items = api.list_all()
    names = [i["name"] for i in items]
    assert len(names) == len(set(names)) == 93 + len(emu.seed_jobs)
    assert set(added) <= set(names)
    starts = [i["properties"]["startTime"] for i in items]
    assert starts == sorted(starts, reverse=True)
    last = api.get("/backupJobs").json()
    while "nextLink" in last:
        last = api.session.get(last["nextLink"], timeout=5).json()
    assert 0 < len(last["value"]) <= 20 and "nextLink" not in last


def test_next_link_uses_the_host_the_client_used(emu: EmulatorHandle, api: Api) -> None:
    url = api.url("/backupJobs").replace("127.0.0.1", "localhost")
    body = api.session.get(url, params={"api-version": "2026-10-01"}, timeout=5).json()
    assert body["nextLink"].startswith(f"http://localhost:{emu.port}/")


def test_a_job_added_between_pages_does_not_shift_the_pages(api: Api, emu: EmulatorHandle) -> None:
    first = api.get("/backupJobs").json()
    emu.add_job(entity="newcomer", tasks=[("Take Snapshot", 100)])
    emu.advance(1)
    second = api.session.get(first["nextLink"], timeout=5).json()
    names = [i["name"] for i in first["value"] + second["value"]]
    assert len(names) == len(set(names)) == len(emu.seed_jobs)


def test_skip_token_as_a_parameter(api: Api) -> None:
    first = api.get("/backupJobs").json()
    token = parse_qs(urlsplit(first["nextLink"]).query)["$skiptoken"][0]
    second = api.get("/backupJobs", params={"$skipToken": token}).json()
    assert second == api.session.get(first["nextLink"], timeout=5).json()


def test_bad_skip_token(api: Api) -> None:
    response = api.get("/backupJobs", params={"$skipToken": "garbage"})
    assert response.status_code == 400
    assert error_code(response) == "BMSUserErrorInvalidInput"


def test_page_size() -> None:
    with start_emulator(page_size=3, seed_data=False) as emu:
        emu.add_jobs(7)
        api = Api(emu)
        sizes = []
        body = api.get("/backupJobs").json()
        sizes.append(len(body["value"]))
        while "nextLink" in body:
            body = api.session.get(body["nextLink"], timeout=5).json()
            sizes.append(len(body["value"]))
        assert sizes == [3, 3, 1]
        api.session.close()


def test_empty_vault() -> None:
    with start_emulator(seed_data=False) as emu:
        assert Api(emu).get("/backupJobs").json() == {"value": []}


@pytest.mark.slow
def test_twenty_thousand_jobs_in_a_thousand_pages() -> None:
    with start_emulator(page_size=20, seed_data=False) as emu:
        started = time.monotonic()
        ids = emu.add_jobs(20_000, outcomes=("Completed", "Failed", "CompletedWithWarnings"))
        assert time.monotonic() - started < 5
        assert len(set(ids)) == 20_000
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {emu.token}"
        url: str | None = Api(emu).url("/backupJobs") + "?api-version=2026-10-01"
        seen = 0
        started = time.monotonic()
        while url:
            body = session.get(url, timeout=10).json()
            seen += len(body["value"])
            url = body.get("nextLink")
        assert seen == 20_000
        assert len(emu.request_log) == 1000
        assert time.monotonic() - started < 30
        session.close()
