"""Answers too large to hold, over loopback: the emulator's ``huge`` fault answers 300 MiB (the
listing that grew ``pooldrift pools`` to ~1 GB), streamed without a Content-Length or announced
with one. pooldrift reads at most ``POOLDRIFT_MAX_RESPONSE_BYTES`` of one answer: an announced
size past it is refused before a byte of the body is read, a streamed body as soon as the bytes
read pass it, its connection closed. One ``ResponseTooLargeError``, not retried, on either
transport; the CLI says so in one line, its memory bounded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings, with_overrides
from pooldrift.emulator import EmulatorServer
from tests.pooldrift.test_cli import POOLDRIFT

HUGE = 300 << 20
LIMIT = 1 << 20
#: well past what a refused answer takes; reading 300 MiB and parsing it takes longer on 2 cores
ENDS_WITHIN = 10.0
LISTING = "desktop-pools$"
TRANSPORTS = ["aiohttp", "httpx2"]
DEMO_POOLS = 12


async def within(call: Any) -> Any:
    async with asyncio.timeout(ENDS_WITHIN):
        return await call


async def huge_answer_ended(emulator: EmulatorServer) -> tuple[int, int]:
    """(bytes sent, bytes it had) of the emulator's huge answer, once it stopped sending."""
    for _ in range(int(ENDS_WITHIN / 0.02)):
        if answers := emulator.huge_answers():
            return answers[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"the emulator was still sending its huge answer after {ENDS_WITHIN:g} s")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_streamed_300_mib_answer_stops_once_past_the_limit(
    settings: Settings, emulator: EmulatorServer, transport: str
) -> None:
    emulator.faults.update(huge_rate=1, huge_size=HUGE, huge_framing="chunked", paths=LISTING)
    limited = with_overrides(settings, max_response_bytes=LIMIT, http_transport=transport)
    async with WorkspaceClient(limited) as client:
        with pytest.raises(errors.ResponseTooLargeError) as caught:
            await within(client.list_pools())
        exc = caught.value
        assert exc.limit == LIMIT and exc.size is None and exc.setting == "POOLDRIFT_MAX_RESPONSE_BYTES"
        assert f"answered more than the {LIMIT} bytes (1 MiB) pooldrift reads of one answer" in exc.message
        assert "reading stopped there" in exc.message and "raise POOLDRIFT_MAX_RESPONSE_BYTES" in exc.message
        assert exc.status_code == 200 and exc.request_id and exc.request_id in exc.message
        assert exc.outcome == "response_too_large" and not exc.retryable
        assert emulator.requests.count("/desktop-pools") == 1  # not read again by a retry
        # the client hung up: the emulator sent a small part of the 300 MiB (socket buffers aside)
        sent, size = await huge_answer_ended(emulator)
        assert size == HUGE and sent < HUGE // 10, sent
        # its connection was closed, not handed back half-read: the next call reads a clean answer
        emulator.faults.reset()
        assert len((await within(client.list_pools())).pools) == DEMO_POOLS


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("size", "limit"),
    [(HUGE, LIMIT), (200_000, 65_536)],  # the second within what the aiohttp transport reads at once
    ids=["300MiB", "small-limit"],
)
async def test_an_announced_size_past_the_limit_is_refused_before_reading_the_body(
    settings: Settings, emulator: EmulatorServer, transport: str, size: int, limit: int
) -> None:
    # the body's first byte comes 10 s after the headers: reading any of it meets the read timeout
    emulator.faults.update(huge_rate=1, huge_size=size, huge_framing="length", slow_body=100, paths=LISTING)
    limited = with_overrides(settings, max_response_bytes=limit, http_transport=transport)
    async with WorkspaceClient(limited) as client:
        with pytest.raises(errors.ResponseTooLargeError) as caught:
            await within(client.list_pools())
        exc = caught.value
        assert exc.size == size and exc.limit == limit
        assert f"answered {size} bytes (" in exc.message and f"more than the {limit} bytes" in exc.message
        assert "none of it was read" in exc.message and "POOLDRIFT_MAX_RESPONSE_BYTES" in exc.message
        assert emulator.requests.count("/desktop-pools") == 1
        emulator.faults.reset()
        assert len((await within(client.list_pools())).pools) == DEMO_POOLS


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("framing", ["chunked", "length"])
async def test_an_answer_of_exactly_the_limit_is_read_and_one_byte_more_is_not(
    settings: Settings, emulator: EmulatorServer, transport: str, framing: str
) -> None:
    # the real listing, then spaces up to the size: JSON as valid as the listing alone
    emulator.faults.update(huge_rate=1, huge_size=LIMIT, huge_framing=framing, paths=LISTING)
    limited = with_overrides(settings, max_response_bytes=LIMIT, http_transport=transport)
    async with WorkspaceClient(limited) as client:
        assert len((await within(client.list_pools())).pools) == DEMO_POOLS
        emulator.faults.update(huge_size=LIMIT + 1)
        with pytest.raises(errors.ResponseTooLargeError):
            await within(client.list_pools())


#: started from this (large) test process, a child's rusage counts this process's memory too
#: (Linux keeps the high-water mark of the memory the child had before its exec, and a vfork
#: child has ours): a small launcher starts the command and reports the command's own peak
LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def pooldrift_pools(env: dict[str, str]) -> tuple[int, str, str, float]:
    """``pooldrift pools`` in a subprocess: exit code, stdout, stderr and its peak RSS in MiB,
    from the kernel's rusage of the command (``os.wait4`` in a small launcher)."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "rusage"
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(report), POOLDRIFT, "pools"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        code, peak_kb = report.read_text().split()
        return int(code), done.stdout, done.stderr, int(peak_kb) / 1024


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_the_cli_says_the_answer_is_too_large_in_one_line_and_stays_small(
    emulator_env: dict[str, str], emulator: EmulatorServer, framing: str
) -> None:
    emulator.faults.update(huge_rate=1, huge_size=HUGE, huge_framing=framing, paths=LISTING)
    code, out, err, peak_mb = pooldrift_pools(emulator_env)  # the default limit, 16 MiB
    assert code == 1, err
    (line,) = err.splitlines()
    assert line.startswith("pooldrift: ") and "Traceback" not in err and out == ""
    assert "more than the 16777216 bytes (16 MiB) pooldrift reads of one answer" in line
    assert ("314572800 bytes (300 MiB)" in line) is (framing == "length")
    assert "POOLDRIFT_MAX_RESPONSE_BYTES" in line
    assert emulator.secret_key not in err + out
    # reading the whole answer held it several times over (975 MB); bounded, a small process
    assert peak_mb < 200, peak_mb
    assert emulator.requests.count("/desktop-pools") == 1
