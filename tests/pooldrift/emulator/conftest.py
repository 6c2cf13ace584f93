"""Fixtures for the emulator's own tests: a raw client signed with the project's ``AKSKAuth``, and
jobs that end quickly."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from pooldrift.emulator import EmulatorServer
from tests.helpers import signed_client


@pytest.fixture
def raw(emulator: EmulatorServer) -> Iterator[httpx2.Client]:
    """A sync httpx2 client on the emulator, signing every request with the demo key pair."""
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as client:
        yield client


@pytest.fixture
def project(emulator: EmulatorServer) -> str:
    return f"/v2/{emulator.project_id}"


@pytest.fixture
def quick_jobs(emulator: EmulatorServer) -> EmulatorServer:
    """The emulator with jobs that end in 0.2 s (``reset()`` restores the configured time)."""
    emulator.jobs.update(seconds=0.2)
    return emulator
