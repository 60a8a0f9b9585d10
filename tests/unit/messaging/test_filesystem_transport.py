"""The embedded broker's transport: a message is never seen half-written, taken once, in order."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from queue import Empty
from typing import Any

import pytest

from dqplatform.messaging import filesystem
from dqplatform.messaging.broker import connect, filesystem_folders
from dqplatform.settings import Settings

QUEUE = "dqp.work"


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, broker_url="filesystem://")  # type: ignore[call-arg]


def test_a_consumer_looking_while_a_message_is_written_sees_nothing_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kombu's own transport shows the file empty at this moment: the consumer then fails on
    it (JSONDecodeError) and the message is gone."""
    settings = _settings(tmp_path)
    seen: list[Any] = []
    with connect(settings) as producer, connect(settings) as consumer:
        reader = consumer.default_channel
        real_dumps = filesystem.dumps

        def dumps_while_a_consumer_looks(payload: Any) -> str:
            try:
                seen.append(reader._get(QUEUE))
            except Empty:
                seen.append("nothing")
            return str(real_dumps(payload))

        monkeypatch.setattr(filesystem, "dumps", dumps_while_a_consumer_looks)
        producer.default_channel._put(QUEUE, {"n": 1})
        monkeypatch.undo()
        assert seen == ["nothing"]
        assert reader._get(QUEUE) == {"n": 1}
        with pytest.raises(Empty):
            reader._get(QUEUE)


def test_messages_come_out_in_the_order_they_went_in(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with connect(settings) as connection:
        channel = connection.default_channel
        for n in range(30):
            channel._put(QUEUE, {"n": n})
        assert [channel._get(QUEUE)["n"] for _ in range(30)] == list(range(30))
        # Claimed messages are removed once read: nothing piles up in the processed folder.
        assert os.listdir(filesystem_folders(settings)["processed_folder"]) == []


def test_a_message_that_cannot_be_written_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    with connect(settings) as connection:
        channel = connection.default_channel
        queue_folder = filesystem_folders(settings)["data_folder_in"]

        def disk_full(*args: Any, **kwargs: Any) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(filesystem.os, "rename", disk_full)
        with pytest.raises(Exception, match="No space left on device"):
            channel._put(QUEUE, {"n": 1})
        assert os.listdir(queue_folder) == []


def _produce(settings: Settings, count: int) -> None:
    with connect(settings) as connection:
        channel = connection.default_channel
        for n in range(count):
            channel._put(QUEUE, {"n": n, "padding": "x" * 20_000})


def _consume(settings: Settings, count: int, results: Any) -> None:
    received: list[int] = []
    errors: list[str] = []
    give_up = time.monotonic() + 120
    with connect(settings) as connection:
        channel = connection.default_channel
        while len(received) < count and time.monotonic() < give_up:
            try:
                received.append(channel._get(QUEUE)["n"])
            except Empty:
                continue
            except Exception as exc:
                errors.append(repr(exc))
    results.put((received, errors))


def test_two_processes_lose_nothing(tmp_path: Path) -> None:
    """The race kombu's own transport loses a message to (about 1 in 3,000 here)."""
    settings = _settings(tmp_path)
    count = 3_000
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    consumers = [
        context.Process(target=_consume, args=(settings, count // 2, results)) for _ in range(2)
    ]
    for consumer in consumers:
        consumer.start()
    producer = context.Process(target=_produce, args=(settings, count))
    producer.start()
    producer.join(120)
    outcomes = [results.get(timeout=150) for _ in consumers]
    for consumer in consumers:
        consumer.join(10)
    received = [n for got, _ in outcomes for n in got]
    errors = [error for _, found in outcomes for error in found]
    assert errors == []
    assert sorted(received) == list(range(count))  # each once, none lost
