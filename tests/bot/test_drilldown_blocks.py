"""The drifted-desktops answer as plain data: expected against actual per desktop, "not reported"
where the API said nothing, capped with the count of the rest, within Slack's limits."""

from __future__ import annotations

from typing import Any

from pooldrift_slack.drilldown_blocks import drilldown_message

from pooldrift.fleet import Baseline, Difference, DriftedDesktop, PoolDrilldown
from pooldrift.kinds import InconsistentType as K
from tests.bot.limits import texts, within_limits

POOL_ID = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
BASELINE = Baseline(
    product_id="workspace.x86.general.xlarge2", image_id="img-pool", data_disk_count=1, total_disk_gb=140
)


def desktop(n: int, *differences: Difference, name: str | None = None) -> DriftedDesktop:
    return DriftedDesktop(
        desktop_id=f"00000000-0000-4000-8000-{n:012d}",
        computer_name=name if name is not None else f"WEB{n:04d}",
        differences=list(differences),
    )


def found(rows: list[DriftedDesktop], *, total: int | None = None, **kw: Any) -> PoolDrilldown:
    values: dict[str, Any] = {
        "pool_id": POOL_ID,
        "pool_name": "web-prod",
        "project_id": "0" * 32,
        "region": "cn-north-4",
        "expected": BASELINE,
        "desktops": rows,
        "total_count": len(rows) if total is None else total,
    }
    return PoolDrilldown(**(values | kw))


def lines(payload: dict[str, Any]) -> list[str]:
    return [line for t in texts(payload["blocks"]) for line in t.splitlines() if line.startswith("• ")]


def test_each_difference_says_expected_and_actual() -> None:
    row = desktop(
        1,
        Difference(
            kind=K.PRODUCT_ID,
            expected="workspace.x86.general.xlarge2",
            actual="workspace.x86.general.2xlarge2",
        ),
        Difference(kind=K.IMAGE_ID, expected="img-pool", actual=None),
        Difference(kind=K.DISK_NUM, expected=1, actual=2),
        Difference(kind=K.DISK_SIZE, expected=None, actual=190),
    )
    payload = drilldown_message(found([row]), limit=20)
    within_limits(payload)
    assert lines(payload) == [
        "• *WEB0001* `00000000-0000-4000-8000-000000000001` — "
        "package: expected `workspace.x86.general.xlarge2`, actual `workspace.x86.general.2xlarge2`; "
        "image: expected `img-pool`, actual not reported; "
        "data disks: expected 1, actual 2; "
        "disk size: expected not reported, actual 190 GB"
    ]
    assert payload["blocks"][0]["text"]["text"] == "Drifted desktops of web-prod"
    assert payload["blocks"][1]["text"]["text"] == "1 desktop differs from the pool's configuration."
    assert payload["blocks"][2]["elements"][0]["text"] == (
        "The pool expects package `workspace.x86.general.xlarge2`, image `img-pool`, data disks 1, "
        "disk size 140 GB."
    )
    assert payload["response_type"] == "ephemeral"


def test_a_baseline_the_api_left_out_is_not_guessed() -> None:
    empty = Baseline(product_id=None, image_id=None, data_disk_count=None, total_disk_gb=None)
    payload = drilldown_message(
        found([desktop(1, Difference(kind=K.IMAGE_ID, expected=None, actual="i"))], expected=empty), limit=5
    )
    assert payload["blocks"][2]["elements"][0]["text"] == (
        "The pool expects package not reported, image not reported, data disks not reported, "
        "disk size not reported."
    )


def test_capped_with_a_count_of_the_rest() -> None:
    rows = [desktop(n, Difference(kind=K.IMAGE_ID, expected="a", actual="b")) for n in range(30)]
    payload = drilldown_message(found(rows, total=120), limit=5)
    within_limits(payload)
    assert len(lines(payload)) == 5
    assert (
        payload["blocks"][1]["text"]["text"] == "at least 120 desktops differ from the pool's configuration."
    )
    assert payload["blocks"][-1]["elements"][0]["text"] == "…and at least 115 more not listed here."
    assert payload["text"] == "At least 120 desktops of pool web-prod differ from its configuration."


def test_many_long_and_hostile_rows_stay_within_limits() -> None:
    every = [
        Difference(kind=k, expected="<!channel>" * 20, actual="`x`" * 100) for k in (K.PRODUCT_ID, K.IMAGE_ID)
    ]
    every += [
        Difference(kind=K.DISK_NUM, expected=1, actual=9),
        Difference(kind=K.DISK_SIZE, expected=100, actual=900),
    ]
    rows = [desktop(n, *every, name="<!here>" * 50) for n in range(1000)]
    payload = drilldown_message(found(rows, pool_name="p" * 400), limit=100)
    within_limits(payload)
    listed = lines(payload)
    assert 5 <= len(listed) < 100, "the text budget stops the list before the cap"
    assert payload["blocks"][-1]["elements"][0]["text"] == f"…and {1000 - len(listed)} more not listed here."
    shown = "\n".join(texts(payload["blocks"][1:]))
    assert "<!channel>" not in shown and "<!here>" not in shown


def test_kinds_the_endpoint_cannot_list_are_named() -> None:
    unavailable = [K.DISK_NUM, K.DISK_SIZE]
    row = desktop(1, Difference(kind=K.PRODUCT_ID, expected="a", actual="b"))
    payload = drilldown_message(found([row], unavailable_kinds=unavailable), limit=10)
    notes = [b["elements"][0]["text"] for b in payload["blocks"] if b["type"] == "context"][1:]
    assert notes == [
        ":grey_question: Desktops that differ in data-disk count and disk capacity: not reported "
        "(this Workspace endpoint, an older API version, cannot list them)."
    ]
    none = drilldown_message(found([], unavailable_kinds=unavailable), limit=10)
    within_limits(none)
    assert none["text"] == "No desktop of pool web-prod differs in package or image now."


def test_no_drifted_desktop() -> None:
    payload = drilldown_message(found([]), limit=10)
    within_limits(payload)
    assert payload["text"] == "No desktop of pool web-prod differs from its configuration now."
