"""A client that starts a scan and is then killed (bench_abandoned.py): it opens an MCP session
(``legacy``: 2025-11-25) or not (``auto``: 2026-07-28) on the server at argv[1], says "calling"
and waits for an answer it will never read."""

from __future__ import annotations

import asyncio
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, mode: str, token: str) -> None:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        print("calling", flush=True)
        await client.call_tool("scan_pool_drift", {})


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
