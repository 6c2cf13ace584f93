"""The emulated endpoints: shapes, pages, filters, and counts that follow the data set."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import OWN_KINDS, drift_of
from pooldrift.models import DesktopPool, InconsistentStatics, PoolDesktopPage, PoolList

#: The current filter values in the casings the vendor's own SDK uses (docstring, enum) and more.
CASINGS = {
    "PRODUCT_ID": ["PRODUCT_ID", "product_id", "Product_Id"],
    "IMAGE_ID": ["IMAGE_ID", "image_id", "Image_ID"],
    "DISK_NUM": ["DISK_NUM", "disk_num", "Disk_Num"],
    "DISK_SIZE": ["DISK_SIZE", "disk_size", "dIsK_sIzE"],
}


def _get(raw: httpx2.Client, url: str, **params: Any) -> dict[str, Any]:
    response = raw.get(url, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def _all_desktops(raw: httpx2.Client, url: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = _get(raw, url, offset=len(found), limit=100, **params)
        found += page["pool_desktops"]
        if not page["pool_desktops"] or len(found) >= page["total_count"]:
            return found


# -- IAM -----------------------------------------------------------------------------------


def test_iam_answers_the_project_of_the_region_asked(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    body = _get(raw, "/v3/projects", name="ap-southeast-1")
    assert [(p["id"], p["name"], p["enabled"]) for p in body["projects"]] == [
        (emulator.project_id, "ap-southeast-1", True)
    ]
    assert body["projects"][0]["domain_id"]
    assert _get(raw, "/v3/projects", name="nowhere-1")["projects"] == []


# -- pools ---------------------------------------------------------------------------------


def test_list_pools_answers_every_pool_in_the_vendor_shape(
    emulator: EmulatorServer, raw: httpx2.Client
) -> None:
    body = _get(raw, f"/v2/{emulator.project_id}/desktop-pools")
    assert body["total_count"] == len(emulator.data.pools) == len(body["desktop_pools"])
    PoolList.model_validate(body)
    for item, pool in zip(body["desktop_pools"], emulator.data.pools, strict=True):
        assert item["id"] == pool.id and item["name"] == pool.name
        assert "product_id" not in item  # only under product, as the real API
        assert item["product"]["product_id"] == pool.product_id
        assert isinstance(item["product"]["cpu"], str) and isinstance(item["product"]["memory"], str)
        assert item["image_id"] == pool.image_id and item["image_name"]
        assert item["root_volume"]["size"] == pool.root_size
        assert [v["size"] for v in item["data_volumes"]] == pool.data_sizes
        assert item["desktop_count"] == len(emulator.data.desktops_of(pool.id))


def test_list_pools_pages_with_offset_and_limit(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    url = f"/v2/{emulator.project_id}/desktop-pools"
    names = [p.name for p in emulator.data.pools]
    pages = [_get(raw, url, offset=offset, limit=5) for offset in (0, 5, 10)]
    assert all(page["total_count"] == len(names) for page in pages)
    assert [p["name"] for page in pages for p in page["desktop_pools"]] == names
    assert _get(raw, url, limit=0)["desktop_pools"] == []
    assert _get(raw, url, offset=100)["desktop_pools"] == []


def test_list_pools_name_is_a_case_insensitive_substring(
    emulator: EmulatorServer, raw: httpx2.Client
) -> None:
    url = f"/v2/{emulator.project_id}/desktop-pools"
    assert sorted(p["name"] for p in _get(raw, url, name="lab-a")["desktop_pools"]) == ["LAB-A", "lab-a"]
    assert [p["name"] for p in _get(raw, url, name="FINANCE")["desktop_pools"]] == ["finance-win11"]
    assert {p["name"] for p in _get(raw, url, name="ubuntu")["desktop_pools"]} == {
        "dev-ubuntu22",
        "support-ubuntu20",
    }


def test_list_pools_filters_type_and_maintenance(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    url = f"/v2/{emulator.project_id}/desktop-pools"
    static = _get(raw, url, type="STATIC")
    assert {p["type"] for p in static["desktop_pools"]} == {"STATIC"}
    assert static["total_count"] == sum(p.type == "STATIC" for p in emulator.data.pools)
    maintained = _get(raw, url, in_maintenance_mode="true")["desktop_pools"]
    assert [p["name"] for p in maintained] == ["support-ubuntu20"]
    assert len(_get(raw, url, in_maintenance_mode="false")["desktop_pools"]) == len(emulator.data.pools) - 1


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "1001"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"type": "FLOATING"},
        {"in_maintenance_mode": "yes"},
    ],
)
def test_list_pools_refuses_bad_query_values(
    emulator: EmulatorServer, raw: httpx2.Client, params: dict[str, str]
) -> None:
    response = raw.get(f"/v2/{emulator.project_id}/desktop-pools", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "WKS.0001" and next(iter(params)) in body["error_msg"]


def test_one_pool_is_the_pool_itself(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    pool = emulator.data.pool_named("design-gpu-win11")
    body = _get(raw, f"/v2/{emulator.project_id}/desktop-pools/{pool.id}")
    assert body["id"] == pool.id and body["name"] == pool.name
    assert body["product"]["is_gpu"] is True
    parsed = DesktopPool.model_validate(body)
    assert parsed.product is not None and parsed.product.product_id == pool.product_id
    # ids are matched in any casing, as UUIDs are
    assert _get(raw, f"/v2/{emulator.project_id}/desktop-pools/{pool.id.upper()}")["id"] == pool.id


@pytest.mark.parametrize("suffix", ["", "/desktops", "/inconsistent-statics"])
def test_unknown_pool_or_project_answers_as_the_vendor_does(
    emulator: EmulatorServer, raw: httpx2.Client, suffix: str
) -> None:
    unknown_pool = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
    response = raw.get(f"/v2/{emulator.project_id}/desktop-pools/{unknown_pool}{suffix}")
    assert response.status_code == 400  # not 404: the service's own request check answers it
    body = response.json()
    assert body["error_code"] == "WKS.0001"
    assert body["error_msg"] == f"The desktop pool {unknown_pool} does not exist."

    real_pool = emulator.data.pools[0].id
    other_project = "bcae3e673fd04716a3b9dacdf58ca336"
    response = raw.get(f"/v2/{other_project}/desktop-pools/{real_pool}{suffix}")
    assert response.status_code == 401  # the gateway: the key pair has no scope there
    assert response.json()["error_code"] == "APIGW.0301"
    assert set(response.json()) >= {"error_code", "error_msg"}


def test_an_unknown_path_is_the_gateways_404(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    response = raw.get(f"/v2/{emulator.project_id}/desktops-pools")
    assert response.status_code == 404
    assert response.json()["error_code"] == "APIGW.0101"


# -- desktops and statics ------------------------------------------------------------------


def test_desktops_default_to_pages_of_ten_and_cap_at_100(
    emulator: EmulatorServer, raw: httpx2.Client
) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    url = f"/v2/{emulator.project_id}/desktop-pools/{pool.id}/desktops"
    first = _get(raw, url)
    assert first["total_count"] == 137 and len(first["pool_desktops"]) == 10
    assert first["on_demand_desktops_num"] + first["period_desktops_num"] == 137
    PoolDesktopPage.model_validate(first)
    assert raw.get(url, params={"limit": 101}).status_code == 400
    assert raw.get(url, params={"offset": "x"}).status_code == 400
    everything = _all_desktops(raw, url)
    assert len(everything) == 137
    assert len({d["desktop_id"] for d in everything}) == 137
    assert [d["desktop_id"] for d in everything] == [d.desktop_id for d in emulator.data.desktops_of(pool.id)]


def test_a_desktop_shows_its_own_configuration(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    pool = emulator.data.pool_named("sales-win11")
    url = f"/v2/{emulator.project_id}/desktop-pools/{pool.id}/desktops"
    by_id = {d.desktop_id: d for d in emulator.data.desktops_of(pool.id)}
    for item in _all_desktops(raw, url):
        desktop = by_id[item["desktop_id"]]
        assert item["computer_name"] == desktop.computer_name
        assert item["product_id"] == desktop.product_id
        assert item["metadata"]["metering.image_id"] == desktop.image_id
        assert "image_id" not in item
        assert item["root_volume"]["size"] == desktop.root_size
        assert [v["size"] for v in item["data_volumes"]] == desktop.data_sizes
        # what a desktop says of itself: package and image only, in the documented values
        assert item["inconsistent_types"] == [OWN_KINDS[k] for k in drift_of(desktop, pool) if k in OWN_KINDS]
        assert set(item["inconsistent_types"]) <= {"PRODUCT", "IMAGE"}
        assert item["desktop_type"] == "POOLED"
        period = desktop.charge_mode == "period"
        assert item["metadata"]["charging_mode"] == item["product"]["charge_mode"] == ("0" if period else "1")
    assert any(d.charge_mode == "period" for d in by_id.values())
    assert any(d.charge_mode == "on_demand" for d in by_id.values())


@pytest.mark.parametrize("pool_name", ["sales-win11", "dev-ubuntu22", "qa-win11", "finance-win11", "lab-a"])
def test_the_filter_in_any_casing_agrees_with_the_statics(
    emulator: EmulatorServer, raw: httpx2.Client, pool_name: str
) -> None:
    pool = emulator.data.pool_named(pool_name)
    base = f"/v2/{emulator.project_id}/desktop-pools/{pool.id}"
    statics = _get(raw, f"{base}/inconsistent-statics")
    InconsistentStatics.model_validate(statics)
    assert set(statics) == {"product_id", "image_id", "disk_num", "disk_size"}
    for kind, spellings in CASINGS.items():
        for spelling in spellings:
            page = _get(raw, f"{base}/desktops", inconsistent_type=spelling, limit=100)
            assert page["total_count"] == statics[kind.lower()], (kind, spelling)
            own = OWN_KINDS.get(kind)  # the disk kinds show only through the filter
            assert all(own in d["inconsistent_types"] for d in page["pool_desktops"]) if own else True


@pytest.mark.parametrize("value", ["FLAVOR", "PRODUCT", "image"])
def test_an_unknown_inconsistent_type_is_refused(
    emulator: EmulatorServer, raw: httpx2.Client, value: str
) -> None:
    # the legacy values too: the current API version takes only the four current ones
    pool = emulator.data.pool_named("sales-win11")
    response = raw.get(
        f"/v2/{emulator.project_id}/desktop-pools/{pool.id}/desktops", params={"inconsistent_type": value}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "WKS.0001"
    assert "inconsistent_type" in response.json()["error_msg"]


def test_desktops_filter_by_status_name_and_ids(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    url = f"/v2/{emulator.project_id}/desktop-pools/{pool.id}/desktops"
    desktops = emulator.data.desktops_of(pool.id)
    shutoff = [d.desktop_id for d in desktops if d.status == "SHUTOFF"]
    assert shutoff, "the demo data has stopped desktops"
    assert [d["desktop_id"] for d in _all_desktops(raw, url, status="shutoff")] == shutoff
    name = desktops[41].computer_name
    assert [d["computer_name"] for d in _get(raw, url, computer_name=name.lower())["pool_desktops"]] == [name]
    wanted = [desktops[3].desktop_id, desktops[77].desktop_id, desktops[120].desktop_id]
    repeated = raw.get(url, params=[("desktop_id", i) for i in wanted]).json()
    comma = _get(raw, url, desktop_id=",".join(wanted))
    assert [d["desktop_id"] for d in repeated["pool_desktops"]] == wanted
    assert comma["total_count"] == 3


def test_counts_follow_changes_to_the_data(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    data = emulator.data
    pool = data.pool_named("finance-win11")
    url = f"/v2/{emulator.project_id}/desktop-pools/{pool.id}"
    assert _get(raw, f"{url}/inconsistent-statics") == dict.fromkeys(
        ("product_id", "image_id", "disk_num", "disk_size"), 0
    )

    desktop = data.desktops_of(pool.id)[5]
    desktop.image_id = "00000000-0000-4000-8000-000000000000"
    desktop.data_sizes = [*desktop.data_sizes, 40]
    statics = _get(raw, f"{url}/inconsistent-statics")
    assert statics == {"product_id": 0, "image_id": 1, "disk_num": 1, "disk_size": 1}
    flagged = _get(raw, f"{url}/desktops", inconsistent_type="DISK_NUM")["pool_desktops"]
    assert [d["desktop_id"] for d in flagged] == [desktop.desktop_id]
    assert flagged[0]["inconsistent_types"] == ["IMAGE"]

    # re-imaging the pool makes every other desktop drift instead
    pool.image_id = desktop.image_id
    assert _get(raw, f"{url}/inconsistent-statics")["image_id"] == len(data.desktops_of(pool.id)) - 1

    emulator.reset()
    assert data.pool(pool.id) is not None
    assert _get(raw, f"{url}/inconsistent-statics")["image_id"] == 0
