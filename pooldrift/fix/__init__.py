"""Fixing drift: a plan anyone can read (``plan``), computed from the API's own answers, and the
policy that bounds it (``FixPolicy``). Applying a plan comes with the emulator's write side."""

from __future__ import annotations

from .plan import FixPlan, build_plan, plan, validate_plan_id
from .policy import FixPolicy, load_fix_policy

__all__ = ["FixPlan", "FixPolicy", "build_plan", "load_fix_policy", "plan", "validate_plan_id"]
