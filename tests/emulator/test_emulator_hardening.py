"""Untrusted requests: bodies are read only for authenticated clients and never beyond a cap,
broken framing is a 400, and nesting that would exhaust the stack is a 400, never a 500."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from emulator_client import Api, error_code

from azbackupjobs.emulator import EmulatorHandle, demo_trigger_path
from azbackupjobs.emulator.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, load_json

GRAPH = "/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01"


def raw_exchange(emu: EmulatorHandle, head: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send a hand-written request; return the status and JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(head.encode("latin-1") + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head_part, _, rest = data.partition(b"\r\n\r\n")
        lines = head_part.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return status, json.loads(rest) if rest else {}


def post_head(emu: EmulatorHandle, path: str, *, token: bool, extra: str) -> str:
    auth = f"Authorization: Bearer {emu.token}\r\n" if token else ""
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{emu.port}\r\n{auth}{extra}\r\n"


def trigger_path(emu: EmulatorHandle) -> str:
    return demo_trigger_path() + "?api-version=2026-10-01"


def test_unauthenticated_huge_body_is_refused_before_reading(emu: EmulatorHandle) -> None:
    # 200 MB announced and never sent: an emulator that read the body first would wait.
    head = post_head(emu, trigger_path(emu), token=False, extra="Content-Length: 200000000\r\n")
    status, body = raw_exchange(emu, head, b"x" * 1000)
    assert status == 401
    assert body["error"]["code"] == "InvalidAuthenticationToken"


@pytest.mark.parametrize("length", ["99999999999", "9" * 40, str(MAX_BODY_BYTES + 1)])
def test_authenticated_body_over_the_cap_is_413(emu: EmulatorHandle, length: str) -> None:
    head = post_head(emu, trigger_path(emu), token=True, extra=f"Content-Length: {length}\r\n")
    status, body = raw_exchange(emu, head)
    assert status == 413
    assert body["error"]["code"] == "RequestEntityTooLarge"
    assert str(MAX_BODY_BYTES) in body["error"]["message"]


@pytest.mark.parametrize(
    "extra",
    [
        "Content-Length: -5\r\n",
        "Content-Length: abc\r\n",
        "Content-Length: 1e3\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Transfer-Encoding: gzip\r\n",
    ],
)
def test_bogus_framing_is_400(emu: EmulatorHandle, extra: str) -> None:
    for token in (True, False):
        status, body = raw_exchange(
            emu, post_head(emu, trigger_path(emu), token=token, extra=extra)
        )
        assert status == 400
        assert body["error"]["code"] == "InvalidRequestContent"


def test_chunked_body_over_the_cap_is_413(emu: EmulatorHandle) -> None:
    head = post_head(emu, trigger_path(emu), token=True, extra="Transfer-Encoding: chunked\r\n")
    piece = 256 * 1024
    chunk = f"{piece:x}\r\n".encode() + b"x" * piece + b"\r\n"
    status, body = raw_exchange(emu, head, chunk * 5 + b"0\r\n\r\n")
    assert status == 413 and body["error"]["code"] == "RequestEntityTooLarge"


def test_malformed_chunk_size_is_400(emu: EmulatorHandle) -> None:
    head = post_head(emu, trigger_path(emu), token=True, extra="Transfer-Encoding: chunked\r\n")
    status, body = raw_exchange(emu, head, b"zz\r\nabc\r\n0\r\n\r\n")
    assert status == 400 and body["error"]["code"] == "InvalidRequestContent"


def test_chunked_body_within_the_cap_is_read(emu: EmulatorHandle) -> None:
    payload = b'{"properties":{"objectType":"IaasVMBackupRequest"}}'
    head = post_head(emu, trigger_path(emu), token=True, extra="Transfer-Encoding: chunked\r\n")
    status, _ = raw_exchange(
        emu, head, f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"
    )
    assert status == 202


def test_refused_small_body_keeps_the_connection_usable(emu: EmulatorHandle) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        body = b'{"properties":{}}'
        head = post_head(
            emu, trigger_path(emu), token=False, extra=f"Content-Length: {len(body)}\r\n"
        )
        get = (
            f"GET /metadata/endpoints?api-version=2019-05-01 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{emu.port}\r\n\r\n"
        )
        sock.sendall(head.encode() + body + get.encode())
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.rstrip().endswith((b"}", b"]")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 401 ")
    assert b"HTTP/1.1 200 " in data


def test_emulator_keeps_serving_after_abuse(emu: EmulatorHandle, api: Api) -> None:
    for _ in range(3):
        raw_exchange(
            emu, post_head(emu, trigger_path(emu), token=False, extra="Content-Length: x\r\n")
        )
    assert api.get("/backupJobs").status_code == 200


# -- nesting -------------------------------------------------------------------------------------


def test_deeply_nested_kql_is_400(emu: EmulatorHandle, api: Api) -> None:
    for depth in (40, 5000):
        query = "RecoveryServicesResources | where " + "(" * depth + "1 == 1" + ")" * depth
        response = api.post(emu.url + GRAPH, json={"query": query}, api_version=None)
        assert response.status_code == 400, response.text
        details = response.json()["error"]["details"]
        assert details[0]["code"] == "InvalidQuery"
        assert "nests" in details[1]["message"]


def test_nested_function_calls_in_kql_are_400(emu: EmulatorHandle, api: Api) -> None:
    query = "RecoveryServicesResources | where " + "tolower(" * 200 + "name" + ")" * 200 + " == 'x'"
    response = api.post(emu.url + GRAPH, json={"query": query}, api_version=None)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_moderate_kql_nesting_still_works(emu: EmulatorHandle, api: Api) -> None:
    query = "RecoveryServicesResources | where " + "(" * 10 + "1 == 1" + ")" * 10 + " | take 1"
    response = api.post(emu.url + GRAPH, json={"query": query}, api_version=None)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_bodies_are_400(emu: EmulatorHandle, api: Api, depth: int) -> None:
    deep = b"[" * depth + b"]" * depth
    graph = api.post(
        emu.url + GRAPH,
        data=b'{"query":"RecoveryServicesResources","options":' + deep + b"}",
        headers={"Content-Type": "application/json"},
        api_version=None,
    )
    assert graph.status_code == 400, graph.text
    assert "nested" in json.dumps(graph.json())
    trigger = api.post(
        demo_trigger_path(),
        data=b'{"properties":' + deep + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert trigger.status_code == 400, trigger.text
    assert error_code(trigger) == "BMSUserErrorInvalidInput"
    assert "nested" in trigger.json()["error"]["message"]


def test_load_json_bounds_depth() -> None:
    assert load_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(ValueError, match="nested"):
        load_json(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    with pytest.raises(ValueError, match="nested"):
        load_json(b'{"a":' * 200_000 + b"1" + b"}" * 200_000)
