"""A generated fleet for scale tests and benchmarks: N pools in each of P projects across regions,
M desktops each, with a realistic share of drift of each kind; the same seed gives the same fleet.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import regions
from . import catalog
from .records import KINDS, Desktop, Pool, Project, apply_drift, in_line_desktop

__all__ = ["CONSISTENT_SHARE", "DRIFT_SHARES", "KIND_WEIGHTS", "FleetSpec", "build_fleet", "layout"]

#: Share of pools with no drifted desktop at all.
CONSISTENT_SHARE = 0.4
#: Each other pool has this share of its desktops drifted (one drawn per pool; at least one desktop).
DRIFT_SHARES = (0.05, 0.1, 0.2, 0.35)
#: How often each kind is a drifted desktop's (first) kind: a missed rebuild is the most common.
KIND_WEIGHTS: dict[str, int] = {"IMAGE_ID": 45, "PRODUCT_ID": 25, "DISK_SIZE": 20, "DISK_NUM": 10}
#: Chance that a drifted desktop differs in a second kind too.
SECOND_KIND = 0.2
#: Chance that a pool is in maintenance mode.
MAINTENANCE = 0.03
#: Of a fleet's desktops, per thousand (derived from the desktop's id, not drawn, so the rest of the
#: fleet is the same as without them): an active desktop with a user has them logged in (CONNECTED)
#: or gone (DISCONNECTED); some run an operation; a few are frozen.
CONNECTED_PER_MILLE = 400
DISCONNECTED_PER_MILLE = 100
TASK_PER_MILLE = 30
FROZEN_PER_MILLE = 15
#: The operations a generated desktop may be running.
_TASKS = ("rebooting", "powering-on", "updating")

MAX_POOLS = 100_000
MAX_DESKTOPS_PER_POOL = 10_000
MAX_PROJECTS = 1_000
MAX_DESKTOPS = 2_000_000

#: Second, third, ... project of a region: IAM names a subproject ``{region}_{name}``.
_SUBPROJECTS = ("dev", "prod", "test", "lab", "ops", "finance")
_TEAMS = ("finance", "dev", "hr", "design", "callcenter", "analytics", "sales", "lab", "support",
          "training", "qa", "ops", "legal", "marketing", "research", "it")  # fmt: skip


@dataclass(frozen=True)
class _Template:
    os: str
    image_id: str
    product_ids: tuple[str, ...]
    root_size: int
    data_sizes: tuple[tuple[int, ...], ...]


_P = "workspace.x86."
_TEMPLATES = (
    _Template(
        "win11",
        catalog.WIN11,
        (f"{_P}general.large2", f"{_P}general.xlarge2", f"{_P}ultimate.xlarge4", f"{_P}gpu.g6.2xlarge4"),
        80,
        ((), (50,), (100,), (100, 100)),
    ),
    _Template(
        "win10", catalog.WIN10, (f"{_P}general.large2", f"{_P}general.xlarge2"), 80, ((), (50,), (100,))
    ),
    _Template(
        "ubuntu22",
        catalog.UBUNTU22,
        (f"{_P}general.xlarge2", f"{_P}ultimate.2xlarge4"),
        100,
        ((100,), (200,)),
    ),
    _Template(
        "ubuntu20", catalog.UBUNTU20, (f"{_P}general.large2", f"{_P}general.2xlarge2"), 80, ((), (100,))
    ),
)


@dataclass(frozen=True)
class FleetSpec:
    """What to generate: ``pools`` pools in each of ``projects`` projects, ``desktops_per_pool`` each."""

    pools: int = 12
    desktops_per_pool: int = 5
    projects: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("pools", self.pools, 0, MAX_POOLS),
            ("desktops_per_pool", self.desktops_per_pool, 0, MAX_DESKTOPS_PER_POOL),
            ("projects", self.projects, 1, MAX_PROJECTS),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer from {low} to {high:,}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if self.pools * self.desktops_per_pool * self.projects > MAX_DESKTOPS:
            total = "pools × desktops_per_pool × projects"
            raise ValueError(f"at most {MAX_DESKTOPS:,} desktops in all ({total})")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FleetSpec:
        """From the control API's JSON; unknown keys are an error."""
        unknown = sorted(set(values) - set(asdict(cls())))
        if unknown:
            raise ValueError(f"unknown fleet settings: {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def layout(count: int, home: Project, rng: random.Random) -> list[Project]:
    """``count`` projects, one per region (the home region first, then the vendor's order), then
    subprojects of each region in the same order; the first is ``home``."""
    order = [home.region, *(r for r in regions.KNOWN_REGIONS if r != home.region)]
    projects: list[Project] = []
    own: dict[str, str] = {}
    used = {home.id}
    for index in range(count):
        region = order[index % len(order)]
        level = index // len(order)
        if index == 0:
            project = home
        else:
            project_id = f"{rng.getrandbits(128):032x}"
            while project_id in used:
                project_id = f"{rng.getrandbits(128):032x}"
            used.add(project_id)
            if level == 0:
                project = Project(project_id, region)
            else:
                word = _SUBPROJECTS[(level - 1) % len(_SUBPROJECTS)]
                lap = (level - 1) // len(_SUBPROJECTS)
                name = f"{region}_{word}{lap + 1 if lap else ''}"
                project = Project(project_id, name, parent_id=own[region], description=f"{word} of {region}")
        if level == 0:
            own[region] = project.id
        projects.append(project)
    return projects


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _drift_kinds(rng: random.Random) -> frozenset[str]:
    first = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    if rng.random() < SECOND_KIND:
        return frozenset((first, rng.choice([k for k in KINDS if k != first])))
    return frozenset((first,))


def _vary(desktop: Desktop) -> None:
    """Give a generated desktop its login state, running task and freeze, from its id alone."""
    digest = hashlib.sha256(desktop.desktop_id.encode()).digest()
    login, task, frozen = (int.from_bytes(digest[i : i + 2], "big") % 1000 for i in (0, 2, 4))
    if desktop.user_name and desktop.status == "ACTIVE":
        if login < CONNECTED_PER_MILLE:
            desktop.login_status = "CONNECTED"
        elif login < CONNECTED_PER_MILLE + DISCONNECTED_PER_MILLE:
            desktop.login_status = "DISCONNECTED"
    if task < TASK_PER_MILLE:
        desktop.task_status = _TASKS[task % len(_TASKS)]
    desktop.is_freeze = frozen < FROZEN_PER_MILLE


def build_fleet(spec: FleetSpec, home: Project) -> tuple[list[Project], list[Pool], dict[str, list[Desktop]]]:
    """The projects, pools and desktops ``spec`` describes (pools project by project, in order)."""
    rng = random.Random(spec.seed)  # noqa: S311 - reproducible test data, not security
    projects = layout(spec.projects, home, rng)
    start = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    width = max(3, len(str(spec.pools)))
    pools: list[Pool] = []
    desktops: dict[str, list[Desktop]] = {}
    serial = 0
    for project_number, project in enumerate(projects):
        for number in range(spec.pools):
            template = rng.choice(_TEMPLATES)
            team = rng.choice(_TEAMS)
            created = start + timedelta(hours=rng.randrange(24 * 365))
            pool = Pool(
                id=_uuid(rng),
                name=f"{team}-{template.os}-{number + 1:0{width}d}",
                type=rng.choice(("DYNAMIC", "STATIC")),
                product_id=rng.choice(template.product_ids),
                image_id=template.image_id,
                root_size=template.root_size,
                data_sizes=list(rng.choice(template.data_sizes)),
                availability_zone=f"{project.region}{rng.choice('abc')}",
                in_maintenance_mode=rng.random() < MAINTENANCE,
                description=f"{team} desktops ({template.os})",
                created_time=created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                project_id=project.id,
            )
            members = []
            for index in range(spec.desktops_per_pool):
                members.append(
                    in_line_desktop(
                        rng,
                        pool,
                        name=f"{team[:3].upper()}{project_number:02d}{number:0{width}d}{index:03d}",
                        created=created + timedelta(minutes=3 * index),
                        ip=f"10.{serial // 62_500 % 256}.{serial // 250 % 250}.{serial % 250 + 2}",
                    )
                )
                serial += 1
            for desktop in members:
                _vary(desktop)
            if members and rng.random() >= CONSISTENT_SHARE:
                share = rng.choice(DRIFT_SHARES)
                drifted = max(1, int(len(members) * share + 0.5))
                for index in rng.sample(range(len(members)), drifted):
                    apply_drift(members[index], pool, _drift_kinds(rng))
            pools.append(pool)
            desktops[pool.id] = members
    return projects, pools, desktops
