"""The fast path of GET /api/status: fresh results reused without waiting, the body encoded once."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.platform.dataplane_client import DataplaneClient
from dqplatform.controlplane.platform.probes import CoalescedProbe
from dqplatform.controlplane.platform.status import StatusService
from dqplatform.controlplane.platform.status_schemas import PlatformStatus
from tests.conftest import SettingsFactory
from tests.helpers import bearer, token_for


@pytest.mark.anyio
async def test_fresh_is_the_last_result_only_while_it_is_young() -> None:
    async def check() -> str:
        return "fine"

    probe = CoalescedProbe(check, deadline=1, max_age=0.2)
    assert probe.fresh() is None  # nothing checked yet: the caller has to wait for a probe
    result = await probe.result()
    assert probe.fresh() is result
    await asyncio.sleep(0.25)
    assert probe.fresh() is None
    probe.last = result
    probe.forget()
    assert probe.fresh() is None


@pytest.mark.anyio
async def test_the_snapshot_is_handed_out_again_until_a_result_changes(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(probe_timeout_seconds=0.5, status_cache_seconds=60)
    engine = create_db_engine(settings)
    client = DataplaneClient(settings)  # never started: the dataplane probe fails at once
    service = StatusService(settings, engine, client)
    try:
        first = await service.snapshot()
        assert first.database.ok
        assert not first.dataplane.ok
        assert await service.snapshot() is first
        service.database.forget()
        second = await service.snapshot()
        assert second is not first
        assert second.database is not first.database  # checked again
        assert second.dataplane is first.dataplane  # still fresh: reused
        assert await service.snapshot() is second
        assert service.database.runs == 2
        assert service.dataplane.runs == 1
    finally:
        service.close()
        client.publisher.close()
        engine.dispose()


def test_status_body_is_the_same_compact_json_on_every_call(make_settings: SettingsFactory) -> None:
    settings = make_settings(probe_timeout_seconds=0.3, status_cache_seconds=60)
    token = token_for(settings, "mia", Role.MEMBER)
    with TestClient(create_app(settings)) as client:
        first = client.get("/api/status", headers=bearer(token))
        second = client.get("/api/status", headers=bearer(token))
        client.app.state.platform.status.database.forget()  # type: ignore[attr-defined]
        third = client.get("/api/status", headers=bearer(token))
    for response in (first, second, third):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert int(response.headers["content-length"]) == len(response.content)
    body = first.json()
    assert body == {
        "database_connection": "OK",
        "rabbitmq_connection": "OK",
        "dataplane_healthcheck": "UNHEALTHY",  # no dataplane runs in this test
    }
    PlatformStatus.model_validate(body)
    # The encoding JSONResponse uses, byte for byte, whether encoded afresh or reused.
    compact = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert first.content == second.content == third.content == compact
