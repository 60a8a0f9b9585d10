"""Storing a catalog's containers and reading them back. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.dataplane_values import clean_text
from dqplatform.controlplane.datastores.service import require_datastore
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import NotFound
from dqplatform.messaging.operations import CatalogResult


@dataclass(frozen=True, slots=True)
class CatalogStored:
    added: int
    updated: int
    removed: list[str]


def store_catalog(
    session: Session,
    datastore_id: int,
    operation_id: int,
    result: CatalogResult,
    *,
    prune: bool = True,
) -> CatalogStored:
    """Make the datastore's containers what the catalog found: new ones are added, known ones
    updated in place (their ids stay), and, with `prune`, those it no longer found removed.

    Storing the same result twice leaves the same containers.
    """
    require_datastore(session, datastore_id)
    known = {
        row.name: row
        for row in session.scalars(select(Container).where(Container.datastore_id == datastore_id))
    }
    found: set[str] = set()
    added = updated = 0
    now = utcnow()
    for info in result.containers:
        name = clean_text(info.name)
        row = known.get(name)
        if row is None:
            row = known[name] = Container(datastore_id=datastore_id, name=name)
            session.add(row)
            added += 1
        elif name not in found:
            updated += 1
        found.add(name)
        row.type = info.type
        row.fields = [{"name": clean_text(f.name), "type": clean_text(f.type)} for f in info.fields]
        row.record_count = info.record_count
        row.last_operation_id = operation_id
        row.updated_at = now
    removed = sorted(name for name in known if name not in found) if prune else []
    for name in removed:
        session.delete(known[name])
    session.flush()
    return CatalogStored(added=added, updated=updated, removed=removed)


def _filters(datastore_id: int | None, name: str | None) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if datastore_id is not None:
        filters.append(Container.datastore_id == datastore_id)
    if name:
        filters.append(Container.name.icontains(name, autoescape=True))
    return filters


def list_containers(
    session: Session,
    *,
    offset: int = 0,
    limit: int | None = None,
    datastore_id: int | None = None,
    name: str | None = None,
) -> list[Container]:
    """Containers by id; `name` matches a part of the name, ignoring case."""
    query = (
        select(Container).where(*_filters(datastore_id, name)).order_by(Container.id).offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_containers(
    session: Session, *, datastore_id: int | None = None, name: str | None = None
) -> int:
    query = select(func.count()).select_from(Container).where(*_filters(datastore_id, name))
    return session.scalar(query) or 0


def require_container(session: Session, container_id: int) -> Container:
    row = session.get(Container, container_id)
    if row is None:
        raise NotFound(f"no container with id {container_id}")
    return row


def container_names(session: Session, datastore_id: int) -> list[str]:
    query = select(Container.name).where(Container.datastore_id == datastore_id)
    return list(session.scalars(query.order_by(Container.name)))
