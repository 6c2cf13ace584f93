"""``pooldrift-mcp``: the MCP server over stdio, as Claude Desktop or ``uvx pooldrift-mcp`` run it.

stdout carries only the protocol; every log line goes to stderr. Nothing of the HTTP app or
Slack is imported here, and the Workspace client is made on the first tool call.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pooldrift.errors import ConfigurationError
from pooldrift.logs import configure_logging
from pooldrift.version import __version__

from .tools import build_server

DESCRIPTION = """\
Serve the pooldrift MCP tools (pool_inconsistency, list_desktop_pools, pool_drift_history,
scan_pool_drift, drifted_desktops) over stdio.

Configuration comes from the environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (or
secret files in POOLDRIFT_SECRETS_DIR), optionally HUAWEICLOUD_SDK_PROJECT_ID,
POOLDRIFT_REGION, POOLDRIFT_ENDPOINT and POOLDRIFT_LOG_LEVEL (logs go to stderr).
"""


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="pooldrift-mcp", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("-V", "--version", action="version", version=f"pooldrift-mcp {__version__}")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    parser().parse_args(argv)
    try:
        configure_logging()
    except ConfigurationError as exc:
        sys.stderr.write(f"pooldrift-mcp: {exc.message}\n")
        return 2
    try:
        build_server().run("stdio")
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
