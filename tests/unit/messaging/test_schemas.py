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


def test_connection_test_messages_are_known_kinds() -> None:
    from pydantic import SecretStr

    from dqplatform.messaging.schemas import ConnectionTestReply, ConnectionTestRequest

    request = ConnectionTestRequest(
        reply_to="q",
        expires_at=Request.expiry(5),
        type="postgresql",
        host="h",
        port=1,
        password=SecretStr("pw"),
        timeout_seconds=3,
    )
    parsed = parse_message(encode(request))
    assert isinstance(parsed, ConnectionTestRequest)
    assert parsed.password is not None and parsed.password.get_secret_value() == "pw"
    reply = ConnectionTestReply(in_reply_to=request.id, ok=False, message="no", latency_ms=1.0)
    assert parse_message(encode(reply)) == reply
