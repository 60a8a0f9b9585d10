"""Request and response bodies of /api/connections. No response ever carries a password."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)

from dqplatform.controlplane.connections.models import Connection
from dqplatform.controlplane.paging import Page

MAX_PARAMETERS = 50
# What responses show in place of a stored password.
PASSWORD_MASK = "********"  # noqa: S105 - a placeholder, not a credential
MAX_PASSWORD_LENGTH = 1024


class ConnectionType(StrEnum):
    """The databases a connection may point at: each is reached at host:port."""

    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    MARIADB = "mariadb"

    @property
    def default_port(self) -> int:
        return _DEFAULT_PORTS[self]


_DEFAULT_PORTS = {
    ConnectionType.POSTGRESQL: 5432,
    ConnectionType.MYSQL: 3306,
    ConnectionType.MARIADB: 3306,
}

_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"^{_HOST_LABEL}(?:\.{_HOST_LABEL})*$")
_DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")
MAX_HOST_LENGTH = 253


def normalize_host(value: str) -> str:
    """A hostname (lower-cased) or an IP address (canonical form, IPv6 without brackets)."""
    host = value.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    if (
        not host
        or len(host) > MAX_HOST_LENGTH
        or not _HOSTNAME.fullmatch(host)
        or _DOTTED_NUMBERS.fullmatch(host)
    ):
        raise ValueError(
            f"must be a hostname (letters, digits, '-', '_' and dots, at most "
            f"{MAX_HOST_LENGTH} characters, no spaces) or an IP address"
        )
    return host.lower()


def _check_password(value: SecretStr) -> SecretStr:
    secret = value.get_secret_value()
    if not 1 <= len(secret) <= MAX_PASSWORD_LENGTH:
        raise ValueError(f"must be 1-{MAX_PASSWORD_LENGTH} characters (null for none)")
    # A client that echoes a response back must not store the mask as the password.
    if secret == PASSWORD_MASK:
        raise ValueError("is the mask shown in responses, not a password: omit it to keep one")
    return value


_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"
ConnectionName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_CONTROL_CHARS
    ),
]
Host = Annotated[str, Field(max_length=MAX_HOST_LENGTH + 2), AfterValidator(normalize_host)]
Port = Annotated[int, Field(strict=True, ge=1, le=65535)]
DatabaseName = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=_NO_CONTROL_CHARS)
]
Username = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=_NO_CONTROL_CHARS)
]
Password = Annotated[SecretStr, AfterValidator(_check_password)]
ParameterName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
]
ParameterValue = Annotated[StrictStr, Field(max_length=1000)] | StrictInt | StrictFloat | StrictBool
Parameters = Annotated[dict[ParameterName, ParameterValue], Field(max_length=MAX_PARAMETERS)]


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ConnectionType = Field(description="postgresql, mysql or mariadb.")
    name: ConnectionName = Field(description="Unique among connections, 1-100 characters.")
    host: Host = Field(description="Hostname or IP address the database listens on.")
    port: Port | None = Field(
        default=None, description="1-65535. Default: the type's usual port (5432 or 3306)."
    )
    database: DatabaseName | None = None
    username: Username | None = None
    password: Password | None = Field(
        default=None, description="Stored encrypted; responses never show it."
    )
    parameters: Parameters = Field(
        default_factory=dict,
        description=f"Driver options: up to {MAX_PARAMETERS} names with string, number or "
        "boolean values. Not encrypted: keep secrets in `password`.",
    )
    private: StrictBool = Field(
        default=False,
        description="Reached over a private route: GET /api/status checks that the dataplane "
        "can reach host:port.",
    )


# Fields a PUT may not set to null; database, username and password may (null clears them).
_REQUIRED_FIELDS = ("type", "name", "host", "port", "parameters", "private")


class ConnectionUpdate(BaseModel):
    """A partial update: omitted fields keep their value; an omitted password is kept."""

    model_config = ConfigDict(extra="forbid")

    type: ConnectionType | None = None
    name: ConnectionName | None = None
    host: Host | None = None
    port: Port | None = None
    database: DatabaseName | None = None
    username: Username | None = None
    password: Password | None = Field(
        default=None, description="A new password; null removes it; omitted keeps it."
    )
    parameters: Parameters | None = Field(default=None, description="Replaces all parameters.")
    private: StrictBool | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        nulls = [
            f for f in _REQUIRED_FIELDS if f in self.model_fields_set and getattr(self, f) is None
        ]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the request sets, password excluded (it is handled apart)."""
        return {f: getattr(self, f) for f in self.model_fields_set if f != "password"}


class ConnectionRead(BaseModel):
    """A connection as shown to callers: the password is masked, never returned."""

    id: int
    name: str
    type: ConnectionType
    host: str
    port: int
    database: str | None
    username: str | None
    password: str | None = Field(
        description=f"{PASSWORD_MASK!r} when a password is stored, null when none is."
    )
    parameters: dict[str, Any]
    private: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Connection) -> ConnectionRead:
        return cls(
            id=row.id,
            name=row.name,
            type=ConnectionType(row.type),
            host=row.host,
            port=row.port,
            database=row.database,
            username=row.username,
            password=PASSWORD_MASK if row.has_password else None,
            parameters=row.parameters,
            private=row.private,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ConnectionPage(Page[ConnectionRead]):
    pass
