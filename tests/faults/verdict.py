"""What every fault must leave true, judged from a StatusWatcher's answers, and its figures."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tests.faults.watch import (
    COMPONENTS,
    OK,
    UNHEALTHY,
    Sample,
    StatusWatcher,
    always,
    every_answer_is_a_200,
    p99_latency,
    within,
)

DEADLINE = 2.0  # DQP_PROBE_TIMEOUT_SECONDS, left at its default
LATENCY_LIMIT = DEADLINE * 1.1
# A component cut at time t is seen by a status call at most: the age of a reused result
# (DQP_STATUS_CACHE_SECONDS=0.2 in the harness), one probe up to the deadline, the watcher's
# pause and the answer's own latency limit.
DETECTION_LIMIT = 0.2 + DEADLINE + 0.1 + LATENCY_LIMIT
# How long the platform stays watched, all OK, after it recovered.
STAYS_HEALTHY_SECONDS = 10.0


@dataclass(frozen=True)
class Figures:
    detection: float
    recovery: float
    p99_during: float
    worst: float

    def describe(self) -> dict[str, str]:
        return {
            "outage detected after": f"{self.detection:.2f} s",
            "all OK again after": f"{self.recovery:.2f} s",
            "p99 latency during the fault": f"{self.p99_during * 1000:.0f} ms",
            "slowest status answer": f"{self.worst * 1000:.0f} ms",
        }


def wait_all_ok(watcher: StatusWatcher, timeout: float) -> Sample:
    """The first answer with every component OK from now on."""
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        found = watcher.first(start, lambda s: s.all_ok)
        if found is not None:
            return found
        time.sleep(0.1)
    last = watcher.samples[-1] if watcher.samples else None
    raise AssertionError(f"not all OK within {timeout} s; last answer: {last}")


def watch_healthy(watcher: StatusWatcher, seconds: float = STAYS_HEALTHY_SECONDS) -> None:
    """Every answer for `seconds` says every component is OK."""
    start = time.monotonic()
    time.sleep(seconds)
    answers = watcher.between(start)
    assert len(answers) >= seconds, f"only {len(answers)} answers in {seconds} s"
    every_answer_is_a_200(answers, [])
    for component in COMPONENTS:
        always(answers, component, OK)


def judge(
    watcher: StatusWatcher,
    *,
    cut: set[str],
    fault_at: float,
    restored_at: float,
    recover_within: float,
    truthful_from: float | None = None,
    truthful_until: float | None = None,
) -> Figures:
    """The API kept answering (200, within the deadline + 10%), said the truth about the cut
    components from the moment it saw the fault (or `truthful_from`) until they were restored
    (or `truthful_until`), said OK for the others all along, and said OK for all of them again
    within `recover_within` seconds of the restore and from then on."""
    samples = watcher.between(fault_at)
    every_answer_is_a_200(samples, [])
    within(watcher.samples, LATENCY_LIMIT)
    for component in set(COMPONENTS) - cut:
        always(samples, component, OK)

    detected = watcher.first(fault_at, lambda s: all(s.state(c) == UNHEALTHY for c in cut))
    seen = sorted({tuple(s.state(c) for c in COMPONENTS) for s in samples})
    assert detected is not None, f"{sorted(cut)} never reported UNHEALTHY; {COMPONENTS}: {seen}"
    detection = detected.answered - fault_at
    assert detection <= DETECTION_LIMIT, f"the fault was seen only after {detection:.2f} s"
    during = watcher.between(truthful_from or detected.sent, truthful_until or restored_at)
    for component in cut:
        always(during, component, UNHEALTHY)

    recovered = watcher.first(max(restored_at, detected.sent), lambda s: s.all_ok)
    assert recovered is not None, f"not all OK again after the restore; last: {samples[-1]}"
    recovery = recovered.answered - restored_at
    assert recovery <= recover_within, f"all OK again only after {recovery:.1f} s"
    for component in COMPONENTS:
        always(watcher.between(recovered.sent), component, OK)
    fault_window = watcher.between(fault_at, recovered.answered)
    return Figures(
        detection=detection,
        recovery=recovery,
        p99_during=p99_latency(fault_window),
        worst=max(s.latency for s in samples if s.status is not None),
    )
