"""Known-answer tests of SDK-HMAC-SHA256: the reference's vectors A, B and C, with no network."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest

from pooldrift.signing import AKSKAuth, TokenAuth, canonical_query, canonical_uri, query_pairs

HOST = "https://workspace.cn-north-4.myhuaweicloud.com"


def fixed(when: str) -> datetime:
    return datetime.strptime(when, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def sign(auth: httpx2.Auth, url: str, headers: dict[str, str]) -> httpx2.Request:
    request = httpx2.Request("GET", url, headers=headers)
    return next(auth.sync_auth_flow(request))


def test_vector_a() -> None:
    auth = AKSKAuth("AK", "SK", clock=lambda: fixed("20240101T000000Z"))
    signed = sign(
        auth,
        f"{HOST}/v2/p1/desktop-pools/x/inconsistent-statics",
        {"Content-Type": "application/json", "X-Project-Id": "p1"},
    )
    assert signed.headers["X-Sdk-Date"] == "20240101T000000Z"
    assert signed.headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
        "Signature=48c9a132f0efeb28929f71fbfeb80a59e970c85dd2900d7d7ea130b4662f9bc4"
    )


def test_vector_b_temporary_credentials_and_query_sent_as_signed() -> None:
    auth = AKSKAuth("AK", "SK", security_token="TOKEN", clock=lambda: fixed("20240101T000000Z"))
    # deliberately unsorted: the signed canonical query must also be the one sent
    signed = sign(
        auth,
        f"{HOST}/v2/p1/desktop-pools/x/desktops?offset=0&limit=100&inconsistent_type=IMAGE_ID",
        {"Content-Type": "application/json", "X-Project-Id": "p1"},
    )
    assert signed.headers["X-Security-Token"] == "TOKEN"
    assert signed.headers["Authorization"].endswith(
        "SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token, "
        "Signature=d6589bf583cfff5de6d03f74747001e11aa7e106a7ab8f2e7ba44091671930f7"
    )
    assert signed.url.query == b"inconsistent_type=IMAGE_ID&limit=100&offset=0"


def test_vector_c_vendor_published_example() -> None:
    auth = AKSKAuth("QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc")
    signed = sign(
        auth,
        "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
        "?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
        {"Content-Type": "application/json", "X-Sdk-Date": "20191115T033655Z"},
    )
    assert signed.headers["X-Sdk-Date"] == "20191115T033655Z"  # a date already set is kept
    assert signed.headers["Authorization"].endswith(
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    )


def test_host_with_port_is_signed() -> None:
    auth = AKSKAuth("AK", "SK", clock=lambda: fixed("20240101T000000Z"))
    signed = sign(auth, "http://127.0.0.1:8123/v2/p1/desktop-pools", {})
    assert signed.headers["Host"] == "127.0.0.1:8123"
    assert "host" in signed.headers["Authorization"].split("SignedHeaders=")[1]


def test_headers_with_underscore_are_not_signed() -> None:
    auth = AKSKAuth("AK", "SK", clock=lambda: fixed("20240101T000000Z"))
    signed = sign(auth, f"{HOST}/v2/p1/desktop-pools", {"X_Custom": "1", "X-Other": "2"})
    names = signed.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "x-other" in names
    assert all("_" not in n for n in names)


def test_signature_changes_with_every_input() -> None:
    def auth_header(ak: str = "AK", sk: str = "SK", path: str = "/v2/p1/desktop-pools") -> str:
        a = AKSKAuth(ak, sk, clock=lambda: fixed("20240101T000000Z"))
        return sign(a, f"{HOST}{path}", {}).headers["Authorization"]

    base = auth_header()
    assert auth_header(sk="SK2") != base
    assert auth_header(path="/v2/p2/desktop-pools") != base


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/p1/desktop-pools", "/v2/p1/desktop-pools/"),
        ("/", "/"),
        ("/a b/c", "/a%20b/c/"),
        ("/a%2Fb", "/a/b/"),  # decoded first, as the SDK does
    ],
)
def test_canonical_uri(path: str, expected: str) -> None:
    assert canonical_uri(path) == expected


def test_canonical_query_sorts_and_quotes() -> None:
    pairs = query_pairs("b=2&a=x y&a=1&empty=")
    assert canonical_query(pairs) == "a=1&a=x%20y&b=2&empty="
    assert canonical_query([]) == ""


def test_reprs_hide_secrets() -> None:
    aksk = AKSKAuth("MYACCESSKEY", "MYSECRETKEY", security_token="MYTOKEN")
    token = TokenAuth("IAMTOKENVALUE")
    for text in (repr(aksk), str(aksk), repr(token)):
        assert "MYSECRETKEY" not in text
        assert "MYACCESSKEY" not in text
        assert "IAMTOKENVALUE" not in text


def test_token_auth_sets_header_without_signing() -> None:
    signed = sign(TokenAuth("T0K"), f"{HOST}/v2/p1/desktop-pools", {})
    assert signed.headers["X-Auth-Token"] == "T0K"
    assert "Authorization" not in signed.headers
