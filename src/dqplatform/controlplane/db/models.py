"""Imports every model so that the metadata Alembic sees is complete."""

from dqplatform.controlplane.admin.models import RestartRequest
from dqplatform.controlplane.anomalies.models import Anomaly
from dqplatform.controlplane.auth.models import LoginFailures
from dqplatform.controlplane.checks.models import CheckResult, QualityCheck
from dqplatform.controlplane.connections.models import Connection
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.controlplane.db.base import Base
from dqplatform.controlplane.operations.models import Operation
from dqplatform.controlplane.profiles.models import FieldProfile
from dqplatform.controlplane.tokens.models import UserToken
from dqplatform.controlplane.users.models import User

__all__ = [
    "Anomaly",
    "Base",
    "CheckResult",
    "Connection",
    "Container",
    "Datastore",
    "FieldProfile",
    "LoginFailures",
    "Operation",
    "QualityCheck",
    "RestartRequest",
    "User",
    "UserToken",
]
