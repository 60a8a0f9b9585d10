"""`dqp connection add/list/remove/rotate-key` against SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from dqplatform.cli.main import app
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "cli-Plain-Passw0rd"


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {"DQP_DATA_DIR": str(tmp_path / "data"), "DQP_DATABASE_URL": database_url}


def stored(env: dict[str, str]) -> list[str | None]:
    settings = Settings(data_dir=Path(env["DQP_DATA_DIR"]), database_url=env["DQP_DATABASE_URL"])
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            query = text("SELECT password_encrypted FROM connections ORDER BY id")
            return [row[0] for row in connection.execute(query)]
    finally:
        engine.dispose()


def test_add_list_remove(env: dict[str, str]) -> None:
    runner = CliRunner(env=env)
    added = runner.invoke(
        app,
        [
            "connection", "add", "hr",
            "--type", "mysql", "--host", "HR-DB.internal", "--username", "hr",
            "--param", "charset=utf8mb4", "--private", "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "created connection hr" in added.output
    prompted = runner.invoke(
        app,
        ["connection", "add", "sales", "--type", "postgresql", "--host", "10.0.0.5"],
        input=f"{PASSWORD}2\n{PASSWORD}2\n",
    )
    assert prompted.exit_code == 0, prompted.output
    bare = runner.invoke(
        app, ["connection", "add", "bare", "--type", "mariadb", "--host", "h", "--no-password"]
    )
    assert bare.exit_code == 0, bare.output

    listed = runner.invoke(app, ["connection", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["name"], r["host"], r["port"], r["private"]) for r in rows] == [
        ("hr", "hr-db.internal", 3306, True),
        ("sales", "10.0.0.5", 5432, False),
        ("bare", "h", 3306, False),
    ]
    assert [r["password"] for r in rows] == ["********", "********", None]
    assert rows[0]["parameters"] == {"charset": "utf8mb4"}
    table = runner.invoke(app, ["connection", "list"])
    assert "hr-db.internal:3306" in table.output
    for result in (added, prompted, listed, table):
        assert PASSWORD not in result.output
    secrets = stored(env)
    assert secrets[2] is None
    assert all(s and PASSWORD not in s for s in secrets[:2])

    rotated = runner.invoke(app, ["connection", "rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 2 password(s)" in rotated.output
    assert stored(env)[:2] != secrets[:2]

    assert runner.invoke(app, ["connection", "remove", "hr"]).exit_code == 0
    names = [
        r["name"] for r in json.loads(runner.invoke(app, ["connection", "list", "--json"]).output)
    ]
    assert names == ["sales", "bare"]


def test_refusals_are_one_clear_line(env: dict[str, str]) -> None:
    runner = CliRunner(env=env)
    add = ["connection", "add", "x", "--type", "postgresql", "--password-stdin"]
    first = runner.invoke(app, [*add, "--host", "h"], input=PASSWORD + "\n")
    assert first.exit_code == 0, first.output
    cases = [
        ([*add, "--host", "h"], "a connection named 'x' already exists"),
        ([*add, "--host", "bad host"], "invalid connection: host:"),
        ([*add, "--host", "h", "--port", "0"], "invalid connection: port:"),
        ([*add, "--host", "h", "--param", "novalue"], "--param must be NAME=VALUE"),
        (["connection", "remove", "nope"], "no connection named 'nope'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args, input=PASSWORD + "\n")
        assert result.exit_code == 1, args
        assert message in result.output, result.output
        assert PASSWORD not in result.output
    short_key = runner.invoke(
        app, ["connection", "rotate-key"], env={**env, "DQP_SECRETS_KEY": "short"}
    )
    assert short_key.exit_code == 2
    assert "DQP_SECRETS_KEY" in short_key.output
    wrong_key = runner.invoke(
        app, ["connection", "rotate-key"], env={**env, "DQP_SECRETS_KEY": "w" * 40}
    )
    assert wrong_key.exit_code == 1
    assert "cannot be decrypted" in wrong_key.output and "nothing was changed" in wrong_key.output
