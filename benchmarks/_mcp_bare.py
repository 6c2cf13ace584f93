"""The floor for bench_mcp.py: a bare ``MCPServer`` with one trivial tool, over stdio or HTTP.

``python _mcp_bare.py stdio`` serves stdio; ``python _mcp_bare.py http`` serves Streamable HTTP
on a free loopback port (JSON answers, as pooldrift-server) and prints "listening on URL".
"""

from __future__ import annotations

import sys

from mcp.server import MCPServer

server = MCPServer("bare")


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


def serve_http() -> None:
    import asyncio
    import socket

    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            port = self.servers[0].sockets[0].getsockname()[1]
            print(f"listening on http://127.0.0.1:{port}", flush=True)

    app = server.streamable_http_app(json_response=True)
    asyncio.run(Announcing(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")).serve())


if __name__ == "__main__":
    if sys.argv[1:] == ["http"]:
        serve_http()
    else:
        server.run("stdio")
