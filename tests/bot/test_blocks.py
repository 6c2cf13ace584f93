"""The Block Kit builders as plain data: content, visibility, escaping, and Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pooldrift_slack import kit
from pooldrift_slack.blocks import (
    REFRESH_ACTION,
    SHOW_DRIFTED_ACTION,
    error_message,
    help_message,
    mention,
    pools_message,
    report_message,
)

from pooldrift.client import DesktopPools
from pooldrift.models import DesktopPool, DriftReport
from tests.bot.limits import within_limits

POOL_ID = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
PROJECT = "bcae3e673fd04716a3b9dacdf58ca336"


def report(**kw: Any) -> DriftReport:
    values: dict[str, Any] = {
        "pool_id": POOL_ID,
        "pool_name": "web-prod",
        "desktop_count": 40,
        "project_id": PROJECT,
        "region": "cn-north-4",
        "product_id": 2,
        "image_id": 0,
        "disk_num": 3,
        "disk_size": 4,
        "request_id": "req-123",
        "fetched_at": datetime(2024, 1, 1, tzinfo=UTC),
    }
    return DriftReport(**(values | kw))


def pool(**kw: Any) -> DesktopPool:
    values: dict[str, Any] = {
        "id": POOL_ID,
        "name": "web-prod",
        "product": {"product_id": "workspace.x86.general.xlarge2"},
        "image_id": "img-pool",
        "root_volume": {"size": 80},
        "data_volumes": [{"size": 60}],
    }
    return DesktopPool.model_validate(values | kw)


def test_a_drifted_report() -> None:
    payload = report_message(report(), who="U123ABC", elapsed_ms=182.4, in_channel=True)
    within_limits(payload)
    blocks = payload["blocks"]
    assert payload["response_type"] == "in_channel"
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context", "actions"]
    assert blocks[0]["text"]["text"] == "⚠️ web-prod has drifted"
    assert [f["text"] for f in blocks[2]["fields"]] == [
        "*Package (product)*\n:warning: *2* drifted",
        "*Image*\n:white_check_mark: in line",
        "*Data-disk count*\n:warning: *3* drifted",
        "*Disk capacity*\n:warning: *4* drifted",
    ]
    context = blocks[3]["elements"][0]["text"]
    for part in ("cn-north-4", f"`{PROJECT}`", "`req-123`", "182 ms", "asked by <@U123ABC>", "40 desktops"):
        assert part in context
    buttons = blocks[4]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (REFRESH_ACTION, POOL_ID),
        (SHOW_DRIFTED_ACTION, POOL_ID),
    ]
    assert payload["text"].startswith("Pool web-prod has drifted: at least 4 of 40 desktops")


def test_a_consistent_report_has_only_refresh() -> None:
    payload = report_message(
        report(product_id=0, disk_num=0, disk_size=0),
        who=None,
        elapsed_ms=5,
        in_channel=False,
        refreshed=True,
    )
    within_limits(payload)
    assert payload["response_type"] == "ephemeral"
    assert payload["blocks"][0]["text"]["text"] == "✅ web-prod is consistent"
    assert [b["action_id"] for b in payload["blocks"][-1]["elements"]] == [REFRESH_ACTION]
    assert "refreshed by someone" in payload["blocks"][3]["elements"][0]["text"]


def test_a_long_pool_name_is_clipped_within_the_header() -> None:
    payload = report_message(report(pool_name="p" * 500), who="U1", elapsed_ms=1, in_channel=True)
    within_limits(payload)
    title = payload["blocks"][0]["text"]["text"]
    assert title.endswith("has drifted") and "…" in title


def test_foreign_text_cannot_ping_or_link() -> None:
    nasty = "<!channel> & <https://evil.example|click>"
    payload = report_message(report(pool_name=nasty), who="<!here>", elapsed_ms=1, in_channel=True)
    mrkdwn = json.dumps([b for b in payload["blocks"] if b["type"] != "header"]) + payload["text"]
    assert "<!channel>" not in mrkdwn and "<https://" not in mrkdwn and "<!here>" not in mrkdwn
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in payload["text"]
    # the header is plain text: shown as is, never parsed
    assert nasty in payload["blocks"][0]["text"]["text"]


@pytest.mark.parametrize(
    ("user", "shown"), [("U0ABC123", "<@U0ABC123>"), (None, "someone"), ("<x>", "&lt;x&gt;")]
)
def test_mention(user: str | None, shown: str) -> None:
    assert mention(user) == shown


def test_pools_listing_is_capped_and_counts_the_rest() -> None:
    many = [
        pool(id=f"00000000-0000-4000-8000-{i:012d}", name=f"pool-{i}", desktop_count=i) for i in range(300)
    ]
    payload = pools_message(
        DesktopPools(total_count=1300, pools=many),
        project_id=PROJECT,
        region="cn-north-4",
        limit=100,
        in_channel=True,
    )
    within_limits(payload)
    text = json.dumps(payload["blocks"])
    assert "pool-99" in text and "pool-100" not in text
    assert "1200 more not listed" in text
    assert payload["text"] == f"1300 desktop pools in project {PROJECT} (cn-north-4)."


def test_no_pools() -> None:
    payload = pools_message(
        DesktopPools(total_count=0, pools=[]),
        project_id=PROJECT,
        region="cn-north-4",
        limit=10,
        in_channel=False,
    )
    within_limits(payload)
    assert "has no desktop pools" in payload["text"]


def test_help_and_errors_are_ephemeral() -> None:
    for payload in (help_message(), error_message(":x: nope", ref="abc")):
        within_limits(payload)
        assert payload["response_type"] == "ephemeral"
    assert "`abc`" in error_message("x", ref="abc")["blocks"][1]["elements"][0]["text"]


def test_fit_blocks_keeps_fifty_and_says_how_many_were_cut() -> None:
    blocks = [kit.section(str(i)) for i in range(120)]
    fitted = kit.fit_blocks(blocks)
    assert len(fitted) == 50
    assert fitted[-1]["elements"][0]["text"] == "71 more blocks not shown."


def test_clip() -> None:
    assert kit.clip("abc", 3) == "abc"
    assert kit.clip("abcd", 3) == "ab…"
    assert len(kit.section("x" * 5000)["text"]["text"]) == kit.TEXT_MAX
    assert len(kit.section(fields=["f"] * 14)["fields"]) == kit.MAX_FIELDS


def test_an_unreported_count_is_never_shown_as_zero() -> None:
    payload = report(disk_num=None, disk_size=None)
    fields = next(b["fields"] for b in payload_blocks(payload) if b["type"] == "section" and "fields" in b)
    texts = [f["text"] for f in fields]
    assert texts[2] == "*Data-disk count*\n:grey_question: not reported"
    assert texts[3] == "*Disk capacity*\n:grey_question: not reported"
    unknown = report(product_id=0, disk_num=None, disk_size=None)
    message = report_message(unknown, who="U1", elapsed_ms=1, in_channel=True)
    assert message["blocks"][0]["text"]["text"] == "❔ web-prod: drift not fully reported"
    assert [e["action_id"] for e in message["blocks"][-1]["elements"]] == [REFRESH_ACTION]
    assert "not known to be consistent" in message["text"]


def payload_blocks(value: DriftReport) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = report_message(value, who="U1", elapsed_ms=1, in_channel=True)["blocks"]
    return blocks
