"""Settings: argument, then environment (the vendor SDK's names where it has them), then a
secret file, then default. ``load`` is the one way every front reads its settings model.

Secrets are ``SecretStr``: their repr is masked, and nothing here formats their value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import httpx2
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from . import regions
from .errors import ConfigurationError
from .regions import DEFAULT_REGION, KNOWN_REGIONS
from .validation import shown, validate_project_id

__all__ = ["DEFAULT_REGION", "KNOWN_REGIONS", "Settings", "load_settings", "with_overrides"]

_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class PooldriftSettings(BaseSettings):
    """The base of every settings model (client, MCP server, Slack, logging): variables named
    by their aliases, unknown ones ignored. Build them with ``load``."""

    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", populate_by_name=True, validate_default=True
    )


class _Sources(BaseSettings):
    """Where settings come from besides the environment."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    secrets_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("POOLDRIFT_SECRETS_DIR"),
        description="A folder of files named like the variables (a Kubernetes secret volume); "
        "a variable that is set wins over its file.",
    )  # fmt: skip


_S = TypeVar("_S", bound=BaseSettings)


def load(model: type[_S], /, *, what: str = "configuration", **overrides: Any) -> _S:
    """``model`` from explicit overrides, the environment and secret files, in that order.

    A bad value is a ``ConfigurationError`` that names the variable but never echoes its value.
    """
    values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    try:
        secrets_dir = _Sources().secrets_dir
        if secrets_dir is not None and not secrets_dir.is_dir():
            raise ConfigurationError(f"POOLDRIFT_SECRETS_DIR is not a folder: {str(secrets_dir)[:80]!r}")
        return model(**values, _secrets_dir=secrets_dir)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigurationError(f"invalid {what}: {problems}") from None


class Settings(PooldriftSettings):
    """Everything the client needs; build with ``load_settings()``."""

    access_key: SecretStr | None = Field(default=None, validation_alias=_env("HUAWEICLOUD_SDK_AK"))
    secret_key: SecretStr | None = Field(default=None, validation_alias=_env("HUAWEICLOUD_SDK_SK"))
    security_token: SecretStr | None = Field(
        default=None, validation_alias=_env("HUAWEICLOUD_SDK_SECURITY_TOKEN")
    )
    auth_token: SecretStr | None = Field(
        default=None,
        validation_alias=_env("POOLDRIFT_IAM_TOKEN"),
        description="An IAM token (X-Auth-Token) used instead of the key pair.",
    )
    project_id: str | None = Field(default=None, validation_alias=_env("HUAWEICLOUD_SDK_PROJECT_ID"))
    region: str = Field(default=DEFAULT_REGION, validation_alias=_env("POOLDRIFT_REGION"))
    endpoint: str | None = Field(default=None, validation_alias=_env("POOLDRIFT_ENDPOINT"))
    iam_endpoint: str | None = Field(default=None, validation_alias=_env("HUAWEICLOUD_SDK_IAM_ENDPOINT"))

    connect_timeout: Annotated[float, Field(gt=0)] = Field(
        default=5.0, validation_alias=_env("POOLDRIFT_CONNECT_TIMEOUT")
    )
    read_timeout: Annotated[float, Field(gt=0)] = Field(
        default=20.0, validation_alias=_env("POOLDRIFT_READ_TIMEOUT"),
        description="Per attempt: how long to wait for an answer.",
    )  # fmt: skip
    deadline: Annotated[float, Field(gt=0)] = Field(
        default=45.0, validation_alias=_env("POOLDRIFT_DEADLINE"),
        description="Overall bound on one call, retries and waits included.",
    )  # fmt: skip
    max_attempts: Annotated[int, Field(ge=1, le=10)] = Field(
        default=4, validation_alias=_env("POOLDRIFT_MAX_ATTEMPTS")
    )
    backoff_initial: Annotated[float, Field(ge=0)] = Field(
        default=0.5, validation_alias=_env("POOLDRIFT_BACKOFF_INITIAL")
    )
    backoff_max: Annotated[float, Field(ge=0)] = Field(
        default=8.0, validation_alias=_env("POOLDRIFT_BACKOFF_MAX")
    )
    max_in_flight: Annotated[int, Field(ge=1, le=1024)] = Field(
        default=32, validation_alias=_env("POOLDRIFT_MAX_IN_FLIGHT")
    )
    cache_ttl: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=0.0, validation_alias=_env("POOLDRIFT_CACHE_TTL"),
        description="Seconds to reuse an answer; 0 (default) always asks upstream.",
    )  # fmt: skip
    http_transport: Literal["aiohttp", "httpx2"] = Field(
        default="aiohttp", validation_alias=_env("POOLDRIFT_HTTP_TRANSPORT"),
        description="What carries the httpx2 client's requests: aiohttp's connection pool "
        "(default; httpx2's own is used anyway when a proxy is configured) or httpx2's own.",
    )  # fmt: skip
    requests_per_minute: Annotated[int, Field(ge=0)] = Field(
        default=0, validation_alias=_env("POOLDRIFT_REQUESTS_PER_MINUTE"),
        description="Request budget: per process, or shared through POOLDRIFT_REDIS_URL; 0 means none.",
    )  # fmt: skip
    max_pools: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=5000, validation_alias=_env("POOLDRIFT_MAX_POOLS"),
        description="Most pools one listing reads (a project's, or those a name filter matches); "
        "past it the answer is 'more than N pools', so memory stays bounded when pages never end.",
    )  # fmt: skip
    max_desktops: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=20000, validation_alias=_env("POOLDRIFT_MAX_DESKTOPS"),
        description="Most desktops one listing of a pool's desktops reads; past it the answer "
        "is 'more than N desktops'.",
    )  # fmt: skip
    max_pages: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=500, validation_alias=_env("POOLDRIFT_MAX_PAGES"),
        description="Most pages one listing reads: an upstream answering a page of one item at a "
        "time under a total it never reaches stops there, not after thousands of requests.",
    )  # fmt: skip
    max_response_bytes: Annotated[int, Field(ge=65_536, le=1 << 30)] = Field(
        default=16 << 20, validation_alias=_env("POOLDRIFT_MAX_RESPONSE_BYTES"),
        description="Most bytes of one answer's body pooldrift reads (a page of 1000 pools is about "
        "1.5 MB); a larger one is refused at its Content-Length, or once that many bytes came, so "
        "memory stays bounded when an upstream answers without end.",
    )  # fmt: skip
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=_env("POOLDRIFT_REDIS_URL"),
        description="Redis shared by replicas (the request budget); it may hold a password.",
    )  # fmt: skip

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.strip()
        if not regions.is_known(value):
            raise ValueError(regions.unknown_region_message(shown(value)))
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("project_id")
    @classmethod
    def _project_form(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        return validate_project_id(value.strip())

    @field_validator("endpoint", "iam_endpoint")
    @classmethod
    def _endpoint_form(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip().rstrip("/")
        problem = "an endpoint must look like https://host[:port][/path]"
        if not _ENDPOINT.match(value):
            raise ValueError(problem)
        try:
            url = httpx2.URL(value)
            port = url.port
        except (httpx2.InvalidURL, ValueError):
            raise ValueError(problem) from None
        if not url.host or (port is not None and not 0 < port < 65536):
            raise ValueError(problem)
        return value

    def workspace_endpoint(self, region: str | None = None) -> str:
        """The override, else the region's endpoint from the vendor's table (``pooldrift.regions``)."""
        if self.endpoint:
            return self.endpoint
        return regions.workspace_endpoint(region or self.region)

    def iam_base(self, region: str | None = None) -> str:
        """IAM override, else the Workspace override (the emulator serves both), else the
        region's IAM endpoint from the vendor's table (the global one where it has none)."""
        if self.iam_endpoint:
            return self.iam_endpoint
        if self.endpoint:
            return self.endpoint
        return regions.iam_endpoint(region or self.region)

    def check_credentials(self) -> None:
        if self.auth_token is not None:
            return
        missing = [
            name
            for name, value in (
                ("HUAWEICLOUD_SDK_AK", self.access_key),
                ("HUAWEICLOUD_SDK_SK", self.secret_key),
            )
            if value is None or not value.get_secret_value()
        ]
        if missing:
            raise ConfigurationError(
                f"missing credentials: set {' and '.join(missing)} (or POOLDRIFT_IAM_TOKEN for an IAM token)"
            )


def load_settings(**overrides: Any) -> Settings:
    """The client's ``Settings`` from overrides, the environment and secret files."""
    return load(Settings, **overrides)


def with_overrides(settings: Settings, **overrides: Any) -> Settings:
    """A copy of ``settings`` with some values replaced, validated like the originals."""
    values = {k: v for k, v in overrides.items() if v is not None}
    return load(Settings, **{**settings.model_dump(), **values}) if values else settings
