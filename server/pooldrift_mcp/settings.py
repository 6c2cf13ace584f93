"""``pooldrift-server``'s settings: where it listens, who may call ``/mcp`` and ``/metrics``, how
many MCP sessions it keeps and for how long, and how long a stop may take to drain.

Built with ``pooldrift.config.load`` like every settings model (variables, then secret files in
POOLDRIFT_SECRETS_DIR); ``load_server_settings`` adds the rules that span several variables.
"""

from __future__ import annotations

import importlib
import ipaddress
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import NoDecode

from pooldrift.config import PooldriftSettings, load
from pooldrift.errors import ConfigurationError

__all__ = ["MIN_TOKEN_LENGTH", "ServerSettings", "is_loopback", "load_server_settings"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MIN_TOKEN_LENGTH = 16

_Tokens = Annotated[tuple[SecretStr, ...], NoDecode]
_Names = Annotated[tuple[str, ...], NoDecode]


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a DNS name may resolve anywhere: treat it as exposed


class ServerSettings(PooldriftSettings):
    """Everything ``pooldrift-server`` reads besides the client's and Slack's own settings."""

    host: str = Field(default=DEFAULT_HOST, validation_alias=_env("POOLDRIFT_HOST"))
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, validation_alias=_env("POOLDRIFT_PORT"))
    tokens: _Tokens = Field(
        default=(), validation_alias=_env("POOLDRIFT_MCP_TOKEN"),
        description="Bearer tokens /mcp accepts, comma-separated (several while rotating).",
    )  # fmt: skip
    allowed_hosts: _Names = Field(
        default=(), validation_alias=_env("POOLDRIFT_MCP_ALLOWED_HOSTS"),
        description="Host header values /mcp accepts; empty: loopback names and the bound address; * any.",
    )  # fmt: skip
    max_sessions: int = Field(
        default=1000, ge=1, le=100_000, validation_alias=_env("POOLDRIFT_MCP_MAX_SESSIONS"),
        description="Open MCP sessions (legacy Streamable HTTP clients) at most; past it new ones get 503.",
    )  # fmt: skip
    session_idle: float = Field(
        default=300.0, gt=0, le=86_400, allow_inf_nan=False,
        validation_alias=_env("POOLDRIFT_MCP_SESSION_IDLE"),
        description="Seconds an MCP session may stay without a request before it is closed.",
    )  # fmt: skip
    shutdown_grace: float = Field(
        default=25.0, ge=0, le=3600, allow_inf_nan=False, validation_alias=_env("POOLDRIFT_SHUTDOWN_GRACE"),
        description="Seconds a stop (SIGTERM) waits for answers in flight; below Kubernetes' default 30 s.",
    )  # fmt: skip
    metrics_token: SecretStr | None = Field(
        default=None, validation_alias=_env("POOLDRIFT_METRICS_TOKEN"),
        description="Bearer token /metrics requires; unset: /metrics is open.",
    )  # fmt: skip
    watch_interval: str | None = Field(
        default=None, validation_alias=_env("POOLDRIFT_WATCH_INTERVAL"),
        description="Set: the server runs the drift watch (its settings are read and checked then).",
    )  # fmt: skip
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=_env("POOLDRIFT_REDIS_URL"),
        description="Read here only to check at start that the redis package is installed.",
    )  # fmt: skip

    @field_validator("host", mode="before")
    @classmethod
    def _default_host(cls, value: Any) -> Any:
        return (value.strip() or DEFAULT_HOST) if isinstance(value, str) else value

    @field_validator("port", mode="before")
    @classmethod
    def _default_port(cls, value: Any) -> Any:
        return (value.strip() or DEFAULT_PORT) if isinstance(value, str) else value

    @field_validator("tokens", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("metrics_token", "redis_url", "watch_interval", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tokens")
    @classmethod
    def _long_enough(cls, tokens: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        short = [i + 1 for i, token in enumerate(tokens) if len(token.get_secret_value()) < MIN_TOKEN_LENGTH]
        if short:
            raise PydanticCustomError(
                "token_too_short",
                "token {which} is shorter than {length} characters; generate one with `openssl rand -hex 32`",
                {"which": ", ".join(map(str, short)), "length": MIN_TOKEN_LENGTH},
            )
        return tokens

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value().strip()) < MIN_TOKEN_LENGTH:
            raise PydanticCustomError(
                "token_too_short", "shorter than {length} characters", {"length": MIN_TOKEN_LENGTH}
            )
        return token

    def check(self) -> None:
        """Refuse what would open /mcp to anyone (no token off loopback, or no Host check without
        one), and a Redis URL the install cannot use."""
        if self.redis_url is not None:
            _require("redis.asyncio", "POOLDRIFT_REDIS_URL is set", extra="pooldrift[redis]")
        if self.tokens:
            return
        if not is_loopback(self.host):
            raise ConfigurationError(
                f"refusing to serve /mcp on {self.host} (not a loopback address) without a token: "
                "set POOLDRIFT_MCP_TOKEN (e.g. `openssl rand -hex 32`), or listen on 127.0.0.1"
            )
        if "*" in self.allowed_hosts:
            raise ConfigurationError(
                "refusing POOLDRIFT_MCP_ALLOWED_HOSTS='*' without a token: any web page could reach /mcp "
                "through DNS rebinding; set POOLDRIFT_MCP_TOKEN, or list the host names"
            )

    @property
    def url(self) -> str:
        return base_url(self.host, self.port)


def _require(module: str, because: str, *, extra: str) -> None:
    try:
        importlib.import_module(module)  # imported anyway by whatever needs it, a moment later
    except ImportError:
        package = module.partition(".")[0]
        raise ConfigurationError(
            f"{because} but the {package} package is not installed: "
            f"install it with `pip install '{extra}'`, or unset the variable"
        ) from None


def base_url(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{host}:{port}"


def load_server_settings(**overrides: Any) -> ServerSettings:
    """The settings from overrides, the environment and secret files, checked as a whole."""
    settings = load(ServerSettings, what="server settings", **overrides)
    settings.check()
    return settings
