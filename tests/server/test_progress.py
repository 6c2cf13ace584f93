"""The progress relay on its own: few notifications, the last one final, a client that cannot
take them does not fail the call, and an error of the scan comes out as itself."""

from __future__ import annotations

import asyncio

import pytest
from pooldrift_mcp.progress import MOST, relayed

from pooldrift.errors import PermissionDeniedError


async def scan(progress: object, pools: int) -> None:
    """What scan_fleet does: found, then one call per pool, the loop turning between them."""
    assert callable(progress)
    progress(0, pools)
    for done in range(1, pools + 1):
        progress(done, pools)
        await asyncio.sleep(0)


@pytest.mark.parametrize("pools", [1, 7, 19, 20, 21, 1000, 5000])
async def test_at_most_twenty_and_the_last_is_final(pools: int) -> None:
    sent: list[tuple[float, float | None]] = []

    async def report(done: float, total: float | None, _: str | None) -> None:
        sent.append((done, total))

    async with relayed(report) as progress:
        await scan(progress, pools)
    assert 1 <= len(sent) <= MOST and progress.sent == len(sent)
    assert sent[-1] == (pools, pools)
    assert [d for d, _ in sent] == sorted(d for d, _ in sent)
    assert len(set(sent)) == len(sent), "the same numbers twice"
    if pools >= 1000:  # spread over the whole scan, about a twentieth apart, not all at its start
        assert sent[-2][0] >= 0.75 * pools


async def test_a_total_that_grows_as_projects_list_stays_within_the_cap_and_ends_final() -> None:
    """50 projects of 20 pools, each project's pools found as it lists: the total keeps growing,
    so the steps shrink behind it; still at most MOST, one of them kept for the final numbers."""
    sent: list[tuple[float, float | None]] = []

    async def report(done: float, total: float | None, _: str | None) -> None:
        sent.append((done, total))

    done = total = 0
    async with relayed(report) as progress:
        for _ in range(50):
            total += 20
            progress(done, total)
            for _ in range(20):
                done += 1
                progress(done, total)
                await asyncio.sleep(0)
    assert MOST - 2 <= len(sent) <= MOST and sent[-1] == (1000, 1000)
    assert [d for d, _ in sent] == sorted(d for d, _ in sent)


async def test_a_client_that_cannot_take_progress_still_gets_its_answer() -> None:
    calls = 0

    async def report(*_: object) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionResetError("the stream is gone")

    async with relayed(report) as progress:
        await scan(progress, 200)
    assert calls == 1  # tried once, then left alone


async def test_an_error_of_the_scan_comes_out_as_itself() -> None:
    async def report(*_: object) -> None:
        await asyncio.sleep(0)

    refused = PermissionDeniedError("HTTP 403", status_code=403, request_id="r-1")
    with pytest.raises(PermissionDeniedError) as caught:
        async with relayed(report) as progress:
            progress(0, 10)
            raise refused
    assert caught.value is refused  # not an ExceptionGroup: the tool words it by its class
    assert all(t.get_name() != "pooldrift-progress" for t in asyncio.all_tasks())  # the relay is gone
