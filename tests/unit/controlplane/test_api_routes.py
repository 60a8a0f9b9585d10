"""`_add_api_routes` against the installed FastAPI: the settings it carries over from each
route are exactly the ones a route takes, and the result serves what include_router does."""

from __future__ import annotations

import inspect

from fastapi import APIRouter, Depends, FastAPI, Header
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from dqplatform.controlplane.app import API_PREFIX, ROUTE_SETTINGS, _add_api_routes

# What a route is given other than its settings: where it is, what it runs, and (from the
# router that adds it) how dependency overrides are found.
NOT_SETTINGS = {"self", "path", "endpoint", "dependency_overrides_provider"}


def test_the_copied_settings_are_what_the_installed_route_takes() -> None:
    route_parameters = set(inspect.signature(APIRoute.__init__).parameters)
    assert set(ROUTE_SETTINGS) == route_parameters - NOT_SETTINGS
    # And each is kept by a route under its own name (what _add_api_routes reads back).
    route = APIRoute("/x", lambda: None)
    assert [name for name in ROUTE_SETTINGS if not hasattr(route, name)] == []


class Item(BaseModel):
    id: int
    note: str | None = None


def _token(x_token: str = Header()) -> str:
    return x_token


def _router() -> APIRouter:
    """A router using every kind of setting a domain's router does, and then some."""
    router = APIRouter(
        prefix="/items",
        tags=["items"],
        dependencies=[Depends(_token)],
        responses={404: {"description": "No such item."}},
    )

    @router.get(
        "/{item_id}",
        response_model=Item,
        response_model_exclude_none=True,
        summary="Get an item",
        operation_id="get_item",
        openapi_extra={"x-extra": True},
    )
    def get_item(item_id: int) -> Item:
        """An item."""
        return Item(id=item_id)

    @router.put("/{item_id}", status_code=202, deprecated=True, include_in_schema=False)
    def put_item(item_id: int, body: Item) -> Item:
        return body

    return router


def _included() -> FastAPI:
    app = FastAPI()
    app.include_router(_router(), prefix=API_PREFIX)
    return app


def _flattened() -> FastAPI:
    app = FastAPI()
    _add_api_routes(app, _router())
    return app


def test_flattened_routes_document_and_serve_what_include_router_does() -> None:
    included, flattened = _included(), _flattened()
    assert flattened.openapi() == included.openapi()
    for app in (included, flattened):
        client = TestClient(app)
        assert client.get(f"{API_PREFIX}/items/7", headers={"x-token": "t"}).json() == {"id": 7}
        # The router's dependency came along: without its header, a 422.
        assert client.get(f"{API_PREFIX}/items/7").status_code == 422
        put = client.put(f"{API_PREFIX}/items/7", json={"id": 7}, headers={"x-token": "t"})
        assert put.status_code == 202


def _resolved(value: object) -> object:
    # A setting the route left to its router (strict_content_type) is that router's default
    # until the route is added; the app's router resolves it the same way.
    return value.value if isinstance(value, DefaultPlaceholder) else value


def test_every_setting_of_a_route_survives_flattening() -> None:
    def settings(routes: list[object], prefix: str) -> list[dict[str, object]]:
        api_routes = [r for r in routes if isinstance(r, APIRoute)]
        return [
            {
                "path": r.path.removeprefix(prefix),
                "class": type(r),
                **{name: repr(_resolved(getattr(r, name))) for name in ROUTE_SETTINGS},
            }
            for r in api_routes
            if r.path.startswith(prefix)
        ]

    declared = settings(list(_router().routes), "")
    assert len(declared) == 2
    assert settings(list(_flattened().router.routes), API_PREFIX) == declared
