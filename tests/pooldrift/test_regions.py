"""Regions from the vendor's own tables: ``pooldrift regions`` and where each call really goes.

The vendor SDK (``huaweicloudsdkworkspace``, ``huaweicloudsdkiam``, ``huaweicloudsdkcore``) is a
test-only dependency: its region tables are the reference ``pooldrift.regions`` is copied from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from huaweicloudsdkcore.auth.internal import IamHelper
from huaweicloudsdkiam.v3.region.iam_region import IamRegion
from huaweicloudsdkworkspace.v2.region.workspace_region import WorkspaceRegion

from pooldrift import errors, regions
from pooldrift.client import WorkspaceClient
from pooldrift.config import load_settings
from pooldrift.validation import validate_region

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")
POOL = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
PROJECT = "0123456789abcdef0123456789abcdef"


def vendor_iam(region: str) -> str:
    """The IAM endpoint the vendor's SDK uses for a region's project lookup."""
    found = IamRegion.static_fields.get(region)
    if found is None:
        return str(IamHelper.DEFAULT_ENDPOINT)
    (endpoint,) = found.endpoints
    return str(endpoint)


def vendor_workspace(region: str) -> str:
    (endpoint,) = WorkspaceRegion.static_fields[region].endpoints
    return str(endpoint)


def run_regions(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POOLDRIFT_", "HUAWEICLOUD_"))}
    return subprocess.run(
        [POOLDRIFT, "regions", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_regions_json_equals_the_vendor_tables() -> None:
    done = run_regions("--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    # every region of the SDK's Workspace table, in its order, and no other
    assert [row["region"] for row in listed] == list(WorkspaceRegion.static_fields)
    for row in listed:
        region = row["region"]
        assert row["workspace_endpoint"] == vendor_workspace(region), region
        assert row["iam_endpoint"] == vendor_iam(region), region
    by_region = {row["region"]: row["iam_endpoint"] for row in listed}
    # the cases the issue names: a regional IAM on another domain, and two regions without one
    assert by_region["eu-west-101"] == "https://iam.eu-west-101.myhuaweicloud.eu"
    assert by_region["cn-north-11"] == by_region["af-north-1"] == "https://iam.myhuaweicloud.com"


def test_regions_table_names_the_default_and_the_overrides() -> None:
    plain = run_regions()
    assert plain.returncode == 0, plain.stderr
    line = next(x for x in plain.stdout.splitlines() if x.startswith("eu-west-101"))
    assert line.split() == [
        "eu-west-101",
        "https://workspace.eu-west-101.myhuaweicloud.com",
        "https://iam.eu-west-101.myhuaweicloud.eu",
    ]
    assert any(x.startswith("cn-north-4 (default)") for x in plain.stdout.splitlines())
    assert "is set" not in plain.stdout
    overridden = run_regions(POOLDRIFT_ENDPOINT="http://127.0.0.1:9")
    assert "POOLDRIFT_ENDPOINT=http://127.0.0.1:9 is set" in overridden.stdout


@pytest.mark.parametrize("region", list(WorkspaceRegion.static_fields))
def test_settings_send_each_region_where_the_vendor_does(region: str) -> None:
    settings = load_settings(access_key="A", secret_key="S", region=region)
    assert settings.workspace_endpoint() == vendor_workspace(region)
    assert settings.iam_base() == vendor_iam(region)


def test_regions_the_workspace_table_lacks_are_refused() -> None:
    # na-mexico-1 has IAM but no Workspace endpoint in the vendor's tables: nothing to call there
    for region in ("na-mexico-1", "eu-west-0", "mars-north-1"):
        with pytest.raises(errors.ConfigurationError, match="known regions"):
            load_settings(access_key="A", secret_key="S", region=region)
        with pytest.raises(errors.InvalidInputError, match="known regions"):
            validate_region(region)
    assert validate_region(" eu-west-101 ") == "eu-west-101"
    assert tuple(WorkspaceRegion.static_fields) == regions.KNOWN_REGIONS


@pytest.mark.parametrize(
    ("region", "iam_host"),
    [("eu-west-101", "iam.eu-west-101.myhuaweicloud.eu"), ("cn-north-11", "iam.myhuaweicloud.com")],
)
async def test_the_project_lookup_goes_to_the_vendors_iam_host(region: str, iam_host: str) -> None:
    seen: list[httpx2.URL] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url)
        if request.url.path == "/v3/projects":
            return httpx2.Response(200, json={"projects": [{"id": PROJECT, "name": region}]})
        return httpx2.Response(200, json={"product_id": 0, "image_id": 0, "disk_num": 0, "disk_size": 0})

    settings = load_settings(access_key="A", secret_key="S", region=region)
    async with WorkspaceClient(settings, transport=httpx2.MockTransport(answer)) as client:
        report = await client.inconsistent_statics(POOL)
    assert report.project_id == PROJECT
    assert [(u.host, u.path) for u in seen] == [
        (iam_host, "/v3/projects"),
        (f"workspace.{region}.myhuaweicloud.com", f"/v2/{PROJECT}/desktop-pools/{POOL}/inconsistent-statics"),
    ]
    assert seen[0].params["name"] == region


def test_regions_json_shows_where_calls_go_under_an_endpoint_override() -> None:
    plain = {row["region"]: row for row in json.loads(run_regions("--json").stdout)}
    assert plain["eu-west-101"]["iam_calls_go_to"] == "https://iam.eu-west-101.myhuaweicloud.eu"
    assert plain["eu-west-101"]["overridden_by"] == []
    done = run_regions("--json", POOLDRIFT_ENDPOINT="http://127.0.0.1:9")
    assert done.returncode == 0, done.stderr
    for row in json.loads(done.stdout):
        assert row["workspace_calls_go_to"] == row["iam_calls_go_to"] == "http://127.0.0.1:9", row
        assert row["overridden_by"] == ["POOLDRIFT_ENDPOINT"]
        assert row["workspace_endpoint"] == vendor_workspace(row["region"])  # the vendor's, still shown


def test_regions_table_names_each_override_its_value_and_the_calls_it_takes() -> None:
    both = run_regions(
        POOLDRIFT_ENDPOINT="http://127.0.0.1:9", HUAWEICLOUD_SDK_IAM_ENDPOINT="http://127.0.0.1:8"
    )
    assert both.returncode == 0, both.stderr
    lines = [x for x in both.stdout.splitlines() if "is set" in x]
    assert lines == [
        "POOLDRIFT_ENDPOINT=http://127.0.0.1:9 is set: Workspace calls of every region go to it "
        "instead of the endpoints above.",
        "HUAWEICLOUD_SDK_IAM_ENDPOINT=http://127.0.0.1:8 is set: IAM calls (the project lookup) of every "
        "region go to it instead of the endpoints above.",
    ]
