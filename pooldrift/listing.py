"""What the client's listings need beside the HTTP: when a page is the last (or repeats), which
``inconsistent_type`` values an endpoint takes (the current four, or the two an older API version
knows: learnt from one 400, then remembered per endpoint), and the API's answer for an unknown pool.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from .errors import BadRequestError, InvalidInputError, ListingRepeatsError, NotFoundError
from .models import InconsistentType, PoolDesktop, PoolDesktops
from .validation import shown

__all__ = [
    "UNKNOWN_POOL_CODE",
    "FilterValues",
    "filtered_listing",
    "last_page",
    "marked",
    "parse_kind",
    "pool_answers",
    "repeated",
]

#: How the API answers a pool id it does not know: 400 with this code ("The desktop pool does
#: not exist.", as the vendor's Terraform provider expects it), not 404.
UNKNOWN_POOL_CODE = "WKS.0001"

log = logging.getLogger("pooldrift.client")


class FilterValues:
    """The endpoints known to take only the legacy filter values; shared by a client's views."""

    def __init__(self) -> None:
        self._legacy: set[str] = set()

    def is_legacy(self, endpoint: str) -> bool:
        return endpoint in self._legacy

    def remember_legacy(self, endpoint: str) -> None:
        if endpoint not in self._legacy:
            log.info("%s takes only the legacy inconsistent_type values (PRODUCT, IMAGE)", endpoint)
        self._legacy.add(endpoint)


async def filtered_listing(
    fetch: Callable[[str], Awaitable[PoolDesktops]],
    kind: InconsistentType,
    endpoint: str,
    values: FilterValues,
) -> PoolDesktops | None:
    """The listing of one kind, fetched by ``fetch(wire value)``; None when the endpoint cannot
    filter by this kind (an older API version has no disk filters).

    A 400 for the current value is retried once with the legacy one; when that works, the
    endpoint is remembered as legacy. When both are refused, the first refusal is raised: the
    request was wrong for another reason (the pool is gone, for one).
    """
    legacy = kind.legacy_value
    if values.is_legacy(endpoint):
        return await fetch(legacy) if legacy is not None else None
    try:
        return await fetch(kind.value)
    except BadRequestError as refused:
        if legacy is None:
            # nothing to fall back to; whether the endpoint is legacy is learnt from the other kinds
            log.info("%s refused inconsistent_type=%s: %s", endpoint, kind.value, refused.message)
            return None
        try:
            listing = await fetch(legacy)
        except BadRequestError:
            raise refused from None
    values.remember_legacy(endpoint)
    return listing


def parse_kind(value: InconsistentType | str | None) -> InconsistentType | None:
    if value is None:
        return None
    try:
        return InconsistentType.parse(str(value))
    except ValueError:
        raise InvalidInputError(
            f"unknown inconsistent type {shown(str(value))}; one of "
            + ", ".join(k.value for k in InconsistentType),
            field="inconsistent_type",
        ) from None


def marked(desktop: PoolDesktop, kind: InconsistentType) -> PoolDesktop:
    """A desktop the filter for ``kind`` returned, with ``kind`` among its own (a desktop reports
    only package and image drift itself)."""
    kinds = [*desktop.drift, kind] if kind not in desktop.drift else desktop.drift
    ordered = [k.value for k in InconsistentType if k in kinds]
    return desktop.model_copy(update={"inconsistent_types": ordered})


def last_page(got: int, asked: int, fetched: int, total: int | None) -> bool:
    """Whether a page ends the listing: an empty or short page, or the reported total reached
    (``total`` may be unreported: then only the page's length tells)."""
    if got == 0:
        return True
    return fetched >= total if total is not None else got < asked


def repeated(ids: list[str], seen: set[str], *, what: str, offset: int, request_id: str | None) -> None:
    """Raise ``ListingRepeatsError`` when a non-empty page lists only items listed already (the
    same page again: offset ignored); else add its ids to ``seen``. One item seen twice is
    allowed: a pool created mid-listing shifts the next page by one."""
    if ids and all(i in seen for i in ids):
        raise ListingRepeatsError(
            f"the API answered the {what} from offset {offset} with {len(ids)} {what} it had "
            "already listed: it (or a proxy before it) repeats pages, so the listing stops there "
            "rather than pass for complete" + (f" (request id {request_id})" if request_id else ""),
            what=what,
            request_id=request_id,
        )
    seen.update(ids)


@contextmanager
def pool_answers() -> Iterator[None]:
    """A call about one pool: the API's answer for an unknown pool becomes a ``NotFoundError``."""
    try:
        yield
    except BadRequestError as exc:
        if exc.error_code != UNKNOWN_POOL_CODE:
            raise
        raise NotFoundError(
            exc.message,
            status_code=exc.status_code,
            request_id=exc.request_id,
            error_code=exc.error_code,
            error_msg=exc.error_msg,
            error_detail=exc.error_detail,
            encoded_authorization_message=exc.encoded_authorization_message,
        ) from None
