"""Pool button values: a pool id, or a pool with its region and project; anything else refused."""

from __future__ import annotations

import pytest
from pooldrift_slack.address import PoolAddress, parse_address

from pooldrift.errors import InvalidInputError

POOL = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
PROJECT = "bcae3e673fd04716a3b9dacdf58ca336"


def test_a_plain_pool_id_round_trips() -> None:
    address = parse_address(POOL.upper(), other_projects=False)
    assert address == PoolAddress(POOL) and address.value == POOL


def test_a_located_pool_round_trips_when_other_projects_are_scanned() -> None:
    address = PoolAddress(POOL, "cn-east-3", PROJECT)
    assert parse_address(address.value, other_projects=True) == address
    assert address.value == f"{POOL}|cn-east-3|{PROJECT}"


def test_a_located_pool_is_refused_when_only_the_own_project_is_scanned() -> None:
    with pytest.raises(InvalidInputError, match="another project"):
        parse_address(PoolAddress(POOL, "cn-east-3", PROJECT).value, other_projects=False)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "../../v3/projects",
        f"{POOL}|cn-east-3",
        f"{POOL}|mars-1|{PROJECT}",
        f"{POOL}|cn-east-3|{PROJECT.upper()}",
        f"{POOL}|cn-east-3|{PROJECT}|extra",
        f"x|cn-east-3|{PROJECT}",
    ],
)
def test_malformed_values_are_refused(value: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_address(value, other_projects=True)
