"""Turn each pooldrift error into ``ToolError`` text a model can act on.

Every text says what failed, the upstream status, error code and request id when there are
any, and the next step. Only ``.message`` and codes are used: never a credential.
"""

from __future__ import annotations

from pooldrift.errors import (
    STATISTICS_ACTION,
    AmbiguousPoolError,
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    PooldriftError,
    PoolNotFoundError,
    RateLimitError,
    ServerError,
)
from pooldrift.validation import shown

#: What the seed API needs from IAM (the action is from the vendor's API page).
STATISTICS_PERMISSION = (
    f"the IAM action {STATISTICS_ACTION} (and read access to desktop pools, to look pools up by name)"
)
LIST_PERMISSION = "read access to Workspace desktop pools"
#: Argument names the client's validators use, as the tools name them.
_ARGUMENT = {
    "pool_id": "pool",
    "pool": "pool",
    "project_id": "project_id",
    "region": "region",
    "name": "name",
}


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


def outcome(exc: PooldriftError) -> str:
    """A short, stable label for metrics."""
    for cls, label in _OUTCOMES:
        if isinstance(exc, cls):
            return label
    return "error"


_OUTCOMES: tuple[tuple[type[PooldriftError], str], ...] = (
    (InvalidInputError, "invalid_input"),
    (PoolNotFoundError, "pool_not_found"),
    (AmbiguousPoolError, "ambiguous_pool"),
    (ConfigurationError, "configuration"),
    (AuthenticationError, "unauthenticated"),
    (PermissionDeniedError, "permission_denied"),
    (NotFoundError, "not_found"),
    (RateLimitError, "throttled"),
    (APIConnectionError, "unavailable"),
    (ServerError, "unavailable"),
    (MalformedResponseError, "unavailable"),
)


def describe(exc: PooldriftError, *, doing: str, needs: str = STATISTICS_PERMISSION) -> str:
    """The ToolError text for ``exc``, raised while ``doing`` (e.g. "checking pool 'x'")."""
    if isinstance(exc, InvalidInputError):
        argument = _ARGUMENT.get(exc.field, exc.field)
        return (
            f"Invalid argument `{argument}`: {exc.message}. Nothing was sent to the API; "
            "fix the argument and call again."
        )
    if isinstance(exc, PoolNotFoundError):
        closest = ", ".join(f"{name} ({pool_id})" for pool_id, name in exc.candidates)
        head = f"no pool named {shown(exc.ref)} in project {exc.project_id} ({exc.region})"
        return (
            f"Failed {doing}: {head}"
            + (f"; closest: {closest}" if closest else "")
            + ". Call list_desktop_pools to find the pool, then call again with its exact name or id."
        )
    if isinstance(exc, AmbiguousPoolError):
        return f"Failed {doing}: {exc.message}. Call again with one of these ids as `pool`."
    if isinstance(exc, ConfigurationError):
        return (
            f"pooldrift is not configured: {exc.message}. The user must set this in the environment "
            "of the MCP server (the `env` block of the assistant's MCP config) and restart it; "
            "retrying will not help."
        )
    if isinstance(exc, AuthenticationError):
        return (
            f"Failed {doing}: credentials rejected{_upstream(exc)}{_upstream_text(exc)} — check "
            "HUAWEICLOUD_SDK_AK/SK (APIGW.0301) or the clock of the machine running pooldrift "
            "(APIGW.0303: it must be within 15 minutes of real time). The user must fix this; "
            "retrying will not help."
        )
    if isinstance(exc, PermissionDeniedError):
        return (
            f"Failed {doing}: permission denied{_upstream(exc)}{_upstream_text(exc)} — the IAM user "
            f"of these credentials needs {needs}. Ask an administrator to grant it; retrying will not help."
        )
    if isinstance(exc, NotFoundError):
        return (
            f"Failed {doing}: not found{_upstream(exc)}{_upstream_text(exc)} — no such pool in this "
            "project and region. Check `pool`, `project_id` and `region`, or call list_desktop_pools."
        )
    if isinstance(exc, RateLimitError):
        return (
            f"Failed {doing}: throttled by the Workspace API{_upstream(exc)} — "
            f"retry in {exc.wait_seconds} s; do not call in a tight loop."
        )
    if isinstance(exc, APIConnectionError | ServerError | MalformedResponseError):
        request = _upstream(exc)
        return (
            f"Failed {doing}: upstream unavailable — {exc.message}"
            + ("" if "request id" in exc.message or not request else request)
            + ". pooldrift already retried; retry later, and quote the request id if it persists."
        )
    if isinstance(exc, APIStatusError):
        return f"Failed {doing}: the Workspace API refused the request — {exc.message}."
    return f"Failed {doing}: {exc.message}."
