"""Each pooldrift error class has its own words (a test keeps the table complete), none leaks
upstream markup, and a failure inside the wording still ends in words for the user."""

from __future__ import annotations

import inspect
import logging
import math
from typing import Any

import pytest
from pooldrift_slack.words import (
    NEXT_STEPS,
    WORDING,
    describe,
    next_step,
    refused,
    stopping,
    timed_out,
    unexpected,
)

from pooldrift import errors as e

WHERE: dict[str, str] = {"project_id": "0" * 32, "region": "cn-north-4"}


def api(cls: type[e.APIError], status: int, **kw: object) -> e.APIError:
    return cls("HTTP x", status_code=status, request_id="rid-1", error_code="APIGW.0000", **kw)  # type: ignore[arg-type]


def error_classes() -> list[type[e.PooldriftError]]:
    """``PooldriftError`` and every class below it, however deep."""
    found: list[type[e.PooldriftError]] = []
    pending = [e.PooldriftError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


#: a value for each required constructor argument an error class may have
SAMPLES: dict[str, Any] = {
    "field": "pool",
    "ref": "web",
    "candidates": [("id1", "web-prod")],
    "status_code": 418,
    "request_id": "rid-1",
    "pool": "web-prod (id1)",
    "what": "pools",
    "bound": 5000,
    "setting": "POOLDRIFT_MAX_POOLS",
    "limit": 16777216,
    "retry_after": 7.0,
    "cause": "timeout",
    **WHERE,
}


def example(cls: type[e.PooldriftError]) -> e.PooldriftError:
    """An instance of ``cls`` built from its signature (a new required argument needs a sample)."""
    kw: dict[str, Any] = {}
    for klass in cls.__mro__:
        if not issubclass(klass, e.PooldriftError):
            continue
        for name, param in inspect.signature(klass.__init__).parameters.items():
            if name in ("self", "message") or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            if param.default is param.empty and name not in kw:
                kw[name] = SAMPLES[name]
    if cls is e.BudgetExhaustedError:  # sets its own status and request id
        kw = {"retry_after": SAMPLES["retry_after"]}
    return cls("something happened", **kw)


def test_every_error_class_has_its_own_words() -> None:
    classes = error_classes()
    assert len(classes) >= 20  # the walk sees the whole tree
    missing = [cls.__name__ for cls in classes if cls not in WORDING]
    assert missing == [], f"no Slack wording for {missing}"
    texts = {cls: describe(example(cls)) for cls in classes}
    for cls, words in texts.items():
        assert words.ref is None, f"{cls.__name__} fell back to the generic words"
    by_text: dict[str, list[str]] = {}
    for cls, words in texts.items():
        by_text.setdefault(words.text, []).append(cls.__name__)
    shared = [names for names in by_text.values() if len(names) > 1]
    assert shared == [], f"these classes share their words: {shared}"


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (e.InvalidInputError("invalid pool reference 'a b'", field="pool"),
         ["invalid pool", "/pooldrift pools"]),
        (e.PoolNotFoundError("x", ref="web", candidates=[("id1", "web-prod"), ("id2", "web-dev")], **WHERE),
         ["No pool is named `web`", "Closest names: `web-prod`, `web-dev`"]),
        (e.PoolNotFoundError("x", ref="zzz", candidates=[], **WHERE), ["`/pooldrift pools` lists"]),
        (e.AmbiguousPoolError("x", ref="lab", candidates=[("id1", "lab"), ("id2", "LAB")]),
         ["Several pools are named `lab`", "`id1`", "`id2`"]),
        (e.ConfigurationError("missing credentials: set HUAWEICLOUD_SDK_SK"),
         ["not set up", "HUAWEICLOUD_SDK_SK"]),
        (e.ProjectLookupError("IAM has no project"), ["not set up", "IAM has no project", "PROJECT_ID"]),
        (api(e.AuthenticationError, 401), ["refused pooldrift's credentials", "clock", "`rid-1`"]),
        (api(e.PermissionDeniedError, 403, iam_action=e.LIST_POOLS_ACTION),
         ["not allowed", "Ask an administrator", "`workspace:desktopPools:list`"]),
        (api(e.PermissionDeniedError, 403), ["not allowed", "the permission this needs"]),
        (api(e.NotFoundError, 404), ["no such pool", "HTTP 404"]),
        (api(e.BadRequestError, 400), ["could not make sense", "HTTP 400"]),
        (api(e.RateLimitError, 429, retry_after=2.2), ["Try again in 3 seconds", "HTTP 429"]),
        (api(e.RateLimitError, 429), ["Try again in 5 seconds"]),
        (e.BudgetExhaustedError("spent", retry_after=11.5), ["request budget", "Try again in 12 seconds"]),
        (api(e.ServerError, 502), ["failing", "HTTP 502", "Huawei Cloud's side"]),
        (api(e.MalformedResponseError, 200), ["does not understand"]),
        (api(e.ConflictError, 409), ["busy", "HTTP 409"]),
        (e.APITimeoutError("slow"), ["did not answer in time"]),
        (e.APIConnectionError("down"), ["could not reach"]),
        (e.PooldriftError("odd <thing>"), ["odd &lt;thing&gt;"]),
    ],
)  # fmt: skip
def test_describe(exc: e.PooldriftError, words: list[str]) -> None:
    said = describe(exc)
    assert said.ref is None
    for word in words:
        assert word in said.text


def test_upstream_text_is_escaped() -> None:
    exc = e.ConflictError("HTTP 409: <!channel> busy", status_code=409, request_id="<@U1>", error_code="<b>")
    text = describe(exc).text
    assert "<!channel>" not in text and "<@U1>" not in text and "<b>" not in text


def test_a_failing_wording_still_gives_words_and_a_logged_reference(caplog: pytest.LogCaptureFixture) -> None:
    # an advice the wording cannot format: ceil(inf) raises inside it
    exc = e.RateLimitError("HTTP 429", retry_after=math.inf, status_code=429, request_id="rid-9")
    with caplog.at_level(logging.ERROR, logger="pooldrift.slack"):
        said = describe(exc)
    assert said.ref is not None and f"ref `{said.ref}`" in said.text
    (record,) = [r for r in caplog.records if r.name == "pooldrift.slack"]
    assert said.ref in record.getMessage() and "RateLimitError" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is OverflowError


def test_the_others() -> None:
    assert "within 2.5 seconds" in timed_out(2.5).text
    assert "ref `abcd`" in unexpected("abcd").text and unexpected("abcd").ref == "abcd"
    assert "this channel" in refused("channel").text
    assert "restarting" in stopping().text


def test_every_outcome_a_scan_can_report_has_a_next_step() -> None:
    assert set(NEXT_STEPS) == set(e.OUTCOMES)
    for outcome in e.OUTCOMES:
        step = next_step(outcome)
        assert step[0].isupper() or step.startswith("pooldrift"), step
        assert step.endswith("."), step
    assert next_step("a_label_added_later") == next_step("error")
    assert f"`{e.LIST_POOLS_ACTION}`" in next_step("permission_denied", iam_action=e.LIST_POOLS_ACTION)
    assert "the permission this needs" in next_step("permission_denied")
