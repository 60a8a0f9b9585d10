"""The rule library as the API documents it, generated from the shared contracts so the
documentation cannot drift from what the API accepts."""

from __future__ import annotations

from functools import cache
from typing import Any

from dqplatform.controlplane.checks.schemas import RuleRead
from dqplatform.messaging.rule_properties import PROPERTIES
from dqplatform.messaging.rules import CONTRACTS, LEGACY_ALIASES, RuleType


@cache
def rule_listing() -> list[RuleRead]:
    """Every rule with its contract and the JSON schema of its properties."""
    aliases: dict[RuleType, list[str]] = {}
    for alias, rule in LEGACY_ALIASES.items():
        if alias != rule.value:
            aliases.setdefault(rule, []).append(alias)
    return [
        RuleRead(
            rule_type=rule.value,
            fields=CONTRACTS[rule].fields,
            filterable=CONTRACTS[rule].filterable,
            coverage=CONTRACTS[rule].coverage,
            anomaly_type=CONTRACTS[rule].anomaly_type,
            cross_container=CONTRACTS[rule].cross_container,
            properties=PROPERTIES[rule].model_json_schema(),
            aliases=sorted(aliases.get(rule, [])),
        )
        for rule in sorted(RuleType, key=lambda r: r.value)
    ]


def _property_text(name: str, schema: dict[str, Any], required: bool) -> str:
    kind = schema.get("type") or "|".join(
        str(option.get("type", option.get("$ref", "?")).split("/")[-1])
        for option in schema.get("anyOf", [])
    )
    if "enum" in schema:
        kind = " / ".join(repr(v) for v in schema["enum"])
    text = f"`{name}` ({kind})"
    return text if required else f"{text}?"


@cache
def rules_markdown() -> str:
    """One line per rule: its fields, filter and coverage, and its properties
    (`?`: optional)."""
    lines = [
        "| rule | fields | filter | coverage | properties |",
        "|---|---|---|---|---|",
    ]
    for item in rule_listing():
        schema = item.properties
        required = set(schema.get("required", []))
        props = ", ".join(
            _property_text(name, prop, name in required)
            for name, prop in schema.get("properties", {}).items()
        )
        lines.append(
            f"| `{item.rule_type}` | {item.fields} | {'yes' if item.filterable else 'no'} "
            f"| {'yes' if item.coverage else 'no'} | {props or 'none'} |"
        )
    return "\n".join(lines)
