"""The health checks behind GET /api/status: database, broker, dataplane, each bounded."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from dqplatform.controlplane.platform.dataplane_client import DataplaneClient
from dqplatform.controlplane.platform.probes import CoalescedProbe, ProbeResult
from dqplatform.messaging.schemas import HealthReply, HealthRequest, Request
from dqplatform.settings import Settings


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    database: ProbeResult
    broker: ProbeResult
    dataplane: ProbeResult

    @property
    def health_reply(self) -> HealthReply | None:
        value = self.dataplane.value
        return value if self.dataplane.ok and isinstance(value, HealthReply) else None


class StatusService:
    def __init__(self, settings: Settings, engine: Engine, client: DataplaneClient):
        self._engine = engine
        self._client = client
        self.deadline = settings.probe_timeout_seconds
        max_age = settings.status_cache_seconds
        # Blocking checks get threads of their own: a hung database must not starve the
        # server's shared thread pool, and coalescing keeps at most one check in flight.
        self._executor = ThreadPoolExecutor(8, thread_name_prefix="dqp-probe")
        self.database = CoalescedProbe(self._check_database, self.deadline, max_age)
        self.broker = CoalescedProbe(self._check_broker, self.deadline, max_age)
        self.dataplane = CoalescedProbe(self._check_dataplane, self.deadline, max_age)

    async def _in_thread(self, fn: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _select_one(self) -> None:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def _check_database(self) -> None:
        await self._in_thread(self._select_one)

    async def _check_broker(self) -> None:
        await self._in_thread(self._client.publisher.check)

    async def _check_dataplane(self) -> HealthReply:
        request = HealthRequest(
            reply_to=self._client.reply_to(), expires_at=Request.expiry(self.deadline)
        )
        reply = await self._client.ask(request, self.deadline)
        assert isinstance(reply, HealthReply)
        return reply

    async def snapshot(self) -> StatusSnapshot:
        database, broker, dataplane = await asyncio.gather(
            self.database.result(), self.broker.result(), self.dataplane.result()
        )
        return StatusSnapshot(database, broker, dataplane)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
