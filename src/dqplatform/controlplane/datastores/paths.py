"""Keeping file datastores inside the folders an Admin allows (DQP_FILES_ROOTS)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dqplatform.controlplane.datastores.schemas import DatastoreCreate, DatastoreKind
from dqplatform.controlplane.validation import invalid_field
from dqplatform.file_roots import listed, root_containing


def require_allowed_path(data: DatastoreCreate, roots: Sequence[Path]) -> None:
    """422 unless a files datastore's path, `..` and links resolved, is inside a root.

    The answer names the roots and nothing else: not where a link leads, nor whether the
    path exists, which would let a Manager explore the controlplane's filesystem. Where the
    dataplane runs elsewhere, this judges what the controlplane can see (`..` and the
    prefix tricks); the dataplane judges the links on its side before it reads.
    """
    if data.kind is not DatastoreKind.FILES or data.path is None:
        return
    if root_containing(data.path, roots) is None:
        raise invalid_field(
            "path",
            "must be inside one of the folders file datastores may use "
            f"(DQP_FILES_ROOTS): {listed(roots)}",
        )
