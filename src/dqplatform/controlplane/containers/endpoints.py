"""/api/containers: the tables, views and files of datastores, their fields and profiles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from dqplatform.controlplane.auth.dependencies import RequireMember
from dqplatform.controlplane.containers import service
from dqplatform.controlplane.containers.schemas import (
    ContainerField,
    ContainerListed,
    ContainerPage,
    ContainerRead,
)
from dqplatform.controlplane.datastores.service import require_datastore
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.paging import DEFAULT_PAGE_SIZE, MAX_ID, PageNumber, PageSize, offset
from dqplatform.controlplane.profiles import service as profiles
from dqplatform.controlplane.profiles.schemas import FieldProfileRead

router = APIRouter(prefix="/containers", tags=["containers"])

Responses = dict[int | str, dict[str, Any]]
ContainerId = Annotated[int, Path(ge=1, le=MAX_ID)]
_NOT_FOUND: Responses = {404: {"description": "No container with this id."}}


@router.get("", response_model=ContainerPage, summary="List containers")
def list_containers(
    session: SessionDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    datastore: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this datastore's.")
    ] = None,
    name: Annotated[
        str | None, Query(max_length=255, description="Part of the name, any case.")
    ] = None,
) -> ContainerPage:
    """Containers by id, as the latest catalog of their datastore found them."""
    rows = service.list_containers(
        session, offset=offset(page, size), limit=size, datastore_id=datastore, name=name
    )
    return ContainerPage(
        items=[ContainerRead.from_row(row) for row in rows],
        total=service.count_containers(session, datastore_id=datastore, name=name),
        page=page,
        size=size,
    )


@router.get("/listing", response_model=list[ContainerListed], summary="List container names")
def list_container_names(
    session: SessionDep,
    _: RequireMember,
    datastore: Annotated[int, Query(ge=1, le=MAX_ID, description="The datastore's.")],
) -> list[ContainerListed]:
    """Every container of the datastore, unpaged, by name: what a client needs to map the
    names it knows to ids."""
    require_datastore(session, datastore)
    return [
        ContainerListed(
            id=row.id, name=row.name, container_type=row.type, datastore_id=row.datastore_id
        )
        for row in service.list_containers(session, datastore_id=datastore)
    ]


@router.get(
    "/{container_id}", response_model=ContainerRead, summary="Get a container", responses=_NOT_FOUND
)
def get_container(
    container_id: ContainerId, session: SessionDep, _: RequireMember
) -> ContainerRead:
    """The container."""
    return ContainerRead.from_row(service.require_container(session, container_id))


@router.get(
    "/{container_id}/fields",
    response_model=list[ContainerField],
    summary="List a container's fields",
    responses=_NOT_FOUND,
)
def get_fields(
    container_id: ContainerId, session: SessionDep, _: RequireMember
) -> list[ContainerField]:
    """The fields in the container's own order, with their types."""
    row = service.require_container(session, container_id)
    return [ContainerField.model_validate(f) for f in row.fields]


@router.get(
    "/{container_id}/field-profiles",
    response_model=list[FieldProfileRead],
    summary="Get the latest profile of each field",
    responses=_NOT_FOUND,
)
def get_field_profiles(
    container_id: ContainerId, session: SessionDep, _: RequireMember
) -> list[FieldProfileRead]:
    """For each profiled field, its most recently stored profile, by field name."""
    row = service.require_container(session, container_id)
    return [
        FieldProfileRead.model_validate(p)
        for p in profiles.latest_profiles(session, row.datastore_id, row.name)
    ]
