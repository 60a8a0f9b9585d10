"""Whether a path lies inside one of the folders file datastores are confined to.

Both planes judge a path the same way: after `..` and symbolic links are resolved, it must
be one of the roots or under one, compared component by component (so /data/files-evil is
not under /data/files). The controlplane judges a datastore's path when it is saved; the
dataplane judges it again, and every file under it, right before reading, since a link may
have been changed since.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def root_containing(path: str | os.PathLike[str], roots: Sequence[Path]) -> Path | None:
    """The root `path` resolves into, or None: outside every root, or not resolvable (a
    link loop, a folder that cannot be searched). `roots` must be resolved already."""
    try:
        resolved = Path(path).resolve(strict=False)
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python 3.11)
        return None
    for root in roots:
        if resolved.is_relative_to(root):
            return root
    return None


def listed(roots: Sequence[Path]) -> str:
    """The roots as a message shows them."""
    return ", ".join(str(root) for root in roots)
