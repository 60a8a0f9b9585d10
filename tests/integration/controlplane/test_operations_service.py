"""The operation lifecycle in the database, on SQLite and PostgreSQL: events, attempts,
exactly-once results, orphans of a lost dataplane, abort."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dqplatform.controlplane.datastores import service as datastores
from dqplatform.controlplane.datastores.schemas import DatastoreCreate
from dqplatform.controlplane.operations import service
from dqplatform.controlplane.operations.schemas import OperationRun
from dqplatform.messaging.operations import CatalogResult, OperationEvent, Progress

pytestmark = pytest.mark.integration


@pytest.fixture
def datastore_id(engine: Engine) -> int:
    with Session(engine) as session, session.begin():
        row = datastores.create_datastore(
            session,
            DatastoreCreate(name="files", kind="files", path="/data", file_format="csv"),  # type: ignore[arg-type]
        )
        return row.id


def _create(engine: Engine, datastore_id: int, kind: str = "profile") -> int:
    with Session(engine) as session, session.begin():
        run = OperationRun(type=kind, datastore_id=datastore_id)  # type: ignore[arg-type]
        return service.create_operation(session, run, "manager").id


def _event(
    operation_id: int, kind: str, attempt: int = 1, boot: str = "boot-a", **fields: object
) -> OperationEvent:
    return OperationEvent(
        operation_id=operation_id, attempt=attempt, boot_id=boot, event=kind, **fields
    )  # type: ignore[arg-type]


def _apply(engine: Engine, event: OperationEvent) -> bool:
    with Session(engine) as session, session.begin():
        return service.apply_event(session, event) is not None


def _read(engine: Engine, operation_id: int, live: str | None = "boot-a") -> dict[str, object]:
    with Session(engine) as session:
        return service.to_read(service.require_operation(session, operation_id), live).model_dump()


def test_sync_is_a_catalog_and_options_are_recorded(engine: Engine, datastore_id: int) -> None:
    with Session(engine) as session, session.begin():
        run = OperationRun(type="sync", datastore_id=datastore_id, prune=False, include=["table"])
        operation = service.create_operation(session, run, "manager")
        assert operation.type == "catalog"
        assert operation.options == {"include": ["table"], "prune": False}


def test_the_lifecycle_and_a_result_recorded_once(engine: Engine, datastore_id: int) -> None:
    operation_id = _create(engine, datastore_id)
    assert _read(engine, operation_id)["result"] == "queued"
    assert _apply(engine, _event(operation_id, "started"))
    assert _read(engine, operation_id)["result"] == "running"
    assert _apply(
        engine,
        _event(
            operation_id,
            "progress",
            progress=Progress(total_containers=3, containers_analyzed=1, records_processed=10),
        ),
    )
    body = _read(engine, operation_id)
    assert body["status"] == {
        "total_containers": 3,
        "containers_analyzed": 1,
        "records_processed": 10,
    }
    # A late progress event never moves the counters back.
    assert _apply(engine, _event(operation_id, "progress", progress=Progress()))
    assert _read(engine, operation_id)["status"]["records_processed"] == 10  # type: ignore[index]
    finished = _event(
        operation_id,
        "finished",
        result="success",
        progress=Progress(total_containers=3, containers_analyzed=3, records_processed=30),
        output=CatalogResult(containers=[]),
    )
    assert _apply(engine, finished)
    body = _read(engine, operation_id)
    assert body["result"] == "success" and body["end_time"] is not None
    # The same result delivered again, or another one, changes nothing.
    assert not _apply(engine, finished)
    assert not _apply(engine, _event(operation_id, "finished", result="failure", message="x"))
    assert _read(engine, operation_id)["result"] == "success"


def test_events_of_an_old_attempt_are_ignored(engine: Engine, datastore_id: int) -> None:
    operation_id = _create(engine, datastore_id)
    assert _apply(engine, _event(operation_id, "started", boot="boot-a"))
    with Session(engine) as session, session.begin():
        orphans = service.orphaned(session, live_boot_id="boot-b")
        assert [o.id for o in orphans] == [operation_id]
        assert service.start_new_attempt(session, orphans[0])
    with Session(engine) as session, session.begin():
        # A second controlplane reconciling the same orphan loses the race.
        stale = service.require_operation(session, operation_id)
        stale.attempt = 1  # as it read it before the first one's update
        session.expunge(stale)
        assert not service.start_new_attempt(session, stale)
    body = _read(engine, operation_id, live="boot-b")
    assert (body["attempt"], body["result"]) == (2, "queued")
    assert not _apply(engine, _event(operation_id, "finished", attempt=1, result="success"))
    assert _apply(
        engine, _event(operation_id, "finished", attempt=2, boot="boot-b", result="success")
    )
    assert _read(engine, operation_id, live="boot-b")["result"] == "success"


def test_never_running_on_a_dataplane_that_is_gone(engine: Engine, datastore_id: int) -> None:
    operation_id = _create(engine, datastore_id)
    assert _apply(engine, _event(operation_id, "started", boot="boot-a"))
    assert _read(engine, operation_id, live="boot-a")["result"] == "running"
    for live in ("boot-b", None):
        body = _read(engine, operation_id, live=live)
        assert body["result"] == "queued"
        assert body["message"] == service.WAITING_MESSAGE


def test_an_interrupted_operation_waits_for_the_next_dataplane(
    engine: Engine, datastore_id: int
) -> None:
    operation_id = _create(engine, datastore_id)
    assert _apply(engine, _event(operation_id, "started", boot="boot-a"))
    assert _apply(engine, _event(operation_id, "interrupted", boot="boot-a"))
    with Session(engine) as session:
        assert service.orphaned(session, live_boot_id="boot-b") == []  # not re-enqueued
    assert _read(engine, operation_id, live="boot-b")["attempt"] == 1


def test_abort(engine: Engine, datastore_id: int) -> None:
    queued = _create(engine, datastore_id)
    running = _create(engine, datastore_id)
    assert _apply(engine, _event(running, "started", boot="boot-a"))
    with Session(engine) as session, session.begin():
        assert service.request_abort(session, service.require_operation(session, queued), "boot-a")
        assert service.request_abort(session, service.require_operation(session, running), "boot-a")
    assert _read(engine, queued)["result"] == "aborted"  # nothing ran it: ended at once
    assert _read(engine, running)["result"] == "running"  # the dataplane answers for it
    assert _apply(engine, _event(running, "finished", result="aborted"))
    assert _read(engine, running)["result"] == "aborted"
    with Session(engine) as session, session.begin():
        ended = service.require_operation(session, queued)
        assert not service.request_abort(session, ended, "boot-a")


def test_a_datastore_with_unfinished_operations_is_kept(engine: Engine, datastore_id: int) -> None:
    operation_id = _create(engine, datastore_id)
    with Session(engine) as session:
        assert service.unfinished_on_datastore(session, datastore_id) == [
            f"operation {operation_id}"
        ]
    assert _apply(engine, _event(operation_id, "finished", result="failure", message="boom"))
    with Session(engine) as session:
        assert service.unfinished_on_datastore(session, datastore_id) == []


def _create_with(engine: Engine, datastore_id: int, **body: object) -> int:
    with Session(engine) as session, session.begin():
        run = OperationRun.model_validate({"datastore_id": datastore_id, **body})
        return service.create_operation(session, run, "manager").id


def test_a_success_names_the_client_options_it_did_not_apply(
    engine: Engine, datastore_id: int
) -> None:
    asked = _create_with(
        engine, datastore_id, type="scan", incremental=True, container_tags=["finance"]
    )
    neutral = _create_with(engine, datastore_id, type="scan", incremental=False)
    failed = _create_with(engine, datastore_id, type="scan", incremental=True)
    for operation_id in (asked, neutral):
        assert _apply(engine, _event(operation_id, "finished", result="success"))
    assert _apply(engine, _event(failed, "finished", result="failure", message="boom"))
    assert _read(engine, asked)["message"] == (
        "options not supported by this platform were not applied: incremental, container_tags"
    )
    assert _read(engine, neutral)["message"] is None
    assert _read(engine, failed)["message"] == "boom"  # the reason it failed comes first


@pytest.mark.parametrize(
    ("body", "prunes"),
    [
        ({"type": "catalog"}, True),
        ({"type": "sync", "prune": True}, True),
        ({"type": "sync", "prune": False}, False),
        ({"type": "catalog", "container_names": ["a.csv"]}, False),
        ({"type": "sync", "prune": True, "container_names": []}, False),
    ],
)
def test_which_catalogs_prune(
    engine: Engine, datastore_id: int, body: dict[str, object], prunes: bool
) -> None:
    operation_id = _create_with(engine, datastore_id, **body)
    with Session(engine) as session:
        assert service.catalog_prunes(service.require_operation(session, operation_id)) is prunes


def test_list_by_creation_time(engine: Engine, datastore_id: int) -> None:
    operation_id = _create(engine, datastore_id)
    with Session(engine) as session:
        created = service.require_operation(session, operation_id).created_at

        def listed(start: datetime | None, end: datetime | None) -> list[int]:
            rows, _ = service.list_operations(
                session, 1, 100, [datastore_id], start_date=start, end_date=end
            )
            return [row.id for row in rows]

        second = timedelta(seconds=1)
        assert operation_id in listed(created - second, created + second)
        assert operation_id in listed(created, created)  # both ends included
        assert operation_id not in listed(created + second, None)
        assert operation_id not in listed(None, created - second)
