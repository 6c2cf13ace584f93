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
    └── APIError                      the API answered, but not with what we need
        ├── MalformedResponseError    2xx with a body that is not the documented JSON
        └── APIStatusError            a non-2xx answer; one class per meaningful status
            ├── BadRequestError           400
            ├── AuthenticationError       401 (APIGW.0301 bad signature, APIGW.0303 clock skew)
            ├── PermissionDeniedError     403
            ├── NotFoundError             404
            ├── ConflictError             409
            ├── RateLimitError            429 (``retry_after`` seconds when known)
            │   └── BudgetExhaustedError  our own POOLDRIFT_REQUESTS_PER_MINUTE is spent
            └── ServerError               5xx

Messages never contain credentials: only ids, codes and upstream text.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx2

__all__ = [
    "DEFAULT_RETRY_AFTER",
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
    "InvalidInputError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "PoolLookupError",
    "PoolNotFoundError",
    "PooldriftError",
    "ProjectLookupError",
    "RateLimitError",
    "ServerError",
    "status_error_from_response",
]

_MAX_UPSTREAM_TEXT = 300

#: The IAM action the drift counts need (from the vendor's API page).
STATISTICS_ACTION = "workspace:desktopPools:getStatisticsByInconsistent"
#: The vendor advises retrying 2–5 s after a throttled call (APIGW.0308) that gives no Retry-After.
DEFAULT_RETRY_AFTER = 5.0


class PooldriftError(Exception):
    """Base of every pooldrift error; ``message`` is meant for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(PooldriftError):
    """Settings are missing or invalid (credentials, region, endpoint)."""


class ProjectLookupError(ConfigurationError):
    """The IAM project lookup for a region found no project, or several."""


class InvalidInputError(PooldriftError, ValueError):
    """An argument was refused before any request was sent."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class PoolLookupError(PooldriftError):
    """A pool reference (a name) did not resolve to exactly one pool."""

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


class APIConnectionError(PooldriftError):
    """The API could not be reached, or the connection broke mid-answer."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class APITimeoutError(APIConnectionError):
    """An attempt or the overall deadline ran out."""


class APIError(PooldriftError):
    """The API answered; ``status_code`` and ``request_id`` say with what."""

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


class APIStatusError(APIError):
    """A non-2xx answer."""


class BadRequestError(APIStatusError):
    """400: the API could not understand the request."""


class AuthenticationError(APIStatusError):
    """401: the key pair, token or signature was rejected (or the clock is off)."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (IAM policy)."""


class NotFoundError(APIStatusError):
    """404: no such pool or project."""


class ConflictError(APIStatusError):
    """409: the resource is busy with a conflicting operation."""


class RateLimitError(APIStatusError):
    """429: throttled; ``retry_after`` is the server's advice in seconds, when given."""

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

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(
            message, retry_after=retry_after, status_code=429, request_id=None, error_code="POOLDRIFT.BUDGET"
        )


class ServerError(APIStatusError):
    """5xx: the service failed; usually worth retrying later."""


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
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

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


def _body_snippet(response: httpx2.Response) -> str:
    """A short, single-line hint of a non-JSON body (an HTML error page, say)."""
    text = response.content[:2000].decode("utf-8", "replace")
    if "<" in text and ">" in text:
        import re

        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        text = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.split())[:120]


def status_error_from_response(response: httpx2.Response) -> APIStatusError:
    """Map a non-2xx response to its class, keeping code, message and request id."""
    status = response.status_code
    request_id = response.headers.get("X-Request-Id")
    fields = _error_fields(response.content)
    code, msg = fields.get("error_code"), fields.get("error_msg")
    reason = msg or _body_snippet(response) or response.reason_phrase or "no details"
    message = f"HTTP {status}" + (f" {code}" if code else "") + f": {reason}"
    if request_id:
        message += f" (request id {request_id})"
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else APIStatusError)
    kw: dict[str, Any] = {"status_code": status, "request_id": request_id, **fields}
    if cls is RateLimitError:
        kw["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    return cls(message, **kw)
