"""The watch's Slack messages as Block Kit, built from events; pure (no I/O, no clock).

One message per episode (posted when it opens, updated in place as it changes) and a short thread
reply per change. The buttons carry the pool id with the action ids the Slack bot answers.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from .models import KINDS, Counts, Event, EventKind, at_least, duration

__all__ = ["REFRESH_ACTION", "SHOW_DRIFTED_ACTION", "Message", "alert", "reply"]

#: the Slack bot's action ids (pooldrift_slack.blocks): the core cannot import the bot
REFRESH_ACTION = "pooldrift_refresh"
SHOW_DRIFTED_ACTION = "pooldrift_show_drifted"

Message = dict[str, Any]
_HEADER_MAX, _TEXT_MAX = 150, 3000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(text: str) -> str:
    """Foreign text (pool names, upstream messages) cannot mention or link in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return "`" + _esc(text).replace("`", "'") + "`"


def _when(moment: datetime | None, zone: tzinfo) -> str:
    if moment is None:
        return "an unknown time"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _parts(counts: Counts) -> str:
    found = [(k, counts.get(k.field)) for k in KINDS]
    return ", ".join(f"{value} with a different {kind.noun}" for kind, value in found if value)


def _changes(before: Counts, after: Counts) -> str:
    moved = [
        f"{k.noun} {before.get(k.field) or 0} → {after.get(k.field) or 0}"
        for k in KINDS
        if (before.get(k.field) or 0) != (after.get(k.field) or 0)
    ]
    return ", ".join(moved)


def _fields(counts: Counts) -> list[dict[str, str]]:
    fields = []
    for kind in KINDS:
        value = counts.get(kind.field)
        if value is None:  # unknown, never shown as 0
            status = ":grey_question: not reported"
        else:
            status = f":warning: *{value}* drifted" if value else ":white_check_mark: in line"
        fields.append({"type": "mrkdwn", "text": f"*{kind.label}*\n{status}"})
    return fields


def _block(kind: str, **values: Any) -> dict[str, Any]:
    return {"type": kind, **values}


def _text(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(text, _TEXT_MAX)}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _facts(event: Event) -> str:
    facts = [_esc(event.region)]
    if event.project_id:
        facts.append(f"project {_code(event.project_id)}")
    if event.pool_id:
        size = f" ({event.desktop_count} desktops)" if event.desktop_count is not None else ""
        facts.append(f"pool {_code(event.pool_id)}{size}")
    return " · ".join(facts)


def _words(event: Event, zone: tzinfo) -> tuple[str, str, str, str]:
    """Title, summary, context line and notification text of the episode's message."""
    name = _clip(event.label, 100)
    since = _when(event.since, zone)
    lasted = duration((event.at - event.since).total_seconds()) if event.since else "?"
    if event.kind in _OPEN:
        size = f" of {event.desktop_count}" if event.desktop_count is not None else ""
        parts = _parts(event.counts)
        context = f"Drifting since {since}"
        if event.kind != EventKind.DRIFTED:
            context += f" · last change {_when(event.at, zone)}"
        return (
            f"⚠️ {name} has drifted",
            f"At least *{event.at_least}*{size} desktops differ from the pool's configuration ({parts}).",
            context,
            f"Pool {event.label} has drifted: at least {event.at_least}{size} desktops differ ({parts}).",
        )
    if event.kind == EventKind.RESOLVED:
        return (
            f"✅ {name}: drift resolved after {lasted}",
            f"Every desktop is back in line with the pool's configuration (drifting since {since}).",
            f"Resolved {_when(event.at, zone)}",
            f"Pool {event.label}: drift resolved after {lasted}.",
        )
    if event.kind == EventKind.POOL_GONE:
        return (
            f"🗑️ {name} is gone",
            f"The pool is no longer listed by its project (this episode began {since}).",
            f"Gone {_when(event.at, zone)}",
            f"Pool {event.label} is gone.",
        )
    if event.kind == EventKind.SCAN_FAILING:
        return (
            f"❗ Cannot check {name}",
            f"{event.failures} checks in a row failed: {_esc(event.message or 'no answer')}",
            f"Failing since {since}",
            f"Cannot check {event.label}: {event.failures} checks in a row failed.",
        )
    return (
        f"✅ {name} can be checked again",
        f"Checks answer again after failing for {lasted} ({event.failures} in a row).",
        f"Recovered {_when(event.at, zone)}",
        f"{event.label} can be checked again after {lasted}.",
    )


_OPEN = (EventKind.DRIFTED, EventKind.WORSE, EventKind.BETTER)


def alert(event: Event, *, zone: tzinfo) -> Message:
    """The episode's one message as of ``event``: posted when the episode opens, then updated."""
    title, summary, context, fallback = _words(event, zone)
    blocks: list[dict[str, Any]] = [
        _block("header", text={"type": "plain_text", "text": _clip(title, _HEADER_MAX), "emoji": True}),
        _block("section", text=_text(summary)),
    ]
    if event.scope == "pool" and event.kind in _OPEN:
        blocks.append(_block("section", fields=_fields(event.counts)))
    blocks.append(_block("context", elements=[_text(f"{context} · {_facts(event)}")]))
    if event.scope == "pool" and event.pool_id and event.kind != EventKind.POOL_GONE:
        buttons = [_button("Refresh", REFRESH_ACTION, event.pool_id)]
        if event.kind in _OPEN:
            buttons.append(_button("Show drifted desktops", SHOW_DRIFTED_ACTION, event.pool_id, "primary"))
        blocks.append(_block("actions", block_id="pooldrift_watch", elements=buttons))
    return {"text": _clip(_esc(fallback), _TEXT_MAX), "blocks": blocks}


def reply(event: Event, *, zone: tzinfo) -> Message:
    """The thread reply for a change of an episode already announced."""
    lasted = duration((event.at - event.since).total_seconds()) if event.since else "?"
    moved = _changes(event.before, event.counts)
    was = at_least(event.before)
    bound = f"at least {event.at_least} desktops drift" + (f" (was {was})" if was != event.at_least else "")
    if event.kind == EventKind.WORSE:
        text = f"⬆️ Worse: {moved}; {bound}."
    elif event.kind == EventKind.BETTER:
        text = f"⬇️ Better: {moved}; {bound}."
    elif event.kind == EventKind.RESOLVED:
        text = f"✅ Resolved after {lasted}: every desktop is back in line ({moved})."
    elif event.kind == EventKind.POOL_GONE:
        text = f"🗑️ The pool is gone after {lasted} of this episode."
    elif event.kind == EventKind.SCAN_RECOVERED:
        text = f"✅ Checks answer again after {lasted}."
    else:
        text = f"{event.kind.value} at {_when(event.at, zone)}"
    return {"text": _clip(text, _TEXT_MAX), "blocks": [_block("section", text=_text(text))]}
