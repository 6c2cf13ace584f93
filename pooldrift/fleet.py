"""The fleet view: every pool of every project and region in scope, worst first, with what
failed beside it; and one pool's drifted desktops, each with what it should be against what it is.

Both are built only on ``WorkspaceClient``'s calls, so they inherit its limits (in flight,
request budget, deadline) and its errors, which they report here per pool or project instead
of failing the whole answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from .client import WorkspaceClient, gather_all, named, plausible
from .errors import ImplausibleCountError, InvalidInputError, PooldriftError
from .fetch import patient_budget
from .kinds import InconsistentType
from .listing import parse_kind
from .models import DriftReport, PoolDesktops
from .payloads import DesktopPool, PoolDesktop
from .regions import is_known
from .validation import (
    is_pool_id,
    validate_pool_name,
    validate_pool_ref,
    validate_project_id,
    validate_region,
)

__all__ = [
    "MAX_DRILL_DOWN",
    "Baseline",
    "Difference",
    "DriftedDesktop",
    "FleetScan",
    "FleetTotals",
    "PoolDrift",
    "PoolDrilldown",
    "Progress",
    "ScanFailure",
    "drill_down",
    "scan_fleet",
]

#: progress(done, total): pools counted so far, pools known so far (it grows as projects list)
Progress = Callable[[int, int], None]
MAX_DRILL_DOWN = 1000


class ScanFailure(BaseModel):
    """A pool, or a whole project, that could not be scanned; the rest of the scan stands."""

    scope: Literal["pool", "project"] = Field(description="What failed: one pool, or a whole project.")
    region: str = Field(description="Region of the project.")
    project_id: str | None = Field(description="Project id, when known.")
    project_name: str | None = Field(default=None, description="Project name as IAM has it, when known.")
    pool_id: str | None = Field(default=None, description="Pool id (pool failures).")
    pool_name: str | None = Field(default=None, description="Pool name (pool failures).")
    outcome: str = Field(description="Kind of failure, e.g. permission_denied, not_found, timeout.")
    status_code: int | None = Field(default=None, description="HTTP status of the API's answer, if any.")
    error_code: str | None = Field(default=None, description="The API's error code, e.g. APIGW.0308.")
    request_id: str | None = Field(default=None, description="X-Request-Id to quote to support.")
    iam_action: str | None = Field(default=None, description="The IAM action refused (a 403), when known.")
    message: str = Field(description="What went wrong, in words.")

    @classmethod
    def of(
        cls,
        exc: PooldriftError,
        *,
        region: str,
        project_id: str | None,
        project_name: str | None = None,
        pool: DesktopPool | None = None,
    ) -> ScanFailure:
        return cls(
            scope="project" if pool is None else "pool",
            region=region,
            project_id=project_id,
            project_name=project_name,
            pool_id=pool.id if pool else None,
            pool_name=pool.name if pool else None,
            outcome=exc.outcome,
            status_code=getattr(exc, "status_code", None),
            error_code=getattr(exc, "error_code", None),
            request_id=getattr(exc, "request_id", None),
            iam_action=getattr(exc, "iam_action", None),
            message=exc.message,
        )


class PoolDrift(BaseModel):
    """One pool of a fleet scan: where it is and its drift counts."""

    pool_id: str = Field(description="Pool id (UUID).")
    pool_name: str = Field(description="Pool name.")
    project_id: str = Field(description="Project of the pool.")
    region: str = Field(description="Region of the project.")
    desktop_count: int | None = Field(description="Desktops in the pool, when reported.")
    report: DriftReport = Field(description="The pool's drift counts (a count may be null: not reported).")

    def rank(self) -> tuple[int, int, str, str]:
        """Worst first: most drifted desktops, then most kinds of drift, then by name."""
        report = self.report
        most = -report.drifted_desktops_at_least
        return (most, -len(report.drifted_kinds), self.pool_name.lower(), self.pool_id)


class FleetTotals(BaseModel):
    """How the scope adds up (drifted desktops are a lower bound: the kinds overlap)."""

    projects: int = Field(description="Projects in scope.")
    failed_projects: int = Field(description="Projects whose pools could not be listed.")
    pools: int = Field(description="Pools found in the projects that could be listed.")
    drifted_pools: int = Field(description="Pools with at least one drifted desktop.")
    consistent_pools: int = Field(description="Pools reported fully in line.")
    unknown_pools: int = Field(description="Pools whose counts the API did not (fully) report.")
    failed_pools: int = Field(description="Pools whose counts could not be fetched.")
    desktops: int = Field(description="Desktops in the scanned pools (where the API reported a count).")
    drifted_desktops_at_least: int = Field(description="Sum over pools of each pool's lower bound.")


class FleetScan(BaseModel):
    """Every pool in scope, worst first, and what could not be scanned."""

    pools: list[PoolDrift] = Field(description="Scanned pools, worst first.")
    failures: list[ScanFailure] = Field(description="Projects, then pools, that could not be scanned.")
    totals: FleetTotals
    scanned_at: datetime = Field(description="When the scan finished (UTC).")

    @classmethod
    def of(
        cls, projects: int, pools: list[PoolDrift], failures: list[ScanFailure], scanned_at: datetime
    ) -> FleetScan:
        """The scan of ``projects`` projects that found ``pools`` and ``failures``: worst first,
        failures projects first, and the totals they add up to."""
        ranked = sorted(pools, key=PoolDrift.rank)
        failed = sorted(failures, key=_failure_order)
        totals = _totals(projects, ranked, failed)
        return cls(pools=ranked, failures=failed, totals=totals, scanned_at=scanned_at)


class _Tracker:
    """Counts pools as the scan learns of them and finishes them, and tells ``progress``."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self.done = 0
        self.total = 0

    def found(self, count: int) -> None:
        self.total += count
        self._tell()

    def finished(self) -> None:
        self.done += 1
        self._tell()

    def _tell(self) -> None:
        if self._progress is not None:
            self._progress(self.done, self.total)


async def scan_fleet(
    client: WorkspaceClient,
    *,
    regions: Sequence[str] = (),
    project_id: str | None = None,
    all_projects: bool = False,
    name: str | None = None,
    progress: Progress | None = None,
) -> FleetScan:
    """Drift counts of every pool in scope, fetched concurrently within the client's limits.

    Scope: the client's project and region by default; the project of each of ``regions``;
    ``project_id`` (in one region); or, with ``all_projects``, every project the credentials
    reach whose region has a Workspace endpoint (narrowed to ``regions`` when given). ``name``
    keeps the pools whose name contains it (any case). Arguments are checked before any request.
    """
    wanted = [validate_region(r) for r in regions]
    if project_id is not None:
        project_id = validate_project_id(project_id.strip())
        if all_projects or len(wanted) > 1:
            raise InvalidInputError(
                "a project id names one project in one region: give it alone or with one region",
                field="project_id",
            )
    if name is not None:
        name = validate_pool_name(name.strip())
    tracker = _Tracker(progress)
    with patient_budget():  # many calls: they wait their turn for the request budget
        targets = await _targets(client, wanted, project_id, all_projects)
        scans = (_scan_project(view, label, name, tracker) for view, label in targets)
        outcomes = await asyncio.gather(*scans)
    pools = [p for found, _ in outcomes for p in found]
    failures = [f for _, failed in outcomes for f in failed]
    return FleetScan.of(len(targets), pools, failures, _now())


def _failure_order(f: ScanFailure) -> tuple[bool, str, str, str]:
    return (f.scope != "project", f.region, f.project_id or "", (f.pool_name or "").lower())


async def _targets(
    client: WorkspaceClient, regions: list[str], project_id: str | None, all_projects: bool
) -> list[tuple[WorkspaceClient, str | None]]:
    """A client view per project in scope, with the project's IAM name where known."""
    if all_projects:
        views = []
        for project in await client.list_projects():
            region = project.name.split("_", 1)[0]
            if project.enabled is False or not is_known(region) or (regions and region not in regions):
                continue  # the domain-level project (MOS), regions without Workspace, disabled ones
            views.append((client.with_options(region=region, project_id=project.id), project.name))
        return sorted(views, key=lambda pair: (pair[0].region, pair[1] or ""))
    if regions:
        return [(client.with_options(region=region, project_id=project_id), None) for region in regions]
    return [(client.with_options(project_id=project_id) if project_id else client, None)]


async def _scan_project(
    view: WorkspaceClient, label: str | None, name: str | None, tracker: _Tracker
) -> tuple[list[PoolDrift], list[ScanFailure]]:
    project: str | None = view.project_id
    try:
        project = await view.get_project_id()
        listing = await view.list_pools(name=name)
    except PooldriftError as exc:  # the id IAM gave, when the lookup itself did not fail
        return [], [ScanFailure.of(exc, region=view.region, project_id=project, project_name=label)]
    # the upstream filter's matching is not documented: keep exactly what was asked for
    pools = [p for p in listing.pools if name is None or name.lower() in p.name.lower()]
    tracker.found(len(pools))

    async def one(pool: DesktopPool) -> PoolDrift | ScanFailure:
        try:
            try:
                report = plausible(await view.inconsistent_statics(pool.id), pool)
            except ImplausibleCountError as exc:
                raise named(exc, pool) from None
        except PooldriftError as exc:
            return ScanFailure.of(exc, region=view.region, project_id=project, project_name=label, pool=pool)
        finally:
            tracker.finished()
        return PoolDrift(
            pool_id=pool.id,
            pool_name=pool.name,
            project_id=project,
            region=view.region,
            desktop_count=pool.desktop_count,
            report=report,
        )

    results = await asyncio.gather(*(one(p) for p in pools))
    return (
        [r for r in results if isinstance(r, PoolDrift)],
        [r for r in results if isinstance(r, ScanFailure)],
    )


def _totals(projects: int, pools: list[PoolDrift], failures: list[ScanFailure]) -> FleetTotals:
    reports = [p.report for p in pools]
    failed_pools = sum(1 for f in failures if f.scope == "pool")
    return FleetTotals(
        projects=projects,
        failed_projects=sum(1 for f in failures if f.scope == "project"),
        pools=len(pools) + failed_pools,
        drifted_pools=sum(1 for r in reports if r.drifted),
        consistent_pools=sum(1 for r in reports if r.consistent),
        unknown_pools=sum(1 for r in reports if not r.drifted and not r.consistent),
        failed_pools=failed_pools,
        desktops=sum(p.desktop_count or 0 for p in pools),
        drifted_desktops_at_least=sum(r.drifted_desktops_at_least for r in reports),
    )


def _now() -> datetime:
    return datetime.now(UTC)


# -- drill-down --------------------------------------------------------------------------------


class Baseline(BaseModel):
    """What the pool's configuration says every desktop should have (null: not reported)."""

    product_id: str | None = Field(description="The pool's package (product id).")
    image_id: str | None = Field(description="The pool's image id.")
    data_disk_count: int | None = Field(description="Data disks each desktop should have.")
    total_disk_gb: int | None = Field(description="System plus data disk capacity in GB.")

    @classmethod
    def of(cls, pool: DesktopPool) -> Baseline:
        """The pool's configuration as every desktop should have it."""
        data = [v.size for v in pool.data_volumes] if "data_volumes" in pool.model_fields_set else None
        root = pool.root_volume.size if pool.root_volume else None
        return cls(
            product_id=pool.product_id,
            image_id=pool.image_id,
            data_disk_count=len(data) if data is not None else None,
            total_disk_gb=_disks(root, data),
        )


class Difference(BaseModel):
    """One way a desktop differs: what the pool expects against what the desktop has."""

    kind: InconsistentType
    expected: str | int | None = Field(description="From the pool's configuration; null: not reported.")
    actual: str | int | None = Field(description="From the desktop; null: not reported.")

    @classmethod
    def of(cls, kind: InconsistentType, expected: Baseline, desktop: PoolDesktop) -> Difference:
        """How ``desktop`` differs in ``kind``: ``expected`` (the pool's) against its own."""
        data = [v.size for v in desktop.data_volumes] if "data_volumes" in desktop.model_fields_set else None
        root = desktop.root_volume.size if desktop.root_volume else None
        actual: dict[InconsistentType, str | int | None] = {
            InconsistentType.PRODUCT_ID: desktop.product_id,
            InconsistentType.IMAGE_ID: desktop.image_id,
            InconsistentType.DISK_NUM: len(data) if data is not None else None,
            InconsistentType.DISK_SIZE: _disks(root, data),
        }
        wanted: dict[InconsistentType, str | int | None] = {
            InconsistentType.PRODUCT_ID: expected.product_id,
            InconsistentType.IMAGE_ID: expected.image_id,
            InconsistentType.DISK_NUM: expected.data_disk_count,
            InconsistentType.DISK_SIZE: expected.total_disk_gb,
        }
        return cls(kind=kind, expected=wanted[kind], actual=actual[kind])


class DriftedDesktop(BaseModel):
    desktop_id: str
    computer_name: str | None = None
    status: str | None = None
    user_name: str | None = None
    differences: list[Difference] = Field(description="Each way this desktop differs from its pool.")


class PoolDrilldown(BaseModel):
    """A pool's drifted desktops (capped), each with expected against actual."""

    pool_id: str
    pool_name: str
    project_id: str
    region: str
    kind: InconsistentType | None = Field(default=None, description="Only this kind of drift, when asked.")
    expected: Baseline
    desktops: list[DriftedDesktop] = Field(description="Drifted desktops, at most the limit asked for.")
    total_count: int | None = Field(
        description="Drifted desktops upstream (a lower bound when capped); null: not reported."
    )
    unavailable_kinds: list[InconsistentType] = Field(
        default_factory=list, description="Kinds this endpoint cannot list desktops by (an older API)."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def more_available(self) -> bool:
        """True when more drifted desktops exist than are listed."""
        return self.total_count is not None and self.total_count > len(self.desktops)


async def drill_down(
    client: WorkspaceClient, pool: str, *, kind: InconsistentType | str | None = None, limit: int = 50
) -> PoolDrilldown:
    """One pool's drifted desktops (all kinds, or one), each with expected against actual:
    the pool's package, image, data-disk count and disk capacity against the desktop's own."""
    ref = validate_pool_ref(pool)
    only = parse_kind(kind)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_DRILL_DOWN:
        raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_DRILL_DOWN}", field="limit")

    async def listing(pool_id: str) -> PoolDesktops:
        if only is None:
            return await client.list_drifted_desktops(pool_id, max_items=limit)
        return await client.list_pool_desktops(pool_id, only, max_items=limit)

    if is_pool_id(ref):
        detail, found = await gather_all(client.get_pool(ref), listing(ref))
    else:
        detail = await client.resolve_pool(ref)
        found = await listing(detail.id)
    expected = Baseline.of(detail)
    rows = [
        DriftedDesktop(
            desktop_id=d.desktop_id,
            computer_name=d.computer_name,
            status=d.status,
            user_name=d.user_name,
            differences=[Difference.of(k, expected, d) for k in d.drift if only is None or k == only],
        )
        for d in found.desktops
    ]
    return PoolDrilldown(
        pool_id=detail.id,
        pool_name=detail.name,
        project_id=await client.get_project_id(),
        region=client.region,
        kind=only,
        expected=expected,
        desktops=rows,
        total_count=found.total_count,
        unavailable_kinds=found.unavailable_kinds,
    )


def _disks(root: int | None, data: list[int | None] | None) -> int | None:
    if root is None or data is None or any(size is None for size in data):
        return None
    return root + sum(size for size in data if size is not None)
