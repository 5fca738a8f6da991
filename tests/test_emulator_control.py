"""The emulator's control routes answer only a local client, never a web page."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_bailian.emulator import BailianEmulator
from airflow_provider_bailian.emulator.control import is_loopback_host


@pytest.fixture
def emu() -> Iterator[BailianEmulator]:
    with BailianEmulator(api_key="sk-fake-control") as emulator:
        yield emulator


def _raw(
    emu: BailianEmulator, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    """One request with exactly these headers (http.client adds Host only when absent)."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        conn.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(key, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


FAULT = json.dumps({"route": "submit", "kind": "503"}).encode()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",  # what fetch(..., {mode: "no-cors", body: "..."}) sends
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",  # a plain HTML form
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_a_state_change_a_web_page_could_send_is_refused(
    emu: BailianEmulator, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/_emulator/faults", "/_emulator/config", "/_emulator/reset"):
        body = b'{"task_seconds": 99}' if path.endswith("config") else FAULT
        status, answer = _raw(emu, "POST", path, body, headers)
        assert status == 415, (path, answer)
        assert "Content-Type: application/json" in answer["error"]
    assert emu.faults == []
    assert emu.task_seconds != 99


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:80", "10.0.0.5:8080", ""])
def test_a_foreign_host_header_is_refused(emu: BailianEmulator, host: str) -> None:
    """A page on a DNS-rebound name sends its own name as Host: refused, reads too."""
    json_type = {"Content-Type": "application/json"}
    status, answer = _raw(emu, "POST", "/_emulator/faults", FAULT, {**json_type, "Host": host})
    assert status == 403
    assert "loopback Host" in answer["error"]
    assert emu.faults == []
    assert _raw(emu, "GET", "/_emulator/requests", b"", {"Host": host})[0] == 403


def test_a_local_json_client_is_served(emu: BailianEmulator) -> None:
    json_type = {"Content-Type": "application/json; charset=utf-8"}
    for host in (f"127.0.0.1:{emu.port}", f"localhost:{emu.port}", f"[::1]:{emu.port}"):
        status, answer = _raw(emu, "POST", "/_emulator/faults", FAULT, {**json_type, "Host": host})
        assert status == 200, answer
    assert len(emu.faults) == 3
    assert _raw(emu, "POST", "/_emulator/reset", b"", {"Content-Type": "application/json"}) == (
        200,
        {"ok": True},
    )
    assert emu.faults == []
    assert _raw(emu, "GET", "/_emulator/health", b"", {})[0] == 200


def test_loopback_hosts() -> None:
    good = ["127.0.0.1", "127.0.0.1:80", "127.9.9.9:1", "localhost", "LOCALHOST:5", "[::1]:8"]
    bad = ["attacker.example", "0.0.0.0:80", "10.0.0.1", "[::2]:1", "localhost.example", ""]
    assert [is_loopback_host(h) for h in good] == [True] * len(good)
    assert [is_loopback_host(h) for h in bad] == [False] * len(bad)
