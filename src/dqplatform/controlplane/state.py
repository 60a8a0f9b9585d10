"""The application's long-lived objects, made once by the lifespan, and their dependencies.

The lifespan builds one `AppState` and sets it as `app.state.platform`; endpoints ask for
its parts through the `Annotated` aliases below (`SettingsDep`, `DataplaneDep`, ...) rather
than reading `request.app.state` attributes nobody types. The domain classes are imported
for type checking only: the domains import this module for the aliases, so importing them
back at run time would make cycles (the dispatcher alone pulls in checks and datastores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.settings import Settings

if TYPE_CHECKING:
    from dqplatform.controlplane.auth.authenticator import Authenticator
    from dqplatform.controlplane.auth.directory import UserDirectory
    from dqplatform.controlplane.auth.throttle import LoginThrottle
    from dqplatform.controlplane.operations.dispatcher import OperationDispatcher
    from dqplatform.controlplane.platform.dataplane_client import DataplaneClient
    from dqplatform.controlplane.platform.metrics import OperationCounter
    from dqplatform.controlplane.platform.status import StatusService
    from dqplatform.controlplane.tokens.registry import TokenRegistry


@dataclass(slots=True)
class AppState:
    """Everything the lifespan made; one owner (the lifespan), every endpoint a reader.

    Not frozen only so that a test can put a part out of order (a throttle or a session
    factory bound to an unreachable database) and put it back; the platform never does.
    """

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    users: UserDirectory
    tokens: TokenRegistry
    authenticator: Authenticator
    login_throttle: LoginThrottle
    dataplane: DataplaneClient
    status: StatusService
    operations: OperationDispatcher
    operation_counter: OperationCounter
    # GET /api's body, encoded once: it only changes with a new release.
    platform_info_json: bytes


def app_state(app: FastAPI) -> AppState:
    """The state the lifespan set on `app`; for code that is handed the app, not a request."""
    state: AppState = app.state.platform
    return state


def request_state(request: Request) -> AppState:
    """The state of the app serving `request`: what every alias below reads."""
    state: AppState = request.app.state.platform
    return state


def get_settings(request: Request) -> Settings:
    return request_state(request).settings


def get_engine(request: Request) -> Engine:
    return request_state(request).engine


def get_session_factory(request: Request) -> sessionmaker[Session]:
    return request_state(request).session_factory


def get_users(request: Request) -> UserDirectory:
    return request_state(request).users


def get_tokens(request: Request) -> TokenRegistry:
    return request_state(request).tokens


def get_dataplane(request: Request) -> DataplaneClient:
    return request_state(request).dataplane


def get_status(request: Request) -> StatusService:
    return request_state(request).status


def get_operations(request: Request) -> OperationDispatcher:
    return request_state(request).operations


# FastAPI reads a dependency parameter's type only to spot Request-like parameters, so the
# forward references below (resolved by mypy, never at run time) are enough.
AppStateDep = Annotated[AppState, Depends(request_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
UserDirectoryDep = Annotated["UserDirectory", Depends(get_users)]
TokenRegistryDep = Annotated["TokenRegistry", Depends(get_tokens)]
DataplaneDep = Annotated["DataplaneClient", Depends(get_dataplane)]
StatusDep = Annotated["StatusService", Depends(get_status)]
OperationsDep = Annotated["OperationDispatcher", Depends(get_operations)]
