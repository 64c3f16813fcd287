"""The HTTP side of ``metrics --serve``: the listening address, content negotiation, gzip, the
stale-data path (a failed refresh keeps serving the last data, with its age), ``/healthz`` and
the bound on connections. A real server on a loopback port, a refresher with an injected clock.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from azbackupjobs.follow.refresh import Refresher, RefreshState
from azbackupjobs.model.errors import ApiError, AzJobsError, UsageError
from azbackupjobs.view import metrics
from azbackupjobs.view.metrics_http import MetricsServer, app_for, is_loopback, parse_listen

SUB = "11111111-1111-4111-8111-111111111111"
GUID = "00000000-0000-4000-8000-000000000001"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
JOB: dict[str, Any] = {
    "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices"
    f"/vaults/v1/backupJobs/{GUID}",
    "name": GUID,
    "properties": {
        "entityFriendlyName": "vm1",
        "backupManagementType": "AzureIaasVM",
        "operation": "Backup",
        "status": "Completed",
        "startTime": START.isoformat(),
        "endTime": (START + timedelta(minutes=30)).isoformat(),
    },
}
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


# ----- the address ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (":9464", ("127.0.0.1", 9464)),
        ("localhost:9464", ("127.0.0.1", 9464)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("0.0.0.0:9464", ("0.0.0.0", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("[::]:80", ("::", 80)),
        ("10.1.2.3:9464", ("10.1.2.3", 9464)),
    ],
)
def test_listen_addresses(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


def test_the_default_host_is_loopback() -> None:
    host, _ = parse_listen(":9464")
    assert is_loopback(host)
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and is_loopback("::1")


@pytest.mark.parametrize(
    "value", ["9464", "host:9464", "1.2.3:80", ":99999", ":-1", "[::1]", ":", "127.0.0.1:http"]
)
def test_bad_listen_addresses_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_listen(value)
    assert info.value.message.startswith("--serve:")


# ----- a server --------------------------------------------------------------------------------
class Wall:
    def __init__(self) -> None:
        self.now = START.timestamp() + 3600

    def __call__(self) -> float:
        return self.now


class Source:
    """The jobs of each refresh: a snapshot, or an error to raise."""

    def __init__(self, wall: Wall) -> None:
        self.wall = wall
        self.fail: Exception | None = None

    def load(self) -> metrics.Exposition:
        if self.fail is not None:
            raise self.fail
        return metrics.Exposition(
            metrics.summarize([JOB], taken_at=self.wall(), window_seconds=86400)
        )


def health_of(state: RefreshState[metrics.Exposition]) -> metrics.ExporterHealth:
    return metrics.ExporterHealth(
        source="vault",
        refreshed_at=state.attempted_at,
        ok=state.ok,
        duration=state.duration,
        data_at=state.value_at,
        successes=state.successes,
        failures=state.failures,
    )


Served = tuple[MetricsServer, Refresher[metrics.Exposition], Source, Wall]


@pytest.fixture
def served() -> Iterator[Served]:
    wall = Wall()
    source = Source(wall)
    refresher = Refresher(source.load, 60.0, wall=wall)
    refresher.refresh(raise_errors=True)
    server = MetricsServer("127.0.0.1", 0, app_for(refresher, health_of), max_connections=2)
    server.start()
    try:
        yield server, refresher, source, wall
    finally:
        server.close()


def get(
    server: MetricsServer, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def gauge(text: str, name: str) -> float:
    return next(
        s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name
    )


def test_a_plain_scrape_gets_the_prometheus_text_format(served: Served) -> None:
    server = served[0]
    assert server.url == f"http://127.0.0.1:{server.port}/metrics"
    status, headers, body = get(server, "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "content-encoding" not in headers
    text = body.decode()
    assert 'azjobs_jobs{operation="Backup"' in text and "# EOF" not in text
    assert int(headers["content-length"]) == len(body)


def test_prometheus_gets_openmetrics_gzipped(served: Served) -> None:
    server = served[0]
    status, headers, body = get(
        server, "/metrics", {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert headers["content-encoding"] == "gzip"
    text = gzip.decompress(body).decode()
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    assert "azjobs_item_last_success_timestamp_seconds{" in text


def test_head_has_the_headers_and_no_body(served: Served) -> None:
    status, headers, body = get(served[0], "/metrics", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_other_paths_and_methods(served: Served) -> None:
    server = served[0]
    assert get(server, "/")[0] == 200
    assert get(server, "/nope")[0] == 404
    assert get(server, "/metrics", method="POST")[0] == 501


def test_a_failed_refresh_serves_the_last_data_with_its_age(served: Served) -> None:
    server, refresher, source, wall = served
    taken = wall.now
    status, _, body = get(server, "/healthz")
    assert status == 200 and body.startswith(b"ok: the last successful refresh ended 0 s ago")
    source.fail = ApiError("HTTP 503 ServiceUnavailable: try later")
    wall.now = taken + 70
    refresher.refresh()
    text = get(server, "/metrics")[2].decode()
    assert gauge(text, "azjobs_exporter_last_refresh_success") == 0
    assert gauge(text, "azjobs_exporter_data_age_seconds") == 70
    assert gauge(text, "azjobs_exporter_refreshes_total") == 1  # result="success", listed first
    assert 'azjobs_jobs{operation="Backup"' in text  # still the last good data
    # One failure within two intervals: still healthy, and says what failed.
    status, _, body = get(server, "/healthz")
    assert status == 200 and b"the latest failed: HTTP 503" in body
    wall.now = taken + 121
    status, _, body = get(server, "/healthz")
    assert status == 503
    assert body.startswith(b"stale: the last successful refresh ended 121 s ago; HTTP 503")
    source.fail = None
    refresher.refresh()
    assert get(server, "/healthz")[0] == 200
    text = get(server, "/metrics")[2].decode()
    assert gauge(text, "azjobs_exporter_last_refresh_success") == 1


def test_connections_beyond_the_bound_get_503_at_once(served: Served) -> None:
    server = served[0]
    held = []
    try:
        for _ in range(2):  # max_connections=2: two silent clients hold both slots
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            sock.sendall(b"GET /metrics HTTP/1.0\r\n")
            held.append(sock)
        status, headers, body = get(server, "/metrics")
        assert status == 503 and body == b"busy\n" and headers["retry-after"] == "1"
    finally:
        for sock in held:
            sock.close()


def test_a_port_in_use_is_one_clear_error(served: Served) -> None:
    server = served[0]
    with pytest.raises(AzJobsError) as info:
        MetricsServer("127.0.0.1", server.port, app_for(served[1], health_of))
    assert f"--serve: cannot listen on 127.0.0.1:{server.port}" in info.value.message
    assert info.value.exit_code == 1


def test_ipv6_loopback_serves_too() -> None:
    wall = Wall()
    refresher = Refresher(Source(wall).load, 60.0, wall=wall)
    refresher.refresh(raise_errors=True)
    server = MetricsServer(*parse_listen("[::1]:0"), app_for(refresher, health_of))
    server.start()
    try:
        assert server.url == f"http://[::1]:{server.port}/metrics"
        conn = http.client.HTTPConnection("::1", server.port, timeout=30)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        server.close()


def big_source(wall: Wall, items: int) -> Source:
    """A source whose exposition is several megabytes: more than socket buffers hold."""
    source = Source(wall)
    jobs = []
    for i in range(items):
        job = json.loads(json.dumps(JOB))
        job["name"] = f"00000000-0000-4000-8000-{i:012d}"
        job["id"] = JOB["id"].rsplit("/", 1)[0] + "/" + job["name"]
        job["properties"]["entityFriendlyName"] = f"vm-with-a-rather-long-name-{i:06d}"
        jobs.append(job)

    def load() -> metrics.Exposition:
        return metrics.Exposition(metrics.summarize(jobs, taken_at=wall(), window_seconds=86400))

    source.load = load  # type: ignore[method-assign]
    return source


def test_a_scraper_that_hangs_up_mid_answer_is_no_error(capfd: pytest.CaptureFixture[str]) -> None:
    wall = Wall()
    refresher = Refresher(big_source(wall, 5000).load, 60.0, wall=wall)
    refresher.refresh(raise_errors=True)
    server = MetricsServer("127.0.0.1", 0, app_for(refresher, health_of))
    server.start()
    try:
        for _ in range(3):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            sock.recv(100)
            # A reset instead of a polite close, as a scraper giving up does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        assert get(server, "/healthz")[0] == 200  # still serving
    finally:
        server.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and err == ""


def test_a_failing_request_is_one_line_not_a_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    wall = Wall()
    refresher = Refresher(Source(wall).load, 60.0, wall=wall)
    refresher.refresh(raise_errors=True)

    def broken(state: RefreshState[metrics.Exposition]) -> metrics.ExporterHealth:
        raise RuntimeError("a bug")

    server = MetricsServer("127.0.0.1", 0, app_for(refresher, broken))
    server.start()
    try:
        with pytest.raises(http.client.RemoteDisconnected):
            get(server, "/metrics")
        assert get(server, "/healthz")[0] == 200
    finally:
        server.close()
    err = capfd.readouterr().err
    assert err == "azjobs: a request to the metrics server failed: RuntimeError: a bug\n"
