"""The control API's run-time changes to the data set: a pool made to drift by a given number of
desktops, pools added and removed. Plain functions returning ``(status, body)``, like ``api.py``.

The drift counts stay computed from the desktops, so the list, its filter and the counts agree.
"""

from __future__ import annotations

from typing import Any

from .api import BAD_REQUEST, UNKNOWN_POOL, Answer, error
from .data import EmulatorData

__all__ = ["add_pool", "delete_pool", "drift_pool", "set_desktop"]

_MAX_DESKTOPS = 100_000
_CONFIG = ("type", "product_id", "image_id", "root_size", "data_sizes", "project_id")


def drift_pool(data: EmulatorData, pool_id: str, body: Any) -> Answer:
    """``{"kind": "image_id", "count": 3}``: exactly 3 desktops with another image (0: none)."""
    if not isinstance(body, dict) or "kind" not in body or "count" not in body:
        return error(400, BAD_REQUEST, 'the body must be {"kind": "image_id", "count": 3}')
    try:
        counts = data.set_drift(pool_id, str(body["kind"]), body["count"])
    except KeyError:
        return error(404, UNKNOWN_POOL, f"The desktop pool {pool_id[:64]} does not exist.")
    except ValueError as exc:
        return error(400, BAD_REQUEST, str(exc))
    return 200, {"pool_id": pool_id.lower(), "statics": counts}


def add_pool(data: EmulatorData, body: Any) -> Answer:
    """``{"name": "lab-b", "desktops": 10}`` (optional ``id``, ``type``, ``product_id``, ``image_id``,
    ``root_size``, ``data_sizes``, ``project_id``): a new pool whose desktops are all in line with it."""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        return error(400, BAD_REQUEST, 'the body must name the pool: {"name": "lab-b", "desktops": 10}')
    desktops = body.get("desktops", 10)
    if isinstance(desktops, bool) or not isinstance(desktops, int) or not 0 <= desktops <= _MAX_DESKTOPS:
        return error(400, BAD_REQUEST, f"desktops must be a whole number from 0 to {_MAX_DESKTOPS}")
    pool_id = body.get("id")
    if pool_id is not None and not isinstance(pool_id, str):
        return error(400, BAD_REQUEST, "id must be a string (a UUID)")
    config = {key: body[key] for key in _CONFIG if key in body}
    try:
        pool = data.create_pool(body["name"], desktops, pool_id=pool_id, **config)
    except ValueError as exc:
        return error(409 if "exists" in str(exc) else 400, BAD_REQUEST, str(exc))
    except TypeError as exc:
        return error(400, BAD_REQUEST, str(exc))
    return 201, {"id": pool.id, "name": pool.name, "desktop_count": desktops}


def delete_pool(data: EmulatorData, pool_id: str) -> Answer:
    if not data.remove_pool(pool_id):
        return error(404, UNKNOWN_POOL, f"The desktop pool {pool_id[:64]} does not exist.")
    return 200, {"deleted": pool_id.lower()}


def set_desktop(data: EmulatorData, desktop_id: str, body: Any) -> Answer:
    """``{"login_status": "CONNECTED", "task_status": "rebuilding", "is_freeze": true}``: the
    desktop's new state (see ``EmulatorData.set_desktop``), answered as the desktop list shows it."""
    if not isinstance(body, dict) or not body:
        return error(400, BAD_REQUEST, 'the body must name the fields: {"login_status": "CONNECTED"}')
    with data.lock:
        try:
            data.set_desktop(desktop_id, **body)
        except ValueError as exc:
            return error(400, BAD_REQUEST, str(exc))
        except KeyError:
            pass
        found = data.desktop(desktop_id)
        if found is None:
            return error(404, BAD_REQUEST, f"The desktop {desktop_id[:64]} does not exist.")
        return 200, found[1].to_api(found[0])
