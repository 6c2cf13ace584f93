"""The answer to "Show drifted desktops": each drifted desktop of a pool with what the pool expects
against what the desktop has, capped with the count of the rest.
"""

from __future__ import annotations

from typing import Any

from pooldrift.fleet import Baseline, Difference, DriftedDesktop, PoolDrilldown
from pooldrift.kinds import InconsistentType

from .blocks import NAME_ROOM, code
from .kit import Block, chunks, clip, context, esc, header, message, section
from .scan_blocks import SHORT

__all__ = ["drilldown_message", "shown"]

#: text the desktop lines may take of the message's 12,000 characters
_DESKTOPS_BUDGET = 9_000
_LINE_MAX = 1_000
NOT_REPORTED = "not reported"


def shown(kind: InconsistentType, value: str | int | None) -> str:
    """One side of a difference as Slack shows it; never a guess where the API said nothing."""
    if value is None:
        return NOT_REPORTED
    if kind is InconsistentType.DISK_SIZE:
        return f"{value} GB"
    if kind is InconsistentType.DISK_NUM:
        return str(value)
    return code(clip(str(value), 80))


def _difference(diff: Difference) -> str:
    expected, actual = shown(diff.kind, diff.expected), shown(diff.kind, diff.actual)
    return f"{SHORT[diff.kind]}: expected {expected}, actual {actual}"


def _line(row: DriftedDesktop) -> str:
    label = esc(clip(row.computer_name or row.desktop_id, 64))
    how = "; ".join(_difference(d) for d in row.differences)
    return clip(f"• *{label}* {code(row.desktop_id)} — {how}", _LINE_MAX)


def _baseline(expected: Baseline) -> str:
    wanted = {
        InconsistentType.PRODUCT_ID: expected.product_id,
        InconsistentType.IMAGE_ID: expected.image_id,
        InconsistentType.DISK_NUM: expected.data_disk_count,
        InconsistentType.DISK_SIZE: expected.total_disk_gb,
    }
    return "The pool expects " + ", ".join(f"{SHORT[k]} {shown(k, v)}" for k, v in wanted.items()) + "."


def _unlisted(kinds: list[InconsistentType]) -> str:
    named = " and ".join(kind.label.lower() for kind in kinds)
    return (
        f":grey_question: Desktops that differ in {named}: not reported (this Workspace endpoint, "
        "an older API version, cannot list them)."
    )


def drilldown_message(found: PoolDrilldown, *, limit: int) -> dict[str, Any]:
    """At most ``limit`` desktops (fewer when their text would pass the message's budget), each
    with expected against actual per way it differs; the rest counted."""
    name = clip(found.pool_name, NAME_ROOM)
    notes = [_unlisted(found.unavailable_kinds)] if found.unavailable_kinds else []
    if not found.desktops:
        listable = [SHORT[k] for k in InconsistentType if k not in found.unavailable_kinds]
        how = f" in {' or '.join(listable)}" if found.unavailable_kinds else " from its configuration"
        text = f"No desktop of pool {esc(name)} differs{how} now."
        return message(text, [section(f":white_check_mark: {text}"), *(context(n) for n in notes)])
    lines: list[str] = []
    used = 0
    for row in found.desktops[:limit]:
        line = _line(row)
        used += len(line) + 1
        if used > _DESKTOPS_BUDGET:
            break
        lines.append(line)
    at_least = "at least " if found.more_available else ""
    total = found.total_count if found.total_count is not None else len(found.desktops)
    desktops, differ = (f"{total} desktop", "differs") if total == 1 else (f"{total} desktops", "differ")
    blocks: list[Block] = [
        header(f"Drifted desktops of {name}"),
        section(f"{at_least}{desktops} {differ} from the pool's configuration."),
        context(_baseline(found.expected)),
        *(section(chunk) for chunk in chunks(lines)),
    ]
    rest = total - len(lines)
    if rest > 0:
        blocks.append(context(f"…and {at_least}{rest} more not listed here."))
    blocks.extend(context(n) for n in notes)
    text = f"{at_least}{desktops} of pool {esc(name)} {differ} from its configuration."
    return message(text[0].upper() + text[1:], blocks)
