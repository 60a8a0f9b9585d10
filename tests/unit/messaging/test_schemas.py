"""Message schemas: round trips, discrimination by kind, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dqplatform.messaging.schemas import (
    HealthRequest,
    Request,
    RouteCheckRequest,
    ShutdownCommand,
    encode,
    parse_message,
)


def test_every_message_round_trips_through_json_with_its_kind() -> None:
    messages = [
        HealthRequest(reply_to="q", expires_at=Request.expiry(2)),
        RouteCheckRequest(
            reply_to="q", expires_at=Request.expiry(2), routes=["h:1"], timeout_seconds=1.5
        ),
        ShutdownCommand(requested_by="admin", expires_at=Request.expiry(30)),
    ]
    for message in messages:
        parsed = parse_message(encode(message))
        assert type(parsed) is type(message)
        assert parsed == message


def test_unknown_kind_and_missing_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_message({"kind": "dataplane.selfdestruct"})
    with pytest.raises(ValidationError):
        parse_message({"kind": "dataplane.shutdown"})  # requested_by and expires_at missing


def test_expiry() -> None:
    request = HealthRequest(expires_at=datetime.now(UTC) + timedelta(seconds=1))
    assert not request.expired()
    assert request.expired(datetime.now(UTC) + timedelta(seconds=2))
