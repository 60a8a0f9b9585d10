"""Choosing the operation to run by the request's type."""

from __future__ import annotations

from dqplatform.dataplane.operations.catalog import run_catalog
from dqplatform.dataplane.operations.context import OperationContext, OperationFailed
from dqplatform.dataplane.operations.profile import run_profile
from dqplatform.dataplane.operations.scan import run_scan
from dqplatform.messaging.operations import CatalogResult, ProfileResult, ScanResult


def run_operation(ctx: OperationContext) -> CatalogResult | ProfileResult | ScanResult:
    """Run the operation the request asks for and return its result."""
    kind = ctx.request.type
    if kind == "catalog":
        return run_catalog(ctx)
    if kind == "profile":
        return run_profile(ctx)
    if kind == "scan":
        return run_scan(ctx)
    raise OperationFailed(f"unknown operation type {kind!r}")
