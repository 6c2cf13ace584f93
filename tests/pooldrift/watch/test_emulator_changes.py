"""The emulator changes its data at run time, so the watch's tests drive real drift: exactly
``count`` desktops differ in one way (others untouched), pools come and go, and the counts,
the filtered listings and the pool's size all follow — in process and over the control API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import KINDS
from tests.helpers import signed_client

FIELDS = [kind.lower() for kind in KINDS]


@pytest.fixture
def raw(emulator: EmulatorServer) -> Iterator[httpx2.Client]:
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as client:
        yield client


def api_counts(raw: httpx2.Client, emulator: EmulatorServer, pool_id: str) -> dict[str, int]:
    answer = raw.get(f"/v2/{emulator.project_id}/desktop-pools/{pool_id}/inconsistent-statics")
    assert answer.status_code == 200, answer.text
    return {k: answer.json()[k] for k in FIELDS}


def listed(raw: httpx2.Client, emulator: EmulatorServer, pool_id: str, kind: str) -> int:
    query = {"inconsistent_type": kind, "limit": 100}
    answer = raw.get(f"/v2/{emulator.project_id}/desktop-pools/{pool_id}/desktops", params=query)
    return int(answer.json()["total_count"])


@pytest.mark.parametrize("kind", FIELDS)
def test_set_drift_makes_exactly_that_many_differ_in_that_way_only(
    emulator: EmulatorServer, raw: httpx2.Client, kind: str
) -> None:
    pool = emulator.data.pool_named("sales-win11")  # drifted in all four ways, some desktops in several
    before = emulator.data.statics(pool.id)
    for count in (0, 11, 3, 36, 0):
        after = emulator.data.set_drift(pool.id, kind, count)
        assert after[kind] == count
        assert {k: v for k, v in after.items() if k != kind} == {k: v for k, v in before.items() if k != kind}
        assert api_counts(raw, emulator, pool.id) == after
        assert listed(raw, emulator, pool.id, kind.upper()) == count


def test_the_control_api_drifts_adds_and_removes_pools(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    base = emulator.base_url + "/_emulator"
    with httpx2.Client(base_url=base, timeout=10) as control:
        made = control.post("/pools", json={"name": "lab-b", "desktops": 12, "data_sizes": []})
        assert made.status_code == 201, made.text
        pool_id = made.json()["id"]
        assert api_counts(raw, emulator, pool_id) == dict.fromkeys(FIELDS, 0)
        shown = raw.get(f"/v2/{emulator.project_id}/desktop-pools/{pool_id}").json()
        assert shown["name"] == "lab-b" and shown["desktop_count"] == 12 and shown["data_volumes"] == []
        for kind, count in (("image_id", 3), ("disk_num", 2), ("DISK_SIZE", 5), ("product", 1)):
            answer = control.post(f"/pools/{pool_id}/drift", json={"kind": kind, "count": count})
            assert answer.status_code == 200, answer.text
        expected = {"product_id": 1, "image_id": 3, "disk_num": 2, "disk_size": 5}
        assert answer.json()["statics"] == expected == api_counts(raw, emulator, pool_id)
        back = control.post(f"/pools/{pool_id}/drift", json={"kind": "image_id", "count": 0})
        assert back.json()["statics"]["image_id"] == 0 and listed(raw, emulator, pool_id, "IMAGE_ID") == 0
        for body, status in (
            ({"kind": "colour", "count": 1}, 400),
            ({"kind": "image_id", "count": 13}, 400),
            ({"kind": "image_id", "count": -1}, 400),
            ({"kind": "image_id", "count": True}, 400),
            ({"kind": "image_id"}, 400),
        ):
            assert control.post(f"/pools/{pool_id}/drift", json=body).status_code == status, body
        unknown = "00000000-0000-4000-8000-0000000000ff"
        assert (
            control.post(f"/pools/{unknown}/drift", json={"kind": "image_id", "count": 1}).status_code == 404
        )
        assert control.post("/pools", json={"desktops": 3}).status_code == 400
        assert control.post("/pools", json={"name": "x", "desktops": -1}).status_code == 400
        assert control.post("/pools", json={"name": "dup", "id": pool_id}).status_code == 409
        assert control.delete(f"/pools/{pool_id}").status_code == 200
        assert control.delete(f"/pools/{pool_id}").status_code == 404
    gone = raw.get(f"/v2/{emulator.project_id}/desktop-pools/{pool_id}/inconsistent-statics")
    assert gone.status_code == 400 and gone.json()["error_code"] == "WKS.0001"
    assert emulator.data.pool(pool_id) is None


def test_in_process_pools_with_a_chosen_id_and_reset_restores_the_demo(emulator: EmulatorServer) -> None:
    pool = emulator.data.create_pool("lab-c", 4, pool_id="ABCDEF00-0000-4000-8000-000000000001")
    assert pool.id == "abcdef00-0000-4000-8000-000000000001" and len(emulator.data.desktops_of(pool.id)) == 4
    assert emulator.data.set_drift(pool.id, "disk_num", 4)["disk_num"] == 4
    with pytest.raises(ValueError, match="exists"):
        emulator.data.create_pool("again", pool_id=pool.id)
    with pytest.raises(KeyError):
        emulator.data.set_drift("00000000-0000-4000-8000-0000000000ff", "image_id", 1)
    emulator.reset()
    assert emulator.data.pool(pool.id) is None and len(emulator.data.pools) == 12
