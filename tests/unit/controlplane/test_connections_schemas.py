"""Validation of connection bodies: hosts, ports, passwords, parameters, partial updates."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dqplatform.controlplane.connections.schemas import (
    ConnectionCreate,
    ConnectionUpdate,
    normalize_host,
)
from dqplatform.controlplane.connections.service import route_of


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("DB.Example.COM", "db.example.com"),
        ("  db  ", "db"),
        ("my_db-1", "my_db-1"),
        ("10.0.0.1", "10.0.0.1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("[::1]", "::1"),
        ("a" * 63 + "." + "b" * 63, "a" * 63 + "." + "b" * 63),
    ],
)
def test_good_hosts_are_normalised(given: str, stored: str) -> None:
    assert normalize_host(given) == stored


@pytest.mark.parametrize(
    "host",
    [
        "",
        "has space",
        "a..b",
        ".leading",
        "-dash.example.com",
        "x" * 64,  # one label over 63
        ".".join(["abcdefghi"] * 26),  # 259 characters
        "256.1.1.1",
        "1.2.3",
        "db:5432",
        "db/path",
        "[::1",
        "ünïcode.example.com",
    ],
)
def test_bad_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError):
        normalize_host(host)


def test_routes_bracket_ipv6_only() -> None:
    assert route_of("db.internal", 5432) == "db.internal:5432"
    assert route_of("10.1.2.3", 3306) == "10.1.2.3:3306"
    assert route_of("fe80::1", 5432) == "[fe80::1]:5432"


def errors(model: type[Any], body: dict[str, Any]) -> list[tuple[str, ...]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return [tuple(str(part) for part in error["loc"]) for error in caught.value.errors()]


def test_create_defaults_and_refusals() -> None:
    made = ConnectionCreate.model_validate({"type": "mysql", "name": " n ", "host": "h"})
    assert (made.name, made.port, made.private, made.parameters) == ("n", None, False, {})
    assert made.password is None
    secret = ConnectionCreate.model_validate(
        {"type": "mysql", "name": "n", "host": "h", "password": "pw"}
    )
    assert "pw" not in repr(secret)
    base = {"type": "mysql", "name": "n", "host": "h"}
    assert errors(ConnectionCreate, {**base, "password": "********"}) == [("password",)]
    assert errors(ConnectionCreate, {**base, "port": 3306.0}) == [("port",)]
    assert errors(ConnectionCreate, {**base, "private": 1}) == [("private",)]
    assert errors(ConnectionCreate, {**base, "parameters": {"k": [1]}})[0][:2] == (
        "parameters",
        "k",
    )
    assert errors(ConnectionCreate, {**base, "parameters": {"k": "v" * 1001}})[0][:2] == (
        "parameters",
        "k",
    )


def test_update_tells_omitted_from_null() -> None:
    assert ConnectionUpdate.model_validate({}).changes() == {}
    keep = ConnectionUpdate.model_validate({"port": 1})
    assert keep.changes() == {"port": 1} and "password" not in keep.model_fields_set
    clear = ConnectionUpdate.model_validate({"password": None, "username": None})
    assert clear.changes() == {"username": None}
    assert "password" in clear.model_fields_set
    for field in ("type", "name", "host", "port", "parameters", "private"):
        assert errors(ConnectionUpdate, {field: None}) == [()], field
