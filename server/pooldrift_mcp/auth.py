"""How ``pooldrift-server`` guards its routes: bearer tokens for ``/mcp`` (and ``/metrics`` when
POOLDRIFT_METRICS_TOKEN is set), and the Host/Origin check against DNS rebinding.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr

from .settings import ServerSettings

__all__ = ["StaticTokenVerifier", "bearer_matches", "default_allowed_hosts", "transport_security"]


class StaticTokenVerifier:
    """Accepts any of a fixed set of bearer tokens; compares each in constant time."""

    def __init__(self, tokens: Sequence[SecretStr]) -> None:
        if not tokens:
            raise ValueError("at least one token is required")
        self._tokens = [token.get_secret_value().encode() for token in tokens]

    async def verify_token(self, token: str) -> AccessToken | None:
        match = _match(token, self._tokens)
        if match is None:
            return None
        # the client id names the token's slot, never the token
        return AccessToken(token=token, client_id=f"token-{match + 1}", scopes=[])


def bearer_matches(authorization: str | None, token: SecretStr) -> bool:
    """Whether an ``Authorization`` header carries ``token`` as a bearer token (constant time)."""
    scheme, _, offered = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return _match(offered.strip(), [token.get_secret_value().encode()]) is not None


def _match(offered: str, known: Sequence[bytes]) -> int | None:
    encoded = offered.encode()
    match = None
    # no early exit: the time taken must not tell which token (or how much of it) matched
    for index, candidate in enumerate(known):
        if hmac.compare_digest(encoded, candidate) and match is None:
            match = index
    return match


def transport_security(settings: ServerSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection: only these Host (and Origin) values reach /mcp."""
    if "*" in settings.allowed_hosts:  # allowed with a token only (ServerSettings.check)
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = list(settings.allowed_hosts) or default_allowed_hosts(settings.host)
    # a browser page may only call /mcp from an origin on an allowed host
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


def default_allowed_hosts(bound: str) -> list[str]:
    """Loopback names on any port (a rebinding attack needs a name the attacker controls),
    plus the address the server is bound to when that is a specific one."""
    hosts = ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:*", "localhost:*", "[::1]:*"]
    bound = bound.strip("[]").lower()
    if bound not in ("0.0.0.0", "::", "127.0.0.1", "localhost", "::1"):  # noqa: S104 - compared, not bound
        name = f"[{bound}]" if ":" in bound else bound
        hosts += [name, f"{name}:*"]
    return hosts
