"""The plan of a fix, read-only: for each drifted desktop of one pool, what would bring it back
in line (a rebuild onto the pool's image, a resize to its package, data disks added or
expanded), who it would disrupt and how, and what only a person can fix, and why; then the
vendor calls it would make, in batches within the vendor's limits.

A plan is a value: its id, the pool's configuration and each desktop's state it was computed
from, and a fingerprint of its actions (the calls and the pool they aim at). It expires; applying
plans again from fresh answers and refuses, sending nothing, when the fingerprint differs.
``build_plan`` is pure (tested on the vendor's answer shapes); ``plan`` reads the API for it.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..client import WorkspaceClient, gather_all
from ..errors import InvalidInputError
from ..fleet import Baseline, Difference
from ..kinds import InconsistentType
from ..listing import parse_kind
from ..payloads import DesktopPool, PoolDesktop, Volume
from ..validation import is_pool_id, shown, validate_pool_ref
from .policy import FixPolicy, load_fix_policy

__all__ = [
    "BATCH",
    "DesktopFix",
    "FixPlan",
    "ManualItem",
    "Operation",
    "PlannedDesktop",
    "VendorCall",
    "build_plan",
    "plan",
    "validate_plan_id",
]

#: the most desktops one vendor batch call takes
BATCH = 100
#: a desktop a user is working on now (the others: UNREGISTER, REGISTERED, DISCONNECTED)
LOGGED_IN = "CONNECTED"
_PLAN_ID = re.compile(r"fp_[0-9a-f]{16}")


class Operation(StrEnum):
    """The vendor's operations a fix uses (the SDK's names)."""

    REBUILD_POOL = "RebuildDesktopPool"
    REBUILD_DESKTOPS = "BatchRebuildDesktopsSystemDisk"
    RESIZE_DESKTOPS = "ResizeDesktop"
    ADD_VOLUMES = "AddVolumes"
    EXPAND_VOLUMES = "ExpandVolumes"
    NOTIFY_DESKTOPS = "SendNotifications"


Action = Literal["rebuild_system_disk", "resize", "add_data_disks", "expand_disks"]
Reason = Literal[
    "disks_never_shrink",
    "periodic_package",
    "error_state",
    "frozen",
    "maintenance",
    "task_running",
    "logged_in",
    "kind_not_allowed",
    "disks_missing",
    "not_reported",
]


class DesktopFix(BaseModel):
    """One way a desktop will be brought in line."""

    kind: InconsistentType
    action: Action
    expected: str | int | None = Field(description="What the pool says.")
    actual: str | int | None = Field(description="What the desktop has.")
    detail: str = Field(description="What will be done, in a sentence.")


class ManualItem(BaseModel):
    """A drift left for a person, and why."""

    kind: InconsistentType | None = Field(description="The kind left; null: the whole desktop.")
    reason: Reason
    why: str


class PlannedDesktop(BaseModel):
    """A drifted desktop: what will be done to it, or why nothing will."""

    desktop_id: str
    computer_name: str | None
    status: str | None
    users: list[str] = Field(description="Users assigned to it.")
    login_status: str | None
    logged_in: bool = Field(description="A user is working on it now (CONNECTED).")
    drift: list[InconsistentType] = Field(description="How it differs from its pool.")
    fixes: list[DesktopFix]
    manual: list[ManualItem]
    disruption: list[str] = Field(description="What its user will feel.")
    state: dict[str, Any] = Field(description="What the desktop was when planned.")

    @property
    def touched(self) -> bool:
        return bool(self.fixes)


class VendorCall(BaseModel):
    """One write the fix will send."""

    operation: Operation
    method: Literal["POST"] = "POST"
    path: str = Field(description="From /v2/{project_id}.")
    kind: InconsistentType | None = Field(description="The drift it fixes; null: telling users.")
    desktop_ids: list[str]
    body: dict[str, Any]


class PlanTotals(BaseModel):
    drifted: int = Field(description="Drifted desktops seen.")
    touched: int = Field(description="Desktops the fix will change.")
    logged_in_touched: int = Field(description="Of those, desktops a user is logged in to now.")
    logged_in_skipped: int = Field(description="Left alone because a user is logged in.")
    manual: int = Field(description="Desktops with drift left for a person.")
    vendor_calls: int


class FixPlan(BaseModel):
    """What fixing one pool's drift would do; a value, checked again before it is applied."""

    id: str
    pool_id: str
    pool_name: str
    project_id: str
    region: str
    created_at: datetime
    expires_at: datetime
    kinds: list[InconsistentType] = Field(description="The kinds of drift this plan covers.")
    unavailable_kinds: list[InconsistentType] = Field(
        description="Kinds this endpoint cannot list desktops by: not planned."
    )
    expected: Baseline
    pool_state: dict[str, Any] = Field(description="The pool's configuration the plan aims at.")
    policy: dict[str, Any]
    desktops: list[PlannedDesktop]
    calls: list[VendorCall]
    totals: PlanTotals
    refused: str | None = Field(description="Why the policy does not allow this fix; null: allowed.")
    before: dict[str, int | None] = Field(description="The pool's drift counts when planned, by kind.")
    fingerprint: str = Field(description="Of the calls and the pool they aim at.")

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at


def validate_plan_id(value: object) -> str:
    """A plan id as ``plan`` makes them (``fp_`` and 16 hex digits), or an ``InvalidInputError``."""
    if not isinstance(value, str) or _PLAN_ID.fullmatch(value.strip().lower()) is None:
        raise InvalidInputError(
            f"not a plan id: {shown(str(value))} (a plan id looks like fp_0123456789abcdef)", field="plan_id"
        )
    return value.strip().lower()


async def plan(
    client: WorkspaceClient,
    pool: str,
    *,
    kinds: list[InconsistentType | str] | None = None,
    policy: FixPolicy | None = None,
    include_logged_in: bool | None = None,
    now: datetime | None = None,
    plan_id: str | None = None,
) -> FixPlan:
    """The plan of fixing ``pool``'s drift (an id or a name), of ``kinds`` (default: all the
    policy allows), from the pool's configuration, its drift counts and its drifted desktops as
    the API lists them. Arguments are checked before any request."""
    ref = validate_pool_ref(pool)
    wanted = _kinds(kinds)
    chosen = policy or load_fix_policy()
    if include_logged_in is not None:
        chosen = chosen.model_copy(update={"include_logged_in": include_logged_in})
    if is_pool_id(ref):  # the pool, its drifted desktops and its counts side by side
        detail, drifted, counts = await gather_all(
            client.get_pool(ref), client.list_drifted_desktops(ref), client.inconsistent_statics(ref)
        )
    else:
        detail = await client.resolve_pool(ref)
        drifted, counts = await gather_all(
            client.list_drifted_desktops(detail.id), client.inconsistent_statics(detail.id)
        )
    return build_plan(
        detail,
        drifted.desktops,
        before={k.field: counts.count(k) for k in InconsistentType},
        plan_id=plan_id,
        kinds=wanted,
        policy=chosen,
        project_id=await client.get_project_id(),
        region=client.region,
        unavailable=drifted.unavailable_kinds,
        now=now,
    )


def _kinds(kinds: list[InconsistentType | str] | None) -> list[InconsistentType]:
    if not kinds:
        return list(InconsistentType)
    found: list[InconsistentType] = []
    for value in kinds:
        kind = parse_kind(value)
        if kind is not None and kind not in found:
            found.append(kind)
    return [k for k in InconsistentType if k in found]


def build_plan(
    pool: DesktopPool,
    desktops: list[PoolDesktop],
    *,
    kinds: list[InconsistentType],
    policy: FixPolicy,
    project_id: str,
    region: str,
    unavailable: list[InconsistentType] | None = None,
    now: datetime | None = None,
    plan_id: str | None = None,
    before: dict[str, int | None] | None = None,
) -> FixPlan:
    """The plan for ``desktops`` (the pool's drifted ones, each with its drift) of ``pool``;
    ``before``: its drift counts when planned, by field (``image_id`` …)."""
    created = now or datetime.now(UTC)
    expected = Baseline.of(pool)
    planned = [_desktop(pool, expected, d, kinds, policy) for d in desktops if set(d.drift) & set(kinds)]
    planned.sort(key=lambda p: ((p.computer_name or "").lower(), p.desktop_id))
    calls = _calls(pool, planned, desktops, policy, project_id)
    touched = [p for p in planned if p.touched]
    refused = None
    if len(touched) > policy.max_desktops:
        refused = (
            f"this fix would touch {len(touched)} desktops and the policy allows {policy.max_desktops} "
            "(POOLDRIFT_FIX_MAX_DESKTOPS): narrow it to one kind of drift, or raise the limit"
        )
    pool_state = _pool_state(pool)
    return FixPlan(
        id=plan_id or f"fp_{secrets.token_hex(8)}",
        pool_id=pool.id,
        pool_name=pool.name,
        project_id=project_id,
        region=region,
        created_at=created,
        expires_at=created + timedelta(minutes=policy.plan_minutes),
        kinds=kinds,
        unavailable_kinds=[k for k in (unavailable or []) if k in kinds],
        expected=expected,
        pool_state=pool_state,
        policy={
            "max_desktops": policy.max_desktops,
            "include_logged_in": policy.include_logged_in,
            "delay_minutes": policy.delay_minutes,
            "message": policy.message,
            "kinds": [k.value for k in policy.kinds],
        },
        desktops=planned,
        calls=calls,
        totals=PlanTotals(
            drifted=len(planned),
            touched=len(touched),
            logged_in_touched=sum(1 for p in touched if p.logged_in),
            logged_in_skipped=sum(1 for p in planned if any(m.reason == "logged_in" for m in p.manual)),
            manual=sum(1 for p in planned if p.manual),
            vendor_calls=len(calls),
        ),
        refused=refused,
        before=before or {},
        fingerprint=fingerprint(pool_state, calls),
    )


def fingerprint(pool_state: dict[str, Any], calls: list[VendorCall]) -> str:
    """What must be the same when the plan is applied: the pool and every call, canonical JSON."""
    actions = [c.model_dump(mode="json") for c in calls]
    text = json.dumps({"pool": pool_state, "calls": actions}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _pool_state(pool: DesktopPool) -> dict[str, Any]:
    return {
        "id": pool.id,
        "product_id": pool.product_id,
        "image_id": pool.image_id,
        "root_volume": _volume(pool.root_volume),
        "data_volumes": [_volume(v) for v in pool.data_volumes],
        "in_maintenance_mode": pool.in_maintenance_mode,
    }


def _volume(volume: Volume | None) -> dict[str, Any] | None:
    return None if volume is None else {"id": volume.id, "type": volume.type, "size": volume.size}


def _state(d: PoolDesktop) -> dict[str, Any]:
    return {
        "status": d.status,
        "login_status": d.login_status,
        "task_status": d.task_status or None,
        "in_maintenance_mode": d.in_maintenance_mode,
        "is_freeze": d.is_freeze,
        "periodic": d.periodic,
        "product_id": d.product_id,
        "image_id": d.image_id,
        "root_volume": _volume(d.root_volume),
        "data_volumes": [_volume(v) for v in d.data_volumes],
        "drift": [k.value for k in d.drift],
    }


def _blocked(d: PoolDesktop, pool: DesktopPool) -> ManualItem | None:
    """Why nothing at all may be done to ``d`` now, if anything."""
    if (d.status or "").upper() == "ERROR":
        return ManualItem(kind=None, reason="error_state", why="the desktop is in ERROR: repair it first")
    if d.is_freeze:
        return ManualItem(kind=None, reason="frozen", why="the desktop is frozen (an unpaid or held account)")
    if d.in_maintenance_mode or pool.in_maintenance_mode:
        return ManualItem(kind=None, reason="maintenance", why="the desktop is in maintenance mode")
    if d.task_status:
        return ManualItem(
            kind=None,
            reason="task_running",
            why=f"an operation is running on it ({shown(d.task_status)}): plan again when it ends",
        )
    return None


def _desktop(
    pool: DesktopPool, expected: Baseline, d: PoolDesktop, kinds: list[InconsistentType], policy: FixPolicy
) -> PlannedDesktop:
    logged_in = (d.login_status or "").upper() == LOGGED_IN
    drift = [k for k in d.drift if k in kinds]
    fixes: list[DesktopFix] = []
    manual: list[ManualItem] = []
    blocked = _blocked(d, pool)
    if blocked is not None:
        manual.append(blocked)
    elif logged_in and not policy.include_logged_in:
        manual.append(
            ManualItem(
                kind=None,
                reason="logged_in",
                why="a user is logged in now: skipped (POOLDRIFT_FIX_INCLUDE_LOGGED_IN includes it)",
            )
        )
    else:
        for kind in drift:
            if kind not in policy.kinds:
                manual.append(
                    ManualItem(
                        kind=kind,
                        reason="kind_not_allowed",
                        why=f"fixing {kind.noun} drift is off (POOLDRIFT_FIX_KINDS)",
                    )
                )
                continue
            found = _fix(kind, pool, Difference.of(kind, expected, d), d, drift)
            if isinstance(found, DesktopFix):
                fixes.append(found)
            elif found is not None:
                manual.append(found)
    return PlannedDesktop(
        desktop_id=d.desktop_id,
        computer_name=d.computer_name,
        status=d.status,
        users=d.users,
        login_status=d.login_status,
        logged_in=logged_in,
        drift=drift,
        fixes=fixes,
        manual=manual,
        disruption=_disruption(fixes),
        state=_state(d),
    )


def _disruption(fixes: list[DesktopFix]) -> list[str]:
    actions = {f.action for f in fixes}
    felt = []
    if "rebuild_system_disk" in actions:
        felt.append("system disk erased")
    if actions & {"rebuild_system_disk", "resize"}:
        felt.append("restarts")
    if actions & {"add_data_disks", "expand_disks"}:
        felt.append("disks grow (data kept)")
    return felt


def _fix(
    kind: InconsistentType, pool: DesktopPool, diff: Difference, d: PoolDesktop, drift: list[InconsistentType]
) -> DesktopFix | ManualItem | None:
    """The fix of ``d``'s drift in ``kind`` (``diff``: the drill-down's expected against actual)."""
    if kind is InconsistentType.IMAGE_ID:
        if not pool.image_id:
            return ManualItem(kind=kind, reason="not_reported", why="the pool's image is not reported")
        return DesktopFix(
            kind=kind,
            action="rebuild_system_disk",
            expected=diff.expected,
            actual=diff.actual,
            detail="rebuild the system disk onto the pool's image",
        )
    if kind is InconsistentType.PRODUCT_ID:
        if not pool.product_id:
            return ManualItem(kind=kind, reason="not_reported", why="the pool's package is not reported")
        if d.periodic:
            return ManualItem(
                kind=kind,
                reason="periodic_package",
                why="a yearly/monthly desktop changes package through a change order (a purchase)",
            )
        return DesktopFix(
            kind=kind,
            action="resize",
            expected=diff.expected,
            actual=diff.actual,
            detail=f"resize to package {pool.product_id}",
        )
    wanted = [v.size for v in pool.data_volumes]
    have = [v.size for v in d.data_volumes]
    if diff.expected is None or diff.actual is None or None in wanted or None in have:
        return ManualItem(kind=kind, reason="not_reported", why="a data disk's size is not reported")
    if kind is InconsistentType.DISK_NUM:
        if len(have) > len(wanted):
            return ManualItem(
                kind=kind,
                reason="disks_never_shrink",
                why=f"it has {len(have)} data disks and the pool {len(wanted)}: disks are never removed",
            )
        missing = wanted[len(have) :]
        if not missing:
            return None
        sizes = ", ".join(f"{s} GB" for s in missing)
        return DesktopFix(
            kind=kind,
            action="add_data_disks",
            expected=diff.expected,
            actual=diff.actual,
            detail=f"add {len(missing)} data disk{'s' if len(missing) != 1 else ''} ({sizes})",
        )
    return _expansion(pool, diff, d, drift)


def _expansion(
    pool: DesktopPool, diff: Difference, d: PoolDesktop, drift: list[InconsistentType]
) -> DesktopFix | ManualItem | None:
    kind = InconsistentType.DISK_SIZE
    pairs = _grown(pool, d)
    if pairs is None:
        more = len(d.data_volumes) > len(pool.data_volumes)
        return ManualItem(
            kind=kind,
            reason="disks_never_shrink",
            why="it has more data disks than the pool: disks are never removed"
            if more
            else "a disk of it is larger than the pool's: disks never shrink",
        )
    missing = len(pool.data_volumes) - len(d.data_volumes)
    if not pairs:
        if missing > 0 and InconsistentType.DISK_NUM in drift:
            return None  # the disks the count fix adds make up the capacity
        if missing > 0:
            return ManualItem(
                kind=kind,
                reason="disks_missing",
                why="the data disks it lacks make up the capacity: fix the data-disk count with it",
            )
        return ManualItem(
            kind=kind,
            reason="not_reported",
            why="its capacity differs, but no disk of it is smaller than the pool's",
        )
    grows = ", ".join(f"{name} {old} → {new} GB" for name, _, old, new in pairs)
    return DesktopFix(
        kind=kind,
        action="expand_disks",
        expected=diff.expected,
        actual=diff.actual,
        detail=f"expand {grows}",
    )


def _grown(pool: DesktopPool, d: PoolDesktop) -> list[tuple[str, str, int, int]] | None:
    """The disks to expand: (name, volume id, size, new size); None when one is larger than the
    pool's or a disk's id or size is unknown."""
    pairs: list[tuple[str, Volume | None, Volume]] = []
    if pool.root_volume is not None and pool.root_volume.size is not None:
        pairs.append(("system disk", d.root_volume, pool.root_volume))
    if len(d.data_volumes) > len(pool.data_volumes):
        return None
    pairs += [
        (f"data disk {i + 1}", mine, theirs)
        for i, (mine, theirs) in enumerate(zip(d.data_volumes, pool.data_volumes, strict=False))
    ]
    grown = []
    for name, mine, theirs in pairs:
        if mine is None or mine.size is None or theirs.size is None:
            return None
        if mine.size > theirs.size:
            return None
        if mine.size < theirs.size:
            if not mine.id:
                return None
            grown.append((name, mine.id, mine.size, theirs.size))
    return grown


def _image_type(pool: DesktopPool) -> str:
    """The rebuilds' ``image_type`` (gold, private or market) from the kind of the pool's image."""
    kind = (pool.image_resource_type or "").lower()
    if "marketplace" in kind:
        return "market"
    return "private" if "private" in kind else "gold"


def _batches(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]


def _calls(
    pool: DesktopPool,
    planned: list[PlannedDesktop],
    seen: list[PoolDesktop],
    policy: FixPolicy,
    project_id: str,
) -> list[VendorCall]:
    """The writes, in the order they are sent: users told first, then image, package, disks."""
    base = f"/v2/{project_id}"
    by_id = {d.desktop_id: d for d in seen}

    def fixing(kind: InconsistentType) -> list[str]:
        return [p.desktop_id for p in planned if any(f.kind is kind for f in p.fixes)]

    def call(
        operation: Operation, path: str, kind: InconsistentType | None, ids: list[str], body: dict[str, Any]
    ) -> VendorCall:
        return VendorCall(operation=operation, path=base + path, kind=kind, desktop_ids=ids, body=body)

    told = [p.desktop_id for p in planned if p.touched and p.logged_in]
    calls = [
        call(
            Operation.NOTIFY_DESKTOPS,
            "/desktops/notifications",
            None,
            ids,
            {"desktop_ids": ids, "notifications": policy.message},
        )
        for ids in _batches(told)
    ]
    image = fixing(InconsistentType.IMAGE_ID)
    every = sorted(d.desktop_id for d in seen if InconsistentType.IMAGE_ID in d.drift)
    notice = {"image_type": _image_type(pool), "delay_time": policy.delay_minutes, "message": policy.message}
    if image and sorted(image) == every:
        # every desktop whose image differs, and only those: the pool's own rebuild, is_fix
        body = {"image_id": pool.image_id, "is_fix": True, **notice}
        calls.append(
            call(
                Operation.REBUILD_POOL,
                f"/desktop-pools/{pool.id}/rebuild",
                InconsistentType.IMAGE_ID,
                sorted(image),
                body,
            )
        )
    else:
        calls += [
            call(Operation.REBUILD_DESKTOPS, "/desktops/rebuild", InconsistentType.IMAGE_ID, ids,
                 {"desktop_ids": ids, "image_id": pool.image_id, **notice})
            for ids in _batches(image)
        ]  # fmt: skip
    calls += [
        call(Operation.RESIZE_DESKTOPS, "/desktops/resize", InconsistentType.PRODUCT_ID, ids, {
            "desktops": [{"desktop_id": i} for i in ids],
            "product_id": pool.product_id,
            "mode": "STOP_DESKTOP",
            "desktop_pool_id": pool.id,
        })
        for ids in _batches(fixing(InconsistentType.PRODUCT_ID))
    ]  # fmt: skip
    disk_type = (pool.data_volumes[0].type if pool.data_volumes else None) or (
        pool.root_volume.type if pool.root_volume else None
    )

    def added(desktop_id: str) -> dict[str, Any]:
        have = len(by_id[desktop_id].data_volumes)
        volumes = [{"type": v.type or disk_type, "size": v.size} for v in pool.data_volumes[have:]]
        return {"desktop_id": desktop_id, "volumes": volumes}

    calls += [
        call(Operation.ADD_VOLUMES, "/volumes", InconsistentType.DISK_NUM, ids,
             {"desktop_volumes": [added(i) for i in ids]})
        for ids in _batches(fixing(InconsistentType.DISK_NUM))
    ]  # fmt: skip

    def grown(desktop_id: str) -> list[dict[str, Any]]:
        return [
            {"desktop_id": desktop_id, "volume_id": volume_id, "new_size": new_size}
            for _, volume_id, _, new_size in _grown(pool, by_id[desktop_id]) or []
        ]

    calls += [
        call(Operation.EXPAND_VOLUMES, "/volumes/expand", InconsistentType.DISK_SIZE, ids,
             {"desktop_volumes_expansion": [g for i in ids for g in grown(i)]})
        for ids in _batches(fixing(InconsistentType.DISK_SIZE))
    ]  # fmt: skip
    return calls
