"""create_app(settings): the controlplane FastAPI application and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.admin.endpoints import router as admin_router
from dqplatform.controlplane.anomalies.endpoints import router as anomalies_router
from dqplatform.controlplane.auth.authenticator import Authenticator
from dqplatform.controlplane.auth.cli_authorize import router as cli_authorize_router
from dqplatform.controlplane.auth.directory import UserDirectory
from dqplatform.controlplane.auth.login import router as login_router
from dqplatform.controlplane.auth.throttle import LoginThrottle
from dqplatform.controlplane.checks.endpoints import router as quality_checks_router
from dqplatform.controlplane.checks.endpoints import templates_router as check_templates_router
from dqplatform.controlplane.connections.endpoints import router as connections_router
from dqplatform.controlplane.connections.service import private_routes_lister
from dqplatform.controlplane.connections.testing import router as connection_test_router
from dqplatform.controlplane.containers.endpoints import router as containers_router
from dqplatform.controlplane.datastores.endpoints import router as datastores_router
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.db.migrate import upgrade_database
from dqplatform.controlplane.errors import install_error_handlers
from dqplatform.controlplane.limits import install_body_limit
from dqplatform.controlplane.operations import service as operations_service
from dqplatform.controlplane.operations.dispatcher import OperationDispatcher, live_boot_reader
from dqplatform.controlplane.operations.endpoints import router as operations_router
from dqplatform.controlplane.platform.dataplane_client import DataplaneClient
from dqplatform.controlplane.platform.endpoints import router as platform_router
from dqplatform.controlplane.platform.info import platform_info
from dqplatform.controlplane.platform.metrics import OperationCounter, observe_probe
from dqplatform.controlplane.platform.metrics_endpoints import router as metrics_router
from dqplatform.controlplane.platform.status import StatusService
from dqplatform.controlplane.platform.status_endpoints import router as status_router
from dqplatform.controlplane.request_ids import RequestIdMiddleware
from dqplatform.controlplane.secrets_box import SecretsBox
from dqplatform.controlplane.state import AppState
from dqplatform.controlplane.tokens.endpoints import router as user_tokens_router
from dqplatform.controlplane.tokens.registry import TokenRegistry
from dqplatform.controlplane.ui.mount import mount_ui
from dqplatform.controlplane.users.endpoints import router as users_router
from dqplatform.settings import Settings, load_settings

logger = logging.getLogger(__name__)

API_PREFIX = "/api"
# How long shutdown waits for each background task it cancels.
BACKGROUND_STOP_SECONDS = 5.0


def _include_routers(app: FastAPI) -> None:
    """Every domain's router, mounted under /api; the web pages beside them."""
    routers: list[APIRouter] = [
        platform_router,
        status_router,
        metrics_router,
        admin_router,
        login_router,
        cli_authorize_router,
        users_router,
        user_tokens_router,
        connections_router,
        connection_test_router,
        datastores_router,
        containers_router,
        quality_checks_router,
        check_templates_router,
        anomalies_router,
        operations_router,
    ]
    for router in routers:
        _add_api_routes(app, router)
    mount_ui(app)  # the web pages, outside /api


# The settings add_api_route takes, each kept by the route under the same name: read from
# the installed FastAPI rather than copied by hand, so a setting a new release adds is carried
# over (or, if a route stores it differently, start-up fails on the getattr below instead of
# silently dropping it). tests/unit/controlplane/test_api_routes.py holds it to APIRoute.
ROUTE_SETTINGS: tuple[str, ...] = tuple(
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in {"self", "path", "endpoint", "route_class_override"}
)


def _add_api_routes(app: FastAPI, router: APIRouter) -> None:
    """Add each of `router`'s routes to the app's own router, under /api.

    What `app.include_router(router, prefix=API_PREFIX)` serves, routed more cheaply: FastAPI
    keeps an included router as one node that is searched, with its context rebuilt, on every
    request, which cost GET /api about a fifth of its time (docs/performance.md). A router's
    own settings (prefix, tags, dependencies, responses) are already copied into each of its
    routes when the route is declared, so each route is added again with its own settings and
    nothing of the router is lost: the OpenAPI document is the same, and the role matrix test
    checks every endpoint's authentication.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only API routes can be added under {API_PREFIX}")
        settings = {name: getattr(route, name) for name in ROUTE_SETTINGS}
        app.router.add_api_route(
            API_PREFIX + route.path, route.endpoint, route_class_override=type(route), **settings
        )


def _publish_untyped_names(app: FastAPI, state: AppState) -> None:
    """The few `app.state` attributes still read by name, until their readers use AppState.

    Readers outside the typed state (to move onto `controlplane/state.py`): db/session.py
    (session_factory), connections/testing.py (dataplane), platform/metrics.py (status,
    operation_counter), and tests that reload the user directory (users).
    """
    app.state.session_factory = state.session_factory
    app.state.dataplane = state.dataplane
    app.state.status = state.status
    app.state.operation_counter = state.operation_counter
    app.state.users = state.users


def _count_operations(session_factory: sessionmaker[Session]) -> dict[tuple[str, str], int]:
    with session_factory() as session:
        return operations_service.count_operations(session)


def create_app(settings: Settings | None = None, *, freeze_gc_after_start: bool = False) -> FastAPI:
    """The controlplane app. `freeze_gc_after_start` is for a server process that runs one
    app for its whole life (asgi.py): see `_freeze_startup_objects`."""
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(settings)
        await asyncio.to_thread(upgrade_database, engine)
        session_factory = sessionmaker(engine, expire_on_commit=False)
        directory = UserDirectory(session_factory, settings.auth_cache_seconds)
        await asyncio.to_thread(directory.reload)
        refresher = asyncio.create_task(directory.keep_fresh(), name="user-directory")
        # Personal tokens: a snapshot like the user directory's, consulted on every request.
        tokens = TokenRegistry(session_factory, settings.auth_cache_seconds)
        await asyncio.to_thread(tokens.reload)
        authenticator = Authenticator(settings.signing_secret, directory)
        authenticator.add_check(tokens.check)
        tokens_refresher = asyncio.create_task(tokens.keep_fresh(), name="token-registry")
        dataplane = DataplaneClient(settings)
        dataplane.start()
        status = StatusService(
            settings,
            engine,
            dataplane,
            route_lister=private_routes_lister(session_factory),
            on_probe=observe_probe,
        )
        # Give the reply queue a moment so the first status call can reach the dataplane;
        # a broker that is down must not hold the API back.
        await asyncio.to_thread(dataplane.replies.ready.wait, settings.probe_timeout_seconds)
        operations = OperationDispatcher(
            settings, session_factory, dataplane, lambda: SecretsBox.from_settings(settings)
        )
        operations.events.start()
        state = AppState(
            settings=settings,
            engine=engine,
            session_factory=session_factory,
            users=directory,
            tokens=tokens,
            authenticator=authenticator,
            login_throttle=LoginThrottle(engine),
            dataplane=dataplane,
            status=status,
            operations=operations,
            operation_counter=OperationCounter(
                lambda: _count_operations(session_factory), settings.probe_timeout_seconds
            ),
            platform_info_json=platform_info(settings).model_dump_json().encode(),
        )
        app.state.platform = state
        _publish_untyped_names(app, state)
        reconciler = asyncio.create_task(
            operations.keep_reconciling(live_boot_reader(status)), name="operations"
        )
        if freeze_gc_after_start:
            _freeze_startup_objects()
        try:
            yield
        finally:
            await stop_background_task(reconciler)
            await asyncio.to_thread(operations.events.stop)
            status.close()
            await asyncio.to_thread(dataplane.stop)
            await stop_background_task(refresher)
            await stop_background_task(tokens_refresher)
            engine.dispose()

    app = FastAPI(
        title="dqplatform",
        summary="Data quality platform: controlplane API.",
        version=_version(),
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    install_body_limit(app, settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)  # outside the body limit: a 413 carries it too
    _include_routers(app)
    return app


async def stop_background_task(
    task: asyncio.Task[None], deadline: float = BACKGROUND_STOP_SECONDS
) -> bool:
    """Cancel `task` and wait for it to end, for at most `deadline` seconds; True if it did.

    A task that does not end on cancellation (Python 3.11's wait_for can drop one: CI hung
    at shutdown that way) is logged and left behind rather than hold shutdown for ever.
    """
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=deadline)
    if not done:
        logger.warning(
            "background task %s did not stop within %g s; shutting down without it",
            task.get_name(),
            deadline,
        )
        return False
    if not task.cancelled() and task.exception() is not None:
        logger.warning(
            "background task %s had failed: %s", task.get_name(), type(task.exception()).__name__
        )
    return True


def _freeze_startup_objects() -> None:
    """Keep what start-up made (imported modules, the app, its routes and models: some
    150,000 objects) out of every later garbage collection.

    Measured under load (docs/performance.md): a full collection walked all of them and
    stopped the worker for 88-112 ms, every request in flight waiting behind it; that was the
    p99. Those objects live as long as the process, so no collection could free them anyway.
    A reference cycle among them that became garbage later would stay (gc.freeze's trade-off),
    which is why only a server process that runs one app for its whole life asks for it.
    """
    gc.collect()  # what start-up already left behind is freed, not frozen
    gc.freeze()


def _version() -> str:
    from dqplatform.build_info import build_info

    return build_info().platform_version
