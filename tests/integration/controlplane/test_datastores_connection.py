"""POST /api/datastores/{id}/connection: a real dataplane handler opens the datastore's
connection (to the machine's PostgreSQL) over the in-memory broker, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dqplatform.controlplane.auth.roles import Role
from dqplatform.dataplane.worker import Dataplane
from tests.integration.controlplane.test_datastores_support import (
    BACKENDS,
    PASSWORD,
    Api,
    running_api,
    unique,
)

pytestmark = pytest.mark.integration

MISSING_DATABASE = "no_such_database_for_dqp_tests"


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


@pytest.fixture(scope="module")
def dataplane(api: Api) -> Iterator[Dataplane]:
    """The dataplane's control-message handling, without Spark: it answers connection tests."""
    dataplane = Dataplane(api.settings)
    dataplane.control.start()
    assert dataplane.control.ready.wait(10), "the control queue was not consumed"
    dataplane.replies.connect()
    try:
        yield dataplane
    finally:
        dataplane.control.stop()
        dataplane.replies.close()
        dataplane._handlers.shutdown(wait=False, cancel_futures=True)


def test_the_datastores_own_database_is_the_one_tested(api: Api, dataplane: Dataplane) -> None:
    # Trust authentication: the password is sent but not needed; it must never come back.
    connection = api.connection(
        name=unique("local-pg"),
        username="postgres",
        database=MISSING_DATABASE,
        password=PASSWORD,
    )
    on_its_own = api.datastore(name=unique("pg"), kind="jdbc", connection_id=connection["id"])
    overridden = api.datastore(
        name=unique("pg"), kind="jdbc", connection_id=connection["id"], database="postgres"
    )

    ok = api.call(Role.MANAGER, "POST", f"/api/datastores/{overridden['id']}/connection")
    assert ok.status_code == 200, ok.text
    assert ok.json()["connected"] is True
    assert ok.json()["latency_ms"] > 0

    failed = api.call(Role.MANAGER, "POST", f"/api/datastores/{on_its_own['id']}/connection")
    assert failed.status_code == 200, failed.text
    assert failed.json()["connected"] is False
    assert MISSING_DATABASE in failed.json()["message"]
    assert PASSWORD not in ok.text + failed.text


def test_files_unknown_ids_and_roles(api: Api, dataplane: Dataplane) -> None:
    files = api.files_datastore()
    url = f"/api/datastores/{files['id']}/connection"
    no_connection = api.call(Role.MANAGER, "POST", url)
    assert no_connection.status_code == 409
    assert no_connection.json()["code"] == "datastore_has_no_connection"
    assert api.call(Role.MEMBER, "POST", url).status_code == 403
    assert api.call(None, "POST", url).status_code == 401
    missing = api.call(Role.MANAGER, "POST", "/api/datastores/987654/connection")
    assert missing.status_code == 404
