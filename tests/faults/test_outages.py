"""Faults on a production-like platform: `dqp up` on PostgreSQL and RabbitMQ, each behind a
proxy the test cuts. One platform serves the faults in turn (each starts and ends healthy)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.harness import wait_until
from tests.e2e.tcp_proxy import TcpProxy
from tests.faults.conftest import Figures as FigureSink
from tests.faults.conftest import fresh_postgres, rabbitmq_url
from tests.faults.ledger import SecretLedger
from tests.faults.live import LivePlatform, secret_env
from tests.faults.operations import InFlight, files_datastore
from tests.faults.scenarios import restart_burst, wait_gone
from tests.faults.verdict import (
    LATENCY_LIMIT,
    Figures,
    judge,
    wait_all_ok,
    watch_healthy,
)
from tests.faults.watch import OK, StatusWatcher, always, every_answer_is_a_200, within
from tests.services import POSTGRES_ADMIN_URL, RABBITMQ_URL

BROKER_OUTAGE_SECONDS = 30.0
DATABASE_OUTAGE_SECONDS = 20.0


@dataclass
class Setup:
    platform: LivePlatform
    broker: TcpProxy
    database: TcpProxy
    datastore_id: int
    database_url: str  # straight to PostgreSQL, for the test's own reads

    def operation(self) -> InFlight:
        """A profile to start just before a fault: it must end once, with its result."""
        return InFlight(self.platform, self.datastore_id, self.database_url)

    def pids(self) -> dict[str, int | None]:
        return {role: self.platform.pid_of(role) for role in ("controlplane", "dataplane")}


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
    ledger: SecretLedger,
    rabbitmq_credentials: tuple[str, str],
) -> Iterator[Setup]:
    upstream = httpx.URL(RABBITMQ_URL.replace("amqp://", "http://"))
    broker = TcpProxy(upstream.host, upstream.port or 5672)
    postgres = make_url(POSTGRES_ADMIN_URL)
    database = TcpProxy(postgres.host or "127.0.0.1", postgres.port or 5432)
    broker.start()
    database.start()
    root: Path = tmp_path_factory.mktemp("outages")
    with fresh_postgres(ledger) as database_url:
        platform = LivePlatform(
            data_dir=root / "data",
            broker_url=rabbitmq_url(rabbitmq_credentials, broker.port),
            extra_env={**secret_env(ledger), "DQP_DATABASE_URL": database_url(database.port)},
            ledger=ledger,
        )
        try:
            platform.start_up()
            platform.wait_dataplane_healthy()
            datastore_id = files_datastore(platform, root / "files")
            yield Setup(platform, broker, database, datastore_id, database_url(None))
        finally:
            platform.close()
            broker.stop()
            database.stop()


def _record(figures: FigureSink, fault: str, verdict: Figures) -> None:
    for measure, value in verdict.describe().items():
        figures(fault, measure, value)


def test_rabbitmq_cut_for_30_seconds(setup: Setup, figures: FigureSink) -> None:
    platform = setup.platform
    before = setup.pids()
    operation = setup.operation()
    with StatusWatcher(platform.url, platform.token, ledger=platform.ledger) as watcher:
        wait_all_ok(watcher, 120)
        operation.start()
        cut_at = watcher.mark("cut")
        setup.broker.stop()
        time.sleep(5)
        # What needs the broker says so (503); what does not keeps working.
        refused = platform.api("PUT", "/api/admin/restart")
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "service_unavailable"
        assert platform.api("GET", "/api/users/me").status_code == 200
        details = platform.api("GET", "/api/status/details").json()
        assert details["broker"]["state"] == "UNHEALTHY" and details["broker"]["reason"]
        time.sleep(max(0.0, cut_at + BROKER_OUTAGE_SECONDS - time.monotonic()))
        restored_at = watcher.mark("restore")
        setup.broker.start()
        wait_all_ok(watcher, 90)
        watch_healthy(watcher)
    verdict = judge(
        watcher,
        cut={"broker", "dataplane"},  # the dataplane is reached through the broker
        fault_at=cut_at,
        restored_at=restored_at,
        recover_within=60,
    )
    assert setup.pids() == before, "a process was started again: the planes did not reconnect"
    operation.assert_done_once()
    _record(figures, "RabbitMQ cut for 30 s", verdict)


def test_postgresql_cut_and_restored(setup: Setup, figures: FigureSink) -> None:
    platform = setup.platform
    before = setup.pids()
    operation = setup.operation()
    with StatusWatcher(platform.url, platform.token, ledger=platform.ledger) as watcher:
        wait_all_ok(watcher, 120)
        operation.start()
        cut_at = watcher.mark("cut")
        setup.database.stop()
        time.sleep(5)
        # Reads and writes that need the database answer 503; status and GET /api do not.
        for method, path, body in (
            ("GET", "/api/users", None),
            ("GET", "/api/connections", None),
            ("POST", "/api/user-tokens", {"name": "during-outage"}),
        ):
            response = platform.api(method, path, json=body)
            assert response.status_code == 503, f"{method} {path}: {response.text}"
            assert response.json()["code"] == "service_unavailable"
        assert platform.api("GET", "/api").status_code == 200
        assert platform.api("GET", "/api/status/details").status_code == 200
        time.sleep(max(0.0, cut_at + DATABASE_OUTAGE_SECONDS - time.monotonic()))
        restored_at = watcher.mark("restore")
        setup.database.start()
        wait_all_ok(watcher, 90)
        wait_until(lambda: platform.api("GET", "/api/users").status_code == 200, 30)
        watch_healthy(watcher)
    verdict = judge(
        watcher, cut={"database"}, fault_at=cut_at, restored_at=restored_at, recover_within=30
    )
    assert setup.pids() == before, "a process was started again: the planes did not reconnect"
    operation.assert_done_once()
    _record(figures, "PostgreSQL cut for 20 s", verdict)


def test_dataplane_killed_with_sigkill(setup: Setup, figures: FigureSink) -> None:
    platform = setup.platform
    controlplane = platform.pid_of("controlplane")
    operation = setup.operation()
    with StatusWatcher(platform.url, platform.token, ledger=platform.ledger) as watcher:
        wait_all_ok(watcher, 120)
        operation.start()
        killed_at = watcher.mark("kill")
        old = platform.kill("dataplane", signal.SIGKILL)
        gone_at = wait_gone(old, 10)
        new = platform.wait_new_pid("dataplane", old, 60)  # `dqp up` starts another
        new_at = time.monotonic()
        wait_all_ok(watcher, 120)
        watch_healthy(watcher)
    verdict = judge(
        watcher,
        cut={"dataplane"},
        fault_at=killed_at,
        restored_at=killed_at,
        recover_within=120,
        # No dataplane exists between these two moments: any OK would be a lie.
        truthful_from=gone_at + 0.5,
        truthful_until=new_at,
    )
    assert platform.pid_of("controlplane") == controlplane
    assert platform.pid_of("dataplane") == new
    operation.assert_done_once()
    _record(figures, "dataplane SIGKILL mid-operation", verdict)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_controlplane_killed_and_started_again(
    setup: Setup, figures: FigureSink, sig: signal.Signals
) -> None:
    """`dqp up` starts `dqp controlplane` again over the same database and broker; the
    dataplane, never restarted, is found again through the broker."""
    platform = setup.platform
    dataplane = platform.pid_of("dataplane")
    operation = setup.operation()
    with StatusWatcher(platform.url, platform.token, ledger=platform.ledger) as watcher:
        wait_all_ok(watcher, 120)
        operation.start()
        killed_at = watcher.mark("kill")
        old = platform.kill("controlplane", sig)
        platform.wait_new_pid("controlplane", old, 60)
        started_at = time.monotonic()  # the old one has gone, a new one is starting
        back = wait_until(
            lambda: watcher.first(started_at, lambda s: s.status is not None), 120, 0.1
        )
        healthy = wait_all_ok(watcher, 60)
        watch_healthy(watcher)
    samples = watcher.between(killed_at)
    # While no controlplane listens nothing answers; every answer is a 200, always in time.
    every_answer_is_a_200(samples, [(killed_at, back.sent)])
    within(watcher.samples, LATENCY_LIMIT)
    answered = watcher.between(back.sent)
    always(answered, "database", OK)
    always(answered, "broker", OK)
    for component in ("database", "broker", "dataplane"):
        always(watcher.between(healthy.sent), component, OK)
    assert platform.pid_of("dataplane") == dataplane, "the dataplane was started again"
    operation.assert_done_once()
    name = f"controlplane {sig.name} mid-operation, started again"
    figures(name, "API answering again after", f"{back.answered - killed_at:.2f} s")
    figures(name, "dataplane OK again after", f"{healthy.answered - killed_at:.2f} s")


def test_twenty_restart_calls_in_one_second(setup: Setup, figures: FigureSink) -> None:
    operation = setup.operation()
    verdict = restart_burst(setup.platform, before=operation.start)
    operation.assert_done_once()
    _record(figures, "20 restart calls in 1 s mid-operation (RabbitMQ)", verdict)
