"""The scan answer as plain data: worst first with a button per pool, failures grouped with their
next step, foreign names escaped, and Slack's limits held at 1,000 pools."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from pooldrift_slack.address import parse_address
from pooldrift_slack.blocks import OPEN_POOL_ROUTE, help_message
from pooldrift_slack.scan_blocks import counted_message, scan_message, scanning_text
from pooldrift_slack.words import next_step

from pooldrift.errors import STATISTICS_ACTION
from pooldrift.fleet import FleetScan, ScanFailure
from pooldrift.kinds import InconsistentType as K
from tests.bot.fleets import HOSTILE, big_fleet, entry, failure, scan
from tests.bot.limits import texts, within_limits


def build(found: FleetScan, *, limit: int = 20, all_projects: bool = False, **kw: Any) -> dict[str, Any]:
    return scan_message(
        found,
        limit=limit,
        region="cn-north-4",
        who="U0USER001",
        elapsed_ms=1234.5,
        in_channel=True,
        all_projects=all_projects,
        **kw,
    )


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]


def mrkdwn(payload: dict[str, Any]) -> str:
    return "\n".join(texts([b for b in payload["blocks"] if b["type"] not in ("header", "actions")]))


def size(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, ensure_ascii=False).encode())


@pytest.mark.parametrize("all_projects", [False, True])
@pytest.mark.parametrize("limit", [1, 20, 100])
def test_a_thousand_pools_stay_within_slacks_limits(limit: int, all_projects: bool) -> None:
    found = big_fleet(1000, projects=5 if all_projects else 1)
    payload = build(found, limit=limit, all_projects=all_projects)
    within_limits(payload)
    attention = [p for p in found.pools if not p.report.consistent]
    clicks = buttons(payload)
    # the worst pools, in order, as many as the cap and the text budget allow (a third of these
    # names are markup that escaping makes longer)
    assert min(limit, 40) <= len(clicks) <= limit
    opened = [parse_address(b["value"], other_projects=all_projects) for b in clicks]
    assert [a.pool_id for a in opened] == [p.pool_id for p in attention[: len(clicks)]]
    if all_projects:
        assert [(a.region, a.project_id) for a in opened] == [
            (p.region, p.project_id) for p in attention[: len(clicks)]
        ]
    assert all(OPEN_POOL_ROUTE.match(b["action_id"]) for b in clicks)
    assert len({b["action_id"] for b in clicks}) == len(clicks), "Slack refuses a repeated action_id"
    assert [b["text"]["text"].split(".")[0] for b in clicks] == [str(n) for n in range(1, len(clicks) + 1)]
    rest = f"…and {len(attention) - len(clicks)} more pools with drift or unreported counts not listed"
    assert rest in mrkdwn(payload)
    t = found.totals
    fields = next(b["fields"] for b in payload["blocks"] if "fields" in b)
    assert [f["text"] for f in fields] == [
        f"*Pools*\n{t.pools}" + (f" in {t.projects} projects" if all_projects else ""),
        f"*Drifted*\n{t.drifted_pools}",
        f"*Consistent*\n{t.consistent_pools}",
        f"*Not fully reported*\n{t.unknown_pools}",
        f"*Failed*\n{t.failed_pools} pools, 2 projects",
        f"*Drifted desktops*\nat least {t.drifted_desktops_at_least} of {t.desktops}",
    ]
    assert payload["blocks"][0]["text"]["text"] == f"⚠️ {t.drifted_pools} of {t.pools} pools have drifted"
    # every failure is accounted for: listed in a group, or counted in the rest
    failures = next(
        b["text"]["text"] for b in payload["blocks"] if "Could not scan" in b.get("text", {}).get("text", "")
    )
    grouped = sum(int(n) for n in re.findall(r"^• \*(\d+) (?:pool|project)s?\*", failures, re.M))
    left = re.search(r"…and (\d+) more not scanned", failures)
    assert grouped + (int(left.group(1)) if left else 0) == len(found.failures)


def test_the_size_of_the_answer_at_a_thousand_pools() -> None:
    """Reported in the docs: bytes and blocks at the default cap and at the largest."""
    found = big_fleet(1000)
    default, largest = build(found, limit=20), build(found, limit=100)
    for payload in (default, largest):
        within_limits(payload)
    assert len(default["blocks"]) <= 10 and size(default) < 12_000
    assert len(largest["blocks"]) <= 20 and size(largest) < 30_000


def test_each_pool_line_says_how_it_drifted() -> None:
    found = scan(
        [
            entry(
                1, {K.PRODUCT_ID: 2, K.IMAGE_ID: 0, K.DISK_NUM: 0, K.DISK_SIZE: 0}, name="small", desktops=10
            ),
            entry(
                2,
                {K.PRODUCT_ID: 7, K.IMAGE_ID: 9, K.DISK_NUM: 0, K.DISK_SIZE: None},
                name="big",
                desktops=None,
            ),
            entry(3, dict.fromkeys(K, 0), name="fine"),
            entry(4, {K.PRODUCT_ID: 0, K.IMAGE_ID: 0, K.DISK_NUM: None, K.DISK_SIZE: None}, name="old-api"),
        ]
    )
    payload = build(found)
    within_limits(payload)
    (lines,) = [
        b["text"]["text"]
        for b in payload["blocks"]
        if b["type"] == "section" and "*1.*" in b.get("text", {}).get("text", "")
    ]
    assert lines.splitlines() == [
        "*1.* :warning: *big* — at least 9 desktops: package 7, image 9; disk size not reported",
        "*2.* :warning: *small* — at least 2 of 10 desktops: package 2",
        "*3.* :grey_question: *old-api* — no drift in package, image; data disks, disk size not reported",
    ]
    by_name = {p.pool_name: p.pool_id for p in found.pools}
    assert [b["value"] for b in buttons(payload)] == [by_name["big"], by_name["small"], by_name["old-api"]]
    assert "fine" not in json.dumps(buttons(payload)), "consistent pools are counted, not listed"
    context = payload["blocks"][-1]["elements"][0]["text"]
    assert context == (
        f"cn-north-4 · project `{'0' * 32}` · scanned 12:30:05 UTC · 1234 ms · asked by <@U0USER001>"
    )
    assert (
        payload["text"]
        == "2 of 4 pools drifted (at least 11 of 110 desktops); 1 consistent, 1 not fully reported."
    )
    assert payload["response_type"] == "in_channel"


@pytest.mark.parametrize(("limit", "rest"), [(3, None), (4, None), (2, 1), (1, 2)])
def test_the_rest_is_counted_exactly_when_the_limit_cuts_the_list(limit: int, rest: int | None) -> None:
    found = scan([entry(n, {K.IMAGE_ID: n}) for n in range(1, 4)] + [entry(9, dict.fromkeys(K, 0))])
    payload = build(found, limit=limit)
    within_limits(payload)
    assert len(buttons(payload)) == min(limit, 3)
    said = re.findall(r"…and (\d+) more pools with drift", mrkdwn(payload))
    assert said == ([] if rest is None else [str(rest)])


def test_failures_are_grouped_with_their_next_step() -> None:
    failures = [failure(i, "server_error") for i in range(7)]
    failures.append(
        failure(7, "permission_denied", status=403).model_copy(update={"iam_action": STATISTICS_ACTION})
    )
    failures.append(failure(8, "timeout", status=None))
    payload = build(scan([entry(1, dict.fromkeys(K, 0))], failures))
    within_limits(payload)
    (text,) = [t for t in texts(payload["blocks"]) if t.startswith("*Could not scan*")]
    lines = text.splitlines()[1:]
    assert lines[0] == (
        "• *7 pools* — server error (HTTP 500 APIGW.0103): `failed-0`, `failed-1`, `failed-2`, `failed-3`, "
        f"`failed-4` and 2 more. {next_step('server_error')} Request id `req-0` (the first)."
    )
    assert lines[1].startswith("• *1 pool* — permission denied (HTTP 403 APIGW.0103): `failed-7`. ")
    assert (
        "workspace:desktopPools:getStatisticsByInconsistent" in lines[1] and "Request id `req-7`." in lines[1]
    )
    assert lines[2] == f"• *1 pool* — timeout: `failed-8`. {next_step('timeout')} Request id `req-8`."
    assert "<!here>" not in json.dumps(payload), "upstream text is not shown at all"
    assert (
        payload["blocks"][0]["text"]["text"] == "❔ No drift reported; 1 of 10 pools known to be consistent"
    )


def test_a_project_that_could_not_be_listed_comes_first() -> None:
    project = ScanFailure(
        scope="project", region="cn-east-3", project_id="1" * 32, project_name="cn-east-3_ops",
        outcome="unauthenticated", status_code=401, error_code="APIGW.0301", message="no",
    )  # fmt: skip
    payload = build(scan([], [failure(1, "conflict", status=409), project]), all_projects=True)
    within_limits(payload)
    (text,) = [t for t in texts(payload["blocks"]) if t.startswith("*Could not scan*")]
    first = text.splitlines()[1]
    assert first.startswith(
        "• *1 project* — unauthenticated (HTTP 401 APIGW.0301): `cn-east-3_ops` (cn-east-3)."
    )
    assert "access key pair" in first
    assert payload["blocks"][0]["text"]["text"] == "🚫 None of 1 pool could be scanned"


def test_a_wording_that_fails_still_gives_a_line_and_a_logged_reference(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = ScanFailure.model_construct(
        scope="pool", region="cn-north-4", project_id="0" * 32, pool_id=None, pool_name="p",
        outcome=None, status_code=None, error_code=None, request_id=None, message="",
    )  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="pooldrift.slack"):
        payload = build(scan([entry(1, {K.PRODUCT_ID: 1})], [broken, failure(2, "timeout", status=None)]))
    within_limits(payload)
    (record,) = [r for r in caplog.records if r.name == "pooldrift.slack"]
    ref = re.search(r"ref (\w+)", record.getMessage())
    assert ref and record.exc_info is not None
    text = mrkdwn(payload)
    assert f"1 pool could not be scanned (details in pooldrift's log under ref `{ref.group(1)}`)" in text
    assert f"`failed-2`. {next_step('timeout')}" in text, "the other failures are still worded"


def test_foreign_names_cannot_ping_or_link() -> None:
    pools = [entry(n, {K.IMAGE_ID: n + 1}, name=name) for n, name in enumerate(HOSTILE)]
    payload = build(scan(pools), name="win11")
    within_limits(payload)
    text = mrkdwn(payload)
    assert "<!channel>" not in text and "<https://" not in text
    assert "&lt;!channel&gt;" in text
    assert "pools whose name contains `win11`" in payload["blocks"][-1]["elements"][0]["text"]


@pytest.mark.parametrize(
    ("pools", "title"),
    [
        ([entry(1, dict.fromkeys(K, 0)), entry(2, dict.fromkeys(K, 0))], "✅ All 2 pools are consistent"),
        ([], "🔍 No desktop pools found"),
        (
            [entry(1, {K.PRODUCT_ID: 0, K.IMAGE_ID: 0})],
            "❔ No drift reported; 0 of 1 pool known to be consistent",
        ),
    ],
)
def test_titles(pools: list[Any], title: str) -> None:
    payload = build(scan(pools))
    within_limits(payload)
    assert payload["blocks"][0]["text"]["text"] == title
    if "consistent" in title and "✅" in title:
        assert buttons(payload) == []


def test_the_first_lines() -> None:
    assert scanning_text(None, all_projects=False) == ":mag: Scanning the pools…"
    assert scanning_text("win11", all_projects=True) == (
        ":mag: Scanning the pools whose name contains `win11` of every project pooldrift can reach…"
    )
    first = counted_message(12, None)
    assert (
        first["text"] == ":hourglass_flowing_sand: Scanning 12 pools…"
        and first["response_type"] == "ephemeral"
    )
    assert counted_message(1, "lab")["text"].endswith("Scanning 1 pool whose name contains `lab`…")


def test_help_lists_the_scan() -> None:
    payload = help_message()
    text = json.dumps(payload["blocks"])
    assert "*/pooldrift scan*" in text and "*/pooldrift scan <part of a name>*" in text
    assert "/pooldrift scan [name]" in payload["text"]
