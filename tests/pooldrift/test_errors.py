"""Every non-2xx answer maps to one typed error that keeps code, message and request id."""

from __future__ import annotations

import json

import httpx2
import pytest

from pooldrift import errors
from pooldrift.errors import parse_retry_after, status_error_from_response


def response(status: int, body: bytes | str | dict[str, object], **headers: str) -> httpx2.Response:
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    content = content.encode() if isinstance(content, str) else content
    return httpx2.Response(status, content=content, headers={"X-Request-Id": "req-1", **headers})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
        (504, errors.ServerError),
        (418, errors.APIStatusError),
    ],
)
def test_status_classes(status: int, cls: type[errors.APIStatusError]) -> None:
    exc = status_error_from_response(
        response(
            status,
            {
                "error_code": "WKS.0001",
                "error_msg": "it failed",
                "error_detail": "detail",
                "encoded_authorization_message": "enc",
            },
        )
    )
    assert type(exc) is cls
    assert isinstance(exc, errors.PooldriftError)
    assert (exc.status_code, exc.error_code, exc.error_msg) == (status, "WKS.0001", "it failed")
    assert (exc.error_detail, exc.encoded_authorization_message) == ("detail", "enc")
    assert exc.request_id == "req-1"
    assert "WKS.0001" in exc.message and "req-1" in exc.message and "it failed" in exc.message


def test_rate_limit_keeps_code_and_retry_after() -> None:
    exc = status_error_from_response(
        response(
            429,
            {"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"},
            **{"Retry-After": "3"},
        )
    )
    assert isinstance(exc, errors.RateLimitError)
    assert exc.error_code == "APIGW.0308"
    assert exc.retry_after == 3.0 and exc.wait_seconds == 3
    assert exc.request_id == "req-1"
    no_advice = status_error_from_response(response(429, {"error_code": "APIGW.0308"}))
    assert isinstance(no_advice, errors.RateLimitError)
    assert no_advice.retry_after is None and no_advice.wait_seconds == 5  # the vendor's 2–5 s advice


@pytest.mark.parametrize(
    "body",
    [
        {"errorCode": "X.1", "errorMsg": "camel"},
        {"code": "X.1", "message": "camel"},
        {"error": {"code": "X.1", "message": "camel"}},
    ],
)
def test_other_error_body_shapes(body: dict[str, object]) -> None:
    exc = status_error_from_response(response(400, body))
    assert (exc.error_code, exc.error_msg) == ("X.1", "camel")


def test_html_error_page_still_useful() -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    exc = status_error_from_response(response(502, html))
    assert isinstance(exc, errors.ServerError)
    assert exc.error_code is None
    assert "502 Bad Gateway" in exc.message
    assert "<" not in exc.message


def test_empty_body() -> None:
    exc = status_error_from_response(httpx2.Response(503))
    assert isinstance(exc, errors.ServerError)
    assert exc.request_id is None
    assert "HTTP 503" in exc.message


def test_retry_after_forms() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
