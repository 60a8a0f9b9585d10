"""Request dependencies of the user and token endpoints.

A session that commits before the response is sent, the token registry, and actions to run
once that commit has succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.orm import Session

from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.tokens.registry import TokenRegistry

logger = logging.getLogger(__name__)

# SessionDep now commits before the response is sent; this name stays for the modules that
# adopted it first.
CommittedSessionDep = SessionDep


def get_token_registry(request: Request) -> TokenRegistry:
    registry: TokenRegistry = request.app.state.tokens
    return registry


TokenRegistryDep = Annotated[TokenRegistry, Depends(get_token_registry)]


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session commits; never if it rolls back. Failures are logged."""

    def run(_: Session) -> None:
        try:
            action()
        except Exception as exc:
            # The change is committed; a failed follow-up must not turn it into an error.
            logger.warning("post-commit action failed: %s", type(exc).__name__)

    event.listen(session, "after_commit", run, once=True)
