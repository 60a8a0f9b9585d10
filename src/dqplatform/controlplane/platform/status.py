"""The health checks behind GET /api/status: database, broker, dataplane, each bounded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from dqplatform.controlplane.platform.dataplane_client import DataplaneClient
from dqplatform.controlplane.platform.probes import (
    CoalescedProbe,
    ProbeObserver,
    ProbeResult,
    SharedResult,
)
from dqplatform.messaging.schemas import (
    HealthReply,
    HealthRequest,
    Request,
    RouteCheckReply,
    RouteCheckRequest,
    route_failure,
)
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)


# eq=False: snapshots compare and hash by identity, so one can key a cache of what derives from it.
@dataclass(frozen=True, slots=True, eq=False)
class StatusSnapshot:
    database: ProbeResult
    broker: ProbeResult
    dataplane: ProbeResult
    routes: ProbeResult

    @property
    def results(self) -> tuple[ProbeResult, ProbeResult, ProbeResult, ProbeResult]:
        return (self.database, self.broker, self.dataplane, self.routes)

    @property
    def health_reply(self) -> HealthReply | None:
        value = self.dataplane.value
        return value if self.dataplane.ok and isinstance(value, HealthReply) else None

    @property
    def private_routes(self) -> dict[str, str] | None:
        value = self.routes.value
        return value if self.routes.ok and isinstance(value, dict) else None


RouteLister = Callable[[], list[str]]

# The dataplane gets this share of the deadline for its TCP checks, so that its answer still
# reaches the controlplane in time.
_ROUTE_CHECK_SHARE = 0.75


def _shared(folder: Path, name: str, *codec: Callable[[Any], Any]) -> SharedResult | None:
    """Results shared by the server's worker processes, through files in the data dir."""
    try:
        return SharedResult(folder, name, *codec)
    except OSError as exc:
        # Still correct, only each worker probes on its own.
        logger.warning("status results not shared between workers: %s", exc.strerror)
        return None


def _encode_reply(reply: HealthReply) -> dict[str, Any]:
    return reply.model_dump(mode="json")


class StatusService:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        client: DataplaneClient,
        route_lister: RouteLister | None = None,
        on_probe: ProbeObserver | None = None,
    ):
        self._engine = engine
        self._client = client
        self._route_lister = route_lister
        self._known_routes: list[str] | None = None
        self.deadline = settings.probe_timeout_seconds
        max_age = settings.status_cache_seconds
        # Blocking checks get threads of their own: a hung database must not starve the
        # server's shared thread pool, and coalescing keeps at most one check in flight.
        self._executor = ThreadPoolExecutor(8, thread_name_prefix="dqp-probe")
        folder = settings.data_dir / "status"

        def observed(component: str) -> tuple[str, ProbeObserver] | None:
            return None if on_probe is None else (component, on_probe)

        self.database = CoalescedProbe(
            self._check_database,
            self.deadline,
            max_age,
            _shared(folder, "database"),
            observed("database"),
        )
        self.broker = CoalescedProbe(
            self._check_broker,
            self.deadline,
            max_age,
            _shared(folder, "broker"),
            observed("broker"),
        )
        self.dataplane = CoalescedProbe(
            self._check_dataplane,
            self.deadline,
            max_age,
            _shared(folder, "dataplane", _encode_reply, HealthReply.model_validate),
            observed("dataplane"),
        )
        # A little over the deadline: _check_routes answers by itself just before it.
        self.routes = CoalescedProbe(
            self._check_routes,
            self.deadline + 0.1,
            max_age,
            _shared(folder, "routes"),
            observed("private_routes"),
        )
        # Handed out again while the results are the same, so callers can reuse what they
        # derived from it (the encoded body of GET /api/status).
        self._last_snapshot: StatusSnapshot | None = None

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

    async def _routes_to_check(self) -> list[str]:
        """The private routes from the database; the last known list while it is down."""
        if self._route_lister is None:
            return []
        try:
            async with asyncio.timeout(self.deadline * (1 - _ROUTE_CHECK_SHARE)):
                self._known_routes = await self._in_thread(self._route_lister)
        except Exception:
            if self._known_routes is None:
                raise
        return self._known_routes

    async def _check_routes(self) -> dict[str, str] | None:
        """host:port -> OK or why not, as the dataplane sees it; None without private routes."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        routes = await self._routes_to_check()
        if not routes:
            return None
        # Leave a sliver of the deadline to turn a silent dataplane into per-route messages.
        remaining = self.deadline - (loop.time() - started) - 0.05
        request = RouteCheckRequest(
            reply_to=self._client.reply_to(),
            expires_at=Request.expiry(remaining),
            routes=routes,
            timeout_seconds=round(self.deadline * _ROUTE_CHECK_SHARE, 3),
        )
        try:
            reply = await self._client.ask(request, remaining)
        except Exception as exc:
            reason = (
                f"The dataplane did not answer within {self.deadline:g} s"
                if isinstance(exc, TimeoutError)
                else f"The dataplane could not be asked: {exc}"
            )
            # The key stays: every route says why it could not be checked.
            return {route: route_failure(route, reason) for route in routes}
        assert isinstance(reply, RouteCheckReply)
        return reply.results

    async def snapshot(self) -> StatusSnapshot:
        """The four results; the same snapshot object for as long as none of them changed."""
        probes = (self.database, self.broker, self.dataplane, self.routes)
        # The common case under load: every result is fresh, so no task and no wait at all.
        fresh = [probe.fresh() for probe in probes]
        results = [result for result in fresh if result is not None]
        if len(results) < len(probes):
            results = list(await asyncio.gather(*(probe.result() for probe in probes)))
        last = self._last_snapshot
        if last is not None and all(a is b for a, b in zip(results, last.results, strict=True)):
            return last
        snapshot = StatusSnapshot(*results)
        self._last_snapshot = snapshot
        reply = snapshot.health_reply
        if reply is not None:
            # Restarts are aimed at the dataplane seen last, also when another worker probed.
            self._client.last_boot_id = reply.boot_id
        return snapshot

    def close(self) -> None:
        # A re-check of a failed component runs in the background with no caller waiting on
        # it; cancel it so that shutdown does not wait for it.
        for probe in (self.database, self.broker, self.dataplane, self.routes):
            probe.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
