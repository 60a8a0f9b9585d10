"""Creating, listing, changing and removing datastores, and the spec an operation runs on.

Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal, cast

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dqplatform.controlplane.connections import service as connections
from dqplatform.controlplane.connections.models import Connection
from dqplatform.controlplane.connections.schemas import ConnectionType
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.controlplane.datastores.schemas import DatastoreCreate, DatastoreKind
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import Conflict, NotFound
from dqplatform.controlplane.secrets_box import SecretsBox
from dqplatform.controlplane.validation import invalid_field
from dqplatform.messaging.operations import DatastoreSpec

JDBC_TYPES = frozenset({ConnectionType.POSTGRESQL, ConnectionType.MYSQL, ConnectionType.MARIADB})
DEFAULT_POSTGRES_SCHEMA = "public"


def datastores_on_connection(session: Session, connection_id: int) -> list[str]:
    """The datastores on a connection, as its delete reports them (409)."""
    names = session.scalars(select(Datastore.name).where(Datastore.connection_id == connection_id))
    return [f"datastore {name!r}" for name in names]


class DatastoreIncomplete(Conflict):
    code = "datastore_incomplete"


def _duplicate_name(name: str) -> Conflict:
    return Conflict(f"a datastore named {name!r} already exists", code="duplicate_name")


def _ensure_name_free(session: Session, name: str, datastore_id: int | None = None) -> None:
    query = select(Datastore.id).where(Datastore.name == name)
    if datastore_id is not None:
        query = query.where(Datastore.id != datastore_id)
    if session.scalar(query) is not None:
        raise _duplicate_name(name)


def _flush(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        # Two requests created the same name at once: the unique constraint decides.
        raise _duplicate_name(name) from None


def _checked_values(session: Session, data: DatastoreCreate) -> dict[str, object]:
    """The row's values; the connection must exist and be a database this kind can read."""
    schema_name = data.schema_name
    if data.kind is DatastoreKind.JDBC:
        assert data.connection_id is not None  # the schema requires it for jdbc
        connection = session.get(Connection, data.connection_id)
        if connection is None:
            raise NotFound(f"no connection with id {data.connection_id}")
        if connection.type not in JDBC_TYPES:
            raise invalid_field(
                "connection_id",
                f"a jdbc datastore needs a postgresql, mysql or mariadb connection, "
                f"not {connection.type}",
            )
        if data.database is None and connection.database is None:
            raise invalid_field(
                "database", "the connection names no database: give the datastore one"
            )
        if connection.type == ConnectionType.POSTGRESQL:
            schema_name = schema_name or DEFAULT_POSTGRES_SCHEMA
        elif schema_name is not None:
            raise invalid_field(
                "schema_name", "MySQL and MariaDB have no schemas in a database: use database"
            )
    return {
        "name": data.name,
        "kind": data.kind.value,
        "connection_id": data.connection_id,
        "database": data.database,
        "schema_name": schema_name,
        "path": data.path,
        "file_format": data.file_format.value if data.file_format else None,
    }


def create_datastore(session: Session, data: DatastoreCreate) -> Datastore:
    _ensure_name_free(session, data.name)
    now = utcnow()
    row = Datastore(**_checked_values(session, data), created_at=now, updated_at=now)
    session.add(row)
    _flush(session, data.name)
    return row


def update_datastore(session: Session, row: Datastore, data: DatastoreCreate) -> Datastore:
    """Make the datastore `data` (a partial update already merged with the row)."""
    values = _checked_values(session, data)
    if values["name"] != row.name:
        _ensure_name_free(session, data.name, row.id)
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.updated_at = utcnow()
        _flush(session, row.name)
    return row


def _filters(name: str | None, kind: DatastoreKind | None) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if name:
        filters.append(Datastore.name.icontains(name, autoescape=True))
    if kind is not None:
        filters.append(Datastore.kind == kind.value)
    return filters


def list_datastores(
    session: Session,
    *,
    offset: int = 0,
    limit: int | None = None,
    name: str | None = None,
    kind: DatastoreKind | None = None,
) -> list[Datastore]:
    """Datastores by id; `name` matches a part of the name, ignoring case."""
    query = select(Datastore).where(*_filters(name, kind)).order_by(Datastore.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_datastores(
    session: Session, *, name: str | None = None, kind: DatastoreKind | None = None
) -> int:
    query = select(func.count()).select_from(Datastore).where(*_filters(name, kind))
    return session.scalar(query) or 0


def require_datastore(session: Session, datastore_id: int) -> Datastore:
    row = session.get(Datastore, datastore_id)
    if row is None:
        raise NotFound(f"no datastore with id {datastore_id}")
    return row


def delete_datastore(session: Session, row: Datastore, used_by: Sequence[str]) -> None:
    """Delete the datastore and, by cascade, its containers, profiles, checks and anomalies,
    unless something uses it: `used_by` names what does (the caller asks the operations
    domain: unfinished_on_datastore), and a 409 names them."""
    if used_by:
        raise Conflict(
            f"datastore {row.name!r} is used by {', '.join(sorted(used_by))}",
            code="datastore_in_use",
        )
    session.delete(row)
    try:
        session.flush()
    except IntegrityError:
        # A table that refers to datastores with a restricting foreign key said no.
        raise Conflict(f"datastore {row.name!r} is in use", code="datastore_in_use") from None


def connection_secret(
    session: Session, row: Datastore, box: SecretsBox
) -> connections.ConnectionSecret:
    """The datastore's connection, password decrypted, pointed at the datastore's database."""
    if row.connection_id is None:
        raise DatastoreIncomplete(
            f"datastore {row.name!r} reads files: it has no connection",
            code="datastore_has_no_connection",
        )
    secret = connections.get_connection_secret(session, row.connection_id, box)
    if row.database is not None:
        secret = replace(secret, database=row.database)
    return secret


def datastore_spec(session: Session, row: Datastore, box: SecretsBox) -> DatastoreSpec:
    """What the dataplane needs to read the datastore, password included (never log it)."""
    if row.kind == DatastoreKind.FILES:
        file_format = cast(Literal["csv", "parquet"], row.file_format)
        return DatastoreSpec(kind="files", path=row.path, file_format=file_format)
    secret = connection_secret(session, row, box)
    if secret.database is None:
        # The connection's database was removed after the datastore was made.
        raise DatastoreIncomplete(
            f"datastore {row.name!r} names no database, and neither does its connection"
        )
    if secret.type not in JDBC_TYPES:
        raise DatastoreIncomplete(
            f"datastore {row.name!r} is on a {secret.type} connection, which jdbc cannot read"
        )
    postgres = secret.type == ConnectionType.POSTGRESQL
    return DatastoreSpec(
        kind="jdbc",
        connection_type=secret.type,
        host=secret.host,
        port=secret.port,
        database=secret.database,
        # The connection's type may have changed since: a schema only means something there.
        schema_name=(row.schema_name or DEFAULT_POSTGRES_SCHEMA) if postgres else None,
        username=secret.username,
        password=secret.password,
        parameters=secret.parameters,
    )
