"""End-to-end fixtures: the real platform processes on each broker we support."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Platform
from tests.services import RABBITMQ_URL

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["filesystem", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "filesystem" else RABBITMQ_URL


@pytest.fixture
def platform(tmp_path: Path, broker_url: str | None) -> Iterator[Platform]:
    instance = Platform(data_dir=tmp_path / "data", broker_url=broker_url)
    try:
        yield instance
    finally:
        instance.stop_all()
