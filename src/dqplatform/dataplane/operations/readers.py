"""Finding a datastore's containers and reading one as a DataFrame, sampled over the limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql import DataFrame

from dqplatform.dataplane.engine import MIB, jdbc_jars
from dqplatform.dataplane.operations.context import OperationContext, OperationFailed
from dqplatform.dataplane.operations.errors import spark_errors
from dqplatform.dataplane.operations.files import FileContainer, find_files, read_file
from dqplatform.dataplane.operations.jdbc import JdbcSource
from dqplatform.messaging.operations import ContainerInfo, FieldInfo, ReferenceSpec

# Fixed, so that the same unchanged data gives the same sample on every run.
SAMPLE_SEED = 42
_MAX_NAMES_IN_MESSAGE = 10


@dataclass(frozen=True)
class Container:
    name: str
    type: Literal["table", "view", "file"]
    size_bytes: int | None  # None where the source cannot tell (views)
    file: FileContainer | None = None


def jdbc_source(ctx: OperationContext) -> JdbcSource:
    return JdbcSource.from_spec(ctx.request.datastore, jdbc_jars(ctx.engine.settings))


def find_containers(ctx: OperationContext) -> list[Container]:
    """Every container of the datastore, with its estimated size."""
    spec = ctx.request.datastore
    if spec.kind == "files":
        roots = ctx.engine.settings.resolved_files_roots  # the dataplane's own setting
        return [Container(f.name, "file", f.size_bytes, f) for f in find_files(spec, roots)]
    source = jdbc_source(ctx)
    where = f"{spec.connection_type} database at {spec.host}:{spec.port or 'default port'}"
    with spark_errors(ctx, f"listing the tables of the {where}"):
        rows = source.read_query(ctx.engine.session, source.containers_query()).collect()
    return [
        Container(
            row["name"],
            "view" if row["type"] == "view" else "table",
            None if row["size_bytes"] is None else int(row["size_bytes"]),
        )
        for row in rows
    ]


def selected_containers(ctx: OperationContext) -> list[Container]:
    """The containers the request names (all when it names none); an unknown name fails."""
    found = find_containers(ctx)
    wanted = ctx.request.container_names
    if wanted is None:
        return found
    by_name = {container.name: container for container in found}
    unknown = [name for name in dict.fromkeys(wanted) if name not in by_name]
    if unknown:
        shown = ", ".join(repr(name) for name in unknown[:_MAX_NAMES_IN_MESSAGE])
        more = len(unknown) - _MAX_NAMES_IN_MESSAGE
        suffix = f" and {more} more" if more > 0 else ""
        raise OperationFailed(f"the datastore has no container named {shown}{suffix}")
    return [by_name[name] for name in dict.fromkeys(wanted)]


def fields_of(df: DataFrame) -> list[FieldInfo]:
    return [FieldInfo(name=f.name, type=f.dataType.simpleString()) for f in df.schema.fields]


def list_containers(ctx: OperationContext) -> list[ContainerInfo]:
    """The selected containers with their fields (types as Spark names them)."""
    infos = []
    for container in selected_containers(ctx):
        ctx.cancel.raise_if_cancelled()
        df = open_container(ctx, container)
        infos.append(ContainerInfo(name=container.name, type=container.type, fields=fields_of(df)))
    return infos


def sample_fraction(container: Container, max_dataframe_size_mb: int) -> float | None:
    """The share of rows to read when the container is over the limit; None to read all."""
    limit = max_dataframe_size_mb * MIB
    if container.size_bytes is None or container.size_bytes <= limit:
        return None
    return limit / container.size_bytes


def open_container(
    ctx: OperationContext,
    container: Container,
    fraction: float | None = None,
    count_in_database: bool = False,
) -> DataFrame:
    """The container's rows (about `fraction` of them if given); the schema is resolved now,
    so a container that cannot be reached fails here with a clear message."""
    with spark_errors(ctx, f"reading {container.type} {container.name!r}"):
        session = ctx.engine.session
        if container.file is not None:
            df = read_file(session, container.file, ctx.engine.settings.resolved_files_roots)
            if fraction is not None:
                df = df.sample(withReplacement=False, fraction=fraction, seed=SAMPLE_SEED)
            return df
        source = jdbc_source(ctx)
        if fraction is None:
            dbtable = source.table(container.name)
        else:
            dbtable = source.sampled_table(container.name, fraction, SAMPLE_SEED)
        return source.read_table(session, dbtable, count_in_database)


def read_container(ctx: OperationContext, container: Container | str) -> tuple[DataFrame, bool]:
    """(rows, sampled): the whole container, or a sample when it is larger than
    max_dataframe_size_mb (see docs/operations.md)."""
    if isinstance(container, str):
        matches = [c for c in find_containers(ctx) if c.name == container]
        if not matches:
            raise OperationFailed(f"the datastore has no container named {container!r}")
        container = matches[0]
    fraction = sample_fraction(container, ctx.max_dataframe_size_mb)
    return open_container(ctx, container, fraction), fraction is not None


def open_reference(ctx: OperationContext, reference: ReferenceSpec) -> DataFrame:
    """The whole of a cross-container rule's second container, read through its own
    datastore (which may be another database, or files, than the scanned one). Never
    sampled: a sample of the reference would make records "missing" from it."""
    spec = reference.datastore
    where = f"reference container {reference.container!r}"
    with spark_errors(ctx, f"reading {where}"):
        session = ctx.engine.session
        if spec.kind == "files":
            # Confined to the same folders as the scanned datastore's files.
            roots = ctx.engine.settings.resolved_files_roots
            files = [f for f in find_files(spec, roots) if f.name == reference.container]
            if not files:
                raise OperationFailed(
                    f"the reference datastore has no container {reference.container!r}"
                )
            return read_file(session, files[0], roots)
        source = JdbcSource.from_spec(spec, jdbc_jars(ctx.engine.settings))
        return source.read_table(session, source.table(reference.container), False)
