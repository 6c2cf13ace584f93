"""What lives for the whole server process: the one ``WorkspaceClient`` the tools share.

``Runtime.open`` is the lifespan of both transports; tool calls go through ``Runtime.call``,
which picks the per-call client view, records the call's outcome and turns every failure into
one worded ToolError.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError

from pooldrift.config import Settings, load_settings
from pooldrift.errors import ConfigurationError, PooldriftError
from pooldrift.validation import validate_project_id, validate_region

from .wording import new_reference, unexpected, word

if TYPE_CHECKING:
    from pooldrift.client import WorkspaceClient
    from pooldrift.watch.settings import WatchSettings
    from pooldrift.watch.store import StateStore

log = logging.getLogger("pooldrift.server")

_TRANSPORTS = {"aiohttp": "aiohttp", "httpx2": "httpx2's own transport"}


class Runtime:
    """The server's shared state: one client, made once and closed with the runtime.

    A configuration problem does not stop the server: the client is then None and every tool
    answers with what to set, which an assistant can show its user.
    """

    def __init__(self, settings: Settings | None = None, *, light: bool = False) -> None:
        self._settings = settings
        self._light = light
        self._client: WorkspaceClient | None = None
        self.config_error: ConfigurationError | None = None
        #: the state store of the watch this server runs (None: it runs none; tools then only read)
        self.watch_store: StateStore | None = None
        self._watch_settings: WatchSettings | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: Settings | None = None, *, lazy: bool = False, light: bool = False
    ) -> AsyncIterator[Runtime]:
        """The runtime for one server's life. ``lazy`` (stdio) makes the client on the first
        tool call: its settings, TLS context and imports then stay off the start-up path that
        an assistant waits for on every launch.

        ``light`` (an HTTP server for MCP alone) sends through httpx2's own transport unless
        ``POOLDRIFT_HTTP_TRANSPORT`` says otherwise: aiohttp adds ~9 MiB to the process, and
        with it the server held 1.24× a bare MCPServer's RSS after 5,000 calls against a
        budget of 1.2× (1.15× without; bench_mcp.py, section 4), for ~0.3 ms less CPU per
        upstream request (those 5,000 calls at 32 clients took 22.8 s instead of 25.7 s).
        Where Slack is served, aiohttp is loaded anyway (slack_sdk's async client), and where
        the watch scans, the CPU per request sets a scan's pace: both keep aiohttp."""
        runtime = cls(settings, light=light)
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
            # deferred: the client's modules add 15-20 % to the stdio cold start (bench_mcp.py,
            # section 1, with and without them), and stdio needs them only at the first call
            from pooldrift.client import WorkspaceClient

            try:
                settings = self._settings or load_settings()
                if self._light and "http_transport" not in settings.model_fields_set:
                    settings = settings.model_copy(update={"http_transport": "httpx2"})
                self._client = WorkspaceClient(settings)
                log.info("upstream requests go through %s", _TRANSPORTS[settings.http_transport])
            except ConfigurationError as exc:
                log.error("pooldrift is not configured: %s", exc.message)
                self.config_error = exc
        return self._client

    def watch_settings(self) -> WatchSettings:
        """Where the watch keeps its state, read once: every drifted answer looks there for since
        when, and reading the settings from the environment took ~1 ms of CPU, half of a call's
        own. (Whether the state exists is still asked each time: a watch started later counts.)"""
        if self._watch_settings is None:
            # deferred: the watch's settings are read only by the tools' calls
            from pooldrift.watch.settings import load_watch_settings

            self._watch_settings = load_watch_settings()
        return self._watch_settings

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

    @staticmethod
    @asynccontextmanager
    async def call(tool: str, *, doing: str) -> AsyncIterator[None]:
        """Record one tool call and make whatever fails inside it one worded ToolError."""
        started = time.perf_counter()
        outcome = "cancelled"  # unless the body ends one of the ways below
        try:
            yield
            outcome = "ok"
        except PooldriftError as exc:
            outcome = exc.outcome
            # the SDK logs the ToolError text at INFO; this adds the outcome label
            log.debug("%s failed (%s): %s", tool, outcome, exc.message)
            raise ToolError(word(exc, doing=doing)) from None
        except Exception:
            # a bug: the traceback stays in this log, the model gets words and the reference
            outcome = "internal_error"
            reference = new_reference()
            log.exception("%s failed unexpectedly (reference %s)", tool, reference)
            raise ToolError(unexpected(doing, reference)) from None
        except asyncio.CancelledError:
            # one line, no traceback; the requests it had under way are counted ``cancelled``
            # (pooldrift_upstream_requests), not as upstream failures
            seconds = time.perf_counter() - started
            log.info("%s cancelled after %.1f s (its client cancelled it or went away)", tool, seconds)
            raise
        finally:
            record(tool, outcome, time.perf_counter() - started)


def record(tool: str, outcome: str, seconds: float) -> None:
    """Count one answered tool call in ``pooldrift_calls{front="mcp"}``."""
    # deferred: prometheus-client takes ~14 ms, ~3 % of the stdio cold start (bench_mcp.py,
    # section 1), and stdio serves no /metrics; pooldrift.client imports it at the first call
    from pooldrift.metrics import record_call

    record_call("mcp", tool, outcome, seconds)
