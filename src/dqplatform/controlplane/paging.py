"""Page and size query parameters and the {items, total, page, size} body of list endpoints."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50

PageNumber = Annotated[int, Query(ge=1, le=1_000_000, description="1 is the first page.")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
# Path ids are bounded so that a huge id is a 422, not an integer overflow in the database.
MAX_ID = 2**31 - 1

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


def offset(page: int, size: int) -> int:
    return (page - 1) * size
