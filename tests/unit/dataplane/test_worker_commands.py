"""The dataplane's handling of control messages, without starting Spark or a broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dqplatform.dataplane.worker import Dataplane
from dqplatform.messaging.schemas import (
    HealthRequest,
    Request,
    ShutdownCommand,
    encode,
)
from tests.conftest import SettingsFactory


def _shutdown(issued_at: datetime, expires_in: float = 30) -> dict[str, object]:
    command = ShutdownCommand(
        requested_by="admin",
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=expires_in),
    )
    return encode(command)


def test_a_shutdown_issued_before_this_dataplane_started_is_ignored(
    make_settings: SettingsFactory,
) -> None:
    dataplane = Dataplane(make_settings())
    dataplane._on_control(_shutdown(dataplane.started_at - timedelta(milliseconds=1)))
    assert not dataplane._stop_requested.is_set()


def test_a_fresh_shutdown_stops_the_dataplane(make_settings: SettingsFactory) -> None:
    dataplane = Dataplane(make_settings())
    dataplane._on_control(_shutdown(datetime.now(UTC)))
    assert dataplane._stop_requested.is_set()
    assert "from admin" in dataplane.stop_reason


def test_an_expired_shutdown_is_ignored(make_settings: SettingsFactory) -> None:
    dataplane = Dataplane(make_settings())
    dataplane._on_control(_shutdown(datetime.now(UTC), expires_in=-1))
    assert not dataplane._stop_requested.is_set()


def test_garbage_and_expired_requests_are_dropped_without_harm(
    make_settings: SettingsFactory,
) -> None:
    dataplane = Dataplane(make_settings())
    dataplane._on_control({"kind": "nonsense"})
    dataplane._on_control({"not": "a message"})
    expired = HealthRequest(reply_to="q", expires_at=Request.expiry(-1))
    dataplane._on_control(encode(expired))  # would need Spark if it were answered
    assert not dataplane._stop_requested.is_set()
