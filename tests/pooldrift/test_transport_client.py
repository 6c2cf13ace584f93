"""WorkspaceClient over AiohttpTransport against the emulator: signatures hold, faults map the same.

The emulator verifies every signature, so a request altered on its way out would be a 401.
"""

from __future__ import annotations

import time

import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.transport import AiohttpTransport
from tests.helpers import free_port


async def test_signed_requests_pass_the_emulator(emulator: EmulatorServer, settings: Settings) -> None:
    async with WorkspaceClient(settings, transport=AiohttpTransport()) as workspace:
        pool = emulator.data.pools[0]
        report = await workspace.check(pool.name)
        desktops = await workspace.list_pool_desktops(pool.id, "IMAGE_ID")
    # the emulator answers 401 to a signature that does not match the received request, so
    # these succeeding (paged, with a query) proves the sent request is the signed one
    assert report.pool_id == pool.id and report.request_id
    assert report.image_id == desktops.total_count
    assert emulator.requests.count("/desktops") >= 1


@pytest.mark.parametrize("fault", ["truncate", "drop", "malformed", "503", "429"])
async def test_faults_are_retried_to_success(
    emulator: EmulatorServer, settings: Settings, fault: str
) -> None:
    pool = emulator.data.pools[0]
    async with WorkspaceClient(settings, transport=AiohttpTransport()) as workspace:
        await workspace.get_project_id()
        emulator.faults.update(retry_after=0.05)
        emulator.faults.fail_next_n("rate_limit" if fault == "429" else fault, 2)
        report = await workspace.inconsistent_statics(pool.id)
    assert report.model_dump(include={"product_id", "image_id", "disk_num", "disk_size"}) == (
        emulator.data.statics(pool.id)
    )
    assert emulator.requests.count("inconsistent-statics") == 3


async def test_unreachable_is_a_connection_error(settings: Settings) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    async with WorkspaceClient(
        settings, endpoint=endpoint, transport=AiohttpTransport(), max_attempts=2
    ) as workspace:
        with pytest.raises(errors.APIConnectionError, match="could not reach"):
            await workspace.inconsistent_statics("a130ab3a-72bf-4b71-baa9-af4987c8e338")


@pytest.mark.parametrize("slowness", [{"latency": 3.0}, {"slow_body": 3.0}])
async def test_slow_upstream_is_a_timeout(
    emulator: EmulatorServer, settings: Settings, slowness: dict[str, float]
) -> None:
    async with WorkspaceClient(
        settings, transport=AiohttpTransport(), read_timeout=0.2, deadline=1.0, max_attempts=2
    ) as workspace:
        await workspace.get_project_id()
        emulator.faults.update(**slowness)
        started = time.monotonic()
        with pytest.raises(errors.APITimeoutError):
            await workspace.inconsistent_statics(emulator.data.pools[0].id)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("fault", ["drop", "truncate"])
async def test_attempts_bound_requests(emulator: EmulatorServer, settings: Settings, fault: str) -> None:
    """aiohttp would resend any dropped GET by itself; the client's bound must stay the bound. Only
    the first attempt, on the connection the IAM lookup kept alive, goes once more at once when it
    is dropped (a server's keep-alive timeout looks so); each later one has a new connection."""
    async with WorkspaceClient(settings, transport=AiohttpTransport(), max_attempts=3) as workspace:
        await workspace.get_project_id()
        emulator.faults.fail_next_n(fault, 10)
        with pytest.raises(errors.APIConnectionError):
            await workspace.inconsistent_statics(emulator.data.pools[0].id)
    assert emulator.requests.count("inconsistent-statics") == 3 + (fault == "drop")
