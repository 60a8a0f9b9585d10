"""What every command needs: settings loaded with a clean error, and a database session."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from dqplatform.settings import Settings, SettingsError, load_settings

console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc), code=2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    # Plain stderr, not Rich: one unwrapped line that scripts can match.
    sys.stderr.write(f"dqp: {message}\n")
    return typer.Exit(code)


@contextlib.contextmanager
def database_session(settings: Settings) -> Iterator[Session]:
    """A session on the configured database, migrated first; commits if the block succeeds."""
    from sqlalchemy.exc import OperationalError

    from dqplatform.controlplane.db.engine import create_db_engine
    from dqplatform.controlplane.db.migrate import upgrade_database

    engine = create_db_engine(settings)
    try:
        try:
            upgrade_database(engine)
        except OperationalError as exc:
            raise fail(f"cannot reach the database: {type(exc.orig).__name__}") from None
        with Session(engine) as session, session.begin():
            yield session
    finally:
        engine.dispose()
