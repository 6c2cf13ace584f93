"""Which desktops of a pool drifted, and how: the pool and the client's merged drifted
listing (one filtered query per kind of drift), fetched together.
"""

from __future__ import annotations

from pooldrift.client import WorkspaceClient, gather_all
from pooldrift.models import DesktopPool, PoolDesktops

from .blocks import DriftedDesktop, DriftedDesktops

__all__ = ["fetch_drifted", "to_rows"]


async def fetch_drifted(client: WorkspaceClient, pool_id: str, *, limit: int) -> DriftedDesktops:
    """At most ``limit`` desktops per kind are fetched: enough to list ``limit`` of them."""
    pool, found = await gather_all(
        client.get_pool(pool_id), client.list_drifted_desktops(pool_id, max_items=limit)
    )
    return to_rows(pool, found)


def to_rows(pool: DesktopPool, found: PoolDesktops) -> DriftedDesktops:
    """The builder's view of a merged drifted listing; pure."""
    rows = [DriftedDesktop(desktop=d, kinds=tuple(d.drift)) for d in found.desktops]
    return DriftedDesktops(
        pool=pool,
        desktops=rows,
        totals=found.kind_totals,
        incomplete=found.truncated,
        unavailable=tuple(found.unavailable_kinds),
    )
