"""Request and response bodies of /api/datastores."""

from __future__ import annotations

import posixpath
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from dqplatform.controlplane.connections.schemas import DatabaseName
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.controlplane.paging import MAX_ID, Page

_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"
MAX_PATH_LENGTH = 1024


class DatastoreKind(StrEnum):
    JDBC = "jdbc"
    FILES = "files"


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


def _absolute_path(value: str) -> str:
    # The dataplane runs on a POSIX system: the path is judged as one, not as this host's.
    if not value.startswith("/"):
        raise ValueError("must be an absolute path (starting with '/')")
    return posixpath.normpath(value)


DatastoreName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_CONTROL_CHARS
    ),
]
SchemaName = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=_NO_CONTROL_CHARS)
]
FilesPath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_PATH_LENGTH, pattern=_NO_CONTROL_CHARS),
    AfterValidator(_absolute_path),
]
ConnectionRef = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]

# Fields that belong to one kind only; the other kind must leave them null.
JDBC_FIELDS = ("connection_id", "database", "schema_name")
FILES_FIELDS = ("path", "file_format")


class DatastoreCreate(BaseModel):
    """A JDBC datastore names a connection; a files datastore names a path and a format."""

    model_config = ConfigDict(extra="forbid")

    name: DatastoreName = Field(description="Unique among datastores, 1-100 characters.")
    kind: DatastoreKind = Field(description="jdbc (a database on a connection) or files.")
    connection_id: ConnectionRef | None = Field(
        default=None, description="jdbc: the connection (postgresql, mysql or mariadb)."
    )
    database: DatabaseName | None = Field(
        default=None, description="jdbc: the database, when not the connection's own."
    )
    schema_name: SchemaName | None = Field(
        default=None, description="jdbc on PostgreSQL: the schema. Default: public."
    )
    path: FilesPath | None = Field(
        default=None, description="files: the absolute path, as the dataplane sees it."
    )
    file_format: FileFormat | None = Field(default=None, description="files: csv or parquet.")

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> Self:
        required: tuple[str, ...]
        foreign: tuple[str, ...]
        if self.kind is DatastoreKind.JDBC:
            required, foreign = ("connection_id",), FILES_FIELDS
        else:
            required, foreign = FILES_FIELDS, JDBC_FIELDS
        missing = [f for f in required if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} datastore needs {' and '.join(missing)}")
        stray = [f for f in foreign if getattr(self, f) is not None]
        if stray:
            raise ValueError(f"a {self.kind} datastore has no {', '.join(stray)}: leave it out")
        return self


_NOT_NULL = ("name", "kind")


class DatastoreUpdate(BaseModel):
    """A partial update: omitted fields keep their value, null clears an optional one.

    Changing `kind` clears the fields of the old kind that the update does not set.
    """

    model_config = ConfigDict(extra="forbid")

    name: DatastoreName | None = None
    kind: DatastoreKind | None = None
    connection_id: ConnectionRef | None = None
    database: DatabaseName | None = None
    schema_name: SchemaName | None = None
    path: FilesPath | None = None
    file_format: FileFormat | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        nulls = [f for f in _NOT_NULL if f in self.model_fields_set and getattr(self, f) is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def merged_with(self, row: Datastore) -> dict[str, Any]:
        """The datastore's fields after this update, to validate as a whole."""
        values: dict[str, Any] = {
            f: getattr(row, f) for f in ("name", "kind", *JDBC_FIELDS, *FILES_FIELDS)
        }
        if self.kind is not None and self.kind != row.kind:
            for f in FILES_FIELDS if self.kind is DatastoreKind.JDBC else JDBC_FIELDS:
                values[f] = None
        values.update({f: getattr(self, f) for f in self.model_fields_set})
        return values


class DatastoreRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: DatastoreKind
    connection_id: int | None
    database: str | None = Field(
        description="The datastore's own database; null: the connection's."
    )
    schema_name: str | None
    path: str | None
    file_format: FileFormat | None
    created_at: datetime
    updated_at: datetime


DatastorePage = Page[DatastoreRead]


class ConnectionCheck(BaseModel):
    """The answer of POST /api/datastores/{id}/connection, as the public client reads it."""

    connected: bool
    message: str
    latency_ms: float
