"""A local Huawei Cloud Workspace API: the desktop-pool endpoints, the writes that fix drift (as jobs
that change the desktops when they end), and the IAM project listings.

Real paths and field shapes, an SDK-HMAC-SHA256 check, a seeded demo data set (or a generated
fleet of many projects, ``FleetSpec``) whose drift counts are computed from its desktops, the
gateway's rate limit (``Throttle``) and fault injection; see docs/emulator.md.

Demo data (seed ``DEMO_DATA_SEED``; ``EmulatorData`` holds it): 12 pools and 346 desktops.

======================  ========  ========  ===============================================
pool                    type      desktops  drift (desktops: kinds)
======================  ========  ========  ===============================================
finance-win11           STATIC    24        none: fully consistent
dev-ubuntu22            DYNAMIC   137       9 IMAGE; 4 PRODUCT; 3 IMAGE+DISK_SIZE (pages!)
hr-win10                STATIC    30        6 PRODUCT
design-gpu-win11        STATIC    12        5 IMAGE
callcenter-win10        DYNAMIC   40        7 DISK_NUM
analytics-win11         STATIC    18        4 DISK_SIZE
sales-win11             DYNAMIC   36        3 PRODUCT+IMAGE; 2 all four; 3 DISK_NUM+DISK_SIZE;
                                            2 IMAGE
lab-a                   DYNAMIC   8         1 IMAGE (``LAB-A`` differs only by case)
LAB-A                   STATIC    6         none
support-ubuntu20        DYNAMIC   15        2 PRODUCT; 1 DISK_SIZE; in maintenance mode
training-win10          DYNAMIC   0         none (empty pool)
qa-win11                STATIC    20        2 IMAGE+DISK_NUM; 2 PRODUCT+DISK_SIZE; 1 IMAGE
======================  ========  ========  ===============================================
"""

from __future__ import annotations

from collections.abc import Sequence

from .app import EmulatorApp, create_app
from .cli import main as _run
from .config import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY, EmulatorConfig
from .data import Desktop, EmulatorData, Pool, Project
from .faults import Faults
from .generate import FleetSpec
from .jobs import Job, Jobs, SubJob
from .recorder import RequestLog, RequestRecord, WriteLog, WriteRecord
from .server import EmulatorServer
from .shape import Shape, ShapeSettings
from .throttle import Throttle

__all__ = [
    "DEMO_ACCESS_KEY",
    "DEMO_PROJECT_ID",
    "DEMO_SECRET_KEY",
    "Desktop",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorData",
    "EmulatorServer",
    "Faults",
    "FleetSpec",
    "Job",
    "Jobs",
    "Pool",
    "Project",
    "RequestLog",
    "RequestRecord",
    "Shape",
    "ShapeSettings",
    "SubJob",
    "Throttle",
    "WriteLog",
    "WriteRecord",
    "create_app",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """``pooldrift emulator``: see ``pooldrift emulator --help``."""
    return _run(argv)
