"""The common alternative: fastapi-healthz checking the same PostgreSQL and RabbitMQ.

Configured from BENCH_HEALTHZ_DATABASE_URL and BENCH_HEALTHZ_AMQP_URL, and served by uvicorn
exactly as the platform is, so that the comparison is of the endpoints and nothing else.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from fastapi import FastAPI
from fastapi_healthz import (
    HealthCheckDatabase,
    HealthCheckRabbitMQ,
    HealthCheckRegistry,
    health_check_route,
)


def _rabbitmq(url: str) -> HealthCheckRabbitMQ:
    parts = urlsplit(url)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return HealthCheckRabbitMQ(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5672,
        vhost=vhost,
        username=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        ssl=parts.scheme == "amqps",
    )


def create_app() -> FastAPI:
    registry = HealthCheckRegistry()
    registry.add(HealthCheckDatabase(uri=os.environ["BENCH_HEALTHZ_DATABASE_URL"]))
    registry.add(_rabbitmq(os.environ["BENCH_HEALTHZ_AMQP_URL"]))
    app = FastAPI()
    # The way the package's README mounts it.
    app.add_api_route("/health", endpoint=health_check_route(registry=registry))
    return app


app = create_app()
