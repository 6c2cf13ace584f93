"""The demo data set has what the other tests and the demo rely on, and is the same every time."""

from __future__ import annotations

import re

from pooldrift.emulator import EmulatorData
from pooldrift.emulator.config import DEMO_DATA_SEED, DEMO_PROJECT_ID
from pooldrift.emulator.data import KINDS, drift_of

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_the_demo_set_has_every_case_the_tests_need() -> None:
    data = EmulatorData.demo(DEMO_DATA_SEED)
    assert 10 <= len(data.pools) <= 14
    sizes = {p.name: len(data.desktops_of(p.id)) for p in data.pools}
    assert 200 <= sum(sizes.values()) <= 500
    assert max(sizes.values()) > 100  # pagination
    assert 0 in sizes.values()  # an empty pool
    statics = {p.name: data.statics(p.id) for p in data.pools}
    consistent = [name for name, counts in statics.items() if not any(counts.values()) and sizes[name]]
    assert "finance-win11" in consistent
    for kind in KINDS:  # a pool drifted in only this way
        only = [n for n, c in statics.items() if c[kind.lower()] and sum(1 for v in c.values() if v) == 1]
        assert only, kind
    multi = [d for p in data.pools for d in data.desktops_of(p.id) if len(drift_of(d, p)) >= 2]
    assert any(
        len(drift_of(d, data.pool_named("sales-win11"))) == 4
        for d in data.desktops_of(data.pool_named("sales-win11").id)
    )
    assert len(multi) >= 5
    lowered = [p.name.lower() for p in data.pools]
    assert lowered.count("lab-a") == 2 and {"lab-a", "LAB-A"} <= {p.name for p in data.pools}
    assert any(p.in_maintenance_mode for p in data.pools)


def test_ids_look_real_and_are_unique() -> None:
    data = EmulatorData.demo(DEMO_DATA_SEED)
    pool_ids = [p.id for p in data.pools]
    desktop_ids = [d.desktop_id for p in data.pools for d in data.desktops_of(p.id)]
    assert all(UUID.match(i) for i in pool_ids + desktop_ids)
    assert len(set(pool_ids + desktop_ids)) == len(pool_ids) + len(desktop_ids)
    assert re.fullmatch(r"[0-9a-f]{32}", DEMO_PROJECT_ID)


def test_the_same_seed_gives_the_same_data_and_reset_restores_it() -> None:
    first, second = EmulatorData.demo(DEMO_DATA_SEED), EmulatorData.demo(DEMO_DATA_SEED)
    assert first.pools == second.pools and first.desktops == second.desktops
    assert EmulatorData.demo(DEMO_DATA_SEED + 1).pools != first.pools

    pool = first.pool_named("hr-win10")
    first.desktops_of(pool.id)[0].product_id = "something-else"
    pool.image_id = "another-image"
    assert first.statics(pool.id) != second.statics(pool.id)
    first.reset()
    assert first.statics(pool.id) == second.statics(pool.id)


def test_drift_is_computed_per_kind() -> None:
    data = EmulatorData.demo(DEMO_DATA_SEED)
    pool = data.pool_named("callcenter-win10")
    desktop = data.desktops_of(pool.id)[0]
    desktop.product_id, desktop.image_id = pool.product_id, pool.image_id
    desktop.root_size, desktop.data_sizes = pool.root_size, list(pool.data_sizes)
    assert drift_of(desktop, pool) == []
    desktop.data_sizes = [20, 20]  # one more disk, same total
    assert drift_of(desktop, pool) == ["DISK_NUM"]
    desktop.data_sizes = [60]  # same count, more capacity
    assert drift_of(desktop, pool) == ["DISK_SIZE"]
    desktop.root_size -= 20  # back to the same total capacity
    assert drift_of(desktop, pool) == []
