"""The emulator's demo data set: pools and their desktops, with drift computed, never stored.

A desktop's ``inconsistent_types`` and a pool's statics both come from comparing the desktop with
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

#: The four kinds, in the wire form of the desktop list's filter.
KINDS: tuple[str, ...] = ("PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE")
#: What a desktop says of itself: the vendor documents only these two in its ``inconsistent_types``
#: (disk drift shows only through the filter).
OWN_KINDS: dict[str, str] = {"PRODUCT_ID": "PRODUCT", "IMAGE_ID": "IMAGE"}
#: ``charging_mode`` as the vendor documents it for a pool: 0 yearly/monthly (period), 1 on demand.
PERIOD, ON_DEMAND = "0", "1"


@dataclass
class Pool:
    """A desktop pool's configuration (what its desktops should look like)."""

    id: str
    name: str
    type: str
    product_id: str
    image_id: str
    root_size: int
    data_sizes: list[int]
    disk_type: str = "SAS"
    status: str = "STEADY"
    availability_zone: str = "cn-north-4a"
    in_maintenance_mode: bool = False
    enterprise_project_id: str = "0"
    description: str = ""
    created_time: str = "2024-01-01T00:00:00.000Z"
    charging_mode: str = ON_DEMAND

    def to_api(self, desktops: list[Desktop]) -> dict[str, Any]:
        """The pool as ``SimpleDesktopPoolInfo`` (list pools and the body of one pool)."""
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "created_time": self.created_time,
            "charging_mode": self.charging_mode,
            "desktop_count": len(desktops),
            "desktop_used": sum(1 for d in desktops if d.user_name),
            "availability_zone": self.availability_zone,
            "subnet_ids": ["7c1f2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"],
            "product": catalog.product(self.product_id).to_api(
                self.disk_type, self.root_size, self.charging_mode
            ),
            **catalog.image(self.image_id).to_api(),
            "image_id": self.image_id,
            "root_volume": {"type": self.disk_type, "size": self.root_size},
            "data_volumes": [{"type": self.disk_type, "size": s} for s in self.data_sizes],
            "security_groups": [{"id": "3b7d9f1e-2a4c-4e6f-8b0d-1f3a5c7e9b2d", "name": "workspace-default"}],
            "disconnected_retention_period": 10,
            "enable_autoscale": False,
            "status": self.status,
            "enterprise_project_id": self.enterprise_project_id,
            "in_maintenance_mode": self.in_maintenance_mode,
            "tags": [{"key": "team", "value": self.name.split("-")[0].lower()}],
            "vpc_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
        }
        return body


@dataclass
class Desktop:
    """One desktop of a pool, as it really is (which may differ from its pool)."""

    desktop_id: str
    computer_name: str
    product_id: str
    image_id: str
    root_size: int
    data_sizes: list[int]
    status: str = "ACTIVE"
    user_name: str | None = None
    charge_mode: str = "on_demand"  # or "period"
    disk_type: str = "SAS"
    created: str = "2024-01-01T00:00:00Z"
    ip: str = "192.168.0.10"

    def to_api(self, pool: Pool) -> dict[str, Any]:
        """The desktop as ``PoolDesktopsDetailInfo``, ``inconsistent_types`` computed (package and
        image only, as the vendor documents the field)."""
        prod = catalog.product(self.product_id)
        volumes = [
            {
                "type": self.disk_type,
                "size": size,
                "device": f"/dev/vd{chr(ord('a') + i)}",
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.desktop_id}/{i}")),
                "display_name": f"{self.computer_name}-{'sys' if i == 0 else f'data{i}'}",
                "create_time": self.created,
            }
            for i, size in enumerate([self.root_size, *self.data_sizes])
        ]
        image = catalog.image(self.image_id)
        return {
            "desktop_id": self.desktop_id,
            "computer_name": self.computer_name,
            "os_host_name": self.computer_name,
            "ip_addresses": [self.ip],
            "ipv4": self.ip,
            "user_list": [self.user_name] if self.user_name else [],
            "desktop_type": "POOLED",
            "metadata": {
                "metering.image_id": self.image_id,
                "metering.imagetype": "gold",
                "metering.resourcespeccode": self.product_id,
                "metering.resourcetype": "hws.resource.type.workspace.desktop",
                "os_type": image.os_type or "Windows",
                "os_bit": "64",
                "charging_mode": PERIOD if self.charge_mode == "period" else ON_DEMAND,
            },
            "flavor": {"id": prod.flavor_id, "links": []},
            "status": self.status,
            "task_status": "",
            "in_maintenance_mode": pool.in_maintenance_mode,
            "created": self.created,
            "security_groups": [{"id": "3b7d9f1e-2a4c-4e6f-8b0d-1f3a5c7e9b2d", "name": "workspace-default"}],
            "login_status": "REGISTERED" if self.user_name else "UNREGISTER",
            "user_name": self.user_name or "",
            "product_id": self.product_id,
            "root_volume": volumes[0],
            "data_volumes": volumes[1:],
            "availability_zone": pool.availability_zone,
            "product": prod.to_api(
                self.disk_type, self.root_size, PERIOD if self.charge_mode == "period" else ON_DEMAND
            ),
            "os_version": image.os_version,
            "enterprise_project_id": pool.enterprise_project_id,
            "subnet_id": "7c1f2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b",
            "inconsistent_types": [OWN_KINDS[k] for k in drift_of(self, pool) if k in OWN_KINDS],
        }


def drift_of(desktop: Desktop, pool: Pool) -> list[str]:
    """How the desktop differs from its pool, in the order of ``KINDS``."""
    kinds = []
    if desktop.product_id != pool.product_id:
        kinds.append("PRODUCT_ID")
    if desktop.image_id != pool.image_id:
        kinds.append("IMAGE_ID")
    if len(desktop.data_sizes) != len(pool.data_sizes):
        kinds.append("DISK_NUM")
    if desktop.root_size + sum(desktop.data_sizes) != pool.root_size + sum(pool.data_sizes):
        kinds.append("DISK_SIZE")
    return kinds


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

_USERS = ("li.wei", "wang.fang", "zhang.min", "liu.yang", "chen.jing", "yang.lei", "zhao.qiang",
          "huang.li", "zhou.jie", "wu.tao", "xu.na", "sun.hao", "ma.lin", "zhu.yan", "hu.bo")  # fmt: skip
_STATUSES = ("ACTIVE",) * 8 + ("SHUTOFF",) * 2 + ("ERROR",)


def _apply(desktop: Desktop, pool: Pool, kinds: frozenset[str]) -> None:
    """Make a consistent desktop differ from its pool in exactly ``kinds``."""
    if "PRODUCT_ID" in kinds:
        desktop.product_id = catalog.PRODUCT_DRIFT[pool.product_id]
    if "IMAGE_ID" in kinds:
        desktop.image_id = catalog.IMAGE_DRIFT[pool.image_id]
    num, size = "DISK_NUM" in kinds, "DISK_SIZE" in kinds
    if num and size:
        desktop.data_sizes = [*desktop.data_sizes, 50]
    elif num:
        # one more data disk, same total: split a data disk, or carve one out of the system disk
        if desktop.data_sizes:
            first = desktop.data_sizes[0]
            desktop.data_sizes = [first // 2, first - first // 2, *desktop.data_sizes[1:]]
        else:
            desktop.root_size -= 20
            desktop.data_sizes = [20]
    elif size:
        if desktop.data_sizes:
            desktop.data_sizes = [desktop.data_sizes[0] + 50, *desktop.data_sizes[1:]]
        else:
            desktop.root_size += 20


@dataclass
class EmulatorData:
    """Pools and desktops; mutate freely in tests, ``reset()`` restores the seeded demo set."""

    seed: int
    pools: list[Pool] = field(default_factory=list)
    desktops: dict[str, list[Desktop]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @classmethod
    def demo(cls, seed: int) -> EmulatorData:
        data = cls(seed=seed)
        data.reset()
        return data

    def reset(self) -> None:
        """Rebuild the seeded demo set in place (the same seed gives the same data)."""
        pools, desktops = _build(self.seed)
        with self.lock:
            self.pools[:] = pools
            self.desktops.clear()
            self.desktops.update(desktops)

    def pool(self, pool_id: str) -> Pool | None:
        key = pool_id.lower()
        with self.lock:
            return next((p for p in self.pools if p.id == key), None)

    def pool_named(self, name: str) -> Pool:
        """The pool with exactly this name (case-sensitive); ``KeyError`` if none."""
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
        return {kind.lower(): len(self.drifted(pool_id, kind)) for kind in KINDS}

    def add_pool(self, pool: Pool, desktops: Iterable[Desktop] = ()) -> None:
        with self.lock:
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

    def remove_pool(self, pool_id: str) -> bool:
        """Remove a pool and its desktops; False if there is none. Also ``DELETE /_emulator/pools/{id}``."""
        with self.lock:
            pool = self.pool(pool_id)
            if pool is None:
                return False
            self.pools.remove(pool)
            self.desktops.pop(pool.id, None)
            return True


def _build(seed: int) -> tuple[list[Pool], dict[str, list[Desktop]]]:
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
        )
        prefix = "".join(part[:3] for part in recipe.name.split("-")[:2]).upper()
        members = []
        for index in range(recipe.size):
            made = created + timedelta(minutes=3 * index)
            members.append(
                Desktop(
                    desktop_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    computer_name=f"{prefix}{index + 1:04d}",
                    product_id=pool.product_id,
                    image_id=pool.image_id,
                    root_size=pool.root_size,
                    data_sizes=list(pool.data_sizes),
                    status=rng.choice(_STATUSES),
                    user_name=rng.choice(_USERS) if rng.random() < 0.7 else None,
                    charge_mode="period" if rng.random() < 0.25 else "on_demand",
                    created=made.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    ip=f"10.{number}.{index // 250}.{index % 250 + 2}",
                )
            )
        chosen = rng.sample(range(recipe.size), sum(count for count, _ in recipe.drift))
        for count, kinds in recipe.drift:
            for index in chosen[:count]:
                _apply(members[index], pool, kinds)
            chosen = chosen[count:]
        pools.append(pool)
        desktops[pool.id] = members
    return pools, desktops
