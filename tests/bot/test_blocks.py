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
    DriftedDesktop,
    DriftedDesktops,
    drifted_message,
    error_message,
    help_message,
    mention,
    pools_message,
    report_message,
)
from pooldrift_slack.drifted import to_rows

from pooldrift.client import DesktopPools
from pooldrift.models import (
    DesktopPool,
    DriftReport,
    InconsistentType,
    PoolDesktop,
    PoolDesktops,
    merge_drift_listings,
)

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


def desktop(n: int, *kinds: str, **kw: Any) -> PoolDesktop:
    values: dict[str, Any] = {
        "desktop_id": f"00000000-0000-4000-8000-{n:012d}",
        "computer_name": f"WEB{n:04d}",
        "product_id": "workspace.x86.general.2xlarge2",
        "metadata": {"metering.image_id": "img-other"},
        "root_volume": {"size": 80},
        "data_volumes": [{"size": 60}, {"size": 50}],
        "inconsistent_types": list(kinds),
    }
    return PoolDesktop.model_validate(values | kw)


def within_limits(payload: dict[str, Any]) -> None:
    """Everything Slack would reject, checked on any payload."""
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= kit.MAX_BLOCKS
    assert payload["text"] and len(payload["text"]) <= kit.FALLBACK_MAX
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= kit.HEADER_MAX and block["text"]["type"] == "plain_text"
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert len(block["text"]["text"]) <= kit.TEXT_MAX
            assert len(block.get("fields", [])) <= kit.MAX_FIELDS
            assert all(len(f["text"]) <= kit.FIELD_MAX for f in block.get("fields", []))
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= kit.MAX_CONTEXT_ELEMENTS
            assert all(len(e["text"]) <= kit.TEXT_MAX for e in block["elements"])
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= kit.BUTTON_TEXT_MAX
                assert len(element["value"]) <= kit.BUTTON_VALUE_MAX


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


def test_drifted_desktops_say_how_each_differs() -> None:
    found = DriftedDesktops(
        pool=pool(),
        desktops=[
            DriftedDesktop(
                desktop(1),
                (
                    InconsistentType.PRODUCT_ID,
                    InconsistentType.IMAGE_ID,
                    InconsistentType.DISK_NUM,
                    InconsistentType.DISK_SIZE,
                ),
            )
        ],
        totals={InconsistentType.IMAGE_ID: 1},
    )
    payload = drifted_message(found, limit=20)
    within_limits(payload)
    line = payload["blocks"][2]["text"]["text"]
    assert line.startswith("• *WEB0001* `00000000-0000-4000-8000-000000000001` — ")
    assert "package `workspace.x86.general.2xlarge2` (pool: `workspace.x86.general.xlarge2`)" in line
    assert "image `img-other` (pool: `img-pool`)" in line
    assert "2 data disks (pool: 1)" in line
    assert "190 GB of disk (pool: 140 GB)" in line
    assert payload["response_type"] == "ephemeral"


def test_many_drifted_desktops_with_long_names_stay_within_limits() -> None:
    rows = [DriftedDesktop(desktop(i, computer_name="N" * 300), tuple(InconsistentType)) for i in range(500)]
    found = DriftedDesktops(pool=pool(name="x" * 400), desktops=rows, totals={InconsistentType.IMAGE_ID: 500})
    payload = drifted_message(found, limit=100)
    within_limits(payload)
    listed = sum(b["text"]["text"].count("• ") for b in payload["blocks"] if b["type"] == "section")
    assert listed == 100
    assert payload["blocks"][-1]["elements"][0]["text"] == "…and 400 more not listed here."


def test_an_incomplete_listing_gives_a_lower_bound() -> None:
    rows = [DriftedDesktop(desktop(i), (InconsistentType.IMAGE_ID,)) for i in range(5)]
    found = DriftedDesktops(
        pool=pool(), desktops=rows, totals={InconsistentType.IMAGE_ID: 12}, incomplete=True
    )
    payload = drifted_message(found, limit=3)
    assert "at least 12 desktops differ" in payload["blocks"][1]["text"]["text"]
    assert payload["blocks"][-1]["elements"][0]["text"] == "…and at least 9 more not listed here."


def test_merge_drifted_unites_the_kinds_of_each_desktop() -> None:
    a, b = desktop(1, "IMAGE_ID", "DISK_SIZE"), desktop(2, "product_id")
    pages = [
        PoolDesktops(
            pool_id=POOL_ID, inconsistent_type=InconsistentType.IMAGE_ID, total_count=1, desktops=[a]
        ),
        PoolDesktops(
            pool_id=POOL_ID, inconsistent_type=InconsistentType.DISK_SIZE, total_count=3, desktops=[a]
        ),
        PoolDesktops(
            pool_id=POOL_ID, inconsistent_type=InconsistentType.PRODUCT_ID, total_count=1, desktops=[b]
        ),
        PoolDesktops(
            pool_id=POOL_ID, inconsistent_type=InconsistentType.DISK_NUM, total_count=0, desktops=[]
        ),
    ]
    found = to_rows(pool(), merge_drift_listings(POOL_ID, pages))
    assert [(r.desktop.computer_name, r.kinds) for r in found.desktops] == [
        ("WEB0001", (InconsistentType.IMAGE_ID, InconsistentType.DISK_SIZE)),
        ("WEB0002", (InconsistentType.PRODUCT_ID,)),
    ]
    assert found.incomplete is True  # three with another disk size, one fetched
    assert found.totals[InconsistentType.DISK_SIZE] == 3


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


def test_drifted_desktops_name_the_kinds_that_could_not_be_listed() -> None:
    desktop = PoolDesktop(desktop_id="d1", computer_name="WEB0001", product_id="p2")
    listing = PoolDesktops(
        pool_id=POOL_ID,
        inconsistent_type=InconsistentType.PRODUCT_ID,
        total_count=1,
        desktops=[desktop],
    )
    merged = merge_drift_listings(
        POOL_ID, [listing], unavailable=[InconsistentType.DISK_SIZE, InconsistentType.DISK_NUM]
    )
    found = to_rows(pool(), merged)
    assert found.unavailable == (InconsistentType.DISK_NUM, InconsistentType.DISK_SIZE)
    blocks = drifted_message(found, limit=10)["blocks"]
    notes = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert notes == [
        ":grey_question: Desktops that differ in data-disk count and disk capacity: not reported "
        "(this Workspace endpoint, an older API version, cannot list them)."
    ]
    none = to_rows(pool(), merge_drift_listings(POOL_ID, [], unavailable=[InconsistentType.DISK_NUM]))
    empty = drifted_message(none, limit=10)
    assert "differs in package or image now" in empty["text"] and "not reported" in json.dumps(empty)


def payload_blocks(value: DriftReport) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = report_message(value, who="U1", elapsed_ms=1, in_channel=True)["blocks"]
    return blocks
