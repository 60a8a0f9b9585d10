"""Fixtures of the controlplane's database tests: each backend in turn, migrated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.db.migrate import upgrade_database
from dqplatform.settings import Settings
from tests.conftest import SettingsFactory


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    """Settings on SQLite, then on PostgreSQL."""
    return make_settings(database_url=database_url)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """An engine on a database with every migration applied."""
    engine = create_db_engine(settings)
    upgrade_database(engine)
    yield engine
    engine.dispose()
