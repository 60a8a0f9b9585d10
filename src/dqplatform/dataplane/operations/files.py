"""Files read by Spark: the CSV and Parquet containers directly under a datastore's path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyspark.sql import DataFrame, SparkSession

from dqplatform.dataplane.operations.context import OperationFailed
from dqplatform.messaging.operations import DatastoreSpec

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


def find_files(spec: DatastoreSpec) -> list[FileContainer]:
    """The containers under the datastore's path, by name; of `file_format` only if set."""
    if not spec.path:
        raise OperationFailed("the datastore has no path")
    root = Path(spec.path)
    if not root.is_dir():
        raise OperationFailed(f"the datastore path {spec.path} is not a readable directory")
    found = []
    try:
        for entry in sorted(root.iterdir()):
            if _hidden(entry):
                continue
            file_format = _format_of(entry)
            if file_format is None or (spec.file_format and file_format != spec.file_format):
                continue
            found.append(FileContainer(entry.name, entry, file_format, _size(entry)))
    except OSError as exc:
        raise OperationFailed(
            f"the datastore path {spec.path} could not be listed: {exc.strerror}"
        ) from None
    return found


def read_file(spark: SparkSession, container: FileContainer) -> DataFrame:
    # Spark reads a path as a glob: escape the characters that would make it one.
    path = "".join(f"\\{c}" if c in "*?[]{}\\" else c for c in str(container.path.resolve()))
    if container.file_format == "csv":
        return spark.read.csv(path, header=True, inferSchema=True)
    return spark.read.parquet(path)
