"""A desktop's own state as the desktop list answers it: who is logged in, what runs on it, whether it
is frozen, its order; set through the data API, varied in a generated fleet."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2

from pooldrift.emulator import EmulatorData, EmulatorServer, FleetSpec


def _desktops(raw: httpx2.Client, project: str, pool_id: str) -> dict[str, dict[str, Any]]:
    response = raw.get(f"{project}/desktop-pools/{pool_id}/desktops", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {d["desktop_id"]: d for d in response.json()["pool_desktops"]}


def test_login_follows_the_user_until_a_test_says_someone_is_connected(
    emulator: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    members = emulator.data.desktops_of(pool.id)
    used = next(d for d in members if d.user_name)
    free = next(d for d in members if not d.user_name)
    before = _desktops(raw, project, pool.id)
    assert before[used.desktop_id]["login_status"] == "REGISTERED"
    assert before[free.desktop_id]["login_status"] == "UNREGISTER"
    assert [u["user_name"] for u in before[used.desktop_id]["attach_user_infos"]] == [used.user_name]
    assert before[used.desktop_id]["attach_user_infos"][0]["type"] == "USER"
    assert before[free.desktop_id]["attach_user_infos"] == []
    assert before[used.desktop_id]["task_status"] == "" and before[used.desktop_id]["is_freeze"] is False

    answer = raw.post(
        f"/_emulator/desktops/{used.desktop_id}",
        json={"login_status": "CONNECTED", "task_status": "rebuilding", "is_freeze": True},
    )
    assert answer.status_code == 200, answer.text
    after = _desktops(raw, project, pool.id)[used.desktop_id]
    assert (after["login_status"], after["task_status"], after["is_freeze"]) == (
        "CONNECTED",
        "rebuilding",
        True,
    )
    emulator.data.set_desktop(used.desktop_id, login_status=None, task_status=None)
    assert _desktops(raw, project, pool.id)[used.desktop_id]["login_status"] == "REGISTERED"


def test_only_a_periodic_desktop_has_an_order(
    emulator: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    answered = _desktops(raw, project, pool.id)
    kinds = {d.charge_mode for d in emulator.data.desktops_of(pool.id)[:100]}
    assert kinds == {"period", "on_demand"}
    for desktop in emulator.data.desktops_of(pool.id)[:100]:
        order = answered[desktop.desktop_id]["order_id"]
        assert bool(order) == (desktop.charge_mode == "period"), desktop.computer_name


def test_setting_a_desktop_refuses_what_the_vendor_does_not_have(
    emulator: EmulatorServer, raw: httpx2.Client
) -> None:
    desktop = emulator.data.desktops_of(emulator.data.pool_named("lab-a").id)[0]
    for body in ({"login_status": "LOGGED_IN"}, {"colour": "red"}, {"is_freeze": "yes"}, {}):
        answer = raw.post(f"/_emulator/desktops/{desktop.desktop_id}", json=body)
        assert answer.status_code == 400, body
        assert answer.json()["error_code"] == "WKS.0001"
    assert raw.post("/_emulator/desktops/no-such-desktop", json={"is_freeze": True}).status_code == 404
    assert desktop.login_status is None and desktop.is_freeze is False


def test_a_generated_fleet_has_logged_in_busy_and_frozen_desktops() -> None:
    data = EmulatorData.generated(FleetSpec(pools=20, desktops_per_pool=25, seed=3))
    desktops = [d for members in data.desktops.values() for d in members]
    logins = Counter(d.login_status for d in desktops)
    assert logins["CONNECTED"] > 50 and logins["DISCONNECTED"] > 10
    assert all(d.user_name and d.status == "ACTIVE" for d in desktops if d.login_status)
    assert 3 <= sum(1 for d in desktops if d.task_status) <= 40
    assert 1 <= sum(1 for d in desktops if d.is_freeze) <= 25
    assert {d.charge_mode for d in desktops} == {"period", "on_demand"}
    again = EmulatorData.generated(FleetSpec(pools=20, desktops_per_pool=25, seed=3))
    assert [d for m in again.desktops.values() for d in m] == desktops
