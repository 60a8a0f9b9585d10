"""One error type and one JSON body shape for every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class PlatformError(Exception):
    """An error with a status code and a message safe to show to the caller."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, status_code: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code

    @property
    def headers(self) -> dict[str, str] | None:
        return None


class NotAuthenticated(PlatformError):
    status_code = 401
    code = "not_authenticated"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(PlatformError):
    status_code = 403
    code = "forbidden"


class NotFound(PlatformError):
    status_code = 404
    code = "not_found"


class Conflict(PlatformError):
    status_code = 409
    code = "conflict"


class ServiceUnavailable(PlatformError):
    """A retryable infrastructure failure (database or broker down)."""

    status_code = 503
    code = "service_unavailable"


def error_body(status_code: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"status": status_code, "code": code, "detail": detail, **extra}


def _json(
    status_code: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _platform_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PlatformError)
    return _json(exc.status_code, error_body(exc.status_code, exc.code, exc.message), exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}.get(
        exc.status_code, "http_error"
    )
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    return _json(exc.status_code, error_body(exc.status_code, code, detail), exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(error.get("loc", ())),
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    # Input values are left out on purpose: they may hold passwords.
    return _json(422, error_body(422, "validation_error", "request is not valid", errors=errors))


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    logger.warning("database error: %s", type(exc).__name__)
    return _json(503, error_body(503, "service_unavailable", "the database is unavailable"))


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return _json(500, error_body(500, "internal_error", "internal server error"))


# What FastAPI documents for a 422 is its own body ({"detail": [...]}); ours is the one shape
# above, with the validation errors under "errors".
_VALIDATION_ERROR_BODY: dict[str, Any] = {
    "title": "HTTPValidationError",
    "description": "The body of every error: status, code, detail; for a 422, the errors.",
    "type": "object",
    "required": ["status", "code", "detail"],
    "properties": {
        "status": {"type": "integer", "title": "Status"},
        "code": {"type": "string", "title": "Code"},
        "detail": {"type": "string", "title": "Detail"},
        "errors": {
            "type": "array",
            "title": "Errors",
            "items": {"$ref": "#/components/schemas/ValidationError"},
        },
    },
}


def _document_error_body(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        document = build()  # cached by FastAPI after the first call
        schemas = document.get("components", {}).get("schemas", {})
        if first and "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = _VALIDATION_ERROR_BODY
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    _document_error_body(app)
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
