"""Print Claude Desktop, VS Code and Cursor entries that run this checkout's ``pooldrift-mcp``.

For a person with the repository and nothing published: the committed manifests/mcp/ configs
say ``uvx pooldrift-mcp`` (the published form); these name the checkout's venv by absolute path.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pooldrift.emulator.cli import DEFAULT_PORT
from pooldrift.emulator.config import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "manifests" / "mcp"

#: client → (template in manifests/mcp, key of its server table, where the entry goes)
CLIENTS: dict[str, tuple[str, str, str]] = {
    "claude": (
        "claude_desktop_config.json",
        "mcpServers",
        "Claude Desktop: claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/, "
        "Windows: %APPDATA%\\Claude\\), then restart Claude Desktop",
    ),
    "vscode": ("vscode-mcp.json", "servers", "VS Code: .vscode/mcp.json (it asks for the key pair once)"),
    "cursor": (
        "cursor-mcp.json",
        "mcpServers",
        "Cursor: .cursor/mcp.json or ~/.cursor/mcp.json (the key pair from Cursor's environment)",
    ),
}
#: `pooldrift emulator` with its documented demo pair (docs/emulator.md)
DEMO_ENV = {
    "HUAWEICLOUD_SDK_AK": DEMO_ACCESS_KEY,
    "HUAWEICLOUD_SDK_SK": DEMO_SECRET_KEY,
    "POOLDRIFT_ENDPOINT": f"http://127.0.0.1:{DEFAULT_PORT}",
}


def program() -> Path:
    """The ``pooldrift-mcp`` installed beside this Python (``make install`` puts one in .venv)."""
    found = shutil.which("pooldrift-mcp", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit(f"no pooldrift-mcp beside {sys.executable}: run `make install` first")
    return Path(found).absolute()


def entry(client: str, command: Path, *, demo: bool) -> dict[str, Any]:
    template, key, _ = CLIENTS[client]
    config: dict[str, Any] = copy.deepcopy(json.loads((MANIFESTS / template).read_text()))
    server = config[key]["pooldrift"]
    server["command"] = str(command)
    server["args"] = []
    if demo:
        server["env"] = dict(DEMO_ENV)
        config.pop("inputs", None)  # nothing left to ask for
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mcp-config", description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=sorted(CLIENTS), help="print only this client's JSON")
    parser.add_argument(
        "--demo",
        action="store_true",
        help=f"point at `pooldrift emulator --port {DEFAULT_PORT}` with its demo keys",
    )
    args = parser.parse_args(argv)
    command = program()
    if args.client:
        print(json.dumps(entry(args.client, command, demo=args.demo), indent=2))
        return 0
    for client, (_, _, where) in CLIENTS.items():
        print(f"// {where}")
        print(json.dumps(entry(client, command, demo=args.demo), indent=2))
        print()
    print("// Once pooldrift-mcp is published on PyPI, the same entries run `uvx pooldrift-mcp` instead")
    print(f"// (manifests/mcp/). Without a cloud account: `pooldrift emulator --port {DEFAULT_PORT}`, then")
    print("// `make mcp-config ARGS=--demo` fills in the emulator's demo keys.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
