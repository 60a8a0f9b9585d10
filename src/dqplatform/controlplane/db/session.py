"""One database unit of work per request: commit on success, roll back on error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.errors import ServiceUnavailable


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise ServiceUnavailable("the database is unavailable") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# "function" scope: the unit of work commits (or its failure becomes the error answer) before
# the response is sent. FastAPI's default would commit after the client got its 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
