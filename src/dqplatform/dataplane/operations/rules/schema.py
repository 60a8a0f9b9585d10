"""Shape rules on the container's schema: expectedSchema and fieldCount (no record read)."""

from __future__ import annotations

from dqplatform.dataplane.operations.rules.base import FixedRule, RuleInput, Verdict, family
from dqplatform.messaging.rule_properties import CountProperties, ExpectedSchemaProperties


def field_count(rule: RuleInput) -> FixedRule:
    p: CountProperties = rule.props(CountProperties)
    found = len(rule.df.schema.fields)
    message = f"{rule.check.container} has {found} fields; expected {p.value}"
    return FixedRule(Verdict(found == p.value, 0, 0, message, value=float(found)))


def expected_schema(rule: RuleInput) -> FixedRule:
    """Every listed field is there (of its type, when one is given); with
    allow_other_fields false, no other field is."""
    p: ExpectedSchemaProperties = rule.props(ExpectedSchemaProperties)
    types = {f.name: family(f.dataType) for f in rule.df.schema.fields}
    problems = []
    missing = [item.name for item in p.list if item.name not in types]
    if missing:
        problems.append("missing " + ", ".join(missing))
    wrong = [
        f"{item.name} is {types[item.name] or 'another type'}, not {item.type}"
        for item in p.list
        if item.name in types and item.type is not None and types[item.name] != item.type
    ]
    problems += wrong
    if not p.allow_other_fields:
        listed = {item.name for item in p.list}
        extra = [name for name in types if name not in listed]
        if extra:
            problems.append("unexpected " + ", ".join(extra))
    if not problems:
        return FixedRule(Verdict(True, 0, 0, "the schema is as expected"))
    return FixedRule(Verdict(False, 0, 0, "the schema differs: " + "; ".join(problems)))
