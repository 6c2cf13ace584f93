"""The words a model reads when a tool call fails: each pooldrift error class worded with what
failed, the upstream status, error code and request id when there are any, and the next step.

The errors classify themselves (``exc.outcome``); this module only words them. ``word`` never
raises: if wording fails, the model still gets one answer with a reference to the server's log.
Only messages, ids and codes are used: never a credential.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from pooldrift.errors import (
    AmbiguousPoolError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExhaustedError,
    ConfigurationError,
    ConflictError,
    ImplausibleCountError,
    InvalidInputError,
    ListingRepeatsError,
    ListingTooLongError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    PooldriftError,
    PoolLookupError,
    PoolNotFoundError,
    ProjectLookupError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    WriteUnknownError,
)
from pooldrift.remedies import CLOCK_SKEW_MINUTES, Remedy, remedy
from pooldrift.validation import shown

__all__ = [
    "invalid_arguments",
    "scan_next_step",
    "unexpected",
    "word",
]

log = logging.getLogger("pooldrift.server")

#: Argument names the client's validators use, as the tools name them.
_ARGUMENT = {"pool_id": "pool"}
_NOTHING_SENT = "Nothing was sent to the API; fix the argument and call again."
_RETRIED = "pooldrift already retried; retry later, and quote the request id if it persists."
_GRANT = "Ask an administrator to grant it; retrying will not help."
_TIGHT_LOOP = "do not call in a tight loop."
_BUSY = "retry in a minute."
_NOT_SERVED = "The API does not serve this request; retrying will not help."

_E = TypeVar("_E", bound=PooldriftError)
_Wording = Callable[[Any, str], str]
_WORDING: dict[type[PooldriftError], _Wording] = {}


def word(exc: PooldriftError, *, doing: str) -> str:
    """The ToolError text for ``exc``, raised while ``doing`` (e.g. "checking pool 'x'"); if the
    wording itself fails, a generic text whose reference id is logged with the traceback."""
    try:
        return describe(exc, doing=doing)
    except Exception:
        reference = new_reference()
        log.exception("could not word a %s error (reference %s)", exc.outcome, reference)
        return unexpected(doing, reference)


def describe(exc: PooldriftError, *, doing: str) -> str:
    """The words of the most specific class of ``exc`` that has any (may raise: use ``word``)."""
    for cls in type(exc).__mro__:
        wording = _WORDING.get(cls)
        if wording is not None:
            return wording(exc, doing)
    raise TypeError(f"not a pooldrift error: {type(exc).__name__}")


def unexpected(doing: str, reference: str) -> str:
    """What the model reads when something other than a pooldrift error went wrong."""
    return (
        f"Failed {doing}: pooldrift hit an unexpected problem (reference {reference}). Retry once; "
        "if it fails again, tell the user to give this reference to whoever runs the pooldrift server."
    )


def new_reference() -> str:
    """A short id that ties a generic answer to its log line (and its traceback)."""
    return uuid.uuid4().hex[:12]


def invalid_arguments(exc: ValidationError) -> str:
    """A short text naming each refused argument; no pydantic wording, no URL, no value echoed."""
    try:
        return _invalid_arguments(exc)
    except Exception:
        log.exception("could not word refused arguments")
        return "Invalid arguments: check their JSON types against the input schema. " + _NOTHING_SENT


def _invalid_arguments(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_context=False):
        argument = ".".join(str(part) for part in error["loc"]) or "arguments"
        if error["type"] == "missing":
            problems.append(f"`{argument}`: required but missing")
        else:
            message = error["msg"][:1].lower() + error["msg"][1:]
            problems.append(f"`{argument}`: {message} (got {_json_type(error.get('input'))})")
    head = "Invalid argument " if len(problems) == 1 else "Invalid arguments: "
    return head + "; ".join(problems) + ". " + _NOTHING_SENT


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _retry_in(seconds: int) -> str:
    return f"retry in {seconds} s" if seconds <= 3600 else "retry in an hour or more"


def _next(step: Remedy | None) -> str:
    """The core's remedy for a 401, 403 or 429, for a model: the variable, the IAM action or the
    seconds, and whether calling again helps."""
    if step is None:
        return _RETRIED
    if step.retry_after is not None:
        return f"{_retry_in(step.retry_after)}; {_TIGHT_LOOP}"
    if step.who == "administrator":
        action = f"the IAM action {step.iam_action}" if step.iam_action else "access to this call"
        return f"the IAM user of these credentials needs {action}. {_GRANT}"
    clock = (
        f" or the clock of the machine running pooldrift (APIGW.0303: it must be within "
        f"{CLOCK_SKEW_MINUTES} minutes of real time)"
        if step.check_clock
        else ""
    )
    return (
        f"check {' / '.join(step.variables)} in the MCP server's environment (APIGW.0301){clock}. "
        "The user must fix this; retrying will not help."
    )


def _words(cls: type[_E]) -> Callable[[Callable[[_E, str], str]], Callable[[_E, str], str]]:
    def register(wording: Callable[[_E, str], str]) -> Callable[[_E, str], str]:
        _WORDING[cls] = wording
        return wording

    return register


def _upstream(exc: APIError | APIConnectionError) -> str:
    """`` (HTTP 429 APIGW.0308, request id abc)`` — whatever of it is known."""
    parts: list[str] = []
    if isinstance(exc, APIStatusError):
        parts.append(f"HTTP {exc.status_code}" + (f" {exc.error_code}" if exc.error_code else ""))
    if exc.request_id:
        parts.append(f"request id {exc.request_id}")
    return f" ({', '.join(parts)})" if parts else ""


def _upstream_text(exc: APIError) -> str:
    return f": {exc.error_msg}" if exc.error_msg else ""


def _unavailable(exc: APIConnectionError | APIError, doing: str, what: str, next_step: str = _RETRIED) -> str:
    request = _upstream(exc)
    return (
        f"Failed {doing}: upstream unavailable ({what}) — {exc.message}"
        + ("" if "request id" in exc.message or not request else request)
        + f". {next_step}"
    )


@_words(PooldriftError)
def _generic(exc: PooldriftError, doing: str) -> str:
    return f"Failed {doing}: {exc.message}."


@_words(ConfigurationError)
def _configuration(exc: ConfigurationError, _doing: str) -> str:
    return (
        f"pooldrift is not configured: {exc.message}. The user must set this in the environment "
        "of the MCP server (the `env` block of the assistant's MCP config) and restart it; "
        "retrying will not help."
    )


@_words(ProjectLookupError)
def _project_lookup(exc: ProjectLookupError, doing: str) -> str:
    return (
        f"Failed {doing}: the project could not be found — {exc.message}. Call again with "
        "`project_id` (32 lowercase hex), or ask the user to set HUAWEICLOUD_SDK_PROJECT_ID."
    )


@_words(InvalidInputError)
def _invalid_input(exc: InvalidInputError, _doing: str) -> str:
    return f"Invalid argument `{_ARGUMENT.get(exc.field, exc.field)}`: {exc.message}. {_NOTHING_SENT}"


@_words(PoolLookupError)
def _pool_lookup(exc: PoolLookupError, doing: str) -> str:
    return (
        f"Failed {doing}: {exc.message}. Call list_desktop_pools to find the pool, "
        "then call again with its exact name or id."
    )


@_words(PoolNotFoundError)
def _pool_not_found(exc: PoolNotFoundError, doing: str) -> str:
    closest = ", ".join(f"{name} ({pool_id})" for pool_id, name in exc.candidates)
    head = f"no pool named {shown(exc.ref)} in project {exc.project_id} ({exc.region})"
    return (
        f"Failed {doing}: {head}"
        + (f"; closest: {closest}" if closest else "")
        + ". Call list_desktop_pools to find the pool, then call again with its exact name or id."
    )


@_words(AmbiguousPoolError)
def _ambiguous_pool(exc: AmbiguousPoolError, doing: str) -> str:
    return f"Failed {doing}: {exc.message}. Call again with one of these ids as `pool`."


@_words(APIConnectionError)
def _unreachable(exc: APIConnectionError, doing: str) -> str:
    return _unavailable(exc, doing, "unreachable")


@_words(APITimeoutError)
def _timeout(exc: APITimeoutError, doing: str) -> str:
    return _unavailable(exc, doing, "timed out")


@_words(APIError)
def _upstream_error(exc: APIError, doing: str) -> str:
    return f"Failed {doing}: the Workspace API answered with an error{_upstream(exc)} — {exc.message}."


@_words(MalformedResponseError)
def _malformed(exc: MalformedResponseError, doing: str) -> str:
    return _unavailable(exc, doing, "unreadable answer")


@_words(ImplausibleCountError)
def _implausible(exc: ImplausibleCountError, doing: str) -> str:
    # not a count to quote as drift, and not a one-off: retrying answers the same
    return (
        f"Failed {doing}: the Workspace API's answer cannot be true — {exc.message}. Do not report "
        "this pool's drift from it; the fault is upstream, so quote the request id to Huawei Cloud "
        "support."
    )


@_words(ListingTooLongError)
def _too_long(exc: ListingTooLongError, doing: str) -> str:
    narrow = (
        "`name` (part of the pool's name) or `pool` as an id" if exc.what == "pools" else "`kind` or `limit`"
    )
    return (
        f"Failed {doing}: {exc.message}. Call again narrowed with {narrow}; the server's operator "
        f"can raise {exc.setting}. The same call will fail again."
    )


@_words(ResponseTooLargeError)
def _too_large(exc: ResponseTooLargeError, doing: str) -> str:
    return (
        f"Failed {doing}: the Workspace API's answer is too large to read — {exc.message}. The same "
        "call will fail again: do not retry it; raising the limit is for the server's operator."
    )


@_words(WriteUnknownError)
def _write_unknown(exc: WriteUnknownError, doing: str) -> str:
    return (
        f"Failed {doing}: {exc.message}. It may have been applied: do not call again; the fix's "
        "status tells what the vendor did with it."
    )


@_words(ListingRepeatsError)
def _repeats(exc: ListingRepeatsError, doing: str) -> str:
    return (
        f"Failed {doing}: {exc.message}. Do not report the {exc.what} read as complete; the fault is "
        "upstream (the API or a proxy before it), so quote the request id to whoever runs it."
    )


@_words(APIStatusError)
def _refused(exc: APIStatusError, doing: str) -> str:
    return f"Failed {doing}: the Workspace API refused the request — {exc.message}."


@_words(BadRequestError)
def _bad_request(exc: BadRequestError, doing: str) -> str:
    return (
        f"Failed {doing}: the Workspace API could not accept the request{_upstream(exc)}{_upstream_text(exc)}"
        " — check `pool`, `project_id` and `region`; the same call will fail again."
    )


@_words(AuthenticationError)
def _unauthenticated(exc: AuthenticationError, doing: str) -> str:
    return f"Failed {doing}: credentials rejected{_upstream(exc)}{_upstream_text(exc)} — {_next(remedy(exc))}"


@_words(PermissionDeniedError)
def _permission_denied(exc: PermissionDeniedError, doing: str) -> str:
    return f"Failed {doing}: permission denied{_upstream(exc)}{_upstream_text(exc)} — {_next(remedy(exc))}"


@_words(NotFoundError)
def _not_found(exc: NotFoundError, doing: str) -> str:
    return (
        f"Failed {doing}: not found{_upstream(exc)}{_upstream_text(exc)} — no such pool in this "
        "project and region. Check `pool`, `project_id` and `region`, or call list_desktop_pools."
    )


@_words(ConflictError)
def _conflict(exc: ConflictError, doing: str) -> str:
    return (
        f"Failed {doing}: the pool is busy with another operation{_upstream(exc)}{_upstream_text(exc)}"
        f" — {_BUSY}"
    )


@_words(RateLimitError)
def _throttled(exc: RateLimitError, doing: str) -> str:
    return f"Failed {doing}: throttled by the Workspace API{_upstream(exc)} — {_next(remedy(exc))}"


@_words(BudgetExhaustedError)
def _budget_exhausted(exc: BudgetExhaustedError, doing: str) -> str:
    step = remedy(exc)
    budget = step.variables[0] if step is not None and step.variables else "request budget"
    return (
        f"Failed {doing}: pooldrift's own request budget ({budget}) is spent; nothing was sent — "
        f"{_next(step)}"
    )


@_words(ServerError)
def _server_error(exc: ServerError, doing: str) -> str:
    if exc.retryable:
        return _unavailable(exc, doing, "server error")
    return _unavailable(exc, doing, "not supported", _NOT_SERVED)


# -- a fleet scan's failures: no exception at hand, only its outcome label ----------------------

#: Short on purpose: a scan answer carries up to ten of them.
_SCAN_NEXT: dict[str, str] = {
    "unauthenticated": "The key pair has no access here (APIGW.0301) or the clock is off (APIGW.0303): "
    "the user must fix this.",
    "not_found": "The pool may have been deleted since it was listed; check it with pool_inconsistency.",
    "bad_request": "The pool may have been deleted since it was listed; check it with pool_inconsistency.",
    "conflict": f"The pool is busy with another operation; {_BUSY}",
    "throttled": f"Throttled: retry the scan in a minute; {_TIGHT_LOOP}",
    "budget_exhausted": f"pooldrift's request budget is spent: retry in a minute; {_TIGHT_LOOP}",
    "project_lookup": "Scan this project with `project_id` (32 lowercase hex) and `region`.",
    "listing_too_long": "Narrow the scan with `name`; the server's operator can raise POOLDRIFT_MAX_POOLS.",
    "listing_repeats": "The API (or a proxy before it) repeats pages: its pools cannot be listed until "
    "that is fixed upstream.",
    "response_too_large": "An answer was larger than pooldrift reads; the server's operator can raise "
    "POOLDRIFT_MAX_RESPONSE_BYTES.",
    "write_unknown": "A change may have been applied: do not call again; its status tells what happened.",
}


def scan_next_step(outcome: str, *, status_code: int | None = None, iam_action: str | None = None) -> str:
    """What to do about a pool or a whole project a fleet scan could not read, from the
    failure's outcome label (``PooldriftError.outcome``), HTTP status and, for a 403, the IAM
    action refused."""
    if outcome == "permission_denied":
        action = f"the IAM action {iam_action}" if iam_action else "access to this call"
        return f"The IAM user needs {action}. {_GRANT}"
    # the core's own judgement of which 5xx may change its mind
    if outcome == "server_error" and status_code is not None and not _may_recover(status_code):
        return _NOT_SERVED
    return _SCAN_NEXT.get(outcome, _RETRIED)


def _may_recover(status_code: int) -> bool:
    return ServerError("", status_code=status_code, request_id=None).retryable
