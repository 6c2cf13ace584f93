"""A fresh process that lists the pools of an endless emulator, stopped after --stop seconds,
and prints its outcome, seconds taken and peak RSS as one JSON line (run by bench_endless.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from _child import fresh, peak_mb


async def _listing(stop: float) -> str:
    from pooldrift.client import WorkspaceClient
    from pooldrift.errors import PooldriftError

    async with WorkspaceClient() as client:
        try:
            async with asyncio.timeout(stop):
                await client.list_pools()
        except TimeoutError:
            return f"still listing after {stop:g} s"
        except PooldriftError as exc:
            return exc.message[:60]
    return "listed"


def main() -> None:
    fresh()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stop", type=float, default=10.0)
    args = parser.parse_args()
    started = time.perf_counter()
    outcome = asyncio.run(_listing(args.stop))
    seconds = time.perf_counter() - started
    print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": peak_mb()}))


if __name__ == "__main__":
    main()
