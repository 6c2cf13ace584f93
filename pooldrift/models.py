"""Typed payloads of the Workspace API and the drift results built from them.

Upstream models ignore unknown fields (the vendor adds fields freely); result models are
what the CLI prints as ``--json`` and what the fronts build on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field


class InconsistentType(StrEnum):
    """The four ways a desktop can differ from its pool; the values are the wire form."""

    PRODUCT_ID = "PRODUCT_ID"
    IMAGE_ID = "IMAGE_ID"
    DISK_NUM = "DISK_NUM"
    DISK_SIZE = "DISK_SIZE"

    @classmethod
    def parse(cls, value: str) -> InconsistentType:
        """Accept every casing the vendor uses (``image_id``, ``IMAGE_ID``, ``IMAGE``)."""
        key = value.strip().upper()
        aliases = {"PRODUCT": "PRODUCT_ID", "IMAGE": "IMAGE_ID"}
        return cls(aliases.get(key, key))

    @property
    def field(self) -> str:
        """The name of the matching count in the inconsistent-statics answer."""
        return self.value.lower()

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def meaning(self) -> str:
        return _LABELS[self][1]


_LABELS: dict[InconsistentType, tuple[str, str]] = {
    InconsistentType.PRODUCT_ID: (
        "Package (product)",
        "desktops whose package (product id, i.e. CPU/memory flavor) differs from the pool's",
    ),
    InconsistentType.IMAGE_ID: (
        "Image",
        "desktops whose system image differs from the pool's image",
    ),
    InconsistentType.DISK_NUM: (
        "Data-disk count",
        "desktops whose number of data disks differs from the pool's configuration",
    ),
    InconsistentType.DISK_SIZE: (
        "Disk capacity",
        "desktops whose total disk capacity differs from the pool's configuration",
    ),
}


class _Upstream(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class InconsistentStatics(_Upstream):
    """The body of ``GET .../desktop-pools/{pool_id}/inconsistent-statics``."""

    product_id: int = Field(ge=0, description="Desktops whose package differs from the pool's.")
    image_id: int = Field(ge=0, description="Desktops whose image differs from the pool's.")
    disk_num: int = Field(ge=0, description="Desktops whose data-disk count differs.")
    disk_size: int = Field(ge=0, description="Desktops whose total disk capacity differs.")


class Volume(_Upstream):
    type: str | None = Field(default=None, description="Disk type, e.g. SAS or SSD.")
    size: int | None = Field(default=None, description="Size in GB.")


class PoolProduct(_Upstream):
    product_id: str | None = Field(default=None, description="Package id of the pool.")
    flavor_id: str | None = None
    cpu: str | None = None
    memory: str | None = None
    descriptions: str | None = None


class DesktopPool(_Upstream):
    """A desktop pool as the list and detail APIs return it."""

    id: str = Field(description="Pool id (UUID).")
    name: str = Field(description="Pool name.")
    type: str | None = Field(default=None, description="DYNAMIC or STATIC.")
    status: str | None = Field(default=None, description="Pool status, e.g. STEADY.")
    desktop_count: int | None = Field(default=None, description="Desktops in the pool.")
    desktop_used: int | None = Field(default=None, description="Desktops assigned to users.")
    availability_zone: str | None = None
    product: PoolProduct | None = None
    image_id: str | None = Field(default=None, description="Image the pool's desktops use.")
    image_name: str | None = None
    root_volume: Volume | None = None
    data_volumes: list[Volume] = Field(default_factory=list)
    enterprise_project_id: str | None = None
    in_maintenance_mode: bool | None = None
    created_time: str | None = None

    @property
    def product_id(self) -> str | None:
        return self.product.product_id if self.product else None


class PoolList(_Upstream):
    total_count: int = 0
    desktop_pools: list[DesktopPool] = Field(default_factory=list)


class PoolDesktop(_Upstream):
    """A desktop of a pool, with the ways it differs from the pool's configuration."""

    desktop_id: str
    computer_name: str | None = None
    status: str | None = None
    product_id: str | None = None
    root_volume: Volume | None = None
    data_volumes: list[Volume] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    inconsistent_types: list[str] = Field(default_factory=list)
    user_name: str | None = None

    @property
    def image_id(self) -> str | None:
        return self.metadata.get("metering.image_id")

    @property
    def drift(self) -> list[InconsistentType]:
        """The parsed ``inconsistent_types``; unknown values are dropped."""
        kinds: list[InconsistentType] = []
        for raw in self.inconsistent_types:
            try:
                kinds.append(InconsistentType.parse(raw))
            except ValueError:
                continue
        return kinds


class PoolDesktopPage(_Upstream):
    total_count: int = 0
    pool_desktops: list[PoolDesktop] = Field(default_factory=list)


class PoolDesktops(BaseModel):
    """Desktops of a pool, possibly capped: ``total_count`` is how many matched upstream."""

    pool_id: str
    inconsistent_type: InconsistentType | None = None
    total_count: int = Field(description="How many desktops matched upstream.")
    desktops: list[PoolDesktop] = Field(description="The desktops fetched (at most the cap).")

    kind_totals: dict[InconsistentType, int] = Field(
        default_factory=dict,
        description="Drifted desktops only: how many upstream reports for each kind (they overlap).",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def truncated(self) -> bool:
        return self.total_count > len(self.desktops)


def merge_drift_listings(
    pool_id: str, listings: Sequence[PoolDesktops], *, max_items: int | None = None
) -> PoolDesktops:
    """The filtered listings of one pool (one per kind) as one list of drifted desktops; pure.

    Each desktop appears once, its ``inconsistent_types`` the union of its own and of every
    listing it came from (in case upstream leaves the field empty), sorted by computer name.
    When a listing was cut short, ``total_count`` is a lower bound: the largest per-kind total.
    """
    order = list(InconsistentType)
    kinds: dict[str, set[InconsistentType]] = {}
    first: dict[str, PoolDesktop] = {}
    for listing in listings:
        for desktop in listing.desktops:
            first.setdefault(desktop.desktop_id, desktop)
            found = kinds.setdefault(desktop.desktop_id, set(desktop.drift))
            if listing.inconsistent_type is not None:
                found.add(listing.inconsistent_type)
    desktops = [
        first[key].model_copy(
            update={"inconsistent_types": [k.value for k in sorted(kinds[key], key=order.index)]}
        )
        for key in first
        if kinds[key]
    ]
    desktops.sort(key=lambda d: ((d.computer_name or "").lower(), d.desktop_id))
    totals = {x.inconsistent_type: x.total_count for x in listings if x.inconsistent_type is not None}
    total = len(desktops)
    if any(x.truncated for x in listings):
        total = max(total, *totals.values())
    return PoolDesktops(
        pool_id=pool_id,
        total_count=total,
        desktops=desktops if max_items is None else desktops[:max_items],
        kind_totals=totals,
    )


class DriftReport(BaseModel):
    """The drift counts of one pool, with where and when they were fetched."""

    pool_id: str = Field(description="Pool id (UUID).")
    pool_name: str | None = Field(default=None, description="Pool name, when known.")
    desktop_count: int | None = Field(default=None, description="Desktops in the pool.")
    project_id: str = Field(description="Project the pool belongs to.")
    region: str = Field(description="Region, e.g. cn-north-4.")
    product_id: int = Field(ge=0, description=InconsistentType.PRODUCT_ID.meaning)
    image_id: int = Field(ge=0, description=InconsistentType.IMAGE_ID.meaning)
    disk_num: int = Field(ge=0, description=InconsistentType.DISK_NUM.meaning)
    disk_size: int = Field(ge=0, description=InconsistentType.DISK_SIZE.meaning)
    request_id: str | None = Field(default=None, description="Upstream X-Request-Id.")
    fetched_at: datetime = Field(description="When the counts were fetched (UTC).")

    def count(self, kind: InconsistentType) -> int:
        value: int = getattr(self, kind.field)
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted_kinds(self) -> list[InconsistentType]:
        """The kinds of drift with at least one desktop."""
        return [kind for kind in InconsistentType if self.count(kind) > 0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def consistent(self) -> bool:
        """True when no desktop differs from the pool in any of the four ways."""
        return not self.drifted_kinds

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted_desktops_at_least(self) -> int:
        """A lower bound on drifted desktops: one desktop can drift in several ways, so the
        four counts overlap and their sum is not a count of desktops."""
        return max(self.count(kind) for kind in InconsistentType)

    def summary(self) -> str:
        """One plain sentence a person or a model can quote."""
        name = self.pool_name or self.pool_id
        if self.consistent:
            of = f" All {self.desktop_count} desktops" if self.desktop_count is not None else " All desktops"
            return f"Pool {name} is consistent.{of} match its package, image and disks."
        parts = [f"{self.count(k)} {_PLURAL[k]}" for k in self.drifted_kinds]
        total = f" of {self.desktop_count}" if self.desktop_count is not None else ""
        return (
            f"Pool {name} has drifted: at least {self.drifted_desktops_at_least}{total} desktops "
            f"differ from its configuration ({', '.join(parts)})."
        )


_PLURAL = {
    InconsistentType.PRODUCT_ID: "with a different package",
    InconsistentType.IMAGE_ID: "with a different image",
    InconsistentType.DISK_NUM: "with a different data-disk count",
    InconsistentType.DISK_SIZE: "with a different disk capacity",
}


class DesktopPools(BaseModel):
    """Pools of a project, possibly capped: ``total_count`` is how many matched upstream."""

    total_count: int = Field(description="How many pools matched upstream.")
    pools: list[DesktopPool] = Field(description="The pools fetched (at most the cap).")

    @property
    def truncated(self) -> bool:
        return self.total_count > len(self.pools)


class ScanEntry(BaseModel):
    """One pool of a scan: its report, or why there is none."""

    pool_id: str
    pool_name: str
    report: DriftReport | None = None
    error: str | None = None
