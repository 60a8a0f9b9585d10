"""Running one health check under a deadline, and sharing results between callers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    latency_ms: float
    checked_at: datetime
    reason: str | None = None
    value: Any = None
    monotonic: float = field(default_factory=time.monotonic)


# Told of every result run_probe produces, with the check's name: the metrics' latency
# histograms. Kept to a list of plain calls so that a probe costs nothing more without them.
ProbeObserver = Callable[[str, ProbeResult], None]
_observers: list[ProbeObserver] = []


def observe_probes(observer: ProbeObserver) -> Callable[[], None]:
    """Call `observer(check name, result)` after every probe; returns what undoes it."""
    _observers.append(observer)

    def undo() -> None:
        if observer in _observers:
            _observers.remove(observer)

    return undo


async def run_probe(check: Callable[[], Awaitable[Any]], deadline: float) -> ProbeResult:
    """Run `check` under `deadline` seconds; any failure becomes a result with a reason."""
    result = await _run_timed(check, deadline)
    for observer in _observers:
        try:
            observer(getattr(check, "__name__", "check"), result)
        except Exception:
            # Watching a probe must never change its outcome.
            logger.exception("a probe observer failed")
    return result


async def _run_timed(check: Callable[[], Awaitable[Any]], deadline: float) -> ProbeResult:
    started = time.monotonic()
    checked_at = datetime.now(UTC)
    try:
        async with asyncio.timeout(deadline):
            value = await check()
    except TimeoutError:
        return ProbeResult(False, _ms(started), checked_at, f"no answer within {deadline:g} s")
    except Exception as exc:
        return ProbeResult(False, _ms(started), checked_at, _describe(exc))
    return ProbeResult(True, _ms(started), checked_at, value=value)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


class CoalescedProbe:
    """One probe in flight at a time, shared by all callers; results reused while fresh.

    A thousand concurrent status calls cause one check, and calls within `max_age` seconds
    of the last result cause none.
    """

    def __init__(self, check: Callable[[], Awaitable[Any]], deadline: float, max_age: float):
        self._check = check
        self._deadline = deadline
        self._max_age = max_age
        self._inflight: asyncio.Task[ProbeResult] | None = None
        self.last: ProbeResult | None = None
        self.runs = 0

    def fresh(self) -> ProbeResult | None:
        """The last result if it is still young enough to reuse, without waiting for anything."""
        last = self.last
        if last is not None and time.monotonic() - last.monotonic < self._max_age:
            return last
        return None

    async def result(self) -> ProbeResult:
        last = self.fresh()
        if last is not None:
            return last
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._run())
        # shield: a caller that gives up must not cancel the probe the others wait on.
        return await asyncio.shield(self._inflight)

    async def _run(self) -> ProbeResult:
        self.runs += 1
        result = await run_probe(self._check, self._deadline)
        self.last = result
        return result

    def forget(self) -> None:
        """Drop the cached result, so the next call probes afresh."""
        self.last = None
