"""``--secondary-region``: the exact requests for cross-region restore jobs of both kinds of
vault, the paired-region lookup and its cache, the recorded payloads in every format, the
usage errors, and the poll loop's slow-down when the subscription's write quota runs low.

HTTP is mocked strictly: a request that a test does not register fails it, so "no request"
and "no locations request" are checked by registering none.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from azbackupjobs.arm.auth import StaticTokenProvider
from azbackupjobs.arm.client import NO_RETRY, BackupJobsClient
from azbackupjobs.arm.settings import ContextFlags, resolve_context
from azbackupjobs.commands.common import SecondaryRegion, Session
from azbackupjobs.commands.options import WatchCommandOptions
from azbackupjobs.commands.shared.watching import WatchOptions, watch_jobs
from azbackupjobs.follow.poll import Poller, PollPolicy
from azbackupjobs.follow.state import TickReport, Tracked
from azbackupjobs.model.errors import ExitCode
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.view.output import Output
from tests.harness import FakeTime, fake_environment, run_cli, sent_url

FIXTURES = Path(__file__).parent / "fixtures"
SUB = "00000000-0000-0000-0000-000000000000"
ARM = "https://management.azure.com"
RG = "clitest-dpp-rg"
VAULT = "my-vault"
RS_VAULT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
)
BV_VAULT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DataProtection/"
    f"backupVaults/{VAULT}"
)
RS_CRR = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/locations/centraluseuap"
BV_CRR = (
    f"{ARM}/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DataProtection/"
    "locations/centraluseuap"
)
LOCATIONS = f"{ARM}/subscriptions/{SUB}/locations"
PASSIVE = {"api-version": "2023-01-15"}
DPP = {"api-version": "2026-06-01"}
RS_RECORDED = ("crr_iaasvm_completed.json", "crr_iaasvm_inprogress.json", "crr_sql_failed.json")
FORMATS = ("table", "json", "ndjson", "tsv")


@pytest.fixture(autouse=True)
def vault(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AZJOBS_ACCESS_TOKEN": "opaque-secret-token-value",
        "AZURE_SUBSCRIPTION_ID": SUB,
        "AZJOBS_RESOURCE_GROUP": RG,
        "AZJOBS_VAULT": VAULT,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def backup_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZJOBS_VAULT_TYPE", "backup")


def text(rel: str) -> str:
    return (FIXTURES / rel).read_text(encoding="utf-8")


def rs_job(name: str) -> str:
    return text(f"recorded/{name}")


def bv_job() -> str:
    return text("dataprotection/recorded/crr_fetchCrossRegionRestoreJob.json")


def pairs(body: str) -> Any:
    """JSON with key order kept: "as returned" includes the order."""
    return json.loads(body, object_pairs_hook=list)


def guid_of(body: str) -> str:
    name = json.loads(body)["name"]
    assert isinstance(name, str)
    return name


def serve_rs_vault(rsps: responses.RequestsMock, location: str = "eastus2euap") -> None:
    rsps.get(
        f"{ARM}{RS_VAULT_ID}",
        json={"id": RS_VAULT_ID, "name": VAULT, "location": location},
        match=[matchers.query_param_matcher({"api-version": "2026-10-01"})],
    )


def serve_bv_vault(rsps: responses.RequestsMock, location: str = "eastus2euap") -> None:
    rsps.get(
        f"{ARM}{BV_VAULT_ID}",
        json={"id": BV_VAULT_ID, "name": VAULT, "location": location},
        match=[matchers.query_param_matcher(DPP)],
    )


def serve_locations(rsps: responses.RequestsMock) -> None:
    rsps.get(
        LOCATIONS,
        body=text("arm/locations_list.json"),
        content_type="application/json",
        match=[matchers.query_param_matcher({"api-version": "2022-12-01"})],
    )


def serve_rs_job(rsps: responses.RequestsMock, body: str, **headers: str) -> None:
    rsps.post(
        f"{RS_CRR}/backupCrrJob",
        body=body,
        content_type="application/json",
        headers=headers,
        match=[
            matchers.query_param_matcher(PASSIVE),
            matchers.json_params_matcher({"resourceId": RS_VAULT_ID, "jobName": guid_of(body)}),
        ],
    )


def serve_bv_job(rsps: responses.RequestsMock) -> None:
    body = bv_job()
    rsps.post(
        f"{BV_CRR}/fetchCrossRegionRestoreJob",
        body=body,
        content_type="application/json",
        match=[
            matchers.query_param_matcher(DPP),
            matchers.json_params_matcher(
                {
                    "jobId": guid_of(body),
                    "sourceRegion": "eastus2euap",
                    "sourceBackupVaultId": BV_VAULT_ID,
                }
            ),
        ],
    )


# ----- Recovery Services ------------------------------------------------------------------------
def test_rs_get_looks_up_the_pair_once_and_posts_to_the_passive_stamp(
    rsps: responses.RequestsMock,
) -> None:
    body = rs_job("crr_sql_failed.json")
    serve_rs_vault(rsps)
    serve_locations(rsps)
    serve_rs_job(rsps, body)
    done = run_cli("get", guid_of(body), "--secondary-region", "-o", "json")
    assert done.exit_code == 0, done.stderr
    assert pairs(done.stdout) == pairs(body)
    assert [c.request.method for c in rsps.calls] == ["GET", "GET", "POST"]
    # Remembered: the next run sends the POST only (strict: anything else fails the test).
    rsps.reset()
    serve_rs_job(rsps, body)
    again = run_cli("get", guid_of(body), "--secondary-region", "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert len(rsps.calls) == 1


def test_rs_paired_region_flag_sends_no_lookup(rsps: responses.RequestsMock) -> None:
    body = rs_job("crr_iaasvm_completed.json")
    serve_rs_job(rsps, body)
    done = run_cli("get", guid_of(body), "--paired-region", "CentralUSEUAP", "-o", "json")
    assert done.exit_code == 0, done.stderr
    assert len(rsps.calls) == 1


def test_a_passive_stamp_api_version_given_is_used(rsps: responses.RequestsMock) -> None:
    body = rs_job("crr_iaasvm_completed.json")
    rsps.post(
        f"{RS_CRR}/backupCrrJob",
        body=body,
        content_type="application/json",
        match=[matchers.query_param_matcher({"api-version": "2021-11-15"})],
    )
    done = run_cli(
        "get", guid_of(body), "--paired-region", "centraluseuap", "--api-version", "2021-11-15"
    )
    assert done.exit_code == 0, done.stderr


def test_a_crr_job_id_implies_the_secondary_region(rsps: responses.RequestsMock) -> None:
    body = rs_job("crr_sql_failed.json")
    serve_rs_job(rsps, body)
    job_id = (
        f"/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/locations/centraluseuap/"
        f"backupJobs/{guid_of(body)}"
    )
    done = run_cli("get", job_id, "-o", "json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(body)


def test_a_crr_job_id_still_needs_the_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZJOBS_VAULT")
    job_id = (
        f"/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/locations/centraluseuap/"
        "backupJobs/4f2628ab-483d-4ba4-853d-7785affbb694"
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        done = run_cli("get", job_id)
    assert done.exit_code == ExitCode.USAGE
    assert "vault" in done.stderr


def test_a_paired_region_that_contradicts_the_id_is_a_usage_error() -> None:
    job_id = (
        f"/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/locations/centraluseuap/"
        "backupJobs/4f2628ab-483d-4ba4-853d-7785affbb694"
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        done = run_cli("get", job_id, "--paired-region", "westus")
    assert done.exit_code == ExitCode.USAGE
    assert "centraluseuap" in done.stderr


def test_rs_list_posts_the_filter_and_follows_next_link_with_get(
    rsps: responses.RequestsMock,
) -> None:
    first = json.loads(rs_job("crr_iaasvm_inprogress.json"))
    second = json.loads(rs_job("crr_sql_failed.json"))
    link = f"{RS_CRR}/backupCrrJobs?api-version=2023-01-15&$skiptoken=abc&resourceId=x"
    posted = rsps.post(
        f"{RS_CRR}/backupCrrJobs",
        json={"value": [first], "nextLink": link},
        match=[matchers.json_params_matcher({"resourceId": RS_VAULT_ID})],
    )
    followed = rsps.get(link, json={"value": [second]})
    done = run_cli(
        "list",
        "--paired-region",
        "centraluseuap",
        "--since",
        "2020-01-01T00:00Z",
        "--until",
        "2020-01-02T00:00Z",
        "--status",
        "Failed",
        "-o",
        "json",
    )
    assert done.exit_code == 0, done.stderr
    assert [j["name"] for j in json.loads(done.stdout)] == [first["name"], second["name"]]
    assert posted.call_count == 1 and followed.call_count == 1
    url = sent_url(rsps.calls[0])
    assert "api-version=2023-01-15" in url
    assert (
        "%24filter=startTime%20eq%20%272020-01-01%2012%3A00%3A00%20AM%27%20and%20endTime%20eq%20"
        "%272020-01-02%2012%3A00%3A00%20AM%27%20and%20status%20eq%20%27Failed%27" in url
    )
    assert rsps.calls[1].request.method == "GET"


@pytest.mark.parametrize("name", RS_RECORDED)
@pytest.mark.parametrize("fmt", FORMATS)
def test_recorded_rs_crr_jobs_render_in_every_format(
    rsps: responses.RequestsMock, name: str, fmt: str
) -> None:
    body = rs_job(name)
    serve_rs_job(rsps, body)
    done = run_cli("get", guid_of(body), "--paired-region", "centraluseuap", "-o", fmt)
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip()
    if fmt == "json":
        assert pairs(done.stdout) == pairs(body)
    if fmt == "tsv":
        assert done.stdout.split("\t")[0] == guid_of(body)


def test_list_tasks_of_a_crr_job(rsps: responses.RequestsMock) -> None:
    body = rs_job("crr_iaasvm_inprogress.json")
    serve_rs_job(rsps, body)
    done = run_cli("list-tasks", guid_of(body), "--paired-region", "centraluseuap", "-o", "json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(body)["properties"]["extendedInfo"]["tasksList"]


# ----- the paired region ------------------------------------------------------------------------
def test_a_region_without_pair_is_a_usage_error_remembered(rsps: responses.RequestsMock) -> None:
    serve_rs_vault(rsps, location="Italy North")
    serve_locations(rsps)
    done = run_cli("list", "--secondary-region")
    assert done.exit_code == ExitCode.USAGE
    assert "italynorth has no paired region" in done.stderr
    assert "--paired-region" in done.stderr
    assert "Traceback" not in done.stderr
    rsps.reset()  # both the location and the missing pair are remembered: nothing is sent
    again = run_cli("list", "--secondary-region")
    assert again.exit_code == ExitCode.USAGE
    assert "italynorth has no paired region" in again.stderr


def test_a_logical_region_has_no_pair(rsps: responses.RequestsMock) -> None:
    serve_rs_vault(rsps, location="global")
    serve_locations(rsps)
    done = run_cli("list", "--secondary-region")
    assert done.exit_code == ExitCode.USAGE
    assert "global has no paired region" in done.stderr


def test_a_region_missing_from_the_list_is_a_usage_error(rsps: responses.RequestsMock) -> None:
    serve_rs_vault(rsps, location="marsnorth")
    serve_locations(rsps)
    done = run_cli("list", "--secondary-region")
    assert done.exit_code == ExitCode.USAGE
    assert "marsnorth" in done.stderr and "not in subscription" in done.stderr
    assert "--paired-region" in done.stderr


def test_a_malformed_paired_region_is_refused_before_any_request() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        done = run_cli("list", "--paired-region", "../westus")
    assert done.exit_code == ExitCode.USAGE
    assert "region name" in done.stderr


# ----- Backup vaults ----------------------------------------------------------------------------
@pytest.mark.usefixtures("backup_vault")
def test_bv_get_posts_the_vault_and_its_region(rsps: responses.RequestsMock) -> None:
    serve_bv_vault(rsps)
    serve_locations(rsps)
    serve_bv_job(rsps)
    done = run_cli("get", guid_of(bv_job()), "--secondary-region", "-o", "json")
    assert done.exit_code == 0, done.stderr
    assert pairs(done.stdout) == pairs(bv_job())


@pytest.mark.usefixtures("backup_vault")
def test_bv_paired_region_flag_reads_the_vault_region_but_no_locations(
    rsps: responses.RequestsMock,
) -> None:
    serve_bv_vault(rsps)
    serve_bv_job(rsps)
    done = run_cli("get", guid_of(bv_job()), "--paired-region", "centraluseuap", "-o", "table")
    assert done.exit_code == 0, done.stderr
    assert len(rsps.calls) == 2


@pytest.mark.usefixtures("backup_vault")
def test_bv_crr_job_id_implies_the_secondary_region(rsps: responses.RequestsMock) -> None:
    serve_bv_vault(rsps)
    serve_bv_job(rsps)
    job_id = (
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DataProtection/"
        f"locations/centraluseuap/backupJobs/{guid_of(bv_job())}"
    )
    done = run_cli("get", job_id, "-o", "json")
    assert done.exit_code == 0, done.stderr


@pytest.mark.usefixtures("backup_vault")
@pytest.mark.parametrize("fmt", FORMATS)
def test_bv_list_filters_on_the_client(rsps: responses.RequestsMock, fmt: str) -> None:
    listed = json.loads(text("dataprotection/recorded/crr_fetchCrossRegionRestoreJobs_list.json"))
    rsps.post(
        f"{BV_CRR}/fetchCrossRegionRestoreJobs",
        json=listed,
        match=[
            matchers.query_param_matcher(DPP),
            matchers.json_params_matcher(
                {"sourceRegion": "eastus2euap", "sourceBackupVaultId": BV_VAULT_ID}
            ),
        ],
    )
    serve_bv_vault(rsps)
    done = run_cli(
        "list",
        "--paired-region",
        "centraluseuap",
        "--since",
        "2020-01-01",
        "--status",
        "Failed",
        "-o",
        fmt,
    )
    assert done.exit_code == 0, done.stderr
    failed = [j for j in listed["value"] if j["properties"]["status"] == "Failed"]
    assert len(failed) == 1
    if fmt == "json":
        assert json.loads(done.stdout) == failed
    if fmt == "ndjson":
        assert [json.loads(line) for line in done.stdout.splitlines()] == failed


@pytest.mark.usefixtures("backup_vault")
def test_bv_empty_list(rsps: responses.RequestsMock) -> None:
    serve_bv_vault(rsps)
    rsps.post(
        f"{BV_CRR}/fetchCrossRegionRestoreJobs",
        body=text("dataprotection/recorded/crr_fetchCrossRegionRestoreJobs_empty.json"),
        content_type="application/json",
    )
    done = run_cli("list", "--paired-region", "centraluseuap", "-o", "json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == []


# ----- usage errors: before any request ---------------------------------------------------------
CRR_ID = (
    f"/subscriptions/{SUB}/providers/Microsoft.RecoveryServices/locations/centraluseuap/"
    "backupJobs/4f2628ab-483d-4ba4-853d-7785affbb694"
)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("cancel", "4f2628ab-483d-4ba4-853d-7785affbb694", "--secondary-region", "-y"), "option"),
        (("cancel", CRR_ID, "-y"), "cross-region restore"),
        (("list", "--fleet", "--secondary-region"), "--fleet"),
        (("list", "--fleet", "--paired-region", "westus"), "--fleet"),
        (("watch", "--fleet", "--secondary-region"), "--fleet"),
        (("watch", "--operation", "4f2628ab-483d-4ba4-853d-7785affbb694", "--secondary-region"),
         "--operation"),
        (("watch", CRR_ID, f"{RS_VAULT_ID}/backupJobs/4f2628ab-483d-4ba4-853d-7785affbb695"),
         "both regions"),
    ],
)  # fmt: skip
def test_what_has_no_secondary_form_is_refused_before_any_request(
    args: tuple[str, ...], says: str
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        done = run_cli(*args)
    assert done.exit_code == ExitCode.USAGE, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr


# ----- watching ---------------------------------------------------------------------------------
def test_watch_follows_a_crr_job_to_its_failure(rsps: responses.RequestsMock) -> None:
    body = rs_job("crr_sql_failed.json")
    serve_rs_job(rsps, body)
    done = run_cli("watch", CRR_ID.replace(CRR_ID[-36:], guid_of(body)), "-o", "json")
    assert done.exit_code == ExitCode.JOB_FAILED, done.stderr
    assert json.loads(done.stdout) == json.loads(body)


def test_secondary_watches_poll_every_30_seconds_by_default() -> None:
    assert WatchCommandOptions().poll_interval == 10
    assert WatchCommandOptions(secondary_region=True).poll_interval == 30
    assert WatchCommandOptions(paired_region="westus").poll_interval == 30
    assert WatchCommandOptions(jobs=(CRR_ID,)).poll_interval == 30
    assert WatchCommandOptions(jobs=(CRR_ID,), interval=5.0).poll_interval == 5


def test_watch_help_says_why_the_interval_is_30_seconds() -> None:
    done = run_cli("watch", "--help", env={"COLUMNS": "200"})
    assert done.exit_code == 0
    flat = " ".join(done.stdout.split())
    assert "--secondary-region" in flat
    assert "write quota" in flat and "30 s" in flat


class Writes:
    """A reader whose answers report ``left`` writes, one value per tick; done after them."""

    def __init__(self, left: list[int | None]) -> None:
        self.left = left
        self.ticks = 0
        self.jobs: list[Tracked] = []

    def read(self) -> TickReport:
        report = TickReport(writes_left=self.left[self.ticks], requests=1)
        self.ticks += 1
        return report

    def verdict(self, policy: PollPolicy) -> Any:
        return "ended" if self.ticks >= len(self.left) else None


def test_the_loop_slows_down_in_proportion_when_writes_run_low() -> None:
    fake = FakeTime()
    notes: list[str] = []
    reader = Writes([1000, 50, 10, 0, 500, None])
    poller = Poller(
        reader,
        PollPolicy(interval=30.0, jitter=0.0),
        clock=fake.clock,
        sleep=fake.sleep,
        rng=random.Random(1),
        notify=notes.append,
    )
    snapshots = list(poller.run())
    # 1000 left: 30 s; 50: twice as long; 10 and 0: ten times (the most); 500: 30 s again.
    assert fake.sleeps == [30.0, 60.0, 300.0, 300.0, 30.0]
    assert [s.interval for s in snapshots[:-1]] == [30.0, 60.0, 300.0, 300.0, 30.0]
    assert len(notes) == 1
    assert "50 writes left" in notes[0] and "every 60 s instead of 30 s" in notes[0]


def test_the_watch_reads_the_write_headroom_from_the_answers(
    rsps: responses.RequestsMock,
) -> None:
    """Through the whole watch: the source's POST answers report 40 writes left, so the next
    poll comes 2.5 intervals later, and stderr says so once."""
    running = json.loads(rs_job("crr_iaasvm_inprogress.json"))
    ended = json.loads(rs_job("crr_iaasvm_completed.json"))
    ended["name"] = running["name"]
    url = f"{RS_CRR}/backupCrrJob"
    low = {"x-ms-ratelimit-remaining-subscription-writes": "40"}
    rsps.post(url, json=running, headers=low)
    rsps.post(url, json=running, headers=low)
    rsps.post(url, json=ended)
    fake = FakeTime()
    env = fake_environment()
    ctx = resolve_context(
        ContextFlags(subscription=SUB, resource_group=RG, vault=VAULT, vault_type="backup"),
        {},
        az_defaults=False,
    )
    ctx = replace(ctx, vault_kind=VaultKind.RECOVERY_SERVICES)
    session = Session(
        env=env,
        out=Output(env, "json"),
        ctx=ctx,
        client=BackupJobsClient(ctx, StaticTokenProvider("t"), retry=NO_RETRY, sleep=fake.sleep),
        secondary=SecondaryRegion("centraluseuap"),
    )
    code = watch_jobs(
        session,
        [running["name"]],
        WatchOptions(interval=30.0),
        sleep=fake.sleep,
        clock=fake.clock,
        rng=random.Random(3),
    )
    assert code == ExitCode.OK
    assert len(fake.sleeps) == 2
    assert all(70 <= s <= 80 for s in fake.sleeps), fake.sleeps  # 75 s give or take the jitter
    notes = env.stderr.getvalue()
    assert notes.count("writes left") == 1
    assert "only 40 writes left" in notes and "every 75 s instead of 30 s" in notes


def test_cache_clear_forgets_the_location_and_the_pair(rsps: responses.RequestsMock) -> None:
    body = rs_job("crr_iaasvm_completed.json")
    for _ in range(2):  # looked up, forgotten, looked up again
        serve_rs_vault(rsps)
        serve_locations(rsps)
        serve_rs_job(rsps, body)
        done = run_cli("get", guid_of(body), "--secondary-region", "-o", "json")
        assert done.exit_code == 0, done.stderr
        assert len(rsps.calls) == 3
        cleared = run_cli("cache", "clear")
        assert cleared.exit_code == 0, cleared.stderr
        rsps.reset()
