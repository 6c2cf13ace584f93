"""``/pooldrift`` against listings that never end: "more than N pools" and how to narrow it,
posted within seconds, instead of a bot that reads pages until its memory runs out."""

from __future__ import annotations

import json

from pooldrift.emulator import EmulatorServer
from tests.bot.conftest import BotStarter
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import command_body


async def test_slack_says_more_than_n_pools_for_a_pool_by_name(
    start_bot: BotStarter, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_MAX_POOLS="200")
    emulator.shape.update(pages="endless")
    await bot.send(command_body("nosuchpool", slack.response_url("k")))
    (post,) = await slack.wait_posts("k", within=10)
    said = json.dumps(post.body)
    assert "More than 200 pools" in said and "by its id" in said and "POOLDRIFT_MAX_POOLS" in said


async def test_slack_scan_lists_the_endless_project_with_how_to_narrow_it(
    start_bot: BotStarter, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_MAX_POOLS="200")
    emulator.shape.update(pages="endless")
    await bot.send(command_body("scan", slack.response_url("k")))
    posts = await slack.wait_posts("k", within=10)
    said = json.dumps([p.body for p in posts])
    assert "listing too long" in said and "scan <part of a pool name>" in said, said[:2000]
    assert "POOLDRIFT_MAX_POOLS" in said
    assert "HTTP 200" not in said, "an answer the API gave with 200 is not worded as an HTTP error"
