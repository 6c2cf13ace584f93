"""What a pool button carries: the pool id, and its region and project when the pool came from a
scan across projects. Checked like any input before a click fetches anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from pooldrift.client import WorkspaceClient
from pooldrift.errors import InvalidInputError
from pooldrift.validation import validate_pool_id, validate_project_id, validate_region

__all__ = ["PoolAddress", "parse_address"]

_SEP = "|"


@dataclass(frozen=True)
class PoolAddress:
    """A pool of the bot's own project (no region or project), or of another one."""

    pool_id: str
    region: str | None = None
    project_id: str | None = None

    @property
    def value(self) -> str:
        """The button value that parses back to this address."""
        if self.region is None or self.project_id is None:
            return self.pool_id
        return _SEP.join((self.pool_id, self.region, self.project_id))

    def view(self, client: WorkspaceClient) -> WorkspaceClient:
        """The client, or its view of the pool's region and project (same connections)."""
        if self.region is None or self.project_id is None:
            return client
        return client.with_options(region=self.region, project_id=self.project_id)


def parse_address(value: str, *, other_projects: bool) -> PoolAddress:
    """The address in a button value; ``InvalidInputError`` before any request when it is not
    one, or names another project while the bot scans only its own."""
    parts = value.split(_SEP)
    if len(parts) == 1:
        return PoolAddress(validate_pool_id(value))
    if len(parts) != 3:
        validate_pool_id(value)  # raises: the words every malformed pool value gets
    pool_id, region, project_id = parts
    address = PoolAddress(validate_pool_id(pool_id), validate_region(region), validate_project_id(project_id))
    if not other_projects:
        raise InvalidInputError(
            "this button names a pool of another project, and pooldrift answers here only for its "
            "own project (POOLDRIFT_SLACK_SCAN_ALL_PROJECTS is off)",
            field="pool_id",
        )
    return address
