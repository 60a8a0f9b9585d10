"""The platform info that GET /api reports, built once from settings and the build."""

from __future__ import annotations

from dqplatform.build_info import build_info
from dqplatform.controlplane.platform.schemas import PlatformInfo
from dqplatform.settings import Settings

APPLICATION = "dqplatform"
DESCRIPTION = "Data Quality Platform"


def platform_info(settings: Settings) -> PlatformInfo:
    return PlatformInfo(
        application=APPLICATION,
        description=DESCRIPTION,
        version=build_info().platform_version,
        platform=settings.platform,
        engine=settings.engine,
        size=settings.deployment_size,
        jwt_ttl_seconds=settings.jwt_ttl_seconds,
    )
