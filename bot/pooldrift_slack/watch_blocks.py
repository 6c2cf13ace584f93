"""Pure Block Kit pieces of the drift watch in the bot's answers: the mute and unmute answers,
and the "drifting since" lines of a pool's report (no I/O: the times come in as arguments).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from pooldrift.watch.models import duration

from .blocks import COMMAND, code
from .kit import clip, context, esc, message, section

__all__ = ["muted_message", "since_lines", "unmuted_message"]


def _when(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _pool(name: str, pool_id: str) -> str:
    return f"*{esc(clip(name, 100))}* {code(pool_id)}"


def muted_message(
    name: str, pool_id: str, *, until: datetime, length: timedelta, zone: tzinfo
) -> dict[str, Any]:
    text = (
        f":mute: Muted {_pool(name, pool_id)} for {duration(length.total_seconds())}, until "
        f"{_when(until, zone)}: the drift watch posts no alert about it until then."
    )
    hint = f"`{COMMAND} unmute {esc(clip(name, 100))}` ends the mute sooner."
    return message(text, [section(text), context(hint)])


def unmuted_message(name: str, pool_id: str, *, was_muted: bool) -> dict[str, Any]:
    if was_muted:
        text = f":loud_sound: Unmuted {_pool(name, pool_id)}: the drift watch alerts about it again."
    else:
        text = f":loud_sound: {_pool(name, pool_id)} was not muted: the drift watch alerts about it."
    return message(text, [section(text)])


def since_lines(since: datetime | None, trend: str, *, now: datetime, zone: tzinfo) -> str:
    """``Drifting since <time> (<how long>)`` and the trend, as one mrkdwn text ("" when neither)."""
    lines = []
    if since is not None:
        lines.append(
            f":clock3: Drifting since {_when(since, zone)} ({duration((now - since).total_seconds())})"
        )
    if trend:
        lines.append(f":chart_with_upwards_trend: Trend: {esc(trend)}")
    return "\n".join(lines)
