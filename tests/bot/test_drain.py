"""Deploys lose no answer: on SIGTERM a real process finishes the answers in flight within
``POOLDRIFT_SHUTDOWN_GRACE`` (over HTTP and over Socket Mode), and what cannot finish in time
still gets words.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
from pooldrift_slack.http import slack_endpoint
from pooldrift_slack.retries import MemorySeenStore
from pooldrift_slack.settings import load_slack_settings

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import SlackSender, command_body
from tests.bot.processes import slack_env, socket_bot, standalone

COMMANDS = 5


def slow_env(emulator: EmulatorServer, slack: FakeSlack, **extra: str) -> dict[str, str]:
    # a project id spares the IAM lookup, so each answer takes the emulator's latency
    return slack_env(
        emulator,
        slack,
        HUAWEICLOUD_SDK_PROJECT_ID=emulator.project_id,
        POOLDRIFT_READ_TIMEOUT="20",
        POOLDRIFT_DEADLINE="30",
        **extra,
    )


async def send_commands(bot: SlackSender, slack: FakeSlack, pool_id: str) -> None:
    bodies = [command_body(pool_id, slack.response_url(f"k{i}")) for i in range(COMMANDS)]
    responses = await asyncio.gather(*(bot.send(body) for body in bodies))
    assert [r.status_code for r in responses] == [200] * COMMANDS
    assert all("Checking pool" in r.json()["text"] for r in responses)


def answers(slack: FakeSlack, output: str) -> list[str]:
    """The one answer to each command (the process's output tells why when one is missing)."""
    texts = []
    for i in range(COMMANDS):
        posts = slack.posts_for(f"k{i}")
        assert len(posts) == 1, f"command {i}: {len(posts)} answers; the bot said:\n{output}"
        texts.append(posts[0].body["blocks"][0]["text"]["text"])
    return texts


async def test_http_answers_in_flight_are_delivered_after_sigterm(
    emulator: EmulatorServer, slack: FakeSlack, http: httpx2.AsyncClient
) -> None:
    emulator.faults.update(latency=2)
    pool = emulator.data.pool_named("sales-win11")
    with standalone(slow_env(emulator, slack)) as running:
        await send_commands(SlackSender(running.url, http), slack, pool.id)
        assert slack.posts == [], "the answers came before the stop"
        await asyncio.to_thread(running.terminate)
        output = running.output()
    assert all("sales-win11 has drifted" in text for text in answers(slack, output))


async def test_http_answers_past_the_grace_say_the_bot_is_restarting(
    emulator: EmulatorServer, slack: FakeSlack, http: httpx2.AsyncClient
) -> None:
    emulator.faults.update(latency=15)
    pool = emulator.data.pool_named("sales-win11")
    with standalone(slow_env(emulator, slack, POOLDRIFT_SHUTDOWN_GRACE="1")) as running:
        await send_commands(SlackSender(running.url, http), slack, pool.id)
        started = time.monotonic()
        await asyncio.to_thread(running.terminate)
        took = time.monotonic() - started
        output = running.output()
    assert all("restarting" in text for text in answers(slack, output))
    assert took < 10, f"the stop took {took:.1f} s for a grace of 1 s"  # bounded, not the 15 s upstream


async def test_socket_mode_answers_in_flight_are_delivered_and_it_exits_0(
    emulator: EmulatorServer, slack: FakeSlack
) -> None:
    emulator.faults.update(latency=2)
    pool = emulator.data.pool_named("sales-win11")
    with socket_bot(slow_env(emulator, slack)) as running:
        for i in range(COMMANDS):
            payload: dict[str, Any] = {
                "team_id": "T0TEAM001",
                "channel_id": "C0CHAN001",
                "user_id": "U0USER001",
                "command": "/pooldrift",
                "text": pool.id,
                "response_url": slack.response_url(f"k{i}"),
                "trigger_id": f"1.2.drain-{i}",
            }
            envelope = {"envelope_id": f"env-{i}", "type": "slash_commands", "payload": payload}
            await asyncio.to_thread(slack.send_envelope, envelope | {"accepts_response_payload": True})
        for _ in range(500):  # every envelope acknowledged
            if len({m.get("envelope_id") for m in slack.socket_received}) >= COMMANDS:
                break
            await asyncio.sleep(0.01)
        assert slack.posts == [], "the answers came before the stop"
        status = await asyncio.to_thread(running.terminate)
        output = running.output()
    assert status == 0
    assert all("sales-win11 has drifted" in text for text in answers(slack, output))
    assert slack.socket_clients() == 0


async def test_without_a_signing_secret_the_endpoint_has_no_route_and_closes_its_store() -> None:
    store = MemorySeenStore()
    assert await store.first_time("k", 60)
    endpoint = slack_endpoint(no_client, settings=load_slack_settings(), seen=store)
    assert endpoint.routes == []
    await endpoint.aclose(grace=5)
    await endpoint.aclose(grace=5)  # a second close is harmless
    assert len(store) == 0


async def test_the_endpoint_closes_its_store_once_nothing_is_in_flight() -> None:
    store = MemorySeenStore()
    assert await store.first_time("k", 60)
    endpoint = slack_endpoint(no_client, settings=load_slack_settings(SLACK_SIGNING_SECRET="s"), seen=store)
    assert [route.path for route in endpoint.routes] == ["/slack/events"]  # type: ignore[attr-defined]
    started = time.monotonic()
    await endpoint.aclose(grace=30)
    assert time.monotonic() - started < 1  # nothing in flight: no wait
    assert len(store) == 0


def no_client() -> WorkspaceClient:
    raise AssertionError("no answer was asked for")
