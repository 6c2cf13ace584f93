"""A generated fleet: reproducible for a seed, spread over the regions, counts computed from its
desktops, and a share of drift of each kind like a real tenant's."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

import pytest

from pooldrift import regions
from pooldrift.emulator import EmulatorData, FleetSpec, Project
from pooldrift.emulator.config import DEMO_DATA_SEED, DEMO_PROJECT_ID
from pooldrift.emulator.data import KINDS, drift_of
from pooldrift.emulator.generate import layout
from pooldrift.validation import validate_pool_name

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_the_same_seed_gives_the_same_fleet() -> None:
    spec = FleetSpec(pools=30, desktops_per_pool=4, projects=3, seed=11)
    first, second = EmulatorData.generated(spec), EmulatorData.generated(spec)
    assert first.projects == second.projects
    assert first.pools == second.pools and first.desktops == second.desktops
    other = EmulatorData.generated(FleetSpec(pools=30, desktops_per_pool=4, projects=3, seed=12))
    assert other.pools != first.pools
    assert other.projects[0].id == DEMO_PROJECT_ID  # the home project stays the configured one


def test_reset_restores_the_configured_set_whatever_was_generated_since() -> None:
    spec = FleetSpec(pools=5, desktops_per_pool=2, projects=2, seed=1)
    data = EmulatorData.generated(spec)
    before = (list(data.projects), list(data.pools))
    data.desktops_of(data.pools[0].id).clear()
    data.generate(FleetSpec(pools=1, projects=4))
    assert len(data.pools) == 4 and data.fleet == FleetSpec(pools=1, projects=4)
    data.reset()
    assert (data.projects, data.pools) == before and data.fleet == spec
    assert len(data.desktops_of(data.pools[0].id)) == 2

    demo = EmulatorData.demo(DEMO_DATA_SEED)
    demo.generate(spec)
    assert len(demo.pools) == 10
    demo.reset()
    assert len(demo.pools) == 12 and demo.fleet is None and len(demo.projects) == 1


def test_every_pool_has_its_desktops_and_sound_ids_and_names() -> None:
    spec = FleetSpec(pools=40, desktops_per_pool=7, projects=3, seed=5)
    data = EmulatorData.generated(spec)
    assert len(data.pools) == 120
    assert all(len(data.desktops_of(p.id)) == 7 for p in data.pools)
    ids = [p.id for p in data.pools] + [d.desktop_id for ds in data.desktops.values() for d in ds]
    assert all(UUID.match(i) for i in ids) and len(set(ids)) == len(ids)
    for project in data.projects:
        names = [p.name for p in data.pools_of(project.id)]
        assert len(names) == 40 == len(set(names))
        assert all(validate_pool_name(n) == n for n in names)
        zones = {p.availability_zone for p in data.pools_of(project.id)}
        assert zones <= {f"{project.region}{z}" for z in "abc"}


def test_the_counts_are_computed_from_the_desktops() -> None:
    data = EmulatorData.generated(FleetSpec(pools=60, desktops_per_pool=6, projects=2, seed=3))
    for pool in data.pools:
        expected = Counter(kind for d in data.desktops_of(pool.id) for kind in drift_of(d, pool))
        assert data.statics(pool.id) == {k.lower(): expected[k] for k in KINDS}, pool.name
    pool = next(p for p in data.pools if data.statics(p.id)["image_id"])
    for desktop in data.drifted(pool.id, "IMAGE_ID"):
        desktop.image_id = pool.image_id
    assert data.statics(pool.id)["image_id"] == 0


def test_the_drift_looks_like_a_real_tenants() -> None:
    data = EmulatorData.generated(FleetSpec(pools=500, desktops_per_pool=10, projects=1, seed=0))
    statics = [data.statics(p.id) for p in data.pools]
    consistent = sum(1 for s in statics if not any(s.values()))
    assert 0.3 <= consistent / len(statics) <= 0.5  # most pools drift somewhere, many do not
    desktops = [(d, p) for p in data.pools for d in data.desktops_of(p.id)]
    drifted = [drift_of(d, p) for d, p in desktops if drift_of(d, p)]
    assert 0.05 <= len(drifted) / len(desktops) <= 0.25
    kinds = Counter(k for found in drifted for k in found)
    assert kinds.most_common(1)[0][0] == "IMAGE_ID"  # a missed rebuild is the commonest drift
    assert all(kinds[k] > 0 for k in KINDS)
    assert any(len(found) >= 2 for found in drifted)
    assert any(p.in_maintenance_mode for p in data.pools)
    assert {p.type for p in data.pools} == {"DYNAMIC", "STATIC"}


def test_projects_spread_over_the_regions_then_become_subprojects() -> None:
    home = Project(DEMO_PROJECT_ID, "cn-east-3")
    projects = layout(len(regions.KNOWN_REGIONS) + 2, home, random.Random(0))
    by_name = {p.name: p for p in projects}
    own = projects[: len(regions.KNOWN_REGIONS)]
    assert own[0] == home
    assert sorted(p.name for p in own) == sorted(regions.KNOWN_REGIONS)
    assert all(p.parent_id is None for p in own)
    first, second = projects[len(own) :]
    assert (first.name, first.parent_id) == ("cn-east-3_dev", home.id)
    assert (second.name, second.region) == ("cn-north-4_dev", "cn-north-4")
    assert second.parent_id == by_name["cn-north-4"].id
    ids = [p.id for p in projects]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"pools": -1}, "pools must be an integer from 0"),
        ({"projects": 0}, "projects must be an integer from 1"),
        ({"desktops_per_pool": 10_001}, "desktops_per_pool must be an integer from 0 to 10,000"),
        ({"pools": True}, "pools must be an integer"),
        ({"pools": "12"}, "pools must be an integer"),
        ({"pools": 100_000, "desktops_per_pool": 100}, "at most 2,000,000 desktops"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"pool": 3}, "unknown fleet settings: pool"),
    ],
)
def test_a_bad_fleet_is_refused_with_its_reason(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        FleetSpec.from_dict(values)


def test_the_summary_counts_each_projects_pools() -> None:
    data = EmulatorData.generated(FleetSpec(pools=3, desktops_per_pool=2, projects=2, seed=0))
    summary = data.summary()
    assert summary["fleet"] == {"pools": 3, "desktops_per_pool": 2, "projects": 2, "seed": 0}
    assert [(p["name"], p["pools"]) for p in summary["projects"]] == [("cn-north-4", 3), ("cn-east-3", 3)]
    assert (summary["pools"], summary["desktops"]) == (6, 12)
    assert EmulatorData.demo(DEMO_DATA_SEED).summary()["fleet"] is None
