"""``create_app`` in-process under uvicorn: one shared client for MCP and Slack, readiness, config rules."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pooldrift_mcp.auth import HttpConfig, StaticTokenVerifier, is_loopback
from pooldrift_mcp.http import create_app
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.errors import ConfigurationError
from tests.server.support import check_drift, serving

TOKEN = "in-process-token-0123456789"


class FakeSlack:
    """Stands in for pooldrift_slack.http.slack_routes: records which client each request got."""

    def __init__(self) -> None:
        self.clients: list[WorkspaceClient] = []

    def __call__(self, get_client: Callable[[], WorkspaceClient]) -> list[BaseRoute]:
        async def events(_: Request) -> Response:
            client = get_client()
            self.clients.append(client)
            return JSONResponse({"project": await client.get_project_id()})

        return [Route("/slack/events", events, methods=["POST"])]


async def test_mcp_and_slack_share_one_client_closed_on_shutdown(
    settings: Settings, emulator: EmulatorServer
) -> None:
    slack = FakeSlack()
    app = create_app(HttpConfig(port=0, tokens=(TOKEN,)), settings, slack_routes=slack)
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
    with pytest.raises(RuntimeError):  # closed with the app
        await slack.clients[0].list_pools()


async def test_the_real_slack_routes_mount_when_slack_is_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = create_app(HttpConfig(port=0), settings)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    with_slack = create_app(HttpConfig(port=0), settings)
    paths = [getattr(route, "path", None) for route in with_slack.routes]
    assert "/slack/events" in paths
    assert "/slack/events" not in [getattr(route, "path", None) for route in plain.routes]
    with serving(with_slack) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            unsigned = await http.post("/slack/events", content=b"command=/pooldrift")
            health = await http.get("/healthz")
    assert unsigned.status_code == 401  # Bolt checks Slack's signature
    assert health.status_code == 200


async def test_readyz_reports_upstream_failures(settings: Settings, emulator: EmulatorServer) -> None:
    emulator.faults.fail_next_n("401", 10)
    with serving(create_app(HttpConfig(port=0), settings)) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert "401" in ready.json()["reason"] and emulator.secret_key not in ready.text


# -- configuration rules (pure) -------------------------------------------------------------------


def test_from_env_reads_tokens_hosts_and_defaults() -> None:
    config = HttpConfig.from_env(
        {
            "POOLDRIFT_MCP_TOKEN": f" {TOKEN} , {TOKEN}-2 ,",
            "POOLDRIFT_MCP_ALLOWED_HOSTS": "mcp.example.com, mcp.internal:*",
            "POOLDRIFT_HOST": "0.0.0.0",
            "POOLDRIFT_PORT": "9000",
        }
    )
    assert config.tokens == (TOKEN, f"{TOKEN}-2")
    security = config.transport_security()
    assert security.allowed_hosts == ["mcp.example.com", "mcp.internal:*"]
    assert "https://mcp.example.com" in security.allowed_origins
    default = HttpConfig.from_env({})
    assert (default.host, default.port, default.tokens) == ("127.0.0.1", 8080, ())
    assert "127.0.0.1:*" in default.transport_security().allowed_hosts
    assert "attacker.example" not in str(default.transport_security().allowed_hosts)
    bound = HttpConfig(host="10.1.2.3", tokens=(TOKEN,)).transport_security()
    assert "10.1.2.3:*" in bound.allowed_hosts
    anything = HttpConfig(allowed_hosts=("*",)).transport_security()
    assert anything.enable_dns_rebinding_protection is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"POOLDRIFT_HOST": "0.0.0.0"}, "not a loopback address"),
        ({"POOLDRIFT_HOST": "pooldrift.example.com"}, "without a token"),
        ({"POOLDRIFT_HOST": "::"}, "without a token"),
        ({"POOLDRIFT_MCP_TOKEN": "short"}, "shorter than 16"),
        ({"POOLDRIFT_PORT": "70000"}, "between 0 and 65535"),
    ],
)
def test_from_env_refuses(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        HttpConfig.from_env(environ)
    assert "short" not in caught.value.message.replace("shorter", "")  # the token is never echoed


def test_loopback_detection() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com", "localhost.evil.com"]))


async def test_token_verifier_accepts_each_configured_token_only() -> None:
    verifier = StaticTokenVerifier([TOKEN, f"{TOKEN}-rotated"])
    first, second = await verifier.verify_token(TOKEN), await verifier.verify_token(f"{TOKEN}-rotated")
    assert first is not None and first.client_id == "token-1"
    assert second is not None and second.client_id == "token-2"
    for wrong in ("", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "é" + TOKEN):
        assert await verifier.verify_token(wrong) is None
    with pytest.raises(ValueError, match="at least one token"):
        StaticTokenVerifier([])
