"""Server workers starting together on one SQLite file migrate it once, without errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

pytestmark = pytest.mark.integration

_MIGRATE = """
import sys
from sqlalchemy import create_engine
from dqplatform.controlplane.db.migrate import upgrade_database
upgrade_database(create_engine(sys.argv[1]))
"""


def test_four_processes_migrate_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    processes = [
        subprocess.Popen([sys.executable, "-c", _MIGRATE, url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], errors
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"users", "operations", "alembic_version"} <= tables
