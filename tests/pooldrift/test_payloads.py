"""The payload models take every answer the vendor's definitions allow: fields left out, ``null``
for any of them, metadata values that are not strings; only the ids pooldrift acts on are required."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pooldrift.models import (
    DesktopPool,
    InconsistentStatics,
    InconsistentType,
    PoolDesktop,
    PoolDesktopPage,
    PoolList,
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"product_id": 2, "image_id": 1}, (2, 1, None, None)),  # the API before the disk kinds
        ({"product_id": 2, "image_id": 1, "disk_num": None, "disk_size": 0}, (2, 1, None, 0)),
        ({}, (None, None, None, None)),
    ],
)
def test_statics_with_counts_left_out_or_null(body: dict[str, object], expected: tuple[object, ...]) -> None:
    counts = InconsistentStatics.model_validate(body)
    assert (counts.product_id, counts.image_id, counts.disk_num, counts.disk_size) == expected


def test_a_negative_count_is_still_refused() -> None:
    with pytest.raises(ValidationError):
        InconsistentStatics.model_validate({"product_id": -1})


def test_nulls_in_listings_pools_and_desktops() -> None:
    assert PoolList.model_validate({"total_count": None, "desktop_pools": None}).desktop_pools == []
    assert PoolList.model_validate({}).total_count is None
    pool = DesktopPool.model_validate({"id": "p", "name": None, "data_volumes": None, "product": None})
    assert (pool.name, pool.data_volumes, pool.product_id) == ("", [], None)
    page = PoolDesktopPage.model_validate({"pool_desktops": None, "total_count": None})
    assert page.pool_desktops == [] and page.total_count is None
    desktop = PoolDesktop.model_validate(
        {"desktop_id": "d", "metadata": None, "inconsistent_types": None, "data_volumes": None}
    )
    assert (desktop.metadata, desktop.drift, desktop.data_volumes, desktop.image_id) == ({}, [], [], None)


def test_metadata_values_that_are_not_strings() -> None:
    desktop = PoolDesktop.model_validate(
        {
            "desktop_id": "d",
            "metadata": {
                "metering.image_id": "img-1",
                "os_bit": 64,
                "is_gpu": True,
                "charging_mode": None,
                "extra": {"a": [1, "b"]},
            },
        }
    )
    assert desktop.metadata == {
        "metering.image_id": "img-1",
        "os_bit": "64",
        "is_gpu": "true",
        "extra": '{"a": [1, "b"]}',
    }
    assert desktop.image_id == "img-1"


def test_a_desktops_own_kinds_are_read_as_the_vendor_documents_them() -> None:
    desktop = PoolDesktop.model_validate(
        {"desktop_id": "d", "inconsistent_types": ["IMAGE", "PRODUCT", "FLAVOR", "image"]}
    )
    assert desktop.drift == [InconsistentType.IMAGE_ID, InconsistentType.PRODUCT_ID]


@pytest.mark.parametrize("body", [{"name": "no id"}, {"id": None}])
def test_a_pool_without_its_id_is_malformed(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DesktopPool.model_validate(body)
