"""What Slack would refuse in a message, checked on any payload the builders make."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pooldrift_slack import kit

#: Slack's documented ceiling on a message's text; the whole payload stays under it too
MESSAGE_BYTES_MAX = 40_000
#: buttons in one actions block, as the bot lays them out (Slack's own limit is 25)
BUTTONS_PER_ROW = 10


def texts(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """Every text a person sees in the blocks: headers, sections, fields, context, buttons."""
    for block in blocks:
        if "text" in block:
            yield block["text"]["text"]
        for field in block.get("fields", []):
            yield field["text"]
        for element in block.get("elements", []):
            yield element["text"] if isinstance(element["text"], str) else element["text"]["text"]


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
            assert 1 <= len(block["elements"]) <= BUTTONS_PER_ROW
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= kit.BUTTON_TEXT_MAX
                assert len(element["value"]) <= kit.BUTTON_VALUE_MAX
                assert len(element["action_id"]) <= 255
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), "block ids are unique within a message"
    assert sum(len(t) for t in texts(blocks)) <= kit.MESSAGE_TEXT_MAX
    assert len(json.dumps(payload, ensure_ascii=False).encode()) <= MESSAGE_BYTES_MAX
