"""The four ways a desktop can differ from its pool, and every wire form the vendor uses for them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["InconsistentType"]


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
        aliases = {old: new for new, old in _LEGACY.items()}
        return cls(aliases.get(key, key))

    @property
    def field(self) -> str:
        """The name of the matching count in the inconsistent-statics answer."""
        return self.value.lower()

    @property
    def legacy_value(self) -> str | None:
        """The filter value older API versions take instead (``PRODUCT``, ``IMAGE``); None for
        the disk kinds, which they cannot filter by. Also the form a desktop's own
        ``inconsistent_types`` uses."""
        return _LEGACY.get(self.value)

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def meaning(self) -> str:
        return _LABELS[self][1]

    @property
    def noun(self) -> str:
        """What differs, in a sentence: "with a different {noun}"."""
        return _NOUNS[self]


_LEGACY = {"PRODUCT_ID": "PRODUCT", "IMAGE_ID": "IMAGE"}

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

_NOUNS: dict[InconsistentType, str] = {
    InconsistentType.PRODUCT_ID: "package",
    InconsistentType.IMAGE_ID: "image",
    InconsistentType.DISK_NUM: "data-disk count",
    InconsistentType.DISK_SIZE: "disk capacity",
}
