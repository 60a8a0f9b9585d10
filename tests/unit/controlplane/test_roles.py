"""Every role against every endpoint; GET /api's body and GET /api/health; JSON error bodies."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import create_engine

from dqplatform.build_info import build_info
from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from dqplatform.settings import Settings, size_for_cores
from tests.conftest import SettingsFactory
from tests.helpers import bearer, token_for

REPO = Path(__file__).resolve().parents[3]
MISSING_ID = 987_654  # an id no user or token has


@dataclass(frozen=True)
class Endpoint:
    """An endpoint, the least role that may call it (None: public), and what an allowed
    caller gets back for the bare request made here (no body, ids that do not exist): for
    endpoints that change things that is a 404 or 422, which still shows that the caller
    got past authentication and the role check."""

    method: str
    path: str
    minimum: Role | None
    allowed_status: int

    @property
    def url(self) -> str:
        return re.sub(r"\{[a-z_]+\}", str(MISSING_ID), self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


# Add every new endpoint here: test_every_endpoint_is_in_the_table fails until it is.
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api", Role.MEMBER, 200),
    Endpoint("GET", "/api/health", None, 204),
    Endpoint("GET", "/api/metrics", None, 200),  # public unless DQP_METRICS_PUBLIC=false
    Endpoint("GET", "/api/openapi.json", None, 200),
    Endpoint("GET", "/api/docs", None, 200),
    Endpoint("GET", "/api/status", Role.MEMBER, 200),
    Endpoint("GET", "/api/status/details", Role.MANAGER, 200),
    Endpoint("PUT", "/api/admin/restart", Role.ADMIN, 200),
    Endpoint("POST", "/api/auth/login", None, 422),
    Endpoint("GET", "/api/cli/authorize", None, 400),
    Endpoint("POST", "/api/cli/authorize", None, 422),
    Endpoint("GET", "/api/users/me", Role.MEMBER, 200),
    Endpoint("GET", "/api/users", Role.ADMIN, 200),
    Endpoint("POST", "/api/users", Role.ADMIN, 422),
    Endpoint("GET", "/api/users/{user_id}", Role.ADMIN, 404),
    Endpoint("PUT", "/api/users/{user_id}", Role.ADMIN, 422),
    Endpoint("DELETE", "/api/users/{user_id}", Role.ADMIN, 404),
    Endpoint("GET", "/api/user-tokens", Role.MEMBER, 200),
    Endpoint("POST", "/api/user-tokens", Role.MEMBER, 422),
    Endpoint("PUT", "/api/user-tokens/{token_id}", Role.MEMBER, 422),
    Endpoint("DELETE", "/api/user-tokens/{token_id}", Role.MEMBER, 404),
    Endpoint("GET", "/api/connections", Role.MEMBER, 200),
    Endpoint("GET", "/api/connections/{connection_id}", Role.MEMBER, 404),
    Endpoint("POST", "/api/connections", Role.MANAGER, 422),
    Endpoint("PUT", "/api/connections/{connection_id}", Role.MANAGER, 422),
    Endpoint("DELETE", "/api/connections/{connection_id}", Role.MANAGER, 404),
    Endpoint("POST", "/api/connections/{connection_id}/test", Role.MANAGER, 404),
    Endpoint("GET", "/api/datastores", Role.MEMBER, 200),
    Endpoint("GET", "/api/datastores/{datastore_id}", Role.MEMBER, 404),
    Endpoint("POST", "/api/datastores", Role.MANAGER, 422),
    Endpoint("PUT", "/api/datastores/{datastore_id}", Role.MANAGER, 422),
    Endpoint("DELETE", "/api/datastores/{datastore_id}", Role.MANAGER, 404),
    Endpoint("POST", "/api/datastores/{datastore_id}/connection", Role.MANAGER, 404),
    Endpoint("GET", "/api/containers", Role.MEMBER, 200),
    Endpoint("GET", "/api/containers/{container_id}", Role.MEMBER, 404),
    Endpoint("GET", "/api/containers/{container_id}/fields", Role.MEMBER, 404),
    Endpoint("GET", "/api/containers/{container_id}/field-profiles", Role.MEMBER, 404),
    Endpoint("GET", "/api/quality-checks", Role.MEMBER, 200),
    Endpoint("GET", "/api/quality-checks/{check_id}", Role.MEMBER, 404),
    Endpoint("POST", "/api/quality-checks", Role.MANAGER, 422),
    Endpoint("PUT", "/api/quality-checks/{check_id}", Role.MANAGER, 422),
    Endpoint("DELETE", "/api/quality-checks/{check_id}", Role.MANAGER, 404),
    Endpoint("GET", "/api/anomalies", Role.MEMBER, 200),
    Endpoint("GET", "/api/anomalies/{anomaly_id}", Role.MEMBER, 404),
    Endpoint("PUT", "/api/anomalies/{anomaly_id}", Role.MANAGER, 422),
    Endpoint("DELETE", "/api/anomalies/{anomaly_id}", Role.MANAGER, 404),
    Endpoint("GET", "/api/quality-checks/rules", Role.MEMBER, 200),
    Endpoint("DELETE", "/api/quality-checks", Role.MANAGER, 422),
    Endpoint("POST", "/api/quality-check-templates", Role.MANAGER, 422),
    Endpoint("GET", "/api/quality-check-templates", Role.MEMBER, 200),
    Endpoint("GET", "/api/quality-check-templates/{template_id}", Role.MEMBER, 404),
    Endpoint("GET", "/api/containers/listing", Role.MEMBER, 422),
    Endpoint("POST", "/api/operations/run", Role.MANAGER, 422),
    Endpoint("GET", "/api/operations", Role.MEMBER, 200),
    Endpoint("GET", "/api/operations/{operation_id}", Role.MEMBER, 404),
    Endpoint("PUT", "/api/operations/abort/{operation_id}", Role.MANAGER, 404),
    Endpoint("GET", "/api/anomalies/{anomaly_id}/source-record", Role.MEMBER, 404),
    Endpoint("PATCH", "/api/anomalies", Role.MANAGER, 422),
    Endpoint("DELETE", "/api/anomalies", Role.MANAGER, 422),
]
# Served outside the OpenAPI document.
UNDOCUMENTED = {("GET", "/api/openapi.json"), ("GET", "/api/docs")}

# Who calls: no header at all, a token that is not one, then one user of each role.
CALLERS: list[str] = ["anonymous", "garbage token", *(role.value for role in Role)]


@dataclass(frozen=True)
class World:
    client: TestClient
    settings: Settings
    headers: dict[str, dict[str, str]]
    served: set[tuple[str, str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("roles") / "data",
        # No dataplane runs here: let the status probes give up quickly.
        probe_timeout_seconds=0.2,
    )
    headers = {
        "anonymous": {},
        "garbage token": {"Authorization": "Bearer not.a.token"},
        **{role.value: bearer(token_for(settings, f"{role.value}-1", role)) for role in Role},
    }
    with TestClient(create_app(settings)) as client:
        spec = client.get("/api/openapi.json").json()
        served = {
            (method.upper(), path)
            for path, operations in spec["paths"].items()
            for method in operations
            if method in {"get", "put", "post", "delete", "patch"}
        }
        yield World(client, settings, headers, served | UNDOCUMENTED)


def _expected_status(endpoint: Endpoint, caller: str) -> int:
    if endpoint.minimum is None:
        return endpoint.allowed_status
    if caller in ("anonymous", "garbage token"):
        return 401
    return endpoint.allowed_status if Role(caller).allows(endpoint.minimum) else 403


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_role_matrix(world: World, endpoint: Endpoint, caller: str) -> None:
    if (endpoint.method, endpoint.path) not in world.served:
        pytest.skip(f"{endpoint} is not served (yet)")
    response = world.client.request(endpoint.method, endpoint.url, headers=world.headers[caller])
    expected = _expected_status(endpoint, caller)
    assert response.status_code == expected, response.text
    if expected in (401, 403):
        assert response.json() == {
            "status": expected,
            "code": "not_authenticated" if expected == 401 else "forbidden",
            "detail": response.json()["detail"],
        }
        if expected == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.json()["detail"] == f"requires the {endpoint.minimum} role"


def test_every_endpoint_is_in_the_table(world: World) -> None:
    tabled = [(endpoint.method, endpoint.path) for endpoint in ENDPOINTS]
    missing = world.served - set(tabled)
    assert not missing, f"add these to ENDPOINTS with their minimum role: {sorted(missing)}"
    twice = sorted({entry for entry in tabled if tabled.count(entry) > 1})
    assert not twice, f"listed more than once in ENDPOINTS: {twice}"


def test_the_openapi_document_marks_exactly_the_endpoints_that_need_a_token(world: World) -> None:
    # GET /api and GET /api/status check the role in their body and declare it by hand.
    spec = world.client.get("/api/openapi.json").json()
    for endpoint in ENDPOINTS:
        if (endpoint.method, endpoint.path) in UNDOCUMENTED:
            continue
        operation = spec["paths"][endpoint.path][endpoint.method.lower()]
        declared = operation.get("security") == [{"HTTPBearer": []}]
        assert declared == (endpoint.minimum is not None), (
            f"{endpoint}: {operation.get('security')}"
        )


# ---- GET /api ----------------------------------------------------------------------------

PLATFORM_INFO_TYPES: dict[str, type] = {
    "application": str,
    "description": str,
    "version": str,
    "platform": str,
    "engine": str,
    "size": str,
    "jwt_ttl_seconds": int,
}


def test_platform_info_has_exactly_the_seven_documented_fields(world: World) -> None:
    response = world.client.get("/api", headers=world.headers["member"])
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert list(body) == list(PLATFORM_INFO_TYPES)
    for field, kind in PLATFORM_INFO_TYPES.items():
        assert type(body[field]) is kind, field
    assert body["application"] and body["description"]
    assert body["platform"] == "local" and body["engine"] == "local"
    assert body["size"] == size_for_cores(world.settings.driver_cores)
    assert body["jwt_ttl_seconds"] == 3600
    # Every role sees the same body.
    for role in Role:
        assert world.client.get("/api", headers=world.headers[role.value]).json() == body


def test_platform_info_reports_the_configuration(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        platform="gcp", engine="kubernetes", size="xlarge", driver_cores=2, jwt_ttl_seconds=900
    )
    token = token_for(settings, "mia", Role.MEMBER)
    with TestClient(create_app(settings)) as client:
        body = client.get("/api", headers=bearer(token)).json()
    assert {k: body[k] for k in ("platform", "engine", "size", "jwt_ttl_seconds")} == {
        "platform": "gcp",
        "engine": "kubernetes",
        "size": "xlarge",
        "jwt_ttl_seconds": 900,
    }


def _git_version() -> str:
    out = subprocess.run(
        ["git", "log", "-1", "--format=%cs/%h"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.strip()
    date, short_hash = out.split("/")
    return f"{date.replace('-', '')}-{short_hash}"


def test_version_is_the_date_and_hash_of_the_checkout(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    token = token_for(settings, "mia", Role.MEMBER)
    before = _git_version()
    build_info.cache_clear()  # others commit to this checkout while the suite runs
    with TestClient(create_app(settings)) as client:
        version = client.get("/api", headers=bearer(token)).json()["version"]
        assert client.get("/api/openapi.json").json()["info"]["version"] == version
    assert re.fullmatch(r"\d{8}-[0-9a-f]{7,}", version)
    assert version in {before, _git_version()}


@pytest.mark.parametrize(
    ("cores", "size"),
    [
        (1, "small"),
        (4, "small"),
        (5, "medium"),
        (8, "medium"),
        (9, "large"),
        (16, "large"),
        (17, "xlarge"),
        (32, "xlarge"),
        (33, "unspecified"),
        (0, "unspecified"),
        (-1, "unspecified"),
    ],
)
def test_size_for_cores(cores: int, size: str) -> None:
    assert size_for_cores(cores) == size


def test_size_is_derived_from_driver_cores_unless_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DQP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DQP_SIZE", raising=False)
    monkeypatch.setenv("DQP_DRIVER_CORES", "12")
    assert Settings().deployment_size == "large"  # type: ignore[call-arg]
    monkeypatch.setenv("DQP_SIZE", "small")
    assert Settings().deployment_size == "small"  # type: ignore[call-arg]
    monkeypatch.setenv("DQP_SIZE", "huge")
    with pytest.raises(ValidationError):
        Settings()  # type: ignore[call-arg]


def test_platform_info_reports_the_derived_size(make_settings: SettingsFactory) -> None:
    settings = make_settings(driver_cores=6)
    token = token_for(settings, "mia", Role.MEMBER)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api", headers=bearer(token)).json()["size"] == "medium"


# ---- GET /api/health -----------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
def test_health_is_public_and_empty(world: World, caller: str) -> None:
    response = world.client.get("/api/health", headers=world.headers[caller])
    assert response.status_code == 204
    assert response.content == b""


def test_health_touches_no_database(make_settings: SettingsFactory, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings())) as client:
        state = client.app.state.platform  # type: ignore[attr-defined]
        dead = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'gone.db'}")
        state.session_factory.configure(bind=dead)
        state.engine.dispose()
        assert client.get("/api/health").status_code == 204
        dead.dispose()


# ---- every error is a JSON body ----------------------------------------------------------


def _assert_error_body(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize("path", ["/api/no-such-thing", "/nothing-here", "/api/users/me/x"])
def test_unknown_paths_get_a_json_404(world: World, path: str) -> None:
    body = _assert_error_body(world.client.get(path), 404, "not_found")
    assert set(body) == {"status", "code", "detail"}


@pytest.mark.parametrize(("method", "path"), [("POST", "/api"), ("DELETE", "/api/health")])
def test_wrong_methods_get_a_json_405(world: World, method: str, path: str) -> None:
    response = world.client.request(method, path, headers=world.headers["admin"])
    body = _assert_error_body(response, 405, "method_not_allowed")
    assert set(body) == {"status", "code", "detail"}
    assert "GET" in response.headers["allow"]


def test_invalid_input_gets_a_json_422_without_the_values(world: World) -> None:
    password = "s3cret-never-echoed"
    response = world.client.post("/api/auth/login", json={"username": "", "password": password})
    body = _assert_error_body(response, 422, "validation_error")
    assert body["errors"] and all(set(e) == {"loc", "msg", "type"} for e in body["errors"])
    assert ["body", "username"] in [error["loc"] for error in body["errors"]]
    assert password not in response.text


def test_malformed_json_gets_a_json_422(world: World) -> None:
    response = world.client.post(
        "/api/auth/login", content=b"{", headers={"Content-Type": "application/json"}
    )
    _assert_error_body(response, 422, "validation_error")


def test_a_bad_path_parameter_gets_a_json_422(world: World) -> None:
    response = world.client.get("/api/users/not-a-number", headers=world.headers["admin"])
    body = _assert_error_body(response, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["path", "user_id"]
