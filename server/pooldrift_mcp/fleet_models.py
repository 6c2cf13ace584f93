"""What ``scan_pool_drift`` and ``drifted_desktops`` return: the fleet scan and one pool's drifted
desktops cut down to what a model needs, capped.

A field whose name says what it is has no description: with five tools, every byte of the
schemas counts against the 8 KB that tools/list may take (``tests/server/test_tools.py``).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from pydantic import Field

from .models import DriftKind, Output
from .wording import scan_next_step

if TYPE_CHECKING:  # types only: the fleet module comes with the client, at the first call
    from pooldrift.fleet import FleetScan, PoolDrift, PoolDrilldown, ScanFailure

#: ``scan_pool_drift`` and ``drifted_desktops`` never list more rows than this.
MAX_ROWS = 100
#: Failures listed one by one; the rest are only counted (a whole region failing is one story).
MAX_FAILURES_SHOWN = 10
#: An upstream message is cut here: the outcome, request id and next step say the rest.
MAX_ERROR_TEXT = 160


class PoolRow(Output):
    id: str
    name: str
    project_id: str
    region: str
    desktops: int | None
    drifted_at_least: int = Field(description="The largest count: a lower bound.")
    product_id: int | None
    image_id: int | None
    disk_num: int | None
    disk_size: int | None

    @classmethod
    def of(cls, pool: PoolDrift) -> PoolRow:
        report = pool.report
        return cls(
            id=pool.pool_id,
            name=pool.pool_name,
            project_id=pool.project_id,
            region=pool.region,
            desktops=pool.desktop_count,
            drifted_at_least=report.drifted_desktops_at_least,
            product_id=report.product_id,
            image_id=report.image_id,
            disk_num=report.disk_num,
            disk_size=report.disk_size,
        )


class FailureRow(Output):
    region: str
    project_id: str | None
    pool_id: str | None = Field(description="null: the whole project failed.")
    pool_name: str | None
    outcome: str
    error: str
    next_step: str

    @classmethod
    def of(cls, failure: ScanFailure) -> FailureRow:
        message = failure.message
        if len(message) > MAX_ERROR_TEXT:
            message = message[: MAX_ERROR_TEXT - 1] + "…"
        return cls(
            region=failure.region,
            project_id=failure.project_id,
            pool_id=failure.pool_id,
            pool_name=failure.pool_name,
            outcome=failure.outcome,
            error=message,
            next_step=scan_next_step(
                failure.outcome,
                status_code=failure.status_code,
                iam_action=failure.iam_action,
            ),
        )


class Totals(Output):
    projects: int
    failed_projects: int
    pools: int
    drifted_pools: int
    consistent_pools: int
    unknown_pools: int = Field(description="Not fully reported.")
    failed_pools: int
    desktops: int
    drifted_desktops_at_least: int


class FleetDrift(Output):
    summary: str = Field(description="Quote it.")
    pools: list[PoolRow] = Field(description="Worst first; per kind: desktops differing so.")
    more_available: bool
    hint: str | None
    totals: Totals = Field(description="All pools, listed or not.")
    failures: list[FailureRow] = Field(description=f"The first {MAX_FAILURES_SHOWN}.")
    failures_by_outcome: dict[str, int] = Field(description="All failures.")

    @classmethod
    def of(cls, scan: FleetScan, *, limit: int) -> FleetDrift:
        shown = [PoolRow.of(p) for p in scan.pools[:limit]]
        more = len(scan.pools) > len(shown)
        hint = None
        if more:
            hint = f"Showing the worst {len(shown)} of {len(scan.pools)} pools; filter with `name`"
            hint += f" or raise `limit` (at most {MAX_ROWS})." if limit < MAX_ROWS else "."
        return cls(
            summary=_summary(scan),
            pools=shown,
            more_available=more,
            hint=hint,
            totals=Totals(**scan.totals.model_dump()),
            failures=[FailureRow.of(f) for f in scan.failures[:MAX_FAILURES_SHOWN]],
            failures_by_outcome=dict(Counter(f.outcome for f in scan.failures).most_common()),
        )


#: pools not fully reported that the summary names (worst first); the rest are counted
NAMED_UNREPORTED = 3


def _clipped(name: str, most: int = 40) -> str:
    return name if len(name) <= most else name[: most - 1] + "…"


def _summary(scan: FleetScan) -> str:
    t = scan.totals
    projects = f"{t.projects} project" + ("s" if t.projects != 1 else "")
    text = f"{t.pools} pools in {projects}: {t.drifted_pools} drifted"
    if t.drifted_pools:
        text += f" (at least {t.drifted_desktops_at_least} desktops)"
    text += f", {t.consistent_pools} consistent"
    if t.unknown_pools:
        unknown = [p.pool_name for p in scan.pools if not (p.report.drifted or p.report.consistent)]
        names = ", ".join(_clipped(n) for n in unknown[:NAMED_UNREPORTED])
        rest = len(unknown) - NAMED_UNREPORTED
        text += f", {t.unknown_pools} not fully reported ({names}{f' and {rest} more' if rest > 0 else ''})"
    if t.failed_pools:
        text += f", {t.failed_pools} could not be read"
    if t.failed_projects:
        text += f"; {t.failed_projects} of the projects could not be listed"
    worst = scan.pools[0] if scan.pools and scan.pools[0].report.drifted else None
    if worst is not None:
        of = f" of {worst.desktop_count}" if worst.desktop_count is not None else ""
        text += f". Worst: {worst.pool_name} (at least {worst.report.drifted_desktops_at_least}{of})"
    return text + "."


# -- drifted_desktops ----------------------------------------------------------------------------


class Expected(Output):
    product_id: str | None
    image_id: str | None
    data_disks: int | None
    disk_gb: int | None = Field(description="System plus data disks.")


class Difference(Output):
    kind: DriftKind
    expected: str | int | None
    actual: str | int | None


class DesktopRow(Output):
    id: str
    name: str | None = Field(description="Computer name.")
    status: str | None
    user: str | None
    differences: list[Difference]


class DriftedDesktops(Output):
    pool_id: str
    pool_name: str
    expected: Expected
    desktops: list[DesktopRow] = Field(description="At most `limit`.")
    total_count: int | None = Field(description="Drifted in all (at least).")
    more_available: bool
    hint: str | None

    @classmethod
    def of(cls, found: PoolDrilldown, *, limit: int) -> DriftedDesktops:
        rows = [
            DesktopRow(
                id=d.desktop_id,
                name=d.computer_name,
                status=d.status,
                user=d.user_name or None,  # the API says "" for no user
                differences=[
                    Difference(kind=x.kind.value, expected=x.expected, actual=x.actual) for x in d.differences
                ],
            )
            for d in found.desktops
        ]
        unavailable: list[DriftKind] = [k.value for k in found.unavailable_kinds]
        notes = []
        if found.more_available:
            ways = [] if found.kind else ["pass `kind`"]
            if limit < MAX_ROWS:
                ways.append(f"raise `limit` (at most {MAX_ROWS})")
            notes.append(f"Showing {len(rows)} of {found.total_count} drifted desktops" + (
                f"; {' or '.join(ways)}." if ways else "."
            ))  # fmt: skip
        if unavailable:
            notes.append(
                f"This API cannot list desktops drifted by {', '.join(unavailable)}; "
                "pool_inconsistency gives their counts."
            )
        elif not rows:
            notes.append(
                "No desktop of this pool is listed as drifted" + (" that way." if found.kind else ".")
            )
        expected = found.expected
        return cls(
            pool_id=found.pool_id,
            pool_name=found.pool_name,
            expected=Expected(
                product_id=expected.product_id,
                image_id=expected.image_id,
                data_disks=expected.data_disk_count,
                disk_gb=expected.total_disk_gb,
            ),
            desktops=rows,
            total_count=found.total_count,
            more_available=found.more_available,
            hint=" ".join(notes) or None,
        )
