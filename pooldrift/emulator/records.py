"""What the emulator's data is made of: projects, pools and desktops, and how a desktop drifts.

Drift is computed by comparing a desktop with its pool (``drift_of``), never stored.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import catalog

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
    #: The project it belongs to ("": the data set's home project, where ``add_pool`` puts it).
    project_id: str = ""

    @classmethod
    def configured_like(cls, template: Pool, *, id: str, name: str, type: str = "DYNAMIC") -> Pool:
        """A new pool with ``template``'s package, image and disks (nothing else of it)."""
        return cls(
            id=id,
            name=name,
            type=type,
            product_id=template.product_id,
            image_id=template.image_id,
            root_size=template.root_size,
            data_sizes=list(template.data_sizes),
        )

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
    #: Overrides the login state derived from ``user_name`` (REGISTERED with a user, else
    #: UNREGISTER): ``CONNECTED`` (a user is logged in and working) or ``DISCONNECTED``.
    login_status: str | None = None
    #: The operation running on it (the vendor's ``task_status``, e.g. ``rebuilding``), "" when none.
    task_status: str = ""
    is_freeze: bool = False
    #: A periodic desktop's order (``None``: one derived from its id for a period desktop).
    order_id: str | None = None

    @property
    def login(self) -> str:
        """What ``login_status`` answers."""
        if self.login_status is not None:
            return self.login_status
        return "REGISTERED" if self.user_name else "UNREGISTER"

    @property
    def order(self) -> str:
        """What ``order_id`` answers: set for a periodic desktop only."""
        if self.charge_mode != "period":
            return ""
        if self.order_id is not None:
            return self.order_id
        return "CS" + uuid.uuid5(uuid.NAMESPACE_URL, f"order/{self.desktop_id}").hex[:20].upper()

    def volume_id(self, index: int) -> str:
        """The id of its disk ``index`` (0: the system disk), as the desktop list answers it."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.desktop_id}/{index}"))

    def attach_user_infos(self, os_type: str) -> list[dict[str, Any]]:
        """``AttachInstancesUserInfo`` of its one user (Windows users are ``users``, Linux ``default``)."""
        if not self.user_name:
            return []
        return [
            {
                "user_id": uuid.uuid5(uuid.NAMESPACE_URL, f"user/{self.user_name}").hex,
                "user_name": self.user_name,
                "user_group": "users" if os_type in ("", "Windows") else "default",
                "type": "USER",
            }
        ]

    def to_api(self, pool: Pool) -> dict[str, Any]:
        """The desktop as ``PoolDesktopsDetailInfo``, ``inconsistent_types`` computed (package and
        image only, as the vendor documents the field)."""
        prod = catalog.product(self.product_id)
        volumes = [
            {
                "type": self.disk_type,
                "size": size,
                "device": f"/dev/vd{chr(ord('a') + i)}",
                "id": self.volume_id(i),
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
            "task_status": self.task_status,
            "in_maintenance_mode": pool.in_maintenance_mode,
            "created": self.created,
            "security_groups": [{"id": "3b7d9f1e-2a4c-4e6f-8b0d-1f3a5c7e9b2d", "name": "workspace-default"}],
            "login_status": self.login,
            "user_name": self.user_name or "",
            "attach_user_infos": self.attach_user_infos(image.os_type),
            "is_freeze": self.is_freeze,
            "order_id": self.order,
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
class Project:
    """An IAM project: a region's own (named after it) or a subproject (``region_name``)."""

    id: str
    name: str
    #: The region project a subproject belongs to (``None``: a region's own, under the account).
    parent_id: str | None = None
    description: str = ""
    #: IAM's ``enabled``: a disabled project is listed, and nothing in it is to be scanned.
    enabled: bool = True

    @property
    def region(self) -> str:
        return self.name.split("_", 1)[0]


USERS = ("li.wei", "wang.fang", "zhang.min", "liu.yang", "chen.jing", "yang.lei", "zhao.qiang",
          "huang.li", "zhou.jie", "wu.tao", "xu.na", "sun.hao", "ma.lin", "zhu.yan", "hu.bo")  # fmt: skip
STATUSES = ("ACTIVE",) * 8 + ("SHUTOFF",) * 2 + ("ERROR",)


def apply_drift(desktop: Desktop, pool: Pool, kinds: frozenset[str]) -> None:
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


def in_line_desktop(rng: random.Random, pool: Pool, *, name: str, created: datetime, ip: str) -> Desktop:
    """A desktop exactly as its pool says, with a random status, user and charging (the same
    draws, in the same order, for the demo set and a generated fleet: both stay reproducible)."""
    return Desktop(
        desktop_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        computer_name=name,
        product_id=pool.product_id,
        image_id=pool.image_id,
        root_size=pool.root_size,
        data_sizes=list(pool.data_sizes),
        status=rng.choice(STATUSES),
        user_name=rng.choice(USERS) if rng.random() < 0.7 else None,
        charge_mode="period" if rng.random() < 0.25 else "on_demand",
        created=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ip=ip,
    )
