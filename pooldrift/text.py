"""Text from upstream made safe for a terminal: control characters shown escaped, never obeyed."""

from __future__ import annotations

import re

__all__ = ["CELL_LIMIT", "clipped", "safe"]

#: The most characters a table cell shows (after escaping): an id (36) always fits whole.
CELL_LIMIT = 80

#: C0 and C1 control characters and DEL (ESC among them), the line and paragraph separators,
#: the bidirectional marks, embeddings, overrides and isolates (a right-to-left override makes
#: a name read backwards), and the zero-width characters (two names that look the same)
_CONTROL = re.compile(
    "[\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]"
)


def safe(value: object) -> str:
    """``value`` as text a terminal shows as-is: each control character escaped (``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))


def clipped(value: object, limit: int = CELL_LIMIT) -> str:
    """``safe(value)``, cut to ``limit`` characters with a trailing ellipsis when longer, so a
    huge upstream name cannot squeeze a table until the other columns (the pool id) are cut."""
    text = safe(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
