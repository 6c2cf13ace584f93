"""Serve an ASGI app on loopback in a thread, and speak to it as Slack does: signed slash commands
and button clicks (form bodies, ``X-Slack-Signature`` from ``SignatureVerifier``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlencode

import httpx2
import uvicorn
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret-5f1e0c"
BOT_TOKEN = "xoxb-test-bot-token-93b1"
APP_TOKEN = "xapp-1-test-app-token-77aa"
TEAM, CHANNEL, USER = "T0TEAM001", "C0CHAN001", "U0USER001"


class ServedApp:
    """uvicorn in a background thread on a free loopback port; ``url`` once started."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on", ws="none")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError("the app did not start")
            time.sleep(0.005)
        self._server, self._thread, self._sock = server, thread, sock
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None, retry: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def command_body(
    text: str,
    response_url: str,
    *,
    user: str = USER,
    channel: str = CHANNEL,
    team: str = TEAM,
    trigger_id: str | None = None,
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token-unused",
            "team_id": team,
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "ops",
            "user_id": user,
            "user_name": "ada",
            "command": "/pooldrift",
            "text": text,
            "api_app_id": "A0APP0001",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}",
        }
    )


def action_body(
    action_id: str,
    value: str,
    response_url: str,
    *,
    user: str = USER,
    channel: str = CHANNEL,
    team: str = TEAM,
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "ada", "team_id": team},
        "api_app_id": "A0APP0001",
        "token": "legacy-verification-token-unused",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": channel},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}",
        "team": {"id": team, "domain": "example"},
        "channel": {"id": channel, "name": "ops"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "pooldrift_report",
                "value": value,
                "text": {"type": "plain_text", "text": "x"},
                "action_ts": "1700000001.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


@dataclass
class SlackSender:
    """Posts signed requests to ``{url}/slack/events`` the way Slack does."""

    url: str
    http: httpx2.AsyncClient

    async def send(self, body: str, **signing: Any) -> httpx2.Response:
        return await self.http.post(
            f"{self.url}/slack/events", content=body, headers=signed_headers(body, **signing)
        )
