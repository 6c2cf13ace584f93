"""``create_app`` in-process under uvicorn: one shared client for MCP and Slack, Slack drained
before the client closes, readiness that does not hang on the upstream; the server settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pooldrift_mcp.auth import StaticTokenVerifier, bearer_matches, transport_security
from pooldrift_mcp.http import create_app
from pooldrift_mcp.settings import ServerSettings, is_loopback, load_server_settings
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.errors import ConfigurationError
from tests.server.support import check_drift, serving

TOKEN = "in-process-token-0123456789"


@dataclass
class FakeSlack:
    """Stands in for pooldrift_slack.http.slack_endpoint: records the client each request got,
    and on aclose checks that the shared client still works (Slack's answers in flight need it)."""

    clients: list[WorkspaceClient] = field(default_factory=list)
    closed_with: list[float] = field(default_factory=list)
    project_at_close: list[str] = field(default_factory=list)
    get_client: Callable[[], WorkspaceClient] | None = None

    def __call__(self, get_client: Callable[[], WorkspaceClient]) -> FakeSlack:
        self.get_client = get_client
        return self

    @property
    def routes(self) -> list[BaseRoute]:
        async def events(_: Request) -> Response:
            assert self.get_client is not None
            client = self.get_client()
            self.clients.append(client)
            return JSONResponse({"project": await client.get_project_id()})

        return [Route("/slack/events", events, methods=["POST"])]

    async def aclose(self, grace: float) -> None:
        self.closed_with.append(grace)
        assert self.get_client is not None
        self.project_at_close.append(await self.get_client().get_project_id())


def server_settings(**overrides: Any) -> ServerSettings:
    return load_server_settings(**{"port": 0, **overrides})


async def test_mcp_and_slack_share_one_client_and_slack_drains_before_it_closes(
    settings: Settings, emulator: EmulatorServer
) -> None:
    slack = FakeSlack()
    app = create_app(server_settings(tokens=TOKEN, shutdown_grace=7), settings, slack=slack)
    with serving(app) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            first = await http.post("/slack/events")
            second = await http.post("/slack/events")
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as session,
            Client(streamable_http_client(f"{url}/mcp", http_client=session)) as client,
        ):
            drift = await client.call_tool("pool_inconsistency", {"pool": "hr-win10"})
            emulator.requests.clear()
            await client.call_tool("pool_inconsistency", {"pool": "hr-win10"})
            iam_lookups = emulator.requests.count("/v3/projects")
    assert first.json() == second.json() == {"project": emulator.project_id}
    assert slack.clients[0] is slack.clients[1]
    check_drift(drift.structured_content, emulator, emulator.data.pool_named("hr-win10"))
    assert iam_lookups == 0  # the project id looked up for Slack serves MCP too: one client
    assert slack.closed_with == [7.0]  # no signal in-process: the whole grace
    assert slack.project_at_close == [emulator.project_id]  # the client was still open
    with pytest.raises(RuntimeError):  # closed with the app, after Slack
        await slack.clients[0].list_pools()


async def test_the_real_slack_routes_mount_when_slack_is_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = create_app(server_settings(), settings)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    with_slack = create_app(server_settings(), settings)
    paths = [getattr(route, "path", None) for route in with_slack.routes]
    assert "/slack/events" in paths
    assert "/slack/events" not in [getattr(route, "path", None) for route in plain.routes]
    with serving(with_slack) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            unsigned = await http.post("/slack/events", content=b"command=/pooldrift")
            health = await http.get("/healthz")
    assert unsigned.status_code == 401  # Bolt checks Slack's signature
    assert health.status_code == 200


async def ready_once_checked(http: httpx2.AsyncClient) -> httpx2.Response:
    """/readyz once it reports a finished upstream check (the check runs in the background)."""
    deadline = time.monotonic() + 15
    while True:
        ready = await http.get("/readyz")
        if ready.status_code != 200 or ready.json()["upstream"]["ok"] is not None:
            return ready
        assert time.monotonic() < deadline, ready.text
        await asyncio.sleep(0.05)


async def test_readyz_stays_ready_and_reports_the_upstream_when_it_fails(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.faults.fail_next_n("401", 10)
    with serving(create_app(server_settings(), settings)) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            ready = await ready_once_checked(http)
            metrics = await http.get("/metrics")
    assert ready.status_code == 200, ready.text  # bad keys must not take every replica out
    upstream = ready.json()["upstream"]
    assert ready.json()["ready"] is True and upstream["ok"] is False and "401" in upstream["reason"]
    assert emulator.secret_key not in ready.text
    assert "pooldrift_upstream_up 1.0" in metrics.text  # it answered: reachable, and /readyz says why


async def test_readyz_reports_a_healthy_upstream(settings: Settings, emulator: EmulatorServer) -> None:
    with serving(create_app(server_settings(), settings)) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            ready = await ready_once_checked(http)
            again = await http.get("/readyz")
            metrics = await http.get("/metrics")
    assert ready.status_code == 200 and ready.json()["upstream"]["ok"] is True
    assert again.json()["upstream"]["ok"] is True
    assert emulator.requests.count("desktop-pools") == 1  # checked at most every 15 s
    assert "pooldrift_upstream_up 1.0" in metrics.text


# -- settings -----------------------------------------------------------------------------------


def test_settings_read_tokens_hosts_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    default = load_server_settings()
    assert (default.host, default.port, default.tokens) == ("127.0.0.1", 8080, ())
    assert (default.max_sessions, default.session_idle, default.shutdown_grace) == (1000, 300.0, 25.0)
    assert "127.0.0.1:*" in transport_security(default).allowed_hosts
    assert "attacker.example" not in str(transport_security(default).allowed_hosts)
    bound = transport_security(server_settings(host="10.1.2.3", tokens=TOKEN))
    assert "10.1.2.3:*" in bound.allowed_hosts
    anything = transport_security(server_settings(allowed_hosts="*", tokens=TOKEN))
    assert anything.enable_dns_rebinding_protection is False
    for name, value in {
        "POOLDRIFT_MCP_TOKEN": f" {TOKEN} , {TOKEN}-2 ,",
        "POOLDRIFT_MCP_ALLOWED_HOSTS": "mcp.example.com, mcp.internal:*",
        "POOLDRIFT_HOST": "0.0.0.0",
        "POOLDRIFT_PORT": "9000",
        "POOLDRIFT_MCP_MAX_SESSIONS": "20",
        "POOLDRIFT_MCP_SESSION_IDLE": "30",
        "POOLDRIFT_SHUTDOWN_GRACE": "0",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_server_settings()
    assert [token.get_secret_value() for token in settings.tokens] == [TOKEN, f"{TOKEN}-2"]
    assert TOKEN not in repr(settings)
    security = transport_security(settings)
    assert security.allowed_hosts == ["mcp.example.com", "mcp.internal:*"]
    assert "https://mcp.example.com" in security.allowed_origins
    assert (settings.port, settings.max_sessions, settings.session_idle, settings.shutdown_grace) == (
        9000, 20, 30.0, 0.0,
    )  # fmt: skip


def test_tokens_are_read_from_secret_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "POOLDRIFT_MCP_TOKEN").write_text(f"{TOKEN},{TOKEN}-rotated\n")
    (tmp_path / "POOLDRIFT_METRICS_TOKEN").write_text(f"{TOKEN}-metrics\n")
    monkeypatch.setenv("POOLDRIFT_SECRETS_DIR", str(tmp_path))
    settings = load_server_settings(host="0.0.0.0")  # exposed: allowed, as the file holds tokens
    assert [token.get_secret_value() for token in settings.tokens] == [TOKEN, f"{TOKEN}-rotated"]
    assert settings.metrics_token is not None
    assert bearer_matches(f"Bearer {TOKEN}-metrics", settings.metrics_token)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"POOLDRIFT_HOST": "0.0.0.0"}, "not a loopback address"),
        ({"POOLDRIFT_HOST": "pooldrift.example.com"}, "without a token"),
        ({"POOLDRIFT_HOST": "::"}, "without a token"),
        ({"POOLDRIFT_MCP_ALLOWED_HOSTS": "*"}, "POOLDRIFT_MCP_ALLOWED_HOSTS='*' without a token"),
        ({"POOLDRIFT_MCP_ALLOWED_HOSTS": "mcp.example.com,*"}, "without a token"),
        ({"POOLDRIFT_MCP_TOKEN": "short-secret"}, "POOLDRIFT_MCP_TOKEN: token 1 is shorter than 16"),
        ({"POOLDRIFT_MCP_TOKEN": f"{TOKEN},short-secret"}, "token 2 is shorter than 16"),
        ({"POOLDRIFT_METRICS_TOKEN": "short-secret"}, "POOLDRIFT_METRICS_TOKEN: shorter than 16"),
        ({"POOLDRIFT_PORT": "70000"}, "POOLDRIFT_PORT"),
        ({"POOLDRIFT_MCP_MAX_SESSIONS": "0"}, "POOLDRIFT_MCP_MAX_SESSIONS"),
        ({"POOLDRIFT_MCP_SESSION_IDLE": "inf"}, "POOLDRIFT_MCP_SESSION_IDLE"),
        ({"POOLDRIFT_SHUTDOWN_GRACE": "-1"}, "POOLDRIFT_SHUTDOWN_GRACE"),
    ],
)
def test_settings_refuse(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], message: str) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message.replace("*", r"\*")) as caught:
        load_server_settings()
    assert "short-secret" not in caught.value.message  # a token is never echoed


def test_loopback_detection() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com", "localhost.evil.com"]))


async def test_token_verifier_accepts_each_configured_token_only() -> None:
    verifier = StaticTokenVerifier([SecretStr(TOKEN), SecretStr(f"{TOKEN}-rotated")])
    first, second = await verifier.verify_token(TOKEN), await verifier.verify_token(f"{TOKEN}-rotated")
    assert first is not None and first.client_id == "token-1"
    assert second is not None and second.client_id == "token-2"
    for wrong in ("", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "é" + TOKEN):
        assert await verifier.verify_token(wrong) is None
    with pytest.raises(ValueError, match="at least one token"):
        StaticTokenVerifier([])
    secret = SecretStr(TOKEN)
    assert bearer_matches(f"Bearer {TOKEN}", secret) and bearer_matches(f"bearer  {TOKEN}", secret)
    for header in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"):
        assert not bearer_matches(header, secret)
