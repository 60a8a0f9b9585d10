"""POST /api/auth/login: session tokens, generic failures and the failed-attempt limits."""

from __future__ import annotations

import logging

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from dqplatform.controlplane.auth import passwords
from dqplatform.controlplane.auth.login import BAD_CREDENTIALS
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.throttle import MAX_FAILURES_PER_USER, WINDOW_SECONDS
from dqplatform.controlplane.users import service
from tests.helpers import PASSWORD, bearer, fresh_login_throttle
from tests.integration.controlplane.auth_fixtures import Api, api, backend, fast_passwords

pytestmark = pytest.mark.integration
__all__ = ["api", "backend", "fast_passwords"]  # fixtures


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(api: Api) -> Clock:
    """A fresh throttle (default limits) on a clock the test moves."""
    clock = Clock()
    fresh_login_throttle(api.state, clock=clock)
    return clock


def login(
    client: TestClient, username: str, password: str
) -> tuple[int, dict[str, object], dict[str, str]]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    return response.status_code, response.json(), dict(response.headers)


def test_a_right_password_gets_a_session_token(
    api: Api, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for role in Role:
        account = api.account(role)
        status, body, _ = login(api.client, account.username, PASSWORD)
        assert status == 200
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == api.settings.jwt_ttl_seconds
        token = str(body["access_token"])
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == api.settings.jwt_ttl_seconds
        assert (claims["sub"], claims["role"], claims["typ"]) == (
            str(account.id),
            role.value,
            "session",
        )
        me = api.client.get("/api/users/me", headers=bearer(token)).json()
        assert me["username"] == account.username
        assert token not in caplog.text
    assert PASSWORD not in caplog.text


def test_failures_say_nothing_about_which_users_exist(
    api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account = api.account()
    verified: list[str] = []
    real_verify = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(service, "verify_password", spy)
    wrong = login(api.client, account.username, "wrong password")
    unknown = login(api.client, "nobody-by-this-name", "wrong password")
    assert wrong[0] == unknown[0] == 401
    assert (
        wrong[1]
        == unknown[1]
        == {"status": 401, "code": "not_authenticated", "detail": BAD_CREDENTIALS}
    )
    # An unknown user costs a password verification too, against a throwaway hash.
    assert len(verified) == 2
    assert verified[1].startswith("$argon2")
    assert "wrong password" not in caplog.text
    for body in (
        {"username": account.username},
        {"password": "x"},
        {"username": "", "password": "x"},
    ):
        assert api.client.post("/api/auth/login", json=body).status_code == 422


def test_failed_attempts_per_user_are_limited(api: Api, clock: Clock) -> None:
    account, other = api.account(), api.account()
    for _ in range(MAX_FAILURES_PER_USER):
        assert login(api.client, account.username, "guess")[0] == 401
        clock.now += 1
    status, body, headers = login(api.client, account.username, PASSWORD)
    # Limited: even the right password is refused until the window has passed.
    assert status == 429
    assert body["code"] == "too_many_attempts"
    assert int(headers["retry-after"]) == WINDOW_SECONDS - MAX_FAILURES_PER_USER
    assert "access_token" not in body
    # Another user from the same address is not affected.
    assert login(api.client, other.username, PASSWORD)[0] == 200
    # Usernames differing in case share the limit.
    assert login(api.client, account.username.upper(), PASSWORD)[0] == 429
    clock.now = WINDOW_SECONDS  # the first failure has left the window
    assert login(api.client, account.username, PASSWORD)[0] == 200


def test_a_success_clears_the_users_failures(api: Api, clock: Clock) -> None:
    account = api.account()
    for _ in range(MAX_FAILURES_PER_USER - 1):
        assert login(api.client, account.username, "guess")[0] == 401
    assert login(api.client, account.username, PASSWORD)[0] == 200
    for _ in range(MAX_FAILURES_PER_USER - 1):
        assert login(api.client, account.username, "guess")[0] == 401
    assert login(api.client, account.username, PASSWORD)[0] == 200


def test_failed_attempts_per_address_are_limited(api: Api) -> None:
    fresh_login_throttle(api.state, per_user=100, per_address=3)
    account = api.account()
    for index in range(3):
        assert login(api.client, f"guess-{index}", "guess")[0] == 401
    assert login(api.client, account.username, PASSWORD)[0] == 429
    # Another address may still sign in.
    # (Not entered as a context: that would run the shared app's lifespan a second time.)
    elsewhere = TestClient(api.client.app, client=("10.1.2.3", 4000))
    assert login(elsewhere, account.username, PASSWORD)[0] == 200


def test_a_database_failure_is_a_503_and_no_failed_attempt(
    api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = api.account()

    def database_down(*_: object) -> None:
        raise OperationalError("SELECT", {}, ConnectionRefusedError("database is down"))

    monkeypatch.setattr(service, "authenticate", database_down)
    for _ in range(MAX_FAILURES_PER_USER + 2):
        status, body, _ = login(api.client, account.username, PASSWORD)
        assert status == 503
        assert body["code"] == "service_unavailable"
    monkeypatch.undo()
    assert login(api.client, account.username, PASSWORD)[0] == 200
