"""``/pooldrift`` against counts that cannot be true: an upstream fault naming the pool, no drift."""

from __future__ import annotations

import json

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import SlackSender, command_body

POOL = "sales-win11"


async def test_slack_says_the_answer_cannot_be_true(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    emulator.shape.update(count_value="3")
    await bot.send(command_body(POOL, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    said = json.dumps(post.body)
    assert "cannot be true" in said and f"pool {POOL} (" in said and "has drifted" not in said
