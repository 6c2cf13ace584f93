"""What every listener needs, in a module that imports none of its users: the app puts one
``Deps`` into each request's Bolt context, and listeners read it back with ``deps_of``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pooldrift.client import WorkspaceClient

from .drain import InFlight
from .priority import AckFirst
from .settings import SlackSettings
from .watch_state import WatchState

__all__ = ["CONTEXT_KEY", "Deps", "deps_of"]

#: where the app puts ``Deps`` in the Bolt context
CONTEXT_KEY = "deps"


@dataclass(frozen=True)
class Deps:
    """The settings, the shared client (fetched per answer, so a server can open it in its
    lifespan after the routes were built), the ack-first and in-flight bookkeeping, and the
    drift watch's state (mutes, "since when")."""

    settings: SlackSettings
    get_client: Callable[[], WorkspaceClient]
    ack_first: AckFirst = field(default_factory=AckFirst)
    in_flight: InFlight = field(default_factory=InFlight)
    watch: WatchState = field(default_factory=WatchState)


def deps_of(context: Mapping[str, Any]) -> Deps:
    deps = context.get(CONTEXT_KEY)
    if not isinstance(deps, Deps):
        raise LookupError("no pooldrift Deps in the Bolt context: build the app with build_app()")
    return deps
