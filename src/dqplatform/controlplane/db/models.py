"""Imports every model so that the metadata Alembic sees is complete."""

from dqplatform.controlplane.admin.models import RestartRequest
from dqplatform.controlplane.connections.models import Connection
from dqplatform.controlplane.db.base import Base
from dqplatform.controlplane.tokens.models import UserToken
from dqplatform.controlplane.users.models import User

__all__ = ["Base", "Connection", "RestartRequest", "User", "UserToken"]
