"""Logging set-up shared by every process: one format, one level."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s",
    )
    # py4j logs every command it sends at INFO; that drowns our own lines.
    logging.getLogger("py4j").setLevel(logging.WARNING)
