"""Checks on every id and name before it goes near a URL: refuse early, explain clearly."""

from __future__ import annotations

import re

from . import regions
from .errors import InvalidInputError

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PROJECT = re.compile(r"[0-9a-f]{32}")
#: Pool names: ASCII letters, digits, ``-``, ``_``, ``.`` and Chinese characters (the vendor's
#: rule for pool names); anything else (spaces, ``/``, ``%``, control characters, look-alike
#: letters from other scripts, fullwidth forms) is refused.
_NAME = re.compile(r"[A-Za-z0-9_.\-\u4e00-\u9fff]+")
MAX_POOL_NAME = 64
MAX_REF_SHOWN = 40


#: Shown as they are when quoted back: what a pool name may hold, and printable ASCII.
_AS_IS = re.compile(r"[ -~\u4e00-\u9fff]")


def shown(value: str) -> str:
    """A value made safe to quote back, in single quotes and at most 40 characters: ASCII and
    Chinese characters as they are (``'财务'``), anything else escaped once (``'fin\\u0430nce'``:
    a look-alike letter, a control character, a bidirectional mark), never twice."""
    text = "".join(_one(char) for char in value[:MAX_REF_SHOWN])
    return "'" + text + ("…" if len(value) > MAX_REF_SHOWN else "") + "'"


def _one(char: str) -> str:
    if char in "'\\":
        return "\\" + char
    if _AS_IS.fullmatch(char):
        return char
    return char.encode("unicode_escape").decode("ascii")


def is_pool_id(ref: str) -> bool:
    return _UUID.fullmatch(ref.strip()) is not None


def validate_pool_id(value: str) -> str:
    """A pool id is a UUID; returned lowercased."""
    if not isinstance(value, str) or _UUID.fullmatch(value) is None:
        raise InvalidInputError(
            f"invalid pool id {shown(str(value))}: expected a UUID such as "
            "a130ab3a-72bf-4b71-baa9-af4987c8e338",
            field="pool_id",
        )
    return value.lower()


def validate_project_id(value: str) -> str:
    """A project id is 32 lowercase hex characters."""
    if not isinstance(value, str) or _PROJECT.fullmatch(value) is None:
        raise InvalidInputError(
            f"invalid project id {shown(str(value))}: expected 32 lowercase hex characters "
            "such as bcae3e673fd04716a3b9dacdf58ca336",
            field="project_id",
        )
    return value


def validate_region(value: str) -> str:
    """A region pooldrift knows (an argument: a bad one is the caller's mistake)."""
    region = value.strip() if isinstance(value, str) else ""
    if not regions.is_known(region):
        raise InvalidInputError(regions.unknown_region_message(shown(str(value))), field="region")
    return region


def validate_pool_name(value: str) -> str:
    """A pool name to look up; it is only ever sent as a query value, never in a path."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError("a pool id or name is required", field="pool")
    if len(value) > MAX_POOL_NAME:
        raise InvalidInputError(
            f"pool name too long ({len(value)} characters; at most {MAX_POOL_NAME})",
            field="pool",
        )
    if _NAME.fullmatch(value) is None or ".." in value:
        raise InvalidInputError(
            f"invalid pool reference {shown(value)}: give a pool id (UUID) or a pool name of "
            "letters, digits, Chinese characters, '-', '_' and '.'",
            field="pool",
        )
    return value


def validate_pool_ref(ref: str) -> str:
    """An id (normalised) or a name (checked); surrounding whitespace is forgiven."""
    if not isinstance(ref, str):
        raise InvalidInputError("a pool id or name is required", field="pool")
    ref = ref.strip()
    if _UUID.fullmatch(ref):
        return ref.lower()
    return validate_pool_name(ref)
