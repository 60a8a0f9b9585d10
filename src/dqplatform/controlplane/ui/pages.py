"""Rendering the pages' templates, with the display names and units they show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse

from dqplatform.build_info import build_info

UI_DIR = Path(__file__).resolve().parent
STATIC_DIR = UI_DIR / "static"

CLOUD_NAMES = {"aws": "AWS", "gcp": "Google Cloud", "azure": "Azure", "local": "Local"}
ENGINE_NAMES = {"kubernetes": "Kubernetes", "databricks": "Databricks", "local": "Local"}
ROLE_NAMES = {"member": "Member", "manager": "Manager", "admin": "Admin"}


def cloud_name(platform: str) -> str:
    return CLOUD_NAMES.get(platform, platform)


def engine_name(engine: str) -> str:
    return ENGINE_NAMES.get(engine, engine)


def duration(seconds: int) -> str:
    """3600 -> "1 hour", 5400 -> "1 hour 30 minutes", 86400 -> "1 day"."""
    parts = []
    remaining = seconds
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2]) or "0 seconds"


_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(UI_DIR / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_templates.filters.update(cloud_name=cloud_name, engine_name=engine_name, duration=duration)
_templates.globals.update(role_names=ROLE_NAMES)


def render(
    name: str, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    # The static files' URLs carry the build, so a new release is never served stale scripts.
    html = _templates.get_template(name).render(asset_version=build_info().git_hash, **context)
    return HTMLResponse(
        html, status_code=status_code, headers={"Cache-Control": "no-store", **(headers or {})}
    )
