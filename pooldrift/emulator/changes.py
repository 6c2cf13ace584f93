"""How one desktop is made to differ from its pool in one way, or to match it again, leaving
its other ways as they are; ``EmulatorData.set_drift`` applies it to as many desktops as asked.

Typed by shape (the data module imports this one, not the other way round).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from . import catalog

__all__ = ["DESKTOP_FIELDS", "NEW_POOL", "desktop_value", "parse_kind", "set_kind"]

_KINDS = ("PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE")
#: a pool added at run time, unless told otherwise
NEW_POOL: dict[str, Any] = {
    "type": "DYNAMIC",
    "product_id": "workspace.x86.general.large2",
    "image_id": catalog.WIN11,
    "root_size": 80,
    "data_sizes": [100],
}


#: A desktop's state a test may set, each with the values the vendor documents (``None``: free text).
DESKTOP_FIELDS: dict[str, tuple[object, ...] | None] = {
    "login_status": (None, "UNREGISTER", "REGISTERED", "CONNECTED", "DISCONNECTED"),
    "status": ("ACTIVE", "SHUTOFF", "ERROR", "HIBERNATED", "BUILD", "REBOOT", "RESIZE", "MIGRATING"),
    "charge_mode": ("on_demand", "period"),
    "is_freeze": (True, False),
    "task_status": None,
    "user_name": None,
    "order_id": None,
}


def desktop_value(name: str, value: object) -> object:
    """``value`` checked for the desktop field ``name``; ``ValueError`` when the vendor has no such value."""
    if name not in DESKTOP_FIELDS:
        raise ValueError(f"unknown desktop field {name!r}: one of {', '.join(DESKTOP_FIELDS)}")
    allowed = DESKTOP_FIELDS[name]
    if allowed is None:
        if name == "task_status" and value is None:
            return ""
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string or null")
        return value
    if not any(value is a or (type(value) is type(a) and value == a) for a in allowed):
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}, not {str(value)[:30]!r}")
    return value


class _Config(Protocol):
    product_id: str
    image_id: str
    root_size: int
    data_sizes: list[int]


def parse_kind(value: object) -> str:
    """``image_id``, ``IMAGE_ID`` or ``image`` → ``IMAGE_ID``; ``ValueError`` for anything else."""
    key = str(value).strip().upper()
    key = {"PRODUCT": "PRODUCT_ID", "IMAGE": "IMAGE_ID"}.get(key, key)
    if key not in _KINDS:
        raise ValueError(
            f"kind must be one of {', '.join(k.lower() for k in _KINDS)}, not {str(value)[:20]!r}"
        )
    return key


def _layout(pool: _Config, extra_disk: bool, resized: bool) -> tuple[int, list[int]]:
    """The pool's disks, with one more data disk (same total) and/or another total size."""
    root, data = pool.root_size, list(pool.data_sizes)
    if extra_disk:
        if data:
            data = [data[0] // 2, data[0] - data[0] // 2, *data[1:]]
        else:
            root, data = root - 20, [20]
    if resized:
        if data:
            data[-1] += 50
        else:
            root += 20
    return root, data


def set_kind(desktop: _Config, pool: _Config, kind: str, *, drifted: bool, now: Sequence[str]) -> None:
    """Make ``desktop`` differ from ``pool`` in ``kind`` (or match it); ``now``: how it differs now."""
    if kind == "PRODUCT_ID":
        other = catalog.PRODUCT_DRIFT.get(pool.product_id, "workspace.x86.general.xlarge2")
        desktop.product_id = other if drifted else pool.product_id
    elif kind == "IMAGE_ID":
        other = catalog.IMAGE_DRIFT.get(pool.image_id, catalog.WIN10)
        desktop.image_id = other if drifted else pool.image_id
    else:
        extra = drifted if kind == "DISK_NUM" else "DISK_NUM" in now
        resized = drifted if kind == "DISK_SIZE" else "DISK_SIZE" in now
        desktop.root_size, desktop.data_sizes = _layout(pool, extra, resized)
