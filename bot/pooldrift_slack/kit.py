"""Block Kit primitives that cannot break Slack's limits: every text is clipped where it is made.

Pure functions from plain values to the dicts Slack expects; the message builders compose them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "HEADER_MAX",
    "MAX_BLOCKS",
    "MAX_FIELDS",
    "MESSAGE_TEXT_MAX",
    "TEXT_MAX",
    "actions",
    "button",
    "chunks",
    "clip",
    "context",
    "esc",
    "fit_blocks",
    "header",
    "message",
    "section",
]

Block = dict[str, Any]

HEADER_MAX = 150
TEXT_MAX = 3000
FIELD_MAX = 2000
MAX_FIELDS = 10
MAX_BLOCKS = 50
MAX_CONTEXT_ELEMENTS = 10
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
#: Notifications show the fallback; Slack truncates long ones anyway, so keep it readable.
FALLBACK_MAX = 3000
#: Slack refuses a message whose blocks carry much more text than this in all
#: (``msg_blocks_too_long``, seen from about 13,000 characters; not documented), so the
#: builders of long lists stop listing within it and count the rest.
MESSAGE_TEXT_MAX = 12_000
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def esc(text: str) -> str:
    """Escape what mrkdwn treats as control (``<!channel>``, links, mentions) in foreign text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_MAX), "emoji": True}}


def section(text: str | None = None, *, fields: list[str] | None = None) -> Block:
    block: Block = {"type": "section"}
    if text is not None:
        block["text"] = {"type": "mrkdwn", "text": clip(text, TEXT_MAX)}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": clip(f, FIELD_MAX)} for f in fields[:MAX_FIELDS]]
    return block


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, TEXT_MAX)} for t in texts[:MAX_CONTEXT_ELEMENTS]],
    }


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT_MAX), "emoji": True},
        "action_id": action_id,
        "value": value[:BUTTON_VALUE_MAX],
    }
    if style:
        element["style"] = style
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def chunks(lines: list[str], limit: int = TEXT_MAX) -> list[str]:
    """Lines joined into texts of at most ``limit`` characters (a longer line is clipped)."""
    texts: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            texts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        texts.append(current)
    return texts


def fit_blocks(blocks: list[Block]) -> list[Block]:
    """At most ``MAX_BLOCKS`` blocks; when cut, the last one says how many were left out."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    return [*kept, context(f"{len(blocks) - len(kept)} more blocks not shown.")]


def message(text: str, blocks: list[Block], *, in_channel: bool = False) -> dict[str, Any]:
    """A ``respond()`` payload: plain-text fallback, blocks within limits, visibility."""
    return {
        "text": clip(text, FALLBACK_MAX),
        "blocks": fit_blocks(blocks),
        "response_type": "in_channel" if in_channel else "ephemeral",
    }
