"""The answer to ``/pooldrift scan``: the fleet's totals, its worst pools (each with a button that
opens it) and what could not be scanned with the next step, within Slack's limits at any size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from pooldrift.fleet import FleetScan, FleetTotals, PoolDrift, ScanFailure
from pooldrift.kinds import InconsistentType

from .address import PoolAddress
from .blocks import code, mention, open_pool_action
from .kit import Block, actions, button, clip, context, esc, header, message, section
from .words import guarded, next_step

__all__ = ["PER_ROW", "SHORT", "counted_message", "scan_message", "scanning_text"]

#: pools per section of lines, each followed by its row of buttons (Slack allows 25 a row;
#: ten keep every button close to its line)
PER_ROW = 10
#: ten lines and their line breaks stay within a section's 3,000 characters
_LINE_MAX = 290
_LABEL_MAX = 32
_NAME_MAX = 40
#: text the pool rows (line and button) and the failures may take of the message's 12,000
_POOLS_BUDGET = 9_000
_FAILURES_BUDGET = 1_500
_NAMES_PER_FAILURE = 5
_FAILURE_LINE_MAX = 600

SHORT = {
    InconsistentType.PRODUCT_ID: "package",
    InconsistentType.IMAGE_ID: "image",
    InconsistentType.DISK_NUM: "data disks",
    InconsistentType.DISK_SIZE: "disk size",
}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _matching(name: str | None) -> str:
    return f" whose name contains {code(clip(name, _NAME_MAX))}" if name else ""


def scanning_text(name: str | None, *, all_projects: bool) -> str:
    """The ack: sent before any request, so it cannot say how many pools there are."""
    where = " of every project pooldrift can reach" if all_projects else ""
    return f":mag: Scanning the pools{_matching(name)}{where}…"


def counted_message(total: int, name: str | None) -> dict[str, Any]:
    """The first line once the pools are listed (ephemeral, and never updated: no progress)."""
    text = f":hourglass_flowing_sand: Scanning {_plural(total, 'pool')}{_matching(name)}…"
    return message(text, [section(text)])


def _title(t: FleetTotals, name: str | None) -> str:
    if t.drifted_pools:
        return f"⚠️ {t.drifted_pools} of {_plural(t.pools, 'pool')} have drifted"
    if t.pools == 0:
        if t.failed_projects:
            return "🚫 The pools could not be listed"
        return "🔍 No desktop pools match" if name else "🔍 No desktop pools found"
    if t.failed_pools == t.pools:
        return f"🚫 None of {_plural(t.pools, 'pool')} could be scanned"
    if t.consistent_pools == t.pools:
        return f"✅ All {_plural(t.pools, 'pool')} are consistent"
    return f"❔ No drift reported; {t.consistent_pools} of {_plural(t.pools, 'pool')} known to be consistent"


def _fields(t: FleetTotals, all_projects: bool) -> list[str]:
    pools = str(t.pools) + (f" in {_plural(t.projects, 'project')}" if all_projects else "")
    failed = "0"
    if t.failed_pools or t.failed_projects:
        failed = _plural(t.failed_pools, "pool") + (
            f", {_plural(t.failed_projects, 'project')}" if t.failed_projects else ""
        )
    return [
        f"*Pools*\n{pools}",
        f"*Drifted*\n{t.drifted_pools}",
        f"*Consistent*\n{t.consistent_pools}",
        f"*Not fully reported*\n{t.unknown_pools}",
        f"*Failed*\n{failed}",
        f"*Drifted desktops*\nat least {t.drifted_desktops_at_least} of {t.desktops}",
    ]


def _how(entry: PoolDrift) -> str:
    report = entry.report
    unknown = report.unreported_kinds
    not_reported = f"{', '.join(SHORT[k] for k in unknown)} not reported" if unknown else ""
    if report.drifted:
        of = f" of {entry.desktop_count}" if entry.desktop_count is not None else ""
        counts = ", ".join(f"{SHORT[k]} {report.count(k)}" for k in report.drifted_kinds)
        return f"at least {report.drifted_desktops_at_least}{of} desktops: {counts}" + (
            f"; {not_reported}" if not_reported else ""
        )
    known = [SHORT[k] for k in InconsistentType if k not in unknown]
    if not known:
        return "drift counts not reported"
    return f"no drift in {', '.join(known)}; {not_reported}"


def _pool_line(number: int, entry: PoolDrift, all_projects: bool) -> str:
    mark = ":warning:" if entry.report.drifted else ":grey_question:"
    name = esc(clip(entry.pool_name, _NAME_MAX))
    where = f" · {esc(entry.region)} {code(entry.project_id[:8])}" if all_projects else ""
    return clip(f"*{number}.* {mark} *{name}* — {_how(entry)}{where}", _LINE_MAX)


def _pool_button(number: int, entry: PoolDrift, all_projects: bool) -> Block:
    address = PoolAddress(entry.pool_id, entry.region, entry.project_id) if all_projects else None
    value = address.value if address else entry.pool_id
    return button(clip(f"{number}. {entry.pool_name}", _LABEL_MAX), open_pool_action(number), value)


def _pool_rows(pools: Sequence[PoolDrift], all_projects: bool, limit: int) -> tuple[list[Block], int]:
    """Sections of lines, each with its row of buttons; and how many pools were listed."""
    lines: list[str] = []
    buttons: list[Block] = []
    used = 0
    for number, entry in enumerate(pools[:limit], start=1):
        line, element = _pool_line(number, entry, all_projects), _pool_button(number, entry, all_projects)
        used += len(line) + len(element["text"]["text"])
        if used > _POOLS_BUDGET:
            break
        lines.append(line)
        buttons.append(element)
    blocks: list[Block] = []
    for start in range(0, len(lines), PER_ROW):
        blocks.append(section("\n".join(lines[start : start + PER_ROW])))
        blocks.append(
            actions(*buttons[start : start + PER_ROW], block_id=f"pooldrift_scan_{start // PER_ROW}")
        )
    return blocks, len(lines)


def _failed_name(failure: ScanFailure) -> str:
    if failure.scope == "project":
        name = failure.project_name or failure.project_id
        if name is None:  # its id was never learnt (the IAM lookup failed)
            return f"the project in {esc(failure.region)}"
        return f"{code(clip(name, 40))} ({esc(failure.region)})"
    return code(clip(failure.pool_name or failure.pool_id or "?", 40))


def _failure_line(group: list[ScanFailure]) -> str:
    first, count = group[0], len(group)
    status = ""
    # an answer the API gave with 200 (a listing too long, a malformed body) is no HTTP error
    if first.status_code is not None and not 200 <= first.status_code < 300:
        code_ = f" {esc(first.error_code)}" if first.error_code else ""
        status = f" (HTTP {first.status_code}{code_})"
    names = ", ".join(_failed_name(f) for f in group[:_NAMES_PER_FAILURE])
    more = f" and {count - _NAMES_PER_FAILURE} more" if count > _NAMES_PER_FAILURE else ""
    request = ""
    if first.request_id:
        request = f" Request id {code(first.request_id)}" + (" (the first)." if count > 1 else ".")
    what = f"*{_plural(count, first.scope)}* — {esc(first.outcome.replace('_', ' '))}{status}"
    return clip(
        f"• {what}: {names}{more}. {next_step(first.outcome, iam_action=first.iam_action)}{request}",
        _FAILURE_LINE_MAX,
    )


def _failure_groups(failures: Sequence[ScanFailure]) -> list[list[ScanFailure]]:
    """Alike failures together (scope, outcome, status, code, IAM action), projects first, larger
    groups first."""
    groups: dict[tuple[str, str, int | None, str | None, str | None], list[ScanFailure]] = {}
    for f in failures:
        groups.setdefault((f.scope, f.outcome, f.status_code, f.error_code, f.iam_action), []).append(f)
    return sorted(groups.values(), key=lambda g: (g[0].scope != "project", -len(g)))


def _failure_blocks(failures: Sequence[ScanFailure]) -> list[Block]:
    if not failures:
        return []
    lines: list[str] = []
    used = 0
    groups = _failure_groups(failures)
    for group in groups:
        what = f"{_plural(len(group), group[0].scope)} could not be scanned"
        line = guarded(partial(_failure_line, group), what)
        used += len(line) + 1
        if used > _FAILURES_BUDGET:
            break
        lines.append(line)
    left = sum(len(g) for g in groups[len(lines) :])
    tail = f"\n…and {left} more not scanned." if left else ""
    return [section("*Could not scan*\n" + "\n".join(lines) + tail)]


def _scope(scan: FleetScan, region: str, all_projects: bool) -> str:
    if all_projects:
        regions = {p.region for p in scan.pools} | {f.region for f in scan.failures}
        return f"{_plural(scan.totals.projects, 'project')} in {_plural(len(regions), 'region')}"
    project = next((p.project_id for p in scan.pools), None) or next(
        (f.project_id for f in scan.failures if f.project_id), None
    )
    return esc(region) + (f" · project {code(project)}" if project else "")


def _when(at: datetime) -> str:
    return at.strftime("%H:%M:%S UTC")


def scan_message(
    scan: FleetScan,
    *,
    limit: int,
    region: str,
    who: str | None,
    elapsed_ms: float,
    in_channel: bool,
    name: str | None = None,
    all_projects: bool = False,
) -> dict[str, Any]:
    """Totals as fields; the pools that drifted or are not fully reported, worst first, at most
    ``limit`` (fewer when their text would pass the message's budget), each with a button; the
    failures grouped by kind with the next step; then where, when and who."""
    t = scan.totals
    attention = [p for p in scan.pools if not p.report.consistent]
    rows, listed = _pool_rows(attention, all_projects, limit)
    blocks: list[Block] = [header(_title(t, name)), section(fields=_fields(t, all_projects)), *rows]
    if len(attention) > listed:
        blocks.append(
            context(
                f"…and {len(attention) - listed} more pools with drift or unreported counts not listed. "
                "Narrow the scan with `/pooldrift scan <part of a name>`."
            )
        )
    blocks.extend(_failure_blocks(scan.failures))
    facts = [_scope(scan, region, all_projects)]
    if name:
        facts.append(f"pools{_matching(name)}")
    facts += [f"scanned {_when(scan.scanned_at)}", f"{elapsed_ms:.0f} ms", f"asked by {mention(who)}"]
    blocks.append(context(" · ".join(facts)))
    return message(_fallback(t), blocks, in_channel=in_channel)


def _fallback(t: FleetTotals) -> str:
    text = (
        f"{t.drifted_pools} of {_plural(t.pools, 'pool')} drifted (at least "
        f"{t.drifted_desktops_at_least} of {t.desktops} desktops); {t.consistent_pools} consistent"
    )
    if t.unknown_pools:
        text += f", {t.unknown_pools} not fully reported"
    if t.failed_pools or t.failed_projects:
        text += f"; could not scan {_plural(t.failed_pools, 'pool')}"
        text += f" and {_plural(t.failed_projects, 'project')}" if t.failed_projects else ""
    return text + "."
