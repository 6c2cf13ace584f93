"""Counts the emulator derives from its desktops, checked over HTTP against the desktops it holds:
how many are paid per period or on demand, and how many are assigned to a user.
"""

from __future__ import annotations

from typing import Any

import httpx2

from pooldrift.emulator import EmulatorServer


def _get(raw: httpx2.Client, url: str, **params: Any) -> dict[str, Any]:
    response = raw.get(url, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def test_period_and_on_demand_desktops_are_counted_apart(
    raw: httpx2.Client, project: str, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("hr-win10")
    desktops = emulator.data.desktops_of(pool.id)
    for index, desktop in enumerate(desktops):  # 3 per period, the rest on demand
        desktop.charge_mode = "period" if index < 3 else "on_demand"
    page = _get(raw, f"{project}/desktop-pools/{pool.id}/desktops", limit=5)
    assert page["total_count"] == len(desktops) > 3 + 3
    assert (page["period_desktops_num"], page["on_demand_desktops_num"]) == (3, len(desktops) - 3)

    drifted = [d for d in desktops if d.product_id != pool.product_id]
    for desktop in desktops:
        desktop.charge_mode = "period" if desktop in drifted else "on_demand"
    only = _get(raw, f"{project}/desktop-pools/{pool.id}/desktops", inconsistent_type="PRODUCT_ID")
    assert only["total_count"] == len(drifted) > 0
    assert (only["period_desktops_num"], only["on_demand_desktops_num"]) == (len(drifted), 0)


def test_desktop_used_counts_the_desktops_assigned_to_someone(
    raw: httpx2.Client, project: str, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("analytics-win11")
    desktops = emulator.data.desktops_of(pool.id)
    for index, desktop in enumerate(desktops):
        desktop.user_name = "li.wei" if index < 2 else None
    shown = _get(raw, f"{project}/desktop-pools/{pool.id}")
    listed = next(p for p in _get(raw, f"{project}/desktop-pools")["desktop_pools"] if p["id"] == pool.id)
    for body in (shown.get("desktop_pool", shown), listed):
        assert (body["desktop_used"], body["desktop_count"]) == (2, len(desktops))
