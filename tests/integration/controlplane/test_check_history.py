"""Each check's result per scan, and the history a volumetric or metric check is sent:
the figures of earlier scans that judged it, oldest first, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.checks.history import store_outcomes
from dqplatform.controlplane.checks.models import CheckResult
from dqplatform.controlplane.checks.scan import checks_for
from dqplatform.controlplane.results import store_output
from dqplatform.controlplane.secrets_box import SecretsBox
from dqplatform.messaging.operations import CheckOutcome, ScanResult
from tests.integration.controlplane.test_datastores_support import BACKENDS, Api, running_api

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


def _check(api: Api, container_id: int, rule: str, **body: Any) -> int:
    response = api.call(
        Role.MANAGER,
        "POST",
        "/api/quality-checks",
        json={"container_id": container_id, "rule": rule, **body},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _histories(api: Api, datastore_id: int) -> dict[int, list[float]]:
    with api.session() as session:
        specs = checks_for(session, datastore_id, None, SecretsBox.from_settings(api.settings))
    return {spec.id: spec.history for spec in specs}


def test_volumetric_and_metric_checks_get_the_figures_of_earlier_scans(api: Api) -> None:
    datastore = api.files_datastore()["id"]
    orders = api.container(datastore, "orders", {"id": "int", "amount": "double"})
    volumetric = _check(
        api,
        orders,
        "volumetric",
        properties={"comparison": "Percentage Change", "window_size": 3, "min": -10, "max": 10},
    )
    metric = _check(
        api,
        orders,
        "metric",
        fields=["amount"],
        properties={"comparison": "Absolute Change", "min": -5, "max": 5},
    )
    not_null = _check(api, orders, "notNull", fields=["id"])
    assert _histories(api, datastore) == {volumetric: [], metric: [], not_null: []}

    counts = [100.0, 110.0, 90.0, 120.0]
    for operation_id, count in enumerate(counts, start=1):
        outcomes = [
            CheckOutcome(check_id=volumetric, passed=True, records=int(count), value=count),
            CheckOutcome(check_id=metric, passed=True, records=int(count), value=count / 10),
            CheckOutcome(check_id=not_null, passed=False, records=int(count), failed_records=2),
        ]
        result = ScanResult(checks_evaluated=3, anomalies=[], outcomes=outcomes)
        with api.session() as session:
            store_output(session, datastore, 1000 + operation_id, result)
    # A scan whose volumetric check could not be judged adds no figure to its history.
    with api.session() as session:
        error = CheckOutcome(check_id=volumetric, passed=False, error="the container is gone")
        store_outcomes(session, 2000, [error])

    histories = _histories(api, datastore)
    # window_size 3: the last three figures, oldest first; metric: the last one.
    assert histories[volumetric] == counts[-3:]
    assert histories[metric] == [counts[-1] / 10]
    assert histories[not_null] == []


def test_a_result_stored_again_or_for_a_deleted_check_is_skipped(api: Api) -> None:
    datastore = api.files_datastore()["id"]
    orders = api.container(datastore, "orders", {"id": "int"})
    kept = _check(api, orders, "notNull", fields=["id"])
    gone = _check(api, orders, "unique", fields=["id"])
    assert (
        api.call(Role.MANAGER, "DELETE", f"/api/quality-checks/{gone}?archive=false").status_code
        == 204
    )
    outcomes = [
        CheckOutcome(check_id=kept, passed=True, records=5),
        CheckOutcome(check_id=gone, passed=True, records=5),
    ]
    with api.session() as session:
        assert store_outcomes(session, 7, outcomes) == 1
    with api.session() as session:
        assert store_outcomes(session, 7, outcomes) == 0  # redelivered
        stored = session.scalars(select(CheckResult).where(CheckResult.check_id == kept)).all()
        assert [(row.operation_id, row.passed, row.records) for row in stored] == [(7, True, 5)]
        gone_rows = session.scalar(
            select(func.count()).select_from(CheckResult).where(CheckResult.check_id == gone)
        )
        assert gone_rows == 0
