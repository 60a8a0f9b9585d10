"""Request dependencies of the user and token endpoints.

Actions to run once a request's commit has succeeded (the registry's alias is in
controlplane/state.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session commits; never if it rolls back. Failures are logged."""

    def run(_: Session) -> None:
        try:
            action()
        except Exception as exc:
            # The change is committed; a failed follow-up must not turn it into an error.
            logger.warning("post-commit action failed: %s", type(exc).__name__)

    event.listen(session, "after_commit", run, once=True)
