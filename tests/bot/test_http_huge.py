"""``/pooldrift`` against an answer too large to read (the emulator's ``huge`` fault, 300 MiB):
how large it was, the limit and the setting to raise, posted within seconds, instead of a bot
that holds the answer whole."""

from __future__ import annotations

import json

from pooldrift.emulator import EmulatorServer
from tests.bot.conftest import BotStarter
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import command_body


async def test_slack_says_the_pool_listing_is_too_large_to_read(
    start_bot: BotStarter, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_MAX_RESPONSE_BYTES="1048576")
    emulator.faults.update(huge_rate=1, paths="desktop-pools$")
    await bot.send(command_body("pools", slack.response_url("k")))
    (post,) = await slack.wait_posts("k", within=10)
    said = json.dumps(post.body)
    assert "too large to read" in said and "more than the 1048576 bytes (1 MiB)" in said, said
    assert "POOLDRIFT_MAX_RESPONSE_BYTES" in said and "Traceback" not in said


async def test_slack_scan_lists_the_project_with_the_setting_to_raise(
    start_bot: BotStarter, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_MAX_RESPONSE_BYTES="1048576")
    emulator.faults.update(huge_rate=1, paths="desktop-pools$")
    await bot.send(command_body("scan", slack.response_url("k")))
    posts = await slack.wait_posts("k", within=10)
    said = json.dumps([p.body for p in posts])
    assert "response too large" in said and "POOLDRIFT_MAX_RESPONSE_BYTES" in said, said[:2000]
