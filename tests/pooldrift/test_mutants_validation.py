"""What each refusal says, word for word, and which argument it names; ids normalised; values
quoted back escaped and short.
"""

from __future__ import annotations

from typing import Any

import pytest

from pooldrift.errors import InvalidInputError
from pooldrift.validation import (
    MAX_REF_SHOWN,
    shown,
    validate_pool_id,
    validate_pool_name,
    validate_pool_ref,
    validate_project_id,
    validate_region,
)

POOL = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
NAME_RULE = "give a pool id (UUID) or a pool name of letters, digits, Chinese characters, '-', '_' and '.'"


def refusal(check: Any, value: Any) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        check(value)
    return caught.value


def test_an_upper_case_pool_id_is_normalised_wherever_it_comes_in() -> None:
    assert validate_pool_ref(POOL.upper()) == POOL
    assert validate_pool_ref(f" {POOL.upper()}\n") == POOL
    assert validate_pool_id(POOL.upper()) == POOL


def test_look_alike_characters_are_shown_escaped() -> None:
    cyrillic = refusal(validate_pool_ref, "fin\u0430nce")  # а, not a
    assert "'fin\\u0430nce'" in cyrillic.message and "\u0430" not in cyrillic.message
    fullwidth = refusal(validate_pool_ref, "\uff46\uff49\uff4e")
    assert "'\\uff46\\uff49\\uff4e'" in fullwidth.message
    id_like = refusal(validate_pool_id, POOL[:-1] + "\u0435")
    assert "\\u0435" in id_like.message and "\\\\" not in id_like.message and "\u0435" not in id_like.message


def test_shown_cuts_at_forty_characters_and_says_so() -> None:
    assert shown("x" * MAX_REF_SHOWN) == repr("x" * MAX_REF_SHOWN)
    assert shown("x" * (MAX_REF_SHOWN + 1)) == repr("x" * MAX_REF_SHOWN + "…")
    assert shown("a\tb") == "'a\\tb'"  # escaped once, never twice


def test_chinese_names_are_quoted_back_as_they_are() -> None:
    assert shown("财务-win11") == "'财务-win11'"
    assert shown("it's") == "'it\\'s'" and shown("a\\b") == "'a\\\\b'"


@pytest.mark.parametrize(
    ("check", "value", "message", "field"),
    [
        (validate_pool_ref, None, "a pool id or name is required", "pool"),
        (validate_pool_ref, "  ", "a pool id or name is required", "pool"),
        (validate_pool_name, "", "a pool id or name is required", "pool"),
        (validate_pool_name, 7, "a pool id or name is required", "pool"),
        (validate_pool_name, "x" * 65, "pool name too long (65 characters; at most 64)", "pool"),
        (validate_pool_name, "a b", f"invalid pool reference 'a b': {NAME_RULE}", "pool"),
        (validate_pool_name, "a..b", f"invalid pool reference 'a..b': {NAME_RULE}", "pool"),
        (
            validate_pool_id,
            "nope",
            "invalid pool id 'nope': expected a UUID such as a130ab3a-72bf-4b71-baa9-af4987c8e338",
            "pool_id",
        ),
        (
            validate_project_id,
            "NOPE",
            "invalid project id 'NOPE': expected 32 lowercase hex characters "
            "such as bcae3e673fd04716a3b9dacdf58ca336",
            "project_id",
        ),
        (validate_project_id, None, "invalid project id 'None'", "project_id"),
    ],
)
def test_each_refusal_says_what_and_names_the_argument(
    check: Any, value: Any, message: str, field: str
) -> None:
    refused = refusal(check, value)
    assert refused.message.startswith(message), refused.message
    assert refused.field == field


def test_an_unknown_region_lists_the_known_ones() -> None:
    refused = refusal(validate_region, " mars-1 ")
    assert refused.message.startswith("unknown region ' mars-1 '; known regions: ")
    assert "cn-north-4, " in refused.message or ", cn-north-4" in refused.message
    assert refused.field == "region"
    assert refusal(validate_region, None).message.startswith("unknown region 'None'; known regions: ")
    assert refusal(validate_region, "").field == "region"
    assert validate_region(" cn-north-4 ") == "cn-north-4"
