"""Publisher and listener on every transport we support: the embedded folder and RabbitMQ."""

from __future__ import annotations

import queue
import time
import uuid

import pytest
from kombu import Queue

from dqplatform.messaging.broker import BrokerUnavailable, connect, open_channels
from dqplatform.messaging.listener import Listener
from dqplatform.messaging.publisher import Publisher
from dqplatform.messaging.schemas import HealthRequest, Request, parse_message
from dqplatform.messaging.topology import CONTROL_QUEUE, control_queue
from dqplatform.settings import Settings
from tests.conftest import SettingsFactory
from tests.services import RABBITMQ_URL

pytestmark = pytest.mark.integration


@pytest.fixture(params=["filesystem", "rabbitmq"])
def broker_settings(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> Settings:
    if request.param == "filesystem":
        return make_settings()
    return make_settings(broker_url=RABBITMQ_URL)


def _listen(settings: Settings, kombu_queue: Queue) -> tuple[Listener, queue.Queue[dict]]:
    received: queue.Queue[dict] = queue.Queue()
    listener = Listener(settings, kombu_queue, received.put, "test-listener")
    listener.start()
    assert listener.ready.wait(10), listener.last_error
    return listener, received


def test_a_published_message_reaches_the_listener(broker_settings: Settings) -> None:
    name = f"dqp.test.{uuid.uuid4().hex}"
    listener, received = _listen(broker_settings, Queue(name, routing_key=name, auto_delete=True))
    publisher = Publisher(broker_settings)
    try:
        sent = HealthRequest(reply_to="nowhere", expires_at=Request.expiry(5))
        publisher.publish(sent, name)
        body = received.get(timeout=20)
        assert parse_message(body) == sent
        assert listener.channels() >= 1
        assert publisher.channels() >= 1
        publisher.check()
    finally:
        listener.stop()
        publisher.close()


def test_a_command_sent_while_no_dataplane_listens_is_dropped_by_rabbitmq(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(broker_url=RABBITMQ_URL)
    publisher = Publisher(settings)
    try:
        publisher.publish(HealthRequest(expires_at=Request.expiry(30)), CONTROL_QUEUE)
    finally:
        publisher.close()
    listener, received = _listen(settings, control_queue())
    try:
        time.sleep(1.0)
        assert received.empty()  # the exclusive queue did not exist: nothing waited for it
    finally:
        listener.stop()


def test_the_control_queue_is_exclusive_on_rabbitmq(make_settings: SettingsFactory) -> None:
    settings = make_settings(broker_url=RABBITMQ_URL)
    first, _ = _listen(settings, control_queue())
    second = Listener(settings, control_queue(), lambda body: None, "second")
    second.start()
    try:
        time.sleep(1.5)
        assert not second.ready.is_set()  # a second dataplane cannot take the queue
        first.stop()
        assert second.ready.wait(10)  # ...until the first one is gone
    finally:
        second.stop()
        first.stop()


def test_an_unreachable_broker_fails_fast_and_clearly(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        broker_url="amqp://guest:secret-pw@127.0.0.1:1//", probe_timeout_seconds=1
    )
    publisher = Publisher(settings)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as raised:
        publisher.check()
    assert time.monotonic() - started < 3
    assert "secret-pw" not in str(raised.value)


def test_open_channels_counts_live_channels(broker_settings: Settings) -> None:
    with connect(broker_settings) as connection:
        connection.ensure_connection(max_retries=1)
        before = open_channels(connection)
        channel = connection.channel()
        assert open_channels(connection) == before + 1
        channel.close()
        assert open_channels(connection) == before
