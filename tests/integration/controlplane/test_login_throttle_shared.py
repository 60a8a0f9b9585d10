"""The sign-in limit holds across two controlplanes on one database: guesses spread over
both are counted together, and the 429 comes from either."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.throttle import MAX_FAILURES_PER_USER, LoginThrottle
from dqplatform.controlplane.users import service
from tests.helpers import PASSWORD
from tests.integration.controlplane.auth_fixtures import backend, fast_passwords, settings_on

pytestmark = pytest.mark.integration
__all__ = ["backend", "fast_passwords"]  # fixtures


@pytest.fixture(scope="module")
def controlplanes(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two applications, each with its own engine and lifespan, on the same database (as
    two controlplanes, or two worker processes of one, would be)."""
    with (
        settings_on(backend, tmp_path_factory.mktemp("data")) as settings,
        TestClient(create_app(settings)) as first,
        TestClient(create_app(settings)) as second,
    ):
        yield first, second


def _login(client: TestClient, username: str, password: str) -> int:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    return response.status_code


def test_guesses_spread_over_two_controlplanes_share_one_limit(
    controlplanes: tuple[TestClient, TestClient],
) -> None:
    first, second = controlplanes
    with first.app.state.session_factory.begin() as session:  # type: ignore[attr-defined]
        service.create_user(session, "frank", PASSWORD, Role.MEMBER)
        service.create_user(session, "grace", PASSWORD, Role.MEMBER)
    # Alternating, so that neither controlplane alone sees the limit's number of failures.
    for index in range(MAX_FAILURES_PER_USER):
        client = controlplanes[index % 2]
        assert _login(client, "frank", f"guess {index}") == 401
    # Each controlplane saw at most 3 failures of its own; together they reached 5.
    for client in controlplanes:
        response = client.post("/api/auth/login", json={"username": "frank", "password": PASSWORD})
        assert response.status_code == 429, response.text
        assert response.json()["code"] == "too_many_attempts"
        assert 1 <= int(response.headers["retry-after"]) <= 300
    # Another user is not affected, on either.
    for client in (second, first):
        assert _login(client, "grace", PASSWORD) == 200


def test_a_throttle_whose_database_is_down_answers_503_not_500(
    controlplanes: tuple[TestClient, TestClient], tmp_path: Path
) -> None:
    first, _ = controlplanes
    state = first.app.state.platform  # type: ignore[attr-defined]
    kept = state.login_throttle
    # A SQLite file in a folder that does not exist: every connection attempt fails.
    unreachable = create_engine(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    state.login_throttle = LoginThrottle(unreachable)
    try:
        response = first.post("/api/auth/login", json={"username": "frank", "password": "x"})
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
    finally:
        state.login_throttle = kept
        unreachable.dispose()
