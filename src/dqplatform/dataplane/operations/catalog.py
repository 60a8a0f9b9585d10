"""The catalog operation: the datastore's containers with their fields and record counts."""

from __future__ import annotations

from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.operations.errors import spark_errors
from dqplatform.dataplane.operations.readers import fields_of, open_container, selected_containers
from dqplatform.dataplane.operations.scope import operation_scope
from dqplatform.messaging.operations import CatalogResult, ContainerInfo


def run_catalog(ctx: OperationContext) -> CatalogResult:
    """Every selected container, counted whole: a count holds no rows, so the size limit
    does not apply (databases count in place)."""
    infos: list[ContainerInfo] = []
    with operation_scope(ctx):
        containers = selected_containers(ctx)
        ctx.update(total_containers=len(containers))
        for done, container in enumerate(containers, start=1):
            ctx.cancel.raise_if_cancelled()
            df = open_container(ctx, container, count_in_database=True)
            with spark_errors(ctx, f"counting the records of {container.type} {container.name!r}"):
                count = df.count()
            infos.append(
                ContainerInfo(
                    name=container.name,
                    type=container.type,
                    fields=fields_of(df),
                    record_count=count,
                )
            )
            ctx.update(containers_analyzed=done, add_records=count)
    return CatalogResult(containers=infos)
