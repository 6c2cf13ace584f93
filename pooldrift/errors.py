"""Every failure pooldrift raises, as one small tree under ``PooldriftError``.

    PooldriftError
    ├── ConfigurationError            missing/invalid settings; unknown region
    │   └── ProjectLookupError        IAM found zero or several projects for the region
    ├── InvalidInputError             a pool/project id or name refused before any request
    ├── PoolLookupError               a pool name did not resolve (carries candidates)
    │   ├── PoolNotFoundError
    │   └── AmbiguousPoolError
    ├── APIConnectionError            could not reach the API (DNS, refused, reset, truncated)
    │   └── APITimeoutError           an attempt or the overall deadline ran out
    ├── WriteUnknownError             a write that may have been applied (never resent blindly)
    └── APIError                      the API answered, but not with what we need
        ├── MalformedResponseError    2xx with a body that is not the documented JSON
        │   ├── ImplausibleCountError a pool's count not a count, or above its desktops
        │   └── ListingRepeatsError   a listing's page the same as the one before it
        ├── ListingTooLongError       a listing past POOLDRIFT_MAX_POOLS / _MAX_DESKTOPS
        ├── ResponseTooLargeError     one answer's body past POOLDRIFT_MAX_RESPONSE_BYTES
        └── APIStatusError            a non-2xx answer; one class per meaningful status
            ├── BadRequestError           400
            ├── AuthenticationError       401 (APIGW.0301 bad signature, APIGW.0303 clock skew)
            ├── PermissionDeniedError     403
            ├── NotFoundError             404
            ├── ConflictError             409
            ├── RateLimitError            429 (``retry_after`` seconds when known)
            │   └── BudgetExhaustedError  our own POOLDRIFT_REQUESTS_PER_MINUTE is spent
            └── ServerError               5xx

Each class classifies itself: ``outcome`` is the stable label that metrics and audit lines
of every front share, and ``retryable`` says whether the client may try the call again. The
fronts only word errors; they never re-derive what one means.

Messages never contain credentials: only ids, codes and upstream text.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx2

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "FIX_ACTIONS",
    "IAM_ACTIONS",
    "JOB_ACTION",
    "LIST_DESKTOPS_ACTION",
    "LIST_POOLS_ACTION",
    "OUTCOMES",
    "PROJECT_LOOKUP_ACTION",
    "SHOW_POOL_ACTION",
    "STATISTICS_ACTION",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousPoolError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExhaustedError",
    "ConfigurationError",
    "ConflictError",
    "ImplausibleCountError",
    "InvalidInputError",
    "ListingRepeatsError",
    "ListingTooLongError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "PoolLookupError",
    "PoolNotFoundError",
    "PooldriftError",
    "ProjectLookupError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "WriteUnknownError",
    "parse_retry_after",
    "status_error_from_response",
]

_MAX_UPSTREAM_TEXT = 300

#: The IAM action each call pooldrift makes needs, so that a 403 names the one refused: the drift
#: counts' is from the vendor's API page, the others follow its naming (manifests/iam/README.md);
#: manifests/iam/pooldrift-readonly.json grants every one (a test keeps the two in step).
STATISTICS_ACTION = "workspace:desktopPools:getStatisticsByInconsistent"
LIST_POOLS_ACTION = "workspace:desktopPools:list"
SHOW_POOL_ACTION = "workspace:desktopPools:get"
LIST_DESKTOPS_ACTION = "workspace:desktopPools:listDesktops"
PROJECT_LOOKUP_ACTION = "iam:projects:listProjects"
IAM_ACTIONS = (
    STATISTICS_ACTION,
    LIST_POOLS_ACTION,
    SHOW_POOL_ACTION,
    LIST_DESKTOPS_ACTION,
    PROJECT_LOOKUP_ACTION,
)
#: What a fix needs beside the reads (a separate policy: the read-only one grants none of them):
#: following its jobs, and each write. Named after the vendor's pattern (its page names the three
#: rebuild and resize actions); the volume and notification ones are to be checked.
JOB_ACTION = "workspace:jobs:get"
FIX_ACTIONS = {
    "RebuildDesktopPool": "workspace:desktopPools:rebuild",
    "BatchRebuildDesktopsSystemDisk": "workspace:desktops:rebuild",
    "ResizeDesktop": "workspace:desktops:resize",
    "AddVolumes": "workspace:desktops:addVolumes",
    "ExpandVolumes": "workspace:desktops:expandVolumes",
    "SendNotifications": "workspace:desktops:sendNotifications",
}
#: The vendor advises retrying 2–5 s after a throttled call (APIGW.0308) that gives no Retry-After.
DEFAULT_RETRY_AFTER = 5.0


class PooldriftError(Exception):
    """Base of every pooldrift error; ``message`` is meant for a person."""

    #: the stable label of this kind of failure (metrics, audit lines, logs)
    outcome: ClassVar[str] = "error"
    #: whether the same call may succeed if tried again (the client's retry policy asks this)
    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(PooldriftError):
    """Settings are missing or invalid (credentials, region, endpoint)."""

    outcome = "configuration"

    @classmethod
    def redis_missing(cls) -> ConfigurationError:
        """A Redis URL is set, but the optional redis package is not installed."""
        return cls("POOLDRIFT_REDIS_URL is set but the redis package is missing: install pooldrift[redis]")


class ProjectLookupError(ConfigurationError):
    """The IAM project lookup for a region found no project, or several."""

    outcome = "project_lookup"


class InvalidInputError(PooldriftError, ValueError):
    """An argument was refused before any request was sent."""

    outcome = "invalid_input"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class PoolLookupError(PooldriftError):
    """A pool reference (a name) did not resolve to exactly one pool."""

    outcome = "pool_not_found"

    def __init__(self, message: str, *, ref: str, candidates: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.ref = ref
        #: (pool id, pool name) pairs close to what was asked, best first
        self.candidates = candidates


class PoolNotFoundError(PoolLookupError):
    """No pool has that exact name in ``project_id`` (``region``)."""

    def __init__(
        self, message: str, *, ref: str, candidates: list[tuple[str, str]], project_id: str, region: str
    ) -> None:
        super().__init__(message, ref=ref, candidates=candidates)
        self.project_id = project_id
        self.region = region


class AmbiguousPoolError(PoolLookupError):
    """Several pools have that name; use an id."""

    outcome = "ambiguous_pool"


class APIConnectionError(PooldriftError):
    """The API could not be reached, or the connection broke mid-answer."""

    outcome = "unreachable"
    retryable = True

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class APITimeoutError(APIConnectionError):
    """An attempt or the overall deadline ran out."""

    outcome = "timeout"


class WriteUnknownError(PooldriftError):
    """A write sent that may have been applied, with no answer saying so: a timeout or a broken
    connection once the request may have reached the API, a 5xx, a 2xx without a job id. The
    vendor's writes take no idempotency key, so it is never sent again blindly: what it did is
    read from the vendor's own records (its jobs, the desktops' tasks)."""

    outcome = "write_unknown"
    retryable = False  # a second send could be a second job

    def __init__(
        self, message: str, *, cause: str, status_code: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        #: the outcome of what went wrong (timeout, unreachable, server_error, malformed_response)
        self.cause = cause
        self.status_code = status_code
        self.request_id = request_id


class APIError(PooldriftError):
    """The API answered; ``status_code`` and ``request_id`` say with what."""

    outcome = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None,
        error_code: str | None = None,
        error_msg: str | None = None,
        error_detail: str | None = None,
        encoded_authorization_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id
        self.error_code = error_code
        self.error_msg = error_msg
        self.error_detail = error_detail
        self.encoded_authorization_message = encoded_authorization_message


class MalformedResponseError(APIError):
    """A successful status with a body that is not the documented JSON."""

    outcome = "malformed_response"
    retryable = True  # a truncated or garbled body is usually a one-off


class ImplausibleCountError(MalformedResponseError):
    """A drift count of a pool that is not a non-negative integer (``true``, ``"3"``, ``1.5``,
    ``-5``) or exceeds the pool's desktops: an upstream fault, never shown as a fact."""

    retryable = False  # the same upstream answers the same count again

    def __init__(self, message: str, *, pool: str, **kw: Any) -> None:
        kw.setdefault("status_code", 200)  # the API answered 2xx: the count itself is the fault
        super().__init__(message, **kw)
        #: the pool the count is of, as ``name (id)`` when its name is known
        self.pool = pool


class ListingRepeatsError(MalformedResponseError):
    """A page of a listing with the same items as the page before it: the API, or a proxy before
    it, ignores ``offset``. pooldrift stops there and says so rather than show what it read as
    the listing: a scan or a lookup by name over part of the pools would look complete, and a
    pool missing from it would pass for one that does not exist."""

    outcome = "listing_repeats"
    retryable = False  # reading again from the first page meets the same repeat

    def __init__(self, message: str, *, what: str, **kw: Any) -> None:
        kw.setdefault("status_code", 200)  # the API answered 2xx: the page itself is the fault
        super().__init__(message, **kw)
        #: what was being listed: "pools" or "desktops"
        self.what = what


class ListingTooLongError(APIError):
    """A listing with more items than pooldrift reads in one answer (``bound``, the setting
    ``setting``): a tenant that large, or an upstream whose pages never end. Memory stays bounded
    by the bound; the answer is to narrow the listing (a name filter, a pool id) or raise the
    setting."""

    outcome = "listing_too_long"
    retryable = False  # the same listing is as long the next time

    def __init__(self, message: str, *, what: str, bound: int, setting: str, **kw: Any) -> None:
        kw.setdefault("status_code", 200)
        kw.setdefault("request_id", None)
        super().__init__(message, **kw)
        #: what was being listed: "pools" or "desktops"
        self.what = what
        self.bound = bound
        #: the variable that sets the bound, e.g. POOLDRIFT_MAX_POOLS
        self.setting = setting


class ResponseTooLargeError(APIError):
    """An answer whose body is larger than pooldrift reads of one (``limit`` bytes, the setting
    ``POOLDRIFT_MAX_RESPONSE_BYTES``): refused at its Content-Length (``size``) before any of it
    is read, or, sent without one, as soon as the bytes read pass the limit, its connection
    closed. Memory stays bounded by the limit; no page of the Workspace API comes near the default,
    so the fault is upstream (or a proxy's), unless the setting is set too low."""

    outcome = "response_too_large"
    retryable = False  # the same call is answered as large again, and would be read again
    #: the variable that sets the limit
    setting: ClassVar[str] = "POOLDRIFT_MAX_RESPONSE_BYTES"

    def __init__(self, message: str, *, limit: int, size: int | None = None, **kw: Any) -> None:
        kw.setdefault("status_code", 200)
        kw.setdefault("request_id", None)
        super().__init__(message, **kw)
        self.limit = limit
        #: the size the answer announced (its Content-Length); None when it announced none
        self.size = size

    @classmethod
    def of(
        cls, host: str, *, limit: int, size: int | None, status_code: int, request_id: str | None
    ) -> ResponseTooLargeError:
        """The error for an answer from ``host``: of ``size`` bytes announced, or (None) of more
        than ``limit`` bytes read."""
        most = f"the {limit} bytes ({_bytes(limit)}) pooldrift reads of one answer"
        if size is not None:
            said = f"{size} bytes ({_bytes(size)}), more than {most}; none of it was read"
        else:
            said = f"more than {most}; reading stopped there"
        message = (
            f"{host} answered {said}"
            + (f" (request id {request_id})" if request_id else "")
            + f"; raise {cls.setting} if an answer that large is expected"
        )
        return cls(message, limit=limit, size=size, status_code=status_code, request_id=request_id)


def _bytes(count: int) -> str:
    """``count`` bytes for a person: 300 MiB, 1.5 GiB, 64 KiB, 512 B."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


class APIStatusError(APIError):
    """A non-2xx answer."""


class BadRequestError(APIStatusError):
    """400: the API could not understand the request."""

    outcome = "bad_request"


class AuthenticationError(APIStatusError):
    """401: the key pair, token or signature was rejected (or the clock is off)."""

    outcome = "unauthenticated"


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (IAM policy); ``iam_action`` is the action the refused
    call needs (one of ``IAM_ACTIONS``), when the caller said which call it was."""

    outcome = "permission_denied"

    def __init__(self, message: str, *, iam_action: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.iam_action = iam_action


class NotFoundError(APIStatusError):
    """404: no such pool or project."""

    outcome = "not_found"


class ConflictError(APIStatusError):
    """409: the resource is busy with a conflicting operation."""

    outcome = "conflict"


class RateLimitError(APIStatusError):
    """429: throttled; ``retry_after`` is the server's advice in seconds, when given."""

    outcome = "throttled"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after

    @property
    def wait_seconds(self) -> int:
        """Whole seconds to wait before trying again: the server's advice, else the vendor's."""
        advice = self.retry_after if self.retry_after is not None else DEFAULT_RETRY_AFTER
        return max(1, math.ceil(advice))


class BudgetExhaustedError(RateLimitError):
    """pooldrift's own requests-per-minute budget is spent (no request was sent)."""

    outcome = "budget_exhausted"
    retryable = False  # raised only when waiting for the budget would outlive the deadline

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(
            message, retry_after=retry_after, status_code=429, request_id=None, error_code="POOLDRIFT.BUDGET"
        )


class ServerError(APIStatusError):
    """5xx: the service failed; 500, 502, 503 and 504 are worth trying again."""

    outcome = "server_error"

    def __init__(self, message: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retryable = self.status_code in _RETRY_STATUSES  # a 501 or 505 will not change its mind


_RETRY_STATUSES = frozenset({500, 502, 503, 504})


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_fields(body: bytes) -> dict[str, str | None]:
    """Pull the error fields out of any of the body shapes Huawei Cloud services use."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        data = data["error"]  # some gateways nest the payload
    if not isinstance(data, dict):
        return {}

    def pick(*names: str) -> str | None:
        for name in names:
            value = data.get(name)
            if value not in (None, ""):
                return str(value)[:_MAX_UPSTREAM_TEXT]
        return None

    return {
        "error_code": pick("error_code", "errorCode", "code"),
        "error_msg": pick("error_msg", "errorMsg", "message"),
        "error_detail": pick("error_detail", "errorDetail", "detail"),
        "encoded_authorization_message": pick("encoded_authorization_message"),
    }


def _body_snippet(body: bytes) -> str:
    """A short, single-line hint of a non-JSON body (an HTML error page, say)."""
    text = body[:2000].decode("utf-8", "replace")
    if "<" in text and ">" in text:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        text = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.split())[:120]


def status_error_from_response(
    response: httpx2.Response, body: bytes | None = None, *, action: str | None = None
) -> APIStatusError:
    """Map a non-2xx response to its class, keeping code, message and request id; ``body`` is
    its body when it was read apart from the response (streamed, within a bound); a 403 keeps
    ``action``, the IAM action of the call refused."""
    status = response.status_code
    request_id = response.headers.get("X-Request-Id")
    content = response.content if body is None else body
    fields = _error_fields(content)
    code, msg = fields.get("error_code"), fields.get("error_msg")
    reason = msg or _body_snippet(content) or response.reason_phrase or "no details"
    message = f"HTTP {status}" + (f" {code}" if code else "") + f": {reason}"
    if request_id:
        message += f" (request id {request_id})"
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else APIStatusError)
    kw: dict[str, Any] = {"status_code": status, "request_id": request_id, **fields}
    if cls is RateLimitError:
        kw["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    if cls is PermissionDeniedError:
        kw["iam_action"] = action
    return cls(message, **kw)


def _outcomes() -> dict[str, type[PooldriftError]]:
    found: dict[str, type[PooldriftError]] = {}
    pending: list[type[PooldriftError]] = [PooldriftError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.outcome, cls)
        pending.extend(cls.__subclasses__())
    return found


#: every outcome label an error can carry, with the (first) class that carries it
OUTCOMES: dict[str, type[PooldriftError]] = _outcomes()
