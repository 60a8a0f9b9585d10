"""Storing what an operation produced, whichever kind it is. Callers own the transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.service import store_scan
from dqplatform.controlplane.containers.service import store_catalog
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
            store_scan(session, datastore_id, operation_id, output)
