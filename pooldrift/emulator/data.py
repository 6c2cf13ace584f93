"""The emulator's data set: its projects, their pools and desktops, drift computed, never stored.

The demo set (12 pools in one project) or a generated fleet (``FleetSpec``, see ``generate.py``);
a desktop's ``inconsistent_types`` and a pool's statics both come from comparing the desktop with
its pool (``drift_of``), so the list, its filter and the counts always agree — also after a test
mutates a desktop or a pool.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import catalog, changes
from .config import DEMO_DATA_SEED, DEMO_PROJECT_ID, DEMO_REGION, EmulatorConfig
from .generate import FleetSpec, build_fleet
from .records import (
    KINDS,
    OWN_KINDS,
    Desktop,
    Pool,
    Project,
    apply_drift,
    drift_of,
    in_line_desktop,
)

__all__ = ["KINDS", "OWN_KINDS", "Desktop", "EmulatorData", "Pool", "Project", "drift_of"]


@dataclass(frozen=True)
class _Recipe:
    """How to build one demo pool: its configuration and which desktops drift how."""

    name: str
    type: str
    size: int
    product_id: str
    image_id: str
    root_size: int
    data_sizes: tuple[int, ...]
    drift: tuple[tuple[int, frozenset[str]], ...] = ()
    in_maintenance_mode: bool = False
    description: str = ""


def _d(count: int, *kinds: str) -> tuple[int, frozenset[str]]:
    return count, frozenset(kinds)


_GEN2 = "workspace.x86.general.xlarge2"
_RECIPES: tuple[_Recipe, ...] = (
    _Recipe("finance-win11", "STATIC", 24, _GEN2, catalog.WIN11, 80, (100,),
            description="Finance team; fully in line with its configuration"),
    _Recipe("dev-ubuntu22", "DYNAMIC", 137, "workspace.x86.ultimate.2xlarge4", catalog.UBUNTU22, 100, (200,),
            drift=(_d(9, "IMAGE_ID"), _d(4, "PRODUCT_ID"), _d(3, "IMAGE_ID", "DISK_SIZE")),
            description="Developers; more than 100 desktops, so listing them takes pages"),
    _Recipe("hr-win10", "STATIC", 30, "workspace.x86.general.large2", catalog.WIN10, 80, (50,),
            drift=(_d(6, "PRODUCT_ID"),), description="HR; package drift only"),
    _Recipe("design-gpu-win11", "STATIC", 12, "workspace.x86.gpu.g6.2xlarge4", catalog.WIN11, 120, (500,),
            drift=(_d(5, "IMAGE_ID"),), description="Designers on GPU desktops; image drift only"),
    _Recipe("callcenter-win10", "DYNAMIC", 40, "workspace.x86.general.large2", catalog.WIN10, 80, (40,),
            drift=(_d(7, "DISK_NUM"),), description="Call centre; data-disk count drift only"),
    _Recipe("analytics-win11", "STATIC", 18, "workspace.x86.ultimate.xlarge4", catalog.WIN11, 100, (300,),
            drift=(_d(4, "DISK_SIZE"),), description="Analysts; disk capacity drift only"),
    _Recipe("sales-win11", "DYNAMIC", 36, _GEN2, catalog.WIN11, 80, (60,),
            drift=(_d(3, "PRODUCT_ID", "IMAGE_ID"), _d(2, *KINDS), _d(3, "DISK_NUM", "DISK_SIZE"),
                   _d(2, "IMAGE_ID")),
            description="Sales; desktops drifted in several ways at once"),
    _Recipe("lab-a", "DYNAMIC", 8, "workspace.x86.general.large2", catalog.UBUNTU22, 80, (),
            drift=(_d(1, "IMAGE_ID"),), description="Teaching lab A (Linux)"),
    _Recipe("LAB-A", "STATIC", 6, "workspace.x86.general.large2", catalog.WIN10, 80, (),
            description="Teaching lab A (Windows); its name differs from lab-a only by case"),
    _Recipe("support-ubuntu20", "DYNAMIC", 15, _GEN2, catalog.UBUNTU20, 80, (100,),
            drift=(_d(2, "PRODUCT_ID"), _d(1, "DISK_SIZE")), in_maintenance_mode=True,
            description="Support; in maintenance mode"),
    _Recipe("training-win10", "DYNAMIC", 0, "workspace.x86.general.large2", catalog.WIN10, 80, (),
            description="Training room; no desktops yet"),
    _Recipe("qa-win11", "STATIC", 20, _GEN2, catalog.WIN11, 80, (100, 100),
            drift=(_d(2, "IMAGE_ID", "DISK_NUM"), _d(2, "PRODUCT_ID", "DISK_SIZE"), _d(1, "IMAGE_ID")),
            description="QA; two data disks per desktop"),
)  # fmt: skip


@dataclass
class EmulatorData:
    """Projects, pools and desktops; mutate freely in tests, ``reset()`` restores the seeded set.

    ``fleet`` is ``None`` for the demo set, else the ``FleetSpec`` it was generated from; the first
    project is always the home one (the configured project id, named after the configured region).
    """

    #: Seed of the demo set (a generated fleet carries its own, ``FleetSpec.seed``).
    seed: int
    pools: list[Pool] = field(default_factory=list)
    desktops: dict[str, list[Desktop]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    projects: list[Project] = field(default_factory=list)
    fleet: FleetSpec | None = None
    home_project_id: str = DEMO_PROJECT_ID
    home_region: str = DEMO_REGION
    #: What ``reset()`` rebuilds (the set it was made with, whatever ``generate`` did since).
    configured: FleetSpec | None = field(default=None, repr=False)
    #: Pool id → its place in ``pools``: a hint, checked on every use (tests edit ``pools`` freely).
    _where: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    #: Desktop id → its pool's id: a hint like ``_where``.
    _home_of: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def demo(cls, seed: int, *, project_id: str = DEMO_PROJECT_ID, region: str = DEMO_REGION) -> EmulatorData:
        data = cls(seed=seed, home_project_id=project_id, home_region=region)
        data.reset()
        return data

    @classmethod
    def generated(
        cls,
        spec: FleetSpec,
        *,
        project_id: str = DEMO_PROJECT_ID,
        region: str = DEMO_REGION,
        demo_seed: int = DEMO_DATA_SEED,
    ) -> EmulatorData:
        """A generated fleet: ``spec.pools`` pools in each of ``spec.projects`` projects."""
        data = cls(seed=demo_seed, home_project_id=project_id, home_region=region, configured=spec)
        data.reset()
        return data

    @classmethod
    def for_config(cls, config: EmulatorConfig) -> EmulatorData:
        """The data set the configuration asks for: its fleet, else the demo set."""
        if config.fleet is not None:
            return cls.generated(
                config.fleet, project_id=config.project_id, region=config.region, demo_seed=config.data_seed
            )
        return cls.demo(config.data_seed, project_id=config.project_id, region=config.region)

    def reset(self) -> None:
        """Rebuild the data set it was made with, in place (the same seed gives the same data)."""
        self.generate(self.configured)

    def generate(self, spec: FleetSpec | None) -> None:
        """Replace the data in place with a generated fleet (``None``: the demo set)."""
        home = Project(self.home_project_id, self.home_region, description="pooldrift emulator project")
        if spec is None:
            projects = [home]
            pools, desktops = _build_demo(self.seed, home.id)
        else:
            projects, pools, desktops = build_fleet(spec, home)
        with self.lock:
            self.fleet = spec
            self.projects[:] = projects
            self.pools[:] = pools
            self.desktops.clear()
            self.desktops.update(desktops)

    def summary(self) -> dict[str, Any]:
        """What the control API shows: the fleet it was generated from, and what each project holds."""
        with self.lock:
            counts: dict[str, int] = dict.fromkeys((p.id for p in self.projects), 0)
            for pool in self.pools:
                key = self.project_of(pool)
                counts[key] = counts.get(key, 0) + 1
            return {
                "fleet": self.fleet.to_dict() if self.fleet is not None else None,
                "projects": [{"id": p.id, "name": p.name, "pools": counts[p.id]} for p in self.projects],
                "pools": len(self.pools),
                "desktops": sum(len(d) for d in self.desktops.values()),
            }

    # -- projects ----------------------------------------------------------------------------

    def project(self, project_id: str) -> Project | None:
        with self.lock:
            return next((p for p in self.projects if p.id == project_id), None)

    def project_of(self, pool: Pool) -> str:
        return pool.project_id or self.home_project_id

    def pools_of(self, project_id: str) -> list[Pool]:
        """The project's pools, in order (a new list)."""
        with self.lock:
            return [p for p in self.pools if (p.project_id or self.home_project_id) == project_id]

    # -- pools and desktops ------------------------------------------------------------------

    def pool(self, pool_id: str, project_id: str | None = None) -> Pool | None:
        """The pool with this id (in this project, when given)."""
        key = pool_id.lower()
        with self.lock:
            at = self._where.get(key)
            if at is not None and at < len(self.pools) and self.pools[at].id == key:
                found: Pool | None = self.pools[at]
            else:
                # a fleet has thousands of pools: rebuild the hint rather than scan on every request
                self._where = {}
                for index, pool in enumerate(self.pools):
                    self._where.setdefault(pool.id, index)
                at = self._where.get(key)
                found = self.pools[at] if at is not None else None
        if found is not None and project_id is not None and self.project_of(found) != project_id:
            return None
        return found

    def pool_named(self, name: str) -> Pool:
        """The pool with exactly this name (case-sensitive; the first in any project), else ``KeyError``."""
        with self.lock:
            for p in self.pools:
                if p.name == name:
                    return p
        raise KeyError(name)

    def desktops_of(self, pool_id: str) -> list[Desktop]:
        """The pool's desktops (the live list: mutate it to change what the API answers)."""
        with self.lock:
            return self.desktops.setdefault(pool_id.lower(), [])

    def drifted(self, pool_id: str, kind: str) -> list[Desktop]:
        """Desktops of the pool drifted in ``kind`` (``PRODUCT_ID``, ``IMAGE_ID``, ...)."""
        pool = self.pool(pool_id)
        if pool is None:
            return []
        return [d for d in self.desktops_of(pool_id) if kind in drift_of(d, pool)]

    def statics(self, pool_id: str) -> dict[str, int]:
        """The inconsistent-statics answer: per kind, how many desktops differ."""
        counts = dict.fromkeys(KINDS, 0)
        with self.lock:
            pool = self.pool(pool_id)
            if pool is not None:
                for desktop in self.desktops_of(pool.id):
                    for kind in drift_of(desktop, pool):
                        counts[kind] += 1
        return {kind.lower(): count for kind, count in counts.items()}

    def add_pool(self, pool: Pool, desktops: Iterable[Desktop] = ()) -> None:
        """Add a pool (to the home project unless it names its own) with its desktops."""
        with self.lock:
            if not pool.project_id:
                pool.project_id = self.home_project_id
            self.pools.append(pool)
            self.desktops[pool.id] = list(desktops)

    def set_drift(self, pool_id: str, kind: str, count: int) -> dict[str, int]:
        """Exactly ``count`` desktops of the pool drifted in ``kind`` (0: all back in line for it),
        its other kinds unchanged; the counts the API now answers. ``KeyError``: no such pool;
        ``ValueError``: a bad kind or count. Also ``POST /_emulator/pools/{pool_id}/drift``."""
        kind = changes.parse_kind(kind)
        with self.lock:
            pool = self.pool(pool_id)
            if pool is None:
                raise KeyError(pool_id)
            members = self.desktops_of(pool.id)
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= len(members):
                raise ValueError(
                    f"count must be a whole number from 0 to {len(members)} (the pool's desktops)"
                )
            drifted = [d for d in members if kind in drift_of(d, pool)]
            for desktop in drifted[count:]:
                changes.set_kind(desktop, pool, kind, drifted=False, now=drift_of(desktop, pool))
            in_line = [d for d in members if kind not in drift_of(d, pool)]
            for desktop in in_line[: max(0, count - len(drifted))]:
                changes.set_kind(desktop, pool, kind, drifted=True, now=drift_of(desktop, pool))
            return self.statics(pool.id)

    def create_pool(
        self, name: str, desktops: int = 10, *, pool_id: str | None = None, **config: Any
    ) -> Pool:
        """Add a pool of ``desktops`` desktops, all in line with it; ``config``: ``type``,
        ``product_id``, ``image_id``, ``root_size``, ``data_sizes``. Also ``POST /_emulator/pools``."""
        values = {**changes.NEW_POOL, **config}
        values.update(root_size=int(values["root_size"]), data_sizes=[int(v) for v in values["data_sizes"]])
        pool = Pool(id=(pool_id or str(uuid.uuid4())).lower(), name=name, **values)
        with self.lock:
            if self.pool(pool.id) is not None:
                raise ValueError(f"a pool with id {pool.id} exists")
            prefix = "".join(c for c in name.upper() if c.isalnum())[:6] or "POOL"
            self.add_pool(pool, [
                Desktop(
                    desktop_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pool.id}/{index}")),
                    computer_name=f"{prefix}{index + 1:04d}",
                    product_id=pool.product_id,
                    image_id=pool.image_id,
                    root_size=pool.root_size,
                    data_sizes=list(pool.data_sizes),
                    ip=f"10.200.{index // 250}.{index % 250 + 2}",
                )
                for index in range(desktops)
            ])  # fmt: skip
        return pool

    def desktop(self, desktop_id: str, project_id: str | None = None) -> tuple[Pool, Desktop] | None:
        """The desktop with this id and its pool (in this project, when given)."""
        key = desktop_id.lower()
        with self.lock:
            found = self._find_desktop(self._home_of.get(key), key)
            if found is None:
                # rebuild the hint rather than scan every pool on every lookup
                self._home_of = {d.desktop_id: pool_id for pool_id, ds in self.desktops.items() for d in ds}
                found = self._find_desktop(self._home_of.get(key), key)
        if found is not None and project_id is not None and self.project_of(found[0]) != project_id:
            return None
        return found

    def _find_desktop(self, pool_id: str | None, desktop_id: str) -> tuple[Pool, Desktop] | None:
        pool = self.pool(pool_id) if pool_id is not None else None
        if pool is None:
            return None
        desktop = next((d for d in self.desktops_of(pool.id) if d.desktop_id == desktop_id), None)
        return (pool, desktop) if desktop is not None else None

    def set_desktop(self, desktop_id: str, **values: Any) -> Desktop:
        """Change a desktop's state: ``login_status``, ``task_status``, ``is_freeze``, ``status``,
        ``user_name``, ``charge_mode``, ``order_id``. ``KeyError``: no such desktop; ``ValueError``: a
        field or value the vendor does not have. Also ``POST /_emulator/desktops/{desktop_id}``."""
        checked = {name: changes.desktop_value(name, value) for name, value in values.items()}
        with self.lock:
            found = self.desktop(desktop_id)
            if found is None:
                raise KeyError(desktop_id)
            desktop = found[1]
            for name, value in checked.items():
                setattr(desktop, name, value)
            return desktop

    def remove_pool(self, pool_id: str) -> bool:
        """Remove a pool and its desktops; False if there is none. Also ``DELETE /_emulator/pools/{id}``."""
        with self.lock:
            pool = self.pool(pool_id)
            if pool is None:
                return False
            self.pools.remove(pool)
            self.desktops.pop(pool.id, None)
            return True


def _build_demo(seed: int, project_id: str) -> tuple[list[Pool], dict[str, list[Desktop]]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    start = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    pools: list[Pool] = []
    desktops: dict[str, list[Desktop]] = {}
    for number, recipe in enumerate(_RECIPES):
        created = start + timedelta(days=7 * number, hours=rng.randrange(10))
        pool = Pool(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            name=recipe.name,
            type=recipe.type,
            product_id=recipe.product_id,
            image_id=recipe.image_id,
            root_size=recipe.root_size,
            data_sizes=list(recipe.data_sizes),
            availability_zone=rng.choice(("cn-north-4a", "cn-north-4b", "cn-north-4c")),
            in_maintenance_mode=recipe.in_maintenance_mode,
            description=recipe.description,
            created_time=created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            project_id=project_id,
        )
        prefix = "".join(part[:3] for part in recipe.name.split("-")[:2]).upper()
        members = [
            in_line_desktop(
                rng,
                pool,
                name=f"{prefix}{index + 1:04d}",
                created=created + timedelta(minutes=3 * index),
                ip=f"10.{number}.{index // 250}.{index % 250 + 2}",
            )
            for index in range(recipe.size)
        ]
        chosen = rng.sample(range(recipe.size), sum(count for count, _ in recipe.drift))
        for count, kinds in recipe.drift:
            for index in chosen[:count]:
                apply_drift(members[index], pool, kinds)
            chosen = chosen[count:]
        pools.append(pool)
        desktops[pool.id] = members
    return pools, desktops
