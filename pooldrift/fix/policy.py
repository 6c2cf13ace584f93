"""What a fix may do, from the environment: how many desktops one fix may touch, whether
desktops with a user logged in are included, what users are told and when, which kinds of drift
may be fixed at all, and how long a plan stands. Built with ``pooldrift.config.load``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode

from ..config import PooldriftSettings, load
from ..kinds import InconsistentType
from ..validation import shown

__all__ = ["DEFAULT_MESSAGE", "FixPolicy", "load_fix_policy"]

#: what users see before their desktop restarts (the vendor shows at most 400 characters)
DEFAULT_MESSAGE = (
    "Your cloud desktop will restart shortly to bring it back in line with its pool. "
    "Please save your work now."
)


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class FixPolicy(PooldriftSettings):
    """The bounds a plan is checked against (``plan`` refuses what they do not allow)."""

    max_desktops: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=50, validation_alias=_env("POOLDRIFT_FIX_MAX_DESKTOPS"),
        description="Most desktops one fix may touch; a larger plan is refused, to be narrowed.",
    )  # fmt: skip
    include_logged_in: bool = Field(
        default=False, validation_alias=_env("POOLDRIFT_FIX_INCLUDE_LOGGED_IN"),
        description="Touch desktops a user is logged in to (told first); off: skipped and listed.",
    )  # fmt: skip
    delay_minutes: Annotated[int, Field(ge=0, le=15)] = Field(
        default=5, validation_alias=_env("POOLDRIFT_FIX_DELAY"),
        description="Minutes users get before their desktop restarts (the vendor's delay_time, 0-15).",
    )  # fmt: skip
    message: Annotated[str, Field(min_length=1, max_length=400)] = Field(
        default=DEFAULT_MESSAGE, validation_alias=_env("POOLDRIFT_FIX_MESSAGE"),
        description="What users are shown before the restart (at most 400 characters).",
    )  # fmt: skip
    kinds: Annotated[list[InconsistentType], NoDecode] = Field(
        default_factory=lambda: list(InconsistentType), validation_alias=_env("POOLDRIFT_FIX_KINDS"),
        description="Kinds of drift that may be fixed (comma-separated); the others are manual.",
    )  # fmt: skip
    plan_minutes: Annotated[int, Field(ge=1, le=1440)] = Field(
        default=30, validation_alias=_env("POOLDRIFT_FIX_PLAN_TTL"),
        description="Minutes a plan stands; an older one must be planned again.",
    )  # fmt: skip

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if not isinstance(value, list | tuple):
            return value
        kinds: list[InconsistentType] = []
        for item in value:
            if isinstance(item, InconsistentType):
                kind = item
            else:
                try:
                    kind = InconsistentType.parse(str(item))
                except ValueError:
                    known = ", ".join(k.value for k in InconsistentType)
                    raise ValueError(f"unknown kind of drift {shown(str(item))}; one of {known}") from None
            if kind not in kinds:
                kinds.append(kind)
        return kinds

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the message users get cannot be blank")
        return value


def load_fix_policy(**overrides: Any) -> FixPolicy:
    """The policy from ``overrides``, then the environment; a bad value names its variable."""
    return load(FixPolicy, what="fix policy", **overrides)
