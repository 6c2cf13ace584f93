"""Ids and names are refused before any request: path tricks, look-alikes, lengths."""

from __future__ import annotations

import pytest

from pooldrift.errors import InvalidInputError
from pooldrift.validation import (
    MAX_POOL_NAME,
    is_pool_id,
    validate_pool_id,
    validate_pool_ref,
    validate_project_id,
)

POOL = "a130ab3a-72bf-4b71-baa9-af4987c8e338"


def test_pool_id_accepted_and_normalised() -> None:
    assert validate_pool_id(POOL) == POOL
    assert validate_pool_id(POOL.upper()) == POOL
    assert is_pool_id(f"  {POOL} ")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x",
        f"{POOL}/../x",
        "../a130ab3a-72bf-4b71-baa9-af4987c8e338",
        "a130ab3a-72bf-4b71-baa9-af4987c8e33",
        "a130ab3a-72bf-4b71-baa9-af4987c8e338%2F",
        "a130ab3a-72bf-4b71-baa9-af4987c8e33\u0435",  # Cyrillic e
        "a130ab3a-72bf-4b71-baa9-af4987c8e338\n",
    ],
)
def test_pool_id_refused(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid pool id") as info:
        validate_pool_id(bad)
    assert info.value.field == "pool_id"


def test_project_id() -> None:
    assert validate_project_id("bcae3e673fd04716a3b9dacdf58ca336") == "bcae3e673fd04716a3b9dacdf58ca336"
    for bad in ("BCAE3E673FD04716A3B9DACDF58CA336", "bcae3e67", "../bcae3e673fd04716a3b9dacdf58ca33"):
        with pytest.raises(InvalidInputError, match="32 lowercase hex"):
            validate_project_id(bad)


@pytest.mark.parametrize(
    "good", ["finance-win11", "dev_ubuntu.22", "A", "x" * MAX_POOL_NAME, "财务桌面池-01"]
)
def test_pool_names_accepted(good: str) -> None:
    assert validate_pool_ref(good) == good


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * (MAX_POOL_NAME + 1), "too long"),
        ("../etc", "invalid pool reference"),
        ("a..b", "invalid pool reference"),
        ("a/b", "invalid pool reference"),
        ("a%2Fb", "invalid pool reference"),
        ("two words", "invalid pool reference"),
        ("tab\tname", "invalid pool reference"),
        ("nul\x00", "invalid pool reference"),
        ("finаnce", "invalid pool reference"),  # Cyrillic a
        ("ｆｉｎａｎｃｅ", "invalid pool reference"),  # fullwidth
    ],
)
def test_pool_refs_refused(bad: str, why: str) -> None:
    with pytest.raises(InvalidInputError, match=why):
        validate_pool_ref(bad)


def test_error_quotes_input_safely() -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_pool_ref("bad\x1b[31mname")
    assert "\x1b" not in info.value.message
    assert "\\x1b" in info.value.message
