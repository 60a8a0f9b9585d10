"""What create_app does differently for a server process (asgi.py) than for a test client."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dqplatform.controlplane.app import create_app
from tests.conftest import SettingsFactory


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite collects as usual


def test_a_server_app_keeps_its_start_up_objects_out_of_later_collections(
    make_settings: SettingsFactory, nothing_frozen: None
) -> None:
    with TestClient(create_app(make_settings(), freeze_gc_after_start=True)) as client:
        # The imports, the app and what its start-up made: far more than a few objects.
        assert gc.get_freeze_count() > 50_000
        assert client.get("/api/health").status_code == 204


def test_an_app_freezes_nothing_unless_asked(
    make_settings: SettingsFactory, nothing_frozen: None
) -> None:
    with TestClient(create_app(make_settings())) as client:
        assert client.get("/api/health").status_code == 204
        assert gc.get_freeze_count() == 0
