"""Storing what an operation produced, whichever kind it is. Callers own the transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.scan_results import store_scan
from dqplatform.controlplane.checks.history import store_outcomes
from dqplatform.controlplane.containers.service import store_catalog
from dqplatform.controlplane.operations.models import Operation
from dqplatform.controlplane.profiles.service import store_profile
from dqplatform.messaging.operations import CatalogResult, ProfileResult, ScanResult


def store_output(
    session: Session,
    datastore_id: int,
    operation_id: int,
    output: CatalogResult | ProfileResult | ScanResult,
    *,
    prune: bool = True,
) -> None:
    """Store the output in place of whatever an earlier attempt of the operation stored.

    `prune` (catalog only): remove the containers the catalog no longer found.
    """
    match output:
        case CatalogResult():
            store_catalog(session, datastore_id, operation_id, output, prune=prune)
        case ProfileResult():
            store_profile(session, datastore_id, operation_id, output)
        case ScanResult():
            store_outcomes(session, operation_id, output.outcomes)
            store_scan(
                session,
                datastore_id,
                operation_id,
                output,
                auto_resolve=_auto_resolves(session, operation_id),
            )


def _auto_resolves(session: Session, operation_id: int) -> bool:
    """The scan's `auto_resolve_passed_anomalies`: on unless the client turned it off (the
    platform's default for full scans, and every scan here reads every record)."""
    operation = session.get(Operation, operation_id)
    options = (operation.options or {}) if operation is not None else {}
    return options.get("auto_resolve_passed_anomalies") is not False
