"""The gateway's request throttle: above N requests a minute, 429 APIGW.0308 with ``Retry-After``.

One sliding 60 s window over every (non-control) request of every caller, as the gateway's
per-user policy counts them; it also counts the 429s it sent, so a benchmark can assert none.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

WINDOW = 60.0
THROTTLE_CODE = "APIGW.0308"


def throttle_message(per_minute: int) -> str:
    """The gateway's own words for a request over its per-user policy."""
    return (
        "The throttling threshold has been reached: policy user over ratelimit,"
        f"limit:{per_minute},time:1 minute"
    )


class Refusal(NamedTuple):
    """A throttled request: the limit it went over and the seconds until a slot frees."""

    per_minute: int
    retry_after: int


class Throttle:
    """At most ``per_minute`` admitted requests in any sliding 60 s window (0: no limit).

    Only admitted requests take a place in the window: a refused one does not push the next
    free slot further away. Thread-safe: the test's thread changes it while the server reads it.
    """

    def __init__(self, per_minute: int = 0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._admitted: deque[float] = deque()
        self._per_minute = _check(per_minute)
        self._initial = self._per_minute
        self._throttled = 0

    @property
    def per_minute(self) -> int:
        with self._lock:
            return self._per_minute

    @property
    def throttled(self) -> int:
        """How many requests it answered 429 since the last ``reset()``."""
        with self._lock:
            return self._throttled

    def update(self, per_minute: int) -> None:
        """A new limit (0: none); the window and the count of 429s are kept."""
        checked = _check(per_minute)
        with self._lock:
            self._per_minute = checked

    def clear(self) -> None:
        """No limit, an empty window, no 429s counted."""
        with self._lock:
            self._per_minute = 0
            self._admitted.clear()
            self._throttled = 0

    def reset(self) -> None:
        """The limit it was made with, an empty window, no refusals counted."""
        with self._lock:
            self._per_minute = self._initial
            self._admitted.clear()
            self._throttled = 0

    def admit(self) -> Refusal | None:
        """``None`` when the request may go on; else the limit and the whole seconds (≥ 1) until a
        slot frees (the ``Retry-After`` the gateway sends)."""
        with self._lock:
            if self._per_minute <= 0:
                return None
            now = self._clock()
            while self._admitted and now - self._admitted[0] >= WINDOW:
                self._admitted.popleft()
            if len(self._admitted) < self._per_minute:
                self._admitted.append(now)
                return None
            self._throttled += 1
            return Refusal(self._per_minute, max(1, math.ceil(self._admitted[0] + WINDOW - now)))

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            in_window = sum(1 for t in self._admitted if now - t < WINDOW)
            return {
                "requests_per_minute": self._per_minute,
                "in_window": in_window,
                "throttled": self._throttled,
            }


def _check(per_minute: Any) -> int:
    if isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 0:
        raise ValueError(f"requests_per_minute must be a whole number, 0 or more (0: none): {per_minute!r}")
    return per_minute
