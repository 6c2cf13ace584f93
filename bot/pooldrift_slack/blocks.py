"""Pure Block Kit builders: typed results in, ``respond()`` payloads out (text fallback included).

No I/O and no Slack objects here, so every message is unit-tested as plain data.
"""

from __future__ import annotations

import re
from typing import Any

from pooldrift.client import DesktopPools
from pooldrift.models import DriftReport, InconsistentType

from .kit import Block, actions, button, chunks, clip, context, esc, header, message, section

__all__ = [
    "COMMAND",
    "NAME_ROOM",
    "OPEN_POOL_ACTION",
    "OPEN_POOL_ROUTE",
    "REFRESH_ACTION",
    "SHOW_DRIFTED_ACTION",
    "checking_text",
    "code",
    "error_message",
    "help_message",
    "mention",
    "open_pool_action",
    "pools_message",
    "report_message",
]

COMMAND = "/pooldrift"
REFRESH_ACTION = "pooldrift_refresh"
SHOW_DRIFTED_ACTION = "pooldrift_show_drifted"
OPEN_POOL_ACTION = "pooldrift_open_pool"
#: the scan's pool buttons are ``pooldrift_open_pool:<n>``: Slack refuses a message whose
#: actions block repeats an ``action_id``; the bare id stays routed for messages sent before
OPEN_POOL_ROUTE = re.compile(rf"^{OPEN_POOL_ACTION}(:\d+)?$")

_SLACK_ID = re.compile(r"[A-Z0-9]{2,}")
NAME_ROOM = 100  # of the header's 150 characters, what a pool name may take


def mention(user_id: str | None) -> str:
    """``<@U123>`` for a Slack user id; anything else is quoted, never turned into a mention."""
    if not user_id:
        return "someone"
    return f"<@{user_id}>" if _SLACK_ID.fullmatch(user_id) else esc(user_id)


def open_pool_action(number: int) -> str:
    """The ``action_id`` of the scan's button for its ``number``-th pool, unique in its message."""
    return f"{OPEN_POOL_ACTION}:{number}"


def code(text: str) -> str:
    return "`" + esc(text).replace("`", "'") + "`"


def _pool_title(report: DriftReport) -> str:
    return clip(report.pool_name or report.pool_id, NAME_ROOM)


def checking_text(ref: str) -> str:
    return f":mag: Checking pool {code(clip(ref, 80))}…"


def report_message(
    report: DriftReport,
    *,
    who: str | None,
    elapsed_ms: float,
    in_channel: bool,
    refreshed: bool = False,
    value: str | None = None,
    history: str = "",
) -> dict[str, Any]:
    """The drift counts of one pool: status header, one field per kind, context, buttons.
    ``value`` is what the buttons carry (default the pool id; a scan across projects adds where);
    ``history`` what the drift watch knows (since when, the trend), mrkdwn, shown when given."""
    name = _pool_title(report)
    if report.drifted:
        title = f"⚠️ {name} has drifted"
    elif report.consistent:
        title = f"✅ {name} is consistent"
    else:
        title = f"❔ {name}: drift not fully reported"
    fields = []
    for kind in InconsistentType:
        count = report.count(kind)
        if count is None:  # unknown, never shown as 0
            status = ":grey_question: not reported"
        else:
            status = f":warning: *{count}* drifted" if count else ":white_check_mark: in line"
        fields.append(f"*{kind.label}*\n{status}")
    size = f"{report.desktop_count} desktops" if report.desktop_count is not None else "size unknown"
    facts = [
        f"{esc(report.region)}",
        f"project {code(report.project_id)}",
        f"pool {code(report.pool_id)} ({size})",
    ]
    if report.request_id:
        facts.append(f"request id {code(report.request_id)}")
    facts.append(f"{elapsed_ms:.0f} ms")
    facts.append(f"{'refreshed' if refreshed else 'asked'} by {mention(who)}")
    value = value or report.pool_id
    buttons = [button("Refresh", REFRESH_ACTION, value)]
    if report.drifted:
        buttons.append(button("Show drifted desktops", SHOW_DRIFTED_ACTION, value, style="primary"))
    blocks: list[Block] = [
        header(title),
        section(esc(report.summary())),
        section(fields=fields),
        *([section(history)] if history else []),
        context(" · ".join(facts)),
        actions(*buttons, block_id="pooldrift_report"),
    ]
    return message(esc(report.summary()), blocks, in_channel=in_channel)


def pools_message(
    pools: DesktopPools, *, project_id: str, region: str, limit: int, in_channel: bool
) -> dict[str, Any]:
    """The pools of the project, at most ``limit`` listed, with how many were left out."""
    listed = pools.pools[:limit]
    if not listed:
        text = esc(f"Project {project_id} ({region}) has no desktop pools.")
        return message(text, [section(text)], in_channel=in_channel)
    lines = []
    for pool in listed:
        facts = []
        if pool.desktop_count is not None:
            facts.append(f"{pool.desktop_count} desktops")
        if pool.status:
            facts.append(esc(pool.status))
        lines.append(
            f"• *{esc(clip(pool.name, 64))}* {code(pool.id)}" + (f" · {' · '.join(facts)}" if facts else "")
        )
    blocks: list[Block] = [
        header(f"Desktop pools in {region}"),
        *(section(chunk) for chunk in chunks(lines)),
    ]
    rest = pools.total_count - len(listed)
    tail = f"{rest} more not listed · " if rest > 0 else ""
    blocks.append(context(f"{tail}project {code(project_id)} · check one with `{COMMAND} <name or id>`"))
    text = esc(f"{pools.total_count} desktop pools in project {project_id} ({region}).")
    return message(text, blocks, in_channel=in_channel)


def help_message() -> dict[str, Any]:
    text = (
        f"*{COMMAND} <pool>* — has this desktop pool drifted from its configuration? "
        "Give the pool's id or its exact name.\n"
        f"*{COMMAND} scan* — every pool at once, the worst first, each with a button to open it.\n"
        f"*{COMMAND} scan <part of a name>* — only the pools whose name contains it (any case), "
        f"e.g. `{COMMAND} scan win11`.\n"
        f"*{COMMAND} pools* — the desktop pools in the project.\n"
        f"*{COMMAND} mute <pool> <duration>* — the drift watch posts no alert about the pool "
        f"for that long (e.g. `30m`, `2h`, `1d`); *{COMMAND} unmute <pool>* ends it.\n"
        f"*{COMMAND} help* — this message."
    )
    blocks = [
        section(text),
        context(
            "Drift: desktops whose package, image, data-disk count or disk capacity differs "
            "from their pool's configuration (Huawei Cloud Workspace)."
        ),
    ]
    usage = (
        f"Usage: {COMMAND} <pool id or name> | {COMMAND} scan [name] | {COMMAND} pools | "
        f"{COMMAND} mute <pool> <duration> | {COMMAND} unmute <pool> | {COMMAND} help"
    )
    return message(usage, blocks)


def error_message(text: str, *, ref: str | None = None) -> dict[str, Any]:
    """An ephemeral error in words a person can act on; ``text`` is mrkdwn already escaped."""
    blocks: list[Block] = [section(text)]
    if ref:
        blocks.append(context(f"ref {code(ref)}"))
    return message(text, blocks)
