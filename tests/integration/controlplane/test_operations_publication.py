"""An operation's run request is sent by one controlplane process, once, on SQLite and
PostgreSQL: a claim in the database, a lease that runs out, a release when sending fails."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.datastores import service as datastores
from dqplatform.controlplane.datastores.schemas import DatastoreCreate
from dqplatform.controlplane.operations import publication, service
from dqplatform.controlplane.operations.dispatcher import OperationDispatcher
from dqplatform.controlplane.operations.schemas import OperationRun
from dqplatform.controlplane.secrets_box import SecretsBox
from dqplatform.messaging.operations import OperationEvent, RunOperation
from dqplatform.settings import Settings

pytestmark = pytest.mark.integration

LEASE = timedelta(seconds=publication.PUBLISH_LEASE_SECONDS)


@pytest.fixture
def operation_id(engine: Engine, tmp_path: Any) -> int:
    with Session(engine) as session, session.begin():
        datastore = datastores.create_datastore(
            session,
            DatastoreCreate(name="files", kind="files", path=str(tmp_path), file_format="csv"),  # type: ignore[arg-type]
        )
        run = OperationRun(type="profile", datastore_id=datastore.id)  # type: ignore[arg-type]
        return service.create_operation(session, run, "manager").id


def _claim(engine: Engine, operation_id: int, now: datetime | None = None) -> bool:
    with Session(engine) as session, session.begin():
        return publication.claim(session, operation_id, now=now)


def _unpublished(engine: Engine, now: datetime | None = None) -> list[int]:
    with Session(engine) as session:
        return publication.unpublished(session, now=now)


def test_one_claim_at_a_time_until_its_lease_runs_out(engine: Engine, operation_id: int) -> None:
    assert _unpublished(engine) == [operation_id]
    assert _claim(engine, operation_id)
    # Another process finds nothing to send and cannot claim it.
    assert _unpublished(engine) == []
    assert not _claim(engine, operation_id)
    # The claimant died before sending: once its lease is over, another one sends it.
    later = datetime.now(UTC) + LEASE + timedelta(seconds=1)
    assert _unpublished(engine, now=later) == [operation_id]
    assert _claim(engine, operation_id, now=later)


def test_a_sent_request_is_never_claimed_again(engine: Engine, operation_id: int) -> None:
    assert _claim(engine, operation_id)
    with Session(engine) as session, session.begin():
        publication.mark_sent(session, operation_id, attempt=1)
    much_later = datetime.now(UTC) + 10 * LEASE
    assert _unpublished(engine, now=much_later) == []
    assert not _claim(engine, operation_id, now=much_later)


def test_a_failed_send_gives_the_claim_back_at_once(engine: Engine, operation_id: int) -> None:
    assert _claim(engine, operation_id)
    with Session(engine) as session, session.begin():
        publication.release(session, operation_id, attempt=1)
    assert _unpublished(engine) == [operation_id]
    assert _claim(engine, operation_id)


def test_a_new_attempt_of_an_orphan_is_sent_again(engine: Engine, operation_id: int) -> None:
    assert _claim(engine, operation_id)
    with Session(engine) as session, session.begin():
        publication.mark_sent(session, operation_id, attempt=1)
    event = OperationEvent(operation_id=operation_id, attempt=1, boot_id="boot-a", event="started")  # type: ignore[call-arg]
    with Session(engine) as session, session.begin():
        service.apply_event(session, event)
    with Session(engine) as session, session.begin():
        (orphan,) = service.orphaned(session, live_boot_id="boot-b")
        assert service.start_new_attempt(session, orphan)
    assert _unpublished(engine) == [operation_id]
    assert _claim(engine, operation_id)


class _SlowPublisher:
    """Records what it is given; the first send waits until released (the race's window)."""

    def __init__(self) -> None:
        self.sent: list[RunOperation] = []
        self.sending = threading.Event()
        self.release = threading.Event()

    def publish(self, message: RunOperation, *_: Any, **__: Any) -> None:
        self.sending.set()
        assert self.release.wait(10), "the test never released the send"
        self.sent.append(message)


class _Client:
    def __init__(self) -> None:
        self.publisher = _SlowPublisher()


def test_a_reconcile_while_the_endpoint_sends_does_not_send_it_twice(
    settings: Settings, engine: Engine, operation_id: int
) -> None:
    """CI: the endpoint's send and a reconcile crossed, and a second copy of the operation
    waited on the broker behind the first."""
    client = _Client()
    sessions = sessionmaker(engine, expire_on_commit=False)
    dispatchers = [
        OperationDispatcher(
            settings,
            sessions,
            client,  # type: ignore[arg-type]
            lambda: SecretsBox.from_settings(settings),
        )
        for _ in range(2)  # two controlplane processes
    ]
    sender = threading.Thread(target=dispatchers[0].publish, args=(operation_id,))
    sender.start()
    try:
        assert client.publisher.sending.wait(10)
        dispatchers[1].reconcile()  # finds it mid-send: leaves it alone
    finally:
        client.publisher.release.set()
        sender.join(10)
    assert [message.operation_id for message in client.publisher.sent] == [operation_id]
    dispatchers[1].reconcile()  # and after the send, too
    assert len(client.publisher.sent) == 1
