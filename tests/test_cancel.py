"""``azjobs cancel`` against a scripted service (``responses``): the checks before anything is
sent, the confirmation, the POST and its operation (202 -> 202 -> 204, Retry-After), errors,
and ``--wait`` to the job's end."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import responses

from azbackupjobs.commands.cancel import CancelOptions, CancelRefused, run_cancel
from azbackupjobs.commands.common import CommonOptions
from azbackupjobs.model.errors import (
    ApiError,
    ExitCode,
    UnexpectedResponseError,
    UsageError,
    WatchTimeout,
)
from tests.harness import FakeEnvironment, fake_environment, run_cli, sent_url, strict_mock

SUB = "00000000-0000-0000-0000-0000000000aa"
RG = "rg1"
VAULT = "vault1"
ENDPOINT = "https://management.azure.com"
BASE = (
    f"{ENDPOINT}/subscriptions/{SUB}/resourceGroups/{RG}"
    f"/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
)
GUID = "73e47398-73a0-45fb-b56b-9997e6d84229"
OP = "df8f706d-a76d-4d6e-8050-cc91f0641f03"
JOB_URL = f"{BASE}/backupJobs/{GUID}?api-version=2026-10-01"
CANCEL_URL = f"{BASE}/backupJobs/{GUID}/cancel?api-version=2026-10-01"
# As the service sends it: an older api-version than the request's.
LOCATION = f"{BASE}/backupJobs/{GUID}/operationResults/{OP}?api-version=2016-12-01"
# The form the PowerShell client polls: the literal "Azure" where the job name would be.
LOCATION_AZURE = f"{BASE}/backupJobs/Azure/operationResults/{OP}?api-version=2019-05-13"
TOKEN = "test-token-value"

RUNNING: dict[str, Any] = {
    "id": f"{BASE}/backupJobs/{GUID}",
    "name": GUID,
    "type": "Microsoft.RecoveryServices/vaults/backupJobs",
    "properties": {
        "jobType": "AzureIaaSVMJob",
        "actionsInfo": ["Cancellable"],
        "duration": "PT7M15.6038625S",
        "virtualMachineVersion": "Compute",
        "extendedInfo": {
            "tasksList": [
                {"taskId": "Take Snapshot", "duration": "PT7M14S", "status": "InProgress"},
                {"taskId": "Transfer data to vault", "duration": "PT0S", "status": "NotStarted"},
            ],
            "propertyBag": {"VM Name": "vm1"},
        },
        "entityFriendlyName": "vm1",
        "backupManagementType": "AzureIaasVM",
        "operation": "Backup",
        "status": "InProgress",
        "startTime": "2023-12-21T05:52:05.9961118Z",
        "activityId": "10b83913-9fc5-11ee-a020-644ed7a2823f",
    },
}


def variant(status: str, **props: Any) -> dict[str, Any]:
    job = copy.deepcopy(RUNNING)
    job["properties"]["status"] = status
    if status != "InProgress":
        job["properties"].pop("actionsInfo")
    if status in {"Cancelled", "Completed", "CompletedWithWarnings", "Failed"}:
        job["properties"]["endTime"] = "2023-12-21T06:02:05.1Z"
    job["properties"].update(props)
    return job


CANCELLED_AS_WARNINGS = variant(
    "CompletedWithWarnings",
    errorDetails=[
        {
            "errorCode": 400158,
            "errorTitle": "UserErrorJobSuccessfullyCancelled",
            "errorString": "Job is cancelled.",
            "recommendations": [],
        }
    ],
)


class FakeTime:
    """A clock that only moves when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def env_of(tmp_path: Path, *, stdin_tty: bool = False) -> FakeEnvironment:
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
        },
        stdin_tty=stdin_tty,
    )


def cancel(
    tmp_path: Path,
    *,
    output: str = "json",
    stdin_tty: bool = False,
    answer: str | None = None,
    time: FakeTime | None = None,
    **kwargs: Any,
) -> tuple[int, str, str]:
    env = env_of(tmp_path, stdin_tty=stdin_tty)
    fake = time or FakeTime()

    def read_answer() -> str:
        assert answer is not None, "the command asked although it should not have"
        return answer

    kwargs.setdefault("yes", answer is None)
    code = run_cancel(
        GUID,
        CommonOptions(output=output),
        CancelOptions(**kwargs),
        env,
        sleep=fake.sleep,
        clock=fake.clock,
        read_answer=read_answer,
    )
    return code, env.out, env.err


def accepted(
    location: str | None = LOCATION, retry_after: str | None = "60", **more: str
) -> dict[str, str]:
    headers = dict(more)
    if location is not None:
        headers["Location"] = location
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return headers


# ----- the whole flow ----------------------------------------------------------------------
def test_cancel_202_202_204_honours_retry_after(tmp_path: Path) -> None:
    fake = FakeTime()
    cancelling = variant("Cancelling")
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(responses.POST, CANCEL_URL, status=202, headers=accepted(retry_after="60"))
        rsps.add(
            responses.GET, LOCATION, status=202, headers=accepted(LOCATION_AZURE, retry_after="30")
        )
        rsps.add(responses.GET, LOCATION_AZURE, status=204)
        rsps.add(responses.GET, JOB_URL, json=cancelling)
        code, out, err = cancel(tmp_path, time=fake)
        urls = [(c.request.method, sent_url(c)) for c in rsps.calls]
        posted = rsps.calls[1].request
    assert code == ExitCode.OK
    assert json.loads(out) == cancelling  # the job resource after the request
    assert fake.sleeps == [60, 30]
    # The Locations are followed verbatim: their api-versions, the literal "Azure".
    assert urls == [
        ("GET", JOB_URL),
        ("POST", CANCEL_URL),
        ("GET", LOCATION),
        ("GET", LOCATION_AZURE),
        ("GET", JOB_URL),
    ]
    assert posted.headers["Authorization"] == f"Bearer {TOKEN}"
    assert not posted.body
    assert f"Backup of vm1 (job {GUID})" in err


def test_no_retry_after_polls_at_the_default_pace(tmp_path: Path) -> None:
    fake = FakeTime()
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(responses.POST, CANCEL_URL, status=202, headers=accepted(retry_after=None))
        rsps.add(responses.GET, LOCATION, status=202)  # no new Location: poll the same one
        rsps.add(responses.GET, LOCATION, status=200)
        rsps.add(responses.GET, JOB_URL, json=variant("Cancelling"))
        code, _, _ = cancel(tmp_path, time=fake)
    assert code == ExitCode.OK
    assert fake.sleeps == [10.0, 10.0]


def test_a_relative_location_is_resolved_on_the_endpoint(tmp_path: Path) -> None:
    relative = LOCATION.removeprefix(ENDPOINT)
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(responses.POST, CANCEL_URL, status=202, headers=accepted(relative, "1"))
        rsps.add(responses.GET, LOCATION, status=204)
        rsps.add(responses.GET, JOB_URL, json=variant("Cancelling"))
        code, _, _ = cancel(tmp_path)
    assert code == ExitCode.OK


def test_only_an_async_operation_header(tmp_path: Path) -> None:
    status_url = f"{BASE}/backupJobs/{GUID}/operationsStatus/{OP}?api-version=2019-05-13-preview"
    fake = FakeTime()
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(
            responses.POST,
            CANCEL_URL,
            status=202,
            headers=accepted(None, "5", **{"Azure-AsyncOperation": status_url}),
        )
        rsps.add(responses.GET, status_url, json={"id": OP, "name": OP, "status": "InProgress"})
        rsps.add(responses.GET, status_url, json={"id": OP, "name": OP, "status": "Succeeded"})
        rsps.add(responses.GET, JOB_URL, json=variant("Cancelling"))
        code, _, _ = cancel(tmp_path, time=fake)
    assert code == ExitCode.OK
    assert fake.sleeps == [5, 5]


def test_accepted_at_once(tmp_path: Path) -> None:
    fake = FakeTime()
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(responses.POST, CANCEL_URL, status=204)
        rsps.add(responses.GET, JOB_URL, json=variant("Cancelling"))
        code, _, _ = cancel(tmp_path, time=fake)
    assert code == ExitCode.OK and fake.sleeps == []


def test_actions_info_as_an_integer_is_cancellable(tmp_path: Path) -> None:
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=variant("InProgress", actionsInfo=[1]))
        rsps.add(responses.POST, CANCEL_URL, status=202, headers=accepted(retry_after="1"))
        rsps.add(responses.GET, LOCATION, status=204)
        rsps.add(responses.GET, JOB_URL, json=variant("Cancelling"))
        code, _, _ = cancel(tmp_path)
    assert code == ExitCode.OK


# ----- refused before anything is sent -----------------------------------------------------
@pytest.mark.parametrize(
    ("job", "phrase"),
    [
        (variant("Completed"), "is not running (it is Completed)"),
        (variant("Failed"), "is not running (it is Failed)"),
        (variant("Cancelled"), "is not running (it is Cancelled)"),
        (variant("Cancelling"), "is already being cancelled"),
        (variant("InProgress", actionsInfo=None), "cannot be cancelled now"),
        (variant("InProgress", actionsInfo=[2]), "cannot be cancelled now"),  # Retriable only
    ],
)
def test_refused_and_nothing_sent(tmp_path: Path, job: dict[str, Any], phrase: str) -> None:
    if job["properties"].get("actionsInfo", "") is None:
        job["properties"].pop("actionsInfo")  # absent, as the service sends it
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=job)
        with pytest.raises(CancelRefused) as caught:
            cancel(tmp_path)
        assert len(rsps.calls) == 1
    assert caught.value.exit_code == ExitCode.ERROR
    assert phrase in str(caught.value) and "nothing sent" in str(caught.value)
    assert f"Backup of vm1 (job {GUID})" in str(caught.value)


def test_without_a_terminal_refuses_without_yes_before_any_request(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        with pytest.raises(UsageError) as caught:
            cancel(tmp_path, yes=False)
        assert len(rsps.calls) == 0
    assert caught.value.exit_code == ExitCode.USAGE
    assert "--yes" in (caught.value.hint or "")


def test_bad_flags_are_usage_errors_before_any_request(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        with pytest.raises(UsageError):
            cancel(tmp_path, timeout="soon")
        with pytest.raises(UsageError):
            cancel(tmp_path, interval="0")
        with pytest.raises(UsageError):
            cancel(tmp_path, timeout="-5")
        with pytest.raises(UsageError):
            run_cancel("not-a-job", CommonOptions(), CancelOptions(yes=True), env_of(tmp_path))
        assert len(rsps.calls) == 0


# ----- the confirmation --------------------------------------------------------------------
@pytest.mark.parametrize("answer", ["y\n", "Y\n", "yes\n", " YES \n"])
def test_prompt_yes_cancels(tmp_path: Path, answer: str) -> None:
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(responses.POST, CANCEL_URL, status=202, headers=accepted(retry_after="1"))
        rsps.add(responses.GET, LOCATION, status=204)
        rsps.add(responses.GET, JOB_URL, json=variant("Cancelling"))
        code, _, err = cancel(tmp_path, stdin_tty=True, answer=answer)
    assert code == ExitCode.OK
    assert err.startswith(f"Cancel Backup of vm1 (job {GUID})? [y/N] ")


@pytest.mark.parametrize("answer", ["n\n", "\n", "", "yep\n", "no\n"])
def test_prompt_anything_else_sends_nothing(tmp_path: Path, answer: str) -> None:
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        code, out, err = cancel(tmp_path, stdin_tty=True, answer=answer)
        assert len(rsps.calls) == 1
    assert code == ExitCode.ERROR
    assert out == ""
    assert "Not cancelled." in err


def test_yes_on_a_terminal_does_not_ask(tmp_path: Path) -> None:
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(responses.POST, CANCEL_URL, status=204)
        rsps.add(responses.GET, JOB_URL, json=variant("Cancelling"))
        code, _, err = cancel(tmp_path, stdin_tty=True, yes=True)
    assert code == ExitCode.OK and "[y/N]" not in err


# ----- errors ------------------------------------------------------------------------------
def test_a_400_shows_the_service_message(tmp_path: Path) -> None:
    message = (
        "Job cannot be cancelled as it is in a phase (data transfer) that does not "
        "support cancellation."
    )
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(
            responses.POST,
            CANCEL_URL,
            status=400,
            json={"error": {"code": "BMSUserErrorJobNotCancellable", "message": message}},
        )
        with pytest.raises(ApiError) as caught:
            cancel(tmp_path)
    assert caught.value.exit_code == ExitCode.ERROR
    text = str(caught.value)
    assert "refused to cancel Backup of vm1" in text
    assert "BMSUserErrorJobNotCancellable" in text and message in text
    assert caught.value.request_id


def test_location_on_another_host_is_not_followed(tmp_path: Path) -> None:
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(
            responses.POST,
            CANCEL_URL,
            status=202,
            headers=accepted("https://evil.example/operationResults/x", "1"),
        )
        with pytest.raises(UnexpectedResponseError, match="not on the endpoint's host"):
            cancel(tmp_path)
        assert all(sent_url(c).startswith(ENDPOINT) for c in rsps.calls)


def test_passing_trouble_on_the_operation_is_waited_out(tmp_path: Path) -> None:
    fake = FakeTime()
    busy = {"error": {"code": "ServiceUnavailable", "message": "try later"}}
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=RUNNING)
        rsps.add(responses.POST, CANCEL_URL, status=202, headers=accepted(retry_after="1"))
        rsps.add(responses.GET, LOCATION, status=503, json=busy)
        rsps.add(responses.GET, LOCATION, status=204)
        rsps.add(responses.GET, JOB_URL, json=variant("Cancelling"))
        code, _, err = cancel(tmp_path, time=fake)
    assert code == ExitCode.OK
    assert fake.sleeps[0] == 1 and 9.5 <= fake.sleeps[1] <= 10.5
    assert "service error (HTTP 503): retrying in" in err


def _never_done(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, JOB_URL, json=RUNNING)
    rsps.add(responses.POST, CANCEL_URL, status=202, headers=accepted(retry_after="60"))
    rsps.add(responses.GET, LOCATION, status=202, headers=accepted(retry_after="60"))


def test_the_operation_wait_is_bounded(tmp_path: Path) -> None:
    fake = FakeTime()
    with responses.RequestsMock() as rsps:
        _never_done(rsps)
        with pytest.raises(ApiError, match="within 10 minutes") as caught:
            cancel(tmp_path, time=fake)
    assert caught.value.exit_code == ExitCode.ERROR
    assert sum(fake.sleeps) == pytest.approx(600)


def test_timeout_bounds_the_operation_wait_with_exit_5(tmp_path: Path) -> None:
    fake = FakeTime()
    with responses.RequestsMock() as rsps:
        _never_done(rsps)
        with pytest.raises(WatchTimeout) as caught:
            cancel(tmp_path, time=fake, timeout="90")
    assert caught.value.exit_code == ExitCode.TIMEOUT
    assert fake.sleeps == [60, 30]


# ----- outputs -----------------------------------------------------------------------------
def _simple_flow(rsps: responses.RequestsMock, after: dict[str, Any]) -> None:
    rsps.add(responses.GET, JOB_URL, json=RUNNING)
    rsps.add(responses.POST, CANCEL_URL, status=204)
    rsps.add(responses.GET, JOB_URL, json=after)


def test_tsv_and_ndjson_outputs(tmp_path: Path) -> None:
    after = variant("Cancelling")
    with strict_mock(ordered=True) as rsps:
        _simple_flow(rsps, after)
        _, out, _ = cancel(tmp_path, output="tsv")
    assert out.split("\t")[:3] == [GUID, "Cancelling", "Backup"]
    with strict_mock(ordered=True) as rsps:
        _simple_flow(rsps, after)
        _, out, _ = cancel(tmp_path, output="ndjson")
    assert out == json.dumps(after, separators=(",", ":")) + "\n"


def test_table_output_shows_the_job(tmp_path: Path) -> None:
    with strict_mock(ordered=True) as rsps:
        _simple_flow(rsps, variant("Cancelling"))
        _, out, _ = cancel(tmp_path, output="table")
    assert "Cancelling" in out and "vm1" in out


# ----- --wait ------------------------------------------------------------------------------
def _wait_flow(rsps: responses.RequestsMock, *polls: dict[str, Any]) -> None:
    rsps.add(responses.GET, JOB_URL, json=RUNNING)
    rsps.add(responses.POST, CANCEL_URL, status=202, headers=accepted(retry_after="60"))
    rsps.add(responses.GET, LOCATION, status=204)
    for body in polls:
        rsps.add(responses.GET, JOB_URL, json=body)


@pytest.mark.parametrize(
    ("final", "code"),
    [
        (variant("Cancelled"), ExitCode.JOB_CANCELLED),
        (CANCELLED_AS_WARNINGS, ExitCode.JOB_CANCELLED),  # the VM-backup form of cancelled
        (variant("Completed"), ExitCode.OK),  # it finished before the cancel took effect
        (variant("Failed"), ExitCode.JOB_FAILED),
    ],
)
def test_wait_follows_the_job_to_its_end(
    tmp_path: Path, final: dict[str, Any], code: ExitCode
) -> None:
    fake = FakeTime()
    with strict_mock(ordered=True) as rsps:
        _wait_flow(rsps, variant("Cancelling"), final)
        got, out, _ = cancel(tmp_path, wait=True, interval="5", time=fake)
    assert got == code
    assert json.loads(out) == final  # the job resource after the end
    assert fake.sleeps[0] == 60
    assert 4 <= fake.sleeps[1] <= 6  # the --interval, with the watch's jitter


def test_wait_timeout_counts_from_the_request(tmp_path: Path) -> None:
    fake = FakeTime()
    with strict_mock() as rsps:
        _wait_flow(rsps, variant("Cancelling"))
        got, _, err = cancel(tmp_path, wait=True, interval="10", timeout="100", time=fake)
    assert got == ExitCode.TIMEOUT
    assert sum(fake.sleeps) == pytest.approx(100)
    assert "--timeout" in err


# ----- the command line --------------------------------------------------------------------
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The variables of ``env_of``, for a run of the whole command line."""
    return dict(env_of(tmp_path).env)


def test_cli_refuses_without_yes_when_piped(tmp_path: Path) -> None:
    with responses.RequestsMock():
        code, out, err = run_cli("cancel", GUID, env=cli_env(tmp_path), stdin="y\n")
    assert code == ExitCode.USAGE and out == ""
    assert err.startswith("azjobs: error: refusing to cancel") and "--yes" in err


def test_cli_cancel_refused_is_exit_1_one_line(tmp_path: Path) -> None:
    with strict_mock(ordered=True) as rsps:
        rsps.add(responses.GET, JOB_URL, json=variant("Completed"))
        code, out, err = run_cli("cancel", GUID, "--yes", env=cli_env(tmp_path))
    assert code == ExitCode.ERROR and out == ""
    assert len(err.splitlines()) == 1 and "not running" in err


def test_cli_list_unknown_status_is_exit_2(tmp_path: Path) -> None:
    with responses.RequestsMock():
        code, out, err = run_cli("list", "--status", "done", env=cli_env(tmp_path))
    assert code == ExitCode.USAGE and out == ""
    assert "--status" in err and "CompletedWithWarnings" in err
