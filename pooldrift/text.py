"""Text from upstream made safe for a terminal: control characters shown escaped, never obeyed."""

from __future__ import annotations

import re

__all__ = ["safe"]

#: C0 and C1 control characters and DEL (ESC among them), and the line and paragraph separators
_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]")


def safe(value: object) -> str:
    """``value`` as text a terminal shows as-is: each control character escaped (``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))
