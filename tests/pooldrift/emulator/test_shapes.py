"""The emulator's answers within the vendor's definitions: real value sets, the legacy API version,
``null`` where allowed, the name filter's ways of matching, and the switches that choose them."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY, EmulatorServer
from pooldrift.emulator.catalog import PRODUCTS
from pooldrift.models import DesktopPool, InconsistentStatics, PoolDesktopPage, PoolList
from tests.helpers import signed_client, start_process, stop_process

READY = r"^pooldrift emulator listening on (http://127\.0\.0\.1:\d+)$"


def _get(raw: httpx2.Client, url: str, **params: Any) -> dict[str, Any]:
    response = raw.get(url, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


# -- value sets -----------------------------------------------------------------------------------


def test_pools_carry_the_vendors_values(emulator: EmulatorServer, raw: httpx2.Client, project: str) -> None:
    body = _get(raw, f"{project}/desktop-pools")
    for item, pool in zip(body["desktop_pools"], emulator.data.pools, strict=True):
        assert item["charging_mode"] == "1"  # on demand; "0" is yearly/monthly
        desktops = emulator.data.desktops_of(pool.id)
        assert item["desktop_used"] == sum(1 for d in desktops if d.user_name)
        assert 0 < item["desktop_used"] < item["desktop_count"] or not desktops
        # memory in MiB, as a string: "4096" for 4 GiB
        gib = int(PRODUCTS[pool.product_id].descriptions.split("|")[1].split()[0])
        assert item["product"]["memory"] == str(gib * 1024)
    large = next(p for p in body["desktop_pools"] if p["name"] == "hr-win10")
    assert (large["product"]["cpu"], large["product"]["memory"]) == ("2", "4096")


def test_on_demand_and_period_desktops_are_counted_apart(
    emulator: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    desktops = emulator.data.desktops_of(pool.id)
    period = sum(1 for d in desktops if d.charge_mode == "period")
    assert 0 < period < len(desktops) - period  # different numbers: a swap would show
    body = _get(raw, f"{project}/desktop-pools/{pool.id}/desktops")
    assert (body["on_demand_desktops_num"], body["period_desktops_num"]) == (len(desktops) - period, period)
    drifted = _get(raw, f"{project}/desktop-pools/{pool.id}/desktops", inconsistent_type="IMAGE_ID")
    image = {x.desktop_id for x in emulator.data.drifted(pool.id, "IMAGE_ID")}
    chosen = [d for d in desktops if d.desktop_id in image]
    assert drifted["period_desktops_num"] == sum(1 for d in chosen if d.charge_mode == "period")


# -- the legacy API version -----------------------------------------------------------------------


def test_the_legacy_version_reports_two_counts_and_takes_two_filter_values(
    emulator: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    full = emulator.data.statics(pool.id)
    emulator.shape.update(api_version="legacy")
    statics = _get(raw, f"{project}/desktop-pools/{pool.id}/inconsistent-statics")
    assert statics == {"product_id": full["product_id"], "image_id": full["image_id"]}
    url = f"{project}/desktop-pools/{pool.id}/desktops"
    for value, count in (("PRODUCT", "product_id"), ("image", "image_id")):
        assert _get(raw, url, inconsistent_type=value, limit=100)["total_count"] == full[count]
    for value in ("PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE"):
        refused = raw.get(url, params={"inconsistent_type": value})
        assert refused.status_code == 400 and refused.json()["error_code"] == "WKS.0001", value
        assert "PRODUCT, IMAGE" in refused.json()["error_msg"]
    emulator.reset()
    assert len(_get(raw, f"{project}/desktop-pools/{pool.id}/inconsistent-statics")) == 4


# -- nulls and unreported counts ------------------------------------------------------------------


def test_nulls_where_the_vendor_allows_them(
    emulator: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    emulator.shape.update(nulls=True, unreported="disk_size")
    pool = emulator.data.pool_named("lab-a")  # no data disks, one desktop drifted
    statics = _get(raw, f"{project}/desktop-pools/{pool.id}/inconsistent-statics")
    assert statics == {"product_id": 0, "image_id": 1, "disk_num": 0, "disk_size": None}
    assert InconsistentStatics.model_validate(statics).disk_size is None

    pools = _get(raw, f"{project}/desktop-pools", name="lab-a")
    assert pools["total_count"] is None
    item = next(p for p in pools["desktop_pools"] if p["id"] == pool.id)
    assert item["data_volumes"] is None
    assert DesktopPool.model_validate(item).data_volumes == []
    assert PoolList.model_validate(pools).total_count is None

    page = _get(raw, f"{project}/desktop-pools/{pool.id}/desktops", limit=100)
    assert page["total_count"] is None
    drifted = [d for d in page["pool_desktops"] if d["inconsistent_types"] is not None]
    assert [d["inconsistent_types"] for d in drifted] == [["IMAGE"]]
    for desktop in page["pool_desktops"]:
        assert desktop["data_volumes"] is None and desktop["user_list"] in (None, [desktop["user_name"]])
    parsed = PoolDesktopPage.model_validate(page)
    assert all(d.data_volumes == [] and d.image_id for d in parsed.pool_desktops)
    empty = emulator.data.pool_named("training-win10")
    assert _get(raw, f"{project}/desktop-pools/{empty.id}/desktops")["pool_desktops"] is None


def test_unreported_counts_are_left_out_without_nulls(
    emulator: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    emulator.shape.update(unreported=["image_id", "disk_num"])
    pool = emulator.data.pool_named("sales-win11")
    statics = _get(raw, f"{project}/desktop-pools/{pool.id}/inconsistent-statics")
    assert set(statics) == {"product_id", "disk_size"}


# -- the name filter --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "name", "expected"),
    [
        ("icontains", "LAB-a", ["LAB-A", "lab-a"]),
        ("icontains", "ubuntu2", ["dev-ubuntu22", "support-ubuntu20"]),
        ("contains", "LAB", ["LAB-A"]),
        ("contains", "ubuntu2", ["dev-ubuntu22", "support-ubuntu20"]),
        ("iexact", "LAB-a", ["LAB-A", "lab-a"]),
        ("iexact", "ubuntu2", []),
        ("exact", "lab-a", ["lab-a"]),
        ("exact", "LAB-a", []),
    ],
)
def test_the_name_filter_matches_as_chosen(
    emulator: EmulatorServer, raw: httpx2.Client, project: str, mode: str, name: str, expected: list[str]
) -> None:
    emulator.shape.update(name_filter=mode)
    found = _get(raw, f"{project}/desktop-pools", name=name)["desktop_pools"]
    assert sorted(p["name"] for p in found) == expected


# -- the switches ---------------------------------------------------------------------------------------


def test_the_control_api_sets_and_resets_the_shape(emulator: EmulatorServer) -> None:
    with httpx2.Client(base_url=emulator.base_url) as control:
        assert control.get("/_emulator/shape").json()["api_version"] == "current"
        changed = control.post("/_emulator/shape", json={"api_version": "legacy", "name_filter": "exact"})
        assert changed.status_code == 200
        settings = emulator.shape.settings
        assert (settings.api_version, settings.name_filter) == ("legacy", "exact")
        refused = control.post("/_emulator/shape", json={"api_version": "v9"})
        assert refused.status_code == 400 and "api_version" in refused.json()["error_msg"]
        assert control.post("/_emulator/shape", json={"colour": "red"}).status_code == 400
        assert emulator.shape.settings.api_version == "legacy"  # a refused change changes nothing
        assert control.delete("/_emulator/shape").json()["api_version"] == "current"


def test_the_command_line_flags_choose_the_shape() -> None:
    args = ["-m", "pooldrift.emulator", "--port", "0", "--api-version", "legacy", "--nulls"]
    args += ["--name-filter", "exact"]
    proc, _, _, url = start_process(args, wait_for=READY)
    assert url is not None
    try:
        with signed_client(url, DEMO_ACCESS_KEY, DEMO_SECRET_KEY) as client:
            pools = client.get(f"/v2/{DEMO_PROJECT_ID}/desktop-pools", params={"name": "LAB-a"}).json()
            assert pools == {"total_count": None, "desktop_pools": None}  # exact: no such name
            pool = client.get(f"/v2/{DEMO_PROJECT_ID}/desktop-pools", params={"name": "hr-win10"}).json()
            pool_id = pool["desktop_pools"][0]["id"]
            statics = client.get(f"/v2/{DEMO_PROJECT_ID}/desktop-pools/{pool_id}/inconsistent-statics").json()
            assert statics == {"product_id": 6, "image_id": 0, "disk_num": None, "disk_size": None}
    finally:
        assert stop_process(proc) == 0
    bad, _, err, _ = start_process(["-m", "pooldrift.emulator", "--unreported", "colour"], wait_for=None)
    assert bad.wait(30) == 2 and "unreported" in err.text(2.0)
