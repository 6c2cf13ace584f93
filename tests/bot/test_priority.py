"""``AckFirst``: answers wait while requests are between arrival and ack, within a bound."""

from __future__ import annotations

import asyncio

from pooldrift_slack.priority import AckFirst


async def test_an_answer_waits_for_the_acks_in_progress() -> None:
    gate = AckFirst(max_wait=5)
    order: list[str] = []

    async def request(name: str, handling: float) -> None:
        with gate.arriving():
            await asyncio.sleep(handling)
            order.append(f"ack {name}")

    async def answer() -> None:
        await gate.wait_turn()
        order.append("answer")

    first = asyncio.create_task(request("a", 0.05))
    second = asyncio.create_task(request("b", 0.1))
    await asyncio.sleep(0)
    await asyncio.gather(answer(), first, second)
    assert order == ["ack a", "ack b", "answer"]


async def test_with_nothing_arriving_an_answer_goes_at_once() -> None:
    gate = AckFirst(max_wait=5)
    async with asyncio.timeout(0.5):
        await gate.wait_turn()


async def test_a_steady_stream_does_not_starve_answers() -> None:
    gate = AckFirst(max_wait=0.1)
    with gate.arriving():
        loop = asyncio.get_running_loop()
        started = loop.time()
        await gate.wait_turn()
        waited = loop.time() - started
    assert 0.09 <= waited < 2


async def test_a_short_gap_inside_a_burst_does_not_release_answers() -> None:
    gate = AckFirst(settle=0.05, max_wait=5)
    order: list[str] = []

    async def answer() -> None:
        await gate.wait_turn()
        order.append("answer")

    with gate.arriving():
        waiting = asyncio.create_task(answer())
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)  # a gap shorter than settle
    with gate.arriving():
        await asyncio.sleep(0.01)
        order.append("second ack")
    await waiting
    assert order == ["second ack", "answer"]
