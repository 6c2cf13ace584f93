"""The HTTP clients the client benchmarks compare, each reduced to "fetch one pool's counts".

Every contender GETs the same inconsistent-statics URL of the stand-in and parses the JSON;
only ``WorkspaceClient`` and the vendor SDK sign, validate and build typed results.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from _upstream import PROJECT_ID, REGION

if TYPE_CHECKING:
    import httpx2

AsyncCall = Callable[[str], Awaitable[object]]
SyncCall = Callable[[str], object]
IN_FLIGHT = 32


def pool_ids(n: int) -> list[str]:
    """Distinct pool ids: the client shares identical calls under way, and a benchmark that
    asked for one pool 500 times would time that sharing rather than 500 requests."""
    return [str(uuid.UUID(int=i + 1, version=4)) for i in range(n)]


def statics_url(base_url: str, pool_id: str) -> str:
    return f"{base_url}/v2/{PROJECT_ID}/desktop-pools/{pool_id}/inconsistent-statics"


def served(base_url: str) -> int:
    """How many requests the stand-in has answered so far."""
    with urllib.request.urlopen(f"{base_url}/_stats", timeout=5) as answer:  # loopback only
        return int(json.load(answer)["served"])


def transport(kind: str) -> httpx2.AsyncBaseTransport:
    """httpx2's own transport or the aiohttp-backed one, both bounded like the client's pool."""
    import httpx2

    limits = httpx2.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    if kind == "aiohttp":
        from pooldrift.transport import AiohttpTransport

        return AiohttpTransport(limits=limits)
    return httpx2.AsyncHTTPTransport(limits=limits)


@contextlib.asynccontextmanager
async def pooldrift_call(base_url: str, kind: str = "httpx2") -> AsyncIterator[AsyncCall]:
    """``WorkspaceClient.inconsistent_statics`` over httpx2's own transport or aiohttp's."""
    from pooldrift import WorkspaceClient

    async with WorkspaceClient(
        access_key="BENCHAK",
        secret_key="BENCHSK",  # a dummy pair: the stand-in does not verify signatures
        project_id=PROJECT_ID,
        region=REGION,
        endpoint=base_url,
        max_in_flight=IN_FLIGHT,
        cache_ttl=0.0,  # every call goes upstream
        transport=transport(kind),
    ) as client:
        yield client.inconsistent_statics


@contextlib.asynccontextmanager
async def httpx2_call(base_url: str, kind: str = "httpx2") -> AsyncIterator[AsyncCall]:
    """A bare, unsigned ``httpx2.AsyncClient`` GET and ``.json()``."""
    import httpx2

    async with httpx2.AsyncClient(transport=transport(kind)) as http:

        async def call(pool_id: str) -> object:
            return (await http.get(statics_url(base_url, pool_id))).json()

        yield call


@contextlib.asynccontextmanager
async def aiohttp_call(base_url: str) -> AsyncIterator[AsyncCall]:
    """A bare, unsigned ``aiohttp`` GET and ``.json()``: the floor for Python on asyncio."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(pool_id: str) -> object:
            async with session.get(statics_url(base_url, pool_id)) as answer:
                return await answer.json()

        yield call


@contextlib.contextmanager
def sdk_call(base_url: str) -> Iterator[SyncCall]:
    """The vendor SDK's ``list_inconsistent_statics`` (sync; signs with its own signer)."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkworkspace.v2 import ListInconsistentStaticsRequest
    from huaweicloudsdkworkspace.v2 import WorkspaceClient as SdkClient

    config = HttpConfig.get_default_config()
    config.pool_maxsize = IN_FLIGHT  # its default of 10 would throw connections away at 32 threads
    client: Any = (
        SdkClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials("BENCHAK", "BENCHSK", PROJECT_ID))
        .with_endpoints([base_url])
        .build()
    )

    def call(pool_id: str) -> object:
        return client.list_inconsistent_statics(ListInconsistentStaticsRequest(pool_id=pool_id))

    yield call
