"""Fault injection: each kind, reproducibility, Retry-After scaling and early retries."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator

import pytest
import requests
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle, start_emulator

JOBS = "/backupJobs"


@pytest.fixture
def faulty() -> Iterator[EmulatorHandle]:
    with start_emulator(seed=5, faults=1.0, fault_kinds="429", speed=20, slow_seconds=0.3) as emu:
        yield emu


def test_429_with_scaled_retry_after_and_arm_body(faulty: EmulatorHandle) -> None:
    api = Api(faulty)
    response = api.get(JOBS)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"  # 10 s / speed 20, at least 1
    assert error_code(response) == "ResourceRequestsThrottled"
    assert response.json()["error"]["message"] == (
        "Number of requests for action 'Microsoft.RecoveryServices/vaults/backupJobs/read' "
        "exceeded the limit of '150' for time interval '01:00:00'. Please try again after "
        "'1' seconds."
    )
    assert faulty.request_log[-1].fault == "429"


def test_retry_after_at_speed_one() -> None:
    with start_emulator(seed=1, faults=1.0, fault_kinds=["429"]) as emu:
        response = Api(emu).get(JOBS)
        assert response.headers["Retry-After"] == "10"
        assert "'10' seconds" in response.json()["error"]["message"]


def test_a_request_before_retry_after_gets_another_429(faulty: EmulatorHandle) -> None:
    api = Api(faulty)
    assert api.get(JOBS).status_code == 429
    faulty.set_faults(0.0)
    early = api.get(JOBS)
    assert early.status_code == 429
    assert int(early.headers["Retry-After"]) >= 1
    log = faulty.request_log
    assert [r.fault for r in log] == ["429", "429-early"]
    faulty.advance(20)  # one real second at speed 20
    assert api.get(JOBS).status_code == 200
    assert faulty.request_log[-1].fault is None


def test_throttling_is_per_principal(faulty: EmulatorHandle) -> None:
    api = Api(faulty)
    assert api.get(JOBS).status_code == 429
    faulty.set_faults(0.0)
    other = requests.get(api.url(JOBS), params={"api-version": "2026-10-01"}, timeout=5)
    assert other.status_code == 401  # not throttled: another caller (no token at all)


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        ("500", "InternalServerError", "Encountered internal server error. Diagnostic information"),
        ("503", "ServerTimeout", "The request timed out. Diagnostic information"),
    ],
)
def test_server_errors(kind: str, code: str, message: str) -> None:
    with start_emulator(seed=1, faults=1.0, fault_kinds=kind) as emu:
        response = Api(emu).get(JOBS)
        assert response.status_code == int(kind)
        assert error_code(response) == code
        assert response.json()["error"]["message"].startswith(message)
        assert emu.subscription in response.json()["error"]["message"]
        assert response.headers["x-ms-failure-cause"] == "gateway"


def test_reset_drops_the_connection() -> None:
    with start_emulator(seed=1, faults=1.0, fault_kinds="reset") as emu:
        with pytest.raises(requests.ConnectionError):
            Api(emu).get(JOBS)
        assert emu.request_log[-1].status is None and emu.request_log[-1].fault == "reset"
        # At the socket level it is a reset, not a polite close.
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        conn.request("GET", "/backupJobs?api-version=2026-10-01")
        with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
            conn.getresponse()
        conn.close()


def test_slow_answers_late_but_right() -> None:
    with start_emulator(seed=1, faults=1.0, fault_kinds="slow", slow_seconds=0.3) as emu:
        started = time.monotonic()
        response = Api(emu).get(JOBS)
        assert response.status_code == 200 and response.json()["value"]
        assert time.monotonic() - started >= 0.3
        assert emu.request_log[-1].fault == "slow"


def test_truncated_body() -> None:
    with start_emulator(seed=1, faults=1.0, fault_kinds="truncated") as emu:
        with pytest.raises(requests.exceptions.RequestException):
            Api(emu).get(JOBS).json()
        sock = socket.create_connection(("127.0.0.1", emu.port), timeout=5)
        sock.sendall(
            f"GET {Api(emu).vault_path()}/backupJobs?api-version=2026-10-01 HTTP/1.1\r\n"
            f"Host: x\r\nAuthorization: Bearer {emu.token}\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        assert 0 < len(body) < length


def test_metadata_and_identity_endpoints_never_fail() -> None:
    with start_emulator(seed=1, faults=1.0) as emu:
        for _ in range(10):
            assert requests.get(emu.metadata_url, timeout=5).status_code == 200
            token = requests.get(
                emu.identity_endpoint,
                params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
                headers={"X-IDENTITY-HEADER": emu.identity_header},
                timeout=5,
            )
            assert token.status_code == 200
        assert all(r.fault is None for r in emu.request_log)


def fault_sequence(seed: int) -> list[str | None]:
    with start_emulator(seed=seed, faults=0.5, fault_kinds="500,503") as emu:
        api = Api(emu)
        for _ in range(30):
            api.get(JOBS)
        return [r.fault for r in emu.request_log]


def test_faults_are_reproducible_with_a_seed() -> None:
    first, second, other = fault_sequence(11), fault_sequence(11), fault_sequence(12)
    assert first == second
    assert first != other
    assert 5 < sum(f is not None for f in first) < 25


def test_each_kind_can_be_chosen() -> None:
    with start_emulator(seed=2, faults=1.0, fault_kinds="500,503,slow", slow_seconds=0.0) as emu:
        api = Api(emu)
        for _ in range(30):
            api.get(JOBS)
        assert {r.fault for r in emu.request_log} == {"500", "503", "slow"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"faults": 1.5}, "faults must be"),
        ({"faults": -0.1}, "faults must be"),
        ({"fault_kinds": "429,boom"}, "unknown fault kind 'boom'"),
        ({"fault_kinds": ""}, "no fault kinds"),
        ({"speed": 0}, "speed must be"),
        ({"speed": -2}, "speed must be"),
        ({"page_size": 0}, "page size"),
        ({"host": "0.0.0.0"}, "--allow-remote"),
        ({"host": "192.0.2.10"}, "--allow-remote"),
        ({"port": 70000}, "port must be"),
        ({"token": "has space"}, "token"),
    ],
)
def test_bad_options_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        start_emulator(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_remote_host_with_allow_remote() -> None:
    with start_emulator(host="0.0.0.0", allow_remote=True) as emu:
        assert emu.url.startswith("http://0.0.0.0:")
        assert requests.get(f"http://127.0.0.1:{emu.port}/metadata/endpoints", timeout=5).ok
