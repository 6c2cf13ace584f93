"""Each pooldrift error class has its own words and audit outcome; none leaks upstream markup."""

from __future__ import annotations

import pytest
from pooldrift_slack.words import describe, refused, timed_out, unexpected

from pooldrift import errors as e

WHERE: dict[str, str] = {"project_id": "0" * 32, "region": "cn-north-4"}


def api(cls: type[e.APIError], status: int, **kw: object) -> e.APIError:
    return cls("HTTP x", status_code=status, request_id="rid-1", error_code="APIGW.0000", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "outcome", "words"),
    [
        (e.InvalidInputError("invalid pool reference 'a b'", field="pool"), "invalid_input",
         ["invalid pool", "/pooldrift pools"]),
        (e.PoolNotFoundError("x", ref="web", candidates=[("id1", "web-prod"), ("id2", "web-dev")], **WHERE),
         "not_found",
         ["No pool is named `web`", "Closest names: `web-prod`, `web-dev`"]),
        (e.PoolNotFoundError("x", ref="zzz", candidates=[], **WHERE), "not_found",
         ["`/pooldrift pools` lists"]),
        (e.AmbiguousPoolError("x", ref="lab", candidates=[("id1", "lab"), ("id2", "LAB")]), "ambiguous",
         ["Several pools are named `lab`", "`id1`", "`id2`"]),
        (e.ConfigurationError("missing credentials: set HUAWEICLOUD_SDK_SK"), "config",
         ["not set up", "HUAWEICLOUD_SDK_SK"]),
        (e.ProjectLookupError("IAM has no project"), "config", ["not set up", "IAM has no project"]),
        (api(e.AuthenticationError, 401), "auth", ["refused pooldrift's credentials", "clock", "`rid-1`"]),
        (api(e.PermissionDeniedError, 403), "forbidden", ["not allowed", "getStatisticsByInconsistent"]),
        (api(e.NotFoundError, 404), "not_found", ["no such pool", "HTTP 404"]),
        (api(e.RateLimitError, 429, retry_after=2.2), "throttled", ["Try again in 3 seconds", "HTTP 429"]),
        (api(e.RateLimitError, 429), "throttled", ["Try again in 5 seconds"]),
        (api(e.ServerError, 502), "upstream_error", ["failing", "HTTP 502", "Huawei Cloud's side"]),
        (api(e.MalformedResponseError, 200), "upstream_error", ["does not understand"]),
        (api(e.ConflictError, 409), "upstream_error", ["refused the request"]),
        (e.APITimeoutError("slow"), "timeout", ["did not answer in time"]),
        (e.APIConnectionError("down"), "unreachable", ["could not reach"]),
        (e.PooldriftError("odd <thing>"), "error", ["odd &lt;thing&gt;"]),
    ],
)  # fmt: skip
def test_describe(exc: e.PooldriftError, outcome: str, words: list[str]) -> None:
    problem = describe(exc)
    assert problem.outcome == outcome
    for word in words:
        assert word in problem.text


def test_upstream_text_is_escaped() -> None:
    exc = e.ConflictError("HTTP 409: <!channel> busy", status_code=409, request_id="<@U1>", error_code="<b>")
    text = describe(exc).text
    assert "<!channel>" not in text and "<@U1>" not in text and "<b>" not in text


def test_the_others() -> None:
    assert "within 2.5 seconds" in timed_out(2.5).text
    assert "ref `abcd`" in unexpected("abcd").text and unexpected("abcd").outcome == "internal_error"
    assert "this channel" in refused("channel").text and refused("channel").outcome == "refused"
