"""``EmulatorServer`` and ``create_app``: start, answer, stop, and the pieces they share."""

from __future__ import annotations

import httpx2
import pytest
from starlette.applications import Starlette

from pooldrift.emulator import EmulatorConfig, EmulatorServer, create_app
from tests.helpers import signed_client


def test_start_answers_and_stop_refuses() -> None:
    server = EmulatorServer(EmulatorConfig(project_id="0123456789abcdef0123456789abcdef"))
    server.start()
    try:
        assert server.base_url.startswith("http://127.0.0.1:") and server.port > 0
        with signed_client(server.base_url, server.access_key, server.secret_key) as client:
            answer = client.get(f"/v2/{server.project_id}/desktop-pools", params={"limit": 1})
            assert answer.status_code == 200 and answer.json()["total_count"] == 12
    finally:
        server.stop()
    server.stop()  # a second stop is harmless
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(server.base_url + "/v3/projects")


def test_two_servers_keep_their_own_state() -> None:
    with EmulatorServer() as first, EmulatorServer() as second:
        assert first.port != second.port
        first.faults.error_rate = 1.0
        first.data.pools.clear()
        assert second.faults.error_rate == 0 and len(second.data.pools) == 12
        with signed_client(second.base_url, second.access_key, second.secret_key) as client:
            assert client.get(f"/v2/{second.project_id}/desktop-pools").status_code == 200
        assert len(first.requests) == 0


def test_create_app_is_a_starlette_app_with_its_own_state() -> None:
    app = create_app()
    assert isinstance(app, Starlette)
    assert len(app.data.pools) == 12 and app.faults.to_dict()["error_rate"] == 0
    assert app.config.control is True
