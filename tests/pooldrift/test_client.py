"""WorkspaceClient against the emulator over loopback: results, pagination, lookups, faults."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.models import InconsistentType

FOUR = ("product_id", "image_id", "disk_num", "disk_size")


def counts(report: object) -> dict[str, int]:
    return {name: getattr(report, name) for name in FOUR}


async def test_every_pool_by_name_matches_the_emulator(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    for pool in emulator.data.pools:
        report = await client.check(pool.name)
        assert report.pool_id == pool.id
        assert report.pool_name == pool.name
        assert counts(report) == emulator.data.statics(pool.id), pool.name
        assert report.desktop_count == len(emulator.data.desktops_of(pool.id))
        assert report.project_id == emulator.project_id
        assert report.request_id
        assert abs(report.fetched_at - datetime.now(UTC)) < timedelta(seconds=30)


async def test_check_by_id_and_statics(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    by_id = await client.check(pool.id.upper())
    bare = await client.inconsistent_statics(pool.id)
    assert counts(by_id) == counts(bare) == emulator.data.statics(pool.id)
    assert by_id.pool_name == "dev-ubuntu22" and bare.pool_name is None
    assert not by_id.consistent
    assert by_id.drifted_desktops_at_least == max(emulator.data.statics(pool.id).values())


async def test_consistent_pool(client: WorkspaceClient) -> None:
    report = await client.check("finance-win11")
    assert report.consistent and report.drifted_kinds == []
    assert "is consistent" in report.summary()


async def test_counts_follow_the_data(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("finance-win11")
    emulator.data.desktops_of(pool.id)[0].image_id = "img-somewhere-else"
    report = await client.check(pool.id)
    assert report.image_id == 1 and report.drifted_kinds == [InconsistentType.IMAGE_ID]


async def test_project_looked_up_once_through_iam(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    for _ in range(3):
        await client.inconsistent_statics(emulator.data.pools[0].id)
    assert await client.get_project_id() == emulator.project_id
    assert emulator.requests.count("/v3/projects") == 1
    workspace_calls = [r for r in emulator.requests if r.path.startswith("/v2/")]
    assert all(r.headers.get("x-project-id") == emulator.project_id for r in workspace_calls)


async def test_list_pools_pages_and_caps(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    everything = await client.list_pools()
    assert sorted(p.id for p in everything.pools) == sorted(p.id for p in emulator.data.pools)
    assert everything.total_count == len(emulator.data.pools) and not everything.truncated
    capped = await client.list_pools(max_items=5)
    assert len(capped.pools) == 5 and capped.total_count == len(emulator.data.pools) and capped.truncated
    named = await client.list_pools(name="win11")
    assert named.pools and all("win11" in p.name.lower() for p in named.pools)


async def test_desktops_pages_and_filter_agree_with_counts(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    every = await client.list_pool_desktops(pool.id)
    assert every.total_count == len(every.desktops) == len(emulator.data.desktops_of(pool.id)) > 100
    assert len({d.desktop_id for d in every.desktops}) == len(every.desktops)
    report = await client.inconsistent_statics(pool.id)
    for kind in InconsistentType:
        found = await client.list_pool_desktops(pool.id, kind.value.lower())
        assert found.total_count == report.count(kind), kind
        assert all(kind in d.drift for d in found.desktops)  # marked by the filter that found them
        tally = sum(1 for d in every.desktops if kind in d.drift)
        # a desktop reports only package and image drift itself; disk drift only via the filter
        own = kind in (InconsistentType.PRODUCT_ID, InconsistentType.IMAGE_ID)
        assert tally == (report.count(kind) if own else 0), kind
    capped = await client.list_pool_desktops(pool.id, max_items=7)
    assert len(capped.desktops) == 7 and capped.truncated


async def test_unknown_name_lists_close_candidates(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    with pytest.raises(errors.PoolNotFoundError) as info:
        await client.check("dev-ubuntu2")
    assert "dev-ubuntu22" in [name for _, name in info.value.candidates]
    assert "dev-ubuntu22" in info.value.message
    assert emulator.requests.count("inconsistent-statics") == 0


async def test_ambiguous_name(client: WorkspaceClient) -> None:
    with pytest.raises(errors.AmbiguousPoolError) as info:
        await client.check("Lab-A")
    assert {name for _, name in info.value.candidates} == {"lab-a", "LAB-A"}
    exact = await client.check("LAB-A")  # an exact, case-sensitive match wins
    assert exact.pool_name == "LAB-A"


async def test_unknown_pool_id_is_not_found(client: WorkspaceClient) -> None:
    # the API answers 400 WKS.0001 "The desktop pool ... does not exist.": still a NotFoundError
    for call in (client.check, client.get_pool, client.inconsistent_statics, client.list_pool_desktops):
        with pytest.raises(errors.NotFoundError) as info:
            await call("00000000-0000-4000-8000-000000000000")
        assert (info.value.status_code, info.value.error_code) == (400, "WKS.0001")
        assert info.value.request_id and "does not exist" in info.value.message
    with pytest.raises(errors.NotFoundError):
        await client.list_drifted_desktops("00000000-0000-4000-8000-000000000000")


@pytest.mark.parametrize(
    "bad", ["../../v3/projects", "a130ab3a-72bf-4b71-baa9-af4987c8e338/../x", "pool%2F..", "x y", "ﬁnance"]
)
async def test_bad_input_sends_nothing(client: WorkspaceClient, emulator: EmulatorServer, bad: str) -> None:
    with pytest.raises(errors.InvalidInputError):
        await client.check(bad)
    assert len(emulator.requests) == 0


# -- the fault matrix: each fault is retried to success, or becomes one typed error ------------


TRANSPORTS = pytest.mark.parametrize("transport", ["aiohttp", "httpx2"])


@TRANSPORTS
@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "rate_limit", "malformed", "truncate", "drop"])
async def test_transient_faults_retried_to_success(
    settings: Settings, emulator: EmulatorServer, kind: str, transport: str
) -> None:
    pool = emulator.data.pool_named("hr-win10")
    async with WorkspaceClient(settings, http_transport=transport) as client:
        await client.get_project_id()
        emulator.faults.update(retry_after=0.05)
        emulator.faults.fail_next_n(kind, 2)
        report = await client.inconsistent_statics(pool.id)
    assert counts(report) == emulator.data.statics(pool.id)
    assert emulator.requests.count("inconsistent-statics") == 3


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("500", errors.ServerError),
        ("503", errors.ServerError),
        ("rate_limit", errors.RateLimitError),
        ("malformed", errors.MalformedResponseError),
        ("truncate", errors.APIConnectionError),
        ("drop", errors.APIConnectionError),
    ],
)
@TRANSPORTS
async def test_persistent_faults_become_one_typed_error(
    emulator: EmulatorServer,
    settings: Settings,
    kind: str,
    expected: type[errors.PooldriftError],
    transport: str,
) -> None:
    async with WorkspaceClient(settings, max_attempts=3, http_transport=transport) as client:
        await client.get_project_id()
        emulator.faults.update(retry_after=0.05)
        emulator.faults.fail_next_n(kind, 10)
        with pytest.raises(expected) as info:
            await client.inconsistent_statics(emulator.data.pools[0].id)
    # a connection closed before any answer, on the one the IAM lookup kept alive, is what a
    # server's keep-alive timeout looks like: the aiohttp transport sends it again once, at once
    # (RFC 9112 §9.3.1), not as an attempt; the later attempts have a new connection each
    resent = kind == "drop" and transport == "aiohttp"
    assert emulator.requests.count("inconsistent-statics") == 3 + resent
    if isinstance(info.value, errors.APIError) and not isinstance(info.value, errors.MalformedResponseError):
        assert info.value.request_id and info.value.request_id in info.value.message
        assert info.value.error_code


@pytest.mark.parametrize("status", [400, 403, 404, 409])
async def test_other_client_errors_not_retried(
    client: WorkspaceClient, emulator: EmulatorServer, status: int
) -> None:
    await client.get_project_id()
    emulator.faults.fail_next_n(str(status), 5)
    with pytest.raises(errors.APIStatusError) as info:
        await client.inconsistent_statics(emulator.data.pools[0].id)
    assert info.value.status_code == status
    assert emulator.requests.count("inconsistent-statics") == 1


async def test_throttle_keeps_code_request_id_and_advice(
    emulator: EmulatorServer, settings: Settings
) -> None:
    async with WorkspaceClient(settings, deadline=2.0) as client:
        await client.get_project_id()
        emulator.faults.update(rate_limit_rate=1.0, retry_after=30)
        with pytest.raises(errors.RateLimitError) as info:
            await client.inconsistent_statics(emulator.data.pools[0].id)
    assert info.value.error_code == "APIGW.0308"
    assert info.value.retry_after == 30 and info.value.request_id


@TRANSPORTS
async def test_slow_upstream_times_out(emulator: EmulatorServer, settings: Settings, transport: str) -> None:
    async with WorkspaceClient(
        settings, read_timeout=0.2, deadline=1.0, max_attempts=2, http_transport=transport
    ) as client:
        await client.get_project_id()
        emulator.faults.update(latency=3.0)
        with pytest.raises(errors.APITimeoutError):
            await client.inconsistent_statics(emulator.data.pools[0].id)


@TRANSPORTS
async def test_slow_body_times_out(emulator: EmulatorServer, settings: Settings, transport: str) -> None:
    async with WorkspaceClient(
        settings, read_timeout=0.2, deadline=1.0, max_attempts=2, http_transport=transport
    ) as client:
        await client.get_project_id()
        emulator.faults.update(slow_body=3.0)
        with pytest.raises(errors.APITimeoutError):
            await client.inconsistent_statics(emulator.data.pools[0].id)


async def test_unreachable_endpoint(settings: Settings) -> None:
    from tests.helpers import free_port

    async with WorkspaceClient(
        settings, endpoint=f"http://127.0.0.1:{free_port()}", max_attempts=2
    ) as client:
        with pytest.raises(errors.APIConnectionError, match="could not reach"):
            await client.inconsistent_statics("a130ab3a-72bf-4b71-baa9-af4987c8e338")


async def test_wrong_secret_is_rejected_once(emulator: EmulatorServer, settings: Settings) -> None:
    async with WorkspaceClient(settings, secret_key="not-the-secret") as client:
        with pytest.raises(errors.AuthenticationError) as info:
            await client.list_pools()
    assert info.value.error_code == "APIGW.0301"
    assert len(emulator.requests) == 1


async def test_clock_skew_is_reported(emulator: EmulatorServer, settings: Settings) -> None:
    skewed = WorkspaceClient(settings, clock=lambda: datetime.now(UTC) - timedelta(minutes=20))
    async with skewed as client:
        with pytest.raises(errors.AuthenticationError) as info:
            await client.list_pools()
    assert info.value.error_code == "APIGW.0303"


async def test_secret_never_leaks(
    emulator: EmulatorServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    async with WorkspaceClient(settings, max_attempts=2) as client:
        seen.append(repr(client))
        seen.append((await client.check("sales-win11")).model_dump_json())
        for kind in ("500", "drop", "malformed"):
            emulator.faults.fail_next_n(kind, 5)
            try:
                await client.check("sales-win11")
            except errors.PooldriftError as exc:
                seen += [str(exc), repr(exc), exc.message]
            emulator.faults.reset()
    async with WorkspaceClient(settings, access_key="WRONGAK") as client:
        with pytest.raises(errors.AuthenticationError) as info:
            await client.list_pools()
        seen.append(str(info.value))
    text = "\n".join([*seen, caplog.text, repr(settings)])
    assert emulator.secret_key not in text


async def test_drifted_desktops_span_every_page(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")  # > 100 desktops: drifted ones on both pages
    expected = {
        d.desktop_id
        for kind in ("PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE")
        for d in emulator.data.drifted(pool.id, kind)
    }
    found = await client.list_drifted_desktops(pool.id)
    assert {d.desktop_id for d in found.desktops} == expected
    assert found.total_count == len(expected) and not found.truncated
    assert all(d.drift for d in found.desktops)
    capped = await client.list_drifted_desktops(pool.id, max_items=3)
    assert len(capped.desktops) == 3 and capped.truncated and capped.total_count >= 3


async def test_iam_token_and_temporary_credentials_end_to_end() -> None:
    from pooldrift.config import load_settings
    from pooldrift.emulator import EmulatorConfig

    config = EmulatorConfig(auth_token="iam-token-0123456789", security_token="sts-token-0123456789")
    with EmulatorServer(config) as emulator:
        base = {"endpoint": emulator.base_url, "max_attempts": 1}
        async with WorkspaceClient(load_settings(auth_token="iam-token-0123456789", **base)) as client:
            assert (await client.list_pools()).total_count == len(emulator.data.pools)
        assert emulator.requests[0].headers.get("x-auth-token") is None  # recorded without secrets
        temporary = load_settings(
            access_key=emulator.access_key,
            secret_key=emulator.secret_key,
            security_token="sts-token-0123456789",
            **base,
        )
        async with WorkspaceClient(temporary) as client:
            assert (await client.list_pools()).total_count == len(emulator.data.pools)
        for token in ("wrong-token-0123456789", None):
            values = {**base, "auth_token": token} if token else {**base, "security_token": "wrong-sts-token"}
            if token is None:
                values.update(access_key=emulator.access_key, secret_key=emulator.secret_key)
            async with WorkspaceClient(load_settings(**values)) as client:
                with pytest.raises(errors.AuthenticationError):
                    await client.list_pools()
