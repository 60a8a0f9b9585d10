"""Response bodies of GET /api."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PlatformInfo(BaseModel):
    application: str = Field(description="The application name.")
    description: str = Field(description="The application description.")
    version: str = Field(description="The controlplane version, YYYYMMDD-<git hash>.")
    platform: str = Field(description="The cloud provider (aws, gcp, azure, local).")
    engine: str = Field(description="The compute engine (kubernetes, databricks, local).")
    size: str = Field(description="The deployment size (small, medium, large, xlarge).")
    jwt_ttl_seconds: int = Field(description="The JWT token time-to-live in seconds.")
