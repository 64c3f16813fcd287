"""The server itself: keep-alive, concurrency, TLS, state file, the request log and serve()."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from emulator_client import Api

from azbackupjobs.emulator import EmulatorHandle, serve, start_emulator
from azbackupjobs.emulator import tls as tls_module

# -- keep-alive and concurrency ------------------------------------------------------------------


def test_keep_alive_and_no_nagle_stall(emu: EmulatorHandle, api: Api) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    path = api.vault_path() + "/backupJobs?api-version=2026-10-01"
    headers = {"Authorization": f"Bearer {emu.token}"}
    conn.request("GET", path, headers=headers)
    conn.getresponse().read()
    sock = conn.sock
    started = time.monotonic()
    for _ in range(40):
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        response.read()
        assert conn.sock is sock  # the same connection all along
    elapsed = time.monotonic() - started
    # A split write would cost ~40 ms per request (Nagle + delayed ACK): 1.6 s for 40.
    assert elapsed < 0.8, elapsed
    conn.close()
    clients = {r.client for r in emu.request_log}
    assert len(clients) == 1


def test_post_keep_alive_with_bodies(emu: EmulatorHandle, api: Api) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emu.token}"
    from azbackupjobs.emulator import demo_trigger_path

    for vm in ("web-02", "app-02", "test-vm"):
        url = emu.url + demo_trigger_path(vm) + "?api-version=2026-10-01"
        response = session.post(url, json={"properties": {"objectType": "IaasVMBackupRequest"}})
        assert response.status_code == 202
    assert len({r.client for r in emu.request_log}) == 1


def test_concurrent_clients(emu: EmulatorHandle, api: Api) -> None:
    job_ids = emu.job_ids()

    def worker(n: int) -> int:
        client = Api(emu)
        ok = 0
        for i in range(15):
            if client.get(f"/backupJobs/{job_ids[(n + i) % len(job_ids)]}").status_code == 200:
                ok += 1
        client.session.close()
        return ok

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(worker, range(12)))
    assert results == [15] * 12
    assert len(emu.request_log) == 180


def test_stop_is_prompt_with_idle_connections() -> None:
    emu = start_emulator()
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.request("GET", "/metadata/endpoints?api-version=2022-09-01")
    conn.getresponse().read()
    started = time.monotonic()
    emu.stop()
    emu.stop()  # twice is fine
    assert time.monotonic() - started < 2
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", emu.port), timeout=1).close()


def test_request_log(emu: EmulatorHandle, api: Api) -> None:
    api.get("/backupJobs", params={"$filter": "status eq 'Failed'"})
    api.get("/nowhere")
    first, second = emu.request_log
    assert (first.method, first.status, first.fault) == ("GET", 200, None)
    assert first.path.endswith("/backupJobs")
    assert "api-version=2026-10-01" in first.query and "%24filter=" in first.query
    assert second.status == 404
    assert first.time <= second.time
    emu.clear_request_log()
    assert emu.request_log == []


def test_log_sink_gets_one_line_per_request() -> None:
    sink = io.StringIO()
    with start_emulator(log=sink) as emu:
        requests.get(emu.metadata_url, timeout=5)
        requests.get(emu.url + "/x", timeout=5)
    lines = sink.getvalue().splitlines()
    assert len(lines) == 2
    assert "GET /metadata/endpoints?api-version=2019-05-01 -> 200" in lines[0]
    assert "GET /x -> 401" in lines[1]


# -- TLS ---------------------------------------------------------------------------------------


def test_tls_with_ca_bundle() -> None:
    with start_emulator(tls=True, seed=1) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        assert emu.ca_bundle is not None and Path(emu.ca_bundle).exists()
        assert emu.env()["REQUESTS_CA_BUNDLE"] == emu.ca_bundle
        api = Api(emu)
        items = api.list_all()
        assert items and all(i["id"] for i in items)
        # nextLink and Location point at https on the same host.
        first = api.get("/backupJobs").json()
        assert first["nextLink"].startswith(emu.url + "/subscriptions/")
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(emu.metadata_url, timeout=5)  # the system store does not know the CA
        localhost = emu.url.replace("127.0.0.1", "localhost")
        assert requests.get(localhost + "/metadata/endpoints", verify=emu.ca_bundle, timeout=5).ok
        context = ssl.create_default_context(cafile=emu.ca_bundle)
        with (
            socket.create_connection(("127.0.0.1", emu.port)) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls_sock,
        ):
            assert tls_sock.version() in ("TLSv1.2", "TLSv1.3")
        api.session.close()
        directory = Path(emu.ca_bundle).parent
    assert not directory.exists()  # removed at stop


def test_plain_http_to_the_tls_port_fails() -> None:
    with start_emulator(tls=True) as emu:
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(emu.url.replace("https", "http") + "/metadata/endpoints", timeout=5)
        # The server survives the bad handshake.
        assert requests.get(emu.metadata_url, verify=emu.ca_bundle, timeout=5).ok


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_openssl_fallback_certificates(tmp_path: Path) -> None:
    certs = tls_module.Certificates(
        tmp_path, tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    )
    tls_module._generate_with_openssl(certs, "127.0.0.1")
    context = certs.server_context()
    assert context is not None
    client = ssl.create_default_context(cafile=str(certs.ca_file))
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept() -> None:
        conn, _ = server.accept()
        with context.wrap_socket(conn, server_side=True) as tls_conn:
            tls_conn.sendall(b"ok")

    thread = threading.Thread(target=accept)
    thread.start()
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        client.wrap_socket(raw, server_hostname="localhost") as tls_sock,
    ):
        assert tls_sock.recv(2) == b"ok"
    thread.join()
    server.close()


def test_tls_without_any_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="cryptography"):
        tls_module.generate("127.0.0.1")


# -- state file --------------------------------------------------------------------------------


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sub" / "emulator.json"
    with start_emulator(state_file=state, seed=9) as emu:
        seed_ids = emu.job_ids()
        added = emu.add_job(entity="persist-me", tasks=[("Take Snapshot", 500)])
        op_id = emu.cancel_job(added)
        trigger_op, trigger_job = emu.trigger_backup("web-02")
        emu.advance(100)
        before = emu.now()
    assert state.exists()
    assert [p.name for p in state.parent.iterdir()] == ["emulator.json"]  # no temp files left
    data = json.loads(state.read_text())
    assert data["format"] == 1

    with start_emulator(state_file=state, seed=123) as emu:
        assert emu.now() >= before  # emulated time continues
        assert set(emu.job_ids()) == set(seed_ids) | {added, trigger_job}
        api = Api(emu)
        assert api.job(added)["properties"]["status"] == "Cancelled"
        assert api.get(f"/backupJobs/{added}/operationResults/{op_id}").status_code == 204
        status = api.get(f"/backupOperations/{trigger_op}").json()
        assert status["properties"]["jobId"] == trigger_job
        assert emu.seed_jobs == []  # loaded, not seeded
        api.session.close()


def test_bad_state_file(tmp_path: Path) -> None:
    state = tmp_path / "broken.json"
    state.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read emulator state file"):
        start_emulator(state_file=state)


# -- serve() -----------------------------------------------------------------------------------


def test_serve_prints_the_environment_and_stops(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(serve(port=0, out=out, err=err, stop=stop, seed=1))
    )
    thread.start()
    deadline = time.monotonic() + 5
    while "AZJOBS_VAULT" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("# azjobs emulator at http://127.0.0.1:")
    assert "point azjobs at it" in lines[0] and "(seed 1)" in lines[0]
    assert all(line.startswith(("export ", "# ")) for line in lines)
    exports = [line for line in lines if line.startswith("export ")]
    env = dict(line.removeprefix("export ").split("=", 1) for line in exports)
    assert list(env) == [
        "AZJOBS_ENDPOINT",
        "AZJOBS_ACCESS_TOKEN",
        "AZURE_SUBSCRIPTION_ID",
        "AZJOBS_RESOURCE_GROUP",
        "AZJOBS_VAULT",
    ]
    assert env["AZJOBS_ENDPOINT"].startswith("http://127.0.0.1:")
    assert env["AZJOBS_RESOURCE_GROUP"] == "demo-rg" and env["AZJOBS_VAULT"] == "demo-vault"
    assert requests.get(env["AZJOBS_ENDPOINT"] + "/metadata/endpoints", timeout=5).ok
    stop.set()
    thread.join(5)
    assert codes == [0]
    assert "serving http://127.0.0.1:" in err.getvalue()
    assert "--tls" in err.getvalue() and "stopped" in err.getvalue()


def test_serve_output_is_a_sourceable_file(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    out = io.StringIO()
    assert serve(port=0, out=out, err=io.StringIO(), stop=stop, tls=True) == 0
    env_file = tmp_path / "emu.env"
    env_file.write_text(out.getvalue())
    shown = subprocess.run(
        [
            "sh",
            "-c",
            f'. "{env_file}" && echo "$AZJOBS_ENDPOINT|$AZJOBS_VAULT|$REQUESTS_CA_BUNDLE"',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    endpoint, vault, bundle = shown.split("|")
    assert endpoint.startswith("https://127.0.0.1:") and vault == "demo-vault" and bundle


def test_serve_reports_a_busy_port() -> None:
    with start_emulator() as emu:
        err = io.StringIO()
        assert serve(port=emu.port, out=io.StringIO(), err=err) == 1
        lines = err.getvalue().splitlines()
        assert len(lines) == 1
        assert f"port {emu.port} on 127.0.0.1 is already in use" in lines[0]
        assert "--port 0" in lines[0]


def test_ids_differ_between_runs_without_a_seed() -> None:
    with start_emulator() as a, start_emulator() as b:
        assert a.data_seed != b.data_seed
        assert set(a.job_ids()).isdisjoint(b.job_ids())
        assert a.trigger_backup()[0] != b.trigger_backup()[0]
    with start_emulator(seed=5) as c, start_emulator(seed=5) as d:
        assert c.job_ids() == d.job_ids() and c.data_seed == 5
        assert c.trigger_backup() == d.trigger_backup()


def test_serve_raises_value_error_for_bad_options() -> None:
    with pytest.raises(ValueError, match="speed"):
        serve(speed=0, out=io.StringIO(), err=io.StringIO())


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_serve_process_stops_on_signals(signum: int, code: int) -> None:
    program = "from azbackupjobs.emulator import serve; raise SystemExit(serve(port=0, log=True))"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    endpoint = ""
    for line in proc.stdout:
        if line.startswith("export AZJOBS_ENDPOINT="):
            endpoint = line.strip().split("=", 1)[1]
        if line.startswith("export AZJOBS_VAULT="):
            break
    assert requests.get(endpoint + "/metadata/endpoints", timeout=5).ok
    proc.send_signal(signum)
    assert proc.wait(timeout=10) == code
    stderr = proc.stderr.read()
    assert "GET /metadata/endpoints -> 200" in stderr and "stopped" in stderr


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_ipv6_loopback() -> None:
    """Served on ::1 where the machine has it; a plain OSError where it has not."""
    if not _ipv6_loopback_available():
        with pytest.raises(OSError):
            start_emulator(host="::1")
        return
    with start_emulator(host="::1") as emu:
        assert emu.url.startswith("http://[::1]:")
        assert requests.get(emu.metadata_url, timeout=5).ok
