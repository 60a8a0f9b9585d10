"""The failed sign-in limits, counted in the database: per username, per address, sliding
window, success rules, expiry, and one budget for every throttle on the same database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select

from dqplatform.controlplane.auth.models import LoginFailures
from dqplatform.controlplane.auth.throttle import (
    SWEEP_INTERVAL_SECONDS,
    LoginThrottle,
    TooManyAttempts,
)
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.settings import Settings

pytestmark = pytest.mark.integration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


ThrottleFactory = Callable[..., LoginThrottle]


@pytest.fixture
def make_throttle(engine: Engine, clock: FakeClock) -> ThrottleFactory:
    def make(**limits: object) -> LoginThrottle:
        values: dict[str, object] = {"per_user": 5, "per_address": 20, "window": 300}
        values.update(limits)
        return LoginThrottle(engine, clock=clock, **values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def throttle(make_throttle: ThrottleFactory) -> LoginThrottle:
    return make_throttle()


def fail(throttle: LoginThrottle, username: str, address: str = "10.0.0.1", times: int = 1) -> None:
    for _ in range(times):
        throttle.acquire(username, address)  # never followed by succeeded(): a failure


def rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(LoginFailures)) or 0)


def test_the_sixth_attempt_within_the_window_is_refused_until_the_first_ages_out(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    for _ in range(5):
        fail(throttle, "alice")
        clock.now += 10  # failures at 1000, 1010, ..., 1040
    with pytest.raises(TooManyAttempts) as refused:
        throttle.acquire("alice", "10.0.0.1")
    # Now 1050; the oldest failure (1000) leaves the 300 s window at 1300.
    assert refused.value.retry_after == 250
    assert refused.value.status_code == 429
    assert refused.value.headers == {"Retry-After": "250"}
    clock.now = 1299.5
    with pytest.raises(TooManyAttempts):
        throttle.acquire("alice", "10.0.0.1")
    clock.now = 1300.0
    throttle.acquire("alice", "10.0.0.1")  # one slot free again
    with pytest.raises(TooManyAttempts):
        throttle.acquire("alice", "10.0.0.1")


def test_refused_attempts_do_not_extend_the_lockout(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    fail(throttle, "alice", times=5)
    for _ in range(20):
        clock.now += 1
        with pytest.raises(TooManyAttempts):
            throttle.acquire("alice", "10.0.0.1")
    clock.now = 1000 + 300
    throttle.acquire("alice", "10.0.0.1")


def test_usernames_are_limited_case_insensitively_and_separately(throttle: LoginThrottle) -> None:
    fail(throttle, "Alice", times=3)
    fail(throttle, "alice", times=2)
    with pytest.raises(TooManyAttempts):
        throttle.acquire("ALICE", "10.0.0.2")  # another address does not help either
    throttle.acquire("bob", "10.0.0.1")


def test_an_address_is_limited_across_usernames(throttle: LoginThrottle) -> None:
    for index in range(20):
        fail(throttle, f"user{index}", address="10.9.9.9")
    with pytest.raises(TooManyAttempts):
        throttle.acquire("someone-new", "10.9.9.9")
    throttle.acquire("someone-new", "10.9.9.8")


def test_success_clears_the_users_failures_but_not_the_addresss(throttle: LoginThrottle) -> None:
    fail(throttle, "alice", times=4)
    throttle.succeeded(throttle.acquire("alice", "10.0.0.1"))
    fail(throttle, "alice", times=4)  # would be refused had the first four still counted
    throttle.succeeded(throttle.acquire("alice", "10.0.0.1"))
    # The address keeps its 8 failures (and not the 2 successes): 12 more reach 20.
    for index in range(12):
        fail(throttle, f"other{index}")
    with pytest.raises(TooManyAttempts):
        throttle.acquire("alice", "10.0.0.1")


def test_attempts_in_flight_count_at_once(throttle: LoginThrottle) -> None:
    # Five concurrent guesses, none finished yet: a sixth must wait even so.
    attempts = [throttle.acquire("alice", "10.0.0.1") for _ in range(5)]
    with pytest.raises(TooManyAttempts):
        throttle.acquire("alice", "10.0.0.1")
    throttle.succeeded(attempts[0])
    throttle.acquire("alice", "10.0.0.1")


def test_an_undecided_attempt_can_be_taken_back(throttle: LoginThrottle) -> None:
    for _ in range(10):
        throttle.cancel(throttle.acquire("alice", "10.0.0.1"))
    fail(throttle, "alice", times=4)
    throttle.acquire("alice", "10.0.0.1")  # the fifth: the cancelled ones did not count
    with pytest.raises(TooManyAttempts):
        throttle.acquire("alice", "10.0.0.1")


def test_the_typed_username_is_never_stored(throttle: LoginThrottle, engine: Engine) -> None:
    # People type their password into the username field by mistake.
    fail(throttle, "my-secret-password", address="10.0.0.7")
    with engine.connect() as connection:
        stored = [repr(tuple(row)) for row in connection.execute(select(LoginFailures.__table__))]
    assert len(stored) == 2  # the username's row and the address's
    assert not any("my-secret-password" in row or "10.0.0.7" in row for row in stored)


def test_rows_whose_window_has_passed_are_swept(
    throttle: LoginThrottle, engine: Engine, clock: FakeClock
) -> None:
    for index in range(30):
        fail(throttle, f"spray{index}", address=f"10.1.0.{index}")
    assert rows(engine) == 60
    clock.now += 299
    fail(throttle, "recent", address="10.2.0.1")
    assert throttle.sweep() == 0  # every window still open
    clock.now += 2  # the 60 first rows' windows ended 1 s ago; "recent" has 298 s left
    assert throttle.sweep() == 60
    assert rows(engine) == 2
    # An acquire sweeps by itself once SWEEP_INTERVAL_SECONDS have passed.
    clock.now += max(SWEEP_INTERVAL_SECONDS, 300)
    fail(throttle, "late", address="10.3.0.1")
    assert rows(engine) == 2  # "recent" swept, "late" and its address kept


def test_throttles_on_one_database_share_one_budget(
    make_throttle: ThrottleFactory, settings: Settings, clock: FakeClock
) -> None:
    # Another process or controlplane: its own engine and throttle, the same database.
    other_engine = create_db_engine(settings)
    try:
        here = make_throttle()
        there = LoginThrottle(other_engine, per_user=5, per_address=20, window=300, clock=clock)
        fail(here, "carol", times=3)
        fail(there, "CAROL", times=2)
        for throttle in (here, there):
            with pytest.raises(TooManyAttempts):
                throttle.acquire("carol", "10.0.0.9")
        there.succeeded(here.acquire("dave", "10.0.0.9"))
    finally:
        other_engine.dispose()


@pytest.fixture
def second_engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


def test_concurrent_guesses_through_two_throttles_cannot_overshoot_the_limit(
    make_throttle: ThrottleFactory, second_engine: Engine, clock: FakeClock
) -> None:
    throttles = [
        make_throttle(),
        LoginThrottle(second_engine, per_user=5, per_address=20, window=300, clock=clock),
    ]
    start = threading.Barrier(24)

    def guess(index: int) -> str:
        start.wait(timeout=30)
        try:
            throttles[index % 2].acquire("erin", f"10.4.0.{index}")
        except TooManyAttempts:
            return "refused"
        return "counted"

    with ThreadPoolExecutor(24) as pool:
        outcomes = sorted(pool.map(guess, range(24), timeout=60))
    assert outcomes == ["counted"] * 5 + ["refused"] * 19
