"""Request bodies found invalid after parsing, answered like any other 422.

Some rules need the stored row (a partial update merged with it) or the database (the type
of the connection a datastore names); their failures get the same body as FastAPI's own
validation errors: `errors` with `loc`, `msg` and `type`, never the input values.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")


def invalid_field(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


def from_pydantic(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [
            {"loc": ("body", *error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_input=False, include_url=False)
        ]
    )


def revalidate(schema: type[T] | TypeAdapter[T], values: dict[str, Any]) -> T:
    """`values` validated as `schema` (a model or an adapter), or the 422 its errors make."""
    adapter = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
    try:
        return adapter.validate_python(values)
    except ValidationError as exc:
        raise from_pydantic(exc) from None
