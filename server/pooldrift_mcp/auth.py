"""How ``pooldrift-server`` guards ``/mcp``: bind address, bearer tokens and allowed Host headers.

Read from POOLDRIFT_HOST/PORT, POOLDRIFT_MCP_TOKEN (comma-separated, for rotation) and
POOLDRIFT_MCP_ALLOWED_HOSTS; a bad combination is a ConfigurationError before anything listens.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings

from pooldrift.errors import ConfigurationError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a DNS name may resolve anywhere: treat it as exposed


class StaticTokenVerifier:
    """Accepts any of a fixed set of bearer tokens; compares each in constant time."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if not tokens:
            raise ValueError("at least one token is required")
        self._tokens = [token.encode() for token in tokens]

    async def verify_token(self, token: str) -> AccessToken | None:
        offered = token.encode()
        match = None
        # no early exit: the time taken must not tell which token (or how much of it) matched
        for index, known in enumerate(self._tokens):
            if hmac.compare_digest(offered, known) and match is None:
                match = index
        if match is None:
            return None
        # the client id names the token's slot, never the token
        return AccessToken(token=token, client_id=f"token-{match + 1}", scopes=[])


@dataclass(frozen=True)
class HttpConfig:
    """Where to listen and who may call ``/mcp``."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tokens: tuple[str, ...] = field(default=(), repr=False)  # secrets: never in a repr
    #: Host header values accepted by /mcp; empty means the defaults, ``("*",)`` means any
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HttpConfig:
        env = os.environ if environ is None else environ
        host = env.get("POOLDRIFT_HOST", "").strip() or DEFAULT_HOST
        raw_port = env.get("POOLDRIFT_PORT", "").strip() or str(DEFAULT_PORT)
        try:
            port = int(raw_port)
        except ValueError:
            raise ConfigurationError(f"POOLDRIFT_PORT must be a port number, not {raw_port[:20]!r}") from None
        config = cls(
            host=host,
            port=port,
            tokens=_split(env.get("POOLDRIFT_MCP_TOKEN", "")),
            allowed_hosts=_split(env.get("POOLDRIFT_MCP_ALLOWED_HOSTS", "")),
        )
        config.check()
        return config

    def check(self) -> None:
        """Refuse what would expose /mcp: a non-loopback address without a token, weak tokens."""
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"POOLDRIFT_PORT must be between 0 and 65535, not {self.port}")
        short = [i + 1 for i, token in enumerate(self.tokens) if len(token) < MIN_TOKEN_LENGTH]
        if short:
            raise ConfigurationError(
                f"POOLDRIFT_MCP_TOKEN: token {', '.join(map(str, short))} is shorter than "
                f"{MIN_TOKEN_LENGTH} characters; generate one with `openssl rand -hex 32`"
            )
        if not self.tokens and not is_loopback(self.host):
            raise ConfigurationError(
                f"refusing to serve /mcp on {self.host} (not a loopback address) without a token: "
                "set POOLDRIFT_MCP_TOKEN (e.g. `openssl rand -hex 32`), or listen on 127.0.0.1"
            )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"http://{host}:{self.port}"

    def transport_security(self) -> TransportSecuritySettings:
        """DNS-rebinding protection: only these Host (and Origin) values reach /mcp."""
        if self.allowed_hosts == ("*",):
            return TransportSecuritySettings(enable_dns_rebinding_protection=False)
        hosts = list(self.allowed_hosts) or self.default_allowed_hosts()
        # a browser page may only call /mcp from an origin on an allowed host
        origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
        return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)

    def default_allowed_hosts(self) -> list[str]:
        """Loopback names on any port (a rebinding attack needs a name the attacker controls),
        plus the address the server is bound to when that is a specific one."""
        hosts = ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:*", "localhost:*", "[::1]:*"]
        bound = self.host.strip("[]").lower()
        if bound not in ("0.0.0.0", "::", "127.0.0.1", "localhost", "::1"):  # noqa: S104 - compared, not bound
            name = f"[{bound}]" if ":" in bound else bound
            hosts += [name, f"{name}:*"]
        return hosts


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())
