"""Creating, listing, changing and removing connections. Callers own the transaction."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.connections.models import Connection
from dqplatform.controlplane.connections.schemas import (
    ConnectionCreate,
    ConnectionType,
    ConnectionUpdate,
)
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import Conflict, NotFound, PlatformError
from dqplatform.controlplane.secrets_box import SecretsBox, SecretUnreadable


@dataclass(frozen=True, slots=True)
class ConnectionSecret:
    """Everything needed to open the connection, password decrypted (masked in repr)."""

    id: int
    type: str
    host: str
    port: int
    database: str | None
    username: str | None
    password: SecretStr | None
    parameters: dict[str, Any] = field(default_factory=dict)


def _duplicate_name(name: str) -> Conflict:
    return Conflict(f"a connection named {name!r} already exists", code="duplicate_name")


def _ensure_name_free(session: Session, name: str, connection_id: int | None = None) -> None:
    query = select(Connection.id).where(Connection.name == name)
    if connection_id is not None:
        query = query.where(Connection.id != connection_id)
    if session.scalar(query) is not None:
        raise _duplicate_name(name)


def _flush(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        # Two requests created the same name at once: the unique constraint decides.
        raise _duplicate_name(name) from None


def create_connection(session: Session, data: ConnectionCreate, box: SecretsBox) -> Connection:
    _ensure_name_free(session, data.name)
    now = utcnow()
    row = Connection(
        name=data.name,
        type=data.type.value,
        host=data.host,
        port=data.port if data.port is not None else data.type.default_port,
        database=data.database,
        username=data.username,
        password_encrypted=(
            box.encrypt(data.password.get_secret_value()) if data.password else None
        ),
        parameters=dict(data.parameters),
        private=data.private,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    _flush(session, data.name)
    return row


def _filters(name: str | None, type_: ConnectionType | None) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if name:
        # autoescape: '%' and '_' in the filter match themselves.
        filters.append(Connection.name.icontains(name, autoescape=True))
    if type_ is not None:
        filters.append(Connection.type == type_.value)
    return filters


def list_connections(
    session: Session,
    *,
    offset: int = 0,
    limit: int | None = None,
    name: str | None = None,
    type_: ConnectionType | None = None,
) -> list[Connection]:
    """Connections by id; `name` matches a part of the name, ignoring case."""
    query = select(Connection).where(*_filters(name, type_)).order_by(Connection.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_connections(
    session: Session, *, name: str | None = None, type_: ConnectionType | None = None
) -> int:
    query = select(func.count()).select_from(Connection).where(*_filters(name, type_))
    return session.scalar(query) or 0


def require_connection(session: Session, connection_id: int) -> Connection:
    row = session.get(Connection, connection_id)
    if row is None:
        raise NotFound(f"no connection with id {connection_id}")
    return row


def require_by_name(session: Session, name: str) -> Connection:
    row = session.scalar(select(Connection).where(Connection.name == name))
    if row is None:
        raise NotFound(f"no connection named {name!r}")
    return row


def update_connection(
    session: Session, row: Connection, data: ConnectionUpdate, box: SecretsBox
) -> Connection:
    """Apply the fields the update sets; an omitted password stays, a null one is removed."""
    changes = data.changes()
    if "name" in changes:
        _ensure_name_free(session, changes["name"], row.id)
    if "type" in changes:
        changes["type"] = changes["type"].value
    if "password" in data.model_fields_set:
        password = data.password
        changes["password_encrypted"] = (
            box.encrypt(password.get_secret_value()) if password is not None else None
        )
    changed = False
    for key, value in changes.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.updated_at = utcnow()
        _flush(session, row.name)
    return row


def delete_connection(session: Session, row: Connection, used_by: Sequence[str]) -> None:
    """Delete the connection unless something uses it: `used_by` names what does (the
    caller asks the domains that refer to connections: datastores_on_connection), and a
    409 names them."""
    if used_by:
        raise Conflict(
            f"connection {row.name!r} is used by {', '.join(sorted(used_by))}",
            code="connection_in_use",
        )
    session.delete(row)
    try:
        session.flush()
    except IntegrityError:
        # A table that refers to connections with a restricting foreign key said no.
        raise Conflict(f"connection {row.name!r} is in use", code="connection_in_use") from None


def route_of(host: str, port: int) -> str:
    """'host:port', with an IPv6 address in brackets as the dataplane expects."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


def list_private_routes(session: Session) -> list[str]:
    """The distinct host:port of every private connection, sorted."""
    rows = session.execute(
        select(Connection.host, Connection.port).where(Connection.private.is_(True)).distinct()
    )
    return sorted({route_of(host, port) for host, port in rows})


def private_routes_lister(session_factory: sessionmaker[Session]) -> Callable[[], list[str]]:
    """list_private_routes in a short session of its own, as the status probe calls it."""

    def lister() -> list[str]:
        with session_factory() as session:
            return list_private_routes(session)

    return lister


def get_connection_secret(
    session: Session, connection_id: int, box: SecretsBox
) -> ConnectionSecret:
    """The connection with its password decrypted, for opening it (never for a response)."""
    row = require_connection(session, connection_id)
    password: SecretStr | None = None
    if row.password_encrypted is not None:
        try:
            password = SecretStr(box.decrypt(row.password_encrypted))
        except SecretUnreadable as exc:
            raise PlatformError(str(exc), status_code=500, code="secret_unreadable") from None
    return ConnectionSecret(
        id=row.id,
        type=row.type,
        host=row.host,
        port=row.port,
        database=row.database,
        username=row.username,
        password=password,
        parameters=dict(row.parameters),
    )


def reencrypt_passwords(session: Session, box: SecretsBox) -> int:
    """Encrypt every stored password again with the first key; returns how many."""
    rows = session.scalars(select(Connection).where(Connection.password_encrypted.is_not(None)))
    count = 0
    for row in rows:
        assert row.password_encrypted is not None
        row.password_encrypted = box.rotate(row.password_encrypted)
        count += 1
    session.flush()
    return count
