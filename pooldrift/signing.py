"""SDK-HMAC-SHA256 request signing (Huawei Cloud AK/SK) as a pure ``httpx2.Auth``.

The canonical-form helpers are public so the emulator verifies with the very code that signs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Generator, Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote

import httpx2
from pydantic import SecretStr

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

Clock = Callable[[], datetime]
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~/]*")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def canonical_uri(path: str) -> str:
    """URL-decode the path, re-quote each segment, and always end with ``/``."""
    if _PLAIN_PATH.fullmatch(path):
        uri = path  # nothing to decode or quote: the common case, and the hot one
    else:
        uri = "/".join(quote(segment, safe="~") for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted ``key=value`` pairs, both quoted with only ``~`` safe, joined by ``&``."""
    return "&".join(f"{quote(key, safe='~')}={quote(value, safe='~')}" for key, value in sorted(pairs))


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decode a raw query string into pairs, keeping blanks and repeated keys."""
    return parse_qsl(raw_query, keep_blank_values=True)


def signed_header_names(headers: Iterable[str]) -> list[str]:
    """Every header name without ``_``, lowercased and sorted."""
    return sorted({name.lower() for name in headers if "_" not in name})


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    """The six-line canonical request; ``headers`` maps lowercase names to values."""
    header_block = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            query,
            header_block,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def string_to_sign(sdk_date: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def authorization_header(access_key: str, signed_headers: list[str], sig: str) -> str:
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed_headers)}, Signature={sig}"


class AKSKAuth(httpx2.Auth):
    """Signs each request with an access key pair; adds ``X-Security-Token`` when temporary.

    Pure: no I/O, and the clock is injectable so known-answer tests are exact. The query is
    rewritten to its canonical form before signing, so the signed and the sent query agree.
    """

    def __init__(
        self,
        access_key: str | SecretStr,
        secret_key: str | SecretStr,
        *,
        security_token: str | SecretStr | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self._ak = _plain(access_key)
        self._sk = _plain(secret_key)
        self._token = _plain(security_token) if security_token is not None else None
        self._clock = clock

    def __repr__(self) -> str:  # never show the key pair
        return f"{type(self).__name__}(access_key=<hidden>, temporary={self._token is not None})"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        self.sign(request)
        yield request

    def sign(self, request: httpx2.Request) -> None:
        headers = request.headers
        lowered = dict(headers.items())  # one scan: names come back lowercased
        if DATE_HEADER.lower() not in lowered:
            headers[DATE_HEADER] = lowered["x-sdk-date"] = self._clock().strftime(DATE_FORMAT)
        if "host" not in lowered:
            headers["Host"] = lowered["host"] = request.url.netloc.decode("ascii")
        if self._token is not None:
            headers["X-Security-Token"] = lowered["x-security-token"] = self._token

        sent = request.url.query.decode("ascii")
        query = canonical_query(query_pairs(sent)) if sent else ""
        if query != sent:  # rebuilding the URL costs more than all the rest of signing
            request.url = request.url.copy_with(query=query.encode("ascii") or None)

        names = signed_header_names(lowered)
        path = request.url.raw_path.partition(b"?")[0].decode("ascii")
        canonical = canonical_request(request.method, path, query, lowered, names, request.content)
        sig = signature(self._sk, string_to_sign(lowered["x-sdk-date"], canonical))
        headers["Authorization"] = authorization_header(self._ak, names, sig)


class TokenAuth(httpx2.Auth):
    """IAM token authentication: ``X-Auth-Token`` on every request, no signing."""

    def __init__(self, token: str | SecretStr) -> None:
        self._token = _plain(token)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token=<hidden>)"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["X-Auth-Token"] = self._token
        yield request


def _plain(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
