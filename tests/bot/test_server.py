"""Slack through the real ``pooldrift-server`` process: ``/slack/events`` mounted beside ``/mcp``,
sharing the server's one ``WorkspaceClient``; and absent when no signing secret is set.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import BOT_TOKEN, SIGNING_SECRET, SlackSender, action_body, command_body
from tests.bot.test_http_command import check_report
from tests.helpers import LineReader, process_env, start_process, stop_process

PROGRAM = str(Path(sys.executable).with_name("pooldrift-server"))


def server_env(emulator: EmulatorServer, **extra: str) -> dict[str, str]:
    return process_env(emulator, **{"POOLDRIFT_HOST": "127.0.0.1", "POOLDRIFT_PORT": "0", **extra})


class Running:
    def __init__(self, url: str, out: LineReader, err: LineReader) -> None:
        self.url, self.out, self.err = url, out, err


def _serve(env: dict[str, str]) -> Iterator[Running]:
    proc, out, err, url = start_process([PROGRAM], env)
    assert url is not None
    try:
        yield Running(url, out, err)
    finally:
        stop_process(proc)
        out.text(settle=5.0)
        err.text(settle=5.0)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture(scope="module")
def server(emulator_server: EmulatorServer, fake_slack_server: FakeSlack) -> Iterator[Running]:
    env = server_env(
        emulator_server,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake_slack_server.api_url,
    )
    yield from _serve(env)


async def test_slash_command_and_button_through_pooldrift_server(
    server: Running, slack: FakeSlack, emulator: EmulatorServer, http: httpx2.AsyncClient
) -> None:
    bot = SlackSender(server.url, http)
    response = await bot.send(command_body("callcenter-win10", slack.response_url("cmd")))
    assert response.status_code == 200 and "Checking" in response.json()["text"]
    (post,) = await slack.wait_posts("cmd")
    check_report(post.body, emulator, "callcenter-win10")
    pool_id = emulator.data.pool_named("callcenter-win10").id
    await bot.send(action_body("pooldrift_show_drifted", pool_id, slack.response_url("click")))
    (listing,) = await slack.wait_posts("click")
    assert listing.body["text"] == "7 desktops of pool callcenter-win10 differ from its configuration."
    assert slack.api_methods() in ([], ["auth.test"])  # auth.test once per process at most


async def test_bad_signature_through_pooldrift_server(
    server: Running, slack: FakeSlack, emulator: EmulatorServer, http: httpx2.AsyncClient
) -> None:
    bot = SlackSender(server.url, http)
    forged = command_body("callcenter-win10", slack.response_url("k"), trigger_id="5.6")
    response = await bot.send(forged, secret="forged")
    assert response.status_code == 401
    # the same delivery, signed, is answered: the forged one claimed nothing and started nothing
    await bot.send(command_body("callcenter-win10", slack.response_url("genuine"), trigger_id="5.6"))
    (post,) = await slack.wait_posts("genuine")
    assert "callcenter-win10" in post.body["text"]
    assert emulator.requests.count("inconsistent-statics") == 1 and slack.posts_for("k") == []


async def test_no_signing_secret_no_slack_route(emulator: EmulatorServer, http: httpx2.AsyncClient) -> None:
    for running in _serve(server_env(emulator)):
        body = command_body("x", "http://127.0.0.1:9/none")
        response = await SlackSender(running.url, http).send(body)
        assert response.status_code == 404


def test_no_secret_reached_the_server_output(server: Running, emulator: EmulatorServer) -> None:
    text = server.out.text() + server.err.text()
    for secret in (SIGNING_SECRET, BOT_TOKEN, emulator.secret_key):
        assert secret not in text


def test_with_slack_the_client_sends_through_aiohttp(server: Running) -> None:
    """Slack's own client loads aiohttp anyway: the Workspace client shares it."""
    server.err.wait_for("upstream requests go through aiohttp")
