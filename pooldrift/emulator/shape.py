"""How the emulator answers, within what the vendor's definitions allow: the API version, how the
pool-name filter matches, and whether empty or unreported values come as ``null``; and, beyond
them, hostile answers: counts that are no counts, listings whose pages never end.

Changed at run time (tests, ``POST /_emulator/shape``) like the faults, and reset with them.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: The count fields of the inconsistent-statics answer.
COUNTS = ("product_id", "image_id", "disk_num", "disk_size")
#: The filter values each API version takes (upper case; the emulator accepts any casing).
FILTER_VALUES = {
    "current": ("PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE"),
    "legacy": ("PRODUCT", "IMAGE"),
}
#: Counts an older API version does not report at all.
LEGACY_UNREPORTED = ("disk_num", "disk_size")
NAME_FILTERS = ("icontains", "contains", "iexact", "exact")
#: How listings page: as they should, pages that never end, the first page again and again, or
#: pages of one new item each under a total that is never reached.
PAGES = ("normal", "endless", "repeat", "trickle")
#: The ``total_count`` a ``trickle`` listing claims: always more than it has listed.
TRICKLE_TOTAL = 10**9
_FAKE = uuid.UUID("6f1d1c2e-8a43-4b55-9d0e-5b7a3c2f0e11")


@dataclass
class ShapeSettings:
    """The switches; every default is the current API answering in full."""

    #: ``legacy``: the older API version (two counts, only ``PRODUCT``/``IMAGE`` filter values).
    api_version: str = "current"
    #: How ``name`` matches pool names: substring or whole name, ignoring case (``i…``) or not.
    name_filter: str = "icontains"
    #: Send ``null`` for empty lists and strings, unreported counts and totals.
    nulls: bool = False
    #: Counts the statics answer does not report (besides the legacy version's).
    unreported: tuple[str, ...] = field(default_factory=tuple)
    #: A hostile upstream: every reported count is this JSON value instead (``true``, ``-5``,
    #: ``1.5``, ``"3"``, ``10**30``); ``None`` answers the real counts.
    count_value: Any = None
    #: Likewise every pool's ``desktop_count`` (``-5``, ``"3"``); ``None`` answers the real size.
    desktop_count_value: Any = None
    #: A listing of pools or desktops that never ends, ``total_count`` null: ``endless`` answers
    #: every page full, with items never seen before (the real ones again under new ids);
    #: ``repeat`` answers that first page again whatever the offset (a proxy ignoring it);
    #: ``trickle`` answers one new item a page, ``total_count`` always ``TRICKLE_TOTAL``.
    pages: str = "normal"


class Shape:
    """The emulator's current ``ShapeSettings``, safe to change from a test's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = ShapeSettings()

    @property
    def settings(self) -> ShapeSettings:
        with self._lock:
            return self._settings

    def reset(self) -> None:
        with self._lock:
            self._settings = ShapeSettings()

    def update(self, **values: Any) -> None:
        """Change some switches; a bad value raises ``ValueError`` and changes nothing."""
        known = {f.name for f in fields(ShapeSettings)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown shape settings: {', '.join(unknown)}")
        with self._lock:
            merged = {**asdict(self._settings), **values}
            merged["unreported"] = _counts(merged["unreported"])
            merged["nulls"] = bool(merged["nulls"])
            if merged["api_version"] not in FILTER_VALUES:
                raise ValueError(f"api_version must be one of {', '.join(FILTER_VALUES)}")
            if merged["name_filter"] not in NAME_FILTERS:
                raise ValueError(f"name_filter must be one of {', '.join(NAME_FILTERS)}")
            if merged["pages"] not in PAGES:
                raise ValueError(f"pages must be one of {', '.join(PAGES)}")
            self._settings = ShapeSettings(**merged)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self.settings)

    # -- what the handlers ask -------------------------------------------------------------

    def name_matches(self, wanted: str, name: str) -> bool:
        mode = self.settings.name_filter
        if mode.startswith("i"):
            wanted, name = wanted.lower(), name.lower()
        return wanted in name if mode.endswith("contains") else wanted == name

    def filter_values(self) -> tuple[str, ...]:
        return FILTER_VALUES[self.settings.api_version]

    def statics(self, counts: dict[str, int]) -> dict[str, Any]:
        """The statics answer: unreported counts left out, or ``null`` with ``nulls``."""
        settings = self.settings
        gone = set(settings.unreported)
        if settings.api_version == "legacy":
            gone |= set(LEGACY_UNREPORTED)
        body: dict[str, Any] = {}
        for name in COUNTS:
            if name not in gone:
                body[name] = counts[name] if settings.count_value is None else settings.count_value
            elif settings.nulls:
                body[name] = None
        return body

    def pool(self, body: dict[str, Any]) -> dict[str, Any]:
        """A pool's body, its ``desktop_count`` replaced with ``desktop_count_value``."""
        size = self.settings.desktop_count_value
        return body if size is None else {**body, "desktop_count": size}

    def endless(
        self, items: list[dict[str, Any]], offset: int, limit: int, *, key: str, label: str
    ) -> list[dict[str, Any]] | None:
        """With ``pages`` endless or repeat, the page at ``offset`` (repeat: always the first) of
        a listing that never ends: ``items`` over and over, each copy with its own ``key`` (an id)
        and ``label`` (a name); None when listings page as they should (or there is nothing)."""
        mode = self.settings.pages
        if mode == "normal" or not items:
            return None
        start = 0 if mode == "repeat" else offset
        if mode == "trickle":
            limit = min(limit, 1)
        return [
            {**items[i % len(items)], key: str(uuid.uuid5(_FAKE, f"{key}-{i}")),
             label: f"{items[i % len(items)].get(label) or 'item'}-{i}"}
            for i in range(start, start + limit)
        ]  # fmt: skip

    def endless_total(self) -> int | None:
        """The ``total_count`` of a listing that never ends: null, or with ``trickle`` a total
        always out of reach."""
        return TRICKLE_TOTAL if self.settings.pages == "trickle" else None

    def sparse(self, body: dict[str, Any], *keys: str) -> dict[str, Any]:
        """With ``nulls``: each of ``keys`` whose value is empty (or a total) becomes ``null``."""
        if not self.settings.nulls:
            return body
        for key in keys:
            if key in body and (key == "total_count" or body[key] in ([], {}, "")):
                body[key] = None
        return body


def _counts(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or ())
    names = tuple(str(x).strip().lower() for x in items if str(x).strip())
    bad = [n for n in names if n not in COUNTS]
    if bad:
        raise ValueError(f"unreported counts must be among {', '.join(COUNTS)}; got {', '.join(bad)}")
    return names
