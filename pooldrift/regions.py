"""The one place for regions: where each region's Workspace API and IAM project lookup live.

Copied from the vendor SDK's region tables (``WorkspaceRegion``, ``IamRegion``, 3.1.219); a test
holds the two equal, so a region that moves upstream fails the suite instead of a user's call.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_REGION",
    "GLOBAL_IAM_ENDPOINT",
    "KNOWN_REGIONS",
    "REGIONS",
    "Region",
    "iam_endpoint",
    "is_known",
    "unknown_region_message",
    "workspace_endpoint",
]

#: Where the SDK core sends the project lookup of a region its IAM table does not list.
GLOBAL_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"
DEFAULT_REGION = "cn-north-4"


@dataclass(frozen=True)
class Region:
    """A region pooldrift can reach, with both endpoints a call may go to."""

    id: str
    workspace_endpoint: str
    iam_endpoint: str


def _workspace(region: str) -> str:
    return f"https://workspace.{region}.myhuaweicloud.com"


def _iam(region: str, domain: str = "myhuaweicloud.com") -> str:
    return f"https://iam.{region}.{domain}"


#: Every region of the SDK's Workspace table, in its order; IAM from the SDK's IAM table, or the
#: global endpoint for the two regions that table leaves out (cn-north-11, af-north-1).
REGIONS: dict[str, Region] = {
    r.id: r
    for r in (
        Region("cn-east-3", _workspace("cn-east-3"), _iam("cn-east-3")),
        Region("cn-north-4", _workspace("cn-north-4"), _iam("cn-north-4")),
        Region("cn-south-1", _workspace("cn-south-1"), _iam("cn-south-1")),
        Region("cn-southwest-2", _workspace("cn-southwest-2"), _iam("cn-southwest-2")),
        Region("la-south-2", _workspace("la-south-2"), _iam("la-south-2")),
        Region("sa-brazil-1", _workspace("sa-brazil-1"), _iam("sa-brazil-1")),
        Region("la-north-2", _workspace("la-north-2"), _iam("la-north-2")),
        Region("ap-southeast-3", _workspace("ap-southeast-3"), _iam("ap-southeast-3")),
        Region("cn-north-9", _workspace("cn-north-9"), _iam("cn-north-9")),
        Region("ap-southeast-1", _workspace("ap-southeast-1"), _iam("ap-southeast-1")),
        Region("cn-east-5", _workspace("cn-east-5"), _iam("cn-east-5")),
        Region("me-east-1", _workspace("me-east-1"), _iam("me-east-1")),
        Region("af-south-1", _workspace("af-south-1"), _iam("af-south-1")),
        Region("tr-west-1", _workspace("tr-west-1"), _iam("tr-west-1")),
        Region("cn-north-11", _workspace("cn-north-11"), GLOBAL_IAM_ENDPOINT),
        Region("af-north-1", _workspace("af-north-1"), GLOBAL_IAM_ENDPOINT),
        Region("ap-southeast-2", _workspace("ap-southeast-2"), _iam("ap-southeast-2")),
        Region("eu-west-101", _workspace("eu-west-101"), _iam("eu-west-101", "myhuaweicloud.eu")),
    )
}

KNOWN_REGIONS: tuple[str, ...] = tuple(REGIONS)


def is_known(region: str) -> bool:
    return region in REGIONS


def unknown_region_message(shown: str) -> str:
    """The words for a region pooldrift does not know; ``shown`` is the value, already made safe."""
    return f"unknown region {shown}; known regions: {', '.join(KNOWN_REGIONS)}"


def workspace_endpoint(region: str) -> str:
    """The Workspace API of a known region (``KeyError`` for another)."""
    return REGIONS[region].workspace_endpoint


def iam_endpoint(region: str) -> str:
    """The IAM endpoint that answers a known region's project lookup (``KeyError`` for another)."""
    return REGIONS[region].iam_endpoint
