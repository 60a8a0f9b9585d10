"""Files read by Spark: the CSV and Parquet containers directly under a datastore's path,
inside the folders file datastores are confined to (DQP_FILES_ROOTS)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyspark.sql import DataFrame, SparkSession

from dqplatform.dataplane.operations.context import OperationFailed
from dqplatform.file_roots import listed, root_containing
from dqplatform.messaging.operations import DatastoreSpec
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)

FileFormat = Literal["csv", "parquet"]


@dataclass(frozen=True)
class FileContainer:
    name: str  # the file (or directory) name, extension included
    path: Path
    file_format: FileFormat
    size_bytes: int


def _hidden(path: Path) -> bool:
    # Spark's own convention: _SUCCESS, _metadata, .crc files are not data.
    return path.name.startswith((".", "_"))


def _format_of(path: Path) -> FileFormat | None:
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return "csv"
        if suffix == ".parquet":
            return "parquet"
        return None
    # A directory of Parquet parts, as Spark and most writers leave a dataset.
    if path.is_dir() and (
        path.suffix.lower() == ".parquet"
        or any(
            part.is_file() and part.suffix.lower() == ".parquet" and not _hidden(part)
            for part in path.iterdir()
        )
    ):
        return "parquet"
    return None


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(part.stat().st_size for part in path.rglob("*") if part.is_file())


def prepare_roots(settings: Settings) -> tuple[Path, ...]:
    """The folders file datastores are confined to, the default one created if missing."""
    if not settings.files_roots:
        settings.default_files_root.mkdir(parents=True, exist_ok=True)
    roots = settings.resolved_files_roots
    logger.info("file datastores are confined to %s", listed(roots))
    return roots


def _leads_outside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether `path`, or anything under it that a reader would open (links followed),
    resolves outside the roots."""
    seen: set[Path] = set()
    pending = [path]
    while pending:
        current = pending.pop()
        if root_containing(current, roots) is None:
            return True
        resolved = current.resolve()
        if resolved.is_dir() and resolved not in seen:  # `seen` ends link loops
            seen.add(resolved)
            pending.extend(resolved.iterdir())
    return False


def _outside(what: str, roots: Sequence[Path]) -> OperationFailed:
    # Where a link leads is not said: that would show the user a part of the filesystem.
    return OperationFailed(
        f"{what} leads outside the folders file datastores may use (DQP_FILES_ROOTS): "
        f"{listed(roots)}"
    )


def find_files(spec: DatastoreSpec, roots: Sequence[Path]) -> list[FileContainer]:
    """The containers under the datastore's path, by name; of `file_format` only if set.

    The path must resolve inside `roots` (resolved folders); an entry under it that leads
    outside (a link, or a Parquet folder holding one) is left out, and logged.
    """
    if not spec.path:
        raise OperationFailed("the datastore has no path")
    if root_containing(spec.path, roots) is None:
        raise _outside(f"the datastore path {spec.path}", roots)
    folder = Path(spec.path).resolve()
    if not folder.is_dir():
        raise OperationFailed(f"the datastore path {spec.path} is not a readable directory")
    found = []
    try:
        for entry in sorted(folder.iterdir()):
            if _hidden(entry):
                continue
            if root_containing(entry, roots) is None:
                logger.warning("left out %r: it leads outside DQP_FILES_ROOTS", entry.name)
                continue
            file_format = _format_of(entry)
            if file_format is None or (spec.file_format and file_format != spec.file_format):
                continue
            if _leads_outside(entry, roots):
                logger.warning(
                    "left out %r: something in it leads outside DQP_FILES_ROOTS", entry.name
                )
                continue
            found.append(FileContainer(entry.name, entry, file_format, _size(entry)))
    except OSError as exc:
        raise OperationFailed(
            f"the datastore path {spec.path} could not be listed: {exc.strerror}"
        ) from None
    return found


def read_file(spark: SparkSession, container: FileContainer, roots: Sequence[Path]) -> DataFrame:
    """The container's rows; judged against `roots` again first, since a link may have been
    changed after the container was found."""
    try:
        outside = _leads_outside(container.path, roots)
    except OSError as exc:
        raise OperationFailed(f"{container.name} could not be read: {exc.strerror}") from None
    if outside:
        raise _outside(container.name, roots)
    # Spark reads a path as a glob: escape the characters that would make it one.
    path = "".join(f"\\{c}" if c in "*?[]{}\\" else c for c in str(container.path.resolve()))
    if container.file_format == "csv":
        return spark.read.csv(path, header=True, inferSchema=True)
    return spark.read.parquet(path)
