"""pooldrift: has this Huawei Cloud Workspace desktop pool drifted from its configuration?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .client import WorkspaceClient
    from .config import Settings
    from .models import DriftReport, InconsistentType

__all__ = ["DriftReport", "InconsistentType", "Settings", "WorkspaceClient", "__version__"]

_LAZY = {
    "WorkspaceClient": "client",
    "Settings": "config",
    "DriftReport": "models",
    "InconsistentType": "models",
}


def __getattr__(name: str) -> Any:
    # lazy, so that `import pooldrift.emulator` or the CLI's --help stay fast
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
