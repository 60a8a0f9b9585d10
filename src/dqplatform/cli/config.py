"""Where the client commands find the platform: flags, then DQP_URL/DQP_TOKEN, then a file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dqplatform" / "config.json"


@dataclass(frozen=True)
class ClientConfig:
    url: str
    token: str | None


def load_client_config(url: str | None, token: str | None) -> ClientConfig:
    saved: dict[str, str] = {}
    path = config_path()
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
    return ClientConfig(
        url=url or os.environ.get("DQP_URL") or saved.get("url") or DEFAULT_URL,
        token=token or os.environ.get("DQP_TOKEN") or saved.get("token"),
    )


def save_client_config(url: str, token: str) -> Path:
    """Write the URL and token to the config file, readable by its owner only."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token}, handle)
    os.chmod(path, 0o600)
    return path
