"""The connections service on SQLite and PostgreSQL: secrets, routes, dependants, schema."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.connections import service
from dqplatform.controlplane.connections.models import Connection
from dqplatform.controlplane.connections.schemas import ConnectionCreate, ConnectionUpdate
from dqplatform.controlplane.db.models import Base
from dqplatform.controlplane.errors import Conflict, NotFound, PlatformError
from dqplatform.controlplane.secrets_box import SecretsBox

pytestmark = pytest.mark.integration

NEW_KEY = "n" * 40
OLD_KEY = "o" * 40


def data(**overrides: Any) -> ConnectionCreate:
    values: dict[str, Any] = {
        "type": "postgresql",
        "name": "warehouse",
        "host": "db.internal",
        "username": "reader",
        "password": "s3cret-value",
    }
    values.update(overrides)
    return ConnectionCreate.model_validate(values)


def test_the_migration_matches_the_model(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [diff for diff in diffs if "connections" in repr(diff)]
    assert ours == []


def test_secret_round_trip_and_key_rotation(engine: Engine) -> None:
    old_box = SecretsBox([OLD_KEY])
    with Session(engine) as session, session.begin():
        cid = service.create_connection(
            session, data(parameters={"sslmode": "require"}), old_box
        ).id
        bare = service.create_connection(session, data(name="bare", password=None), old_box).id

    with Session(engine) as session:
        secret = service.get_connection_secret(session, cid, old_box)
        assert secret.password is not None
        assert secret.password.get_secret_value() == "s3cret-value"
        assert "s3cret-value" not in repr(secret)
        assert (secret.type, secret.host, secret.port, secret.username) == (
            "postgresql",
            "db.internal",
            5432,
            "reader",
        )
        assert secret.parameters == {"sslmode": "require"}
        assert service.get_connection_secret(session, bare, old_box).password is None
        with pytest.raises(NotFound):
            service.get_connection_secret(session, 424242, old_box)
        # A key that never encrypted it cannot read it: a clear error, not garbage.
        with pytest.raises(PlatformError) as caught:
            service.get_connection_secret(session, cid, SecretsBox([NEW_KEY]))
        assert caught.value.code == "secret_unreadable"

    # Rotation: the new key first, the old one still listed, then re-encrypt everything.
    rotating = SecretsBox([NEW_KEY, OLD_KEY])
    with Session(engine) as session, session.begin():
        assert service.reencrypt_passwords(session, rotating) == 1
    with Session(engine) as session:
        secret = service.get_connection_secret(session, cid, SecretsBox([NEW_KEY]))
        assert secret.password is not None
        assert secret.password.get_secret_value() == "s3cret-value"
        with pytest.raises(PlatformError):
            service.get_connection_secret(session, cid, old_box)


def test_private_routes_are_distinct_and_sorted(engine: Engine) -> None:
    box = SecretsBox([NEW_KEY])
    with Session(engine) as session, session.begin():
        assert service.list_private_routes(session) == []
        service.create_connection(session, data(name="public", private=False), box)
        assert service.list_private_routes(session) == []
        for name, host, port in [
            ("z", "zeta.internal", 5432),
            ("a", "alpha.internal", 3306),
            ("a-again", "ALPHA.internal", 3306),
            ("v4", "10.0.0.7", 5432),
            ("v6", "[2001:db8::1]", 5432),
        ]:
            service.create_connection(
                session, data(name=name, host=host, port=port, private=True), box
            )
    lister = service.private_routes_lister(sessionmaker(engine))
    assert lister() == [
        "10.0.0.7:5432",
        "[2001:db8::1]:5432",
        "alpha.internal:3306",
        "zeta.internal:5432",
    ]


def test_a_used_connection_cannot_be_deleted(engine: Engine) -> None:
    box = SecretsBox([NEW_KEY])
    with Session(engine) as session, session.begin():
        used = service.create_connection(session, data(name="used"), box).id
        free = service.create_connection(session, data(name="free"), box).id

    # The users are named by the caller (the datastores domain, for the API and the CLI).
    with Session(engine) as session, session.begin():
        with pytest.raises(Conflict) as caught:
            service.delete_connection(
                session, service.require_connection(session, used), ["datastore 'sales'"]
            )
        assert caught.value.code == "connection_in_use"
        assert "datastore 'sales'" in caught.value.message
        service.delete_connection(session, service.require_connection(session, free), [])
    with Session(engine) as session, session.begin():
        assert session.scalars(select(Connection.name)).all() == ["used"]
        service.delete_connection(session, service.require_connection(session, used), [])
        assert session.scalars(select(Connection)).all() == []


def test_the_unique_constraint_backs_the_name_check(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = SecretsBox([NEW_KEY])
    with Session(engine) as session, session.begin():
        service.create_connection(session, data(), box)
    # As if a concurrent request had inserted the name between the check and the insert.
    monkeypatch.setattr(service, "_ensure_name_free", lambda *args, **kwargs: None)
    with Session(engine) as session:
        with pytest.raises(Conflict) as caught:
            service.create_connection(session, data(), box)
        assert caught.value.code == "duplicate_name"
        session.rollback()
        other = service.create_connection(session, data(name="other"), box)
        with pytest.raises(Conflict):
            service.update_connection(
                session, other, ConnectionUpdate.model_validate({"name": "warehouse"}), box
            )
