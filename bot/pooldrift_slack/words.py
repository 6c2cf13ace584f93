"""Every failure behind a Slack answer, in words a person can act on: one wording per pooldrift
error class (the error's own ``outcome`` labels it elsewhere), and a guard around the wording.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from pooldrift.remedies import CLOCK_SKEW_MINUTES, CREDENTIAL_VARIABLES, Remedy, remedy

from .blocks import COMMAND, code
from .kit import esc

__all__ = [
    "NEXT_STEPS",
    "WORDING",
    "Words",
    "describe",
    "guarded",
    "new_ref",
    "next_step",
    "refused",
    "stopping",
    "timed_out",
    "unexpected",
]

log = logging.getLogger("pooldrift.slack")

_USAGE = (
    f"Try `{COMMAND} <pool id or exact name>`, `{COMMAND} scan [part of a pool name]`, "
    f"`{COMMAND} pools`, `{COMMAND} mute <pool> 2h` or `{COMMAND} help`."
)
_LISTS = f"`{COMMAND} pools` lists the pools there are."
_LATER = "Try again in a minute."
_RUNNER = "whoever runs pooldrift"


@dataclass(frozen=True)
class Words:
    """What the user is told; ``ref`` when the details are in the log under that reference."""

    text: str
    ref: str | None = None


def new_ref() -> str:
    """A short reference that ties a generic answer to its log line."""
    return secrets.token_hex(4)


def _request_id(exc: PooldriftError) -> str:
    rid = getattr(exc, "request_id", None)
    return f" Request id {code(rid)}." if rid else ""


def _status(exc: APIError) -> str:
    return f"HTTP {exc.status_code}" + (f" {esc(exc.error_code)}" if exc.error_code else "")


def _pool_not_found(exc: PoolNotFoundError) -> str:
    if exc.candidates:
        hint = "Closest names: " + ", ".join(code(name) for _, name in exc.candidates[:5]) + "."
    else:
        hint = _LISTS
    return f":mag: No pool is named {code(exc.ref)}. {hint}"


def _ambiguous(exc: AmbiguousPoolError) -> str:
    options = "\n".join(f"• {esc(name)} {code(pool_id)}" for pool_id, name in exc.candidates[:10])
    return (
        f":twisted_rightwards_arrows: Several pools are named {code(exc.ref)}; "
        f"ask again with one of their ids:\n{options}"
    )


def _names(variables: tuple[str, ...]) -> str:
    return " and ".join(f"`{name}`" for name in variables)


def _next(step: Remedy | None) -> str:
    """The core's remedy for a 401, 403 or 429, for a person in Slack: who to ask for what, or
    when to try again."""
    if step is None:
        return _LATER
    if step.retry_after is not None:
        return f"Try again in {step.retry_after} seconds."
    if step.who == "administrator":
        what = f"`{step.iam_action}`" if step.iam_action else "the permission this needs"
        return (
            f"Ask an administrator of the Huawei Cloud account to give pooldrift's IAM user {what}; "
            "trying again will not help."
        )
    clock = f" and its server's clock (within {CLOCK_SKEW_MINUTES} minutes of real time)"
    return (
        f"Ask {_RUNNER} to check its access key pair ({_names(step.variables)})"
        f"{clock if step.check_clock else ''}; trying again will not help."
    )


def _unauthenticated(exc: AuthenticationError) -> str:
    return (
        f":lock: Huawei Cloud refused pooldrift's credentials ({_status(exc)}). {_next(remedy(exc))}"
        + _request_id(exc)
    )


def _permission_denied(exc: PermissionDeniedError) -> str:
    return (
        f":no_entry: pooldrift's credentials are not allowed to do this ({_status(exc)}). "
        f"{_next(remedy(exc))}" + _request_id(exc)
    )


def _throttled(exc: RateLimitError) -> str:
    return (
        f":hourglass: Huawei Cloud is throttling requests right now ({_status(exc)}). "
        f"{_next(remedy(exc))}" + _request_id(exc)
    )


def _budget(exc: BudgetExhaustedError) -> str:
    step = remedy(exc)
    budget = f" ({_names(step.variables)})" if step is not None and step.variables else ""
    return f":hourglass: pooldrift has spent its own request budget for now{budget}. {_next(step)}"


# One entry per class, looked up by the error's exact class first, then its ancestors': a new
# class is worded by its parent until it gets its own (a test keeps the table complete).
_Wording = Callable[[Any], str]
WORDING: dict[type[PooldriftError], _Wording] = {
    PooldriftError: lambda exc: f":warning: {esc(exc.message)}",
    ConfigurationError: lambda exc: (
        f":gear: pooldrift is not set up to reach Huawei Cloud: {esc(exc.message)}. "
        "Ask whoever runs pooldrift to fix its configuration."
    ),
    ProjectLookupError: lambda exc: (
        f":gear: pooldrift is not set up for this region's project: {esc(exc.message)}. "
        "Ask whoever runs pooldrift to set `HUAWEICLOUD_SDK_PROJECT_ID`."
    ),
    InvalidInputError: lambda exc: f":warning: {esc(exc.message)}.\n{_USAGE}",
    PoolLookupError: lambda exc: f":mag: {code(exc.ref)} does not name exactly one pool. {_LISTS}",
    PoolNotFoundError: _pool_not_found,
    AmbiguousPoolError: _ambiguous,
    APIConnectionError: lambda exc: (
        ":electric_plug: pooldrift could not reach the Workspace API. Try again in a minute; "
        "if it keeps happening, whoever runs pooldrift should check its network." + _request_id(exc)
    ),
    APITimeoutError: lambda exc: (
        f":hourglass: The Workspace API did not answer in time. {_LATER}" + _request_id(exc)
    ),
    APIError: lambda exc: (
        f":warning: The Workspace API answered in a way pooldrift cannot use ({_status(exc)})."
        + _request_id(exc)
    ),
    MalformedResponseError: lambda exc: (
        f":rotating_light: The Workspace API sent an answer pooldrift does not understand. {_LATER}"
        + _request_id(exc)
    ),
    ImplausibleCountError: lambda exc: (
        f":rotating_light: The Workspace API's answer cannot be true: {esc(exc.message)}. The fault "
        "is on Huawei Cloud's side; pooldrift shows no drift from it."
    ),
    ListingTooLongError: lambda exc: (
        f":straight_ruler: {esc(exc.message[0].upper() + exc.message[1:])}. "
        + (
            f"Narrow it: `{COMMAND} scan <part of a pool name>`, or ask for a pool by its id; "
            if exc.what == "pools"
            else "Ask for one kind of drift; "
        )
        + f"{_RUNNER} can raise `{exc.setting}`."
    ),
    ResponseTooLargeError: lambda exc: (
        f":package: The Workspace API's answer is too large to read: {esc(exc.message)}. Asking "
        f"again gets the same answer; raising the limit is for {_RUNNER} to decide."
    ),
    WriteUnknownError: lambda exc: (
        f":grey_question: {esc(exc.message[0].upper() + exc.message[1:])}. It may have been applied, "
        "so pooldrift will not send it again; the fix's status tells what the vendor did with it."
    ),
    ListingRepeatsError: lambda exc: (
        f":rotating_light: The Workspace API's listing never ends: {esc(exc.message)}. The fault is "
        f"upstream (the API or a proxy before it); {_RUNNER} may want to report it with the request id."
    ),
    APIStatusError: lambda exc: f":warning: The Workspace API refused the request: {esc(exc.message)}.",
    BadRequestError: lambda exc: (
        f":warning: The Workspace API could not make sense of pooldrift's request ({_status(exc)}): "
        f"{esc(exc.error_msg or exc.message)}. Whoever runs pooldrift may want to report it."
        + _request_id(exc)
    ),
    AuthenticationError: _unauthenticated,
    PermissionDeniedError: _permission_denied,
    NotFoundError: lambda exc: (
        f":mag: Huawei Cloud has no such pool in pooldrift's project ({_status(exc)}). {_LISTS}"
        + _request_id(exc)
    ),
    ConflictError: lambda exc: (
        f":hourglass: The pool is busy with another operation ({_status(exc)}). {_LATER}" + _request_id(exc)
    ),
    RateLimitError: _throttled,
    BudgetExhaustedError: _budget,
    ServerError: lambda exc: (
        f":rotating_light: The Workspace API is failing ({_status(exc)}); the problem is on "
        f"Huawei Cloud's side. {_LATER}" + _request_id(exc)
    ),
}


# What to do about a pool or project a scan could not read, by the error's outcome label (the
# scan keeps the label, not the exception); a test keeps it complete against errors.OUTCOMES.
NEXT_STEPS: dict[str, str] = {
    "error": _LATER,
    "configuration": f"{_RUNNER} should fix its configuration.",
    "project_lookup": f"{_RUNNER} should set `HUAWEICLOUD_SDK_PROJECT_ID`.",
    "invalid_input": "Check the name or id asked for.",
    "pool_not_found": f"It may have been deleted meanwhile: scan again. {_LISTS}",
    "ambiguous_pool": "Ask for it by its id.",
    "unreachable": f"{_LATER} If it keeps happening, {_RUNNER} should check its network.",
    "timeout": _LATER,
    "upstream_error": f"{_LATER} If it persists, {_RUNNER} may want to report it with the request id.",
    "malformed_response": _LATER,
    "bad_request": f"{_RUNNER} may want to report it with the request id.",
    "unauthenticated": (
        f"{_RUNNER} should check its access key pair ({_names(CREDENTIAL_VARIABLES)}) and its server clock."
    ),
    "permission_denied": "Ask an administrator to give pooldrift's IAM user the permission this needs there.",
    "not_found": "It may have been deleted meanwhile, or have no Workspace there: scan again.",
    "conflict": f"It is busy with another operation. {_LATER}",
    "throttled": f"Huawei Cloud is throttling requests. {_LATER}",
    "budget_exhausted": f"pooldrift's request budget (`POOLDRIFT_REQUESTS_PER_MINUTE`) is spent. {_LATER}",
    "server_error": f"The problem is on Huawei Cloud's side. {_LATER}",
    "listing_too_long": (
        f"Narrow it: `{COMMAND} scan <part of a pool name>`; {_RUNNER} can raise `POOLDRIFT_MAX_POOLS`."
    ),
    "listing_repeats": f"The Workspace API (or a proxy before it) repeats pages: {_RUNNER} should report it.",
    "response_too_large": (
        f"An answer was larger than pooldrift reads: {_RUNNER} can raise `POOLDRIFT_MAX_RESPONSE_BYTES`."
    ),
    "write_unknown": "A change may have been applied: pooldrift will not send it again; see its status.",
}


def next_step(outcome: str, *, iam_action: str | None = None) -> str:
    """What to do about a failure with this outcome label (a new label gets the generic step);
    for a 403, ``iam_action`` is the action refused."""
    if outcome == "permission_denied" and iam_action:
        return f"Ask an administrator to give pooldrift's IAM user `{iam_action}` there."
    step = NEXT_STEPS.get(outcome, NEXT_STEPS["error"])
    # a sentence starts upper case, but pooldrift is always spelt in lower case
    return step if step.startswith("pooldrift") else step[0].upper() + step[1:]


def guarded(wording: Callable[[], str], what: str) -> str:
    """``wording()``, or, should it fail, generic words with a reference to the logged failure."""
    try:
        return wording()
    except Exception as failure:  # whatever the data carries, the answer goes out
        ref = new_ref()
        log.error("could not word %s (ref %s)", what, ref, exc_info=failure)
        return f":warning: {what} (details in pooldrift's log under ref {code(ref)})"


def describe(exc: PooldriftError) -> Words:
    """The words for a pooldrift error (its messages carry ids and codes, never secrets).
    Should the wording itself fail, the user still gets words: generic ones, with a reference
    to the logged failure."""
    try:
        wording = next(WORDING[cls] for cls in type(exc).__mro__ if cls in WORDING)
        return Words(wording(exc))
    except Exception as failure:  # whatever the error carries, the answer goes out
        ref = new_ref()
        log.error("could not word a %s (ref %s)", type(exc).__name__, ref, exc_info=failure)
        return unexpected(ref)


def timed_out(seconds: float) -> Words:
    return Words(f":hourglass: No answer from the Workspace API within {seconds:g} seconds. {_LATER}")


def stopping() -> Words:
    return Words(
        ":arrows_counterclockwise: pooldrift is restarting and could not finish this answer in time. "
        "Ask again in a moment."
    )


def unexpected(ref: str) -> Words:
    return Words(
        f":warning: Something went wrong inside pooldrift (ref {code(ref)}). Whoever runs it can "
        "find the details in its logs under that reference.",
        ref=ref,
    )


def refused(what: str) -> Words:
    return Words(
        f":no_entry_sign: Sorry, pooldrift is not enabled for this {what}. "
        "Ask whoever runs it to add it to the allow-list."
    )
