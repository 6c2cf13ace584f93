"""What lives for the whole server process: the one ``WorkspaceClient`` and the metrics.

``Runtime.open`` is the lifespan of both transports; tool calls go through ``Runtime.call``,
which picks the per-call client view, times the call and turns pooldrift errors into ToolErrors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError

from pooldrift.errors import ConfigurationError, PooldriftError
from pooldrift.validation import validate_project_id, validate_region

from .errors import STATISTICS_PERMISSION, describe, outcome
from .metrics import Metrics

if TYPE_CHECKING:
    from pooldrift.client import WorkspaceClient
    from pooldrift.config import Settings

log = logging.getLogger("pooldrift.server")


class Runtime:
    """The server's shared state: one client (made once, closed with the runtime) and metrics.

    A configuration problem does not stop the server: the client is then None and every tool
    answers with what to set, which an assistant can show its user.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._client: WorkspaceClient | None = None
        self.config_error: ConfigurationError | None = None
        self.metrics = Metrics()

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings | None = None, *, lazy: bool = False) -> AsyncIterator[Runtime]:
        """The runtime for one server's life. ``lazy`` (stdio) makes the client on the first
        tool call: its settings, TLS context and imports then stay off the start-up path that
        an assistant waits for on every launch."""
        runtime = cls(settings)
        if not lazy:
            runtime.connect()
        try:
            yield runtime
        finally:
            if runtime._client is not None:
                await runtime._client.aclose()

    def connect(self) -> WorkspaceClient | None:
        """The client, made on first use (synchronously: concurrent first calls cannot race)."""
        if self._client is None and self.config_error is None:
            from pooldrift.client import WorkspaceClient

            try:
                self._client = WorkspaceClient(self._settings)
            except ConfigurationError as exc:
                log.error("pooldrift is not configured: %s", exc.message)
                self.config_error = exc
        return self._client

    def require_client(self) -> WorkspaceClient:
        client = self.connect()
        if client is None:
            raise self.config_error or ConfigurationError("no Workspace client")
        return client

    def client_for(self, *, region: str | None, project_id: str | None) -> WorkspaceClient:
        """The shared client, or a view of it for another region or project (validated first)."""
        if region is not None:
            region = validate_region(region)
        if project_id is not None:
            project_id = validate_project_id(project_id.strip())
        client = self.require_client()
        if region is None and project_id is None:
            return client
        return client.with_options(region=region, project_id=project_id)

    @asynccontextmanager
    async def call(self, tool: str, *, doing: str, needs: str = STATISTICS_PERMISSION) -> AsyncIterator[None]:
        """Time one tool call and translate its pooldrift error (if any) into a ToolError."""
        started = time.perf_counter()
        try:
            yield
        except PooldriftError as exc:
            label = outcome(exc)
            self.metrics.record(tool, label, time.perf_counter() - started)
            # the SDK logs the ToolError text at INFO; this adds the outcome label
            log.debug("%s failed (%s): %s", tool, label, exc.message)
            raise ToolError(describe(exc, doing=doing, needs=needs)) from None
        except Exception:
            self.metrics.record(tool, "crash", time.perf_counter() - started)
            raise
        self.metrics.record(tool, "ok", time.perf_counter() - started)
