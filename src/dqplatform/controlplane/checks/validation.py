"""Judging a check definition before it is stored, so that a bad one is a 422 naming the
problem at creation rather than a scan that fails later.

The controlplane runs no Spark: filters and expressions are parsed with sqlglot's Spark
dialect, and field names are matched against the container's catalogued fields the way
Spark resolves them (ignoring case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlglot
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session
from sqlglot import exp
from sqlglot.errors import SqlglotError

from dqplatform.controlplane.checks.patterns import check_pattern
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.messaging.rule_properties import PropertiesError, dump_properties
from dqplatform.messaging.rules import CONTRACTS, RuleType, canonical_rule

MAX_SQL_LENGTH = 10_000
# Properties that name a field of the check's own container.
_OWN_FIELD_PROPERTIES = ("distinction_field_name",)
_OTHER_FIELD_RULES = {
    RuleType.EQUAL_TO_FIELD,
    RuleType.GREATER_THAN_FIELD,
    RuleType.LESS_THAN_FIELD,
}


class CheckInvalid(Exception):
    """The problems found, each with the body location it is about."""

    def __init__(self, errors: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(message for _, message in errors))
        self.errors = errors

    def as_request_error(self) -> RequestValidationError:
        return RequestValidationError(
            [
                {"loc": ("body", *loc), "msg": message, "type": "value_error"}
                for loc, message in self.errors
            ]
        )


@dataclass
class Definition:
    """A check definition as written: what the validation reads and normalises."""

    rule: str
    fields: list[str] = field(default_factory=list)
    coverage: float | None = None
    filter: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Judged:
    """The definition as stored: rule camelCase, field names as catalogued."""

    rule: RuleType
    fields: list[str]
    coverage: float | None
    filter: str | None
    properties: dict[str, Any]


class _Catalogue:
    """A container's field names, resolved as Spark resolves them."""

    def __init__(self, container: Container) -> None:
        self.name = container.name
        self.names = [str(f["name"]) for f in container.fields]
        self._lower: dict[str, list[str]] = {}
        for name in self.names:
            self._lower.setdefault(name.lower(), []).append(name)

    def resolve(self, name: str) -> str | None:
        if name in self.names:
            return name
        matches = self._lower.get(name.lower(), [])
        return matches[0] if len(matches) == 1 else None


def parse_condition(text: str) -> exp.Condition:
    """`text` as one Spark SQL expression; ValueError saying why it is not one."""
    if len(text) > MAX_SQL_LENGTH:
        raise ValueError(f"is longer than {MAX_SQL_LENGTH} characters")
    try:
        statements = [s for s in sqlglot.parse(text, dialect="spark") if s is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"is not valid Spark SQL: {first}") from None
    except RecursionError:
        raise ValueError("is nested too deeply") from None
    if not statements:
        raise ValueError("is empty")
    if len(statements) != 1:
        raise ValueError("must be one Spark SQL expression, not several statements")
    [expression] = statements
    # A condition, not a statement: `WHERE ...`, `SELECT ...`, `DROP ...` are refused.
    if isinstance(expression, exp.Query | exp.DDL | exp.DML | exp.Command) or not isinstance(
        expression, exp.Condition
    ):
        raise ValueError("must be a Spark SQL condition, not a statement")
    return expression


def referenced_columns(expression: exp.Condition) -> list[str]:
    """The column names the expression reads from its own container: not those of a
    subquery (another table) nor the parameters of a lambda."""
    names: list[str] = []
    for column in expression.find_all(exp.Column):
        if column.find_ancestor(exp.Query, exp.Lambda) is not None:
            continue
        if column.name and column.name not in names:
            names.append(column.name)
    return names


class _Judge:
    def __init__(self, session: Session, own: Container | None) -> None:
        self.session = session
        self.own = _Catalogue(own) if own is not None else None
        self.errors: list[tuple[tuple[str | int, ...], str]] = []

    def fail(self, loc: tuple[str | int, ...], message: str) -> None:
        self.errors.append((loc, message))

    def sql(self, loc: tuple[str | int, ...], text: str, catalogue: _Catalogue | None) -> None:
        try:
            expression = parse_condition(text)
        except ValueError as exc:
            self.fail(loc, f"{loc[-1]} {exc}")
            return
        if catalogue is None:
            return
        for name in referenced_columns(expression):
            if catalogue.resolve(name) is None:
                self.fail(loc, f"{loc[-1]} reads field {name!r}, which {catalogue.name!r} lacks")

    def field_name(
        self, loc: tuple[str | int, ...], name: str, catalogue: _Catalogue | None
    ) -> str:
        if catalogue is None:
            return name
        resolved = catalogue.resolve(name)
        if resolved is None:
            self.fail(loc, f"container {catalogue.name!r} has no field {name!r}")
            return name
        return resolved

    def reference(self, properties: dict[str, Any]) -> _Catalogue | None:
        """The reference container's catalogue, after checking it exists. A missing
        ref_datastore_id stays missing (the container's id says where it is): an exported
        check then names only the container, and an import into another datastore finds
        the container of that name there."""
        container_id = properties.get("ref_container_id")
        datastore_id = properties.get("ref_datastore_id")
        if datastore_id is not None and self.session.get(Datastore, datastore_id) is None:
            self.fail(("properties", "ref_datastore_id"), f"no datastore with id {datastore_id}")
            return None
        if container_id is None:
            return None
        container = self.session.get(Container, container_id)
        if container is None:
            self.fail(("properties", "ref_container_id"), f"no container with id {container_id}")
            return None
        if datastore_id is not None and container.datastore_id != datastore_id:
            self.fail(
                ("properties", "ref_container_id"),
                f"container {container_id} is not in datastore {datastore_id}",
            )
            return None
        return _Catalogue(container) if container.fields else None


def judge(
    session: Session,
    definition: Definition,
    container: Container | None,
    *,
    template: bool = False,
) -> Judged:
    """The definition normalised, or CheckInvalid naming every problem found.

    `container` is the check's container (None for a template, which judges no field)."""
    j = _Judge(session, container)
    try:
        rule = canonical_rule(definition.rule)
    except ValueError as exc:
        raise CheckInvalid([(("rule",), str(exc))]) from None
    contract = CONTRACTS[rule]
    if container is not None and not container.fields:
        raise CheckInvalid(
            [
                (
                    ("container_id",),
                    f"container {container.name!r} has not been catalogued yet (no fields "
                    "known): run a catalog (sync) operation first",
                )
            ]
        )

    fields = [j.field_name(("fields", i), f, j.own) for i, f in enumerate(definition.fields)]
    arity = contract.fields
    count = len(fields)
    if (arity == "single" and count != 1) and not (template and count == 0):
        j.fail(("fields",), f"{rule.value} judges exactly one field; {count} given")
    elif arity == "multi" and count == 0 and not template:
        j.fail(("fields",), f"{rule.value} judges one field or more; none given")
    elif arity == "none" and count:
        j.fail(("fields",), f"{rule.value} judges the container as a whole and takes no fields")
    if len(set(f.lower() for f in fields)) != count:
        j.fail(("fields",), "a field is named twice")

    coverage = definition.coverage
    if coverage is not None:
        if not 0 <= coverage <= 1:
            j.fail(("coverage",), "coverage is a share of records, between 0 and 1")
        elif not contract.coverage:
            # 1 is "every record", what the rule judges anyway: clients send it by default.
            if coverage != 1:
                j.fail(("coverage",), f"{rule.value} does not take a coverage")
            coverage = None

    check_filter = (definition.filter or "").strip() or None
    if check_filter is not None:
        if not contract.filterable:
            j.fail(("filter",), f"{rule.value} does not take a filter")
        else:
            j.sql(("filter",), check_filter, j.own)

    try:
        properties = dump_properties(rule, definition.properties)
    except PropertiesError as exc:
        for error in exc.errors:
            where = ".".join(str(p) for p in error["loc"]) or "properties"
            j.fail(("properties", *error["loc"]), f"{rule.value} {where}: {error['msg']}")
        raise CheckInvalid(j.errors) from None

    reference = j.reference(properties) if contract.cross_container else None
    _judge_properties(j, rule, properties, reference)
    if j.errors:
        raise CheckInvalid(j.errors)
    return Judged(rule, fields, coverage, check_filter, properties)


def _judge_properties(
    j: _Judge, rule: RuleType, properties: dict[str, Any], reference: _Catalogue | None
) -> None:
    """Field names, SQL and patterns inside the properties; names normalised in place."""
    if rule in _OTHER_FIELD_RULES:
        properties["field_name"] = j.field_name(
            ("properties", "field_name"), properties["field_name"], j.own
        )
    if rule in (RuleType.EXISTS_IN, RuleType.NOT_EXISTS_IN):
        properties["field_name"] = j.field_name(
            ("properties", "field_name"), properties["field_name"], reference
        )
    for key in _OWN_FIELD_PROPERTIES:
        if key in properties:
            properties[key] = j.field_name(("properties", key), properties[key], j.own)
    if rule == RuleType.DATA_DIFF:
        properties["id_field_names"] = [
            j.field_name(("properties", "id_field_names", i), name, j.own)
            for i, name in enumerate(properties["id_field_names"])
        ]
    if rule == RuleType.SATISFIES_EXPRESSION:
        j.sql(("properties", "expression"), properties["expression"], j.own)
    if rule == RuleType.AGGREGATION_COMPARISON:
        j.sql(("properties", "expression"), properties["expression"], j.own)
        other = reference if properties.get("ref_container_id") is not None else j.own
        j.sql(("properties", "ref_expression"), properties["ref_expression"], other)
    if properties.get("ref_filter"):
        j.sql(("properties", "ref_filter"), properties["ref_filter"], reference)
    if rule == RuleType.MATCHES_PATTERN:
        try:
            check_pattern(properties["pattern"])
        except ValueError as exc:
            j.fail(("properties", "pattern"), f"pattern {exc}")
