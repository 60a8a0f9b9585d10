"""create_app(settings): the controlplane FastAPI application and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.orm import sessionmaker

from dqplatform.controlplane.admin.endpoints import router as admin_router
from dqplatform.controlplane.anomalies.endpoints import router as anomalies_router
from dqplatform.controlplane.auth.authenticator import Authenticator
from dqplatform.controlplane.auth.cli_authorize import router as cli_authorize_router
from dqplatform.controlplane.auth.directory import UserDirectory
from dqplatform.controlplane.auth.login import router as login_router
from dqplatform.controlplane.checks.endpoints import router as quality_checks_router
from dqplatform.controlplane.connections.endpoints import router as connections_router
from dqplatform.controlplane.connections.service import private_routes_lister
from dqplatform.controlplane.connections.testing import router as connection_test_router
from dqplatform.controlplane.containers.endpoints import router as containers_router
from dqplatform.controlplane.datastores.endpoints import router as datastores_router
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.db.migrate import upgrade_database
from dqplatform.controlplane.errors import install_error_handlers
from dqplatform.controlplane.limits import install_body_limit
from dqplatform.controlplane.operations.dispatcher import OperationDispatcher, live_boot_reader
from dqplatform.controlplane.operations.endpoints import router as operations_router
from dqplatform.controlplane.platform.dataplane_client import DataplaneClient
from dqplatform.controlplane.platform.endpoints import router as platform_router
from dqplatform.controlplane.platform.info import platform_info
from dqplatform.controlplane.platform.metrics_endpoints import router as metrics_router
from dqplatform.controlplane.platform.status import StatusService
from dqplatform.controlplane.platform.status_endpoints import router as status_router
from dqplatform.controlplane.secrets_box import SecretsBox
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
        anomalies_router,
        operations_router,
    ]
    for router in routers:
        _add_api_routes(app, router)
    mount_ui(app)  # the web pages, outside /api


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
        app.router.add_api_route(
            API_PREFIX + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            route_class_override=type(route),
        )


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
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = session_factory
        app.state.users = directory
        app.state.authenticator = Authenticator(settings.signing_secret, directory)
        app.state.platform_info_json = platform_info(settings).model_dump_json().encode()
        refresher = asyncio.create_task(directory.keep_fresh(), name="user-directory")
        # Personal tokens: a snapshot like the user directory's, consulted on every request.
        tokens = TokenRegistry(session_factory, settings.auth_cache_seconds)
        await asyncio.to_thread(tokens.reload)
        app.state.tokens = tokens
        app.state.authenticator.add_check(tokens.check)
        tokens_refresher = asyncio.create_task(tokens.keep_fresh(), name="token-registry")
        dataplane = DataplaneClient(settings)
        dataplane.start()
        app.state.dataplane = dataplane
        app.state.status = StatusService(
            settings, engine, dataplane, route_lister=private_routes_lister(session_factory)
        )
        # Give the reply queue a moment so the first status call can reach the dataplane;
        # a broker that is down must not hold the API back.
        await asyncio.to_thread(dataplane.replies.ready.wait, settings.probe_timeout_seconds)
        operations = OperationDispatcher(
            settings, session_factory, dataplane, lambda: SecretsBox.from_settings(settings)
        )
        operations.events.start()
        app.state.operations = operations
        reconciler = asyncio.create_task(
            operations.keep_reconciling(live_boot_reader(app.state.status)), name="operations"
        )
        if freeze_gc_after_start:
            _freeze_startup_objects()
        try:
            yield
        finally:
            await stop_background_task(reconciler)
            await asyncio.to_thread(operations.events.stop)
            app.state.status.close()
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
