"""What one emulator instance serves: its key pair, its projects, its data set and its switches.

The environment is read only by ``EmulatorConfig.from_env()`` (the CLI calls it), never at import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from .generate import FleetSpec
from .recorder import DEFAULT_LIMIT as DEFAULT_REQUEST_LOG_LIMIT

#: The documented demo key pair: obviously not a real credential, accepted by the emulator only.
DEMO_ACCESS_KEY = "PDEMOAK0000000000000"
DEMO_SECRET_KEY = "pooldrift-demo-secret-not-for-production"  # noqa: S105 - documented demo
#: The one project the emulator serves (32 lowercase hex, like a real project id).
DEMO_PROJECT_ID = "dec0de00dec0de00dec0de00dec0de00"
DEMO_DOMAIN_ID = "00000000000000000000000000d0d0d0"
DEMO_REGION = "cn-north-4"
#: Seed of the demo data set: the same seed always gives the same pools and desktops.
DEMO_DATA_SEED = 20240101
#: How far ``X-Sdk-Date`` may be from the emulator's clock, as the real gateway allows.
MAX_CLOCK_SKEW_SECONDS = 15 * 60


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class EmulatorConfig:
    """Credentials it accepts, the projects and data it serves, its rate limit, and whether the
    control API is mounted."""

    access_key: str = DEMO_ACCESS_KEY
    secret_key: str = field(default=DEMO_SECRET_KEY, repr=False)
    #: The home project: the demo set's only one, a generated fleet's first.
    project_id: str = DEMO_PROJECT_ID
    domain_id: str = DEMO_DOMAIN_ID
    #: The home project's region (the demo set's one project answers the IAM lookup of any region).
    region: str = DEMO_REGION
    #: When set, ``X-Auth-Token`` equal to this is accepted instead of a signature.
    auth_token: str | None = field(default=None, repr=False)
    #: When set, a request carrying ``X-Security-Token`` must carry exactly this.
    security_token: str | None = field(default=None, repr=False)
    #: Mount ``/_emulator/faults`` and ``/_emulator/requests`` (no signature needed there).
    control: bool = True
    #: How many requests the log keeps (the last ones; older ones are counted as dropped).
    request_log_limit: int = DEFAULT_REQUEST_LOG_LIMIT
    data_seed: int = DEMO_DATA_SEED
    #: A generated fleet instead of the demo set (its first project is ``project_id``).
    fleet: FleetSpec | None = None
    #: Requests a minute above which it answers the gateway's 429 APIGW.0308 (0: no limit).
    rate_limit: int = 0
    #: Seed of the random faults (``None``: a fresh one each start).
    fault_seed: int | None = 0
    #: Seconds a write's job takes: a quarter waiting, then running, then ended (tests use ~0.2).
    job_seconds: float = 2.0
    max_clock_skew: float = MAX_CLOCK_SKEW_SECONDS
    clock: Callable[[], datetime] = field(default=_utc_now, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> EmulatorConfig:
        """The demo defaults, with the vendor SDK's variables taking precedence when set."""
        env = os.environ if environ is None else environ
        config = cls()
        values: dict[str, object] = {}
        for name, key in (
            ("HUAWEICLOUD_SDK_AK", "access_key"),
            ("HUAWEICLOUD_SDK_SK", "secret_key"),
            ("HUAWEICLOUD_SDK_PROJECT_ID", "project_id"),
            ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "security_token"),
            ("POOLDRIFT_IAM_TOKEN", "auth_token"),
        ):
            value = env.get(name, "").strip()
            if value:
                values[key] = value
        for key, override in overrides.items():
            if not hasattr(config, key):
                raise TypeError(f"EmulatorConfig has no field {key!r}")
            if override is not None:
                values[key] = override
        return replace(config, **values)  # type: ignore[arg-type]
