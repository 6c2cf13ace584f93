"""The emulator's gateway check: verify SDK-HMAC-SHA256 with the very helpers that sign.

Never logs or echoes a key, a signature or a token: a failure says which check failed, only.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from ..signing import (
    ALGORITHM,
    DATE_FORMAT,
    canonical_query,
    canonical_request,
    query_pairs,
    signature,
    string_to_sign,
)
from .config import EmulatorConfig

BAD_AUTH = "APIGW.0301"
STALE_DATE = "APIGW.0303"
_PREFIX = "Incorrect IAM authentication information: "


@dataclass(frozen=True)
class AuthFailure:
    """Why a request was refused: the gateway error code and a message safe to return."""

    error_code: str
    error_msg: str


def _fail(reason: str, code: str = BAD_AUTH) -> AuthFailure:
    return AuthFailure(code, _PREFIX + reason)


_SDK_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


def _sdk_date(value: str) -> datetime:
    """``X-Sdk-Date`` as a UTC time; ValueError if it is not one."""
    # the common form by hand: strptime costs a sixth of a request at a benchmark's request rate
    found = _SDK_DATE.fullmatch(value)
    if found is None:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC)
    year, month, day, hour, minute, second = (int(part) for part in found.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def parse_authorization(value: str) -> dict[str, str] | None:
    """``SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`` as a dict, or None."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        return None
    parts: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            return None
        parts[key.strip()] = val.strip()
    if not {"Access", "SignedHeaders", "Signature"} <= parts.keys():
        return None
    return parts


def verify(
    config: EmulatorConfig,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    body: bytes,
) -> AuthFailure | None:
    """``None`` when the request is authentic; ``headers`` maps lowercase names to values."""
    token = headers.get("x-auth-token")
    if token is not None:
        if config.auth_token and hmac.compare_digest(token.encode(), config.auth_token.encode()):
            return None
        return _fail("the X-Auth-Token is invalid or expired")

    authorization = headers.get("authorization")
    if not authorization:
        return _fail("the Authorization header is missing")
    parts = parse_authorization(authorization)
    if parts is None:
        return _fail(f"the Authorization header is not of the form {ALGORITHM} Access=..., ...")
    if not hmac.compare_digest(parts["Access"].encode(), config.access_key.encode()):
        return _fail("the access key (AK) is unknown")

    signed = [name for name in parts["SignedHeaders"].split(";") if name]
    if "x-sdk-date" not in signed or "x-sdk-date" not in headers:
        return _fail("X-Sdk-Date is missing or not signed")
    try:
        sent_at = _sdk_date(headers["x-sdk-date"])
    except ValueError:
        return _fail(f"X-Sdk-Date is not of the form {DATE_FORMAT}")
    skew = abs((config.clock() - sent_at).total_seconds())
    if skew > config.max_clock_skew:
        return _fail(
            f"X-Sdk-Date is more than {config.max_clock_skew / 60:g} minutes away from the server time",
            STALE_DATE,
        )

    missing = [name for name in signed if name not in headers]
    if missing:
        return _fail(f"signed header {missing[0]} is missing from the request")
    if (
        config.security_token is not None
        and "x-security-token" in headers
        and not hmac.compare_digest(headers["x-security-token"].encode(), config.security_token.encode())
    ):
        return _fail("the security token is invalid or expired")

    canonical = canonical_request(
        method, raw_path, canonical_query(query_pairs(raw_query)), headers, signed, body
    )
    expected = signature(config.secret_key, string_to_sign(headers["x-sdk-date"], canonical))
    if not hmac.compare_digest(expected.encode(), parts["Signature"].encode()):
        return _fail("verify aksk signature fail")
    return None
