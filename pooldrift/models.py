"""The drift results the fronts build on, and (re-exported) the API's answers they come from.

Result models are what the CLI prints as ``--json`` and what the MCP and Slack fronts read; the
upstream payloads live in ``pooldrift.payloads``, the kinds of drift in ``pooldrift.kinds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field, computed_field

from .kinds import InconsistentType
from .payloads import (
    DesktopPool,
    InconsistentStatics,
    PoolDesktop,
    PoolDesktopPage,
    PoolList,
    PoolProduct,
    Volume,
)

__all__ = [
    "DesktopPool",
    "DesktopPools",
    "DriftReport",
    "InconsistentStatics",
    "InconsistentType",
    "PoolDesktop",
    "PoolDesktopPage",
    "PoolDesktops",
    "PoolList",
    "PoolProduct",
    "Volume",
    "annotate_drift",
    "merge_drift_listings",
]


class PoolDesktops(BaseModel):
    """Desktops of a pool, possibly capped: ``total_count`` is how many matched upstream."""

    pool_id: str
    inconsistent_type: InconsistentType | None = None
    total_count: int | None = Field(
        description="How many desktops matched upstream (at least those fetched); null when not reported."
    )
    desktops: list[PoolDesktop] = Field(description="The desktops fetched (at most the cap).")

    kind_totals: dict[InconsistentType, int] = Field(
        default_factory=dict,
        description="Drifted desktops only: how many upstream reports for each kind (they overlap).",
    )
    unavailable_kinds: list[InconsistentType] = Field(
        default_factory=list,
        description="Kinds the endpoint cannot filter by (an older API version): which desktops "
        "drifted that way is not reported.",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def truncated(self) -> bool:
        return self.total_count is not None and self.total_count > len(self.desktops)


def merge_drift_listings(
    pool_id: str,
    listings: Sequence[PoolDesktops],
    *,
    max_items: int | None = None,
    unavailable: Sequence[InconsistentType] = (),
) -> PoolDesktops:
    """The filtered listings of one pool (one per kind) as one list of drifted desktops; pure.

    Each desktop appears once, its ``inconsistent_types`` the union of its own (package, image)
    and of every listing it came from (the only place disk drift shows), sorted by computer name.
    When a listing was cut short, ``total_count`` is a lower bound: the largest per-kind total.
    ``unavailable`` kinds (the endpoint cannot filter by them) are carried, not guessed.
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
    totals = {
        x.inconsistent_type: x.total_count
        for x in listings
        if x.inconsistent_type is not None and x.total_count is not None
    }
    total = len(desktops)
    if any(x.truncated for x in listings):
        total = max(total, *totals.values(), 0)
    return PoolDesktops(
        pool_id=pool_id,
        total_count=total,
        desktops=desktops if max_items is None else desktops[:max_items],
        kind_totals=totals,
        unavailable_kinds=sorted(set(unavailable), key=order.index),
    )


def annotate_drift(everything: PoolDesktops, drifted: PoolDesktops) -> PoolDesktops:
    """Every desktop of a listing with the kinds the merged drifted listing found for it; pure.

    A desktop reports only package and image drift itself, so a plain listing would show a
    disk-drifted desktop as in line."""
    found = {d.desktop_id: d.inconsistent_types for d in drifted.desktops}
    return everything.model_copy(
        update={
            "desktops": [
                d.model_copy(update={"inconsistent_types": found.get(d.desktop_id, d.inconsistent_types)})
                for d in everything.desktops
            ],
            "kind_totals": drifted.kind_totals,
            "unavailable_kinds": drifted.unavailable_kinds,
        }
    )


#: Appended to each count's description: what ``null`` means.
_UNKNOWN = " Null when the API did not report it (unknown, not 0)."

#: each kind with the name of its count, in the enum's order
_FIELDS: tuple[tuple[InconsistentType, str], ...] = tuple((kind, kind.field) for kind in InconsistentType)
_FIELD = dict(_FIELDS)


def _words(kinds: Sequence[InconsistentType], joiner: str) -> str:
    nouns = [k.noun for k in kinds]
    return nouns[0] if len(nouns) == 1 else f"{', '.join(nouns[:-1])} {joiner} {nouns[-1]}"


def _unreported(kinds: Sequence[InconsistentType]) -> str:
    noun = _words(kinds, "and")
    return f"{noun[0].upper()}{noun[1:]}: not reported by the API"


class DriftReport(BaseModel):
    """The drift counts of one pool, with where and when they were fetched.

    A count is ``None`` when the API did not report it: unknown, never 0. The pool is
    ``consistent`` only when all four are reported and 0; ``drifted`` when any reported one is not.
    """

    pool_id: str = Field(description="Pool id (UUID).")
    pool_name: str | None = Field(default=None, description="Pool name, when known.")
    desktop_count: int | None = Field(default=None, description="Desktops in the pool.")
    project_id: str = Field(description="Project the pool belongs to.")
    region: str = Field(description="Region, e.g. cn-north-4.")
    product_id: int | None = Field(
        default=None, ge=0, description=InconsistentType.PRODUCT_ID.meaning + _UNKNOWN
    )
    image_id: int | None = Field(default=None, ge=0, description=InconsistentType.IMAGE_ID.meaning + _UNKNOWN)
    disk_num: int | None = Field(default=None, ge=0, description=InconsistentType.DISK_NUM.meaning + _UNKNOWN)
    disk_size: int | None = Field(
        default=None, ge=0, description=InconsistentType.DISK_SIZE.meaning + _UNKNOWN
    )
    request_id: str | None = Field(default=None, description="Upstream X-Request-Id.")
    fetched_at: datetime = Field(description="When the counts were fetched (UTC).")

    def count(self, kind: InconsistentType) -> int | None:
        value: int | None = getattr(self, _FIELD[kind])
        return value

    # The derived values below are read a few times per pool when a scan ranks and totals a
    # thousand pools: they read the four fields through a fixed table, not the enum's machinery
    # (iterating InconsistentType and its ``field`` property cost ~50 µs a pool).

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted_kinds(self) -> list[InconsistentType]:
        """The kinds of drift with at least one desktop."""
        return [kind for kind, name in _FIELDS if (getattr(self, name) or 0) > 0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unreported_kinds(self) -> list[InconsistentType]:
        """The kinds whose count the API did not report (unknown, not 0)."""
        return [kind for kind, name in _FIELDS if getattr(self, name) is None]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def consistent(self) -> bool:
        """True only when all four counts are reported and 0."""
        return all(getattr(self, name) == 0 for _, name in _FIELDS)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted(self) -> bool:
        """True when some reported count is above 0."""
        return any((getattr(self, name) or 0) > 0 for _, name in _FIELDS)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted_desktops_at_least(self) -> int:
        """A lower bound on drifted desktops: one desktop can drift in several ways, so the
        counts overlap and their sum is not a count of desktops; unreported counts add nothing."""
        return max(getattr(self, name) or 0 for _, name in _FIELDS)

    def summary(self) -> str:
        """One plain sentence (two when some count is unknown) a person or a model can quote."""
        name = self.pool_name or self.pool_id
        if self.consistent:
            of = f" All {self.desktop_count} desktops" if self.desktop_count is not None else " All desktops"
            return f"Pool {name} is consistent.{of} match its package, image and disks."
        unknown = self.unreported_kinds
        if self.drifted:
            parts = [f"{self.count(k)} with a different {k.noun}" for k in self.drifted_kinds]
            total = f" of {self.desktop_count}" if self.desktop_count is not None else ""
            text = (
                f"Pool {name} has drifted: at least {self.drifted_desktops_at_least}{total} desktops "
                f"differ from its configuration ({', '.join(parts)})."
            )
            return text + (f" {_unreported(unknown)}." if unknown else "")
        if len(unknown) == len(InconsistentType):
            return f"Pool {name}: drift counts not reported by the API, so whether it drifted is unknown."
        known = [k for k in InconsistentType if k not in unknown]
        return (
            f"Pool {name}: no desktop differs in {_words(known, 'or')}. "
            f"{_unreported(unknown)}, so the pool is not known to be consistent."
        )


class DesktopPools(BaseModel):
    """Pools of a project, possibly capped: ``total_count`` is how many matched upstream."""

    total_count: int = Field(description="How many pools matched upstream.")
    pools: list[DesktopPool] = Field(description="The pools fetched (at most the cap).")

    @property
    def truncated(self) -> bool:
        return self.total_count > len(self.pools)
