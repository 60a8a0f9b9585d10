"""The typed application state: made whole by the lifespan, read through the aliases, and
importable by every domain without a cycle."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from dqplatform.controlplane import state as state_module
from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.authenticator import Authenticator
from dqplatform.controlplane.auth.directory import UserDirectory
from dqplatform.controlplane.auth.throttle import LoginThrottle
from dqplatform.controlplane.operations.dispatcher import OperationDispatcher
from dqplatform.controlplane.platform.dataplane_client import DataplaneClient
from dqplatform.controlplane.platform.metrics import OperationCounter
from dqplatform.controlplane.platform.status import StatusService
from dqplatform.controlplane.state import (
    AppState,
    DataplaneDep,
    OperationsDep,
    SettingsDep,
    StatusDep,
    TokenRegistryDep,
    UserDirectoryDep,
    app_state,
)
from dqplatform.controlplane.tokens.registry import TokenRegistry
from dqplatform.settings import Settings
from tests.conftest import SettingsFactory

EXPECTED_TYPES = {
    "settings": Settings,
    "users": UserDirectory,
    "tokens": TokenRegistry,
    "authenticator": Authenticator,
    "login_throttle": LoginThrottle,
    "dataplane": DataplaneClient,
    "status": StatusService,
    "operations": OperationDispatcher,
    "operation_counter": OperationCounter,
    "platform_info_json": bytes,
}


def test_the_lifespan_sets_one_state_with_every_part(make_settings: SettingsFactory) -> None:
    settings = make_settings(broker_url="memory://")
    app = create_app(settings)
    with TestClient(app):
        state = app_state(app)
        assert isinstance(state, AppState)
        assert state.settings is settings
        for name, kind in EXPECTED_TYPES.items():
            assert isinstance(getattr(state, name), kind), name
        assert state.engine.url.drivername.startswith("sqlite")
        assert state.session_factory.kw["bind"] is state.engine
        # Every field is checked above (but engine and session_factory, checked by value).
        assert {f.name for f in dataclasses.fields(AppState)} == {
            *EXPECTED_TYPES,
            "engine",
            "session_factory",
        }


def test_the_aliases_hand_endpoints_the_lifespans_objects(make_settings: SettingsFactory) -> None:
    seen: dict[str, object] = {}
    router = APIRouter()

    @router.get("/probe")
    def probe(
        settings: SettingsDep,
        dataplane: DataplaneDep,
        status: StatusDep,
        operations: OperationsDep,
        users: UserDirectoryDep,
        tokens: TokenRegistryDep,
    ) -> None:
        seen.update(
            settings=settings,
            dataplane=dataplane,
            status=status,
            operations=operations,
            users=users,
            tokens=tokens,
        )

    app = create_app(make_settings(broker_url="memory://"))
    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/probe").status_code == 200
        state = app_state(app)
        assert len(seen) == 6
        for name, value in seen.items():
            assert value is getattr(state, name), name


def test_the_state_module_imports_no_domain_at_run_time() -> None:
    # The domains import state.py for its aliases; a run-time import back would be a cycle.
    tree = ast.parse(Path(inspect.getfile(state_module)).read_text())
    imported = []
    for node in tree.body:  # top level only: `if TYPE_CHECKING:` blocks are not run
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
        elif isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
    ours = [name for name in imported if name.startswith("dqplatform")]
    assert ours == ["dqplatform.settings"]
    assert not any(isinstance(node, ast.If) and _runs(node) for node in tree.body)


def _runs(node: ast.If) -> bool:
    # Any top-level `if` other than `if TYPE_CHECKING:` could import at run time.
    return not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")


def test_app_state_of_an_app_that_never_started_is_an_error() -> None:
    with pytest.raises(AttributeError):
        app_state(FastAPI())
