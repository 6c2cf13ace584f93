"""The next step after a refused call, as data every front words its own way: who acts, whether a
retry helps, which variable or IAM action is involved, and after how long to retry.

The CLI prints ``Remedy.line()``; the MCP server and the Slack bot phrase the same fields for
their readers (a model, a person in Slack), so the facts live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import (
    AuthenticationError,
    BudgetExhaustedError,
    PermissionDeniedError,
    PooldriftError,
    RateLimitError,
)

__all__ = ["CLOCK_SKEW_MINUTES", "CREDENTIAL_VARIABLES", "Remedy", "remedy"]

#: The key pair a 401 is about (the SDK's names; only ever named, never their values).
CREDENTIAL_VARIABLES = ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK")
#: How far the signing machine's clock may be off before the gateway refuses it (APIGW.0303).
CLOCK_SKEW_MINUTES = 15


@dataclass(frozen=True)
class Remedy:
    who: str  # "user" (whoever set pooldrift up), "administrator" (of IAM) or "wait"
    retry_helps: bool
    variables: tuple[str, ...] = ()
    iam_action: str | None = None
    retry_after: int | None = None
    #: the machine's clock may be the cause (a signature refused as too old or too new)
    check_clock: bool = False

    def line(self) -> str:
        """The next step as one sentence (no secret: names of variables, never their values)."""
        if self.retry_after is not None:
            spent = f" ({self.variables[0]} is spent)" if self.variables else ""
            return f"next: retry in {self.retry_after} s{spent}; do not run it in a tight loop"
        if self.who == "administrator":
            what = f"the IAM action {self.iam_action}" if self.iam_action else "access to this call"
            return (
                f"next: ask an administrator to grant {what} to the user of these credentials; "
                "retrying will not help"
            )
        clock = (
            f" and the machine's clock (within {CLOCK_SKEW_MINUTES} minutes of real time)"
            if self.check_clock
            else ""
        )
        return f"next: check {' / '.join(self.variables)}{clock}; retrying will not help"


def remedy(exc: PooldriftError) -> Remedy | None:
    """What to do about ``exc`` when it is a 401, 403 or 429; None for the others."""
    if isinstance(exc, BudgetExhaustedError):
        return Remedy(
            "wait", True, variables=("POOLDRIFT_REQUESTS_PER_MINUTE",), retry_after=exc.wait_seconds
        )
    if isinstance(exc, RateLimitError):
        return Remedy("wait", True, retry_after=exc.wait_seconds)
    if isinstance(exc, PermissionDeniedError):
        return Remedy("administrator", False, iam_action=exc.iam_action)
    if isinstance(exc, AuthenticationError):
        return Remedy("user", False, variables=CREDENTIAL_VARIABLES, check_clock=True)
    return None
