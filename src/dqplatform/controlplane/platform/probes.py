"""Running one health check under a deadline, and sharing results between callers."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# How often a process that waits for another one's probe looks for its result.
SHARED_POLL_SECONDS = 0.01
# How long callers wait for a re-check of a component that failed, before they are given
# that failure again; and how recent the failure must be for that.
RECHECK_WAIT_SECONDS = 0.1
STALE_FAILURE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    latency_ms: float
    checked_at: datetime
    reason: str | None = None
    value: Any = None
    monotonic: float = field(default_factory=time.monotonic)


# Told of every result a probe of this process produces, with its component's name (the
# metrics' latency histograms): handed to the probes by whoever builds them.
ProbeObserver = Callable[[str, ProbeResult], None]


async def run_probe(check: Callable[[], Awaitable[Any]], deadline: float) -> ProbeResult:
    """Run `check` under `deadline` seconds; any failure becomes a result with a reason."""
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


def _same(value: Any) -> Any:
    return value


class SharedResult:
    """One probe's last result, shared through a file with the server's other processes.

    uvicorn's workers each run the whole app: without this, each would probe on its own and
    the dataplane would get one probe per worker per window. A lock file elects the process
    that probes; the others read what it wrote. Ages are compared on time.monotonic(), which
    is the machine's clock (CLOCK_MONOTONIC), the same in every process.
    """

    def __init__(
        self,
        folder: Path,
        name: str,
        encode: Callable[[Any], Any] = _same,
        decode: Callable[[Any], Any] = _same,
    ):
        folder.mkdir(parents=True, exist_ok=True)
        self._path = folder / f"{name}.json"
        self._lock_path = folder / f"{name}.lock"
        self._encode = encode
        self._decode = decode
        self._lock_fd: int | None = None

    def read(self) -> ProbeResult | None:
        """The result another process (or this one) wrote; None if none is readable."""
        try:
            data = json.loads(self._path.read_bytes())
            value = data["value"]
            return ProbeResult(
                ok=bool(data["ok"]),
                latency_ms=float(data["latency_ms"]),
                checked_at=datetime.fromisoformat(data["checked_at"]),
                reason=data["reason"],
                value=None if value is None else self._decode(value),
                monotonic=float(data["monotonic"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # not written yet, or half-replaced by hand: probe instead

    def write(self, result: ProbeResult) -> None:
        data = {
            "ok": result.ok,
            "latency_ms": result.latency_ms,
            "checked_at": result.checked_at.isoformat(),
            "reason": result.reason,
            "value": None if result.value is None else self._encode(result.value),
            "monotonic": result.monotonic,
        }
        partial = self._path.with_name(f".{self._path.name}.{os.getpid()}")
        try:
            partial.write_text(json.dumps(data))
            os.replace(partial, self._path)  # readers see the old file or the new, never half
        except OSError as exc:
            logger.warning("could not share a probe result: %s", exc.strerror)

    def try_lock(self) -> bool:
        """Become the process that probes, unless another one is probing right now."""
        try:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            # A read-only or full data dir: nobody can be elected, so probe unshared rather
            # than fail the status call.
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()


class CoalescedProbe:
    """One probe in flight at a time, shared by all callers; results reused while fresh.

    A thousand concurrent status calls cause one check, and calls within `max_age` seconds
    of the last result cause none. With a SharedResult, that holds across the processes
    that share it too.
    """

    def __init__(
        self,
        check: Callable[[], Awaitable[Any]],
        deadline: float,
        max_age: float,
        shared: SharedResult | None = None,
        observer: tuple[str, ProbeObserver] | None = None,
    ):
        self._check = check
        self._observer = observer
        self._deadline = deadline
        self._max_age = max_age
        self._shared = shared
        self._inflight: asyncio.Task[ProbeResult] | None = None
        self.last: ProbeResult | None = None
        self.runs = 0

    def _young(self, result: ProbeResult | None) -> ProbeResult | None:
        if result is not None and time.monotonic() - result.monotonic < self._max_age:
            return result
        return None

    def fresh(self) -> ProbeResult | None:
        """The last result if it is still young enough to reuse, without waiting for anything."""
        return self._young(self.last)

    async def result(self) -> ProbeResult:
        last = self.fresh()
        if last is not None:
            return last
        inflight = self._inflight
        # A probe left pending by an event loop that has since gone (a test client that runs
        # each request on a loop of its own) can never finish: start one on this loop.
        if (
            inflight is None
            or inflight.done()
            or inflight.get_loop() is not asyncio.get_running_loop()
        ):
            inflight = self._inflight = asyncio.create_task(self._run())
        previous = self.last
        if (
            previous is not None
            and not previous.ok
            and time.monotonic() - previous.monotonic < STALE_FAILURE_SECONDS
        ):
            # The check failed moments ago and is being tried again: callers do not all wait
            # the deadline again for a component that is most likely still down (that wait,
            # for every caller of every window, is what made answers late under load). They
            # get the new result if it comes at once, else the last failure, with its time.
            # asyncio.timeout, not wait_for: Python 3.11's wait_for drops a cancellation that
            # arrives as the re-check ends (python/cpython#86296), and a task cancelled at
            # shutdown then runs on for ever.
            try:
                async with asyncio.timeout(RECHECK_WAIT_SECONDS):
                    return await asyncio.shield(inflight)
            except TimeoutError:
                return previous
        # shield: a caller that gives up must not cancel the probe the others wait on.
        return await asyncio.shield(inflight)

    async def _run(self) -> ProbeResult:
        shared = self._shared
        if shared is None:
            result = await self._probe()
        else:
            result = await self._shared_run(shared)
        self.last = result
        return result

    async def _probe(self) -> ProbeResult:
        self.runs += 1
        result = await run_probe(self._check, self._deadline)
        if self._observer is not None:
            name, observe = self._observer
            try:
                observe(name, result)
            except Exception:
                # Watching a probe must never change its outcome.
                logger.exception("a probe observer failed")
        return result

    async def _shared_run(self, shared: SharedResult) -> ProbeResult:
        """Another process's fresh result, waiting for the probe it runs; else probe and share."""
        give_up_at = time.monotonic() + self._deadline
        while not shared.try_lock():
            recent = self._young(shared.read())
            if recent is not None:
                return recent
            if time.monotonic() >= give_up_at:
                # Its probe is bounded by the same deadline: this one is stuck, so say so.
                return ProbeResult(
                    False, self._deadline * 1000, datetime.now(UTC), self._no_answer()
                )
            await asyncio.sleep(SHARED_POLL_SECONDS)
        try:
            # Holding the lock: a result written just before it was taken is fresh enough.
            recent = self._young(shared.read())
            if recent is not None:
                return recent
            result = await self._probe()
            shared.write(result)
            return result
        finally:
            shared.unlock()

    def _no_answer(self) -> str:
        return f"no answer within {self._deadline:g} s"

    def cancel(self) -> None:
        """Stop the check in flight, if any (at shutdown: no probe may outlive the server)."""
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            # A task of a loop that has closed cannot be cancelled (nor run again).
            with contextlib.suppress(RuntimeError):
                inflight.cancel()

    def forget(self) -> None:
        """Drop the cached result, so the next call probes afresh (in every sharing process)."""
        self.last = None
        if self._shared is not None:
            self._shared.clear()
