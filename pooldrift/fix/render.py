"""A fix's plan as the CLI prints it: what will be done to whom, who is logged in, what is left
for a person and why, the vendor calls in order; pure. Upstream names pass ``text.safe``."""

from __future__ import annotations

from ..render import table
from ..text import safe
from .plan import FixPlan

__all__ = ["render_plan"]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_plan(plan: FixPlan, *, applying: bool = False) -> str:
    """The plan as tables; ``applying``: shown before it is applied (no "nothing was changed")."""
    t, e = plan.totals, plan.expected
    kinds = ", ".join(k.label.lower() for k in plan.kinds)
    lines = [
        f"Plan {plan.id} for pool {safe(plan.pool_name)} ({plan.pool_id}), project {plan.project_id} "
        f"({plan.region})",
        f"Kinds     {kinds}; expires {plan.expires_at:%Y-%m-%d %H:%M} UTC",
        f"Pool has  package {safe(str(e.product_id or '?'))}, image {safe(str(e.image_id or '?'))}, "
        f"{'?' if e.data_disk_count is None else _plural(e.data_disk_count, 'data disk')}, "
        f"{'?' if e.total_disk_gb is None else e.total_disk_gb} GB in all",
    ]
    if not plan.desktops:
        lines.append("\nNo desktop of this pool drifts in these kinds: nothing to fix.")
        return "\n".join(lines)
    summary = (
        f"Would touch {_plural(t.touched, 'desktop')} of {t.drifted} drifted with "
        f"{_plural(t.vendor_calls, 'vendor call')}"
    )
    if t.logged_in_touched:
        summary += f"; {_plural(t.logged_in_touched, 'user')} logged in now, told first"
    if t.logged_in_skipped:
        summary += f"; {t.logged_in_skipped} logged in now, skipped"
    if t.manual:
        summary += f"; {t.manual} left for a person"
    lines += [summary + ".", ""]
    touched = [p for p in plan.desktops if p.fixes]
    if touched:
        rows: list[tuple[str, ...]] = [
            (
                p.computer_name or "-" if i == 0 else "",
                ", ".join(p.users) or "-" if i == 0 else "",
                ("yes" if p.logged_in else "no") if i == 0 else "",
                fix.detail,
                "; ".join(p.disruption) if i == 0 else "",
            )
            for p in touched
            for i, fix in enumerate(p.fixes)
        ]
        lines += [table(("Computer", "Users", "Logged in", "Will do", "What the user feels"), rows), ""]
    left = [p for p in plan.desktops if p.manual]
    if left:
        rows = [
            (
                p.computer_name or "-" if i == 0 else "",
                ", ".join(p.users) or "-" if i == 0 else "",
                item.kind.label.lower() if item.kind else "all",
                item.why,
            )
            for p in left
            for i, item in enumerate(p.manual)
        ]
        lines += ["Left for a person:", table(("Computer", "Users", "Drift", "Why"), rows), ""]
    if plan.unavailable_kinds:
        names = ", ".join(k.label.lower() for k in plan.unavailable_kinds)
        lines += [f"Not planned: this endpoint cannot list desktops by {names}.", ""]
    if plan.calls:
        lines.append("Vendor calls, in order:")
        lines += [
            f"  {n}. {c.operation.value} {c.method} {c.path} ({_plural(len(c.desktop_ids), 'desktop')})"
            for n, c in enumerate(plan.calls, start=1)
        ]
        lines.append("")
    if plan.refused:
        lines.append(f"Refused by the policy: {plan.refused}.")
    if not applying:
        lines.append("This is a plan: nothing was changed.")
    return "\n".join(lines).rstrip("\n")
