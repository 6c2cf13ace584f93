"""Signing cases the known-answer vectors leave open, each checked against the vendor SDK's own
signer: reserved characters in the query, a request body, padded header values, the default clock
outside UTC, and a Host header set by the caller.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx2
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.signing import DATE_FORMAT, AKSKAuth, TokenAuth, canonical_query, canonical_request

AK, SK = "AKVENDORCHECK", "sk-vendor-check-0123456789"
DATE = "20240101T000000Z"


def fixed() -> datetime:
    return datetime.strptime(DATE, DATE_FORMAT).replace(tzinfo=UTC)


def vendor_authorization(request: httpx2.Request) -> tuple[str, str]:
    """(Authorization, path?query) as huaweicloudsdkcore signs the same request: same headers
    (names as sent), same query pairs, same body."""
    sdk = SdkRequest(
        method=request.method,
        schema=request.url.scheme,
        host=request.url.netloc.decode("ascii"),
        resource_path=request.url.path,
        query_params=list(request.url.params.multi_items()),
        header_params=dict(request.headers.items()),
        body=request.content or None,
    )
    Signer(BasicCredentials(AK, SK)).sign(sdk)
    return sdk.header_params["Authorization"], sdk.uri


def ours(request: httpx2.Request) -> tuple[str, str]:
    AKSKAuth(AK, SK, clock=fixed).sign(request)
    return request.headers["Authorization"], request.url.raw_path.decode("ascii")


def build(
    method: str = "GET",
    *,
    params: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    url: str = "https://workspace.example.com/v2/p1/desktop-pools",
) -> httpx2.Request:
    """A request with a fixed X-Sdk-Date, so both signers sign the same instant."""
    sent = {"Content-Type": "application/json", "X-Sdk-Date": DATE, **(headers or {})}
    return httpx2.Request(method, url, params=params, headers=sent, content=content)


@pytest.mark.parametrize(
    "params",
    [
        [("name", "lab/a")],  # a reserved character the default of quote() leaves alone
        [("name", "a b"), ("name", "a+b"), ("offset", "0")],
        [("k/ey", "v"), ("x", "~tilde"), ("eq", "a=b&c")],
        [("name", "财务桌面池")],
    ],
    ids=["slash", "space-plus-repeat", "reserved-key", "utf8"],
)
def test_query_signed_and_sent_as_the_vendor_does(params: list[tuple[str, str]]) -> None:
    assert ours(build(params=params)) == vendor_authorization(build(params=params))


def test_reserved_characters_are_escaped_in_keys_and_values() -> None:
    assert canonical_query([("k/ey", "lab/a"), ("a", "x y")]) == "a=x%20y&k%2Fey=lab%2Fa"


def test_a_body_is_hashed_into_the_signature() -> None:
    body = b'{"desktop_pool": {"name": "lab-a"}}'
    request = build("POST", content=body)
    assert ours(request) == vendor_authorization(build("POST", content=body))
    canonical = canonical_request("POST", "/", "", {"host": "h"}, ["host"], body)
    assert canonical.rsplit("\n", 1)[1] == hashlib.sha256(body).hexdigest() != hashlib.sha256(b"").hexdigest()


def test_header_values_are_signed_without_their_padding() -> None:
    padded = {"X-Project-Id": "  p1  ", "X-Note": "\tnote "}
    assert ours(build(headers=padded)) == vendor_authorization(build(headers=padded))
    block = canonical_request("GET", "/", "", {"x-note": "  n  "}, ["x-note"], b"").split("\n")[3]
    assert block == "x-note:n"


@pytest.fixture
def east_of_utc() -> Iterator[None]:
    """The process's local time eight hours ahead of UTC (a POSIX TZ string: no tz database needed)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "CST-8"
    time.tzset()
    try:
        assert time.localtime().tm_gmtoff == 8 * 3600
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.usefixtures("east_of_utc")
def test_the_default_clock_is_utc_wherever_the_machine_is() -> None:
    request = httpx2.Request("GET", "https://workspace.example.com/v2/p1/desktop-pools")
    AKSKAuth(AK, SK).sign(request)
    sent = datetime.strptime(request.headers["X-Sdk-Date"], DATE_FORMAT).replace(tzinfo=UTC)
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.usefixtures("east_of_utc")
async def test_a_machine_east_of_utc_is_not_refused_for_clock_skew(
    settings: Settings, emulator: EmulatorServer
) -> None:
    # no clock injected: the default one signs, and the emulator refuses a date 15 minutes off
    async with WorkspaceClient(settings) as client:
        listing = await client.list_pools(max_items=1)
    assert listing.pools and emulator.requests.count("/desktop-pools") == 1


def test_a_host_set_by_the_caller_is_kept_and_one_missing_is_added() -> None:
    def routed() -> httpx2.Request:
        return build(url="http://127.0.0.1:8080/v2/p1", headers={"Host": "workspace.example.com"})

    request = routed()
    assert ours(request) == vendor_authorization(routed())
    assert request.headers["Host"] == "workspace.example.com"

    bare = httpx2.Request("GET", "http://127.0.0.1:8080/v2/p1")
    del bare.headers["Host"]
    AKSKAuth(AK, SK, clock=fixed).sign(bare)
    assert bare.headers["Host"] == "127.0.0.1:8080"
    assert "host" in bare.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")


def test_reprs_name_the_class_and_say_whether_the_keys_are_temporary() -> None:
    assert repr(AKSKAuth(AK, SK)) == "AKSKAuth(access_key=<hidden>, temporary=False)"
    assert repr(AKSKAuth(AK, SK, security_token="t")) == "AKSKAuth(access_key=<hidden>, temporary=True)"
    assert repr(TokenAuth("t")) == "TokenAuth(token=<hidden>)"
