"""``pooldrift-mcp``: the MCP server over stdio, as Claude Desktop or ``uvx pooldrift-mcp`` run it.

stdout carries only the protocol; every log line goes to stderr. Imports stay lean: this
starts once per assistant session, and nothing of the HTTP app or Slack is needed here.
"""

from __future__ import annotations

import logging
import os
import sys

USAGE = """usage: pooldrift-mcp

Serve the pooldrift MCP tools (pool_inconsistency, list_desktop_pools) over stdio.
Configuration comes from the environment: HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK,
optionally HUAWEICLOUD_SDK_PROJECT_ID, POOLDRIFT_REGION, POOLDRIFT_ENDPOINT.
"""


def configure_logging() -> None:
    level = os.environ.get("POOLDRIFT_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # one INFO line per upstream request is noise; pooldrift.client logs them at DEBUG
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, logging.getLogger().level))


def main() -> int:
    args = sys.argv[1:]
    if args:
        from pooldrift import __version__

        if args[0] in ("-V", "--version"):
            sys.stdout.write(f"pooldrift-mcp {__version__}\n")
            return 0
        if args[0] in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        sys.stderr.write(USAGE)
        return 2
    configure_logging()
    from .tools import build_server

    try:
        build_server().run("stdio")
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
