"""What Slack would refuse in a message, checked on any payload the builders make.

``slack_problems`` is the one check: ``slack_sdk``'s own parsing and validation of each block,
plus the rules it does not check (unique ``action_id`` within a block, unique ``block_id``
within a message, the text limits). The builders' tests assert it finds nothing, and the fake
Slack servers answer ``invalid_blocks`` when it finds something, as real Slack would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pooldrift_slack import kit
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

#: Slack's documented ceiling on a message's text; the whole payload stays under it too
MESSAGE_BYTES_MAX = 40_000
#: buttons in one actions block, as the bot lays them out (Slack's own limit is 25)
BUTTONS_PER_ROW = 10
ACTIONS_ELEMENTS_MAX = 25
ACTION_ID_MAX = 255
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300


def texts(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """Every text a person sees in the blocks: headers, sections, fields, context, buttons."""
    for block in blocks:
        if "text" in block:
            yield block["text"]["text"]
        for field in block.get("fields", []):
            yield field["text"]
        for element in block.get("elements", []):
            yield element["text"] if isinstance(element["text"], str) else element["text"]["text"]


def _text_of(value: Any) -> str:
    return value.get("text", "") if isinstance(value, dict) else ""


def _block_problems(index: int, block: Any) -> list[str]:
    where = f"block {index}"
    if not isinstance(block, dict):
        return [f"{where} is not an object"]
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"{where} does not parse"]
        parsed.validate_json()
    except (SlackObjectFormationError, KeyError, TypeError, ValueError) as exc:
        return [f"{where}: {exc}"]
    problems: list[str] = []
    kind = block.get("type")
    if kind == "header" and len(_text_of(block.get("text"))) > kit.HEADER_MAX:
        problems.append(f"{where}: header text over {kit.HEADER_MAX}")
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"{where}: section with neither text nor fields")
        if len(_text_of(block.get("text"))) > kit.TEXT_MAX:
            problems.append(f"{where}: section text over {kit.TEXT_MAX}")
        fields = block.get("fields", [])
        if len(fields) > kit.MAX_FIELDS or any(len(_text_of(f)) > kit.FIELD_MAX for f in fields):
            problems.append(f"{where}: fields over {kit.MAX_FIELDS} or one over {kit.FIELD_MAX}")
    elements = block.get("elements", []) if kind in ("actions", "context") else []
    if kind == "actions" and not 1 <= len(elements) <= ACTIONS_ELEMENTS_MAX:
        problems.append(f"{where}: {len(elements)} elements in an actions block")
    if kind == "context" and not 1 <= len(elements) <= kit.MAX_CONTEXT_ELEMENTS:
        problems.append(f"{where}: {len(elements)} elements in a context block")
    action_ids = [e["action_id"] for e in elements if isinstance(e, dict) and "action_id" in e]
    if len(action_ids) != len(set(action_ids)):
        problems.append(f"{where}: action_id repeated within the block")
    for element in elements:
        if not isinstance(element, dict) or element.get("type") != "button":
            continue
        if len(_text_of(element.get("text"))) > kit.BUTTON_TEXT_MAX:
            problems.append(f"{where}: button text over {kit.BUTTON_TEXT_MAX}")
        if len(element.get("value", "")) > kit.BUTTON_VALUE_MAX:
            problems.append(f"{where}: button value over {kit.BUTTON_VALUE_MAX}")
        if len(element.get("action_id", "")) > ACTION_ID_MAX:
            problems.append(f"{where}: action_id over {ACTION_ID_MAX}")
        confirm = element.get("confirm")
        if isinstance(confirm, dict) and (
            len(_text_of(confirm.get("title"))) > CONFIRM_TITLE_MAX
            or len(_text_of(confirm.get("text"))) > CONFIRM_TEXT_MAX
        ):
            problems.append(
                f"{where}: confirm title over {CONFIRM_TITLE_MAX} or text over {CONFIRM_TEXT_MAX}"
            )
    return problems


def slack_problems(payload: Any) -> list[str]:
    """What real Slack would answer ``invalid_blocks`` for; empty when it would take the message."""
    if not isinstance(payload, dict) or "blocks" not in payload:
        return []
    blocks = payload["blocks"]
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks is not JSON"]
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems = [] if len(blocks) <= kit.MAX_BLOCKS else [f"{len(blocks)} blocks, over {kit.MAX_BLOCKS}"]
    for index, block in enumerate(blocks):
        problems += _block_problems(index, block)
    block_ids = [b["block_id"] for b in blocks if isinstance(b, dict) and "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        problems.append("block_id repeated within the message")
    return problems


def within_limits(payload: dict[str, Any]) -> None:
    """Everything Slack would reject, checked on any payload; and the bot's own tighter layout."""
    problems = slack_problems(payload)
    assert not problems, problems
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= kit.MAX_BLOCKS
    assert payload["text"] and len(payload["text"]) <= kit.FALLBACK_MAX
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
        if block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= BUTTONS_PER_ROW
    assert sum(len(t) for t in texts(blocks)) <= kit.MESSAGE_TEXT_MAX
    assert len(json.dumps(payload, ensure_ascii=False).encode()) <= MESSAGE_BYTES_MAX
