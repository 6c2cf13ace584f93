"""Which desktops of a pool drifted, and how: the pool plus one filtered desktop listing per
kind of drift, fetched together and merged by desktop (a desktop can drift in several ways).
"""

from __future__ import annotations

import asyncio

from pooldrift.client import WorkspaceClient
from pooldrift.models import DesktopPool, InconsistentType, PoolDesktop, PoolDesktops

from .blocks import DriftedDesktop, DriftedDesktops

__all__ = ["fetch_drifted", "merge_drifted"]


async def fetch_drifted(client: WorkspaceClient, pool_id: str, *, limit: int) -> DriftedDesktops:
    """At most ``limit`` desktops per kind are fetched: enough to list ``limit`` of them."""
    pool_task = client.get_pool(pool_id)
    listings = [client.list_pool_desktops(pool_id, kind, max_items=limit) for kind in InconsistentType]
    # every call runs to its end (each is bounded by the client's deadline): no task left behind
    pool, *pages = await asyncio.gather(pool_task, *listings, return_exceptions=True)
    for result in (pool, *pages):
        if isinstance(result, BaseException):
            raise result
    assert isinstance(pool, DesktopPool)
    return merge_drifted(pool, [p for p in pages if isinstance(p, PoolDesktops)])


def merge_drifted(pool: DesktopPool, pages: list[PoolDesktops]) -> DriftedDesktops:
    """One row per desktop with every way it differs, sorted by name; pure."""
    kinds: dict[str, set[InconsistentType]] = {}
    desktops: dict[str, PoolDesktop] = {}
    totals: dict[InconsistentType, int] = {}
    incomplete = False
    for page in pages:
        if page.inconsistent_type is not None:
            totals[page.inconsistent_type] = page.total_count
        incomplete = incomplete or page.truncated
        for desktop in page.desktops:
            desktops.setdefault(desktop.desktop_id, desktop)
            found = kinds.setdefault(desktop.desktop_id, set())
            if page.inconsistent_type is not None:
                found.add(page.inconsistent_type)
            # the desktop's own list may name kinds its other listings were cut off before
            found.update(desktop.drift)
    order = list(InconsistentType)
    rows = [
        DriftedDesktop(desktop=desktops[key], kinds=tuple(sorted(kinds[key], key=order.index)))
        for key in kinds
        if kinds[key]
    ]
    rows.sort(key=lambda row: ((row.desktop.computer_name or "").lower(), row.desktop.desktop_id))
    return DriftedDesktops(pool=pool, desktops=rows, totals=totals, incomplete=incomplete)
