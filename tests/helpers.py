"""Helpers shared by the tests: free ports, subprocesses that announce a URL, signed raw clients.

Import as ``from tests.helpers import ...`` (the repository root is on ``pythonpath``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING

import httpx2

from pooldrift.signing import AKSKAuth

if TYPE_CHECKING:
    from pooldrift.emulator import EmulatorServer

LISTENING = re.compile(r"listening on (http://\S+)")


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (bind to 0, read it back, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def subprocess_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``os.environ`` (already cleaned by the autouse fixture) plus ``extra``."""
    env = dict(os.environ)
    env.update(extra or {})
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class LineReader:
    """Reads a pipe in a thread so a test can wait for a line with a timeout and see the rest."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe: IO[str]) -> None:
        with pipe:  # closed here at EOF, so no test leaks the file
            for line in pipe:
                self.lines.append(line)
                self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str] | str, timeout: float = 15.0) -> re.Match[str]:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line matching {regex.pattern!r}; got {self.lines!r}")
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise EOFError(f"stream ended without a line matching {regex.pattern!r}; got {self.lines!r}")
            found = regex.search(line)
            if found:
                return found

    def text(self, settle: float = 0.0) -> str:
        if settle:
            self._thread.join(settle)
        return "".join(self.lines)


def start_process(
    args: Sequence[str], env: Mapping[str, str] | None = None, *, wait_for: str | None = LISTENING.pattern
) -> tuple[subprocess.Popen[str], LineReader, LineReader, str | None]:
    """Start ``args`` (``sys.executable`` first if the first arg is an option such as ``-m``);
    wait for a stdout line matching ``wait_for`` (unless None).

    Returns (process, stdout reader, stderr reader, first group of the matched line or None).
    """
    argv = [sys.executable, *args] if args and args[0].startswith("-") else list(args)
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(env),
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = LineReader(proc.stdout), LineReader(proc.stderr)
    url = None
    if wait_for is not None:
        try:
            found = out.wait_for(wait_for)
        except (TimeoutError, EOFError):
            stop_process(proc)
            raise AssertionError(f"process did not get ready; stderr:\n{err.text(1.0)}") from None
        url = found.group(1) if found.groups() else found.group(0)
    return proc, out, err, url


def stop_process(proc: subprocess.Popen[str], timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it does not stop in time; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout)


def signed_client(base_url: str, access_key: str, secret_key: str, **kw: object) -> httpx2.Client:
    """A raw sync client signing with the project's ``AKSKAuth`` (for tests of the emulator itself)."""
    return httpx2.Client(
        base_url=base_url,
        auth=AKSKAuth(access_key, secret_key, **kw),  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
        timeout=10.0,
    )


@contextlib.contextmanager
def redis_server(purpose: str) -> Iterator[str]:
    """A real redis-server on a free loopback port, its URL while it runs (no persistence).

    Skips the test, naming ``purpose``, where the machine has no redis-server binary.
    """
    import pytest

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"no redis-server binary on this machine: {purpose} is tested where there is one")
    with running_redis(binary) as url:
        yield url


@contextlib.contextmanager
def running_redis(binary: str, port: int | None = None) -> Iterator[str]:
    """``binary`` (a redis-server) on ``port`` (default: a free loopback port), no persistence:
    its URL while it runs. The same port again is a Redis restarted without its data."""
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def emulator_variables(emulator: EmulatorServer) -> dict[str, str]:
    """What points pooldrift at ``emulator``: its key pair and URL, and fast retries."""
    return {
        "HUAWEICLOUD_SDK_AK": emulator.access_key,
        "HUAWEICLOUD_SDK_SK": emulator.secret_key,
        "POOLDRIFT_ENDPOINT": emulator.base_url,
        "POOLDRIFT_BACKOFF_INITIAL": "0.01",
        "POOLDRIFT_BACKOFF_MAX": "0.05",
        # the suite's watches turn in a fraction of a second, under the 10 s users get
        "POOLDRIFT_TEST_INTERVAL_FLOOR": "0.1",
    }


def process_env(emulator: EmulatorServer, **extra: str) -> dict[str, str]:
    """A subprocess's environment: this one without any pooldrift, SDK or Slack setting of the
    machine, then ``emulator_variables``, then ``extra``."""
    prefixes = ("HUAWEICLOUD_", "POOLDRIFT_", "SLACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, **emulator_variables(emulator), **extra}


EXPORT = re.compile(r"^\s*export (\w+)=(\S+)\s*$")


@contextlib.contextmanager
def kept_demo(pooldrift: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """``pooldrift demo --keep`` as a user runs it; yields the process and the exports it
    printed (parsed from its own output, not known in advance); stops it at the end."""
    prefixes = ("HUAWEICLOUD_", "POOLDRIFT_", "SLACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    proc = subprocess.Popen(
        [pooldrift, "demo", "--keep"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # our Ctrl-C goes to it only when a test sends it
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = LineReader(proc.stdout), LineReader(proc.stderr)
    try:
        try:
            out.wait_for("Press Ctrl-C to stop", timeout=120)
        except (TimeoutError, EOFError):
            raise AssertionError(f"demo --keep did not get ready; stderr:\n{err.text(1.0)}") from None
        exports = dict(found.groups() for line in out.lines if (found := EXPORT.match(line)))
        yield proc, exports
    finally:
        stop_process(proc)
