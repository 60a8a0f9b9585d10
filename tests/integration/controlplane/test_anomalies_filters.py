"""Every list filter of GET /api/anomalies against a count made here, in plain Python, over
the same generated anomalies; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from dqplatform.controlplane.anomalies.models import Anomaly
from dqplatform.controlplane.auth.roles import Role
from tests.integration.controlplane.test_anomalies_api import (
    CHECKS,
    Place,
    finding,
    listing,
    make_place,
    scan,
)
from tests.integration.controlplane.test_datastores_support import BACKENDS, Api, running_api

pytestmark = pytest.mark.integration

COUNT = 36
OPEN = {"Active", "Acknowledged"}


@dataclass(frozen=True)
class Planted:
    """What the test made of one anomaly: the truth the API's answers are counted against."""

    id: int
    ds: int
    container_id: int
    check_id: int
    rule: str
    type: str
    status: str
    tags: tuple[str, ...]
    created: datetime
    enriched: bool
    operation: int


@dataclass(frozen=True)
class World:
    api: Api
    places: tuple[Place, Place]
    planted: list[Planted]

    def ids(self, **params: Any) -> set[int]:
        params.setdefault("datastore", [p.ds for p in self.places])
        page = listing(self.api, **params)
        ids = {a["id"] for a in page["items"]}
        assert page["total"] == len(ids)
        return ids

    def expected(self, keep: Callable[[Planted], bool], archived: str | None = None) -> set[int]:
        def shown(p: Planted) -> bool:
            if archived is None:
                return p.status in OPEN
            return archived == "include" or p.status not in OPEN

        return {p.id for p in self.planted if shown(p) and keep(p)}


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield _plant(api)


def _plant(api: Api) -> World:
    places = (make_place(api), make_place(api))
    now = datetime.now(UTC)
    plan: list[dict[str, Any]] = []
    for i in range(COUNT):
        place = places[i % 2]
        key, _, rule, _, _ = CHECKS[i % len(CHECKS)]
        container = ("orders", "customers")[(i // 2) % 2]
        failed = i % 7
        shape = rule.value == "volumetric"
        rows = [] if shape or i % 5 == 0 else [{"id": n} for n in range(failed)]
        plan.append(
            {
                "place": place,
                # Fields of their own: each anomaly is a failure of its own (no two match).
                "finding": finding(
                    place, key, failed, container=container, fields=[f"f{i}"], sample_rows=rows
                ),
                "operation": 700 + i // 12,
                "status": ("Active", "Acknowledged", "Resolved", "Invalid", "Active", "Duplicate")[
                    i % 6
                ],
                "tags": [f"t{i % 3}"] if i % 4 < 2 else [],
                "created": now - timedelta(days=i, hours=1),
                "enriched": bool(rows),
            }
        )
    for operation in sorted({p["operation"] for p in plan}):
        for place in places:
            findings = [
                p["finding"] for p in plan if p["operation"] == operation and p["place"] is place
            ]
            scan(api, place, operation, *findings)
    by_fields = {
        a["fields"][0]["name"]: a["id"]
        for a in listing(api, datastore=[p.ds for p in places])["items"]
    }
    assert len(by_fields) == COUNT
    planted = []
    with api.session() as session:
        for i, p in enumerate(plan):
            row = session.get(Anomaly, by_fields[f"f{i}"])
            assert row is not None
            row.created_at = p["created"]
            planted.append(
                Planted(
                    id=row.id,
                    ds=p["place"].ds,
                    container_id=p["place"].containers[row.container],
                    check_id=p["finding"].check_id,
                    rule=row.rule,
                    type=row.type,
                    status=p["status"],
                    tags=tuple(p["tags"]),
                    created=p["created"],
                    enriched=p["enriched"],
                    operation=p["operation"],
                )
            )
    # Statuses and tags the way people set them: bulk updates and archives.
    changes = [
        {
            "id": p.id,
            "status": "Acknowledged" if p.status == "Acknowledged" else "Active",
            "tags": list(p.tags),
        }
        for p in planted
    ]
    assert api.call(Role.MANAGER, "PATCH", "/api/anomalies", json=changes).status_code == 200
    archives = [{"id": p.id, "status": p.status} for p in planted if p.status not in OPEN]
    assert api.call(Role.MANAGER, "DELETE", "/api/anomalies", json=archives).status_code == 204
    return World(api, places, planted)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    return datetime.combine(day, time.min, UTC), datetime.combine(day, time.max, UTC)


def test_open_only_unless_archived_is_asked(world: World) -> None:
    everything = world.expected(lambda p: True, "include")
    assert len(everything) == COUNT
    assert world.ids() == world.expected(lambda p: True)
    assert world.ids(archived="only") == world.expected(lambda p: True, "only")
    assert world.ids(archived="include") == everything
    assert 0 < len(world.ids()) < COUNT


def test_place_filters(world: World) -> None:
    a, b = world.places
    assert world.ids(datastore=a.ds) == world.expected(lambda p: p.ds == a.ds)
    orders = a.containers["orders"]
    assert world.ids(container=orders) == world.expected(lambda p: p.container_id == orders)
    two = {orders, b.containers["customers"]}
    assert world.ids(container=sorted(two), archived="include") == world.expected(
        lambda p: p.container_id in two, "include"
    )
    assert world.ids(container=987_654) == set()
    check = a.checks["between"]
    assert world.ids(quality_check=check) == world.expected(lambda p: p.check_id == check)
    checks = {a.checks["not_null"], b.checks["volume"]}
    assert world.ids(quality_check=sorted(checks), archived="only") == world.expected(
        lambda p: p.check_id in checks, "only"
    )
    assert world.ids(operation=701, archived="include") == world.expected(
        lambda p: p.operation == 701, "include"
    )


def test_status_type_tag_and_rule_filters(world: World) -> None:
    assert world.ids(status="Acknowledged") == world.expected(lambda p: p.status == "Acknowledged")
    archived = {"Resolved", "Invalid"}
    assert world.ids(status=sorted(archived), archived="only") == world.expected(
        lambda p: p.status in archived, "only"
    )
    # An archived status without `archived`: the open list has none of them.
    assert world.ids(status="Resolved") == set()
    assert world.ids(anomaly_type="shape", archived="include") == world.expected(
        lambda p: p.type == "shape", "include"
    )
    assert world.ids(tag="t1") == world.expected(lambda p: "t1" in p.tags)
    assert world.ids(tag=["t0", "t2"], archived="include") == world.expected(
        lambda p: bool({"t0", "t2"} & set(p.tags)), "include"
    )
    assert world.ids(tag="nobody") == set()
    assert world.ids(rule_type="notNull") == world.expected(lambda p: p.rule == "notNull")
    assert world.ids(rule_type="not_null") == world.ids(rule_type="notNull")  # the old name
    rules = {"between", "volumetric"}
    assert world.ids(rule_type=sorted(rules)) == world.expected(lambda p: p.rule in rules)
    assert world.ids(source_enriched="true", archived="include") == world.expected(
        lambda p: p.enriched, "include"
    )
    assert world.ids(source_enriched="false") == world.expected(lambda p: not p.enriched)
    a = world.places[0]
    assert world.ids(datastore=a.ds, anomaly_type="record", status="Active") == world.expected(
        lambda p: p.ds == a.ds and p.type == "record" and p.status == "Active"
    )


def test_date_filters(world: World) -> None:
    newest = max(p.created for p in world.planted)
    first_day, last_day = (newest - timedelta(days=20)).date(), (newest - timedelta(days=5)).date()
    start, _ = _day_bounds(first_day)
    _, end = _day_bounds(last_day)
    assert world.ids(
        start_date=first_day.isoformat(), end_date=last_day.isoformat(), archived="include"
    ) == world.expected(lambda p: start <= p.created <= end, "include")
    # A date and time, with an offset.
    moment = (newest - timedelta(days=10)).astimezone(UTC).replace(microsecond=0)
    local = moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"
    assert world.ids(start_date=local) == world.expected(lambda p: p.created >= moment)
    assert world.ids(end_date=local) == world.expected(lambda p: p.created <= moment)
    assert world.ids(timeframe=10, archived="include") == world.expected(
        lambda p: p.created >= datetime.now(UTC) - timedelta(days=10), "include"
    )
    assert 0 < len(world.ids(timeframe=10, archived="include")) < COUNT
