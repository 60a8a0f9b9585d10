"""The sign-in limit across real processes: two controlplanes on one PostgreSQL database, one
of them with two server workers, count one username's failures together."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dqplatform.controlplane.auth.throttle import MAX_FAILURES_PER_USER
from tests.e2e.harness import Platform

pytestmark = pytest.mark.e2e


@pytest.fixture
def controlplanes(tmp_path: Path, postgres_url: str) -> Iterator[list[Platform]]:
    shared = {"DQP_DATABASE_URL": postgres_url}
    platforms = [
        Platform(tmp_path / "a" / "data", None, extra_env={**shared, "DQP_WORKERS": "2"}),
        Platform(tmp_path / "b" / "data", None, extra_env=shared),
    ]
    try:
        for platform in platforms:
            platform.data_dir.mkdir(parents=True)
            platform.start("controlplane", "controlplane")
        for platform in platforms:
            platform.wait_api()
        yield platforms
    finally:
        for platform in platforms:
            platform.stop_all()


def _login(platform: Platform, client: httpx.Client, password: str) -> httpx.Response:
    # New connections each time, so that the workers of `a` take turns.
    return client.post(
        platform.url + "/api/auth/login",
        json={"username": "ghost", "password": password},
        headers={"Connection": "close"},
    )


def test_failures_through_every_process_share_one_limit(controlplanes: list[Platform]) -> None:
    a, b = controlplanes
    # An unknown user's failures count like anyone's. a, b, a, b, a: at most three reach
    # any one process (fewer per worker of a).
    with httpx.Client(timeout=30) as client:
        for index in range(MAX_FAILURES_PER_USER):
            platform = (a, b)[index % 2]
            assert _login(platform, client, f"guess {index}").status_code == 401
        for platform in (a, b, a):
            refused = _login(platform, client, "one more")
            assert refused.status_code == 429, refused.text
            assert refused.json()["code"] == "too_many_attempts"
            assert 1 <= int(refused.headers["retry-after"]) <= 300
