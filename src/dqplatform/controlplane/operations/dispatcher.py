"""Moving operations between the database and the broker: publish runs after their commit,
record the dataplane's events, and re-enqueue what a lost dataplane left behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.checks.scan import checks_for
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.controlplane.datastores.service import datastore_spec
from dqplatform.controlplane.errors import PlatformError
from dqplatform.controlplane.operations import publication, service
from dqplatform.controlplane.operations.models import Operation
from dqplatform.controlplane.platform.dataplane_client import DataplaneClient
from dqplatform.controlplane.results import store_output
from dqplatform.controlplane.secrets_box import SecretsBox
from dqplatform.messaging.broker import is_filesystem
from dqplatform.messaging.listener import Listener
from dqplatform.messaging.operations import (
    OPERATIONS_QUEUE,
    AbortOperation,
    OperationEvent,
    RunOperation,
    operation_events_queue,
    operations_queue,
)
from dqplatform.messaging.topology import CONTROL_MESSAGE_TTL_SECONDS, CONTROL_QUEUE
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)

RECONCILE_EVERY_SECONDS = 3.0
# A dataplane boot seen healthy longer ago than this is not trusted to be the live one.
LIVE_BOOT_MAX_AGE_SECONDS = 15.0


class OperationDispatcher:
    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        client: DataplaneClient,
        box: Callable[[], SecretsBox],
    ):
        self._settings = settings
        self._sessions = session_factory
        self._client = client
        self._box = box
        self.events = Listener(
            settings,
            operation_events_queue(),
            self._on_event,
            "dqp-op-events",
            requeue_on_error=True,
        )
        # On the embedded broker a delivery is gone once taken, so the operations of a
        # dataplane that died must be re-enqueued; RabbitMQ redelivers them by itself.
        self._reenqueue_orphans = is_filesystem(settings)
        self.live_boot_id: str | None = None

    # --- publishing ------------------------------------------------------------------------

    def publish(self, operation_id: int) -> bool:
        """Publish the run request of `operation_id` (blocking); False if it must wait."""
        with self._sessions() as session, session.begin():
            # First, so that no other process sends it too (and, on SQLite, so that this
            # transaction starts as a write and waits its turn instead of failing).
            if not publication.claim(session, operation_id):
                return False
            operation = session.get(Operation, operation_id)
            if operation is None:
                return False
            datastore = session.get(Datastore, operation.datastore_id)
            if datastore is None:
                return False
            box = self._box()
            try:
                spec = datastore_spec(session, datastore, box)
            except PlatformError as exc:
                # The datastore cannot be reached as configured: nothing a retry would mend.
                service.fail_before_start(session, operation, exc.message)
                logger.warning("op-%d failed before it was queued: %s", operation_id, exc.message)
                return False
            request = RunOperation(
                operation_id=operation.id,
                attempt=operation.attempt,
                type=operation.type,  # type: ignore[arg-type]
                datastore=spec,
                container_names=operation.container_names,
                checks=(
                    checks_for(session, datastore.id, operation.container_names, box)
                    if operation.type == "scan"
                    else []
                ),
            )
            attempt = operation.attempt
        try:
            self._client.publisher.publish(
                request, OPERATIONS_QUEUE, persistent=True, declare=operations_queue()
            )
        except Exception as exc:
            logger.warning("op-%d not queued yet (%s); will retry", operation_id, exc)
            try:
                with self._sessions() as session, session.begin():
                    publication.release(session, operation_id, attempt)
            except Exception as db_exc:  # the claim then simply runs out
                logger.warning("op-%d: claim not released: %s", operation_id, type(db_exc).__name__)
            return False
        with self._sessions() as session, session.begin():
            publication.mark_sent(session, operation_id, attempt)
        return True

    def send_abort(self, operation_id: int) -> None:
        message = AbortOperation(operation_id=operation_id)
        try:
            self._client.publisher.publish(message, CONTROL_QUEUE, CONTROL_MESSAGE_TTL_SECONDS)
        except Exception as exc:
            logger.warning("abort of op-%d not sent: %s", operation_id, exc)

    # --- events ----------------------------------------------------------------------------

    def _on_event(self, body: dict[str, Any]) -> None:
        try:
            event = OperationEvent.model_validate(body)
        except ValidationError:
            logger.warning("dropped an unreadable operation event")
            return
        abort_again = False
        with self._sessions() as session, session.begin():
            operation = service.apply_event(session, event)
            if operation is None:
                # Started after it was aborted (or by a stale attempt): tell it to stop.
                abort_again = event.event == "started"
            else:
                if event.event == "started" and operation.abort_requested:
                    abort_again = True
                if event.event == "finished" and event.output is not None:
                    store_output(
                        session,
                        operation.datastore_id,
                        operation.id,
                        event.output,
                        prune=service.catalog_prunes(operation),
                    )
        if abort_again:
            self.send_abort(event.operation_id)

    # --- recovery --------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Queue what is not on the broker yet; re-enqueue operations of a lost dataplane."""
        if self._reenqueue_orphans and self.live_boot_id is not None:
            with self._sessions() as session, session.begin():
                for operation in service.orphaned(session, self.live_boot_id):
                    lost_attempt = operation.attempt
                    if service.start_new_attempt(session, operation):
                        logger.info(
                            "op-%d was on a lost dataplane; attempt %d queued",
                            operation.id,
                            lost_attempt + 1,
                        )
        with self._sessions() as session:
            pending = publication.unpublished(session)
        for operation_id in pending:
            self.publish(operation_id)

    async def keep_reconciling(self, live_boot: Any) -> None:
        """Every few seconds: learn the live dataplane boot, then reconcile."""
        while True:
            await asyncio.sleep(RECONCILE_EVERY_SECONDS)
            with contextlib.suppress(Exception):
                self.live_boot_id = await live_boot()
            try:
                await asyncio.to_thread(self.reconcile)
            except Exception as exc:
                logger.warning("operations reconcile failed: %s", type(exc).__name__)


def live_boot_reader(status: Any) -> Any:
    """An async function giving the boot id of the dataplane answering now, or None."""

    async def read() -> str | None:
        result = await status.dataplane.result()
        if not result.ok or time.monotonic() - result.monotonic > LIVE_BOOT_MAX_AGE_SECONDS:
            return None
        return str(result.value.boot_id)

    return read
