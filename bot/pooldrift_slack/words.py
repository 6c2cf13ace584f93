"""Every failure behind a Slack answer, in words a person can act on (pure: error in, words out).

One branch per pooldrift error class; ``Problem.outcome`` is the short name the audit log uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from pooldrift.errors import (
    STATISTICS_ACTION,
    AmbiguousPoolError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
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

from .blocks import COMMAND, code
from .kit import esc

__all__ = ["Problem", "describe", "refused", "timed_out", "unexpected"]

_USAGE = f"Try `{COMMAND} <pool id or exact name>`, `{COMMAND} pools` or `{COMMAND} help`."


@dataclass(frozen=True)
class Problem:
    outcome: str
    text: str


def _request_id(exc: PooldriftError) -> str:
    rid = getattr(exc, "request_id", None)
    return f" Request id {code(rid)}." if rid else ""


def _status(exc: APIError) -> str:
    return f"HTTP {exc.status_code}" + (f" {esc(exc.error_code)}" if exc.error_code else "")


def describe(exc: PooldriftError) -> Problem:
    """The answer for a pooldrift error; its messages carry no secrets, only ids and codes."""
    if isinstance(exc, InvalidInputError):
        return Problem("invalid_input", f":warning: {esc(exc.message)}.\n{_USAGE}")
    if isinstance(exc, PoolNotFoundError):
        if exc.candidates:
            names = ", ".join(code(name) for _, name in exc.candidates[:5])
            hint = f"Closest names: {names}."
        else:
            hint = f"`{COMMAND} pools` lists the pools there are."
        return Problem("not_found", f":mag: No pool is named {code(exc.ref)}. {hint}")
    if isinstance(exc, AmbiguousPoolError):
        options = "\n".join(f"• {esc(name)} {code(pool_id)}" for pool_id, name in exc.candidates[:10])
        return Problem(
            "ambiguous",
            f":twisted_rightwards_arrows: Several pools are named {code(exc.ref)}; "
            f"ask again with one of their ids:\n{options}",
        )
    if isinstance(exc, ConfigurationError):
        return Problem(
            "config",
            f":gear: pooldrift is not set up to reach Huawei Cloud: {esc(exc.message)}. "
            "Ask whoever runs pooldrift to fix its configuration.",
        )
    if isinstance(exc, AuthenticationError):
        return Problem(
            "auth",
            f":lock: Huawei Cloud refused pooldrift's credentials ({_status(exc)}). Whoever runs "
            "pooldrift should check its access key pair and its server clock." + _request_id(exc),
        )
    if isinstance(exc, PermissionDeniedError):
        return Problem(
            "forbidden",
            f":no_entry: pooldrift's credentials are not allowed to read this ({_status(exc)}). "
            f"Its IAM user needs read access to desktop pools, including `{STATISTICS_ACTION}`."
            + _request_id(exc),
        )
    if isinstance(exc, NotFoundError):
        return Problem(
            "not_found",
            f":mag: Huawei Cloud has no such pool in pooldrift's project ({_status(exc)}). "
            f"`{COMMAND} pools` lists the pools there are." + _request_id(exc),
        )
    if isinstance(exc, RateLimitError):
        return Problem(
            "throttled",
            f":hourglass: Huawei Cloud is throttling requests right now ({_status(exc)}). "
            f"Try again in {exc.wait_seconds} seconds." + _request_id(exc),
        )
    if isinstance(exc, ServerError):
        return Problem(
            "upstream_error",
            f":rotating_light: The Workspace API is failing ({_status(exc)}); the problem is on "
            "Huawei Cloud's side. Try again in a minute." + _request_id(exc),
        )
    if isinstance(exc, MalformedResponseError):
        return Problem(
            "upstream_error",
            ":rotating_light: The Workspace API sent an answer pooldrift does not understand. "
            "Try again in a minute." + _request_id(exc),
        )
    if isinstance(exc, APIStatusError):
        return Problem(
            "upstream_error", f":warning: The Workspace API refused the request: {esc(exc.message)}."
        )
    if isinstance(exc, APITimeoutError):
        return Problem(
            "timeout",
            ":hourglass: The Workspace API did not answer in time. Try again in a minute." + _request_id(exc),
        )
    if isinstance(exc, APIConnectionError):
        return Problem(
            "unreachable",
            ":electric_plug: pooldrift could not reach the Workspace API. Try again in a minute; "
            "if it keeps happening, whoever runs pooldrift should check its network." + _request_id(exc),
        )
    return Problem("error", f":warning: {esc(exc.message)}")


def timed_out(seconds: float) -> Problem:
    return Problem(
        "timeout",
        f":hourglass: No answer from the Workspace API within {seconds:g} seconds. Try again in a minute.",
    )


def unexpected(ref: str) -> Problem:
    return Problem(
        "internal_error",
        f":warning: Something went wrong inside pooldrift (ref {code(ref)}). Whoever runs it can "
        "find the details in its logs under that reference.",
    )


def refused(what: str) -> Problem:
    return Problem(
        "refused",
        f":no_entry_sign: Sorry, pooldrift is not enabled for this {what}. "
        "Ask whoever runs it to add it to the allow-list.",
    )
