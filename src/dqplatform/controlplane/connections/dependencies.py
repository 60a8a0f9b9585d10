"""The secrets box of a request, built from the application's settings."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends

from dqplatform.controlplane.errors import PlatformError
from dqplatform.controlplane.secrets_box import SecretsBox, SecretsKeyError
from dqplatform.controlplane.state import SettingsDep
from dqplatform.settings import SettingsError

logger = logging.getLogger(__name__)


def get_secrets_box(settings: SettingsDep) -> SecretsBox:
    try:
        return SecretsBox.from_settings(settings)
    except (SecretsKeyError, SettingsError) as exc:
        # A deployment fault, not the caller's: say which setting, never its value.
        logger.error("%s", exc)
        raise PlatformError(str(exc), status_code=500, code="secrets_key_invalid") from None


SecretsBoxDep = Annotated[SecretsBox, Depends(get_secrets_box)]
