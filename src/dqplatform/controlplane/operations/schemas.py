"""Request and response bodies of /api/operations (compatible with the public qualytics-cli)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
)

from dqplatform.controlplane.operations.models import OperationState
from dqplatform.controlplane.operations.options import ClientOptions
from dqplatform.controlplane.paging import Page
from dqplatform.messaging.operations import OperationType

# What the public client calls a catalog operation.
CATALOG_ALIAS = "sync"


def catalog_alias(value: object) -> object:
    """The one place "sync" becomes "catalog": in run requests and in the list's filter."""
    return OperationType.CATALOG.value if value == CATALOG_ALIAS else value


REQUESTABLE = ("catalog", CATALOG_ALIAS, "profile", "scan")


def requested_type(value: object) -> object:
    """A run request's type, the alias read as a catalog. Anything else is refused naming
    the alias too: the client's users know the catalog as `sync`."""
    if value not in REQUESTABLE:
        listed = ", ".join(repr(kind) for kind in REQUESTABLE[:-1])
        raise ValueError(f"Input should be {listed} or {REQUESTABLE[-1]!r}")
    return catalog_alias(value)


# A run request's type: the alias is read as a catalog, and documented as accepted.
RequestedType = Annotated[
    OperationType,
    BeforeValidator(
        requested_type, json_schema_input_type=Literal["catalog", "sync", "profile", "scan"]
    ),
]
# A type in GET /api/operations?operation_type=: any text (an unknown type matches nothing),
# the alias read as a catalog.
TypeFilter = Annotated[str, AfterValidator(catalog_alias)]


class OperationRun(ClientOptions):
    """A run request; the options of qualytics-cli are accepted (see ClientOptions)."""

    model_config = ConfigDict(extra="forbid")

    type: RequestedType = Field(description="catalog (alias: sync), profile or scan.")
    datastore_id: int = Field(ge=1, le=2**31 - 1)
    container_names: list[str] | None = Field(
        default=None, max_length=1000, description="Tables or files to include; all if absent."
    )


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_or_datetime(value: object) -> date | datetime:
    # A day alone ("2024-05-31", what qualytics-cli sends) must stay a day, so that the
    # end of a range can take the whole of it; anything else is read as a date and time.
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_ONLY.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a valid date (YYYY-MM-DD)") from None
    if not isinstance(value, str):
        raise ValueError("must be a date (YYYY-MM-DD) or an ISO 8601 date and time")
    try:
        # fromisoformat, not pydantic's lax parsing, which reads "3263" as a Unix time: the
        # documented formats are ISO 8601 only (schemathesis sent end_date=3263 and got a 200).
        moment = datetime.fromisoformat(value)
        # In UTC here, so that an offset at the end of the calendar is a 422, not a 500.
        return moment.astimezone(UTC) if moment.tzinfo else moment
    except (ValueError, OverflowError):
        raise ValueError("must be a date (YYYY-MM-DD) or an ISO 8601 date and time") from None


DateBound = Annotated[
    date | datetime,
    PlainValidator(_date_or_datetime, json_schema_input_type=date | datetime),
    Field(description="A day (YYYY-MM-DD) or a date and time; UTC unless it has an offset."),
]


def lower_bound(value: date | datetime | None) -> datetime | None:
    """The first instant a range starting at `value` includes."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time.min, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upper_bound(value: date | datetime | None) -> datetime | None:
    """The last instant a range ending at `value` includes: a day ends at its last instant."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time.max, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class OperationStatus(BaseModel):
    total_containers: int | None
    containers_analyzed: int
    records_processed: int


class OperationRead(BaseModel):
    id: int
    type: OperationType
    datastore_id: int
    container_names: list[str] | None
    result: OperationState
    message: str | None
    start_time: datetime | None
    end_time: datetime | None
    created_at: datetime
    created_by: str
    attempt: int = Field(description="Deliveries so far; above 1 when a dataplane was lost.")
    status: OperationStatus
    options: dict[str, Any]


class OperationPage(Page[OperationRead]):
    pass
