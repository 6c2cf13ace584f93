"""Fault injection for the emulator: random (seeded) and deterministic ("the next 2 get 503").

``Faults`` is shared between the test thread and the server thread, so every read and write
goes through one lock; ``decide()`` is the only thing the server calls per request.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field, fields
from typing import Any

#: Fault kinds a request can be given. A three-digit status (``"503"``) is an ``error`` with it.
KINDS = ("error", "rate_limit", "malformed", "truncate", "drop", "slow", "huge")
#: How a huge answer is framed: chunked (no Content-Length) or with its Content-Length.
HUGE_FRAMINGS = ("chunked", "length")
#: The size of a huge answer by default: the listing that grew ``pooldrift pools`` to ~1 GB.
HUGE_SIZE = 300 << 20

#: Fault kinds a write can be given, in ``write_fail_next`` or by their rates: ``rate_limit`` (429
#: before it is processed: not applied), ``error_after_apply`` (applied, then answered 500),
#: ``timeout_after_apply`` (applied, answered only after ``write_delay`` s), ``endless_job`` (applied;
#: its job runs and never ends).
WRITE_KINDS = ("rate_limit", "error_after_apply", "timeout_after_apply", "endless_job")
_WRITE_RATES = {
    "write_rate_limit_rate": "rate_limit",
    "write_error_rate": "error_after_apply",
    "write_timeout_rate": "timeout_after_apply",
    "endless_job_rate": "endless_job",
}
DEFAULT_FAIL_REASON = "Injected fault: the operation failed on this desktop"

#: The error code sent with an injected error of each status (Huawei Cloud's gateway codes).
DEFAULT_ERROR_CODES = {
    400: "APIGW.0201",
    401: "APIGW.0301",
    403: "APIGW.0302",
    404: "APIGW.0101",
    429: "APIGW.0308",
    500: "APIGW.0103",
    502: "APIGW.0202",
    503: "APIGW.0304",
    504: "APIGW.0203",
}


@dataclass(frozen=True)
class Decision:
    """What to do to one request: a kind (or ``None``), the status for errors, and latency."""

    kind: str | None
    status: int = 0
    latency: float = 0.0


@dataclass
class _State:
    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    error_code: str | None = None
    rate_limit_rate: float = 0.0
    retry_after: float | None = 1.0
    malformed_rate: float = 0.0
    truncate_rate: float = 0.0
    drop_rate: float = 0.0
    huge_rate: float = 0.0
    huge_size: int = HUGE_SIZE
    huge_framing: str = "chunked"
    slow_body: float = 0.0
    paths: str | None = None
    fail_next: list[str] = field(default_factory=list)
    seed: int | None = 0
    write_fail_next: list[str] = field(default_factory=list)
    write_rate_limit_rate: float = 0.0
    write_error_rate: float = 0.0
    write_timeout_rate: float = 0.0
    endless_job_rate: float = 0.0
    #: Seconds a ``timeout_after_apply`` write waits before it answers: longer than a client waits.
    write_delay: float = 30.0
    sub_job_fail_rate: float = 0.0
    sub_job_fail_desktops: list[str] = field(default_factory=list)
    sub_job_fail_reason: str = DEFAULT_FAIL_REASON


_RATES = ("drop_rate", "error_rate", "rate_limit_rate", "malformed_rate", "truncate_rate", "huge_rate")
_RATE_KIND = {
    "drop_rate": "drop",
    "error_rate": "error",
    "rate_limit_rate": "rate_limit",
    "malformed_rate": "malformed",
    "truncate_rate": "truncate",
    "huge_rate": "huge",
}


class Faults:
    """Run-time fault switches. Set attributes, call ``update(**kw)``, ``fail_next_n(kind, n)``,
    or ``reset()``; all are thread-safe.

    Fields: ``latency`` (s, added before every answer), ``error_rate`` + ``error_status`` +
    ``error_code``, ``rate_limit_rate`` (429 APIGW.0308 with ``Retry-After: retry_after``),
    ``malformed_rate`` (200 with an HTML body), ``truncate_rate`` (body shorter than its
    Content-Length, then the connection closes), ``drop_rate`` (connection closed, no answer),
    ``huge_rate`` (the answer, then spaces up to ``huge_size`` bytes, made as they are sent,
    ``huge_framing`` chunked or with its Content-Length), ``slow_body`` (s to trickle the body
    out; a huge one pauses before each tenth of it), ``paths`` (regex searched in the request path:
    only matching requests get faults), ``fail_next`` (kinds given to the next requests in
    order, before any random fault), ``seed`` (of the random faults).

    Writes only (``paths`` does not apply): ``write_fail_next`` (``WRITE_KINDS`` given to the next
    writes in order), ``write_rate_limit_rate``, ``write_error_rate``, ``write_timeout_rate``,
    ``endless_job_rate``, ``write_delay`` (s a timed-out write waits before answering); and of the
    jobs they start: ``sub_job_fail_rate`` (share of sub-jobs that fail), ``sub_job_fail_desktops``
    (desktop ids whose sub-jobs fail), ``sub_job_fail_reason`` (their ``fail_reason``).
    """

    _names = frozenset(f.name for f in fields(_State))
    _lock: threading.Lock
    _state: _State
    _rng: random.Random
    _path_re: re.Pattern[str] | None

    def __init__(self, seed: int | None = 0, **values: Any) -> None:
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_state", _State(seed=seed))
        # reproducible faults, not security
        object.__setattr__(self, "_rng", random.Random(seed))  # noqa: S311
        object.__setattr__(self, "_path_re", None)
        if values:
            self.update(**values)

    def __getattr__(self, name: str) -> Any:
        if name in Faults._names:
            with self._lock:
                value = getattr(self._state, name)
                return list(value) if isinstance(value, list) else value
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.update(**{name: value})

    def update(self, **values: Any) -> None:
        """Set several fields at once; unknown names or bad values raise ``ValueError``."""
        checked = {name: _check(name, value) for name, value in values.items()}
        with self._lock:
            for name, value in checked.items():
                setattr(self._state, name, value)
                if name == "paths":
                    object.__setattr__(self, "_path_re", re.compile(value) if value else None)
                if name == "seed":
                    self._rng.seed(value)

    def fail_next_n(self, kind: str, count: int = 1) -> None:
        """The next ``count`` (matching) requests get ``kind``, then the queue empties."""
        kind = _check_kind(kind)
        with self._lock:
            self._state.fail_next.extend([kind] * count)

    def reset(self) -> None:
        """No faults; the random faults start again from the configured seed."""
        with self._lock:
            seed = self._state.seed
            object.__setattr__(self, "_state", _State(seed=seed))
            object.__setattr__(self, "_path_re", None)
            self._rng.seed(seed)

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {f.name: _copy(getattr(self._state, f.name)) for f in fields(_State)}

    def __repr__(self) -> str:
        defaults = _State(seed=None)
        active = {k: v for k, v in self.to_dict().items() if k != "seed" and v != getattr(defaults, k)}
        return f"Faults({active})"

    def decide(self, path: str) -> Decision:
        """The fault for one request to ``path`` (consumes a queued kind or draws at random)."""
        with self._lock:
            state = self._state
            if self._path_re is not None and not self._path_re.search(path):
                return Decision(None)
            kind: str | None = None
            if state.fail_next:
                kind = state.fail_next.pop(0)
            else:
                for rate in _RATES:
                    chance = getattr(state, rate)
                    if chance > 0 and self._rng.random() < chance:
                        kind = _RATE_KIND[rate]
                        break
            if kind is None and state.slow_body > 0:
                kind = "slow"
            status = 0
            if kind is not None and kind.isdigit():
                status = int(kind)
                kind = "rate_limit" if status == 429 else "error"
            elif kind == "error":
                status = state.error_status
            elif kind == "rate_limit":
                status = 429
            return Decision(kind, status, state.latency)

    def decide_write(self) -> str | None:
        """The fault for one write (one of ``WRITE_KINDS``, or ``None``)."""
        with self._lock:
            state = self._state
            if state.write_fail_next:
                return state.write_fail_next.pop(0)
            for rate, kind in _WRITE_RATES.items():
                chance = getattr(state, rate)
                if chance > 0 and self._rng.random() < chance:
                    return kind
            return None

    def sub_job_failures(self, desktop_ids: list[str]) -> dict[str, str]:
        """Of a new job's desktops, those whose sub-jobs will fail, each with the reason."""
        with self._lock:
            state = self._state
            named = {d.lower() for d in state.sub_job_fail_desktops}
            return {
                desktop_id: state.sub_job_fail_reason
                for desktop_id in desktop_ids
                if desktop_id in named
                or (state.sub_job_fail_rate > 0 and self._rng.random() < state.sub_job_fail_rate)
            }

    # read under the lock by the app when it builds the fault's answer
    def answer_details(self) -> tuple[str | None, float | None, float]:
        with self._lock:
            return self._state.error_code, self._state.retry_after, self._state.slow_body

    def huge_details(self) -> tuple[int, str]:
        """The size and framing of a huge answer."""
        with self._lock:
            return self._state.huge_size, self._state.huge_framing


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _check_kind(kind: str) -> str:
    kind = str(kind).strip().lower()
    if kind in KINDS:
        return kind
    if kind.isdigit() and len(kind) == 3 and 400 <= int(kind) <= 599:
        return kind
    raise ValueError(f"unknown fault kind {kind!r}: one of {', '.join(KINDS)} or an HTTP status 400-599")


def _check(name: str, value: Any) -> Any:
    if name not in Faults._names:
        raise ValueError(f"unknown fault setting {name!r}")
    if name.endswith("_rate"):
        rate = float(value)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1")
        return rate
    if name in ("latency", "slow_body", "write_delay"):
        seconds = float(value)
        if seconds < 0:
            raise ValueError(f"{name} must not be negative")
        return seconds
    if name == "retry_after":
        if value is None:
            return None
        seconds = float(value)
        if seconds < 0:
            raise ValueError("retry_after must not be negative")
        return seconds
    if name == "error_status":
        status = int(value)
        if not 400 <= status <= 599:
            raise ValueError("error_status must be an HTTP error status (400-599)")
        return status
    if name == "paths":
        if value in (None, ""):
            return None
        re.compile(str(value))
        return str(value)
    if name == "fail_next":
        if isinstance(value, str):
            value = [value]
        return [_check_kind(k) for k in value]
    if name == "seed":
        return None if value is None else int(value)
    if name == "huge_size":
        size = int(value)
        if not 0 <= size <= 1 << 40:
            raise ValueError("huge_size must be between 0 and 2**40 bytes")
        return size
    if name == "huge_framing":
        if value not in HUGE_FRAMINGS:
            raise ValueError(f"huge_framing must be one of {', '.join(HUGE_FRAMINGS)}")
        return str(value)
    if name == "write_fail_next":
        kinds = [str(k).strip().lower() for k in ([value] if isinstance(value, str) else value)]
        bad = [k for k in kinds if k not in WRITE_KINDS]
        if bad:
            raise ValueError(f"unknown write fault kind {bad[0]!r}: one of {', '.join(WRITE_KINDS)}")
        return kinds
    if name == "sub_job_fail_desktops":
        ids = [value] if isinstance(value, str) else list(value)
        return [str(i).strip().lower() for i in ids if str(i).strip()]
    if name == "sub_job_fail_reason":
        reason = str(value or "").strip()
        return reason[:400] or DEFAULT_FAIL_REASON
    if name == "error_code":
        return None if value in (None, "") else str(value)
    raise AssertionError(name)  # pragma: no cover
