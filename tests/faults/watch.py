"""Polling GET /api/status in the background through a fault, and judging what it answered."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.ledger import SecretLedger

OK = "OK"
UNHEALTHY = "UNHEALTHY"
COMPONENTS = ("database", "broker", "dataplane")


@dataclass(frozen=True, slots=True)
class Sample:
    """One GET /api/status: when it was sent and answered (monotonic), and what came back."""

    sent: float
    answered: float
    status: int | None  # None: no HTTP answer at all (connection refused, reset, timeout)
    body: dict[str, Any] | None
    error: str | None = None

    @property
    def latency(self) -> float:
        return self.answered - self.sent

    def state(self, component: str) -> str | None:
        """OK or UNHEALTHY for database, broker or dataplane; None without a 200 body."""
        if self.status != 200 or self.body is None:
            return None
        if component == "database":
            return str(self.body["database_connection"])
        if component == "broker":
            return str(self.body["rabbitmq_connection"])
        dataplane = self.body["dataplane_healthcheck"]
        if isinstance(dataplane, dict):
            return OK
        assert dataplane == UNHEALTHY, dataplane
        return UNHEALTHY

    @property
    def all_ok(self) -> bool:
        return all(self.state(name) == OK for name in COMPONENTS)


@dataclass
class StatusWatcher:
    """Sends GET /api/status one after another (a pause of `interval` between them)."""

    url: str
    token: str
    interval: float = 0.1
    timeout: float = 15.0
    ledger: SecretLedger | None = None
    samples: list[Sample] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> StatusWatcher:
        self._thread = threading.Thread(target=self._run, name="status-watcher", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5)

    def mark(self, name: str) -> float:
        """Note the moment something was done to the platform (a cut, a restore)."""
        self.marks[name] = now = time.monotonic()
        return now

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(timeout=self.timeout, headers=headers) as client:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    response = client.get(self.url + "/api/status")
                    answered = time.monotonic()
                    if self.ledger is not None:
                        self.ledger.record(response)
                    body = response.json() if response.status_code == 200 else None
                    self.samples.append(Sample(sent, answered, response.status_code, body))
                except httpx.HTTPError as exc:
                    self.samples.append(
                        Sample(sent, time.monotonic(), None, None, type(exc).__name__)
                    )
                self._stop.wait(self.interval)

    # ---- judging -----------------------------------------------------------------------

    def between(self, start: float, end: float = math.inf) -> list[Sample]:
        """Samples sent at or after `start` and answered before `end`."""
        return [s for s in self.samples if s.sent >= start and s.answered <= end]

    def first(self, after: float, predicate: Callable[[Sample], bool]) -> Sample | None:
        return next((s for s in self.samples if s.sent >= after and predicate(s)), None)


def every_answer_is_a_200(samples: list[Sample], unanswered_ok: list[tuple[float, float]]) -> None:
    """No status other than 200 ever; no answer at all only inside the given windows."""
    for sample in samples:
        if sample.status is None:
            inside = any(start <= sample.sent <= end for start, end in unanswered_ok)
            assert inside, f"no answer ({sample.error}) outside the expected window"
        else:
            assert sample.status == 200, f"GET /api/status answered {sample.status}"


def within(samples: list[Sample], limit: float) -> None:
    answered = [s for s in samples if s.status is not None]
    slow = [round(s.latency, 3) for s in answered if s.latency > limit]
    assert not slow, f"{len(slow)} of {len(answered)} answers slower than {limit} s: {slow[:10]}"


def always(samples: list[Sample], component: str, state: str) -> None:
    answered = [s for s in samples if s.status == 200]
    wrong = [s for s in answered if s.state(component) != state]
    assert not wrong, (
        f"{component} was not {state} in {len(wrong)} of {len(answered)} answers, "
        f"e.g. {wrong[0].body}"
    )


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0-1) of `values`."""
    assert values, "no values"
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def p99_latency(samples: list[Sample]) -> float:
    return percentile([s.latency for s in samples if s.status is not None], 0.99)
