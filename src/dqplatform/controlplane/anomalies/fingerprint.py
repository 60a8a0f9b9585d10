"""What makes two findings the same anomaly: a later scan that finds the same check failing
on the same container and fields updates the open anomaly instead of adding one."""

from __future__ import annotations

import hashlib
import json


def anomaly_fingerprint(check_id: int | None, container: str, fields: list[str], rule: str) -> str:
    # Kept equal to the copy frozen in migration 0007_checks_contract, which filled in the
    # fingerprints of the anomalies that existed before.
    key = json.dumps([check_id, container, fields, rule], separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()
