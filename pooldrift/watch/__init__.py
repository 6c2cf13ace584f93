"""The drift watch: scan the fleet on an interval, remember each pool's state and history, and
tell Slack and Prometheus about each change once (see ``engine.Watch``)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Watch
    from .events import diff
    from .models import Change, Event, EventKind, trend
    from .settings import WatchSettings, load_watch_settings
    from .state import StateStore, open_reader, open_store

__all__ = [
    "Change",
    "Event",
    "EventKind",
    "StateStore",
    "Watch",
    "WatchSettings",
    "diff",
    "load_watch_settings",
    "open_reader",
    "open_store",
    "trend",
]

_LAZY = {
    "Watch": "engine",
    "diff": "events",
    "Change": "models",
    "Event": "models",
    "EventKind": "models",
    "trend": "models",
    "WatchSettings": "settings",
    "load_watch_settings": "settings",
    "StateStore": "state",
    "open_reader": "state",
    "open_store": "state",
}


def __getattr__(name: str) -> Any:
    # lazy (PEP 562): the settings or the models alone need not load the engine and its metrics
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
