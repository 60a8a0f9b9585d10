"""The failed sign-in limits: per username, per address, sliding window, success rules."""

from __future__ import annotations

import pytest

from dqplatform.controlplane.auth.throttle import LoginThrottle, TooManyAttempts


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(clock: FakeClock) -> LoginThrottle:
    return LoginThrottle(per_user=5, per_address=20, window=300, clock=clock)


def fail(throttle: LoginThrottle, username: str, address: str = "10.0.0.1", times: int = 1) -> None:
    for _ in range(times):
        throttle.acquire(username, address)  # never followed by succeeded(): a failure


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
    for _ in range(50):
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


def test_memory_is_bounded_by_dropping_the_oldest_keys(clock: FakeClock) -> None:
    throttle = LoginThrottle(per_user=1, per_address=10**6, window=300, clock=clock, max_keys=10)
    fail(throttle, "first")
    for index in range(20):
        fail(throttle, f"spray{index}")
    assert len(throttle._failures) <= 10
    throttle.acquire("first", "10.0.0.1")  # its entry was evicted


def test_an_undecided_attempt_can_be_taken_back(throttle: LoginThrottle) -> None:
    for _ in range(10):
        throttle.cancel(throttle.acquire("alice", "10.0.0.1"))
    fail(throttle, "alice", times=4)
    throttle.acquire("alice", "10.0.0.1")  # the fifth: the cancelled ones did not count
    with pytest.raises(TooManyAttempts):
        throttle.acquire("alice", "10.0.0.1")
