"""Pure Block Kit builders: typed results in, ``respond()`` payloads out (text fallback included).

No I/O and no Slack objects here, so every message is unit-tested as plain data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pooldrift.client import DesktopPools
from pooldrift.models import DesktopPool, DriftReport, InconsistentType, PoolDesktop

from .kit import (
    TEXT_MAX,
    Block,
    actions,
    button,
    clip,
    context,
    esc,
    header,
    message,
    section,
)

__all__ = [
    "REFRESH_ACTION",
    "SHOW_DRIFTED_ACTION",
    "DriftedDesktop",
    "DriftedDesktops",
    "checking_text",
    "drifted_message",
    "error_message",
    "help_message",
    "pools_message",
    "report_message",
]

COMMAND = "/pooldrift"
REFRESH_ACTION = "pooldrift_refresh"
SHOW_DRIFTED_ACTION = "pooldrift_show_drifted"

_SLACK_ID = re.compile(r"[A-Z0-9]{2,}")
_NAME_ROOM = 100  # of the header's 150 characters, what a pool name may take


@dataclass(frozen=True)
class DriftedDesktop:
    """One drifted desktop and the ways it differs from its pool."""

    desktop: PoolDesktop
    kinds: tuple[InconsistentType, ...]


@dataclass(frozen=True)
class DriftedDesktops:
    """The drifted desktops of a pool, as far as they were fetched."""

    pool: DesktopPool
    desktops: list[DriftedDesktop]
    #: how many desktops upstream reports for each kind of drift (they overlap)
    totals: dict[InconsistentType, int] = field(default_factory=dict)
    #: True when some kind had more desktops than were fetched
    incomplete: bool = False
    #: kinds the endpoint cannot list desktops by (an older API version): not reported
    unavailable: tuple[InconsistentType, ...] = ()


def mention(user_id: str | None) -> str:
    """``<@U123>`` for a Slack user id; anything else is quoted, never turned into a mention."""
    if not user_id:
        return "someone"
    return f"<@{user_id}>" if _SLACK_ID.fullmatch(user_id) else esc(user_id)


def code(text: str) -> str:
    return "`" + esc(text).replace("`", "'") + "`"


def _pool_title(report: DriftReport) -> str:
    return clip(report.pool_name or report.pool_id, _NAME_ROOM)


def checking_text(ref: str) -> str:
    return f":mag: Checking pool {code(clip(ref, 80))}…"


def report_message(
    report: DriftReport,
    *,
    who: str | None,
    elapsed_ms: float,
    in_channel: bool,
    refreshed: bool = False,
) -> dict[str, Any]:
    """The drift counts of one pool: status header, one field per kind, context, buttons."""
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
    buttons = [button("Refresh", REFRESH_ACTION, report.pool_id)]
    if report.drifted:
        buttons.append(button("Show drifted desktops", SHOW_DRIFTED_ACTION, report.pool_id, style="primary"))
    blocks: list[Block] = [
        header(title),
        section(esc(report.summary())),
        section(fields=fields),
        context(" · ".join(facts)),
        actions(*buttons, block_id="pooldrift_report"),
    ]
    return message(esc(report.summary()), blocks, in_channel=in_channel)


def _volume_total(root: int | None, data: list[int | None]) -> int | None:
    sizes = [root, *data]
    if any(size is None for size in sizes):
        return None
    return sum(s for s in sizes if s is not None)


def _shown(value: object) -> str:
    return code(str(value)) if value is not None else "unknown"


def difference(kind: InconsistentType, desktop: PoolDesktop, pool: DesktopPool) -> str:
    """How one desktop differs from its pool in one way, in a few words."""
    if kind is InconsistentType.PRODUCT_ID:
        return f"package {_shown(desktop.product_id)} (pool: {_shown(pool.product_id)})"
    if kind is InconsistentType.IMAGE_ID:
        return f"image {_shown(desktop.image_id)} (pool: {_shown(pool.image_id)})"
    if kind is InconsistentType.DISK_NUM:
        return f"{len(desktop.data_volumes)} data disks (pool: {len(pool.data_volumes)})"
    mine = _volume_total(
        desktop.root_volume.size if desktop.root_volume else None, [v.size for v in desktop.data_volumes]
    )
    theirs = _volume_total(
        pool.root_volume.size if pool.root_volume else None, [v.size for v in pool.data_volumes]
    )
    mine_text = f"{mine} GB" if mine is not None else "unknown size"
    theirs_text = f"{theirs} GB" if theirs is not None else "unknown"
    return f"{mine_text} of disk (pool: {theirs_text})"


def _chunks(lines: list[str], limit: int = TEXT_MAX) -> list[str]:
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


def drifted_message(found: DriftedDesktops, *, limit: int) -> dict[str, Any]:
    """The drifted desktops of a pool, each with how it differs; at most ``limit`` listed."""
    pool = found.pool
    name = clip(pool.name, _NAME_ROOM)
    unlisted = _unlisted(found.unavailable)
    if not found.desktops:
        if unlisted:
            text = f"No desktop of pool {esc(name)} differs in package or image now."
            return message(text, [section(f":white_check_mark: {text}"), context(unlisted)])
        text = f"No desktop of pool {esc(name)} differs from its configuration now."
        return message(text, [section(f":white_check_mark: {text}")])
    shown_rows = found.desktops[:limit]
    lines = []
    for row in shown_rows:
        d = row.desktop
        label = esc(clip(d.computer_name or d.desktop_id, 64))
        how = "; ".join(difference(kind, d, pool) for kind in row.kinds)
        lines.append(f"• *{label}* {code(d.desktop_id)} — {how}")
    rest = len(found.desktops) - len(shown_rows)
    at_least = max(found.totals.values(), default=0)
    known = max(len(found.desktops), at_least)
    count_text = f"at least {known}" if found.incomplete else str(len(found.desktops))
    per_kind = ", ".join(f"{kind.label.lower()}: {n}" for kind, n in found.totals.items() if n)
    blocks: list[Block] = [
        header(f"Drifted desktops of {name}"),
        section(
            f"{count_text} desktops differ from the pool's configuration"
            + (f" ({per_kind})." if per_kind else ".")
        ),
        *(section(chunk) for chunk in _chunks(lines)),
    ]
    if rest > 0 or found.incomplete:
        more = f"at least {known - len(shown_rows)}" if found.incomplete else str(rest)
        blocks.append(context(f"…and {more} more not listed here."))
    if unlisted:
        blocks.append(context(unlisted))
    text = f"{count_text} desktops of pool {esc(name)} differ from its configuration."
    return message(text, blocks)


def _unlisted(kinds: tuple[InconsistentType, ...]) -> str:
    if not kinds:
        return ""
    named = " and ".join(kind.label.lower() for kind in kinds)
    return (
        f":grey_question: Desktops that differ in {named}: not reported (this Workspace endpoint, "
        "an older API version, cannot list them)."
    )


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
        *(section(chunk) for chunk in _chunks(lines)),
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
        f"*{COMMAND} pools* — the desktop pools in the project.\n"
        f"*{COMMAND} help* — this message."
    )
    blocks = [
        section(text),
        context(
            "Drift: desktops whose package, image, data-disk count or disk capacity differs "
            "from their pool's configuration (Huawei Cloud Workspace)."
        ),
    ]
    return message(f"Usage: {COMMAND} <pool id or name> | {COMMAND} pools | {COMMAND} help", blocks)


def error_message(text: str, *, ref: str | None = None) -> dict[str, Any]:
    """An ephemeral error in words a person can act on; ``text`` is mrkdwn already escaped."""
    blocks: list[Block] = [section(text)]
    if ref:
        blocks.append(context(f"ref {code(ref)}"))
    return message(text, blocks)
