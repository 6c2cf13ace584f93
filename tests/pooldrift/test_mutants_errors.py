"""Errors from upstream answers, word for word: which field wins, how long a message may be, what
an HTML page or an empty body says, Retry-After in every form; and what each error carries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest

from pooldrift import errors
from pooldrift.errors import parse_retry_after, status_error_from_response

PAGE = "<html><head><TITLE>502\n Bad Gateway</TITLE></head><body><h1>nginx</h1></body></html>"


def answer(status: int, body: bytes | str | dict[str, object] = b"", **headers: str) -> errors.APIStatusError:
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    content = content.encode() if isinstance(content, str) else content
    return status_error_from_response(httpx2.Response(status, content=content, headers=headers))


def test_error_msg_wins_over_message_and_empty_values_fall_through() -> None:
    both = answer(400, {"error_code": "WKS.1", "error_msg": "the documented one", "message": "the other"})
    assert both.error_msg == "the documented one"
    assert both.message == "HTTP 400 WKS.1: the documented one"
    empty = answer(400, {"error_code": "", "code": "X.2", "error_msg": "", "message": "said here"})
    assert (empty.error_code, empty.error_msg) == ("X.2", "said here")


def test_an_over_long_upstream_message_is_cut() -> None:
    exc = answer(500, {"error_code": "C" * 400, "error_msg": "m" * 5000, "error_detail": "d" * 400})
    assert exc.error_msg == "m" * 300
    assert exc.error_code == "C" * 300 and exc.error_detail == "d" * 300
    assert len(exc.message) < 700


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"error_detail": "a"}, "a"),
        ({"errorDetail": "b"}, "b"),
        ({"detail": "c"}, "c"),
        ({"error": {"detail": "d", "code": "E.1"}}, "d"),
        ({"detail": 42}, "42"),
    ],
)
def test_the_detail_is_found_in_every_shape(body: dict[str, object], detail: str) -> None:
    assert answer(400, body).error_detail == detail


@pytest.mark.parametrize(
    ("status", "body", "message"),  # the page's title, not its text; text without its tags
    [
        (400, {"error_code": "X.1", "error_msg": "it failed"}, "HTTP 400 X.1: it failed"),
        (503, b"", "HTTP 503: Service Unavailable"),
        (599, b"", "HTTP 599: no details"),
        (502, PAGE, "HTTP 502: 502 Bad Gateway"),
        (502, "<html><body><h1>nginx</h1> <p>down</p></body></html>", "HTTP 502: nginx down"),
        (500, "a < b: plain text", "HTTP 500: a < b: plain text"),
        (500, b"bad \xff byte", "HTTP 500: bad \ufffd byte"),
        (500, "x" * 130, "HTTP 500: " + "x" * 120),
        (500, "[1, 2]", "HTTP 500: [1, 2]"),
    ],
)
def test_what_the_message_says(status: int, body: bytes | str | dict[str, object], message: str) -> None:
    exc = answer(status, body)
    assert exc.message == message
    assert exc.request_id is None and exc.status_code == status


def test_the_request_id_closes_the_message() -> None:
    exc = answer(404, {"error_code": "WKS.0004", "error_msg": "gone"}, **{"X-Request-Id": "r-9"})
    assert exc.message == "HTTP 404 WKS.0004: gone (request id r-9)"


def test_only_the_first_2000_bytes_of_a_page_are_read() -> None:
    head = "<!-- " + "p" * 1966 + " --><title>Bad Gateway</title"
    page = head + ">" + "x" * 50  # the title's last ">" is byte 2001: beyond what is read
    assert len(head) == 2000
    assert answer(502, page).message == "HTTP 502: Bad Gateway</title"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("-1", 0.0), ("-0.5", 0.0), ("0", 0.0), ("1.5", 1.5), ("garbage", None)],
)
def test_retry_after_seconds_are_never_negative(header: str, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds
    throttled = answer(429, {"error_code": "APIGW.0308"}, **{"Retry-After": header})
    assert isinstance(throttled, errors.RateLimitError)
    assert throttled.retry_after == parse_retry_after(header)


def test_retry_after_as_a_date_with_and_without_a_zone() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    for header in (format_datetime(soon, usegmt=True), format_datetime(soon.replace(tzinfo=None))):
        seconds = parse_retry_after(header)
        assert seconds is not None and 25 < seconds <= 30, header
    past = format_datetime((datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None))
    assert parse_retry_after(past) == 0.0


def test_each_error_keeps_what_it_was_given() -> None:
    invalid = errors.InvalidInputError("bad", field="pool")
    assert (invalid.message, invalid.field, str(invalid)) == ("bad", "pool", "bad")
    missing = errors.PoolNotFoundError(
        "none", ref="lab", candidates=[("id-1", "lab-a")], project_id="p" * 32, region="cn-north-4"
    )
    assert (missing.message, missing.ref, missing.candidates) == ("none", "lab", [("id-1", "lab-a")])
    assert (missing.project_id, missing.region) == ("p" * 32, "cn-north-4")
    twins = errors.AmbiguousPoolError("two", ref="lab", candidates=[("a", "lab"), ("b", "lab")])
    assert (twins.message, twins.ref, len(twins.candidates)) == ("two", "lab", 2)
    unreachable = errors.APIConnectionError("down", request_id="r-1")
    assert (unreachable.message, unreachable.request_id, str(unreachable)) == ("down", "r-1", "down")
    budget = errors.BudgetExhaustedError("spent", retry_after=2.5)
    assert (budget.status_code, budget.error_code, budget.request_id) == (429, "POOLDRIFT.BUDGET", None)
    assert (budget.retry_after, budget.wait_seconds, budget.message) == (2.5, 3, "spent")
