"""The Slack front as real processes: ``pooldrift-server`` with ``/slack/events``, the
stand-alone app under ``uvicorn --factory``, and ``pooldrift-slack --socket``; plus a raw
chunked sender (no ``Content-Length``) that reads the answer while it still sends.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.helpers import LineReader, process_env, start_process, stop_process

BIN = Path(sys.executable).parent
SERVER = str(BIN / "pooldrift-server")
SLACK_BOT = str(BIN / "pooldrift-slack")


@dataclass
class Running:
    proc: subprocess.Popen[str]
    url: str
    out: LineReader
    err: LineReader

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, and the exit status once the process is gone (it drains first)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def output(self) -> str:
        """Everything it wrote, once it has exited."""
        return self.out.text(settle=5.0) + self.err.text(settle=5.0)


def slack_env(emulator: EmulatorServer, slack: FakeSlack, **extra: str) -> dict[str, str]:
    return process_env(
        emulator,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api_url,
        **extra,
    )


@contextmanager
def running(argv: list[str], env: dict[str, str], *, ready: str, on: str = "out") -> Iterator[Running]:
    """Start ``argv``; wait for a line matching ``ready`` (its first group: the URL, if any) on
    stdout or stderr; stop it (if still running) and close its pipes after."""
    proc, out, err, _ = start_process(argv, env, wait_for=None)
    try:
        try:
            found = (out if on == "out" else err).wait_for(ready, timeout=30)
        except (TimeoutError, EOFError):
            raise AssertionError(f"{argv[0]} did not get ready:\n{err.text(1.0)}") from None
        yield Running(proc, found.group(1) if found.groups() else "", out, err)
    finally:
        stop_process(proc)
        out.text(settle=5.0)
        err.text(settle=5.0)


def server(env: dict[str, str]) -> AbstractContextManager[Running]:
    """``pooldrift-server``: /mcp, /slack/events and the probes."""
    return running(
        [SERVER],
        {"POOLDRIFT_HOST": "127.0.0.1", "POOLDRIFT_PORT": "0", **env},
        ready=r"listening on (http://\S+)",
    )


def standalone(env: dict[str, str]) -> AbstractContextManager[Running]:
    """The stand-alone Slack app, as a bot-only deployment serves it."""
    argv = [sys.executable, "-m", "uvicorn", "pooldrift_slack.http:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", "0", "--no-access-log"]
    return running(argv, env, ready=r"Uvicorn running on (http://\S+)", on="err")


def socket_bot(env: dict[str, str]) -> AbstractContextManager[Running]:
    """``pooldrift-slack --socket``, ready once connected."""
    return running(
        [SLACK_BOT, "--socket"], {"SLACK_APP_TOKEN": APP_TOKEN, **env}, ready=r"connected to Slack", on="err"
    )


async def post_chunked(
    url: str, path: str, *, total: int, chunk: int = 64 << 10, fill: bytes = b"x"
) -> tuple[int, int]:
    """POST ``total`` bytes in chunks, unsigned, with no ``Content-Length``; stop sending once
    the answer comes. (status, bytes sent)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    writer.write(head.encode("ascii"))
    status_line = asyncio.create_task(reader.readline())
    block = b"%x\r\n" % chunk + (fill * chunk)[:chunk] + b"\r\n"
    sent = 0
    try:
        while sent < total and not status_line.done():
            writer.write(block)
            await writer.drain()
            sent += chunk
            # drain() does not yield while the server keeps up (httptools reads as fast as we
            # write): let the reader see an answer that came early
            await asyncio.sleep(0)
        if not status_line.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except ConnectionError:
        pass
    line = await asyncio.wait_for(status_line, 60)
    writer.close()
    with suppress(ConnectionError):
        await writer.wait_closed()
    return int(line.split()[1]), sent
