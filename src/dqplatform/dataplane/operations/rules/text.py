"""Per-record rules on text: lengths, patterns, and what a value holds (e-mail addresses,
URLs, card and social security numbers, postal addresses). Nulls pass; an empty string
holds nothing, so it fails the contains* rules.

All of it is Spark's own functions (rlike, regexp_extract, higher-order functions for the
Luhn sum): no Python UDF on the records' path.
"""

from __future__ import annotations

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from dqplatform.dataplane.operations.rules.base import (
    CheckNotEvaluable,
    RecordRule,
    RuleInput,
    never_null,
)
from dqplatform.messaging.rule_properties import (
    AddressProperties,
    LengthProperties,
    PatternProperties,
)

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
URL = r"(?i)\b((https?|ftp)://|www\.)[^\s/$.?#][^\s]*"
# Area 000, 666 and 9xx, group 00 and serial 0000 are never issued.
SSN = r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)"
# 13 to 19 digits, optionally grouped by spaces or dashes.
CARD = r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)"


def _text(rule: RuleInput) -> Column:
    _, value, _ = rule.single()
    return value.cast("string")


def min_length(rule: RuleInput) -> RecordRule:
    p: LengthProperties = rule.props(LengthProperties)
    return RecordRule(
        never_null(F.length(_text(rule)) < p.value), f"are shorter than {p.value} characters"
    )


def max_length(rule: RuleInput) -> RecordRule:
    p: LengthProperties = rule.props(LengthProperties)
    return RecordRule(
        never_null(F.length(_text(rule)) > p.value), f"are longer than {p.value} characters"
    )


def valid_java_pattern(spark: SparkSession, pattern: str) -> None:
    jvm = spark.sparkContext._jvm
    try:
        jvm.java.util.regex.Pattern.compile(pattern)  # type: ignore[union-attr]
    except Exception:
        raise CheckNotEvaluable(f"{pattern!r} is not a valid Java regular expression") from None


def matches_pattern(rule: RuleInput) -> RecordRule:
    p: PatternProperties = rule.props(PatternProperties)
    valid_java_pattern(rule.df.sparkSession, p.pattern)
    # rlike searches (Matcher.find): anchor with ^ and $ to match whole values.
    return RecordRule(
        never_null(~_text(rule).rlike(p.pattern)), f"do not match the pattern {p.pattern!r}"
    )


def contains_email(rule: RuleInput) -> RecordRule:
    return RecordRule(never_null(~_text(rule).rlike(EMAIL)), "hold no e-mail address")


def contains_url(rule: RuleInput) -> RecordRule:
    return RecordRule(never_null(~_text(rule).rlike(URL)), "hold no URL")


def contains_ssn(rule: RuleInput) -> RecordRule:
    return RecordRule(never_null(~_text(rule).rlike(SSN)), "hold no social security number")


def luhn_valid(digits: Column) -> Column:
    """True when `digits` (only digits) pass the Luhn checksum: from the right, every second
    digit doubled (less 9 over 9), the sum a multiple of 10."""
    reversed_digits = F.transform(F.split(F.reverse(digits), ""), lambda c: c.cast("int"))
    weighted = F.transform(
        reversed_digits,
        lambda d, i: F.when(i % 2 == 1, F.when(d * 2 > 9, d * 2 - 9).otherwise(d * 2)).otherwise(d),
    )
    total = F.aggregate(weighted, F.lit(0), lambda acc, x: acc + x)
    return (F.length(digits) > 0) & (total % 10 == 0)


def _card_number(candidate: Column) -> Column:
    digits = F.regexp_replace(candidate, r"[ -]", "")
    return F.length(digits).between(13, 19) & luhn_valid(digits)


def is_credit_card(rule: RuleInput) -> RecordRule:
    text = F.trim(_text(rule))
    whole = text.rlike(r"^\d(?:[ -]?\d){12,18}$")
    return RecordRule(
        never_null(~(whole & _card_number(text))), "are not valid credit card numbers"
    )


def contains_credit_card(rule: RuleInput) -> RecordRule:
    # The first 13-19 digit run of the value is the candidate judged.
    candidate = F.regexp_extract(_text(rule), CARD, 0)
    return RecordRule(
        never_null(~((candidate != "") & _card_number(candidate))), "hold no credit card number"
    )


# What each label of an address looks like. A heuristic, not a geocoder: a road is a house
# number and a street word; a city a run of letters in a comma-separated part after the road;
# a state a two-letter code or name among the US states; a postcode a US ZIP, a UK or a
# Canadian code; a country one of the common names.
_STREET = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|"
    r"terrace|ter|highway|hwy|parkway|pkwy|circle|cir|square|sq|alley|row|close|crescent"
)
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|"
    "NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
_COUNTRIES = (
    r"usa|u\.s\.a\.|united states|us|uk|united kingdom|canada|germany|france|spain|italy|"
    r"mexico|brazil|india|china|japan|australia|ireland|portugal|netherlands"
)
ADDRESS_LABELS = {
    "road": rf"(?i)\b\d+[a-z]?\s+([a-z0-9.'-]+\s+)*({_STREET})\b\.?",
    # After the street word (and a direction: "Avenue NW"), a comma and a name.
    "city": rf"(?i)\b({_STREET})\b\.?(\s+([nsew]|ne|nw|se|sw)\b\.?)?\s*,\s*[a-z][a-z .'-]*[a-z]",
    "state": rf"(?:\b({_US_STATES})\b)",
    "postcode": (
        r"(?i)(\b\d{5}(-\d{4})?\b)|(\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b)"
        r"|(\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b)"
    ),
    "country": rf"(?i),\s*({_COUNTRIES})\s*$",
}


def is_address(rule: RuleInput) -> RecordRule:
    p: AddressProperties = rule.props(AddressProperties)
    text = _text(rule)
    found = [text.rlike(ADDRESS_LABELS[label]) for label in p.required_labels]
    complete = found[0]
    for more in found[1:]:
        complete = complete & more
    labels = ", ".join(p.required_labels)
    return RecordRule(never_null(~complete), f"are not addresses with {labels}")
