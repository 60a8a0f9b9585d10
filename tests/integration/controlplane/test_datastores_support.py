"""What the datastore, container, check and anomaly suites share: one controlplane per
module and database backend (SQLite, then PostgreSQL), a user of each role, and connections
and datastores made through the API.

Starting a controlplane on a fresh database costs one to two seconds, so, as the auth suites
do (auth_fixtures), each module shares one per backend; tests give what they create unique
names and look only at their own datastores. (Named like the suites so that it sits with
them; it holds no tests.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth import passwords
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.users import service as users
from dqplatform.settings import Settings
from tests.helpers import PASSWORD as USER_PASSWORD
from tests.integration.controlplane.auth_fixtures import settings_on

BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "s3cret-Datastore-pw!"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Api:
    client: TestClient
    settings: Settings
    tokens: dict[Role, str]

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, role: Role | None, method: str, url: str, **kwargs: Any) -> Response:
        headers = {**(self.headers(role) if role is not None else {}), **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, role: Role = Role.MEMBER, **kwargs: Any) -> Response:
        return self.call(role, "GET", url, **kwargs)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work in the app's own database, committed at the end."""
        factory = self.client.app.state.session_factory  # type: ignore[attr-defined]
        with factory.begin() as session:
            yield session

    def connection(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "postgresql",
            "name": unique("conn"),
            "host": "127.0.0.1",
            "port": 5432,
            "database": "sales",
            "username": "reader",
            "password": PASSWORD,
        }
        body.update(overrides)
        response = self.call(Role.MANAGER, "POST", "/api/connections", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def datastore(self, **body: Any) -> dict[str, Any]:
        response = self.call(Role.MANAGER, "POST", "/api/datastores", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def files_datastore(self, name: str | None = None, **overrides: Any) -> dict[str, Any]:
        body = {"path": "/data/landing", "file_format": "csv", **overrides}
        return self.datastore(name=name or unique("files"), kind="files", **body)

    def container(
        self, datastore_id: int, name: str, fields: dict[str, str], type: str = "table"
    ) -> int:
        """A catalogued container with `fields` ({name: Spark type}), as a catalog stores it."""
        with self.session() as session:
            row = Container(
                datastore_id=datastore_id,
                name=name,
                type=type,
                fields=[{"name": n, "type": t} for n, t in fields.items()],
                record_count=0,
            )
            session.add(row)
            session.flush()
            return row.id


def _role_tokens(client: TestClient, settings: Settings) -> dict[Role, str]:
    """A user of each role with a session token; cheap hashes (no test signs in here)."""
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as patch, factory.begin() as session:
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        ids = {
            role: users.create_user(session, unique(role.value), USER_PASSWORD, role).id
            for role in Role
        }
    client.app.state.users.reload()  # type: ignore[attr-defined]
    return {
        role: issue_session_token(settings.signing_secret, user_id, role, 3600)
        for role, user_id in ids.items()
    }


@contextmanager
def running_api(backend: str, data_dir: Path) -> Iterator[Api]:
    """A controlplane on an empty database of `backend`, on the in-memory broker."""
    with settings_on(backend, data_dir) as settings, TestClient(create_app(settings)) as client:
        yield Api(client, settings, _role_tokens(client, settings))


def error_locs(response: Response) -> list[list[Any]]:
    """The `loc` of every error in a 422 body, after checking the body's shape."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == 422 and body["code"] == "validation_error", body
    assert body["detail"] == "request is not valid"
    return [error["loc"] for error in body["errors"]]
