"""pooldrift: has this Huawei Cloud Workspace desktop pool drifted from its configuration?"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .version import __version__

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
    # lazy (PEP 562): `import pooldrift.emulator`, `pooldrift --help` and the MCP server's start
    # need none of the client's imports (httpx2, pydantic models), which cost ~150 ms
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
