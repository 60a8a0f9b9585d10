"""The profile operation: per field its type, nulls, distinct values, min, max and mean."""

from __future__ import annotations

from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.operations.errors import spark_errors
from dqplatform.dataplane.operations.figures import field_figures
from dqplatform.dataplane.operations.readers import read_container, selected_containers
from dqplatform.dataplane.operations.scope import operation_scope
from dqplatform.messaging.operations import FieldProfile, ProfileResult


def run_profile(ctx: OperationContext) -> ProfileResult:
    """Each selected container in one pass over its rows (a sample of them when it is over
    max_dataframe_size_mb, and then every figure says `sampled`)."""
    profiles: list[FieldProfile] = []
    with operation_scope(ctx):
        containers = selected_containers(ctx)
        ctx.update(total_containers=len(containers))
        for done, container in enumerate(containers, start=1):
            ctx.cancel.raise_if_cancelled()
            df, sampled = read_container(ctx, container)
            with spark_errors(ctx, f"profiling {container.type} {container.name!r}"):
                records, figures = field_figures(df)
            profiles += [
                FieldProfile(
                    container=container.name,
                    field=field.name,
                    type=field.type,
                    record_count=records,
                    nulls=field.nulls,
                    distinct=field.distinct,
                    min=field.min,
                    max=field.max,
                    mean=field.mean,
                    sampled=sampled,
                )
                for field in figures
            ]
            ctx.update(containers_analyzed=done, add_records=records)
    return ProfileResult(profiles=profiles)
