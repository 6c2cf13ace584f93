"""The next step after a refused call, as data every front words its own way: who acts, whether a
retry helps, which variable or IAM action is involved, and after how long to retry."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import (
    STATISTICS_ACTION,
    AuthenticationError,
    PermissionDeniedError,
    PooldriftError,
    RateLimitError,
)

__all__ = ["Remedy", "remedy"]


@dataclass(frozen=True)
class Remedy:
    who: str  # "user", "administrator" or "wait"
    retry_helps: bool
    variables: tuple[str, ...] = ()
    iam_action: str | None = None
    retry_after: int | None = None

    def line(self) -> str:
        """The next step as one sentence (no secret: names of variables, never their values)."""
        if self.retry_after is not None:
            return f"next: retry in {self.retry_after} s; do not run it in a tight loop"
        if self.iam_action is not None:
            return (
                f"next: ask an administrator to grant the IAM action {self.iam_action} (and read "
                "access to Workspace desktop pools) to the user of these credentials; retrying will not help"
            )
        return (
            f"next: check {' / '.join(self.variables)} and the machine's clock (within 15 minutes "
            "of real time); retrying will not help"
        )


def remedy(exc: PooldriftError) -> Remedy | None:
    """What to do about ``exc`` when it is a 401, 403 or 429; None for the others."""
    if isinstance(exc, RateLimitError):
        return Remedy("wait", True, retry_after=exc.wait_seconds)
    if isinstance(exc, PermissionDeniedError):
        return Remedy("administrator", False, iam_action=STATISTICS_ACTION)
    if isinstance(exc, AuthenticationError):
        return Remedy("user", False, variables=("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"))
    return None
