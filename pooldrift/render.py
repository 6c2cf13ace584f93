"""What the CLI and the demo print: plain aligned tables and reports, from result models; pure.

Every value that came from upstream (names, statuses, messages) passes through
``pooldrift.text.safe``: a pool named with an escape sequence or a newline must not repaint
the terminal or break a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import StringIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .client import DesktopPools
from .fleet import FleetScan, PoolDrilldown, ScanFailure
from .kinds import InconsistentType
from .models import DriftReport, PoolDesktops
from .regions import Region
from .text import clipped, safe

__all__ = [
    "render_desktops",
    "render_drilldown",
    "render_pools",
    "render_regions",
    "render_report",
    "render_scan",
    "safe",
    "table",
]


#: tables are never wrapped: a pipe or a file gets whole lines
_WIDE = 10_000


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: set[int] | None = None) -> str:
    """An aligned text table (rich, so wide characters such as Chinese names line up); columns in
    ``right`` are right-aligned. Cells are plain text: no markup, no emoji codes, controls escaped,
    at most ``CELL_LIMIT`` characters (longer ones end in an ellipsis)."""
    right = right or set()
    grid = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 1), header_style="")
    for i, header in enumerate(headers):
        grid.add_column(Text(safe(header)), justify="right" if i in right else "left", no_wrap=True)
    for row in rows:
        grid.add_row(*(Text(clipped(c)) for c in row))
    out = StringIO()
    Console(file=out, width=_WIDE, color_system=None, no_color=True, highlight=False, emoji=False).print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


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


def render_scan(scan: FleetScan) -> str:
    """Worst first; failures after the pools, each with its kind and request id; the totals."""
    several = len({(p.project_id, p.region) for p in scan.pools}) > 1 or scan.totals.projects > 1
    rows: list[tuple[object, ...]] = []
    for p in scan.pools:
        r = p.report
        where = (f"{p.region}/{p.project_id[:8]}",) if several else ()
        count = p.desktop_count if p.desktop_count is not None else "-"
        counts = [_or_unknown(r.count(kind)) for kind in InconsistentType]
        rows.append((p.pool_name, *where, count, *counts, _status(r)))
    where_header = ("Where",) if several else ()
    headers = ("Pool", *where_header, "Desktops", "Package", "Image", "Disk count", "Disk size")
    first_count = 2 if several else 1
    lines = []
    if rows:  # no table of nothing when every project failed
        lines += [table((*headers, "Status"), rows, right=set(range(first_count, first_count + 5))), ""]
    for f in scan.failures:
        lines.append(safe(f"failed: {_failed(f)}"))
    t = scan.totals
    projects = f"{t.projects} project{'s' if t.projects != 1 else ''}"
    summary = f"{t.pools} pools in {projects}: {t.drifted_pools} drifted, {t.consistent_pools} consistent"
    summary += f", {t.unknown_pools} unknown" if t.unknown_pools else ""
    summary += f", {t.failed_pools} failed" if t.failed_pools else ""
    if t.failed_projects:
        summary += f"; {t.failed_projects} project{'s' if t.failed_projects != 1 else ''} failed"
    if t.pools > t.failed_pools:
        summary += f"; at least {t.drifted_desktops_at_least} of {t.desktops} desktops drifted"
    if any(p.report.unreported_kinds for p in scan.pools):
        summary += "\n?: not reported by the API (unknown, not 0)"
    lines.append(summary)
    return "\n".join(lines)


def _failed(f: ScanFailure) -> str:
    """What could not be scanned, where (as the table's Where column says it), why, and the
    request id to quote (once: an API error's message already ends with it)."""
    where = f"{f.region}/{(f.project_id or '?')[:8]}"
    if f.scope == "project":
        named = f" ({f.project_name})" if f.project_name and f.project_name != f.region else ""
        what = f"project {where}{named}"
    else:
        what = f"pool {f.pool_name} ({where})"
    quoted = f.request_id is None or f.request_id in f.message
    return f"{what}: {f.outcome}: {f.message}" + ("" if quoted else f" (request id {f.request_id})")


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


def _shown(value: str | int | None) -> str:
    return "not reported" if value is None else str(value)


def render_drilldown(found: PoolDrilldown) -> str:
    """Each drifted desktop, one line per way it differs: expected (the pool) against actual."""
    e = found.expected
    head = [
        f"Pool      {found.pool_name} ({found.pool_id})",
        f"Project   {found.project_id} ({found.region})",
        f"Expected  package {_shown(e.product_id)}, image {_shown(e.image_id)}, "
        f"{_shown(e.data_disk_count)} data disk{'' if e.data_disk_count == 1 else 's'}, "
        f"{_shown(e.total_disk_gb)} GB in all",
    ]
    rows = [
        (
            d.computer_name or "-" if i == 0 else "",
            d.desktop_id if i == 0 else "",
            diff.kind.label,
            _shown(diff.expected),
            _shown(diff.actual),
        )
        for d in found.desktops
        for i, diff in enumerate(d.differences)
    ]
    lines = [*map(safe, head), ""]
    if rows:
        headers = ("Computer", "Desktop id", "Differs in", "Expected (pool)", "Actual (desktop)")
        lines += [table(headers, rows), ""]
    if found.total_count is None:
        lines.append(f"{len(found.desktops)} drifted desktops listed; how many in all: not reported")
    else:
        more = f", showing {len(found.desktops)}" if found.more_available else ""
        lines.append(f"{found.total_count} drifted desktops{more}")
    if found.unavailable_kinds:
        kinds = ", ".join(k.label.lower() for k in found.unavailable_kinds)
        lines.append(
            f"Which desktops differ in {kinds}: not reported (this Workspace endpoint, an older API "
            "version, cannot list desktops by that kind of drift)."
        )
    return "\n".join(lines)
