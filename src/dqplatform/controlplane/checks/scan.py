"""The checks a scan judges, as the dataplane receives them."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from dqplatform.controlplane.checks.history import HISTORY_RULES, history_for, window_of
from dqplatform.controlplane.checks.models import CheckStatus, QualityCheck
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.controlplane.datastores.service import datastore_spec
from dqplatform.controlplane.errors import PlatformError
from dqplatform.controlplane.secrets_box import SecretsBox
from dqplatform.messaging.operations import CheckSpec, DatastoreSpec, ReferenceSpec
from dqplatform.messaging.rules import CONTRACTS, RuleType

logger = logging.getLogger(__name__)


def checks_for(
    session: Session, datastore_id: int, container_names: list[str] | None, box: SecretsBox
) -> list[CheckSpec]:
    """The datastore's Active, unarchived checks on all its containers, or on those named
    (none for an empty list). A cross-container check carries its reference container,
    read through that container's own datastore (secrets included: never log a spec)."""
    query = select(QualityCheck).where(
        QualityCheck.datastore_id == datastore_id,
        QualityCheck.is_template.is_(False),
        QualityCheck.archived_at.is_(None),
        QualityCheck.status == CheckStatus.ACTIVE.value,
    )
    if container_names is not None:
        query = query.where(QualityCheck.container.in_(container_names))
    specs: dict[int, DatastoreSpec | None] = {}
    checks: list[CheckSpec] = []
    for row in session.scalars(query.order_by(QualityCheck.id)):
        assert row.container is not None  # the "placed" constraint: a check has one
        rule = RuleType(row.rule)
        reference = None
        if CONTRACTS[rule].cross_container:
            reference = _reference(session, row, specs, box)
        checks.append(
            CheckSpec(
                id=row.id,
                container=row.container,
                rule=rule,
                fields=list(row.fields),
                properties=dict(row.properties),
                filter=row.filter,
                coverage=row.coverage,
                reference=reference,
                history=(
                    history_for(session, row.id, window_of(rule, row.properties))
                    if rule in HISTORY_RULES
                    else []
                ),
            )
        )
    return checks


def _reference(
    session: Session,
    row: QualityCheck,
    specs: dict[int, DatastoreSpec | None],
    box: SecretsBox,
) -> ReferenceSpec | None:
    container_id = row.properties.get("ref_container_id")
    if container_id is None:
        return None  # aggregationComparison against its own container
    container = session.get(Container, container_id)
    if container is None:
        # Removed by a later catalog: the dataplane reports the check as failed to run.
        logger.warning("check %d: reference container %s is gone", row.id, container_id)
        return None
    if container.datastore_id not in specs:
        datastore = session.get(Datastore, container.datastore_id)
        try:
            specs[container.datastore_id] = (
                datastore_spec(session, datastore, box) if datastore is not None else None
            )
        except PlatformError as exc:
            logger.warning("check %d: reference datastore unreadable: %s", row.id, exc.message)
            specs[container.datastore_id] = None
    spec = specs[container.datastore_id]
    return ReferenceSpec(datastore=spec, container=container.name) if spec is not None else None
