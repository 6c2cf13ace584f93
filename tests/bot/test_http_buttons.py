"""The buttons under a report, clicked as Slack sends them (``block_actions`` payloads, signed)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import KINDS, drift_of
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import SlackSender, action_body, command_body
from tests.bot.test_http_command import check_report


def drifted_names(emulator: EmulatorServer, pool_id: str) -> set[str]:
    return {d.computer_name for kind in KINDS for d in emulator.data.drifted(pool_id, kind)}


async def test_refresh_replaces_the_message_with_fresh_numbers(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    await bot.send(command_body("sales-win11", slack.response_url("first")))
    (first,) = await slack.wait_posts("first")
    assert "has drifted" in first.body["blocks"][0]["text"]["text"]
    # someone fixes every desktop of the pool
    for desktop in emulator.data.desktops_of(pool.id):
        desktop.product_id, desktop.image_id = pool.product_id, pool.image_id
        desktop.root_size, desktop.data_sizes = pool.root_size, list(pool.data_sizes)
    refresh = next(e for b in first.body["blocks"] if b["type"] == "actions" for e in b["elements"])
    response = await bot.send(
        action_body(refresh["action_id"], refresh["value"], slack.response_url("click"))
    )
    assert response.status_code == 200
    (post,) = await slack.wait_posts("click")
    assert post.body["replace_original"] is True and "response_type" not in post.body
    check_report(post.body, emulator, "sales-win11")
    assert "is consistent" in post.body["blocks"][0]["text"]["text"]
    assert "refreshed by" in json.dumps(post.body["blocks"])


def expected_lines(emulator: EmulatorServer, name: str) -> list[str]:
    """Each drifted desktop of pool ``name`` as the answer should show it, from the emulator's data."""
    pool = emulator.data.pool_named(name)
    pool_disks = pool.root_size + sum(pool.data_sizes)
    lines = []
    for d in sorted(emulator.data.desktops_of(pool.id), key=lambda d: d.computer_name.lower()):
        how = {
            "PRODUCT_ID": f"package: expected `{pool.product_id}`, actual `{d.product_id}`",
            "IMAGE_ID": f"image: expected `{pool.image_id}`, actual `{d.image_id}`",
            "DISK_NUM": f"data disks: expected {len(pool.data_sizes)}, actual {len(d.data_sizes)}",
            "DISK_SIZE": f"disk size: expected {pool_disks} GB, actual {d.root_size + sum(d.data_sizes)} GB",
        }
        kinds = drift_of(d, pool)
        if kinds:
            lines.append(f"• *{d.computer_name}* `{d.desktop_id}` — " + "; ".join(how[k] for k in kinds))
    return lines


def listed_lines(body: dict[str, Any]) -> list[str]:
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    return [line for text in sections for line in text.splitlines() if line.startswith("•")]


@pytest.mark.parametrize("name", ["sales-win11", "qa-win11", "callcenter-win10"])
async def test_show_drifted_shows_expected_against_actual_per_desktop(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, name: str
) -> None:
    pool = emulator.data.pool_named(name)
    await bot.send(action_body("pooldrift_show_drifted", pool.id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert post.body["response_type"] == "ephemeral" and post.body["replace_original"] is False
    expected = expected_lines(emulator, name)
    assert expected and listed_lines(post.body) == expected
    count = f"{len(expected)} desktop{'s' if len(expected) != 1 else ''} differ"
    assert count in json.dumps(post.body["blocks"])
    baseline = next(b for b in post.body["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert baseline == (
        f"The pool expects package `{pool.product_id}`, image `{pool.image_id}`, "
        f"data disks {len(pool.data_sizes)}, disk size {pool.root_size + sum(pool.data_sizes)} GB."
    )


async def test_show_drifted_is_capped_with_a_count_of_the_rest(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_SLACK_MAX_LISTED="5")
    pool = emulator.data.pool_named("dev-ubuntu22")
    expected = drifted_names(emulator, pool.id)
    await bot.send(action_body("pooldrift_show_drifted", pool.id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    blocks = post.body["blocks"]
    listed = [
        line
        for b in blocks
        if b["type"] == "section"
        for line in b["text"]["text"].splitlines()
        if line[:1] == "•"
    ]
    assert len(listed) == 5
    rest = blocks[-1]["elements"][0]["text"]
    assert "more not listed" in rest
    # five per kind were fetched, so the bot knows a lower bound of the rest: a true one
    found = re.search(r"at least (\d+) more", rest)
    assert found, rest
    assert 1 <= int(found.group(1)) <= len(expected) - 5


async def test_show_drifted_on_a_consistent_pool_says_so(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    await bot.send(action_body("pooldrift_show_drifted", pool.id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert "No desktop of pool finance-win11 differs" in post.body["text"]


async def test_a_forged_button_value_is_refused_without_a_request(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    await bot.send(action_body("pooldrift_refresh", "../../v3/projects", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert "invalid pool id" in post.body["text"] and post.body["response_type"] == "ephemeral"
    assert len(emulator.requests) == 0
