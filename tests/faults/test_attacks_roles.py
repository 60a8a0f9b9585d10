"""A Member and a Manager call every Admin endpoint of the live server: 403 each time.

The Admin endpoints are found in the application itself (every route whose authentication
dependency requires the admin role), so an Admin endpoint added later is attacked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.dependencies import Authenticate
from dqplatform.controlplane.auth.roles import Role
from dqplatform.settings import Settings
from tests.faults.live import LivePlatform

MISSING_ID = 987_654
# What the application must have among its Admin endpoints, at least.
KNOWN_ADMIN_ENDPOINTS = {
    ("PUT", "/api/admin/restart"),
    ("GET", "/api/users"),
    ("POST", "/api/users"),
    ("GET", "/api/users/{user_id}"),
    ("PUT", "/api/users/{user_id}"),
    ("DELETE", "/api/users/{user_id}"),
}


def _required_roles(dependant: Dependant) -> Iterator[Role | None]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Authenticate):
            yield dependency.call.required
        yield from _required_roles(dependency)


def _api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every API route, also inside FastAPI's included-router wrappers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(inner.routes, prefix + getattr(context, "prefix", ""))


def admin_endpoints(data_dir: Path) -> list[tuple[str, str]]:
    app = create_app(Settings(data_dir=data_dir))  # type: ignore[call-arg]  # no lifespan run
    found = set()
    for path, route in _api_routes(list(app.routes)):
        if Role.ADMIN in set(_required_roles(route.dependant)):
            found.update((method, path) for method in route.methods)
    return sorted(found)


ENDPOINTS = admin_endpoints(Path("/nonexistent-dqp-data-dir"))


def test_the_admin_endpoints_are_found() -> None:
    assert set(ENDPOINTS) >= KNOWN_ADMIN_ENDPOINTS


@pytest.fixture(scope="module")
def callers(attack_server: LivePlatform) -> dict[str, str]:
    return {role: attack_server.add_user(f"role-{role}", role) for role in ("member", "manager")}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[" ".join(e) for e in ENDPOINTS])
def test_members_and_managers_get_403_from_every_admin_endpoint(
    attack_server: LivePlatform, callers: dict[str, str], method: str, path: str
) -> None:
    url = re.sub(r"\{[a-z_]+\}", str(MISSING_ID), path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    for role, token in callers.items():
        response = attack_server.api(method, url, token=token, json=body)
        assert response.status_code == 403, f"{role}: {response.text}"
        assert response.json() == {
            "status": 403,
            "code": "forbidden",
            "detail": "requires the admin role",
        }
    # The control: an Admin gets past the role check on the same request.
    allowed = attack_server.api(method, url, json=body)
    assert allowed.status_code not in (401, 403), allowed.text
