"""The read-only IAM policy shipped in manifests/iam grants every action a 403 can name, and the
README beside it lists each: an action granted nowhere would send an administrator in circles."""

from __future__ import annotations

import json
from pathlib import Path

from pooldrift.errors import FIX_ACTIONS, IAM_ACTIONS, JOB_ACTION, PermissionDeniedError
from pooldrift.remedies import remedy

IAM = Path(__file__).resolve().parents[2] / "manifests" / "iam"


def granted() -> set[str]:
    policy = json.loads((IAM / "pooldrift-readonly.json").read_text())
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_every_action_a_remedy_can_name_is_granted_by_the_readonly_policy() -> None:
    named = set()
    for action in IAM_ACTIONS:
        step = remedy(PermissionDeniedError("HTTP 403", status_code=403, request_id=None, iam_action=action))
        assert step is not None and step.iam_action == action
        named.add(step.iam_action)
    assert named <= granted()


def test_the_readonly_policy_grants_nothing_pooldrift_does_not_call() -> None:
    assert granted() == set(IAM_ACTIONS)


def test_the_policy_readme_lists_every_action() -> None:
    readme = (IAM / "README.md").read_text()
    for action in IAM_ACTIONS:
        assert f"`{action}`" in readme


def fix_granted() -> set[str]:
    policy = json.loads((IAM / "pooldrift-fix.json").read_text())
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_the_fix_policy_grants_exactly_what_a_fix_sends_and_follows() -> None:
    assert fix_granted() == {*FIX_ACTIONS.values(), JOB_ACTION}
    assert not fix_granted() & granted(), "the read-only policy stays as it is"
    readme = (IAM / "README.md").read_text()
    for action in fix_granted():
        assert f"`{action}`" in readme


def test_every_write_a_plan_can_send_has_its_action() -> None:
    from pooldrift.fix.plan import Operation

    assert {op.value for op in Operation} == set(FIX_ACTIONS)
