"""``pooldrift-slack --socket``: arguments and configuration, the app it builds, and a whole
Socket Mode exchange with the fake Slack (``apps.connections.open``, hello, an envelope, the ack).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest
from pooldrift_slack.deps import Deps
from pooldrift_slack.settings import load_slack_settings
from pooldrift_slack.socket import build_handler, check_socket_settings, main, serve

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.errors import ConfigurationError
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import APP_TOKEN, BOT_TOKEN
from tests.bot.processes import SLACK_BOT, slack_env, socket_bot
from tests.bot.settle import listen, settled
from tests.bot.test_http_command import check_report
from tests.helpers import process_env, subprocess_env


def test_without_socket_it_points_to_pooldrift_server() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from pooldrift_slack.socket import main; sys.exit(main())"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "--socket" in proc.stderr and "pooldrift-server" in proc.stderr and "/slack/events" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, "Socket Mode needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": APP_TOKEN}, "Socket Mode needs SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": BOT_TOKEN, "SLACK_BOT_TOKEN": BOT_TOKEN}, "must be an app-level token"),
        ({"SLACK_API_URL": "slack.example"}, "SLACK_API_URL"),
    ],
)
def test_socket_configuration_errors_exit_2_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str], words: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["--socket"]) == 2
    err = capsys.readouterr().err
    assert words in err and BOT_TOKEN not in err and "Traceback" not in err


def test_check_socket_settings() -> None:
    settings = load_slack_settings(SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert check_socket_settings(settings) == (APP_TOKEN, BOT_TOKEN)


async def test_missing_workspace_credentials_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_slack_settings(SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert await serve(settings) == 2
    assert "HUAWEICLOUD_SDK_AK" in capsys.readouterr().err


async def test_the_handler_talks_to_slack_api_url(settings: Settings, slack: FakeSlack) -> None:
    slack_settings = load_slack_settings(
        SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url
    )
    async with WorkspaceClient(settings) as client:
        handler = build_handler(Deps(settings=slack_settings, get_client=lambda: client))
        assert handler.app.client.base_url == slack.api_url
        assert handler.client.web_client.base_url == slack.api_url
        assert handler.client.app_token == APP_TOKEN
        await handler.client.close()  # type: ignore[no-untyped-call]
    with pytest.raises(ConfigurationError):
        build_handler(
            Deps(settings=load_slack_settings(SLACK_BOT_TOKEN=BOT_TOKEN), get_client=lambda: client)
        )


async def test_a_slash_command_over_socket_mode(
    emulator_env: dict[str, str],
    emulator: EmulatorServer,
    slack: FakeSlack,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    listen(caplog)
    settings = load_slack_settings(
        SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop))
    try:
        for _ in range(500):
            if slack.socket_clients() or task.done():
                break
            await asyncio.sleep(0.01)
        assert slack.socket_clients() == 1, capsys.readouterr().err
        assert slack.api_methods()[:2] == ["auth.test", "apps.connections.open"]
        payload: dict[str, Any] = {
            "token": "unused",
            "team_id": "T0TEAM001",
            "channel_id": "C0CHAN001",
            "user_id": "U0USER001",
            "command": "/pooldrift",
            "text": "sales-win11",
            "api_app_id": "A0APP0001",
            "response_url": slack.response_url("socket"),
            "trigger_id": "1.2.socket",
        }
        envelope = {"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True}
        await asyncio.to_thread(slack.send_envelope, envelope | {"payload": payload})
        (post,) = await slack.wait_posts("socket")
        check_report(post.body, emulator, "sales-win11")
        acks = [m for m in slack.socket_received if m.get("envelope_id") == "env-1"]
        assert len(acks) == 1 and "Checking pool" in acks[0]["payload"]["text"]
        # Slack redelivers over the socket too (retry_attempt): acked, dropped, still one answer
        await asyncio.to_thread(slack.send_envelope, envelope | {"payload": payload, "retry_attempt": 1})
        await settled(caplog, answered=1, repeats=1)
        assert len(slack.posts_for("socket")) == 1
        for _ in range(500):  # the drop is acked too, so Slack stops redelivering
            if len([m for m in slack.socket_received if m.get("envelope_id") == "env-1"]) == 2:
                break
            await asyncio.sleep(0.01)
        assert len([m for m in slack.socket_received if m.get("envelope_id") == "env-1"]) == 2
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 10) == 0
    for _ in range(300):  # the websocket was closed: the fake sees it go
        if slack.socket_clients() == 0:
            break
        await asyncio.sleep(0.01)
    assert slack.socket_clients() == 0


def test_a_redis_url_without_the_redis_extra_is_one_clear_line(emulator: EmulatorServer) -> None:
    hide_redis = (
        "import sys; sys.modules['redis'] = None; from pooldrift_slack.socket import main; sys.exit(main())"
    )
    env = process_env(
        emulator,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        POOLDRIFT_REDIS_URL="redis://127.0.0.1:9/0",
    )
    done = subprocess.run(
        [sys.executable, "-c", hide_redis, "--socket"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "pooldrift-slack: POOLDRIFT_REDIS_URL is set but the redis package is not installed: "
        "pip install 'pooldrift-slack[redis]'"
    ]


async def test_the_log_level_is_honoured_and_nothing_of_a_request_is_logged(
    emulator: EmulatorServer, slack: FakeSlack
) -> None:
    env = slack_env(emulator, slack, POOLDRIFT_LOG_LEVEL="DEBUG", POOLDRIFT_LOG_FORMAT="json")
    with socket_bot(env) as running:
        payload: dict[str, Any] = {
            "team_id": "T0TEAM001",
            "channel_id": "C0CHAN001",
            "user_id": "U0USER001",
            "command": "/pooldrift",
            "text": "sales-win11",
            "response_url": slack.response_url("socket-7c1d"),
            "trigger_id": "1.2.log",
        }
        envelope = {"envelope_id": "env-log", "type": "slash_commands", "payload": payload}
        await asyncio.to_thread(slack.send_envelope, envelope | {"accepts_response_payload": True})
        await slack.wait_posts("socket-7c1d")
        assert running.terminate() == 0
        logged = running.output()
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert any(r["level"] == "DEBUG" for r in records)
    # the audit record is a set of fields, not a string
    (audit,) = [r for r in records if r["logger"] == "pooldrift.audit"]
    assert audit["event"] == "command" and audit["operation"] == "check" and audit["outcome"] == "ok"
    assert audit["pool"] == "sales-win11" and audit["user"] == "U0USER001" and audit["delivered"] is True
    for secret_thing in ("socket-7c1d", "/respond/", "response_url", "1.2.log", APP_TOKEN, BOT_TOKEN):
        assert secret_thing not in logged, f"{secret_thing!r} was logged"


@pytest.mark.parametrize(
    ("variable", "app_token", "code"),
    [
        ("SLACK_BOT_TOKEN", APP_TOKEN, "invalid_auth"),
        ("SLACK_APP_TOKEN", APP_TOKEN, "invalid_auth"),
    ],
)
def test_a_token_slack_refuses_is_one_line_naming_the_variable_and_exit_2(
    emulator: EmulatorServer, slack: FakeSlack, variable: str, app_token: str, code: str
) -> None:
    if code == "invalid_auth":
        slack.revoked.add(BOT_TOKEN if variable == "SLACK_BOT_TOKEN" else APP_TOKEN)
    env = process_env(
        emulator, SLACK_APP_TOKEN=app_token, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url
    )
    done = subprocess.run(
        [str(SLACK_BOT), "--socket"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"pooldrift-slack: Slack refused {variable} ({code}): set "), lines
    assert BOT_TOKEN not in done.stderr and app_token not in done.stderr
    assert slack.socket_clients() == 0
