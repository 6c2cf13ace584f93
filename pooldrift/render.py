"""What the CLI and the demo print: plain aligned tables and reports, from result models; pure.

Every value that came from upstream (names, statuses, messages) passes through
``pooldrift.text.safe``: a pool named with an escape sequence or a newline must not repaint
the terminal or break a table.
"""

from __future__ import annotations

from collections.abc import Sequence

from .client import DesktopPools, ScanEntry
from .kinds import InconsistentType
from .models import DriftReport, PoolDesktops
from .regions import Region
from .text import safe

__all__ = [
    "render_desktops",
    "render_pools",
    "render_regions",
    "render_report",
    "render_scan",
    "safe",
    "table",
]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: set[int] | None = None) -> str:
    """A plain aligned text table; columns in ``right`` are right-aligned."""
    right = right or set()
    cells = [[safe(c) for c in headers], *[[safe(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join(line(row) for row in cells)


def render_report(report: DriftReport) -> str:
    name = f"{report.pool_name} ({report.pool_id})" if report.pool_name else report.pool_id
    head = [
        f"Pool      {name}",
        f"Project   {report.project_id} ({report.region})",
    ]
    if report.desktop_count is not None:
        head.append(f"Desktops  {report.desktop_count}")
    rows = [(kind.label, *_count_cells(report.count(kind))) for kind in InconsistentType]
    foot = f"request id {report.request_id or '-'}, fetched {report.fetched_at:%Y-%m-%d %H:%M:%S} UTC"
    counts = table(("Drift", "Desktops", "Status"), rows, right={1})
    return "\n".join([*map(safe, head), "", counts, "", safe(report.summary()), safe(foot)])


def _count_cells(count: int | None) -> tuple[object, str]:
    """A count and its status: a count the API did not report is unknown, never 0."""
    if count is None:
        return "-", "not reported"
    return count, "drifted" if count else "in line"


def _or_unknown(count: int | None) -> object:
    return "?" if count is None else count


def _status(report: DriftReport) -> str:
    if report.drifted:
        return f"drifted (≥ {report.drifted_desktops_at_least})"
    if report.consistent:
        return "consistent"
    return f"unknown ({len(report.unreported_kinds)} not reported)"


def render_scan(entries: Sequence[ScanEntry]) -> str:
    rows: list[tuple[object, ...]] = []
    for e in entries:
        r = e.report
        if r is None:
            rows.append((e.pool_name, "-", "-", "-", "-", "-", f"error: {e.error}"))
        else:
            count = r.desktop_count if r.desktop_count is not None else "-"
            counts = [_or_unknown(r.count(kind)) for kind in InconsistentType]
            rows.append((e.pool_name, count, *counts, _status(r)))
    headers = ("Pool", "Desktops", "Package", "Image", "Disk count", "Disk size", "Status")
    reports = [e.report for e in entries if e.report is not None]
    drifted = sum(1 for r in reports if r.drifted)
    consistent = sum(1 for r in reports if r.consistent)
    unknown = len(reports) - drifted - consistent
    failed = len(entries) - len(reports)
    summary = f"{len(entries)} pools: {drifted} drifted, {consistent} consistent"
    summary += f", {unknown} unknown" if unknown else ""
    summary += f", {failed} failed" if failed else ""
    if any(r.unreported_kinds for r in reports):
        summary += "\n?: not reported by the API (unknown, not 0)"
    return table(headers, rows, right={1, 2, 3, 4, 5}) + "\n\n" + summary


def render_pools(listing: DesktopPools) -> str:
    rows = [
        (
            p.id,
            p.name,
            p.type or "-",
            p.desktop_count if p.desktop_count is not None else "-",
            p.status or "-",
        )
        for p in listing.pools
    ]
    out = table(("Id", "Name", "Type", "Desktops", "Status"), rows, right={3})
    more = f" (showing {len(listing.pools)})" if listing.truncated else ""
    return f"{out}\n\n{listing.total_count} pools{more}"


def render_desktops(found: PoolDesktops) -> str:
    note = ""
    if found.unavailable_kinds:
        kinds = ", ".join(k.label.lower() for k in found.unavailable_kinds)
        note = (
            f"Which desktops differ in {kinds}: not reported (this Workspace endpoint, an older API "
            "version, cannot list desktops by that kind of drift)."
        )
    if found.total_count is None and not found.desktops:
        return note
    rows = [
        (
            d.computer_name or "-",
            d.desktop_id,
            d.status or "-",
            ", ".join(k.label for k in d.drift) or "in line",
        )
        for d in found.desktops
    ]
    out = table(("Computer", "Desktop id", "Status", "Differs in"), rows)
    more = f", showing {len(found.desktops)}" if found.truncated else ""
    return f"{out}\n\n{found.total_count} desktops{more}" + (f"\n{note}" if note else "")


def render_regions(rows: Sequence[Region], default: str) -> str:
    table_rows = [
        (r.id + (" (default)" if r.id == default else ""), r.workspace_endpoint, r.iam_endpoint) for r in rows
    ]
    return table(("Region", "Workspace endpoint", "IAM endpoint (project lookup)"), table_rows)
