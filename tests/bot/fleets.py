"""Fleet scans made as plain data for the builders' tests: any size, hostile names, every kind of
failure, one project or several."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from pooldrift.errors import OUTCOMES
from pooldrift.fleet import FleetScan, FleetTotals, PoolDrift, ScanFailure
from pooldrift.kinds import InconsistentType
from pooldrift.models import DriftReport

REGIONS = ("cn-north-4", "cn-east-3", "ap-southeast-1")
AT = datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC)
#: names a tenant may give its pools that Slack must show as text, never as markup or pings
HOSTILE = ("<!channel>", "*bold*", "`tick`", "<https://evil.example|x>", "&amp;", "~strike~", "_it_")


def project_of(number: int) -> str:
    return f"{number:032x}"


def pool_id(number: int) -> str:
    return str(uuid.UUID(int=number + 1, version=4))


def entry(
    number: int,
    counts: dict[InconsistentType, int | None],
    *,
    name: str | None = None,
    project: int = 0,
    region: str = REGIONS[0],
    desktops: int | None = 50,
) -> PoolDrift:
    report = DriftReport(
        pool_id=pool_id(number),
        pool_name=name or f"pool-{number}",
        desktop_count=desktops,
        project_id=project_of(project),
        region=region,
        fetched_at=AT,
        **{kind.field: count for kind, count in counts.items()},
    )
    return PoolDrift(
        pool_id=report.pool_id,
        pool_name=report.pool_name or "",
        project_id=report.project_id,
        region=region,
        desktop_count=desktops,
        report=report,
    )


def failure(number: int, outcome: str, *, status: int | None = 500, project: int = 0) -> ScanFailure:
    return ScanFailure(
        scope="pool",
        region=REGIONS[project % len(REGIONS)],
        project_id=project_of(project),
        pool_id=pool_id(10_000 + number),
        pool_name=f"failed-{number}",
        outcome=outcome,
        status_code=status,
        error_code="APIGW.0103" if status else None,
        request_id=f"req-{number}",
        message="upstream text <!here>",
    )


def scan(pools: list[PoolDrift], failures: Sequence[ScanFailure] = (), projects: int = 1) -> FleetScan:
    """``pools`` put worst first as the core does, with totals that add up."""
    ordered = sorted(pools, key=PoolDrift.rank)
    failed = list(failures)
    failed_pools = sum(1 for f in failed if f.scope == "pool")
    totals = FleetTotals(
        projects=projects,
        failed_projects=sum(1 for f in failed if f.scope == "project"),
        pools=len(pools) + failed_pools,
        drifted_pools=sum(1 for p in pools if p.report.drifted),
        consistent_pools=sum(1 for p in pools if p.report.consistent),
        unknown_pools=sum(1 for p in pools if not p.report.drifted and not p.report.consistent),
        failed_pools=failed_pools,
        desktops=sum(p.desktop_count or 0 for p in pools),
        drifted_desktops_at_least=sum(p.report.drifted_desktops_at_least for p in pools),
    )
    return FleetScan(pools=ordered, failures=failed, totals=totals, scanned_at=AT)


def big_fleet(size: int = 1000, *, projects: int = 1, seed: int = 7) -> FleetScan:
    """``size`` pools: most drifted (some of them badly), some consistent, some not fully
    reported; long and hostile names; failures of every outcome label, and two whole projects."""
    rng = random.Random(seed)
    kinds = list(InconsistentType)
    pools = []
    for n in range(size):
        shape = n % 10
        if shape < 6:
            counts: dict[InconsistentType, int | None] = {k: rng.randrange(0, 400) for k in kinds}
            counts[kinds[n % 4]] = rng.randrange(1, 400)
        elif shape < 8:
            counts = dict.fromkeys(kinds, 0)
        elif shape == 8:
            counts = {k: (None if k in kinds[2:] else 0) for k in kinds}
        else:
            counts = {k: (None if k is kinds[3] else rng.randrange(1, 50)) for k in kinds}
        name = (HOSTILE[n % len(HOSTILE)] * 20)[:64] if n % 3 == 0 else f"pool-{n:04d}-" + "x" * 50
        project = n % projects
        pools.append(
            entry(n, counts, name=name, project=project, region=REGIONS[project % len(REGIONS)], desktops=400)
        )
    failures = [
        failure(
            i, outcome, status=None if outcome in ("timeout", "unreachable") else 500, project=i % projects
        )
        for i, outcome in enumerate(sorted(OUTCOMES) * 4)
    ]
    failures += [
        ScanFailure(
            scope="project",
            region=REGIONS[i % len(REGIONS)],
            project_id=project_of(900 + i),
            project_name=f"{REGIONS[i % len(REGIONS)]}_team{i}",
            outcome="permission_denied",
            status_code=403,
            error_code="APIGW.0302",
            request_id=f"req-project-{i}",
            message="denied",
        )
        for i in range(2)
    ]
    return scan(pools, failures, projects=projects + 2)
