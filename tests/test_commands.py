"""Every installed command answers ``--version`` and ``--help`` at once, with exit 0 and no side effect.

Side effects watched: a server started (the process would not exit, and would take the port we
give it) and a network call (the API endpoint is a socket of ours that counts connections).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import pooldrift
from tests.helpers import free_port, subprocess_env

COMMANDS = ["pooldrift", "pooldrift-mcp", "pooldrift-server", "pooldrift-slack"]
BIN = Path(sys.executable).parent


@pytest.fixture
def endpoint() -> Iterator[socket.socket]:
    """A listening socket standing in for the Workspace API: the kernel completes any connection
    into its backlog, so after the command exits a non-blocking accept shows whether one came."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


def connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("flag", ["--version", "--help"])
@pytest.mark.parametrize("command", COMMANDS)
def test_version_and_help_answer_without_side_effects(
    command: str, flag: str, endpoint: socket.socket
) -> None:
    program = BIN / command
    assert program.exists(), f"{command} is not installed beside {sys.executable}"
    port = free_port()
    api = f"http://127.0.0.1:{endpoint.getsockname()[1]}"
    env = subprocess_env(
        {
            "POOLDRIFT_PORT": str(port),
            "POOLDRIFT_HOST": "127.0.0.1",
            "POOLDRIFT_ENDPOINT": api,
            "HUAWEICLOUD_SDK_IAM_ENDPOINT": api,
            "POOLDRIFT_REDIS_URL": f"redis://127.0.0.1:{endpoint.getsockname()[1]}/0",
            "HUAWEICLOUD_SDK_AK": "JUNKJUNKJUNKJUNKJUNK",
            "HUAWEICLOUD_SDK_SK": "junk-secret",
            "HUAWEICLOUD_SDK_PROJECT_ID": "0" * 32,
            # with these a server would mount Slack and a Socket Mode bot would connect
            "SLACK_SIGNING_SECRET": "junk",
            "SLACK_APP_TOKEN": "xapp-junk",
            "SLACK_BOT_TOKEN": "xoxb-junk",
            "SLACK_API_URL": f"{api}/",
        }
    )
    # a server would still be running at the timeout: that fails the test
    done = subprocess.run(
        [str(program), flag], capture_output=True, text=True, env=env, timeout=20, check=False
    )
    assert done.returncode == 0, done.stderr
    if flag == "--version":
        assert done.stdout.strip() == f"{command} {pooldrift.__version__}"
        assert pooldrift.__version__ == "0.1.0"
    else:
        assert done.stdout.startswith(f"usage: {command}"), done.stdout
    assert connections(endpoint) == 0, f"{command} {flag} connected to the API"
    assert port_is_free(port)
